//! The CloudFormation service of the local engine: stacks deployed from templates onto the
//! engine's own services, through change sets or directly, with AWS's statuses and events,
//! so `outboxctl deploy`, the aws CLI and any SDK deploy locally exactly as on AWS.
//!
//! Split as moto splits a service: templates and intrinsic functions ([`template`],
//! [`intrinsics`]), the dependency graph ([`graph`]), change-set planning ([`changeset`]),
//! the background runner that moves stacks through their statuses ([`execute`]), resource
//! providers per type ([`providers`]) and storage ([`store`]). The query protocol lives in
//! `api::cloudformation`.

pub mod changeset;
pub mod error;
mod execute;
pub mod graph;
pub mod intrinsics;
pub mod parameters;
pub mod providers;
pub mod stack;
pub mod store;
pub mod template;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Map, Value};

use self::changeset::{Deployment, NO_CHANGES};
use self::error::CfnError;
use self::execute::Operation;
use self::intrinsics::Pseudo;
use self::parameters::ParameterInput;
use self::providers::{Registry, Services};
use self::stack::{ChangeSet, Stack, StackEvent, UPDATABLE};
use self::store::DocumentStore;
use self::template::Template;
use crate::local::clock::Clock;
use crate::local::storage::Storage;
use crate::local::streams::ACCOUNT_ID;

/// How long each resource step and change-set computation takes, so pollers observe the
/// intermediate statuses (CREATE_IN_PROGRESS, …) as they do on AWS.
pub const DEFAULT_STEP_DELAY: Duration = Duration::from_millis(100);

/// CreateChangeSet and CreateStack/UpdateStack input.
#[derive(Debug, Clone, Default)]
pub struct DeployRequest {
    pub stack_name: String,
    pub template_body: Option<String>,
    pub use_previous_template: bool,
    pub parameters: Vec<ParameterInput>,
    pub capabilities: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub description: Option<String>,
    pub client_request_token: Option<String>,
    /// `OnFailure: DO_NOTHING` or `DisableRollback: true`.
    pub disable_rollback: bool,
}

/// The CloudFormation state and behaviour, shared by all requests.
#[derive(Debug, Clone)]
pub struct CloudFormation {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    stacks: Mutex<Vec<Stack>>,
    store: DocumentStore,
    clock: Arc<dyn Clock>,
    region: String,
    registry: Registry,
    services: Services,
    step: Duration,
    /// Background work (operations, change-set computation), stopped with the engine.
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
}

fn check_name(kind: &str, field: &str, name: &str) -> Result<(), CfnError> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
        && name.len() <= 128;
    if valid {
        Ok(())
    } else {
        Err(CfnError::validation(format!(
            "1 validation error detected: Value '{name}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]* (a {kind} name starts with a letter and has at most 128 letters, digits and hyphens)"
        )))
    }
}

/// Change sets the previous engine left unfinished: one being computed failed (its
/// computation is gone), one whose execution never started is available again. Answers
/// whether any changed.
fn settle_change_sets(stack: &mut Stack) -> bool {
    let running = stack.is_in_progress();
    let mut changed = false;
    for change_set in &mut stack.change_sets {
        if matches!(
            change_set.status.as_str(),
            "CREATE_PENDING" | "CREATE_IN_PROGRESS"
        ) {
            change_set.status = "FAILED".into();
            change_set.status_reason = Some(
                "The local engine stopped while computing this change set; create it again".into(),
            );
            changed = true;
        } else if change_set.execution_status == "EXECUTE_IN_PROGRESS" && !running {
            change_set.execution_status = "AVAILABLE".into();
            changed = true;
        }
    }
    changed
}

