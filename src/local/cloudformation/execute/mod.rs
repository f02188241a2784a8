//! The background runner of stack operations: resources created in dependency waves,
//! updated in place or replaced, deleted in reverse order, one step at a time with a
//! small delay so pollers see every status AWS shows, each event tagged with the
//! operation's ClientRequestToken. Failures roll back as CloudFormation rolls back.

use serde_json::Value;

use super::CloudFormation;
use super::changeset::{Deployment, StackValues};
use super::error::CfnError;
use super::intrinsics::text_of;
use super::providers::{ProviderContext, ProviderError};
use super::stack::{
    OutputValue, ResourceChange, Stack, StackEvent, StackResource, UPDATABLE, UpdateJournal,
    UpdateStep,
};
use crate::local::streams::ACCOUNT_ID;

mod update;

/// What a started operation does.
#[derive(Debug, Clone)]
pub enum Operation {
    Create(Deployment),
    Update(Deployment, Vec<ResourceChange>),
    Delete,
}

/// What recording a resource's status does to the stack besides adding its event.
#[derive(Debug, Clone)]
enum Effect {
    /// The stack's entry for the resource becomes the recorded copy.
    Entry,
    /// That, and the update's step goes into its journal.
    Step(Box<UpdateStep>),
    /// A rollback's revert: the stack's entry, and the journal's copy of the stack from
    /// before the update, become the recorded copy, so the restored stack keeps what
    /// reverting refreshed.
    Reverted,
    /// The stack's entry becomes the recorded copy, and the in-place change journaled
    /// when it started leaves the journal: the provider refused it, so there is nothing
    /// to revert (and reverting a refused change could be refused in turn).
    Refused,
    /// A cleanup's deletion: the event names the copy deleted, while the stack's entry is
    /// the copy kept. Once the deletion is settled the resource leaves the cleanup list,
    /// and leaves the stack too when the template no longer has it.
    Cleanup { leaves_stack: bool },
}

/// The operation in flight: which stack, and the token its events carry.
struct Run {
    stack_id: String,
    token: Option<String>,
    disable_rollback: bool,
    change_set_id: Option<String>,
}

impl CloudFormation {
    /// Put the stack in the operation's first status and run the rest in the background.
    pub(super) async fn start(
        &self,
        stack_id: String,
        operation: Operation,
        token: Option<String>,
        disable_rollback: bool,
        change_set_id: Option<String>,
    ) -> Result<(), CfnError> {
        let status = match operation {
            Operation::Create(_) => "CREATE_IN_PROGRESS",
            Operation::Update(..) => "UPDATE_IN_PROGRESS",
            Operation::Delete => "DELETE_IN_PROGRESS",
        };
        // Check and take the stack in one step, so two operations never run at once.
        {
            let mut stacks = self.stacks();
            let stack = stacks
                .iter_mut()
                .find(|s| s.id == stack_id)
                .ok_or_else(|| CfnError::stack_not_found(&stack_id))?;
            let allowed = match operation {
                Operation::Create(_) => {
                    stack.status == "REVIEW_IN_PROGRESS" || stack.events.is_empty()
                }
                Operation::Update(..) => UPDATABLE.contains(&stack.status.as_str()),
                Operation::Delete => !stack.is_in_progress() && !stack.is_deleted(),
            };
            if !allowed {
                return Err(super::not_updatable(stack));
            }
            // An update's journal is saved with its first status, so that a stop at any
            // later moment finds it (see `resume`).
            if matches!(operation, Operation::Update(..)) {
                stack.journal = Some(UpdateJournal {
                    before: Box::new(Stack {
                        events: Vec::new(),
                        journal: None,
                        ..stack.clone()
                    }),
                    done: Vec::new(),
                });
            }
            stack.status = status.to_owned();
        }
        let run = Run {
            stack_id,
            token,
            disable_rollback,
            change_set_id,
        };
        self.set_status(&run, status, Some("User Initiated".into()))
            .await?;
        let this = self.clone();
        self.spawn(async move {
            let outcome = match operation {
                Operation::Create(deployment) => this.run_create(&run, &deployment).await,
                Operation::Update(deployment, changes) => {
                    this.run_update(&run, &deployment, &changes).await
                }
                Operation::Delete => this.run_delete(&run).await,
            };
            if let Err(err) = outcome {
                tracing::error!(stack = %run.stack_id, error = %err, "stack operation failed inside the engine");
            }
        });
        Ok(())
    }

