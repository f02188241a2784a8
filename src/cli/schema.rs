//! `outboxctl schema`: the blueprint's JSON Schema.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::Exit;
use crate::blueprint::schema;

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Write the schema here instead of stdout.
    #[arg(short = 'o', long = "out")]
    out: Option<PathBuf>,
}

pub fn run(args: SchemaArgs) -> anyhow::Result<Exit> {
    let text = schema::to_text();
    match args.out {
        Some(path) => std::fs::write(&path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => out!("{text}"),
    }
    Ok(Exit::Success)
}