impl CloudFormation {
    /// Load the stored stacks. An operation the previous engine did not finish is
    /// resumed as CloudFormation would finish it (see `resume`); one it cannot resume is
    /// marked failed, as its resources may be half-done.
    pub async fn open(
        storage: Arc<Storage>,
        clock: Arc<dyn Clock>,
        region: String,
        services: Services,
        step: Duration,
    ) -> Result<CloudFormation, CfnError> {
        let (store, mut stacks) = DocumentStore::open::<Stack>(storage, "cfn_stacks").await?;
        for stack in &mut stacks {
            if settle_change_sets(stack) {
                store.save(&stack.id, stack).await?;
            }
        }
        let interrupted: Vec<Stack> = stacks
            .iter()
            .filter(|s| s.interrupted_status().is_some())
            .cloned()
            .collect();
        let cloudformation = CloudFormation {
            inner: Arc::new(Inner {
                stacks: Mutex::new(stacks),
                store,
                clock,
                region,
                registry: Registry::default(),
                services,
                step,
                tasks: Mutex::new(Vec::new()),
            }),
        };
        for stack in &interrupted {
            if !cloudformation.resume(stack).await? {
                let status = stack
                    .interrupted_status()
                    .unwrap_or("UPDATE_ROLLBACK_FAILED");
                cloudformation
                    .change(&stack.id, |s| {
                        s.status = status.to_owned();
                        s.status_reason = Some(
                            "The local engine stopped while this operation was running".into(),
                        );
                    })
                    .await?;
            }
        }
        Ok(cloudformation)
    }

    /// Run background work that stops with the engine.
    fn spawn(&self, work: impl std::future::Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(work).abort_handle();
        let mut tasks = self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }

    /// Stop every operation in flight (the engine is stopping); a restarted engine marks
    /// their stacks failed.
    pub fn stop(&self) {
        let tasks = self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for task in tasks.iter() {
            task.abort();
        }
    }

    pub fn region(&self) -> &str {
        &self.inner.region
    }

