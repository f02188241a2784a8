//! Following one stack operation through DescribeStackEvents: paging, de-duplication and
//! done-detection live here; drawing them is the command's job. An operation's events
//! are told apart from older ones by the client request token it was started with.

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_cloudformation::Client;

use super::error::explain;
use super::stack::{self, Phase, Stack};

/// One resource status change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ResourceEvent {
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
    /// Seconds since the epoch, as CloudFormation stamped it.
    pub timestamp: i64,
}

impl ResourceEvent {
    pub fn failed(&self) -> bool {
        self.status.ends_with("_FAILED")
    }

    pub fn in_progress(&self) -> bool {
        self.status.ends_with("_IN_PROGRESS")
    }

    pub fn is_stack(&self) -> bool {
        self.resource_type == "AWS::CloudFormation::Stack"
    }
}

/// The first failure of an operation that explains it: CloudFormation's follow-up
/// failures ("Resource creation cancelled") and the stack's own summary come after it.
pub fn first_cause(events: &[ResourceEvent]) -> Option<&ResourceEvent> {
    let useful = |e: &&ResourceEvent| {
        e.failed() && !e.is_stack() && !e.reason.as_deref().unwrap_or("").contains("cancelled")
    };
    events
        .iter()
        .find(useful)
        .or_else(|| events.iter().find(|e| e.failed()))
}

/// New events of one operation, oldest first. Give it the stack's id (its ARN) where
/// there is one: a deleted stack is found by id only.
pub struct Watcher {
    cfn: Client,
    stack: String,
    token: String,
    seen: HashSet<String>,
}

/// How long an operation may take to show its first status or event.
const START_GRACE: Duration = Duration::from_secs(30);

/// How many pages of history one poll reads before it stops looking for older events.
const MAX_PAGES: usize = 20;

impl Watcher {
    pub fn new(cfn: Client, stack: &str, token: &str) -> Watcher {
        Watcher {
            cfn,
            stack: stack.to_string(),
            token: token.to_string(),
            seen: HashSet::new(),
        }
    }

    /// Events of this operation not returned before, oldest first.
    pub async fn poll(&mut self) -> anyhow::Result<Vec<ResourceEvent>> {
        let mut fresh = Vec::new();
        let mut next_token = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .cfn
                .describe_stack_events()
                .stack_name(&self.stack)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|err| explain("cloudformation:DescribeStackEvents", err))?;
            let mut reached_known = false;
            for event in page.stack_events.unwrap_or_default() {
                let id = event.event_id.clone().unwrap_or_default();
                if self.seen.contains(&id) {
                    reached_known = true;
                    continue;
                }
                // Newest first: an event of another operation means ours are all read.
                if event.client_request_token.as_deref() != Some(self.token.as_str()) {
                    reached_known = true;
                    continue;
                }
                self.seen.insert(id);
                fresh.push(ResourceEvent {
                    logical_id: event.logical_resource_id.unwrap_or_default(),
                    resource_type: event.resource_type.unwrap_or_default(),
                    status: event
                        .resource_status
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    reason: event.resource_status_reason.filter(|r| !r.is_empty()),
                    timestamp: event.timestamp.map_or(0, |t| t.secs()),
                });
            }
            next_token = page.next_token;
            if reached_known || next_token.is_none() {
                break;
            }
        }
        fresh.reverse();
        Ok(fresh)
    }

    /// Follow the operation until the stack settles, handing each event to `on_event`
    /// as it arrives. Returns the settled stack (a deleted one reads DELETE_COMPLETE) and
    /// every event of the operation.
    pub async fn follow(
        &mut self,
        interval: Duration,
        mut on_event: impl FnMut(&ResourceEvent),
    ) -> anyhow::Result<(Option<Stack>, Vec<ResourceEvent>)> {
        let mut all = Vec::new();
        // Right after ExecuteChangeSet, DescribeStacks may still show the status before
        // it (REVIEW_IN_PROGRESS, or the last UPDATE_COMPLETE): a settled status counts
        // only once the operation has shown itself, or after a grace period.
        let begun = std::time::Instant::now();
        let mut started = false;
        loop {
            let stack = stack::describe(&self.cfn, &self.stack).await?;
            let busy = stack.as_ref().is_some_and(|s| s.phase() == Phase::Busy);
            for event in self.poll().await? {
                on_event(&event);
                all.push(event);
            }
            started |= busy || !all.is_empty();
            if !busy && (started || begun.elapsed() >= START_GRACE) {
                return Ok((stack, all));
            }
            tokio::time::sleep(interval).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, kind: &str, status: &str, reason: Option<&str>) -> ResourceEvent {
        ResourceEvent {
            logical_id: id.into(),
            resource_type: kind.into(),
            status: status.into(),
            reason: reason.map(Into::into),
            timestamp: 0,
        }
    }

    #[test]
    fn the_cause_is_the_first_real_failure() {
        let events = vec![
            event("Table", "AWS::DynamoDB::Table", "CREATE_IN_PROGRESS", None),
            event(
                "NewOrdersRule",
                "AWS::Events::Rule",
                "CREATE_FAILED",
                Some("Event pattern is not valid"),
            ),
            event(
                "Table",
                "AWS::DynamoDB::Table",
                "CREATE_FAILED",
                Some("Resource creation cancelled"),
            ),
            event(
                "shop",
                "AWS::CloudFormation::Stack",
                "ROLLBACK_IN_PROGRESS",
                None,
            ),
        ];
        assert_eq!(first_cause(&events).unwrap().logical_id, "NewOrdersRule");
    }
}
