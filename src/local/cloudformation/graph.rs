//! The dependency graph between a template's resources (from `Ref`, `Fn::GetAtt`,
//! `Fn::Sub` variables and `DependsOn`): creation proceeds in waves of resources whose
//! dependencies are all done, deletion in the reverse order, and a cycle is reported
//! the way CloudFormation reports it.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::error::CfnError;
use super::intrinsics::{PSEUDO_PARAMETERS, unresolved};
use super::template::Template;

/// Resources in creation order, grouped in waves (each wave depends only on earlier ones).
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    pub waves: Vec<Vec<String>>,
    /// Each resource's direct dependencies.
    pub dependencies: HashMap<String, BTreeSet<String>>,
}

impl Graph {
    /// Build the graph of the resources in `active` (those whose condition holds).
    pub fn build(template: &Template, active: &[String]) -> Result<Graph, CfnError> {
        let mut dependencies = HashMap::new();
        let mut missing = Vec::new();
        for id in active {
            let Some(resource) = template.resource(id) else {
                continue;
            };
            let mut found = BTreeSet::new();
            let mut names = Vec::new();
            references(&resource.properties, &mut names);
            names.extend(resource.depends_on.iter().cloned());
            for name in names {
                if template.resource(&name).is_some() {
                    found.insert(name);
                } else if template.parameter(&name).is_none()
                    && !PSEUDO_PARAMETERS.contains(&name.as_str())
                    && !missing.contains(&name)
                {
                    missing.push(name);
                }
            }
            dependencies.insert(id.clone(), found);
        }
        let mut output_refs = Vec::new();
        for output in &template.outputs {
            references(&output.value, &mut output_refs);
        }
        for name in output_refs {
            if template.resource(&name).is_none()
                && template.parameter(&name).is_none()
                && !PSEUDO_PARAMETERS.contains(&name.as_str())
                && !missing.contains(&name)
            {
                missing.push(name);
            }
        }
        if !missing.is_empty() {
            return Err(unresolved(missing.join(", ")));
        }
        let mut waves = Vec::new();
        let mut placed: BTreeSet<String> = BTreeSet::new();
        let mut remaining: Vec<String> = active.to_vec();
        while !remaining.is_empty() {
            let ready: Vec<String> = remaining
                .iter()
                .filter(|id| {
                    dependencies.get(*id).is_none_or(|deps| {
                        deps.iter()
                            .all(|d| placed.contains(d) || !active.contains(d))
                    })
                })
                .cloned()
                .collect();
            if ready.is_empty() {
                return Err(CfnError::validation(format!(
                    "Circular dependency between resources: [{}]",
                    remaining.join(", ")
                )));
            }
            remaining.retain(|id| !ready.contains(id));
            placed.extend(ready.iter().cloned());
            waves.push(ready);
        }
        Ok(Graph {
            waves,
            dependencies,
        })
    }

    /// Every resource, in creation order.
    pub fn creation_order(&self) -> Vec<String> {
        self.waves.iter().flatten().cloned().collect()
    }

    /// Whether `id` depends, directly or not, on `other`.
    pub fn depends_on(&self, id: &str, other: &str) -> bool {
        let mut stack = vec![id.to_owned()];
        let mut seen = BTreeSet::new();
        while let Some(current) = stack.pop() {
            for dep in self.dependencies.get(&current).into_iter().flatten() {
                if dep == other {
                    return true;
                }
                if seen.insert(dep.clone()) {
                    stack.push(dep.clone());
                }
            }
        }
        false
    }
}

/// Names a value refers to through `Ref`, `Fn::GetAtt` and `Fn::Sub` variables.
pub fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if map.len() == 1 {
                match map.iter().next() {
                    Some((key, Value::String(name))) if key == "Ref" => {
                        out.push(name.clone());
                        return;
                    }
                    Some((key, args)) if key == "Fn::GetAtt" => {
                        match args {
                            Value::String(text) => {
                                out.push(text.split('.').next().unwrap_or_default().to_owned())
                            }
                            Value::Array(items) => {
                                if let Some(Value::String(name)) = items.first() {
                                    out.push(name.clone());
                                }
                                items.iter().skip(1).for_each(|v| references(v, out));
                            }
                            _ => {}
                        }
                        return;
                    }
                    Some((key, args)) if key == "Fn::Sub" => {
                        let (text, vars) = match args {
                            Value::String(text) => (Some(text.as_str()), None),
                            Value::Array(items) => (
                                items.first().and_then(Value::as_str),
                                items.get(1).and_then(Value::as_object),
                            ),
                            _ => (None, None),
                        };
                        if let Some(vars) = vars {
                            vars.values().for_each(|v| references(v, out));
                        }
                        for name in text.map(sub_variables).unwrap_or_default() {
                            if vars.is_none_or(|vars| !vars.contains_key(&name)) {
                                out.push(name.split('.').next().unwrap_or_default().to_owned());
                            }
                        }
                        return;
                    }
                    _ => {}
                }
            }
            map.values().for_each(|v| references(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// The `${name}` variables of a Fn::Sub string (not `${!literal}`).
fn sub_variables(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.starts_with('!') {
            names.push(name.trim().to_owned());
        }
        rest = &after[end + 1..];
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(body: &str) -> Result<Graph, CfnError> {
        let template = Template::parse(body).unwrap();
        let active: Vec<String> = template
            .resources
            .iter()
            .map(|r| r.logical_id.clone())
            .collect();
        Graph::build(&template, &active)
    }

    #[test]
    fn waves_follow_ref_getatt_sub_and_depends_on() {
        let g = graph(
            r#"{"Resources": {
                "Rule": {"Type": "T", "Properties": {"Bus": {"Fn::Sub": "${Bus.Name}-${!Not}"}}},
                "Policy": {"Type": "T", "DependsOn": "Rule", "Properties": {"Q": {"Ref": "Queue"}}},
                "Bus": {"Type": "T"},
                "Queue": {"Type": "T", "Properties": {"X": {"Fn::GetAtt": "Bus.Arn"}}}}}"#,
        )
        .unwrap();
        assert_eq!(
            g.waves,
            vec![
                vec!["Bus".to_string()],
                vec!["Rule".into(), "Queue".into()],
                vec!["Policy".into()]
            ]
        );
        assert!(g.depends_on("Policy", "Bus"));
        assert!(!g.depends_on("Bus", "Policy"));
    }

    #[test]
    fn cycles_are_reported_like_aws() {
        let err = graph(
            r#"{"Resources": {"A": {"Type": "T", "Properties": {"X": {"Ref": "B"}}},
                              "B": {"Type": "T", "DependsOn": ["A"]}}}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Circular dependency between resources: [A, B]"
        );
    }

    #[test]
    fn unknown_names_are_unresolved_dependencies() {
        let err =
            graph(r#"{"Resources": {"A": {"Type": "T", "Properties": {"X": {"Ref": "Nope"}}}}}"#)
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template"
        );
    }
}