    async fn set_status(
        &self,
        run: &Run,
        status: &str,
        reason: Option<String>,
    ) -> Result<(), CfnError> {
        self.set_status_and(run, status, reason, |_| ()).await
    }

    /// Set the stack's status and its event, and make `also` in the same write.
    async fn set_status_and(
        &self,
        run: &Run,
        status: &str,
        reason: Option<String>,
        also: impl FnOnce(&mut Stack),
    ) -> Result<(), CfnError> {
        let now = self.now();
        let event_token = run.token.clone();
        let this = self.clone();
        self.change(&run.stack_id, move |stack| {
            also(stack);
            stack.status = status.to_owned();
            stack.status_reason = reason.clone();
            if status.starts_with("UPDATE_IN_PROGRESS") {
                stack.updated_ms = Some(now);
            }
            if status == "DELETE_COMPLETE" {
                stack.deleted_ms = Some(now);
            }
            let event = this.stack_event(stack, status, reason, event_token);
            stack.events.push(event);
        })
        .await?;
        if status.ends_with("_IN_PROGRESS") {
            // Every in-progress phase takes observable time, as on AWS.
            self.pause().await;
        }
        Ok(())
    }

    /// Record a resource's new status (adding it to the stack if new) and its event.
    async fn resource_status(
        &self,
        run: &Run,
        resource: &StackResource,
        status: &str,
        reason: Option<String>,
    ) -> Result<(), CfnError> {
        self.record(run, resource, status, reason, Effect::Entry)
            .await
    }

    /// Record a resource's new status and its event, and what that does to the stack
    /// (see [`Effect`]): one save, so that the update's journal and cleanup list hold
    /// every change the events report.
    async fn record(
        &self,
        run: &Run,
        resource: &StackResource,
        status: &str,
        reason: Option<String>,
        effect: Effect,
    ) -> Result<(), CfnError> {
        let now = self.now();
        let mut resource = resource.clone();
        resource.status = status.to_owned();
        resource.status_reason = reason.clone();
        resource.updated_ms = now;
        let event = StackEvent {
            event_id: format!("{}-{status}-{}", resource.logical_id, uuid::Uuid::new_v4()),
            logical_id: resource.logical_id.clone(),
            physical_id: resource.physical_id.clone(),
            type_name: resource.type_name.clone(),
            timestamp_ms: now,
            status: status.to_owned(),
            reason,
            properties: Some(resource.properties.to_string()),
            client_request_token: run.token.clone(),
        };
        let settled = matches!(
            status,
            "DELETE_COMPLETE" | "DELETE_SKIPPED" | "DELETE_FAILED"
        );
        self.change(&run.stack_id, move |stack| {
            stack.events.push(event);
            let step = match effect {
                Effect::Cleanup { leaves_stack } => {
                    if settled {
                        stack.cleanup.retain(|item| {
                            item.resource.logical_id != resource.logical_id
                                || item.resource.physical_id != resource.physical_id
                        });
                        if leaves_stack {
                            stack
                                .resources
                                .retain(|r| r.logical_id != resource.logical_id);
                        }
                    }
                    return;
                }
                Effect::Entry => None,
                Effect::Step(step) => Some(*step),
                Effect::Refused => {
                    if let Some(journal) = &mut stack.journal
                        && let Some(at) = journal.done.iter().rposition(|step| {
                            matches!(step, UpdateStep::UpdatedInPlace { before }
                                if before.logical_id == resource.logical_id)
                        })
                    {
                        journal.done.remove(at);
                    }
                    None
                }
                Effect::Reverted => {
                    if let Some(journal) = &mut stack.journal
                        && let Some(kept) = journal.before.resource_mut(&resource.logical_id)
                    {
                        kept.physical_id.clone_from(&resource.physical_id);
                        kept.attributes.clone_from(&resource.attributes);
                    }
                    None
                }
            };
            match stack.resource_mut(&resource.logical_id) {
                Some(existing) => *existing = resource,
                None => stack.resources.push(resource),
            }
            if let (Some(journal), Some(step)) = (&mut stack.journal, step) {
                journal.done.push(step);
            }
        })
        .await
    }

    fn context(&self, stack: &Stack, logical_id: &str) -> ProviderContext {
        ProviderContext {
            services: self.inner.services.clone(),
            stack_name: stack.name.clone(),
            logical_id: logical_id.to_owned(),
            region: self.inner.region.clone(),
            account: ACCOUNT_ID.to_owned(),
        }
    }

    async fn pause(&self) {
        tokio::time::sleep(self.inner.step).await;
    }

