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

use crate::blueprint::Blueprint;

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
