//! `outboxctl validate`: every problem in a blueprint at once, each at file:line:column.
//! With `--output json`, one document on stdout: whether it is valid, and each problem
//! with its line, column, message and help.

use clap::Args;

use super::output::{OutputFormat, emit};
use super::{Exit, GlobalArgs};
use crate::blueprint::{self, Diagnostic, Diagnostics, LoadError};

#[derive(Debug, Args)]
pub struct ValidateArgs {}

#[derive(Debug, serde::Serialize)]
struct Verdict {
    file: String,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<Summary>,
    problems: Vec<Problem>,
}

#[derive(Debug, serde::Serialize)]
struct Summary {
    stack: String,
    queues: usize,
    rules: usize,
    api: bool,
    /// The size of the template deploy sends: past 51,200 bytes it needs `--s3-bucket`.
    template_bytes: usize,
}

#[derive(Debug, serde::Serialize)]
struct Problem {
    line: usize,
    column: usize,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<String>,
}

impl From<&Diagnostic> for Problem {
    fn from(d: &Diagnostic) -> Problem {
        Problem {
            line: d.span.line,
            column: d.span.column,
            message: d.message.clone(),
            help: d.help.clone(),
        }
    }
}

/// The JSON document for an invalid blueprint: every problem with its line and column.
pub(super) fn emit_invalid(global: &GlobalArgs, diagnostics: &Diagnostics) {
    let verdict = Verdict {
        file: global.blueprint.display().to_string(),
        valid: false,
        summary: None,
        problems: diagnostics.items.iter().map(Problem::from).collect(),
    };
    emit(OutputFormat::Json, &verdict, |_| {});
}

pub fn run(global: &GlobalArgs, _args: ValidateArgs) -> anyhow::Result<Exit> {
    let file = global.blueprint.display().to_string();
    match blueprint::load_checked(&global.blueprint, crate::render::stack_quota_problems) {
        Ok(bp) => {
            let verdict = Verdict {
                file,
                valid: true,
                summary: Some(Summary {
                    stack: bp.name.clone(),
                    queues: bp.queues.len(),
                    rules: bp.rules.len(),
                    api: bp.api.is_some(),
                    template_bytes: crate::render::render(&bp).to_compact_json().len(),
                }),
                problems: Vec::new(),
            };
            emit(global.output, &verdict, |v| {
                let s = v.summary.as_ref().expect("a valid blueprint has a summary");
                outln!(
                    "{}: valid: stack `{}`, {} queue(s), {} rule(s){}",
                    v.file,
                    s.stack,
                    s.queues,
                    s.rules,
                    if s.api { ", ingest API" } else { "" }
                );
                if s.template_bytes > crate::render::TEMPLATE_BODY_MAX {
                    outln!(
                        "note: its template is {} bytes, more than CloudFormation takes inline ({}): deploy needs --s3-bucket (and diff, to show replacements)",
                        s.template_bytes,
                        crate::render::TEMPLATE_BODY_MAX
                    );
                }
            });
            Ok(Exit::Success)
        }
        Err(LoadError::Invalid(diagnostics)) => {
            if global.output == OutputFormat::Json {
                emit_invalid(global, &diagnostics);
            } else {
                errln!("{diagnostics}");
            }
            Ok(Exit::Failure)
        }
        Err(err) => Err(err.into()),
    }
}