    /// The resource's properties resolved against the stack's live resources.
    fn properties(
        &self,
        deployment: &Deployment,
        stack: &Stack,
        logical_id: &str,
    ) -> Result<Value, ProviderError> {
        let decl = deployment
            .template
            .resource(logical_id)
            .ok_or_else(|| ProviderError::new(format!("{logical_id} is not in the template")))?;
        let values = StackValues::new(stack.resources.clone());
        deployment
            .evaluator(&values)
            .resolve(&decl.properties)
            .map_err(|e| ProviderError::new(e.to_string()))
    }

    fn fresh_resource(&self, deployment: &Deployment, logical_id: &str) -> StackResource {
        let decl = deployment.template.resource(logical_id);
        StackResource {
            logical_id: logical_id.to_owned(),
            type_name: decl.map(|d| d.type_name.clone()).unwrap_or_default(),
            physical_id: None,
            attributes: serde_json::Map::new(),
            properties: Value::Object(serde_json::Map::new()),
            status: "CREATE_IN_PROGRESS".into(),
            status_reason: None,
            updated_ms: self.now(),
            deletion_policy: decl.and_then(|d| d.deletion_policy.clone()),
            update_replace_policy: decl.and_then(|d| d.update_replace_policy.clone()),
        }
    }

    /// Create one resource through its provider and record CREATE_COMPLETE (journaled as
    /// a step when `in_update`) or CREATE_FAILED; answers the created resource, or `None`
    /// when it failed.
    async fn create_one(
        &self,
        run: &Run,
        deployment: &Deployment,
        mut resource: StackResource,
        in_update: bool,
    ) -> Result<Option<StackResource>, CfnError> {
        let stack = self.stack(&run.stack_id)?;
        let provisioned = async {
            let properties = self.properties(deployment, &stack, &resource.logical_id)?;
            let provider = self
                .inner
                .registry
                .get(&resource.type_name)
                .ok_or_else(|| {
                    ProviderError::new(format!("Unsupported resource type {}", resource.type_name))
                })?;
            let context = self.context(&stack, &resource.logical_id);
            let provisioned = provider.create(&context, &properties).await?;
            Ok::<_, ProviderError>((properties, provisioned))
        }
        .await;
        match provisioned {
            Ok((properties, provisioned)) => {
                resource.properties = properties;
                resource.physical_id = Some(provisioned.physical_id);
                resource.attributes = provisioned.attributes;
                let effect = match in_update {
                    true => Effect::Step(Box::new(UpdateStep::Added(resource.clone()))),
                    false => Effect::Entry,
                };
                self.record(run, &resource, "CREATE_COMPLETE", None, effect)
                    .await?;
                Ok(Some(resource))
            }
            Err(err) => {
                self.resource_status(run, &resource, "CREATE_FAILED", Some(err.to_string()))
                    .await?;
                Ok(None)
            }
        }
    }

    /// Create the template's resources wave by wave; on a failure the rest of that wave is
    /// cancelled. Answers the logical ids that failed.
    async fn create_waves(
        &self,
        run: &Run,
        deployment: &Deployment,
    ) -> Result<Vec<String>, CfnError> {
        for wave in &deployment.graph.waves {
            let wave: Vec<&String> = wave.iter().collect();
            for id in &wave {
                let resource = self.fresh_resource(deployment, id);
                self.resource_status(run, &resource, "CREATE_IN_PROGRESS", None)
                    .await?;
            }
            for (index, id) in wave.iter().enumerate() {
                self.pause().await;
                let stack = self.stack(&run.stack_id)?;
                let Some(resource) = stack.resource(id).cloned() else {
                    continue;
                };
                if self
                    .create_one(run, deployment, resource, false)
                    .await?
                    .is_some()
                {
                    continue;
                }
                for rest in wave.iter().skip(index + 1) {
                    if let Some(other) = stack.resource(rest) {
                        self.resource_status(
                            run,
                            other,
                            "CREATE_FAILED",
                            Some("Resource creation cancelled".into()),
                        )
                        .await?;
                    }
                }
                return Ok(wave.iter().skip(index).map(|s| (*s).clone()).collect());
            }
        }
        Ok(Vec::new())
    }

