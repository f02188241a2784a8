//! `outboxctl destroy`: delete the stack with progress, and say what was kept: resources
//! with `DeletionPolicy: Retain` (the table, by default) outlive the stack.

use std::io::{BufRead, IsTerminal, Write};

use aws_sdk_cloudformation::types::TemplateStage;
use clap::Args;
use serde_json::Value;

use super::output::{OutputFormat, emit};
use super::progress::Progress;
use super::{Exit, GlobalArgs, load_blueprint};
use crate::blueprint::Blueprint;
use crate::cloud::deploy;
use crate::cloud::error::explain;
use crate::cloud::events::{self, Watcher};
use crate::cloud::stack::{self, Stack};
use crate::cloud::{Clients, status};

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    yes: bool,
}

#[derive(Debug, serde::Serialize)]
struct Retained {
    logical_id: String,
    resource_type: String,
    physical_id: String,
}

/// Messages a queue held when the stack was deleted with it.
#[derive(Debug, serde::Serialize)]
struct Discarded {
    queue: String,
    role: &'static str,
    messages: u64,
}

#[derive(Debug, serde::Serialize)]
struct Outcome {
    stack: String,
    deleted: bool,
    retained: Vec<Retained>,
    /// Unread messages deleted with their queues (failed deliveries, in a DLQ).
    discarded: Vec<Discarded>,
    /// Why the stack is still there, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
}

pub async fn run(global: &GlobalArgs, args: DestroyArgs) -> anyhow::Result<Exit> {
    let Some(bp) = load_blueprint(global)? else {
        return Ok(Exit::Failure);
    };
    let aws = global.aws_clients(bp.region.as_deref()).await;
    let cfn = &aws.cloudformation;
    // Deleting what is not there succeeds, as DeleteStack does: teardown scripts rerun.
    let Some(existing) = stack::describe(cfn, &bp.name).await? else {
        let outcome = Outcome {
            stack: bp.name.clone(),
            deleted: false,
            retained: Vec::new(),
            discarded: Vec::new(),
            failure: None,
        };
        emit(global.output, &outcome, |o| {
            outln!(
                "nothing to delete: stack `{}` does not exist in this account and region",
                o.stack
            );
        });
        return Ok(Exit::Success);
    };
    // Queues are deleted with the stack, messages and all: say what would go first.
    let discarded = unread_messages(&aws, &bp, &existing).await;
    for d in &discarded {
        errln!(
            "warning: {} holds {} message(s) ({}); they are deleted with the stack",
            d.queue,
            d.messages,
            describe_role(d.role)
        );
    }
    let mut outcome = Outcome {
        stack: bp.name.clone(),
        deleted: false,
        retained: Vec::new(),
        discarded,
        failure: None,
    };
    let ended = delete_stack(global, args.yes, cfn, &existing, &mut outcome).await;
    if let Err(err) = &ended {
        outcome.failure = Some(super::exit::describe(err));
    }
    // The messages went only if their queues did.
    if !outcome.deleted {
        outcome.discarded.clear();
    }
    // Scripts read the outcome on stdout however the destroy ended; a person reads why it
    // stopped on stderr.
    if outcome.deleted || global.output == OutputFormat::Json {
        emit(global.output, &outcome, |o| {
            outln!("stack `{}` deleted", o.stack);
            for r in &o.retained {
                outln!(
                    "  kept {} {} ({}): its DeletionPolicy retains it; delete it yourself when its data is no longer needed (deploying this blueprint again needs it gone)",
                    r.resource_type,
                    r.physical_id,
                    r.logical_id
                );
            }
        });
    }
    ended
}

/// Confirm, delete the stack and follow it to its end, recording in `outcome` what was
/// kept, or why the stack is still there.
async fn delete_stack(
    global: &GlobalArgs,
    yes: bool,
    cfn: &aws_sdk_cloudformation::Client,
    existing: &Stack,
    outcome: &mut Outcome,
) -> anyhow::Result<Exit> {
    let name = &existing.name;
    if !yes && !confirm(name)? {
        errln!("not deleted");
        outcome.failure = Some("the confirmation did not match the stack name".into());
        return Ok(Exit::Failure);
    }
    let retained = retained_resources(cfn, name).await?;
    let token = deploy::new_token();
    deploy::delete(cfn, name, &token).await?;
    let mut progress = Progress::new(&format!("deleting {name}"), 0, global.quiet);
    let (left, events) = Watcher::new(cfn.clone(), &existing.id, &token)
        .follow(global.poll_interval(), |e| progress.event(e))
        .await?;
    progress.finish();
    if let Some(left) = left.filter(|s| s.status != "DELETE_COMPLETE") {
        let cause = events::first_cause(&events)
            .and_then(|e| e.reason.clone())
            .or(left.status_reason)
            .unwrap_or_default();
        errln!("destroy failed: stack `{name}` is {}: {cause}", left.status);
        outcome.failure = Some(format!("stack `{name}` is {}: {cause}", left.status));
        return Ok(Exit::Failure);
    }
    outcome.deleted = true;
    outcome.retained = retained;
    Ok(Exit::Success)
}

/// Resources of the deployed template that CloudFormation will keep.
async fn retained_resources(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> anyhow::Result<Vec<Retained>> {
    let body = cfn
        .get_template()
        .stack_name(stack)
        .template_stage(TemplateStage::Original)
        .send()
        .await
        .map_err(|err| explain("cloudformation:GetTemplate", err))?
        .template_body
        .unwrap_or_default();
    let template: Value = serde_json::from_str(&body)
        .or_else(|_| serde_norway::from_str(&body))
        .unwrap_or(Value::Null);
    let resources = cfn
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .map_err(|err| explain("cloudformation:DescribeStackResources", err))?
        .stack_resources
        .unwrap_or_default();
    Ok(resources
        .into_iter()
        .filter_map(|r| {
            let id = r.logical_resource_id?;
            let policy = &template["Resources"][&id]["DeletionPolicy"];
            let kept = policy == "Retain" || policy == "RetainExceptOnCreate";
            kept.then(|| Retained {
                logical_id: id,
                resource_type: r.resource_type.unwrap_or_default(),
                physical_id: r.physical_resource_id.unwrap_or_default(),
            })
        })
        .collect())
}

/// The stack's queues that hold messages, but the tail's (copies, kept for watching).
/// A queue that cannot be read is left out: it is about to go either way.
async fn unread_messages(aws: &Clients, bp: &Blueprint, stack: &Stack) -> Vec<Discarded> {
    let (queues, _) = status::queues(bp, stack);
    let mut discarded = Vec::new();
    for (name, role, url) in queues {
        if role.starts_with("tail") {
            continue;
        }
        if let Ok(depth) = status::depth(aws, name, role, url).await
            && depth.visible + depth.in_flight > 0
        {
            discarded.push(Discarded {
                queue: depth.name,
                role,
                messages: depth.visible + depth.in_flight,
            });
        }
    }
    discarded
}

fn describe_role(role: &str) -> &'static str {
    match role {
        "consumer" => "not yet consumed",
        "pipe-dlq" => "stream records the pipe could not deliver",
        "rule-dlq" => "events a rule could not deliver",
        status::NOT_IN_BLUEPRINT => "in a queue the blueprint no longer has",
        _ => "messages a consumer gave up on",
    }
}

fn confirm(stack: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "destroy deletes stack `{stack}`; nobody is at the terminal to confirm, so pass --yes if that is intended"
        );
    }
    errout!(
        "delete stack `{stack}` and everything in it except retained resources? Type the stack name to go on: "
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == stack)
}
