//! `outboxctl diff`: what `deploy` would change, resource by resource and property by
//! property, with CloudFormation's own verdict on replacement (from a change set that is
//! deleted again).

use clap::Args;
use serde_json::Value;

use super::deploy::{TemplateBucketArgs, report_staged};
use super::output::emit;
use super::{Exit, GlobalArgs, load_deployable};
use crate::cloud::artifacts;
use crate::cloud::deploy::{self, Planned};
use crate::cloud::diff::{self, ResourceDiff};
use crate::cloud::error::explain;
use crate::cloud::preflight;
use crate::cloud::stack::{self, Phase};
use crate::render;

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Exit 1 when there are changes (as `git diff --exit-code`).
    #[arg(long)]
    exit_code: bool,
    /// Where the change set that tells replacements reads a template too large to send
    /// inline (it is uploaded there, as deploy uploads it).
    #[command(flatten)]
    bucket: TemplateBucketArgs,
}

#[derive(Debug, serde::Serialize)]
struct Row {
    #[serde(flatten)]
    diff: ResourceDiff,
    replacement: Option<String>,
}

pub async fn run(global: &GlobalArgs, args: DiffArgs) -> anyhow::Result<Exit> {
    let Some(bp) = load_deployable(global)? else {
        return Ok(Exit::Failure);
    };
    let rendered = render::render(&bp);
    let aws = global.aws_clients(bp.region.as_deref()).await;
    let cfn = &aws.cloudformation;
    let existing = stack::describe(cfn, &bp.name).await?;
    // A stack whose first deploy failed, or whose first change set awaits review, holds
    // no resources: everything is still to create, whatever template it keeps.
    let holds_nothing = existing
        .as_ref()
        .is_none_or(|s| matches!(s.phase(), Phase::MustDelete | Phase::Review));
    let deployed = if holds_nothing {
        Value::Null
    } else {
        stack::deployed_template(cfn, &bp.name).await?
    };
    let diffs = diff::diff(&deployed, &rendered.to_value());
    let mut replacements = std::collections::HashMap::new();
    let body = rendered.to_compact_json();
    // Only a change set says what a change replaces; one for a template past the inline
    // limit needs the bucket. Without it the property diff is still worth showing.
    let unstageable = args.bucket.check(&body).is_err();
    if !diffs.is_empty() && !deployed.is_null() && unstageable {
        errln!(
            "warning: the template is {} bytes, more than CloudFormation takes inline ({}): without --s3-bucket no change set is made, so replacements are not shown",
            body.len(),
            render::TEMPLATE_BODY_MAX
        );
    } else if !diffs.is_empty() && !deployed.is_null() {
        let token = deploy::new_token();
        let (template, staged) =
            artifacts::stage(&aws, args.bucket.bucket(), &bp.name, body).await?;
        report_staged(global, &staged);
        let request = deploy::Request {
            stack: &bp.name,
            template: &template,
            tags: vec![],
            token: &token,
            poll: global.poll_interval(),
        };
        if let Planned::Changes(plan) = deploy::plan(cfn, request).await? {
            for change in plan.changes {
                replacements.insert(change.logical_id, change.replacement);
            }
            cfn.delete_change_set()
                .change_set_name(&plan.change_set_id)
                .stack_name(&bp.name)
                .send()
                .await
                .map_err(|err| explain("cloudformation:DeleteChangeSet", err))?;
        }
    }
    let rows: Vec<Row> = diffs
        .into_iter()
        .map(|diff| {
            let replacement = replacements.get(&diff.logical_id).cloned().flatten();
            Row { diff, replacement }
        })
        .collect();
    let changed = !rows.is_empty();
    let header = match &existing {
        None => Some(format!(
            "stack `{}` does not exist yet: deploy creates {} resources",
            bp.name,
            rows.len()
        )),
        Some(stack) if stack.phase() == Phase::MustDelete => Some(format!(
            "stack `{}` is {} (its first deploy failed) and holds nothing: `outboxctl deploy --recreate` deletes it and creates {} resources",
            bp.name,
            stack.status,
            rows.len()
        )),
        Some(stack) if stack.phase() == Phase::Review => Some(format!(
            "stack `{}` has a change set waiting for review and holds nothing yet: deploy creates {} resources",
            bp.name,
            rows.len()
        )),
        Some(_) => None,
    };
    if !deployed.is_null() {
        let refused = warn_preflight(&deployed, &rendered.to_value());
        // What deploy refuses outright it does not also ask about.
        let dangerous: Vec<&str> = rows
            .iter()
            .filter(|row| {
                !refused.contains(&row.diff.logical_id)
                    && deploy::endangers_data(
                        &row.diff.resource_type,
                        row.diff.action,
                        row.replacement.as_deref(),
                    )
            })
            .map(|row| row.diff.logical_id.as_str())
            .collect();
        if let Some(warning) = deploy::data_warning(&dangerous) {
            errln!("warning: {warning}; `deploy` asks before doing it");
        }
    }
    emit(global.output, &rows, |rows| {
        print(&bp.name, header.as_deref(), rows)
    });
    Ok(if changed && args.exit_code {
        Exit::Failure
    } else {
        Exit::Success
    })
}

/// What `deploy` would refuse or ask about, on stderr so that `--output json` stays one
/// document. Answers the logical ids it would refuse to replace.
fn warn_preflight(deployed: &Value, rendered: &Value) -> Vec<String> {
    let blocked = preflight::blocked_replacements(deployed, rendered);
    for refusal in &blocked {
        errln!("warning: {}", preflight::describe(refusal));
        errln!("  help: {}", refusal.advice);
    }
    if let Some(replay) = preflight::replayed_stream(deployed, rendered) {
        errln!("warning: {replay}; `deploy` asks before doing it");
    }
    blocked.into_iter().map(|b| b.logical_id).collect()
}

fn print(stack: &str, header: Option<&str>, rows: &[Row]) {
    if rows.is_empty() {
        outln!("no changes: stack `{stack}` matches the blueprint");
        return;
    }
    if let Some(header) = header {
        outln!("{header}");
    }
    for row in rows {
        let sign = match row.diff.action {
            "Add" => "+",
            "Remove" => "-",
            _ => "~",
        };
        let replacement = match row.replacement.as_deref() {
            Some("True") => "  (replacement)",
            Some("Conditional") => "  (may be replaced)",
            _ => "",
        };
        outln!(
            "{sign} {} ({}){replacement}",
            row.diff.logical_id,
            row.diff.resource_type
        );
        for change in &row.diff.changes {
            let show =
                |v: &Option<Value>| v.as_ref().map_or("(none)".to_string(), Value::to_string);
            outln!(
                "    {}: {} → {}",
                change.path,
                show(&change.before),
                show(&change.after)
            );
        }
    }
}