    async fn run_create(&self, run: &Run, deployment: &Deployment) -> Result<(), CfnError> {
        self.change(&run.stack_id, |stack| {
            stack.parameters = deployment.parameters.clone();
            stack.no_echo = no_echo(deployment);
            stack.template_body = deployment.body.clone();
            stack.description = deployment.template.description.clone();
            stack.disable_rollback = run.disable_rollback;
        })
        .await?;
        let failed = self.create_waves(run, deployment).await?;
        if failed.is_empty() {
            let outputs = self.outputs(deployment, &self.stack(&run.stack_id)?);
            match outputs {
                Ok(outputs) => {
                    self.change(&run.stack_id, |s| s.outputs = outputs).await?;
                    self.set_status(run, "CREATE_COMPLETE", None).await?;
                    return self.finish_change_set(run, true).await;
                }
                Err(err) => {
                    self.set_status(run, "ROLLBACK_IN_PROGRESS", Some(err.to_string()))
                        .await?;
                }
            }
        } else {
            let reason = format!(
                "The following resource(s) failed to create: [{}]. ",
                failed.join(", ")
            );
            if run.disable_rollback {
                self.set_status(run, "CREATE_FAILED", Some(reason)).await?;
                return self.finish_change_set(run, false).await;
            }
            self.set_status(
                run,
                "ROLLBACK_IN_PROGRESS",
                Some(format!("{reason}Rollback requested by user.")),
            )
            .await?;
        }
        self.roll_back_create(run).await
    }

    /// Delete what a failed create made, as its rollback does.
    async fn roll_back_create(&self, run: &Run) -> Result<(), CfnError> {
        let stack = self.stack(&run.stack_id)?;
        let mut all_deleted = true;
        for resource in stack.resources.iter().rev() {
            if resource.is_live() {
                // RetainExceptOnCreate deletes what the failed creation made; Retain keeps it.
                let retain = resource.deletion_policy.as_deref() == Some("Retain");
                all_deleted &= self
                    .delete_resource(run, &stack, resource, retain, Effect::Entry)
                    .await?;
            } else {
                self.resource_status(run, resource, "DELETE_COMPLETE", None)
                    .await?;
            }
        }
        let status = if all_deleted {
            "ROLLBACK_COMPLETE"
        } else {
            "ROLLBACK_FAILED"
        };
        self.set_status(run, status, None).await?;
        self.finish_change_set(run, false).await
    }

