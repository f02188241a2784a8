//! Change sets: a new template and parameters checked against what CloudFormation would
//! refuse, then compared with the stack's resources, giving Add / Modify / Remove per
//! logical id with Replacement `True`, `False` or `Conditional` from the properties that
//! changed and whether they force a replacement for that resource type.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::error::CfnError;
use super::graph::Graph;
use super::intrinsics::{Evaluator, Pseudo, ResourceValues, evaluate_conditions};
use super::providers::Registry;
use super::stack::{ChangeDetail, ResourceChange, StackResource};
use super::template::Template;

/// The exact reason AWS gives for a change set without changes (clients match on it).
pub const NO_CHANGES: &str = "The submitted information didn't contain changes. Submit different information to create a change set.";

const IAM_TYPES: [(&str, Option<&str>); 8] = [
    ("AWS::IAM::Role", Some("RoleName")),
    ("AWS::IAM::ManagedPolicy", Some("ManagedPolicyName")),
    ("AWS::IAM::User", Some("UserName")),
    ("AWS::IAM::Group", Some("GroupName")),
    ("AWS::IAM::InstanceProfile", Some("InstanceProfileName")),
    ("AWS::IAM::Policy", None),
    ("AWS::IAM::AccessKey", None),
    ("AWS::IAM::UserToGroupAddition", None),
];

/// A template with its parameters, checked and ready to plan or deploy.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub body: String,
    pub template: Template,
    pub parameters: Map<String, Value>,
    pub conditions: HashMap<String, bool>,
    pub graph: Graph,
    pub pseudo: Pseudo,
}

impl Deployment {
    /// Parse and check what CloudFormation checks before it accepts a template:
    /// conditions, references, cycles, GetAtt attribute names and IAM capabilities.
    pub fn prepare(
        body: String,
        parameters: Map<String, Value>,
        pseudo: Pseudo,
        registry: &Registry,
        capabilities: &[String],
    ) -> Result<Deployment, CfnError> {
        let template = Template::parse(&body)?;
        let conditions = evaluate_conditions(&template, &pseudo, &parameters)?;
        let mut active = Vec::new();
        for resource in &template.resources {
            let included = match &resource.condition {
                None => true,
                Some(name) => *conditions.get(name).ok_or_else(|| {
                    CfnError::template(format!(
                        "Unresolved dependencies [{name}]. Cannot reference resources in the Conditions block of the template"
                    ))
                })?,
            };
            if included {
                active.push(resource.logical_id.clone());
            }
        }
        let graph = Graph::build(&template, &active)?;
        check_attributes(&template, registry)?;
        check_capabilities(&template, &active, capabilities)?;
        Ok(Deployment {
            body,
            template,
            parameters,
            conditions,
            graph,
            pseudo,
        })
    }

    /// The reason to fail a change set whose template uses types the engine cannot deploy.
    pub fn unsupported_types(&self, registry: &Registry) -> Option<String> {
        let mut unsupported: Vec<&str> = Vec::new();
        for id in self.graph.creation_order() {
            if let Some(resource) = self.template.resource(&id)
                && registry.get(&resource.type_name).is_none()
                && !unsupported.contains(&resource.type_name.as_str())
            {
                unsupported.push(&resource.type_name);
            }
        }
        (!unsupported.is_empty()).then(|| {
            format!(
                "Unsupported resource type(s) in the local engine: [{}]. It deploys: [{}]",
                unsupported.join(", "),
                registry.supported().join(", ")
            )
        })
    }

    pub fn evaluator<'a>(&'a self, resources: &'a dyn ResourceValues) -> Evaluator<'a> {
        Evaluator {
            template: &self.template,
            pseudo: &self.pseudo,
            parameters: &self.parameters,
            conditions: &self.conditions,
            resources,
        }
    }

