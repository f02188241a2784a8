//! Stack updates: each change of the plan applied in dependency order (create, update in
//! place, or replace beside the old copy), then the cleanup phase that deletes removed
//! resources and replaced copies; a failure reverts in-place changes and deletes what the
//! update created, as CloudFormation's update rollback does.

use super::{Run, no_echo};
use crate::local::cloudformation::CloudFormation;
use crate::local::cloudformation::changeset::{Deployment, forces_replacement};
use crate::local::cloudformation::error::CfnError;
use crate::local::cloudformation::providers::ProviderError;
use crate::local::cloudformation::stack::{
    ResourceChange, Stack, UpdateJournal, UpdateStep as Done,
};

impl CloudFormation {
    pub(super) async fn run_update(
        &self,
        run: &Run,
        deployment: &Deployment,
        changes: &[ResourceChange],
    ) -> Result<(), CfnError> {
        let before = self.stack(&run.stack_id)?;
        let mut done: Vec<Done> = Vec::new();
        let mut failure: Option<(String, String)> = None;
        for id in deployment.graph.creation_order() {
            let Some(change) = changes.iter().find(|c| c.logical_id == id) else {
                continue;
            };
            let result = match change.action.as_str() {
                "Add" => {
                    let resource = self.fresh_resource(deployment, &id);
                    self.resource_status(run, &resource, "CREATE_IN_PROGRESS", None)
                        .await?;
                    self.pause().await;
                    match self.create_one(run, deployment, resource, true).await? {
                        Some(resource) => {
                            done.push(Done::Added(resource));
                            Ok(())
                        }
                        None => Err("create"),
                    }
                }
                "Modify" => self.modify(run, deployment, &id, &mut done).await?,
                _ => Ok(()),
            };
            if let Err(verb) = result {
                failure = Some((id.clone(), verb.to_owned()));
                break;
            }
        }
        if let Some((failed, verb)) = failure {
            return self
                .roll_back_update(run, &before, done, &failed, &verb)
                .await;
        }
        let stack = self.stack(&run.stack_id)?;
        let outputs = match self.outputs(deployment, &stack) {
            Ok(outputs) => outputs,
            Err(err) => {
                self.set_status(run, "UPDATE_ROLLBACK_IN_PROGRESS", Some(err.to_string()))
                    .await?;
                return self.roll_back_update(run, &before, done, "", "").await;
            }
        };
        let order = deployment.graph.creation_order();
        self.change(&run.stack_id, |s| {
            // Past this point the update stands: only its cleanup is left.
            s.journal = None;
            s.outputs = outputs;
            s.parameters = deployment.parameters.clone();
            s.no_echo = no_echo(deployment);
            s.template_body = deployment.body.clone();
            s.description = deployment.template.description.clone();
            for resource in &mut s.resources {
                if let Some(decl) = deployment.template.resource(&resource.logical_id) {
                    resource.deletion_policy = decl.deletion_policy.clone();
                    resource.update_replace_policy = decl.update_replace_policy.clone();
                }
            }
            // Creation order of the new template, so a later delete walks it backwards.
            s.resources
                .sort_by_key(|r| order.iter().position(|id| *id == r.logical_id).unwrap_or(0));
        })
        .await?;
        self.set_status(run, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None)
            .await?;
        for change in changes.iter().filter(|c| c.action == "Remove") {
            if let Some(resource) = before.resource(&change.logical_id).filter(|r| r.is_live()) {
                let retain = matches!(
                    resource.deletion_policy.as_deref(),
                    Some("Retain" | "RetainExceptOnCreate")
                );
                self.delete_resource(run, &stack, resource, retain).await?;
                self.change(&run.stack_id, |s| {
                    s.resources.retain(|r| r.logical_id != change.logical_id)
                })
                .await?;
            }
        }
        for item in done.iter().rev() {
            if let Done::Replaced { before: old } = item {
                let retain = old.update_replace_policy.as_deref() == Some("Retain");
                let current = self
                    .stack(&run.stack_id)?
                    .resource(&old.logical_id)
                    .cloned();
                self.delete_resource(run, &stack, old, retain).await?;
                // The event named the old physical resource; the stack keeps the new one.
                if let Some(current) = current {
                    self.change(&run.stack_id, |s| {
                        if let Some(r) = s.resource_mut(&old.logical_id) {
                            *r = current;
                            r.status = "UPDATE_COMPLETE".into();
                        }
                    })
                    .await?;
                }
            }
        }
        self.set_status(run, "UPDATE_COMPLETE", None).await?;
        self.finish_change_set(run, true).await
    }

