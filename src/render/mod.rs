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
/// CloudFormation's limit for a template it reads from S3 (TemplateURL): 1 MB.
pub const TEMPLATE_URL_MAX: usize = 1_048_576;
/// CloudFormation's limit of resources in one stack.
pub const STACK_RESOURCES_MAX: usize = 500;
/// CloudFormation's limit of outputs in one template.
pub const STACK_OUTPUTS_MAX: usize = 200;

/// What CloudFormation would refuse in the template a valid blueprint renders to: more
/// resources or outputs than a stack may have, or more text than it reads even from S3. Said at
/// `name`, before any deploy, so `validate` catches it. (Past the inline limit, deploy
/// needs `--s3-bucket`; `validate` says so without failing.)
pub fn stack_quota_problems(bp: &Blueprint) -> Vec<Diagnostic> {
    let template = render(bp);
    let at = bp.name_span;
    let resources = template.resources().len();
    let outputs = template.outputs().len();
    let bytes = template.to_compact_json().len();
    let over = [
        // Each queue brings four outputs (URL, ARN, DLQ URL, rule DLQ URL): this binds
        // first, at about 47 queues with their rules.
        (outputs > STACK_OUTPUTS_MAX).then(|| {
            format!(
                "this blueprint renders {outputs} CloudFormation outputs; a template may have at most {STACK_OUTPUTS_MAX}"
            )
        }),
        (resources > STACK_RESOURCES_MAX).then(|| {
            format!(
                "this blueprint renders {resources} CloudFormation resources; a stack may have at most {STACK_RESOURCES_MAX}"
            )
        }),
        (bytes > TEMPLATE_URL_MAX).then(|| {
            format!(
                "this blueprint renders a {bytes}-byte template; CloudFormation reads at most {TEMPLATE_URL_MAX} bytes, even from S3"
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A blueprint with `n` queues, each the target of its own rule.
    fn consumers(n: usize) -> Blueprint {
        let mut source = String::from("name: big\nqueues:\n");
        for i in 0..n {
            source.push_str(&format!("  q{i}: {{}}\n"));
        }
        source.push_str("rules:\n");
        for i in 0..n {
            source.push_str(&format!(
                "  r{i}:\n    pattern: {{source: [s{i}]}}\n    targets: [q{i}]\n"
            ));
        }
        crate::blueprint::parse("big.yaml", &source).expect("a valid blueprint")
    }

    #[test]
    fn quotas_bind_where_cloudformation_refuses() {
        let largest = (1..200)
            .take_while(|&n| stack_quota_problems(&consumers(n)).is_empty())
            .last()
            .unwrap();
        let template = render(&consumers(largest));
        assert!(template.outputs().len() <= STACK_OUTPUTS_MAX);
        assert!(
            template.to_compact_json().len() > TEMPLATE_BODY_MAX,
            "needs S3"
        );
        let refused = stack_quota_problems(&consumers(largest + 1));
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert!(
            refused[0]
                .message
                .contains("a template may have at most 200"),
            "{}",
            refused[0].message
        );
    }
}