    /// Compare with the stack's current resources, deployed from `previous`.
    pub fn plan(
        &self,
        current: &[StackResource],
        previous: Option<&Template>,
        registry: &Registry,
    ) -> Result<Vec<ResourceChange>, CfnError> {
        let live: Vec<&StackResource> = current.iter().filter(|r| r.is_live()).collect();
        let mut values = StackValues {
            resources: live.iter().map(|r| (*r).clone()).collect(),
            unknown: HashSet::new(),
            unknown_attributes: HashSet::new(),
        };
        let mut changes = Vec::new();
        let order = self.graph.creation_order();
        for id in &order {
            let Some(decl) = self.template.resource(id) else {
                continue;
            };
            let Some(old) = live.iter().find(|r| &r.logical_id == id) else {
                changes.push(ResourceChange {
                    action: "Add".into(),
                    logical_id: id.clone(),
                    physical_id: None,
                    type_name: decl.type_name.clone(),
                    replacement: None,
                    scope: Vec::new(),
                    details: Vec::new(),
                });
                values.unknown.insert(id.clone());
                continue;
            };
            if old.type_name != decl.type_name {
                return Err(CfnError::validation(format!(
                    "Update of resource type is not permitted. The new template modifies resource type of the following resources: [{id}]"
                )));
            }
            let new = self.evaluator(&values).resolve_partial(&decl.properties)?;
            let replacing = registry
                .get(&decl.type_name)
                .map(|p| p.replacement_properties())
                .unwrap_or_default();
            let declared_before = previous.and_then(|t| t.resource(id)).map(|d| &d.properties);
            let details = self.property_changes(
                replacing,
                (&decl.properties, declared_before),
                &old.properties,
                &new,
                &values,
            );
            if details.is_empty() {
                continue;
            }
            let replacement = if details.iter().any(|d| d.requires_recreation == "Always") {
                "True"
            } else if details
                .iter()
                .any(|d| d.requires_recreation == "Conditionally")
            {
                "Conditional"
            } else {
                "False"
            };
            if replacement == "False" {
                // An in-place update keeps the Ref and most attributes; only those the
                // type may change on update (a table's StreamArn) become unknown.
                let volatile = registry
                    .get(&decl.type_name)
                    .map(|p| p.volatile_attributes())
                    .unwrap_or_default();
                values
                    .unknown_attributes
                    .extend(volatile.iter().map(|a| format!("{id}.{a}")));
            } else {
                values.unknown.insert(id.clone());
            }
            changes.push(ResourceChange {
                action: "Modify".into(),
                logical_id: id.clone(),
                physical_id: old.physical_id.clone(),
                type_name: decl.type_name.clone(),
                replacement: Some(replacement.into()),
                scope: ["Properties", "Tags"]
                    .into_iter()
                    .filter(|a| details.iter().any(|d| d.attribute == *a))
                    .map(str::to_owned)
                    .collect(),
                details,
            });
        }
        for old in live.iter().rev() {
            if !order.contains(&old.logical_id) {
                changes.push(ResourceChange {
                    action: "Remove".into(),
                    logical_id: old.logical_id.clone(),
                    physical_id: old.physical_id.clone(),
                    type_name: old.type_name.clone(),
                    replacement: None,
                    scope: Vec::new(),
                    details: Vec::new(),
                });
            }
        }
        Ok(changes)
    }