    fn now(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    fn stacks(&self) -> MutexGuard<'_, Vec<Stack>> {
        self.inner
            .stacks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A stack by name (the live one) or by id (any, deleted ones too).
    pub fn stack(&self, name_or_id: &str) -> Result<Stack, CfnError> {
        let stacks = self.stacks();
        find(&stacks, name_or_id)
            .map(|i| stacks[i].clone())
            .ok_or_else(|| CfnError::stack_not_found(name_or_id))
    }

    /// Every stack, newest first; deleted ones only when asked by id.
    pub fn all_stacks(&self) -> Vec<Stack> {
        self.stacks()
            .iter()
            .rev()
            .filter(|s| !s.is_deleted())
            .cloned()
            .collect()
    }

    /// Every stack including deleted ones, newest first (ListStacks).
    pub fn stack_history(&self) -> Vec<Stack> {
        self.stacks().iter().rev().cloned().collect()
    }

    /// Change one stack and store it.
    async fn change<R>(
        &self,
        stack_id: &str,
        f: impl FnOnce(&mut Stack) -> R,
    ) -> Result<R, CfnError> {
        let (result, snapshot) = {
            let mut stacks = self.stacks();
            let stack = stacks
                .iter_mut()
                .find(|s| s.id == stack_id)
                .ok_or_else(|| CfnError::stack_not_found(stack_id))?;
            let result = f(stack);
            (result, stack.clone())
        };
        self.inner.store.save(&snapshot.id, &snapshot).await?;
        Ok(result)
    }

    fn pseudo(&self, stack_name: &str, stack_id: &str) -> Pseudo {
        Pseudo {
            account: ACCOUNT_ID.to_owned(),
            region: self.inner.region.clone(),
            stack_name: stack_name.to_owned(),
            stack_id: stack_id.to_owned(),
        }
    }

    fn new_stack_id(&self, name: &str) -> String {
        format!(
            "arn:aws:cloudformation:{}:{ACCOUNT_ID}:stack/{name}/{}",
            self.inner.region,
            uuid::Uuid::new_v4()
        )
    }

    fn stack_event(
        &self,
        stack: &Stack,
        status: &str,
        reason: Option<String>,
        token: Option<String>,
    ) -> StackEvent {
        StackEvent {
            event_id: uuid::Uuid::new_v4().to_string(),
            logical_id: stack.name.clone(),
            physical_id: Some(stack.id.clone()),
            type_name: "AWS::CloudFormation::Stack".into(),
            timestamp_ms: self.now(),
            status: status.to_owned(),
            reason,
            properties: None,
            client_request_token: token,
        }
    }

    /// The template body and parameter values of a request, with UsePreviousTemplate and
    /// UsePreviousValue taken from `previous`.
    fn deployment(
        &self,
        request: &DeployRequest,
        previous: Option<&Stack>,
        stack_name: &str,
        stack_id: &str,
    ) -> Result<Deployment, CfnError> {
        let body = match (
            &request.template_body,
            request.use_previous_template,
            previous,
        ) {
            (Some(body), false, _) => body.clone(),
            (None, true, Some(stack)) => stack.template_body.clone(),
            (Some(_), true, _) => {
                return Err(CfnError::validation(
                    "Specify exactly one of TemplateBody, TemplateURL or UsePreviousTemplate",
                ));
            }
            (None, true, None) => {
                return Err(CfnError::validation(
                    "UsePreviousTemplate can only be used on an existing stack",
                ));
            }
            (None, false, _) => {
                return Err(CfnError::validation(
                    "Either Template URL or Template Body must be specified.",
                ));
            }
        };
        let template = Template::parse(&body)?;
        let values = parameters::resolve(
            &template,
            &request.parameters,
            previous.map(|s| &s.parameters),
        )?;
        Deployment::prepare(
            body,
            values,
            self.pseudo(stack_name, stack_id),
            &self.inner.registry,
            &request.capabilities,
        )
    }

    /// CreateChangeSet: answers (change set id, stack id); the change set then moves from
    /// CREATE_PENDING to CREATE_COMPLETE (or FAILED with the reason) in the background.
    pub async fn create_change_set(
        &self,
        request: DeployRequest,
        change_set_name: String,
        kind: Option<String>,
    ) -> Result<(String, String), CfnError> {
        check_name("stack", "stackName", &request.stack_name)?;
        check_name("change set", "changeSetName", &change_set_name)?;
        let kind = kind.unwrap_or_else(|| "UPDATE".into());
        let existing = self.stack(&request.stack_name).ok();
        let (stack_id, stack_name, previous) = match (kind.as_str(), &existing) {
            ("CREATE", Some(stack)) if stack.status != "REVIEW_IN_PROGRESS" => {
                return Err(CfnError::AlreadyExists(format!(
                    "Stack [{}] already exists and cannot be created again with the changeSet [{change_set_name}].",
                    request.stack_name
                )));
            }
            ("CREATE", Some(stack)) => (stack.id.clone(), stack.name.clone(), None),
            ("CREATE", None) => (
                self.new_stack_id(&request.stack_name),
                request.stack_name.clone(),
                None,
            ),
            ("UPDATE", None) => {
                return Err(CfnError::validation(format!(
                    "Stack [{}] does not exist",
                    request.stack_name
                )));
            }
            ("UPDATE", Some(stack)) => {
                if !UPDATABLE.contains(&stack.status.as_str()) {
                    return Err(not_updatable(stack));
                }
                (stack.id.clone(), stack.name.clone(), Some(stack))
            }
            (other, _) => {
                return Err(CfnError::validation(format!(
                    "1 validation error detected: Value '{other}' at 'changeSetType' failed to satisfy constraint: Member must satisfy enum value set: [UPDATE, IMPORT, CREATE]"
                )));
            }
        };
        if existing
            .as_ref()
            .is_some_and(|s| s.change_sets.iter().any(|c| c.name == change_set_name))
        {
            return Err(CfnError::AlreadyExists(format!(
                "ChangeSet {change_set_name} already exists"
            )));
        }
        let deployment = self.deployment(&request, previous, &stack_name, &stack_id)?;
        let (status_reason, changes) = match deployment.unsupported_types(&self.inner.registry) {
            Some(reason) => (Some(reason), Vec::new()),
            None => {
                let current = previous.map(|s| s.resources.as_slice()).unwrap_or_default();
                let deployed = previous.and_then(|s| Template::parse(&s.template_body).ok());
                let changes = deployment.plan(current, deployed.as_ref(), &self.inner.registry)?;
                let reason = changes.is_empty().then(|| NO_CHANGES.to_owned());
                (reason, changes)
            }
        };
        let now = self.now();
        let change_set = ChangeSet {
            id: format!(
                "arn:aws:cloudformation:{}:{ACCOUNT_ID}:changeSet/{change_set_name}/{}",
                self.inner.region,
                uuid::Uuid::new_v4()
            ),
            name: change_set_name,
            stack_id: stack_id.clone(),
            stack_name: stack_name.clone(),
            kind: kind.clone(),
            description: request.description.clone(),
            created_ms: now,
            status: "CREATE_PENDING".into(),
            status_reason: None,
            execution_status: "UNAVAILABLE".into(),
            template_body: deployment.body.clone(),
            parameters: deployment.parameters.clone(),
            capabilities: request.capabilities.clone(),
            tags: request.tags.clone(),
            changes,
        };
        let change_set_id = change_set.id.clone();
        if existing.is_none() {
            let mut stack = Stack {
                id: stack_id.clone(),
                name: stack_name.clone(),
                description: deployment.template.description.clone(),
                status: "REVIEW_IN_PROGRESS".into(),
                status_reason: Some("User Initiated".into()),
                created_ms: now,
                updated_ms: None,
                deleted_ms: None,
                template_body: deployment.body.clone(),
                parameters: Map::new(),
                no_echo: Vec::new(),
                capabilities: Vec::new(),
                tags: request.tags.clone(),
                disable_rollback: false,
                outputs: Vec::new(),
                resources: Vec::new(),
                events: Vec::new(),
                change_sets: Vec::new(),
                change_set_id: None,
                journal: None,
                cleanup: Vec::new(),
            };
            let event = self.stack_event(
                &stack,
                "REVIEW_IN_PROGRESS",
                Some("User Initiated".into()),
                None,
            );
            stack.events.push(event);
            self.stacks().push(stack);
        }
        self.change(&stack_id, |stack| stack.change_sets.push(change_set))
            .await?;
        let this = self.clone();
        let id = change_set_id.clone();
        let sid = stack_id.clone();
        self.spawn(async move {
            tokio::time::sleep(this.inner.step).await;
            let _ = this
                .change_change_set(&sid, &id, |c| c.status = "CREATE_IN_PROGRESS".into())
                .await;
            tokio::time::sleep(this.inner.step).await;
            let _ = this
                .change_change_set(&sid, &id, move |c| match status_reason {
                    Some(reason) => {
                        c.status = "FAILED".into();
                        c.status_reason = Some(reason);
                    }
                    None => {
                        c.status = "CREATE_COMPLETE".into();
                        c.execution_status = "AVAILABLE".into();
                    }
                })
                .await;
        });
        Ok((change_set_id, stack_id))
    }

    async fn change_change_set(
        &self,
        stack_id: &str,
        change_set_id: &str,
        f: impl FnOnce(&mut ChangeSet),
    ) -> Result<(), CfnError> {
        self.change(stack_id, |stack| {
            if let Some(change_set) = stack.change_sets.iter_mut().find(|c| c.id == change_set_id) {
                f(change_set);
            }
        })
        .await
    }

    /// A change set by ARN, or by name within the given stack.
    pub fn change_set(
        &self,
        name_or_id: &str,
        stack_name: Option<&str>,
    ) -> Result<(Stack, ChangeSet), CfnError> {
        let stacks = self.stacks();
        let not_found =
            || CfnError::ChangeSetNotFound(format!("ChangeSet [{name_or_id}] does not exist"));
        let candidates: Vec<&Stack> = if name_or_id.starts_with("arn:") {
            stacks.iter().collect()
        } else {
            let stack_name = stack_name.ok_or_else(|| {
                CfnError::validation(
                    "StackName must be specified if ChangeSetName is not specified as an ARN.",
                )
            })?;
            let index = find(&stacks, stack_name).ok_or_else(not_found)?;
            vec![&stacks[index]]
        };
        candidates
            .into_iter()
            .find_map(|stack| {
                stack
                    .change_sets
                    .iter()
                    .find(|c| c.id == name_or_id || c.name == name_or_id)
                    .map(|c| (stack.clone(), c.clone()))
            })
            .ok_or_else(not_found)
    }

    pub async fn delete_change_set(
        &self,
        name_or_id: &str,
        stack_name: Option<&str>,
    ) -> Result<(), CfnError> {
        let (stack, change_set) = self.change_set(name_or_id, stack_name)?;
        if change_set.execution_status == "EXECUTE_IN_PROGRESS" {
            return Err(CfnError::InvalidChangeSetStatus(format!(
                "Cannot delete ChangeSet in status {}",
                change_set.execution_status
            )));
        }
        self.change(&stack.id, |s| {
            s.change_sets.retain(|c| c.id != change_set.id)
        })
        .await
    }

    /// ExecuteChangeSet: starts the operation; follow it with DescribeStackEvents.
    pub async fn execute_change_set(
        &self,
        name_or_id: &str,
        stack_name: Option<&str>,
        token: Option<String>,
        disable_rollback: bool,
    ) -> Result<(), CfnError> {
        let (stack, change_set) = self.change_set(name_or_id, stack_name)?;
        if change_set.status != "CREATE_COMPLETE" || change_set.execution_status != "AVAILABLE" {
            return Err(CfnError::InvalidChangeSetStatus(format!(
                "ChangeSet [{}] cannot be executed in its current status of [{}]",
                change_set.id,
                if change_set.status == "CREATE_COMPLETE" {
                    &change_set.execution_status
                } else {
                    &change_set.status
                }
            )));
        }
        let creating = change_set.kind == "CREATE";
        if creating && stack.status != "REVIEW_IN_PROGRESS"
            || !creating && !UPDATABLE.contains(&stack.status.as_str())
        {
            return Err(not_updatable(&stack));
        }
        let request = DeployRequest {
            stack_name: stack.name.clone(),
            template_body: Some(change_set.template_body.clone()),
            capabilities: change_set.capabilities.clone(),
            parameters: change_set
                .parameters
                .iter()
                .map(|(k, v)| ParameterInput {
                    key: k.clone(),
                    value: Some(parameters::display(v)),
                    use_previous: false,
                })
                .collect(),
            tags: change_set.tags.clone(),
            disable_rollback,
            ..DeployRequest::default()
        };
        let deployment = self.deployment(&request, Some(&stack), &stack.name, &stack.id)?;
        let operation = if creating {
            Operation::Create(deployment)
        } else {
            Operation::Update(deployment, change_set.changes.clone())
        };
        let id = change_set.id.clone();
        self.change(&stack.id, |s| {
            for other in &mut s.change_sets {
                other.execution_status = if other.id == id {
                    "EXECUTE_IN_PROGRESS".into()
                } else {
                    "OBSOLETE".into()
                };
            }
            s.change_set_id = Some(id.clone());
            if !request.tags.is_empty() {
                s.tags = request.tags.clone();
            }
            s.capabilities = request.capabilities.clone();
        })
        .await?;
        self.start(
            stack.id,
            operation,
            token,
            disable_rollback,
            Some(change_set.id),
        )
        .await
    }

    /// CreateStack: answers the stack id; creation runs in the background.
    pub async fn create_stack(&self, request: DeployRequest) -> Result<String, CfnError> {
        check_name("stack", "stackName", &request.stack_name)?;
        if let Ok(existing) = self.stack(&request.stack_name) {
            return Err(CfnError::AlreadyExists(format!(
                "Stack [{}] already exists",
                existing.name
            )));
        }
        let stack_id = self.new_stack_id(&request.stack_name);
        let deployment = self.deployment(&request, None, &request.stack_name, &stack_id)?;
        if let Some(reason) = deployment.unsupported_types(&self.inner.registry) {
            return Err(CfnError::validation(reason));
        }
        let stack = Stack {
            id: stack_id.clone(),
            name: request.stack_name.clone(),
            description: deployment.template.description.clone(),
            status: "CREATE_IN_PROGRESS".into(),
            status_reason: Some("User Initiated".into()),
            created_ms: self.now(),
            updated_ms: None,
            deleted_ms: None,
            template_body: deployment.body.clone(),
            parameters: Map::new(),
            no_echo: Vec::new(),
            capabilities: request.capabilities.clone(),
            tags: request.tags.clone(),
            disable_rollback: request.disable_rollback,
            outputs: Vec::new(),
            resources: Vec::new(),
            events: Vec::new(),
            change_sets: Vec::new(),
            change_set_id: None,
            journal: None,
            cleanup: Vec::new(),
        };
        self.stacks().push(stack);
        self.start(
            stack_id.clone(),
            Operation::Create(deployment),
            request.client_request_token,
            request.disable_rollback,
            None,
        )
        .await?;
        Ok(stack_id)
    }

    /// UpdateStack: answers the stack id; the update runs in the background.
    pub async fn update_stack(&self, request: DeployRequest) -> Result<String, CfnError> {
        let stack = self.stack(&request.stack_name)?;
        if !UPDATABLE.contains(&stack.status.as_str()) {
            return Err(not_updatable(&stack));
        }
        let deployment = self.deployment(&request, Some(&stack), &stack.name, &stack.id)?;
        if let Some(reason) = deployment.unsupported_types(&self.inner.registry) {
            return Err(CfnError::validation(reason));
        }
        let deployed = Template::parse(&stack.template_body).ok();
        let changes = deployment.plan(&stack.resources, deployed.as_ref(), &self.inner.registry)?;
        if changes.is_empty() {
            return Err(CfnError::validation("No updates are to be performed."));
        }
        let (capabilities, tags) = (request.capabilities.clone(), request.tags.clone());
        self.change(&stack.id, move |s| {
            s.capabilities = capabilities;
            // Without Tags, UpdateStack leaves the stack's tags as they are.
            if !tags.is_empty() {
                s.tags = tags;
            }
        })
        .await?;
        self.start(
            stack.id.clone(),
            Operation::Update(deployment, changes),
            request.client_request_token,
            request.disable_rollback,
            None,
        )
        .await?;
        Ok(stack.id)
    }

    /// DeleteStack: deleting a stack that does not exist succeeds, as on AWS.
    pub async fn delete_stack(
        &self,
        name_or_id: &str,
        token: Option<String>,
    ) -> Result<(), CfnError> {
        let Ok(stack) = self.stack(name_or_id) else {
            return Ok(());
        };
        if stack.is_deleted() || stack.status == "DELETE_IN_PROGRESS" {
            return Ok(());
        }
        if stack.is_in_progress() {
            return Err(CfnError::validation(format!(
                "Stack [{}] cannot be deleted while in status {}",
                stack.id, stack.status
            )));
        }
        self.start(stack.id, Operation::Delete, token, false, None)
            .await
    }

    /// ValidateTemplate: the declared parameters, description and capabilities needed.
    pub fn validate_template(&self, body: &str) -> Result<(Template, Option<String>), CfnError> {
        let template = Template::parse(body)?;
        let mut parameters = Map::new();
        for decl in &template.parameters {
            if let Some(default) = &decl.default {
                parameters.insert(decl.name.clone(), Value::String(default.clone()));
            }
        }
        let capability = match Deployment::prepare(
            body.to_owned(),
            parameters,
            self.pseudo("validate", "validate"),
            &self.inner.registry,
            &[],
        ) {
            Err(CfnError::InsufficientCapabilities(message)) => Some(
                message
                    .trim_start_matches("Requires capabilities : [")
                    .trim_end_matches(']')
                    .to_owned(),
            ),
            _ => None,
        };
        Ok((template, capability))
    }
}

fn not_updatable(stack: &Stack) -> CfnError {
    CfnError::validation(format!(
        "Stack:{} is in {} state and can not be updated.",
        stack.id, stack.status
    ))
}

/// The index of a stack by id (any), or by name (the one not deleted).
fn find(stacks: &[Stack], name_or_id: &str) -> Option<usize> {
    if name_or_id.starts_with("arn:") {
        stacks.iter().position(|s| s.id == name_or_id)
    } else {
        stacks
            .iter()
            .position(|s| s.name == name_or_id && !s.is_deleted())
    }
}
