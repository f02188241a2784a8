//! Deploying through change sets, as careful deploy tools do: create a change set, show
//! it, then execute it. A change set that contains no changes means there is nothing to
//! deploy; it is deleted again.

use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Tag};

use super::artifacts::TemplateSource;
use super::error::explain;
use super::stack::{self, Phase};

/// How long CloudFormation may take to compute a change set.
const CHANGE_SET_TIMEOUT: Duration = Duration::from_secs(600);

/// One row of a change set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    /// Add, Modify, Remove, Import, Dynamic.
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// True, False or Conditional, for Modify.
    pub replacement: Option<String>,
}

impl Change {
    /// Whether this change may destroy the table's data.
    pub fn endangers_data(&self) -> bool {
        endangers_data(
            &self.resource_type,
            &self.action,
            self.replacement.as_deref(),
        )
    }
}

/// Whether a change (CloudFormation's action and replacement verdict) may destroy the
/// table's data.
pub fn endangers_data(resource_type: &str, action: &str, replacement: Option<&str>) -> bool {
    resource_type == "AWS::DynamoDB::Table"
        && (action == "Remove" || matches!(replacement, Some("True" | "Conditional")))
}

/// What `deploy` says before it replaces or removes the tables `logical_ids`, and asks.
pub fn data_warning(logical_ids: &[&str]) -> Option<String> {
    (!logical_ids.is_empty()).then(|| {
        format!(
            "this deploy replaces or removes {}: the stack moves to a new, empty table (the old one is kept with its items)",
            logical_ids.join(", ")
        )
    })
}

/// A change set ready to execute.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    pub stack: String,
    pub change_set_name: String,
    pub change_set_id: String,
    /// CREATE for a new stack, UPDATE otherwise.
    pub kind: String,
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    NoChanges,
    Changes(Plan),
}

/// What goes into a change set besides the template.
pub struct Request<'a> {
    pub stack: &'a str,
    pub template: &'a TemplateSource,
    pub tags: Vec<(String, String)>,
    /// Unique per invocation: names the change set.
    pub token: &'a str,
    pub poll: Duration,
}

