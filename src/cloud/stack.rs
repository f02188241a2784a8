//! What CloudFormation says about a stack: its status, read in a way that survives new
//! status values (SDK enums grow), and its outputs.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;

use super::error::{code, explain};

/// A stack as DescribeStacks reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stack {
    pub name: String,
    pub id: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub outputs: BTreeMap<String, String>,
}

/// What can be done with a stack in a given status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Settled: it can be updated (or deleted).
    Stable,
    /// An operation is running: wait for it.
    Busy,
    /// Created by a change set that never ran: deploy with a CREATE change set again.
    Review,
    /// A failed create left it unusable: it must be deleted before it can be created again.
    MustDelete,
    /// A rollback failed: it must be continued before anything else.
    Stuck,
}

impl Stack {
    pub fn phase(&self) -> Phase {
        phase(&self.status)
    }

    pub fn output(&self, key: &str) -> anyhow::Result<&str> {
        self.outputs.get(key).map(String::as_str).ok_or_else(|| {
            let (name, status) = (&self.name, &self.status);
            match self.phase() {
                Phase::MustDelete => anyhow::anyhow!(
                    "stack `{name}` is {status}: its first deploy failed, so it has no outputs; run `outboxctl deploy --recreate`"
                ),
                Phase::Review => anyhow::anyhow!(
                    "stack `{name}` has a change set waiting for review and no outputs yet; run `outboxctl deploy`"
                ),
                Phase::Busy => anyhow::anyhow!(
                    "stack `{name}` is {status} and has no output `{key}` yet; wait for it to settle (`outboxctl status`)"
                ),
                Phase::Stable | Phase::Stuck => anyhow::anyhow!(
                    "stack `{name}` has no output `{key}`: was it deployed from this blueprint? run `outboxctl deploy`"
                ),
            }
        })
    }
}

pub fn phase(status: &str) -> Phase {
    match status {
        "REVIEW_IN_PROGRESS" => Phase::Review,
        "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" | "CREATE_FAILED" | "DELETE_FAILED" => {
            Phase::MustDelete
        }
        "UPDATE_ROLLBACK_FAILED" => Phase::Stuck,
        s if s.ends_with("_IN_PROGRESS") => Phase::Busy,
        _ => Phase::Stable,
    }
}

/// Whether an operation that ended in `status` succeeded.
pub fn is_success(status: &str) -> bool {
    matches!(
        status,
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "DELETE_COMPLETE" | "IMPORT_COMPLETE"
    )
}

/// The stack, or `None` when there is none by that name.
pub async fn describe(cfn: &Client, name: &str) -> anyhow::Result<Option<Stack>> {
    let result = cfn.describe_stacks().stack_name(name).send().await;
    let output = match result {
        Ok(output) => output,
        Err(err) => {
            let missing = code(&err) == Some("ValidationError")
                && ProvideErrorMetadata::message(&err)
                    .is_some_and(|m| m.contains("does not exist"));
            if missing {
                return Ok(None);
            }
            return Err(explain("cloudformation:DescribeStacks", err));
        }
    };
    let Some(stack) = output.stacks.unwrap_or_default().into_iter().next() else {
        return Ok(None);
    };
    Ok(Some(Stack {
        name: stack.stack_name.unwrap_or_else(|| name.to_string()),
        id: stack.stack_id.unwrap_or_default(),
        status: stack
            .stack_status
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        status_reason: stack.stack_status_reason,
        outputs: stack
            .outputs
            .unwrap_or_default()
            .into_iter()
            .filter_map(|o| Some((o.output_key?, o.output_value?)))
            .collect(),
    }))
}

/// The stack, or an error telling the user to deploy it first.
pub async fn require(cfn: &Client, name: &str) -> anyhow::Result<Stack> {
    describe(cfn, name).await?.ok_or_else(|| {
        anyhow::anyhow!("stack `{name}` does not exist in this account and region: deploy it first with `outboxctl deploy`")
    })
}

/// The template a stack was last deployed with, as JSON (or the plain YAML another tool
/// may have used).
pub async fn deployed_template(cfn: &Client, name: &str) -> anyhow::Result<serde_json::Value> {
    let body = cfn
        .get_template()
        .stack_name(name)
        .template_stage(aws_sdk_cloudformation::types::TemplateStage::Original)
        .send()
        .await
        .map_err(|err| explain("cloudformation:GetTemplate", err))?
        .template_body
        .unwrap_or_default();
    serde_json::from_str(&body)
        .or_else(|_| serde_norway::from_str(&body))
        .map_err(|err| {
            anyhow::anyhow!(
                "the deployed template of `{name}` is neither JSON nor plain YAML ({err}); was it deployed by outboxctl?"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_what_can_be_done() {
        assert_eq!(phase("CREATE_COMPLETE"), Phase::Stable);
        assert_eq!(phase("UPDATE_ROLLBACK_COMPLETE"), Phase::Stable);
        assert_eq!(phase("ROLLBACK_COMPLETE"), Phase::MustDelete);
        assert_eq!(phase("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"), Phase::Busy);
        assert_eq!(phase("REVIEW_IN_PROGRESS"), Phase::Review);
        assert_eq!(phase("UPDATE_ROLLBACK_FAILED"), Phase::Stuck);
        assert_eq!(
            phase("SOME_FUTURE_STATUS"),
            Phase::Stable,
            "unknown statuses do not crash"
        );
    }
}
