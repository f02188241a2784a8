//! `outboxctl init`: write a commented starter blueprint, and the schema beside it so
//! editors complete and check the file from the first keystroke.

use std::path::Path;

use anyhow::{Context, bail};
use clap::Args;

use super::output::emit;
use super::{Exit, GlobalArgs};
use crate::blueprint::schema;

/// The example blueprints shipped in the binary, by name.
pub const EXAMPLES: [(&str, &str); 3] = [
    (
        "food-ordering",
        include_str!("../../blueprints/food-ordering.yaml"),
    ),
    ("minimal", include_str!("../../blueprints/minimal.yaml")),
    (
        "multi-consumer",
        include_str!("../../blueprints/multi-consumer.yaml"),
    ),
];

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Which example to start from.
    #[arg(long, default_value = "food-ordering", value_parser = example_names())]
    example: String,
    /// Overwrite an existing blueprint (and a schema file that differs).
    #[arg(long)]
    force: bool,
}

fn example_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(EXAMPLES.map(|(name, _)| name))
}

/// What init wrote, for `--output json`.
#[derive(Debug, serde::Serialize)]
struct Written {
    blueprint: String,
    example: String,
    schema: String,
}

pub fn run(global: &GlobalArgs, args: InitArgs) -> anyhow::Result<Exit> {
    let path = &global.blueprint;
    if path.exists() && !args.force {
        bail!(
            "{} already exists; pass --force to overwrite it",
            path.display()
        );
    }
    let text = EXAMPLES
        .iter()
        .find(|(name, _)| *name == args.example)
        .map(|(_, text)| *text)
        .context("unknown example")?;
    let schema_path = path
        .parent()
        .unwrap_or(Path::new(""))
        .join("outbox.schema.json");
    let schema_text = schema::to_text();
    // The same schema again (a second blueprint in one directory) is no overwrite.
    let other_schema = std::fs::read_to_string(&schema_path).is_ok_and(|old| old != schema_text);
    if other_schema && !args.force {
        bail!(
            "{} already exists with other content; pass --force to overwrite it",
            schema_path.display()
        );
    }
    write(path, text)?;
    write(&schema_path, &schema_text)?;
    let written = Written {
        blueprint: path.display().to_string(),
        example: args.example.clone(),
        schema: schema_path.display().to_string(),
    };
    emit(global.output, &written, |w| {
        errln!(
            "wrote {} (example `{}`) and {}",
            w.blueprint,
            w.example,
            w.schema
        );
        errln!("next: `outboxctl validate`, then `outboxctl render` or `outboxctl deploy`");
    });
    Ok(Exit::Success)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
