//! `outboxctl render`: the blueprint's CloudFormation template, to stdout or a file.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::{Exit, GlobalArgs, load_blueprint};
use crate::render::{self, Format};

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Template format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Write the template here instead of stdout.
    #[arg(short = 'o', long = "out")]
    out: Option<PathBuf>,
}

pub fn run(global: &GlobalArgs, args: RenderArgs) -> anyhow::Result<Exit> {
    let Some(bp) = load_blueprint(global)? else {
        return Ok(Exit::Failure);
    };
    let text = render::to_text(&render::render(&bp), args.format);
    match args.out {
        Some(path) => std::fs::write(&path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => out!("{text}"),
    }
    Ok(Exit::Success)
}
