//! `outboxctl status`: the stack's status, the pipe's state, every queue's and DLQ's
//! depth, and a warning for anything waiting in a DLQ.

use clap::Args;

use super::output::emit;
use super::{Exit, GlobalArgs, load_blueprint};
use crate::cloud::stack;
use crate::cloud::status::{self, PipeState, QueueDepth};

#[derive(Debug, Args)]
pub struct StatusArgs {}

#[derive(Debug, serde::Serialize)]
struct Report {
    stack: String,
    status: String,
    status_reason: Option<String>,
    pipe: Option<PipeState>,
    queues: Vec<QueueDepth>,
    /// Queues of the blueprint the stack does not have (not deployed yet).
    not_deployed: Vec<String>,
}

pub async fn run(global: &GlobalArgs, _args: StatusArgs) -> anyhow::Result<Exit> {
    let Some(bp) = load_blueprint(global)? else {
        return Ok(Exit::Failure);
    };
    let aws = global.aws_clients(bp.region.as_deref()).await;
    let deployed = stack::require(&aws.cloudformation, &bp.name).await?;
    let settled =
        stack::is_success(&deployed.status) || deployed.status == "UPDATE_ROLLBACK_COMPLETE";
    let (pipe, queues, not_deployed) = if settled {
        let (found, missing) = status::queues(&bp, &deployed);
        let mut queues = Vec::new();
        for (name, role, url) in found {
            queues.push(status::depth(&aws, name, role, url).await?);
        }
        (Some(status::pipe(&aws, &deployed).await?), queues, missing)
    } else {
        (None, Vec::new(), Vec::new())
    };
    let report = Report {
        stack: deployed.name.clone(),
        status: deployed.status.clone(),
        status_reason: deployed.status_reason.clone(),
        pipe,
        queues,
        not_deployed,
    };
    let stale = report.pipe.as_ref().and_then(PipeState::stale_advice);
    emit(global.output, &report, print);
    if let Some(advice) = &stale {
        errln!("error: {advice}");
    }
    Ok(if settled && stale.is_none() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

fn print(report: &Report) {
    outln!("stack  {}  {}", report.stack, report.status);
    if let Some(reason) = &report.status_reason {
        outln!("       {reason}");
    }
    if let Some(pipe) = &report.pipe {
        let reason = pipe
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        outln!(
            "pipe   {}  {} (desired {}){reason}",
            pipe.name,
            pipe.current,
            pipe.desired
        );
    }
    if !report.queues.is_empty() {
        let width = report
            .queues
            .iter()
            .map(|q| q.name.len())
            .max()
            .unwrap_or(0);
        let role_width = report
            .queues
            .iter()
            .map(|q| q.role.len())
            .max()
            .unwrap_or(0);
        outln!(
            "{:<width$}  {:<role_width$}  {:>9}  {:>9}",
            "QUEUE",
            "ROLE",
            "WAITING",
            "IN FLIGHT"
        );
        for q in &report.queues {
            outln!(
                "{:<width$}  {:<role_width$}  {:>9}  {:>9}",
                q.name,
                q.role,
                q.visible,
                q.in_flight
            );
        }
    }
    let removed: Vec<&str> = report
        .queues
        .iter()
        .filter(|q| q.role == status::NOT_IN_BLUEPRINT)
        .map(|q| q.name.as_str())
        .collect();
    if !removed.is_empty() {
        errln!(
            "warning: the stack has queues the blueprint no longer has: {}; the next `outboxctl deploy` deletes them, with any messages in them",
            removed.join(", ")
        );
    }
    if !report.not_deployed.is_empty() {
        errln!(
            "warning: the blueprint has queues the stack does not: {}; `outboxctl diff` shows what `deploy` would add",
            report.not_deployed.join(", ")
        );
    }
    for q in report.queues.iter().filter(|q| q.visible + q.in_flight > 0) {
        let Some(advice) = dlq_advice(q.role) else {
            continue;
        };
        errln!(
            "warning: {} message(s) in {}: {advice}",
            q.visible + q.in_flight,
            q.name
        );
    }
}

/// What messages in a DLQ of this role are, and how to recover them.
fn dlq_advice(role: &str) -> Option<&'static str> {
    Some(match role {
        "dlq" => {
            "its consumer failed them too often; fix the consumer, then move them back with `aws sqs start-message-move-task --source-arn <this DLQ's ARN>`"
        }
        "rule-dlq" => {
            "EventBridge could not deliver these events to the rule's targets; each message's TARGET_ARN, ERROR_CODE and ERROR_MESSAGE attributes say where and why; fix the cause, then send each body to its target again (SQS cannot move messages out of a DLQ that no queue feeds)"
        }
        "pipe-dlq" => {
            "the pipe could not deliver these stream batches; each names its shard and sequence numbers, not the events: fix the cause, then write those items again, or read that range from the stream within its 24 h retention"
        }
        "tail-dlq" => {
            "copies for `outboxctl tail` that could not be delivered; nothing depends on them: purge the queue once read"
        }
        _ => return None,
    })
}