    /// Update one resource in place, or replace it when a replacement property changed.
    async fn modify(
        &self,
        run: &Run,
        deployment: &Deployment,
        id: &str,
        done: &mut Vec<Done>,
    ) -> Result<Result<(), &'static str>, CfnError> {
        let stack = self.stack(&run.stack_id)?;
        let Some(old) = stack.resource(id).cloned() else {
            return Ok(Ok(()));
        };
        let Some(provider) = self.inner.registry.get(&old.type_name).cloned() else {
            return Ok(Ok(()));
        };
        let new_properties = match self.properties(deployment, &stack, id) {
            Ok(p) => p,
            Err(err) => {
                self.resource_status(run, &old, "UPDATE_FAILED", Some(err.to_string()))
                    .await?;
                return Ok(Err("update"));
            }
        };
        let names: Vec<String> = old
            .properties
            .as_object()
            .into_iter()
            .flat_map(|m| m.keys().cloned())
            .chain(
                new_properties
                    .as_object()
                    .into_iter()
                    .flat_map(|m| m.keys().cloned()),
            )
            .collect();
        let replace = names.iter().any(|name| {
            let (before, after) = (old.properties.get(name), new_properties.get(name));
            before != after
                && forces_replacement(
                    provider.replacement_properties(),
                    name,
                    before,
                    after,
                    false,
                )
        });
        let context = self.context(&stack, id);
        self.resource_status(run, &old, "UPDATE_IN_PROGRESS", replace.then(|| "Requested update requires the creation of a new physical resource; hence creating one.".to_owned())).await?;
        self.pause().await;
        let result = if replace {
            if let Some(name) = provider.custom_name(&new_properties)
                && old.physical_id.as_deref() == Some(name)
            {
                Err(ProviderError::new(format!(
                    "CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename {name} and update the stack again."
                )))
            } else {
                provider.create(&context, &new_properties).await
            }
        } else {
            match old.provisioned() {
                Some(current) => {
                    provider
                        .update(&context, &current, &old.properties, &new_properties)
                        .await
                }
                None => Err(ProviderError::new(format!(
                    "{id} has no physical resource to update"
                ))),
            }
        };
        match result {
            Ok(provisioned) => {
                let mut resource = old.clone();
                resource.properties = new_properties;
                resource.physical_id = Some(provisioned.physical_id);
                resource.attributes = provisioned.attributes;
                let step = if replace {
                    Done::Replaced { before: old }
                } else {
                    Done::UpdatedInPlace { before: old }
                };
                self.record(run, &resource, "UPDATE_COMPLETE", None, Some(step.clone()))
                    .await?;
                done.push(step);
                Ok(Ok(()))
            }
            Err(err) => {
                self.resource_status(run, &old, "UPDATE_FAILED", Some(err.to_string()))
                    .await?;
                Ok(Err("update"))
            }
        }
    }

    /// After a restart: roll back the update the previous engine was running, from its
    /// journal.
    pub(super) async fn resume_update_rollback(
        &self,
        run: &Run,
        journal: UpdateJournal,
    ) -> Result<(), CfnError> {
        self.roll_back_update(run, &journal.before, journal.done, "", "")
            .await
    }

    /// Undo an update: in-place changes reverted, then what it created deleted.
    async fn roll_back_update(
        &self,
        run: &Run,
        before: &Stack,
        done: Vec<Done>,
        failed: &str,
        verb: &str,
    ) -> Result<(), CfnError> {
        if !failed.is_empty() {
            self.set_status(
                run,
                "UPDATE_ROLLBACK_IN_PROGRESS",
                Some(format!(
                    "The following resource(s) failed to {verb}: [{failed}]. "
                )),
            )
            .await?;
        }
        let stack = self.stack(&run.stack_id)?;
        let mut cleanup = Vec::new();
        for item in done.into_iter().rev() {
            match item {
                Done::UpdatedInPlace { before: old } => {
                    let Some(current) = stack.resource(&old.logical_id).cloned() else {
                        continue;
                    };
                    self.resource_status(run, &current, "UPDATE_IN_PROGRESS", None)
                        .await?;
                    self.pause().await;
                    if let (Some(provider), Some(provisioned)) = (
                        self.inner.registry.get(&old.type_name),
                        current.provisioned(),
                    ) {
                        let context = self.context(&stack, &old.logical_id);
                        if let Err(err) = provider
                            .update(&context, &provisioned, &current.properties, &old.properties)
                            .await
                        {
                            self.resource_status(
                                run,
                                &current,
                                "UPDATE_FAILED",
                                Some(err.to_string()),
                            )
                            .await?;
                            self.set_status(run, "UPDATE_ROLLBACK_FAILED", Some(err.to_string()))
                                .await?;
                            return self.finish_change_set(run, false).await;
                        }
                    }
                    self.resource_status(run, &old, "UPDATE_COMPLETE", None)
                        .await?;
                }
                Done::Replaced { before: old } => {
                    if let Some(current) = stack.resource(&old.logical_id).cloned() {
                        cleanup.push(current);
                    }
                    self.resource_status(run, &old, "UPDATE_COMPLETE", None)
                        .await?;
                }
                Done::Added(resource) => cleanup.push(resource),
            }
        }
        self.set_status(run, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", None)
            .await?;
        for resource in &cleanup {
            self.delete_resource(run, &stack, resource, false).await?;
        }
        let failed_resource = stack
            .resource(failed)
            .filter(|_| before.resource(failed).is_none())
            .cloned();
        if let Some(resource) = failed_resource {
            self.resource_status(run, &resource, "DELETE_COMPLETE", None)
                .await?;
        }
        let restored = before.resources.clone();
        self.change(&run.stack_id, |s| {
            let events = std::mem::take(&mut s.events);
            let status = s.status.clone();
            *s = Stack {
                events,
                status,
                change_sets: s.change_sets.clone(),
                journal: None,
                ..before.clone()
            };
            s.resources = restored;
        })
        .await?;
        self.set_status(run, "UPDATE_ROLLBACK_COMPLETE", None)
            .await?;
        self.finish_change_set(run, false).await
    }
}
