//! Stack updates: each change of the plan applied in dependency order (create, update in
//! place, or replace beside the old copy), then the cleanup phase that deletes removed
//! resources and replaced copies; a failure reverts in-place changes and deletes what the
//! update created, as CloudFormation's update rollback does.

use super::{Effect, Run, no_echo};
use crate::local::cloudformation::CloudFormation;
use crate::local::cloudformation::changeset::{Deployment, forces_replacement};
use crate::local::cloudformation::error::CfnError;
use crate::local::cloudformation::providers::ProviderError;
use crate::local::cloudformation::stack::{
    CleanupItem, ResourceChange, Stack, UpdateJournal, UpdateStep as Done,
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
        let cleanup = cleanup_after_update(&before, changes, &done);
        self.set_status_and(run, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None, |s| {
            // Past this point the update stands: only its cleanup is left.
            s.journal = None;
            s.cleanup = cleanup;
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
        self.finish_update(run).await
    }

    /// The cleanup of an update that stands: delete what it removed and the old copies of
    /// what it replaced, then declare it complete.
    pub(super) async fn finish_update(&self, run: &Run) -> Result<(), CfnError> {
        self.clean_up(run).await?;
        self.set_status(run, "UPDATE_COMPLETE", None).await?;
        self.finish_change_set(run, true).await
    }

    /// Delete each resource on the stack's cleanup list. Each leaves the list in the same
    /// write as its last event, so an engine restarted in the middle deletes the rest.
    async fn clean_up(&self, run: &Run) -> Result<(), CfnError> {
        let stack = self.stack(&run.stack_id)?;
        for item in &stack.cleanup {
            let effect = Effect::Cleanup {
                leaves_stack: item.leaves_stack,
            };
            self.delete_resource(run, &stack, &item.resource, item.retain, effect)
                .await?;
        }
        Ok(())
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
        // An in-place change is journaled before it is made, the stack's entry holding the
        // new properties. An engine stopped during the change then reverts it on restart
        // (reverting to the old properties is harmless if the change never happened);
        // journaled only once made, a change could survive with no record of it.
        let in_flight = (!replace).then(|| {
            let mut changing = old.clone();
            changing.properties = new_properties.clone();
            (
                changing,
                Done::UpdatedInPlace {
                    before: old.clone(),
                },
            )
        });
        match &in_flight {
            Some((changing, step)) => {
                let effect = Effect::Step(Box::new(step.clone()));
                self.record(run, changing, "UPDATE_IN_PROGRESS", None, effect)
                    .await?;
                done.push(step.clone());
            }
            None => {
                let reason = "Requested update requires the creation of a new physical resource; hence creating one.";
                self.resource_status(run, &old, "UPDATE_IN_PROGRESS", Some(reason.to_owned()))
                    .await?;
            }
        }
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
                if in_flight.is_some() {
                    // Journaled when it started.
                    self.resource_status(run, &resource, "UPDATE_COMPLETE", None)
                        .await?;
                } else {
                    let step = Done::Replaced { before: old };
                    let effect = Effect::Step(Box::new(step.clone()));
                    self.record(run, &resource, "UPDATE_COMPLETE", None, effect)
                        .await?;
                    done.push(step);
                }
                Ok(Ok(()))
            }
            Err(err) => {
                let reason = Some(err.to_string());
                if in_flight.is_some() {
                    // Refused: nothing to revert. The entry goes back to the old copy.
                    done.pop();
                    self.record(run, &old, "UPDATE_FAILED", reason, Effect::Refused)
                        .await?;
                } else {
                    self.resource_status(run, &old, "UPDATE_FAILED", reason)
                        .await?;
                }
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
                    let mut reverted = old.clone();
                    if let (Some(provider), Some(provisioned)) = (
                        self.inner.registry.get(&old.type_name),
                        current.provisioned(),
                    ) {
                        let context = self.context(&stack, &old.logical_id);
                        match provider
                            .update(&context, &provisioned, &current.properties, &old.properties)
                            .await
                        {
                            // Reverting can change attributes too: a table whose stream view
                            // goes back gets yet another stream.
                            Ok(refreshed) => {
                                reverted.physical_id = Some(refreshed.physical_id);
                                reverted.attributes = refreshed.attributes;
                            }
                            Err(err) => {
                                self.resource_status(
                                    run,
                                    &current,
                                    "UPDATE_FAILED",
                                    Some(err.to_string()),
                                )
                                .await?;
                                self.set_status(
                                    run,
                                    "UPDATE_ROLLBACK_FAILED",
                                    Some(err.to_string()),
                                )
                                .await?;
                                return self.finish_change_set(run, false).await;
                            }
                        }
                    }
                    self.record(run, &reverted, "UPDATE_COMPLETE", None, Effect::Reverted)
                        .await?;
                }
                Done::Replaced { before: old } => {
                    if let Some(current) = stack.resource(&old.logical_id).cloned() {
                        cleanup.push(CleanupItem {
                            resource: current,
                            retain: false,
                            leaves_stack: false,
                        });
                    }
                    self.resource_status(run, &old, "UPDATE_COMPLETE", None)
                        .await?;
                }
                Done::Added(resource) => cleanup.push(CleanupItem {
                    resource,
                    retain: false,
                    leaves_stack: true,
                }),
            }
        }
        self.set_status_and(
            run,
            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
            None,
            |s| s.cleanup = cleanup,
        )
        .await?;
        if let Some(resource) = stack
            .resource(failed)
            .filter(|_| before.resource(failed).is_none())
        {
            self.resource_status(run, resource, "DELETE_COMPLETE", None)
                .await?;
        }
        self.finish_rollback(run).await
    }

    /// The cleanup of a rolled-back update: delete what it created, then put the stack's
    /// record back as it was before the update.
    pub(super) async fn finish_rollback(&self, run: &Run) -> Result<(), CfnError> {
        self.clean_up(run).await?;
        // The journal's copy, with what reverting refreshed (see `Effect::Reverted`).
        let before = self
            .stack(&run.stack_id)?
            .journal
            .map(|journal| *journal.before)
            .ok_or_else(|| CfnError::Internal("a rollback's journal is missing".into()))?;
        // The record goes back in the same write as the final status, so that a stop
        // between the two cannot leave a stack without its journal half restored.
        self.set_status_and(run, "UPDATE_ROLLBACK_COMPLETE", None, |s| {
            *s = Stack {
                events: std::mem::take(&mut s.events),
                change_sets: std::mem::take(&mut s.change_sets),
                journal: None,
                cleanup: Vec::new(),
                ..before.clone()
            };
        })
        .await?;
        self.finish_change_set(run, false).await
    }
}

/// What the cleanup of a successful update deletes: the resources it removed (dependents
/// first), then the old copies of those it replaced.
fn cleanup_after_update(
    before: &Stack,
    changes: &[ResourceChange],
    done: &[Done],
) -> Vec<CleanupItem> {
    let removed = before.resources.iter().rev().filter(|r| {
        r.is_live()
            && changes
                .iter()
                .any(|c| c.action == "Remove" && c.logical_id == r.logical_id)
    });
    let removed = removed.map(|r| CleanupItem {
        resource: r.clone(),
        retain: matches!(
            r.deletion_policy.as_deref(),
            Some("Retain" | "RetainExceptOnCreate")
        ),
        leaves_stack: true,
    });
    let replaced = done.iter().rev().filter_map(|step| match step {
        Done::Replaced { before: old } => Some(CleanupItem {
            resource: old.clone(),
            retain: old.update_replace_policy.as_deref() == Some("Retain"),
            leaves_stack: false,
        }),
        _ => None,
    });
    removed.chain(replaced).collect()
}
