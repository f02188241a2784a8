//! Changes CloudFormation cannot make, found before any change set. A resource whose name
//! the template fixes cannot be replaced ("CloudFormation cannot update a stack when a
//! custom-named resource requires replacing"), and every resource outboxctl renders has a
//! fixed name. Such a deploy fails halfway and rolls back, and not always cleanly: a
//! rollback that gives the table its old stream view re-creates the stream, and the pipe
//! is left reading the closed one. So `deploy` refuses it and `diff` warns, naming the
//! edit that makes it possible.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::blueprint::logical;

/// A resource this deploy would have to replace under the same name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Blocked {
    pub logical_id: String,
    pub resource_type: String,
    /// The physical name both templates give it.
    pub name: String,
    /// The property whose change needs a new resource.
    pub property: String,
    /// The blueprint edit that lets the deploy through.
    pub advice: String,
}

/// One line saying why the deploy cannot go through.
pub fn describe(blocked: &Blocked) -> String {
    format!(
        "{} `{}` ({}) would have to be replaced, as its {} changes, and CloudFormation cannot replace a resource that keeps its name",
        blocked.logical_id, blocked.name, blocked.resource_type, blocked.property
    )
}

/// Per resource type: the property that names it, and the properties whose change
/// replaces it (from the CloudFormation resource reference: "Update requires:
/// Replacement").
fn replaced_by(resource_type: &str) -> Option<(&'static str, &'static [&'static str])> {
    Some(match resource_type {
        "AWS::DynamoDB::Table" => ("TableName", &["KeySchema"]),
        "AWS::Pipes::Pipe" => (
            "Name",
            &[
                "Source",
                "SourceParameters.DynamoDBStreamParameters.StartingPosition",
            ],
        ),
        "AWS::Events::Archive" => ("ArchiveName", &["SourceArn"]),
        "AWS::Events::Rule" => ("Name", &["EventBusName"]),
        "AWS::SQS::Queue" => ("QueueName", &["FifoQueue"]),
        "AWS::Events::EventBus" => ("Name", &[]),
        _ => return None,
    })
}

fn advice(resource_type: &str, property: &str) -> &'static str {
    match (resource_type, property) {
        ("AWS::DynamoDB::Table", _) => {
            "a table's keys cannot change in place: give the table a new `table.name` (and the pipe a new `pipe.name`, as the new table has a new stream) in the same deploy; the new table starts empty and the old one is kept with its items. Or keep the keys"
        }
        ("AWS::Pipes::Pipe", "Source") => {
            "the table gets a new stream (a new `table.stream_view`, or a new table), and the pipe reading it must be replaced: give the pipe a new `pipe.name` in the same deploy (the new pipe reads the new stream from its start)"
        }
        ("AWS::Pipes::Pipe", _) => {
            "a pipe's starting position cannot change in place: give the pipe a new `pipe.name` in the same deploy, or keep `pipe.starting_position`"
        }
        ("AWS::Events::Archive" | "AWS::Events::Rule", _) => {
            "a deployed stack keeps its bus: its rules and archive cannot move to a renamed bus under their own names, so keep `bus.name`"
        }
        _ => "give the resource a new name in the same deploy",
    }
}

/// Every resource of `deployed` that `new` would replace while keeping its name.
pub fn blocked_replacements(deployed: &Value, new: &Value) -> Vec<Blocked> {
    let (Some(old), Some(now)) = (
        deployed["Resources"].as_object(),
        new["Resources"].as_object(),
    ) else {
        return Vec::new();
    };
    // Resources whose identity (and so every Ref and attribute) changes: renamed ones,
    // and, to a fixed point, those replaced because something they refer to changed.
    let mut moved: BTreeSet<String> = BTreeSet::new();
    let mut blocked = Vec::new();
    loop {
        let before = moved.len();
        blocked.clear();
        for (id, was) in old {
            let Some(is) = now.get(id).filter(|is| is["Type"] == was["Type"]) else {
                continue;
            };
            let resource_type = was["Type"].as_str().unwrap_or_default();
            let Some((name_property, replacing)) = replaced_by(resource_type) else {
                continue;
            };
            let (old_name, new_name) = (
                &was["Properties"][name_property],
                &is["Properties"][name_property],
            );
            if old_name != new_name {
                moved.insert(id.clone());
                continue;
            }
            let changed = replacing.iter().find(|property| {
                let (a, b) = (at(was, property), at(is, property));
                a != b || refers_to_moved(b, &moved, old, now)
            });
            if let Some(property) = changed {
                blocked.push(Blocked {
                    logical_id: id.clone(),
                    resource_type: resource_type.to_string(),
                    name: display(new_name),
                    property: property.to_string(),
                    advice: advice(resource_type, property).to_string(),
                });
                moved.insert(id.clone());
            }
        }
        if moved.len() == before {
            return blocked;
        }
    }
}

/// The warning for a deploy that gives the pipe a new name over the same stream: the new
/// pipe starts at TRIM_HORIZON and re-delivers what the stream holds (up to 24 hours).
pub fn replayed_stream(deployed: &Value, new: &Value) -> Option<String> {
    let (old, now) = (&deployed["Resources"], &new["Resources"]);
    let (was, is) = (&old[logical::PIPE], &now[logical::PIPE]);
    let position = "SourceParameters.DynamoDBStreamParameters.StartingPosition";
    let (old_table, new_table) = (&old[logical::TABLE], &now[logical::TABLE]);
    let same_stream = at(old_table, "TableName") == at(new_table, "TableName")
        && at(old_table, "StreamSpecification") == at(new_table, "StreamSpecification");
    (was.is_object()
        && is.is_object()
        && at(was, "Name") != at(is, "Name")
        && same_stream
        && at(is, position) == "TRIM_HORIZON")
        .then(|| {
            format!(
                "the pipe gets a new name ({} → {}): the new pipe reads the stream from its start (TRIM_HORIZON) and every consumer gets up to 24 hours of orders again",
                display(at(was, "Name")),
                display(at(is, "Name"))
            )
        })
}

