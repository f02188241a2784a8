//! `outboxctl pattern test`: answers like EventBridge's TestEventPattern. Prints `true` or
//! `false` (exit 0 / 1), or AWS's error message for an invalid pattern or event (exit 2).

use std::path::Path;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::Value;

use super::output::emit;
use super::{Exit, GlobalArgs, load_blueprint};
use crate::flow::{self, PipeProgram, Routing};
use crate::pattern::{EventPattern, check_pattern_length, validate_test_event};

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
    /// The event pattern (JSON text, or a file holding it). Without it, the event goes
    /// through the blueprint (`-f/--blueprint`): a DynamoDB stream record through the pipe's
    /// filters and template first, a bus event straight to the rules.
    #[arg(long, value_name = "FILE|JSON")]
    pub pattern: Option<String>,
    /// The event (JSON text, or a file holding it); needs id, account, source, time,
    /// region and detail-type, as TestEventPattern does.
    #[arg(long, value_name = "FILE|JSON")]
    pub event: String,
}

pub fn run(global: &GlobalArgs, args: PatternArgs) -> anyhow::Result<Exit> {
    match args.command {
        PatternCommand::Test(args) if args.pattern.is_none() => {
            through_blueprint(global, &args.event)
        }
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
        anyhow::bail!(
            "give the pattern with --pattern, or leave it out to test the blueprint's rules"
        );
    };
    let inputs = read_input(pattern_argument, "pattern")
        .and_then(|pattern| Ok((pattern, read_input(&args.event, "event")?)));
    let (pattern_text, event_text) = match inputs {
        Ok(inputs) => inputs,
        Err(err) => {
            errln!("error: {err:#}");
            return Ok(Exit::Usage);
        }
    };
    if let Err(err) = check_pattern_length(&pattern_text) {
        errln!("ValidationException: {err}");
        return Ok(Exit::Usage);
    }
    let pattern = match EventPattern::parse(&pattern_text) {
        Ok(pattern) => pattern,
        Err(err) => {
            errln!("{}: {err}", err.code());
            return Ok(Exit::Usage);
        }
    };
    let event: Value = match serde_json::from_str(&event_text) {
        Ok(event) => event,
        Err(err) => {
            errln!("ValidationException: Parameter Event is not valid.");
            errln!("  the event is not JSON: {err}");
            return Ok(Exit::Usage);
        }
    };
    if let Err(err) = validate_test_event(&event) {
        errln!("{}: {err}", err.code());
        errln!("  {}", err.hint());
        return Ok(Exit::Usage);
    }
    let matched = pattern.matches(&event);
    outln!("{matched}");
    Ok(if matched {
        Exit::Success
    } else {
        Exit::Failure
    })
}

#[derive(Debug, serde::Serialize)]
struct BlueprintAnswer {
    /// For a stream record: whether the pipe's filters let it through.
    pipe_passed: Option<bool>,
    /// The event the rules saw (after the pipe, for a stream record).
    event: Option<Value>,
    /// Why the pipe, whose filters let the record through, cannot put it on the bus (its
    /// input template fails on it): the pipe would send it to its DLQ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pipe_error: Option<String>,
    rules: Vec<RuleAnswer>,
}

#[derive(Debug, serde::Serialize)]
struct RuleAnswer {
    rule: String,
    /// Whether the rule delivers the event: enabled, and its pattern matches.
    matched: bool,
    enabled: bool,
    /// Whether the pattern matches, enabled or not.
    pattern_matches: bool,
    queues: Vec<String>,
}

/// Whether the input is a DynamoDB stream record rather than a bus event.
fn is_stream_record(event: &Value) -> bool {
    event["eventSource"] == "aws:dynamodb"
        || (event.get("dynamodb").is_some() && event.get("detail-type").is_none())
}

fn through_blueprint(global: &GlobalArgs, event_argument: &str) -> anyhow::Result<Exit> {
    let Some(bp) = load_blueprint(global)? else {
        return Ok(Exit::Usage);
    };
    let input: Value =
        match read_input(event_argument, "event").and_then(|t| Ok(serde_json::from_str(&t)?)) {
            Ok(value) => value,
            Err(err) => {
                errln!("error: the event is not readable JSON: {err:#}");
                return Ok(Exit::Usage);
            }
        };
    let routing = match Routing::new(&bp) {
        Ok(routing) => routing,
        Err((rule, err)) => {
            errln!("rule `{rule}`: {}: {err}", err.code());
            return Ok(Exit::Usage);
        }
    };
    let region = bp.region.clone().unwrap_or_else(|| "us-east-1".to_string());
    let mut pipe_error = None;
    let (pipe_passed, event) = if is_stream_record(&input) {
        let program = PipeProgram::for_blueprint(&bp)?;
        if program.passes(&input) {
            match program.entry(&input, "1970-01-01T00:00:00Z") {
                Ok(entry) => (
                    Some(true),
                    Some(flow::envelope(
                        &entry,
                        "test-event",
                        "123456789012",
                        &region,
                        "1970-01-01T00:00:00Z",
                        &[],
                    )),
                ),
                Err(err) => {
                    errln!("the pipe cannot deliver this record: {err}");
                    pipe_error = Some(err.to_string());
                    (Some(true), None)
                }
            }
        } else {
            (Some(false), None)
        }
    } else {
        if let Err(err) = validate_test_event(&input) {
            errln!("{}: {err}", err.code());
            errln!("  {}", err.hint());
            return Ok(Exit::Usage);
        }
        (None, Some(input))
    };
    let hits: Vec<(&str, bool)> = event
        .as_ref()
        .map(|e| routing.patterns_matching(e))
        .unwrap_or_default();
    let rules: Vec<RuleAnswer> = bp
        .rules
        .iter()
        .map(|rule| {
            let pattern_matches = hits.iter().any(|&(name, _)| name == rule.name);
            RuleAnswer {
                rule: rule.name.clone(),
                matched: pattern_matches && rule.enabled,
                enabled: rule.enabled,
                pattern_matches,
                queues: rule.targets.iter().map(|t| t.value.clone()).collect(),
            }
        })
        .collect();
    let delivered = rules.iter().any(|r| r.matched);
    let answer = BlueprintAnswer {
        pipe_passed,
        event,
        pipe_error,
        rules,
    };
    emit(global.output, &answer, |a| {
        match a.pipe_passed {
            // Said on stderr already: nothing reaches the rules.
            Some(true) if a.pipe_error.is_some() => return,
            Some(true) => outln!("pipe filters: pass"),
            Some(false) => {
                outln!("pipe filters: drop (no filter matches; the record never reaches the bus)")
            }
            None => {}
        }
        for rule in &a.rules {
            let verdict = match (rule.enabled, rule.pattern_matches) {
                (true, true) => "match",
                (true, false) => "no match",
                (false, true) => "disabled (its pattern matches)",
                (false, false) => "disabled (no match)",
            };
            outln!(
                "rule {:<24} {:<9} → {}",
                rule.rule,
                verdict,
                rule.queues.join(", ")
            );
        }
    });
    Ok(if delivered {
        Exit::Success
    } else {
        Exit::Failure
    })
}
