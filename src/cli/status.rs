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
}

pub async fn run(global: &GlobalArgs, _args: StatusArgs) -> anyhow::Result<Exit> {
    let Some(bp) = load_blueprint(global)? else {
        return Ok(Exit::Failure);
    };
    let aws = global.aws_clients(bp.region.as_deref()).await;
    let deployed = stack::require(&aws.cloudformation, &bp.name).await?;
    let settled =
        stack::is_success(&deployed.status) || deployed.status == "UPDATE_ROLLBACK_COMPLETE";
    let (pipe, queues) = if settled {
        let mut queues = Vec::new();
        for (name, role, url) in status::queues(&bp, &deployed)? {
            queues.push(status::depth(&aws, name, role, url).await?);
        }
        (Some(status::pipe(&aws, &deployed).await?), queues)
    } else {
        (None, Vec::new())
    };
    let report = Report {
        stack: deployed.name.clone(),
        status: deployed.status.clone(),
        status_reason: deployed.status_reason.clone(),
        pipe,
        queues,
    };
    emit(global.output, &report, print);
    Ok(if settled {
        Exit::Success
    } else {
        Exit::Failure
    })
}

fn print(report: &Report) {
    println!("stack  {}  {}", report.stack, report.status);
    if let Some(reason) = &report.status_reason {
        println!("       {reason}");
    }
    if let Some(pipe) = &report.pipe {
        let reason = pipe
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        println!(
            "pipe   {}  {} (desired {}){reason}",
            pipe.name, pipe.current, pipe.desired
        );
    }
    if !report.queues.is_empty() {
        let width = report
            .queues
            .iter()
            .map(|q| q.name.len())
            .max()
            .unwrap_or(0);
        println!(
            "{:<width$}  {:<8}  {:>9}  {:>9}",
            "QUEUE", "ROLE", "WAITING", "IN FLIGHT"
        );
        for q in &report.queues {
            println!(
                "{:<width$}  {:<8}  {:>9}  {:>9}",
                q.name, q.role, q.visible, q.in_flight
            );
        }
    }
    for q in report
        .queues
        .iter()
        .filter(|q| q.role == "dlq" && q.visible + q.in_flight > 0)
    {
        eprintln!(
            "warning: {} message(s) in {}: deliveries failed; inspect them, fix the cause, then redrive (aws sqs start-message-move-task)",
            q.visible + q.in_flight,
            q.name
        );
    }
}