    /// The properties that change: `raw` is the declaration now and as it was deployed.
    fn property_changes(
        &self,
        replacing: &[&str],
        (raw, raw_before): (&Value, Option<&Value>),
        old: &Value,
        new: &Value,
        values: &StackValues,
    ) -> Vec<ChangeDetail> {
        let empty = Map::new();
        let (old, new_map) = (
            old.as_object().unwrap_or(&empty),
            new.as_object().unwrap_or(&empty),
        );
        let mut names: Vec<&String> = old.keys().collect();
        names.extend(new_map.keys().filter(|k| !old.contains_key(*k)));
        let mut details = Vec::new();
        for name in names {
            let (before, after) = (old.get(name), new_map.get(name));
            let raw_value = raw.get(name).cloned().unwrap_or(Value::Null);
            let mut referenced = Vec::new();
            super::graph::references(&raw_value, &mut referenced);
            let dynamic_cause = referenced.iter().find(|r| {
                values.unknown.contains(*r)
                    || values.unknown_attributes.iter().any(|a| {
                        a.strip_prefix(r.as_str())
                            .is_some_and(|rest| rest.starts_with('.'))
                    })
            });
            let dynamic = after.is_some_and(has_intrinsic) && dynamic_cause.is_some();
            // CloudFormation follows a reference into a resource only when the template
            // changed the declaration or the referenced resource changes now: an attribute
            // that moved otherwise (a table's stream after a rollback, or changed outside
            // CloudFormation) leaves the declaring resource as it is.
            let declared_as_before = raw_before
                .is_some_and(|b| b.get(name).cloned().unwrap_or(Value::Null) == raw_value);
            let only_resources = !referenced.is_empty()
                && !raw_value.to_string().contains("\"Fn::If\"")
                && referenced
                    .iter()
                    .all(|r| self.template.resource(r).is_some());
            if (before == after || (declared_as_before && only_resources)) && !dynamic {
                continue;
            }
            let forces = forces_replacement(replacing, name, before, after, dynamic);
            let (evaluation, source, cause) = if dynamic {
                ("Dynamic", "ResourceReference", dynamic_cause.cloned())
            } else if let Some(parameter) =
                referenced.iter().find(|r| self.parameters.contains_key(*r))
            {
                ("Static", "ParameterReference", Some(parameter.clone()))
            } else {
                ("Static", "DirectModification", None)
            };
            details.push(ChangeDetail {
                attribute: if name == "Tags" { "Tags" } else { "Properties" }.into(),
                property: name.clone(),
                requires_recreation: match (forces, dynamic) {
                    (false, _) => "Never",
                    (true, true) => "Conditionally",
                    (true, false) => "Always",
                }
                .into(),
                evaluation: evaluation.into(),
                change_source: source.into(),
                causing_entity: cause,
            });
        }
        details
    }
}

/// Whether a change of top-level property `name` replaces the resource. Entries of
/// `replacing` may be dotted paths (`SourceParameters.DynamoDBStreamParameters.StartingPosition`):
/// then only a change at that path counts (or any change, while the value is not known).
pub(super) fn forces_replacement(
    replacing: &[&str],
    name: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    dynamic: bool,
) -> bool {
    replacing.iter().any(|entry| {
        if *entry == name {
            return true;
        }
        let Some(path) = entry
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('.'))
        else {
            return false;
        };
        let pointer = format!("/{}", path.replace('.', "/"));
        let at = |v: Option<&Value>| v.and_then(|v| v.pointer(&pointer)).cloned();
        dynamic || at(before) != at(after)
    })
}

/// Whether a value still holds an intrinsic function (it depends on a resource not known yet).
fn has_intrinsic(value: &Value) -> bool {
    match value {
        Value::Object(map) => {
            (map.len() == 1 && map.keys().any(|k| k == "Ref" || k.starts_with("Fn::")))
                || map.values().any(has_intrinsic)
        }
        Value::Array(items) => items.iter().any(has_intrinsic),
        _ => false,
    }
}

/// The values of a stack's resources; those being created or replaced are not known yet,
/// and those updated in place keep their Ref but may change their attributes.
pub struct StackValues {
    pub resources: Vec<StackResource>,
    pub unknown: HashSet<String>,
    /// `Logical.Attribute` entries whose value an in-place update may change.
    pub unknown_attributes: HashSet<String>,
}

impl StackValues {
    pub fn new(resources: Vec<StackResource>) -> StackValues {
        StackValues {
            resources,
            unknown: HashSet::new(),
            unknown_attributes: HashSet::new(),
        }
    }
}

impl ResourceValues for StackValues {
    fn reference(&self, logical_id: &str) -> Option<Value> {
        if self.unknown.contains(logical_id) {
            return None;
        }
        self.resources
            .iter()
            .find(|r| r.logical_id == logical_id && r.is_live())
            .and_then(|r| r.physical_id.clone())
            .map(Value::String)
    }

