//! What a stack is made of, as stored and as the API describes it: the stack with its
//! status, resources, events and change sets. Plain data; the operations that move a
//! stack between statuses live in `execute`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::providers::Provisioned;

/// Statuses from which a stack accepts an update (AWS's "stable" states).
pub const UPDATABLE: [&str; 4] = [
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputValue {
    pub key: String,
    pub value: String,
    pub description: Option<String>,
    pub export_name: Option<String>,
}

/// A resource of the stack as it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackResource {
    pub logical_id: String,
    pub type_name: String,
    pub physical_id: Option<String>,
    pub attributes: Map<String, Value>,
    /// The properties it was last created or updated with, fully resolved.
    pub properties: Value,
    pub status: String,
    pub status_reason: Option<String>,
    pub updated_ms: i64,
    pub deletion_policy: Option<String>,
    pub update_replace_policy: Option<String>,
}

impl StackResource {
    pub fn provisioned(&self) -> Option<Provisioned> {
        self.physical_id.as_ref().map(|id| Provisioned {
            physical_id: id.clone(),
            attributes: self.attributes.clone(),
        })
    }

    /// Whether the resource exists (it was created and not deleted since).
    pub fn is_live(&self) -> bool {
        self.physical_id.is_some()
            && !matches!(
                self.status.as_str(),
                "DELETE_COMPLETE" | "DELETE_SKIPPED" | "CREATE_FAILED"
            )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackEvent {
    pub event_id: String,
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub type_name: String,
    pub timestamp_ms: i64,
    pub status: String,
    pub reason: Option<String>,
    pub properties: Option<String>,
    pub client_request_token: Option<String>,
}

/// One property difference inside a Modify (DescribeChangeSet's `Details`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeDetail {
    /// `Properties`, or `Tags` for the `Tags` property (as DescribeChangeSet reports them).
    #[serde(default = "properties_attribute")]
    pub attribute: String,
    pub property: String,
    /// `Never`, `Conditionally` or `Always`.
    pub requires_recreation: String,
    /// `Static` or `Dynamic`.
    pub evaluation: String,
    /// `DirectModification`, `ParameterReference` or `ResourceReference`.
    pub change_source: String,
    pub causing_entity: Option<String>,
}

fn properties_attribute() -> String {
    "Properties".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceChange {
    /// `Add`, `Modify` or `Remove`.
    pub action: String,
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub type_name: String,
    /// `True`, `False` or `Conditional` for Modify; absent otherwise.
    pub replacement: Option<String>,
    pub scope: Vec<String>,
    pub details: Vec<ChangeDetail>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeSet {
    pub id: String,
    pub name: String,
    pub stack_id: String,
    pub stack_name: String,
    /// `CREATE` or `UPDATE`.
    pub kind: String,
    pub description: Option<String>,
    pub created_ms: i64,
    pub status: String,
    pub status_reason: Option<String>,
    pub execution_status: String,
    pub template_body: String,
    pub parameters: Map<String, Value>,
    pub capabilities: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub changes: Vec<ResourceChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stack {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub status: String,
    pub status_reason: Option<String>,
    pub created_ms: i64,
    pub updated_ms: Option<i64>,
    pub deleted_ms: Option<i64>,
    /// The template the stack's resources follow (the previous one during an update).
    pub template_body: String,
    pub parameters: Map<String, Value>,
    /// Parameter names declared NoEcho (their values are masked in DescribeStacks).
    pub no_echo: Vec<String>,
    pub capabilities: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub disable_rollback: bool,
    pub outputs: Vec<OutputValue>,
    /// In creation order, so deletion walks it backwards.
    pub resources: Vec<StackResource>,
    /// Oldest first; the API answers newest first.
    pub events: Vec<StackEvent>,
    pub change_sets: Vec<ChangeSet>,
    /// The change set that created or last updated the stack.
    pub change_set_id: Option<String>,
    /// While an update runs: what it has done, so that an engine stopped in the middle
    /// rolls it back when it starts again, as CloudFormation would have.
    #[serde(default)]
    pub journal: Option<UpdateJournal>,
    /// While an update's cleanup runs: the resources it has still to delete, so that an
    /// engine stopped in the middle deletes them when it starts again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cleanup: Vec<CleanupItem>,
}

/// The record an update keeps of itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateJournal {
    /// The stack before the update (without its events).
    pub before: Box<Stack>,
    /// Each resource the update has changed, in order.
    pub done: Vec<UpdateStep>,
}

/// One resource an update's cleanup deletes: a removed resource, the old copy of a replaced
/// one, or (after a rollback) a copy the update created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CleanupItem {
    pub resource: StackResource,
    /// Its DeletionPolicy or UpdateReplacePolicy keeps it: the cleanup only says so.
    pub retain: bool,
    /// It is gone from the template, so its entry leaves the stack once it is deleted;
    /// otherwise the entry is the resource's other copy and stays.
    pub leaves_stack: bool,
}

/// What an update did to one resource, to undo it on rollback or finish it on cleanup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum UpdateStep {
    Added(StackResource),
    UpdatedInPlace { before: StackResource },
    Replaced { before: StackResource },
}

impl Stack {
    pub fn resource(&self, logical_id: &str) -> Option<&StackResource> {
        self.resources.iter().find(|r| r.logical_id == logical_id)
    }

    pub fn resource_mut(&mut self, logical_id: &str) -> Option<&mut StackResource> {
        self.resources
            .iter_mut()
            .find(|r| r.logical_id == logical_id)
    }

    pub fn is_deleted(&self) -> bool {
        self.status == "DELETE_COMPLETE"
    }

    pub fn is_in_progress(&self) -> bool {
        self.status.ends_with("_IN_PROGRESS") && self.status != "REVIEW_IN_PROGRESS"
    }

    /// The status a stack is left in when the engine stopped during its operation.
    pub fn interrupted_status(&self) -> Option<&'static str> {
        if !self.is_in_progress() {
            return None;
        }
        Some(match self.status.as_str() {
            "CREATE_IN_PROGRESS" => "CREATE_FAILED",
            "ROLLBACK_IN_PROGRESS" => "ROLLBACK_FAILED",
            "DELETE_IN_PROGRESS" => "DELETE_FAILED",
            _ => "UPDATE_ROLLBACK_FAILED",
        })
    }
}
