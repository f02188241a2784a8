//! `--output text|json`: people read text, scripts read one JSON document on stdout.

use std::fmt;
use std::io::{self, Write};

use serde::Serialize;

/// `print!` to stdout, without the panic when the reader has gone (see [`write_or_exit`]).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::output::write_or_exit(std::io::stdout(), format_args!($($arg)*))
    };
}

/// `println!` to stdout, without the panic when the reader has gone.
macro_rules! outln {
    () => { out!("\n") };
    ($($arg:tt)*) => { out!("{}\n", format_args!($($arg)*)) };
}

/// `eprint!` to stderr, without the panic when the reader has gone.
macro_rules! errout {
    ($($arg:tt)*) => {
        $crate::cli::output::write_or_exit(std::io::stderr(), format_args!($($arg)*))
    };
}

/// `eprintln!` to stderr, without the panic when the reader has gone.
macro_rules! errln {
    () => { errout!("\n") };
    ($($arg:tt)*) => { errout!("{}\n", format_args!($($arg)*)) };
}

/// The exit status when the output's reader has gone: 128 + SIGPIPE, as a shell reports a
/// command that signal stopped.
pub const READER_GONE: i32 = 141;

/// Write to stdout or stderr. When the reader has gone (`outboxctl status | head -1`)
/// the process ends quietly with 141, the status a shell reports for a command stopped
/// by SIGPIPE, as `cat` and `grep` end; `print!` would panic instead. Any other write
/// error ends it with 1.
pub fn write_or_exit(mut stream: impl Write, args: fmt::Arguments<'_>) {
    if let Err(err) = stream.write_fmt(args).and_then(|()| stream.flush()) {
        if err.kind() == io::ErrorKind::BrokenPipe {
            std::process::exit(READER_GONE);
        }
        let _ = writeln!(io::stderr(), "error: cannot write the output: {err}");
        std::process::exit(1);
    }
}

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
        OutputFormat::Json => outln!(
            "{}",
            serde_json::to_string_pretty(value).expect("results serialize")
        ),
        OutputFormat::Text => text(value),
        OutputFormat::Silent => {}
    }
}
