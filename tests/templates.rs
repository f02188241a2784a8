//! The committed templates and schema: current, lint-clean, deterministic, and secure
//! by default. Regenerate after a deliberate change with `scripts/regenerate`.

use std::collections::HashSet;
use std::process::Command;

use serde_json::Value;

use crate::support::{examples, expect_code, outboxctl, python, python_tool, repo, text};

fn render(example: &str, format: &str) -> String {
    let output = outboxctl()
        .current_dir(repo())
        .args([
            "-f",
            &format!("blueprints/{example}.yaml"),
            "render",
            "--format",
            format,
        ])
        .output()
        .unwrap();
    expect_code(&output, 0);
    text(&output.stdout)
}

fn committed(example: &str) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(repo().join(format!("templates/{example}.json"))).unwrap(),
    )
    .unwrap()
}

#[test]
fn the_examples_are_the_ones_the_issue_asks_for() {
    let names = examples();
    for required in ["food-ordering", "minimal", "multi-consumer"] {
        assert!(
            names.contains(&required.to_string()),
            "blueprints/{required}.yaml is missing"
        );
    }
}

#[test]
fn committed_templates_are_current() {
    for example in examples() {
        let path = repo().join(format!("templates/{example}.json"));
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == render(&example, "json"),
            "templates/{example}.json is stale or missing: run `scripts/regenerate` and commit the result"
        );
    }
    let templates = std::fs::read_dir(repo().join("templates")).unwrap().count();
    assert_eq!(
        templates,
        examples().len(),
        "templates/ has a file no blueprint renders to"
    );
}

#[test]
fn committed_schema_is_current() {
    let output = outboxctl().arg("schema").output().unwrap();
    expect_code(&output, 0);
    let committed = std::fs::read_to_string(repo().join("blueprints/outbox.schema.json")).unwrap();
    assert!(
        text(&output.stdout) == committed,
        "blueprints/outbox.schema.json is stale: run `scripts/regenerate`"
    );
}

#[test]
fn rendering_is_deterministic() {
    for example in examples() {
        assert_eq!(render(&example, "json"), render(&example, "json"));
        assert_eq!(render(&example, "yaml"), render(&example, "yaml"));
    }
}

