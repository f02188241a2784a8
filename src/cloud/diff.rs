//! What a deploy would change, resource by resource and property by property: the
//! deployed template against the rendered one. Pure, so it is tested without AWS.

use serde_json::Value;

/// One difference in one resource.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PropertyChange {
    /// Dotted path under the resource, e.g. `Properties.BatchSize` or `Targets[1].Arn`.
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ResourceDiff {
    pub logical_id: String,
    pub resource_type: String,
    /// Add, Remove or Modify.
    pub action: &'static str,
    pub changes: Vec<PropertyChange>,
}

/// Differences between two templates' `Resources`, in the new template's order, then removals.
pub fn diff(deployed: &Value, rendered: &Value) -> Vec<ResourceDiff> {
    let empty = serde_json::Map::new();
    let old = deployed["Resources"].as_object().unwrap_or(&empty);
    let new = rendered["Resources"].as_object().unwrap_or(&empty);
    let kind = |r: &Value| r["Type"].as_str().unwrap_or_default().to_string();
    let mut out = Vec::new();
    for (id, resource) in new {
        match old.get(id) {
            None => out.push(ResourceDiff {
                logical_id: id.clone(),
                resource_type: kind(resource),
                action: "Add",
                changes: vec![],
            }),
            Some(before) if before != resource => {
                let mut changes = Vec::new();
                walk("", Some(before), Some(resource), &mut changes);
                out.push(ResourceDiff {
                    logical_id: id.clone(),
                    resource_type: kind(resource),
                    action: "Modify",
                    changes,
                });
            }
            Some(_) => {}
        }
    }
    for (id, resource) in old {
        if !new.contains_key(id) {
            out.push(ResourceDiff {
                logical_id: id.clone(),
                resource_type: kind(resource),
                action: "Remove",
                changes: vec![],
            });
        }
    }
    out
}

fn walk(path: &str, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<PropertyChange>) {
    match (before, after) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            for (key, value) in b {
                walk(&join(path, key), a.get(key), Some(value), out);
            }
            for (key, value) in a {
                if !b.contains_key(key) {
                    walk(&join(path, key), Some(value), None, out);
                }
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                walk(&format!("{path}[{i}]"), Some(x), Some(y), out);
            }
        }
        (a, b) if a != b => out.push(PropertyChange {
            path: path.to_string(),
            before: a.cloned(),
            after: b.cloned(),
        }),
        _ => {}
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_each_changed_property_with_both_values() {
        let before = json!({"Resources": {
            "Pipe": {"Type": "AWS::Pipes::Pipe", "Properties": {"BatchSize": 5, "Filters": [{"P": "a"}]}},
            "Old": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "Same": {"Type": "AWS::SQS::Queue", "Properties": {"X": 1}}
        }});
        let after = json!({"Resources": {
            "Pipe": {"Type": "AWS::Pipes::Pipe", "Properties": {"BatchSize": 10, "Filters": [{"P": "b"}], "Name": "n"}},
            "New": {"Type": "AWS::Events::Rule", "Properties": {}},
            "Same": {"Type": "AWS::SQS::Queue", "Properties": {"X": 1}}
        }});
        let diffs = diff(&before, &after);
        assert_eq!(
            diffs
                .iter()
                .map(|d| (d.logical_id.as_str(), d.action))
                .collect::<Vec<_>>(),
            vec![("Pipe", "Modify"), ("New", "Add"), ("Old", "Remove")]
        );
        assert_eq!(
            diffs[0].changes,
            vec![
                PropertyChange {
                    path: "Properties.BatchSize".into(),
                    before: Some(json!(5)),
                    after: Some(json!(10))
                },
                PropertyChange {
                    path: "Properties.Filters[0].P".into(),
                    before: Some(json!("a")),
                    after: Some(json!("b"))
                },
                PropertyChange {
                    path: "Properties.Name".into(),
                    before: None,
                    after: Some(json!("n"))
                },
            ]
        );
    }
}
