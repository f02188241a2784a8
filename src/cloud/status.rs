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
    /// The stream the pipe reads.
    pub source: String,
    /// The stream the table writes to, when the pipe reads another: no order reaches the
    /// bus. A deploy that changed the stream view and rolled back leaves it so (the
    /// rollback gives the table yet another stream; the pipe keeps the closed one).
    pub table_stream: Option<String>,
    /// Whether the table's stream is on. Switched off (outside CloudFormation), the
    /// table still names its last stream, and no order reaches the bus either.
    pub stream_enabled: bool,
}

impl PipeState {
    /// What to do about a pipe reading a closed stream.
    pub fn stale_advice(&self) -> Option<String> {
        // CloudFormation reads the table's stream again only when it updates the table, so
        // the new pipe needs a table change beside it.
        let way_out = "give the pipe a new `pipe.name` and, in the same deploy, change the table (a new entry under `tags:` will do) so that CloudFormation reads its current stream; the new pipe reads that stream from its start";
        if !self.stream_enabled {
            return Some(format!(
                "the pipe {} reads {}, but the table's stream is switched off: no order reaches the bus; switch it back on (`aws dynamodb update-table --stream-specification StreamEnabled=true,StreamViewType=…` with the blueprint's `table.stream_view`), then {way_out}",
                self.name, self.source
            ));
        }
        self.table_stream.as_ref().map(|latest| {
            format!(
                "the pipe {} reads {}, but the table now writes to {latest}: no order reaches the bus; {way_out}",
                self.name, self.source
            )
        })
    }
}

/// The pipe's state as Pipes reports it.
pub async fn pipe(clients: &Clients, stack: &Stack) -> anyhow::Result<PipeState> {
    let name = stack.output(output::PIPE_NAME)?.to_string();
    let table = clients
        .dynamodb
        .describe_table()
        .table_name(stack.output(output::TABLE_NAME)?)
        .send()
        .await
        .map_err(|err| explain("dynamodb:DescribeTable", err))?
        .table;
    let stream_enabled = table
        .as_ref()
        .and_then(|t| t.stream_specification.as_ref())
        .is_some_and(|s| s.stream_enabled);
    let latest = table.and_then(|t| t.latest_stream_arn);
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
        table_stream: latest.filter(|latest| described.source.as_deref() != Some(latest)),
        stream_enabled,
        source: described.source.unwrap_or_default(),
    })
}

/// Every queue of the blueprint the stack has, with its role and URL, then the stack's
/// queues the blueprint no longer has ([`NOT_IN_BLUEPRINT`]), and the names of those the
/// stack does not have yet (a queue added to the blueprint and not deployed, or whose
/// deploy failed): status shows the stack as it is.
pub fn queues(bp: &Blueprint, stack: &Stack) -> (Vec<(String, &'static str, String)>, Vec<String>) {
    let mut wanted: Vec<(String, &'static str, String)> = Vec::new();
    for queue in &bp.queues {
        wanted.push((bp.queue_name(queue), "consumer", output::queue_url(queue)));
        wanted.push((
            bp.queue_dlq_name(queue),
            "dlq",
            output::queue_dlq_url(queue),
        ));
    }
    wanted.push((
        bp.pipe_dlq_name(),
        "pipe-dlq",
        output::PIPE_DLQ_URL.to_string(),
    ));
    for rule in &bp.rules {
        wanted.push((
            bp.rule_dlq_name(rule),
            "rule-dlq",
            output::rule_dlq_url(&rule.name),
        ));
    }
    if bp.tail {
        wanted.push((
            bp.tail_queue_name(),
            "tail",
            output::TAIL_QUEUE_URL.to_string(),
        ));
        wanted.push((
            bp.tail_dlq_name(),
            "tail-dlq",
            output::TAIL_DLQ_URL.to_string(),
        ));
    }
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for (name, role, key) in &wanted {
        match stack.outputs.get(key) {
            // Named as deployed: a name the blueprint changed since (a renamed pipe's DLQ)
            // is not deployed yet.
            Some(url) => {
                let deployed = queue_name(url);
                if deployed != name {
                    missing.push(name.clone());
                }
                found.push((deployed.to_string(), *role, url.clone()));
            }
            None => missing.push(name.clone()),
        }
    }
    // Queues the stack has and the blueprint no longer names: the next deploy deletes them.
    for (key, url) in &stack.outputs {
        let is_queue = key.ends_with("QueueUrl") || key.ends_with("DlqUrl");
        if is_queue && !wanted.iter().any(|(_, _, wanted_key)| wanted_key == key) {
            found.push((queue_name(url).to_string(), NOT_IN_BLUEPRINT, url.clone()));
        }
    }
    (found, missing)
}

/// A queue's name: the last segment of its URL.
fn queue_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

/// The role of a deployed queue the blueprint no longer has.
pub const NOT_IN_BLUEPRINT: &str = "not-in-blueprint";

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