    fn attribute(&self, logical_id: &str, attribute: &str) -> Result<Option<Value>, CfnError> {
        if self.unknown.contains(logical_id)
            || self
                .unknown_attributes
                .contains(&format!("{logical_id}.{attribute}"))
        {
            return Ok(None);
        }
        let Some(resource) = self
            .resources
            .iter()
            .find(|r| r.logical_id == logical_id && r.is_live())
        else {
            return Ok(None);
        };
        resource
            .attributes
            .get(attribute)
            .cloned()
            .map(Some)
            .ok_or_else(|| {
                CfnError::validation(format!(
                    "Attribute '{attribute}' does not exist on resource {logical_id} ({})",
                    resource.type_name
                ))
            })
    }
}

fn check_attributes(template: &Template, registry: &Registry) -> Result<(), CfnError> {
    let mut pairs = Vec::new();
    for resource in &template.resources {
        get_atts(&resource.properties, &mut pairs);
    }
    for output in &template.outputs {
        get_atts(&output.value, &mut pairs);
    }
    for (resource, attribute) in pairs {
        let Some(decl) = template.resource(&resource) else {
            continue;
        };
        if let Some(provider) = registry.get(&decl.type_name)
            && !provider.attributes().contains(&attribute.as_str())
        {
            return Err(CfnError::template(format!(
                "Template error: resource {resource} does not support attribute type {attribute} in Fn::GetAtt"
            )));
        }
    }
    Ok(())
}

fn get_atts(value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            if let Some(args) = map.get("Fn::GetAtt").filter(|_| map.len() == 1) {
                let pair = match args {
                    Value::String(text) => text
                        .split_once('.')
                        .map(|(r, a)| (r.to_owned(), a.to_owned())),
                    Value::Array(items) => items
                        .first()
                        .and_then(Value::as_str)
                        .zip(items.get(1).and_then(Value::as_str))
                        .map(|(r, a)| (r.to_owned(), a.to_owned())),
                    _ => None,
                };
                out.extend(pair);
            }
            map.values().for_each(|v| get_atts(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| get_atts(v, out)),
        _ => {}
    }
}

