//! `outboxctl pattern test`: answers like EventBridge's TestEventPattern. Prints `true` or
//! `false` (exit 0 / 1), or AWS's error message for an invalid pattern or event (exit 2).

use std::path::Path;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::Value;

use super::Exit;
use crate::pattern::{EventPattern, validate_test_event};

#[derive(Debug, Args)]
pub struct PatternArgs {
    #[command(subcommand)]
    pub command: PatternCommand,
}

#[derive(Debug, Subcommand)]
pub enum PatternCommand {
    /// Test an event against an event pattern, like EventBridge's TestEventPattern.
    Test(TestArgs),
}

/// Each input is JSON when it starts with `{`, otherwise a path to a JSON file.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// The event pattern (JSON text, or a file holding it).
    #[arg(long, value_name = "FILE|JSON", required = true)]
    pub pattern: Option<String>,
    /// The event (JSON text, or a file holding it); needs id, account, source, time,
    /// region and detail-type, as TestEventPattern does.
    #[arg(long, value_name = "FILE|JSON")]
    pub event: String,
}

pub fn run(args: PatternArgs) -> anyhow::Result<Exit> {
    match args.command {
        PatternCommand::Test(args) => test(args),
    }
}

fn read_input(argument: &str, what: &str) -> anyhow::Result<String> {
    if argument.trim_start().starts_with('{') {
        return Ok(argument.to_string());
    }
    std::fs::read_to_string(Path::new(argument))
        .with_context(|| format!("cannot read the {what} file `{argument}`"))
}

fn test(args: TestArgs) -> anyhow::Result<Exit> {
    let Some(pattern_argument) = &args.pattern else {
        anyhow::bail!("give the pattern with --pattern");
    };
    let inputs = read_input(pattern_argument, "pattern")
        .and_then(|pattern| Ok((pattern, read_input(&args.event, "event")?)));
    let (pattern_text, event_text) = match inputs {
        Ok(inputs) => inputs,
        Err(err) => {
            eprintln!("error: {err:#}");
            return Ok(Exit::Usage);
        }
    };
    let pattern = match EventPattern::parse(&pattern_text) {
        Ok(pattern) => pattern,
        Err(err) => {
            eprintln!("{}: {err}", err.code());
            return Ok(Exit::Usage);
        }
    };
    let event: Value = match serde_json::from_str(&event_text) {
        Ok(event) => event,
        Err(err) => {
            eprintln!("ValidationException: Parameter Event is not valid.");
            eprintln!("  the event is not JSON: {err}");
            return Ok(Exit::Usage);
        }
    };
    if let Err(err) = validate_test_event(&event) {
        eprintln!("{}: {err}", err.code());
        eprintln!("  {}", err.hint());
        return Ok(Exit::Usage);
    }
    let matched = pattern.matches(&event);
    println!("{matched}");
    Ok(if matched {
        Exit::Success
    } else {
        Exit::Failure
    })
}