fn at<'v>(resource: &'v Value, dotted: &str) -> &'v Value {
    dotted
        .split('.')
        .fold(&resource["Properties"], |value, key| &value[key])
}

fn display(name: &Value) -> String {
    match name {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Whether `value` takes a Ref or attribute from a resource whose identity changes, or the
/// stream ARN of a table whose stream is re-created.
fn refers_to_moved(
    value: &Value,
    moved: &BTreeSet<String>,
    old: &serde_json::Map<String, Value>,
    now: &serde_json::Map<String, Value>,
) -> bool {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(id)) = map.get("Ref") {
                return moved.contains(id);
            }
            if let Some(Value::Array(parts)) = map.get("Fn::GetAtt")
                && let [Value::String(id), Value::String(attribute)] = &parts[..]
            {
                let stream_renewed = attribute == "StreamArn"
                    && old.get(id).map(|r| at(r, "StreamSpecification"))
                        != now.get(id).map(|r| at(r, "StreamSpecification"));
                return moved.contains(id) || stream_renewed;
            }
            map.values().any(|v| refers_to_moved(v, moved, old, now))
        }
        Value::Array(items) => items.iter().any(|v| refers_to_moved(v, moved, old, now)),
        Value::String(text) => moved
            .iter()
            .any(|id| text.contains(&format!("${{{id}}}")) || text.contains(&format!("${{{id}."))),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blueprint;
    use crate::render;

    fn template(yaml: &str) -> Value {
        let bp = blueprint::parse("t.yaml", yaml).unwrap_or_else(|e| panic!("{e}"));
        render::render(&bp).to_value()
    }

    const BASE: &str = "name: shop\ntable: {sort_key: {name: sk, type: S}}\nqueues: {q: }\nrules:\n  r: {pattern: {source: [x]}, targets: [q]}\n";

    fn blocked(after: &str) -> Vec<(String, String)> {
        blocked_replacements(&template(BASE), &template(after))
            .into_iter()
            .map(|b| (b.logical_id, b.property))
            .collect()
    }

    #[test]
    fn ordinary_edits_pass() {
        assert!(blocked(BASE).is_empty());
        assert!(blocked(&BASE.replace("queues: {q: }", "queues: {q: , other: }")).is_empty());
        assert!(blocked(&format!("{BASE}pipe: {{batch_size: 5}}\n")).is_empty());
        assert!(blocked(&format!("{BASE}tags: {{team: a}}\n")).is_empty());
    }

    #[test]
    fn a_key_change_under_the_same_table_name_is_blocked_and_a_new_name_lets_it_through() {
        let rekeyed = BASE.replace("name: sk,", "name: sk2,");
        let table_and_pipe = [
            ("Table".to_string(), "KeySchema".to_string()),
            ("Pipe".to_string(), "Source".to_string()),
        ];
        assert_eq!(blocked(&rekeyed), table_and_pipe);
        // A new table has a new stream: the pipe needs a new name too.
        let renamed = rekeyed.replace("table: {", "table: {name: orders2, ");
        assert_eq!(blocked(&renamed), table_and_pipe[1..]);
        let both = format!("{renamed}pipe: {{name: outbox2}}\n");
        assert!(blocked(&both).is_empty(), "{:?}", blocked(&both));
    }

    #[test]
    fn a_new_stream_view_needs_a_new_pipe_name() {
        let view = BASE.replace("table: {", "table: {stream_view: NEW_IMAGE, ");
        assert_eq!(blocked(&view), [("Pipe".into(), "Source".into())]);
        let renamed = format!("{view}pipe: {{name: outbox2}}\n");
        assert!(blocked(&renamed).is_empty(), "{:?}", blocked(&renamed));
    }

    #[test]
    fn a_new_starting_position_needs_a_new_pipe_name() {
        let latest = format!("{BASE}pipe: {{starting_position: LATEST}}\n");
        assert_eq!(
            blocked(&latest),
            [(
                "Pipe".into(),
                "SourceParameters.DynamoDBStreamParameters.StartingPosition".into()
            )]
        );
    }

    #[test]
    fn a_renamed_pipe_over_the_same_stream_replays_it() {
        let renamed = format!("{BASE}pipe: {{name: outbox2}}\n");
        let warning = replayed_stream(&template(BASE), &template(&renamed)).unwrap();
        assert!(warning.contains("shop-outbox → shop-outbox2"), "{warning}");
        let from_now = format!("{BASE}pipe: {{name: outbox2, starting_position: LATEST}}\n");
        assert_eq!(replayed_stream(&template(BASE), &template(&from_now)), None);
        let new_stream = renamed.replace("table: {", "table: {stream_view: NEW_IMAGE, ");
        assert_eq!(
            replayed_stream(&template(BASE), &template(&new_stream)),
            None
        );
        assert_eq!(replayed_stream(&template(BASE), &template(BASE)), None);
    }

    #[test]
    fn renaming_the_bus_moves_its_archive_and_rules() {
        let archived = format!("{BASE}bus: {{archive: {{retention_days: 7}}}}\n");
        let renamed = archived.replace("bus: {", "bus: {name: events2, ");
        let found = blocked_replacements(&template(&archived), &template(&renamed));
        let ids: Vec<&str> = found.iter().map(|b| b.logical_id.as_str()).collect();
        assert!(ids.contains(&"BusArchive"), "{ids:?}");
        assert!(found.iter().all(|b| !b.advice.is_empty()));
    }
}