fn check_capabilities(
    template: &Template,
    active: &[String],
    capabilities: &[String],
) -> Result<(), CfnError> {
    let mut needed: Option<&str> = None;
    for id in active {
        let Some(resource) = template.resource(id) else {
            continue;
        };
        if let Some((_, name_property)) = IAM_TYPES.iter().find(|(t, _)| *t == resource.type_name) {
            let named = name_property.is_some_and(|p| resource.properties.get(p).is_some());
            if named {
                needed = Some("CAPABILITY_NAMED_IAM");
            } else if needed.is_none() {
                needed = Some("CAPABILITY_IAM");
            }
        }
    }
    let granted = |c: &str| capabilities.iter().any(|g| g == c);
    match needed {
        Some("CAPABILITY_NAMED_IAM") if !granted("CAPABILITY_NAMED_IAM") => {
            Err(CfnError::InsufficientCapabilities(
                "Requires capabilities : [CAPABILITY_NAMED_IAM]".into(),
            ))
        }
        Some("CAPABILITY_IAM")
            if !granted("CAPABILITY_IAM") && !granted("CAPABILITY_NAMED_IAM") =>
        {
            Err(CfnError::InsufficientCapabilities(
                "Requires capabilities : [CAPABILITY_IAM]".into(),
            ))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resource(id: &str, type_name: &str, physical: &str, properties: Value) -> StackResource {
        StackResource {
            logical_id: id.into(),
            type_name: type_name.into(),
            physical_id: Some(physical.into()),
            attributes: [("Arn".to_owned(), json!(format!("arn:{physical}")))]
                .into_iter()
                .collect(),
            properties,
            status: "CREATE_COMPLETE".into(),
            status_reason: None,
            updated_ms: 0,
            deletion_policy: None,
            update_replace_policy: None,
        }
    }

    fn plan(
        template: Value,
        current: &[StackResource],
    ) -> Vec<(String, String, Option<String>, Vec<String>)> {
        plan_after(template, current, None)
    }

    /// Like [`plan`], for a stack deployed from `previous`.
    fn plan_after(
        template: Value,
        current: &[StackResource],
        previous: Option<&Value>,
    ) -> Vec<(String, String, Option<String>, Vec<String>)> {
        let registry = Registry::default();
        let pseudo = Pseudo {
            account: "000000000000".into(),
            region: "us-east-1".into(),
            stack_name: "s".into(),
            stack_id: "arn:s".into(),
        };
        let deployment = Deployment::prepare(
            template.to_string(),
            Map::new(),
            pseudo,
            &registry,
            &["CAPABILITY_NAMED_IAM".into()],
        )
        .unwrap();
        let previous = previous.map(|t| Template::parse(&t.to_string()).unwrap());
        deployment
            .plan(current, previous.as_ref(), &registry)
            .unwrap()
            .into_iter()
            .map(|c| (c.logical_id, c.action, c.replacement, c.scope))
            .collect()
    }

    #[test]
    fn verdicts_follow_replacement_properties_and_references() {
        let trust = json!({"Version": "2012-10-17", "Statement": []});
        let current = [
            resource(
                "Role",
                "AWS::IAM::Role",
                "r1",
                json!({"RoleName": "r1", "AssumeRolePolicyDocument": trust}),
            ),
            resource(
                "Logs",
                "AWS::Logs::LogGroup",
                "r1",
                json!({"LogGroupName": "r1", "Tags": [{"Key": "a", "Value": "1"}]}),
            ),
            resource(
                "Days",
                "AWS::Logs::LogGroup",
                "days",
                json!({"LogGroupName": "days", "RetentionInDays": 7}),
            ),
            resource("Gone", "AWS::Logs::LogGroup", "gone", json!({})),
        ];
        let template = json!({"Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "r2", "AssumeRolePolicyDocument": trust}},
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": {"Ref": "Role"}, "Tags": [{"Key": "a", "Value": "2"}]}},
            "Days": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "days", "RetentionInDays": 14}},
            "New": {"Type": "AWS::Logs::LogGroup"}
        }});
        let properties = || vec!["Properties".to_owned()];
        assert_eq!(
            plan(template, &current),
            vec![
                (
                    "Role".into(),
                    "Modify".into(),
                    Some("True".into()),
                    properties()
                ),
                (
                    "Days".into(),
                    "Modify".into(),
                    Some("False".into()),
                    properties()
                ),
                ("New".into(), "Add".into(), None, vec![]),
                (
                    "Logs".into(),
                    "Modify".into(),
                    Some("Conditional".into()),
                    vec!["Properties".into(), "Tags".into()]
                ),
                ("Gone".into(), "Remove".into(), None, vec![]),
            ]
        );
    }

    /// An attribute that moved outside the operation (a table's stream after a rollback)
    /// does not update the resources that reference it while their declaration stands, as
    /// on CloudFormation; a declaration that changed does.
    #[test]
    fn a_reference_is_followed_only_into_a_changed_declaration() {
        let mut days = resource(
            "Days",
            "AWS::Logs::LogGroup",
            "days",
            json!({"RetentionInDays": 7}),
        );
        days.attributes.insert("Arn".into(), json!("arn:moved"));
        let current = [
            days,
            resource(
                "Role",
                "AWS::IAM::Role",
                "r1",
                json!({"RoleName": "arn:days"}),
            ),
        ];
        let days_decl =
            json!({"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}});
        let deployed = json!({"Resources": {
            "Days": days_decl,
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": {"Fn::GetAtt": ["Days", "Arn"]}}}
        }});
        assert!(plan_after(deployed.clone(), &current, Some(&deployed)).is_empty());
        let renamed = json!({"Resources": {
            "Days": days_decl,
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": {"Fn::Join": ["", [{"Fn::GetAtt": ["Days", "Arn"]}]]}}}
        }});
        assert_eq!(
            plan_after(renamed, &current, Some(&deployed)),
            vec![(
                "Role".into(),
                "Modify".into(),
                Some("True".into()),
                vec!["Properties".to_owned()]
            )]
        );
    }

    #[test]
    fn the_same_template_has_no_changes() {
        let current = [resource(
            "Days",
            "AWS::Logs::LogGroup",
            "days",
            json!({"RetentionInDays": 7}),
        )];
        let template = json!({"Resources": {"Days": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}}}});
        assert!(plan(template, &current).is_empty());
    }
}