/// Create a change set for the template and wait until CloudFormation has computed it.
/// The template comes from [`super::artifacts::stage`], which keeps the inline limit.
pub async fn plan(cfn: &Client, request: Request<'_>) -> anyhow::Result<Planned> {
    let (body, url) = match request.template {
        TemplateSource::Body(body) => (Some(body.clone()), None),
        TemplateSource::Url(url) => (None, Some(url.clone())),
    };
    let existing = stack::describe(cfn, request.stack).await?;
    let kind = match existing.as_ref().map(|s| (s.phase(), s.status.as_str())) {
        None | Some((Phase::Review, _)) => ChangeSetType::Create,
        Some((Phase::Stable, _)) => ChangeSetType::Update,
        Some((Phase::Busy, status)) => anyhow::bail!(
            "stack `{}` is busy ({status}); wait for it to settle (`outboxctl status`) and deploy again",
            request.stack
        ),
        Some((Phase::MustDelete, "DELETE_FAILED")) => anyhow::bail!(
            "stack `{}` is in DELETE_FAILED: a delete did not finish; run `outboxctl destroy` again (the stack's events say which resource held it)",
            request.stack
        ),
        Some((Phase::MustDelete, status)) => anyhow::bail!(
            "stack `{}` is in {status}: its first deploy failed and rolled back, and CloudFormation cannot update such a stack; \
             run `outboxctl deploy --recreate` to delete it and create it again (a retained table is kept), or `outboxctl destroy`",
            request.stack
        ),
        Some((Phase::Stuck, status)) => anyhow::bail!(
            "stack `{}` is in {status}: a rollback could not finish; fix the cause the stack's events name, then \
             `aws cloudformation continue-update-rollback --stack-name {}` and deploy again",
            request.stack,
            request.stack
        ),
    };
    let change_set_name = format!("outboxctl-{}", request.token);
    let created = cfn
        .create_change_set()
        .stack_name(request.stack)
        .change_set_name(&change_set_name)
        .change_set_type(kind.clone())
        .set_template_body(body)
        .set_template_url(url)
        .capabilities(Capability::CapabilityIam)
        .description("outboxctl deploy")
        .set_tags(Some(
            request
                .tags
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .send()
        .await
        .map_err(|err| explain("cloudformation:CreateChangeSet", err))?;
    let change_set_id = created.id.unwrap_or_else(|| change_set_name.clone());

    let computing_since = std::time::Instant::now();
    loop {
        let described = cfn
            .describe_change_set()
            .change_set_name(&change_set_id)
            .stack_name(request.stack)
            .send()
            .await
            .map_err(|err| explain("cloudformation:DescribeChangeSet", err))?;
        let status = described
            .status
            .as_ref()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        match status.as_str() {
            "CREATE_COMPLETE" => break,
            "FAILED" => {
                let reason = described.status_reason.unwrap_or_default();
                if reason.contains("didn't contain changes")
                    || reason.contains("No updates are to be performed")
                {
                    cfn.delete_change_set()
                        .change_set_name(&change_set_id)
                        .stack_name(request.stack)
                        .send()
                        .await
                        .map_err(|err| explain("cloudformation:DeleteChangeSet", err))?;
                    return Ok(Planned::NoChanges);
                }
                anyhow::bail!("CloudFormation refused the change set: {reason}");
            }
            "CREATE_PENDING" | "CREATE_IN_PROGRESS"
                if computing_since.elapsed() < CHANGE_SET_TIMEOUT =>
            {
                tokio::time::sleep(request.poll).await
            }
            "CREATE_PENDING" | "CREATE_IN_PROGRESS" => anyhow::bail!(
                "CloudFormation has not computed change set `{change_set_name}` after {} minutes; look at it in the console or run deploy again",
                CHANGE_SET_TIMEOUT.as_secs() / 60
            ),
            other => anyhow::bail!(
                "change set `{change_set_name}` is {other}: something else changed it; run deploy again"
            ),
        }
    }

    let mut changes = Vec::new();
    let mut next_token = None;
    loop {
        let page = cfn
            .describe_change_set()
            .change_set_name(&change_set_id)
            .stack_name(request.stack)
            .set_next_token(next_token.take())
            .send()
            .await
            .map_err(|err| explain("cloudformation:DescribeChangeSet", err))?;
        for change in page.changes.unwrap_or_default() {
            let Some(rc) = change.resource_change else {
                continue;
            };
            changes.push(Change {
                action: rc
                    .action
                    .map(|a| a.as_str().to_string())
                    .unwrap_or_default(),
                logical_id: rc.logical_resource_id.unwrap_or_default(),
                resource_type: rc.resource_type.unwrap_or_default(),
                replacement: rc.replacement.map(|r| r.as_str().to_string()),
            });
        }
        next_token = page.next_token;
        if next_token.is_none() {
            break;
        }
    }
    Ok(Planned::Changes(Plan {
        stack: request.stack.to_string(),
        change_set_name,
        change_set_id,
        kind: kind.as_str().to_string(),
        changes,
    }))
}

/// Start executing a planned change set; follow it with [`super::events::Watcher`].
pub async fn execute(cfn: &Client, plan: &Plan, token: &str) -> anyhow::Result<()> {
    cfn.execute_change_set()
        .change_set_name(&plan.change_set_id)
        .stack_name(&plan.stack)
        .client_request_token(token)
        .send()
        .await
        .map_err(|err| explain("cloudformation:ExecuteChangeSet", err))?;
    Ok(())
}

/// Start deleting a stack; follow it with [`super::events::Watcher`].
pub async fn delete(cfn: &Client, stack: &str, token: &str) -> anyhow::Result<()> {
    cfn.delete_stack()
        .stack_name(stack)
        .client_request_token(token)
        .send()
        .await
        .map_err(|err| explain("cloudformation:DeleteStack", err))?;
    Ok(())
}

/// A token unique to this invocation: names change sets and tags the events of the
/// operations it starts.
pub fn new_token() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!(
        "{millis}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(action: &str, kind: &str, replacement: Option<&str>) -> Change {
        Change {
            action: action.into(),
            logical_id: "X".into(),
            resource_type: kind.into(),
            replacement: replacement.map(Into::into),
        }
    }

    #[test]
    fn only_table_replacement_or_removal_endangers_data() {
        assert!(change("Modify", "AWS::DynamoDB::Table", Some("True")).endangers_data());
        assert!(change("Modify", "AWS::DynamoDB::Table", Some("Conditional")).endangers_data());
        assert!(change("Remove", "AWS::DynamoDB::Table", None).endangers_data());
        assert!(!change("Modify", "AWS::DynamoDB::Table", Some("False")).endangers_data());
        assert!(!change("Modify", "AWS::SQS::Queue", Some("True")).endangers_data());
    }
}
