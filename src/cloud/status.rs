//! The health of a deployed stack: its status, the pipe's state, and how many messages
//! wait in every queue and DLQ.

use aws_sdk_sqs::types::QueueAttributeName;

use super::Clients;
use super::error::explain;
use super::stack::Stack;
use crate::blueprint::{Blueprint, output};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QueueDepth {
    pub name: String,
    /// consumer, dlq (a consumer queue's), pipe-dlq, rule-dlq, tail, tail-dlq: how to
    /// recover what lands in a DLQ depends on which it is.
    pub role: &'static str,
    pub url: String,
    pub visible: u64,
    pub in_flight: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PipeState {
    pub name: String,
    pub current: String,
    pub desired: String,
    pub reason: Option<String>,
}

/// The pipe's state as Pipes reports it.
pub async fn pipe(clients: &Clients, stack: &Stack) -> anyhow::Result<PipeState> {
    let name = stack.output(output::PIPE_NAME)?.to_string();
    let described = clients
        .pipes
        .describe_pipe()
        .name(&name)
        .send()
        .await
        .map_err(|err| explain("pipes:DescribePipe", err))?;
    Ok(PipeState {
        name,
        current: described
            .current_state
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        desired: described
            .desired_state
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        reason: described.state_reason.filter(|r| !r.is_empty()),
    })
}

/// Every queue of the stack with its role, from the stack's outputs.
pub fn queues(
    bp: &Blueprint,
    stack: &Stack,
) -> anyhow::Result<Vec<(String, &'static str, String)>> {
    let mut out = Vec::new();
    for queue in &bp.queues {
        out.push((
            bp.queue_name(queue),
            "consumer",
            stack.output(&output::queue_url(queue))?.to_string(),
        ));
        out.push((
            bp.queue_dlq_name(queue),
            "dlq",
            stack.output(&output::queue_dlq_url(queue))?.to_string(),
        ));
    }
    out.push((
        bp.pipe_dlq_name(),
        "pipe-dlq",
        stack.output(output::PIPE_DLQ_URL)?.to_string(),
    ));
    for rule in &bp.rules {
        out.push((
            bp.rule_dlq_name(rule),
            "rule-dlq",
            stack.output(&output::rule_dlq_url(&rule.name))?.to_string(),
        ));
    }
    if bp.tail {
        out.push((
            bp.tail_queue_name(),
            "tail",
            stack.output(output::TAIL_QUEUE_URL)?.to_string(),
        ));
        out.push((
            bp.tail_dlq_name(),
            "tail-dlq",
            stack.output(output::TAIL_DLQ_URL)?.to_string(),
        ));
    }
    Ok(out)
}

/// Approximate depths, as SQS reports them.
pub async fn depth(
    clients: &Clients,
    name: String,
    role: &'static str,
    url: String,
) -> anyhow::Result<QueueDepth> {
    let attributes = clients
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(|err| explain("sqs:GetQueueAttributes", err))?
        .attributes
        .unwrap_or_default();
    let number = |name: QueueAttributeName| {
        attributes
            .get(&name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok(QueueDepth {
        name,
        role,
        url,
        visible: number(QueueAttributeName::ApproximateNumberOfMessages),
        in_flight: number(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    })
}