#[test]
fn cfn_lint_finds_nothing_in_json_or_yaml_renderings() {
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<String> = examples()
        .iter()
        .map(|e| {
            repo()
                .join(format!("templates/{e}.json"))
                .display()
                .to_string()
        })
        .collect();
    for example in examples() {
        let path = dir.path().join(format!("{example}.yaml"));
        std::fs::write(&path, render(&example, "yaml")).unwrap();
        files.push(path.display().to_string());
    }
    // `-c I` adds the informational rules: the templates are clean at every level.
    let output = Command::new(python_tool("cfn-lint"))
        .args(["-c", "I", "--format", "parseable", "--"])
        .args(&files)
        .output()
        .unwrap();
    assert!(
        output.status.success() && output.stdout.is_empty(),
        "cfn-lint found problems:\n{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

#[test]
fn examples_and_starter_validate_against_the_schema() {
    let script = r#"
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
for path in sys.argv[2:]:
    jsonschema.validate(yaml.safe_load(open(path)), schema, cls=jsonschema.Draft202012Validator)
bad = {"name": "shop", "pipe": {"batch_sise": 5}}
try:
    jsonschema.validate(bad, schema, cls=jsonschema.Draft202012Validator)
    sys.exit("the schema accepted an unknown key")
except jsonschema.ValidationError:
    pass
"#;
    // Shorthands `validate` accepts (one target without brackets, a number as a tag
    // value) must pass the schema too, or an editor would flag a valid blueprint.
    let dir = tempfile::tempdir().unwrap();
    let shorthand = dir.path().join("shorthand.yaml");
    std::fs::write(
        &shorthand,
        "name: shop\ntags: {project: 7, billed: true}\nqueues:\n  q: {}\nrules:\n  r:\n    pattern: {source: [x]}\n    targets: q\n",
    )
    .unwrap();
    let validated = outboxctl()
        .arg("-f")
        .arg(&shorthand)
        .arg("validate")
        .output()
        .unwrap();
    expect_code(&validated, 0);
    let mut blueprints: Vec<String> = examples()
        .iter()
        .map(|e| {
            repo()
                .join(format!("blueprints/{e}.yaml"))
                .display()
                .to_string()
        })
        .collect();
    blueprints.push(shorthand.display().to_string());
    let output = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(repo().join("blueprints/outbox.schema.json"))
        .args(&blueprints)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// Every object schema in `schema` with its path of blueprint keys (`queues.q` for a
/// queue's own keys, `rules.r` for a rule's).
fn object_schemas<'s>(
    schema: &'s Value,
    path: Vec<String>,
    out: &mut Vec<(Vec<String>, &'s Value)>,
) {
    if let Some(properties) = schema["properties"].as_object() {
        out.push((path.clone(), schema));
        for (key, property) in properties {
            let mut below = path.clone();
            below.push(key.clone());
            object_schemas(property, below, out);
        }
    }
    for alternative in schema["oneOf"].as_array().into_iter().flatten() {
        object_schemas(alternative, path.clone(), out);
    }
    if schema["additionalProperties"].is_object() {
        let entry = match path.last().map(String::as_str) {
            Some("queues") => "q",
            Some("rules") => "r",
            _ => return,
        };
        let mut below = path;
        below.push(entry.into());
        object_schemas(&schema["additionalProperties"], below, out);
    }
}

#[test]
fn validate_and_the_schema_agree_on_keys_left_empty() {
    // `key:` with nothing after it is YAML's null: `validate` reads it as the default, and
    // an editor checking with the schema must not flag it. One blueprint per optional key.
    let schema = outboxctl::blueprint::schema::schema();
    let mut objects = Vec::new();
    object_schemas(&schema, Vec::new(), &mut objects);
    let mut blueprints = Vec::new();
    for (path, object) in objects {
        let required: Vec<&str> = object["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for key in object["properties"].as_object().unwrap().keys() {
            if required.contains(&key.as_str()) {
                continue;
            }
            let mut blueprint = serde_json::json!({"name": "shop"});
            if path.first().is_some_and(|p| p == "rules") {
                blueprint["queues"] = serde_json::json!({"q": {}});
                blueprint["rules"] =
                    serde_json::json!({"r": {"pattern": {"source": ["x"]}, "targets": ["q"]}});
            }
            let mut node = &mut blueprint;
            for step in &path {
                if !node[step.as_str()].is_object() {
                    node[step.as_str()] = serde_json::json!({});
                }
                node = &mut node[step.as_str()];
            }
            for &other in &required {
                if node.get(other).is_none() {
                    node[other] = match other {
                        "name" => "id".into(),
                        "input_template" => r#""x""#.into(),
                        _ => panic!("no sample value for the required key `{other}`"),
                    };
                }
            }
            node[key.as_str()] = Value::Null;
            let place = path.iter().chain([key]).cloned().collect::<Vec<_>>();
            blueprints.push((place.join("."), blueprint));
        }
    }
    assert!(
        blueprints.len() > 40,
        "only {} optional keys",
        blueprints.len()
    );
    let script = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
docs = json.load(sys.stdin)
print(json.dumps([jsonschema.Draft202012Validator(schema).is_valid(d) for d in docs]))
"#;
    let mut child = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(repo().join("blueprints/outbox.schema.json"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let docs: Vec<&Value> = blueprints.iter().map(|(_, b)| b).collect();
    serde_json::to_writer(child.stdin.take().unwrap(), &docs).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stdout));
    let schema_says: Vec<bool> = serde_json::from_slice(&output.stdout).unwrap();
    for ((key, blueprint), schema_ok) in blueprints.iter().zip(schema_says) {
        let yaml = serde_norway::to_string(blueprint).unwrap();
        let validated = outboxctl::blueprint::parse("null.yaml", &yaml);
        assert!(
            validated.is_ok() && schema_ok,
            "`{key}: null`: validate {}, schema {}",
            validated.err().map_or("accepts".into(), |e| e.to_string()),
            if schema_ok { "accepts" } else { "refuses" }
        );
    }
}

fn resources(template: &Value) -> impl Iterator<Item = (&String, &Value)> {
    template["Resources"].as_object().unwrap().iter()
}

#[test]
fn physical_names_are_unique_per_resource_type() {
    for example in examples() {
        let template = committed(&example);
        let mut seen = HashSet::new();
        for (id, resource) in resources(&template) {
            let props = &resource["Properties"];
            for key in [
                "TableName",
                "QueueName",
                "Name",
                "ArchiveName",
                "LogGroupName",
            ] {
                if let Some(name) = props[key].as_str() {
                    assert!(
                        seen.insert((resource["Type"].clone(), name.to_string())),
                        "{example}: {id} reuses the name {name}"
                    );
                }
            }
        }
    }
}

#[test]
fn templates_are_secure_by_default() {
    for example in examples() {
        let template = committed(&example);
        for (id, resource) in resources(&template) {
            let props = &resource["Properties"];
            match resource["Type"].as_str().unwrap() {
                "AWS::SQS::Queue" => assert_eq!(
                    props["SqsManagedSseEnabled"], true,
                    "{example}: {id} is not encrypted"
                ),
                "AWS::DynamoDB::Table" => {
                    assert_eq!(
                        resource["DeletionPolicy"], "RetainExceptOnCreate",
                        "{example}: the table is not retained (except by a failed first create)"
                    );
                    assert_eq!(resource["UpdateReplacePolicy"], "Retain");
                    assert_eq!(
                        props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
                        true
                    );
                }
                "AWS::SQS::QueuePolicy" => {
                    for statement in props["PolicyDocument"]["Statement"].as_array().unwrap() {
                        assert!(
                            statement["Condition"]["ArnEquals"]["aws:SourceArn"].is_object()
                                || statement["Condition"]["ArnEquals"]["aws:SourceArn"].is_array(),
                            "{example}: {id} lets EventBridge send without a SourceArn condition"
                        );
                    }
                }
                "AWS::Pipes::Pipe" => {
                    let stream = &props["SourceParameters"]["DynamoDBStreamParameters"];
                    assert!(
                        stream["MaximumRetryAttempts"].as_i64().unwrap() >= 0,
                        "{example}: infinite pipe retries"
                    );
                    assert!(stream["MaximumRecordAgeInSeconds"].as_i64().unwrap() < 86_400);
                    assert!(
                        stream["DeadLetterConfig"]["Arn"].is_object(),
                        "{example}: the pipe has no DLQ"
                    );
                    assert!(stream["BatchSize"].as_i64().unwrap() <= 10);
                }
                "AWS::Events::Rule" => {
                    for target in props["Targets"].as_array().unwrap() {
                        assert!(
                            target["DeadLetterConfig"]["Arn"].is_object(),
                            "{example}: {id} has a target without a DLQ"
                        );
                        assert!(
                            target["RetryPolicy"]["MaximumRetryAttempts"]
                                .as_i64()
                                .unwrap()
                                <= 185
                        );
                    }
                }
                "AWS::ApiGateway::Method" => {
                    assert_eq!(
                        props["Integration"]["PassthroughBehavior"], "NEVER",
                        "{example}: WHEN_NO_MATCH passthrough"
                    );
                }
                _ => {}
            }
        }
        let trust = &template["Resources"]["PipeRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            [0];
        assert_eq!(trust["Principal"]["Service"], "pipes.amazonaws.com");
        assert!(trust["Condition"]["StringEquals"]["aws:SourceAccount"].is_object());
        let pipe_name = template["Resources"]["Pipe"]["Properties"]["Name"]
            .as_str()
            .unwrap();
        let source_arn = trust["Condition"]["StringEquals"]["aws:SourceArn"]["Fn::Sub"]
            .as_str()
            .unwrap();
        assert!(
            source_arn.ends_with(&format!(":pipe/{pipe_name}")),
            "{example}: the role trusts pipes other than its own"
        );
    }
}

/// Nothing is lost while a stack is created: every queue lets EventBridge in before a rule
/// delivers to it (a refused delivery is not retried), and the pipe starts after the rules
/// (an event that arrives before them matches nothing).
#[test]
fn deliveries_are_allowed_before_anything_is_delivered() {
    for example in examples() {
        let template = committed(&example);
        let depends_on = |resource: &Value| -> Vec<String> {
            resource["DependsOn"]
                .as_array()
                .map(|ids| {
                    ids.iter()
                        .map(|id| id.as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default()
        };
        let policy_of = |queue_id: &str| {
            resources(&template)
                .find(|(_, r)| {
                    r["Type"] == "AWS::SQS::QueuePolicy"
                        && r["Properties"]["Queues"][0]["Ref"] == queue_id
                })
                .map(|(id, _)| id.clone())
        };
        let mut rule_ids = Vec::new();
        for (id, rule) in resources(&template).filter(|(_, r)| r["Type"] == "AWS::Events::Rule") {
            rule_ids.push(id.clone());
            let waits_for = depends_on(rule);
            for target in rule["Properties"]["Targets"].as_array().unwrap() {
                for arn in [&target["Arn"], &target["DeadLetterConfig"]["Arn"]] {
                    let queue = arn["Fn::GetAtt"][0].as_str().unwrap();
                    let policy = policy_of(queue)
                        .unwrap_or_else(|| panic!("{example}: {queue} has no queue policy"));
                    assert!(
                        waits_for.contains(&policy),
                        "{example}: {id} can deliver to {queue} before {policy} exists"
                    );
                }
            }
        }
        let pipe_waits_for = depends_on(&template["Resources"]["Pipe"]);
        for rule in &rule_ids {
            assert!(
                pipe_waits_for.contains(rule),
                "{example}: the pipe can start before {rule} exists"
            );
        }
    }
}

#[test]
fn outputs_name_everything_a_client_needs() {
    let template = committed("food-ordering");
    let outputs = template["Outputs"].as_object().unwrap();
    for key in [
        "TableName",
        "StreamArn",
        "PipeName",
        "PipeArn",
        "PipeDlqUrl",
        "BusName",
        "BusArn",
        "ArchiveArn",
        "NotifyRestaurantQueueUrl",
        "NotifyRestaurantQueueArn",
        "NotifyRestaurantQueueDlqUrl",
        "OrderTrackingQueueUrl",
        "NewOrdersRuleDlqUrl",
        "TailQueueUrl",
        "ApiUrl",
    ] {
        assert!(outputs.contains_key(key), "output {key} is missing");
    }
}

/// A stage serves the snapshot its deployment froze: a new API field must reach the body
/// model, and the deployment must get a new logical id so that the stage serves it.
#[test]
fn a_changed_body_model_is_deployed_again() {
    let dir = tempfile::tempdir().unwrap();
    let edited = dir.path().join("food.yaml");
    let original = std::fs::read_to_string(repo().join("blueprints/food-ordering.yaml")).unwrap();
    std::fs::write(
        &edited,
        original.replace("    total: N\n", "    total: N\n    note: S\n"),
    )
    .unwrap();
    let output = outboxctl()
        .arg("-f")
        .arg(&edited)
        .arg("render")
        .output()
        .unwrap();
    expect_code(&output, 0);
    let changed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let deployment = |template: &Value| -> String {
        resources(template)
            .find(|(_, r)| r["Type"] == "AWS::ApiGateway::Deployment")
            .map(|(id, _)| id.clone())
            .unwrap()
    };
    let before = committed("food-ordering");
    assert_ne!(deployment(&before), deployment(&changed));
    let model = &changed["Resources"]["ApiOrderModel"]["Properties"]["Schema"];
    assert_eq!(
        model["properties"]["note"],
        serde_json::json!({"type": "string"})
    );
    assert!(
        model["required"]
            .as_array()
            .unwrap()
            .contains(&"note".into())
    );
    let method = &changed["Resources"]["ApiPostMethod"]["Properties"];
    assert_eq!(
        method["RequestModels"]["application/json"]["Ref"],
        "ApiOrderModel"
    );
    assert_eq!(method["RequestValidatorId"]["Ref"], "ApiBodyValidator");
}
