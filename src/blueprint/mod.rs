//! The blueprint: one YAML file describing the whole outbox stack.
//!
//! Loading runs in phases that each keep to one job: [`yaml`] reads text into a tree
//! that keeps positions, [`decode`] turns it into the typed [`Blueprint`] with defaults,
//! and [`validate`] checks what needs the whole blueprint. Every phase records problems
//! instead of stopping, so one run reports them all, each at its file:line:column.

mod decode;
mod diagnostic;
mod fields;
mod model;
mod names;
pub mod schema;
#[cfg(test)]
mod tests;
mod validate;
mod yaml;

use std::path::Path;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use model::*;
pub use names::{logical, output};
pub use yaml::Span;

/// Why a blueprint file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "cannot read blueprint `{path}`: {source}\n  hint: create one with `outboxctl init`, or point at it with `-f FILE`"
    )]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(#[from] Diagnostics),
}

/// Read and validate a blueprint file.
pub fn load(path: &Path) -> Result<Blueprint, LoadError> {
    let display = path.display().to_string();
    let source = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: display.clone(),
        source,
    })?;
    Ok(parse(&display, &source)?)
}

/// Validate blueprint text; `file` names it in messages.
pub fn parse(file: &str, source: &str) -> Result<Blueprint, Diagnostics> {
    let fail = |items: Vec<Diagnostic>| Diagnostics {
        file: file.to_string(),
        source: source.to_string(),
        items,
    };
    let root = yaml::parse(source).map_err(|err| {
        fail(vec![
            Diagnostic::new(
                err.span,
                format!("the blueprint is not valid YAML: {}", err.message),
            )
            .help(err.help),
        ])
    })?;
    let mut problems = fields::Problems::default();
    let blueprint = decode::decode(&root, &mut problems);
    if let Some(blueprint) = &blueprint {
        validate::validate(blueprint, &mut problems);
    }
    match blueprint {
        Some(blueprint) if problems.0.is_empty() => Ok(blueprint),
        _ => {
            let mut items = problems.0;
            items.sort_by_key(|d| (d.span.line, d.span.column));
            Err(fail(items))
        }
    }
}
