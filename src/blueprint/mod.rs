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
    load_checked(path, |_| Vec::new())
}

/// Like [`load`], with `also` finding problems a valid blueprint can still have (what it
/// renders to), reported with the others at their place in the file.
pub fn load_checked(
    path: &Path,
    also: impl FnOnce(&Blueprint) -> Vec<Diagnostic>,
) -> Result<Blueprint, LoadError> {
    let display = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
        path: display.clone(),
        source,
    })?;
    let source = String::from_utf8(bytes).map_err(|err| not_utf8(&display, err))?;
    let blueprint = parse(&display, &source)?;
    let items = also(&blueprint);
    if items.is_empty() {
        Ok(blueprint)
    } else {
        Err(Diagnostics {
            file: display,
            source,
            items,
        }
        .into())
    }
}

/// A blueprint that is not UTF-8 text: where the first bad byte is, as a diagnostic.
fn not_utf8(file: &str, err: std::string::FromUtf8Error) -> Diagnostics {
    let at = err.utf8_error().valid_up_to();
    let bytes = err.into_bytes();
    let before = String::from_utf8_lossy(&bytes[..at]);
    // Lines end as YAML ends them (`source_lines`), which drops the empty line after a
    // final `\n` but keeps the one after a final `\r`.
    let mut lines = diagnostic::source_lines(&before);
    let last = lines.next_back().unwrap_or_default();
    let after_newline = before.ends_with('\n');
    let line = lines.count() + usize::from(after_newline) + 1;
    let column = if after_newline {
        1
    } else {
        last.chars().count() + 1
    };
    Diagnostics {
        file: file.to_string(),
        source: String::from_utf8_lossy(&bytes).into_owned(),
        items: vec![
            Diagnostic::new(
                Span { line, column, len: 1 },
                format!(
                    "the blueprint is not UTF-8 text: byte 0x{:02X} cannot start or continue a character here",
                    bytes[at]
                ),
            )
            .help("save the file as UTF-8 (an editor's \"encoding\" setting; `iconv -f latin1 -t utf-8` converts Latin-1)"),
        ],
    }
}

/// Validate blueprint text; `file` names it in messages.
pub fn parse(file: &str, source: &str) -> Result<Blueprint, Diagnostics> {
    // A byte-order mark (Notepad writes one) is not part of the YAML.
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
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