    /// After a restart, finish what the previous engine was doing to the stack the way
    /// CloudFormation, which does not stop, would have: a create or an update is rolled
    /// back, a delete or a cleanup goes on. Answers false when there is
    /// nothing to resume (an update with no journal, from an older engine).
    pub(super) async fn resume(&self, stack: &Stack) -> Result<bool, CfnError> {
        let executing = stack
            .change_sets
            .iter()
            .find(|c| c.execution_status == "EXECUTE_IN_PROGRESS")
            .map(|c| c.id.clone());
        let run = Run {
            stack_id: stack.id.clone(),
            // The operation goes on under its own token, so a client following it by token
            // sees how it ended and why.
            token: stack
                .events
                .last()
                .and_then(|e| e.client_request_token.clone()),
            disable_rollback: false,
            change_set_id: executing,
        };
        let stopped = "The local engine stopped during this operation";
        let (status, reason) = match stack.status.as_str() {
            "CREATE_IN_PROGRESS" | "ROLLBACK_IN_PROGRESS" => (
                "ROLLBACK_IN_PROGRESS",
                format!("{stopped}; rolling back the create"),
            ),
            "UPDATE_IN_PROGRESS" | "UPDATE_ROLLBACK_IN_PROGRESS" if stack.journal.is_some() => (
                "UPDATE_ROLLBACK_IN_PROGRESS",
                format!("{stopped}; rolling back the update"),
            ),
            "DELETE_IN_PROGRESS" => ("DELETE_IN_PROGRESS", format!("{stopped}; deleting on")),
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS" => (
                "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
                format!("{stopped}; cleaning up on"),
            ),
            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS" if stack.journal.is_some() => (
                "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
                format!("{stopped}; cleaning up on"),
            ),
            // Written by an engine that kept no journal of its rollback.
            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS" => (
                "UPDATE_ROLLBACK_COMPLETE",
                format!("{stopped}, in its cleanup: a resource the update created may be left"),
            ),
            _ => return Ok(false),
        };
        self.set_status(&run, status, Some(reason)).await?;
        let this = self.clone();
        let journal = stack.journal.clone();
        self.spawn(async move {
            let outcome = match (status, journal) {
                ("ROLLBACK_IN_PROGRESS", _) => this.roll_back_create(&run).await,
                ("UPDATE_ROLLBACK_IN_PROGRESS", Some(journal)) => {
                    this.resume_update_rollback(&run, journal).await
                }
                ("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", Some(_)) => {
                    this.finish_rollback(&run).await
                }
                ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", _) => this.finish_update(&run).await,
                ("DELETE_IN_PROGRESS", _) => this.run_delete(&run).await,
                (status, _) => this.finish_change_set(&run, status == "UPDATE_COMPLETE").await,
            };
            if let Err(err) = outcome {
                tracing::error!(stack = %run.stack_id, error = %err, "resumed stack operation failed inside the engine");
            }
        });
        Ok(true)
    }

    /// Delete one resource (or skip it when retained); answers whether it is gone or kept.
    /// `effect` is [`Effect::Entry`] when the stack is being deleted, a cleanup's otherwise.
    async fn delete_resource(
        &self,
        run: &Run,
        stack: &Stack,
        resource: &StackResource,
        retain: bool,
        effect: Effect,
    ) -> Result<bool, CfnError> {
        if retain {
            self.record(run, resource, "DELETE_SKIPPED", None, effect)
                .await?;
            return Ok(true);
        }
        self.record(run, resource, "DELETE_IN_PROGRESS", None, effect.clone())
            .await?;
        self.pause().await;
        let Some(provisioned) = resource.provisioned() else {
            self.record(run, resource, "DELETE_COMPLETE", None, effect)
                .await?;
            return Ok(true);
        };
        let result = match self.inner.registry.get(&resource.type_name) {
            Some(provider) => {
                let context = self.context(stack, &resource.logical_id);
                provider
                    .delete(&context, &provisioned, &resource.properties)
                    .await
            }
            None => Ok(()),
        };
        match result {
            Ok(()) => {
                self.record(run, resource, "DELETE_COMPLETE", None, effect)
                    .await?;
                Ok(true)
            }
            Err(err) => {
                self.record(
                    run,
                    resource,
                    "DELETE_FAILED",
                    Some(err.to_string()),
                    effect,
                )
                .await?;
                Ok(false)
            }
        }
    }

    async fn run_delete(&self, run: &Run) -> Result<(), CfnError> {
        let stack = self.stack(&run.stack_id)?;
        let mut failed = Vec::new();
        for resource in stack.resources.iter().rev() {
            if !resource.is_live() {
                continue;
            }
            let retain = matches!(
                resource.deletion_policy.as_deref(),
                Some("Retain" | "RetainExceptOnCreate")
            );
            if !self
                .delete_resource(run, &stack, resource, retain, Effect::Entry)
                .await?
            {
                failed.push(resource.logical_id.clone());
            }
        }
        if failed.is_empty() {
            self.set_status(run, "DELETE_COMPLETE", None).await
        } else {
            self.set_status(
                run,
                "DELETE_FAILED",
                Some(format!(
                    "The following resource(s) failed to delete: [{}]. ",
                    failed.join(", ")
                )),
            )
            .await
        }
    }

    fn outputs(
        &self,
        deployment: &Deployment,
        stack: &Stack,
    ) -> Result<Vec<OutputValue>, CfnError> {
        let values = StackValues::new(stack.resources.clone());
        let evaluator = deployment.evaluator(&values);
        let mut outputs = Vec::new();
        for output in &deployment.template.outputs {
            if let Some(condition) = &output.condition
                && !deployment
                    .conditions
                    .get(condition)
                    .copied()
                    .unwrap_or(false)
            {
                continue;
            }
            let value = evaluator.resolve(&output.value)?;
            let text = match &value {
                Value::Array(items) => items
                    .iter()
                    .filter_map(text_of)
                    .collect::<Vec<_>>()
                    .join(","),
                other => text_of(other).ok_or_else(|| {
                    CfnError::template(format!(
                        "Template error: output {} must resolve to a string",
                        output.name
                    ))
                })?,
            };
            let export_name = match &output.export_name {
                Some(name) => text_of(&evaluator.resolve(name)?),
                None => None,
            };
            outputs.push(OutputValue {
                key: output.name.clone(),
                value: text,
                description: output.description.clone(),
                export_name,
            });
        }
        Ok(outputs)
    }

    async fn finish_change_set(&self, run: &Run, succeeded: bool) -> Result<(), CfnError> {
        let Some(id) = run.change_set_id.clone() else {
            return Ok(());
        };
        self.change_change_set(&run.stack_id, &id, |c| {
            c.execution_status = if succeeded {
                "EXECUTE_COMPLETE"
            } else {
                "EXECUTE_FAILED"
            }
            .into();
        })
        .await
    }
}

fn no_echo(deployment: &Deployment) -> Vec<String> {
    deployment
        .template
        .parameters
        .iter()
        .filter(|p| p.no_echo)
        .map(|p| p.name.clone())
        .collect()
}
