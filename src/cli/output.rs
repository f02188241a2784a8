//! `--output text|json`: people read text, scripts read one JSON document on stdout.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
    /// Nothing on stdout: a command run as one step of another (`demo`), whose own
    /// JSON document reports it.
    #[value(skip)]
    Silent,
}

/// Print `value` as JSON when asked to, else run `text` to print it for people.
pub fn emit<T: Serialize>(format: OutputFormat, value: &T, text: impl FnOnce(&T)) {
    match format {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(value).expect("results serialize")
        ),
        OutputFormat::Text => text(value),
        OutputFormat::Silent => {}
    }
}
