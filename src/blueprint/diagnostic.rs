//! Blueprint problems, positioned and rendered with the offending line, the way `just`
//! and rustc show them, so a user can fix every problem from one run of `validate`.

use std::fmt;

use super::yaml::Span;

/// One problem in a blueprint: what is wrong, where, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub span: Span,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            span,
            message: message.into(),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }
}

/// All problems found in one blueprint file, with its text for rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics {
    pub file: String,
    pub source: String,
    pub items: Vec<Diagnostic>,
}

impl std::error::Error for Diagnostics {}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, diagnostic) in self.items.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            render(f, &self.file, &self.source, diagnostic)?;
        }
        let count = self.items.len();
        write!(
            f,
            "\n{} {} found in {}",
            count,
            if count == 1 { "problem" } else { "problems" },
            self.file
        )
    }
}

/// Values longer than this are cut in messages: a 2,000-character name quoted in full,
/// once per error, buried the errors themselves.
const SHOWN_MAX: usize = 200;
/// Source lines are shown this wide at most, from the start when the column is within
/// the first 100 characters, else from shortly before it.
const LINE_MAX: usize = 120;
const LINE_LEAD: usize = 20;

/// `text` as a message quotes it: cut in the middle past [`SHOWN_MAX`] characters.
pub(crate) fn shortened(text: &str) -> String {
    let count = text.chars().count();
    if count <= SHOWN_MAX {
        return text.to_string();
    }
    let head: String = text.chars().take(SHOWN_MAX / 2).collect();
    let tail: String = text.chars().skip(count - SHOWN_MAX / 4).collect();
    format!("{head}…{tail} ({count} characters)")
}

/// The lines of `source` as YAML counts them: `\r\n`, `\n` and a lone `\r` each end one.
pub(super) fn source_lines(source: &str) -> impl DoubleEndedIterator<Item = &str> {
    source.lines().flat_map(|line| line.split('\r'))
}

fn render(f: &mut fmt::Formatter<'_>, file: &str, source: &str, d: &Diagnostic) -> fmt::Result {
    let Span { line, column, len } = d.span;
    writeln!(f, "error: {}", d.message)?;
    let gutter = line.to_string().len();
    let pad = " ".repeat(gutter);
    writeln!(f, "{pad}--> {file}:{line}:{column}")?;
    if let Some(text) = source_lines(source).nth(line.saturating_sub(1)) {
        // A long line is shown from just before a column far to the right, and cut.
        let skip = if column > LINE_MAX - LINE_LEAD {
            column - 1 - LINE_LEAD
        } else {
            0
        };
        let (lead, column) = if skip > 0 {
            ("…", column - skip + 1)
        } else {
            ("", column)
        };
        let visible: String = text.chars().skip(skip).take(LINE_MAX).collect();
        let cut = if text.chars().count() > skip + LINE_MAX {
            "…"
        } else {
            ""
        };
        let shown = format!("{lead}{visible}");
        writeln!(f, "{pad} |")?;
        writeln!(f, "{line} | {shown}{cut}")?;
        let indent: String = shown
            .chars()
            .take(column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let width = len.min(shown.chars().count().saturating_sub(column - 1).max(1));
        writeln!(f, "{pad} | {indent}{}", "^".repeat(width))?;
    }
    if let Some(help) = &d.help {
        writeln!(f, "{pad} = help: {help}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_line_and_caret() {
        let diagnostics = Diagnostics {
            file: "outbox.yaml".into(),
            source: "name: shop\npipe:\n  batch_size: 50\n".into(),
            items: vec![
                Diagnostic::new(
                    Span {
                        line: 3,
                        column: 15,
                        len: 2,
                    },
                    "`batch_size` is too large",
                )
                .help("use at most 10"),
            ],
        };
        assert_eq!(
            diagnostics.to_string(),
            "error: `batch_size` is too large\n --> outbox.yaml:3:15\n  |\n3 |   batch_size: 50\n  |               ^^\n  = help: use at most 10\n\n1 problem found in outbox.yaml"
        );
    }
}
