//! Blueprint → CloudFormation. One file per resource family; each adds its resources
//! and outputs to a [`Template`]. Rendering is pure and deterministic: the same
//! blueprint always gives byte-identical output, so templates can be committed and
//! diffed, and a test catches stale ones.

mod api;
mod bus;
mod intrinsic;
mod pipe;
mod queues;
mod rules;
mod table;
mod template;

pub use template::Template;

use crate::blueprint::{Blueprint, Diagnostic};

/// CloudFormation's limit for a template sent inline (TemplateBody), in bytes.
pub const TEMPLATE_BODY_MAX: usize = 51_200;
/// CloudFormation's limit of resources in one stack.
pub const STACK_RESOURCES_MAX: usize = 500;

/// What CloudFormation would refuse in the template a valid blueprint renders to: more
/// resources than a stack may have, or more text than it takes inline. Said at `name`,
/// before any deploy, so `validate` catches it.
pub fn stack_quota_problems(bp: &Blueprint) -> Vec<Diagnostic> {
    let template = render(bp);
    let at = bp.name_span;
    let resources = template.resources().len();
    let bytes = template.to_compact_json().len();
    let over = [
        (resources > STACK_RESOURCES_MAX).then(|| {
            format!(
                "this blueprint renders {resources} CloudFormation resources; a stack may have at most {STACK_RESOURCES_MAX}"
            )
        }),
        (bytes > TEMPLATE_BODY_MAX).then(|| {
            format!(
                "this blueprint renders a {bytes}-byte template; CloudFormation takes at most {TEMPLATE_BODY_MAX} bytes inline, as deploy sends it"
            )
        }),
    ];
    over.into_iter()
        .flatten()
        .map(|message| {
            Diagnostic::new(at, message).help(
                "split the blueprint into two stacks (two files, each with its own `name`), or use fewer queues and rules in this one",
            )
        })
        .collect()
}

/// Output formats of `outboxctl render`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Yaml,
}

/// Render a validated blueprint to a CloudFormation template.
pub fn render(bp: &Blueprint) -> Template {
    let mut t = Template::new(format!(
        "outboxctl stack {}: DynamoDB table {} → stream → EventBridge Pipe → bus {} → rules → SQS queues",
        bp.name,
        bp.table_name(),
        bp.bus_name()
    ));
    table::render(bp, &mut t);
    pipe::render(bp, &mut t);
    bus::render(bp, &mut t);
    queues::render(bp, &mut t);
    rules::render(bp, &mut t);
    if let Some(api) = &bp.api {
        api::render(bp, api, &mut t);
    }
    t
}

/// The template as text in the chosen format, ending with a newline.
pub fn to_text(template: &Template, format: Format) -> String {
    match format {
        Format::Json => template.to_json(),
        Format::Yaml => template.to_yaml(),
    }
}
