//! YAML tree → [`Blueprint`], filling defaults and checking each value's type and range
//! where it stands. Checks that need the whole blueprint live in `validate`.

use std::collections::BTreeMap;

use super::fields::{Fields, Problems};
use super::model::{limits::*, *};
use super::yaml::{Node, Scalar, Span};

pub fn decode(root: &Node, problems: &mut Problems) -> Option<Blueprint> {
    let mut top = Fields::open(root, "", problems)?;
    let (name, name_span) = match top.string("name", problems) {
        Some(name) => (name.value, name.span),
        // A value of another type has been reported as such.
        None if top.get("name").is_some() => (String::new(), Span::default()),
        None => {
            problems.at(
                Span {
                    line: 1,
                    column: 1,
                    len: 1,
                },
                "missing `name`: the stack name, also the prefix of every resource name",
                "add a line like `name: food-ordering` at the top of the blueprint",
            );
            (String::new(), Span::default())
        }
    };
    // Span::default() marks a name that is missing or of the wrong type, reported above.
    if name_span != Span::default() && !is_stack_name(&name) {
        problems.at(
            name_span,
            format!(
                "`name` `{}` is not a valid CloudFormation stack name",
                super::diagnostic::shortened(&name)
            ),
            "start with a letter and use only letters, digits and `-` (at most 128 characters)",
        );
    }
    let region = top.string("region", problems);
    if let Some(region) = &region
        && !is_region(&region.value)
    {
        problems.at(
                region.span,
                format!("`region` `{}` is not an AWS region name", region.value),
                "use a region code such as `us-east-1` or `eu-west-1`, or leave it out to use the AWS CLI's region",
            );
    }
    let tags = top
        .get("tags")
        .map(|node| decode_tags(node, problems))
        .unwrap_or_default();
    let table = decode_table(top.get("table"), problems);
    let mut pipe = decode_pipe(top.get("pipe"), problems);
    if pipe.source.value.is_empty() {
        pipe.source.value = format!("outboxctl.{name}");
    }
    let bus = decode_bus(top.get("bus"), problems);
    let queues = named_entries(top.get("queues"), "queues", problems)
        .into_iter()
        .map(|(name, span, node)| decode_queue(name, span, node, problems))
        .collect();
    let rules = named_entries(top.get("rules"), "rules", problems)
        .into_iter()
        .filter_map(|(name, span, node)| decode_rule(name, span, node, problems))
        .collect();
    let api = decode_api(top.get("api"), problems);
    let tail = top.bool_or("tail", true, problems);
    top.finish(problems);
    Some(Blueprint {
        name,
        name_span,
        region: region.map(|r| r.value),
        tags,
        table,
        pipe,
        bus,
        queues,
        rules,
        api,
        tail,
    })
}

/// A top-level section; absent or unusable (already reported) reads as all defaults.
fn section<'n>(node: Option<&'n Node>, path: &str, problems: &mut Problems) -> Fields<'n> {
    node.and_then(|node| Fields::open(node, path, problems))
        .unwrap_or_else(|| Fields::empty(path))
}

fn is_region(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

fn decode_tags(node: &Node, problems: &mut Problems) -> BTreeMap<String, String> {
    let Some(fields) = Fields::open(node, "tags", problems) else {
        return BTreeMap::new();
    };
    let mut tags = BTreeMap::new();
    for (key, value) in fields.entries() {
        let key_text = key.text().unwrap_or_default();
        if key_text.is_empty() || key_text.len() > 128 || key_text.starts_with("aws:") {
            problems.at(
                key.span,
                format!("tag key `{key_text}` is not allowed"),
                "tag keys are 1 to 128 characters and must not start with `aws:` (reserved by AWS)",
            );
        }
        let Some(value_text) = value.text().filter(|_| value.as_mapping().is_none()) else {
            problems.at(
                value.span,
                format!("tag `{key_text}` must have a text value"),
                "write `key: value`",
            );
            continue;
        };
        if value_text.len() > 256 {
            problems.at(
                value.span,
                format!("tag `{key_text}` is longer than 256 characters"),
                "shorten the value",
            );
        }
        tags.insert(key_text.to_string(), value_text.to_string());
    }
    tags
}

/// Entries of a mapping whose keys are user-chosen resource names.
fn named_entries<'n>(
    node: Option<&'n Node>,
    path: &str,
    problems: &mut Problems,
) -> Vec<(String, Span, &'n Node)> {
    let Some(node) = node else { return Vec::new() };
    let Some(fields) = Fields::open(node, path, problems) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in fields.entries() {
        let name = key.text().unwrap_or_default().to_string();
        if !is_resource_name(&name) {
            problems.at(
                key.span,
                format!("`{name}` is not a valid name in `{path}`"),
                "use letters, digits, `_` and `-` (it becomes part of AWS resource names)",
            );
            continue;
        }
        out.push((name, key.span, value));
    }
    out
}

pub(super) fn is_stack_name(name: &str) -> bool {
    name.len() <= STACK_NAME_MAX
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

pub fn is_resource_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn resource_name(fields: &mut Fields<'_>, default: &str, problems: &mut Problems) -> String {
    match fields.string("name", problems) {
        Some(name) if is_resource_name(&name.value) => name.value,
        Some(name) => {
            problems.at(
                name.span,
                format!(
                    "`{}` `{}` is not a valid name",
                    fields.key_path("name"),
                    name.value
                ),
                "use letters, digits, `_` and `-` (it becomes part of AWS resource names)",
            );
            default.to_string()
        }
        None => default.to_string(),
    }
}

const KEY_TYPES: [(&str, KeyType); 3] = [("S", KeyType::S), ("N", KeyType::N), ("B", KeyType::B)];

fn decode_key(node: &Node, path: &str, problems: &mut Problems) -> Option<Key> {
    let mut fields = Fields::open(node, path, problems)?;
    let name = fields.string("name", problems);
    let kind = fields.choice_or("type", &KEY_TYPES, KeyType::S, problems);
    fields.finish(problems);
    match name {
        Some(name) if !name.value.is_empty() && name.value.len() <= 255 => Some(Key {
            name: name.value,
            kind,
            span: node.span,
        }),
        Some(name) => {
            problems.at(
                name.span,
                format!("`{path}.name` must be 1 to 255 characters"),
                "shorten the attribute name",
            );
            None
        }
        None => {
            problems.at(
                node.span,
                format!("`{path}` needs a `name`"),
                "write `{name: pk, type: S}`",
            );
            None
        }
    }
}

fn decode_table(node: Option<&Node>, problems: &mut Problems) -> Table {
    let mut f = section(node, "table", problems);
    let name = resource_name(&mut f, "orders", problems);
    let partition_key = f
        .get("partition_key")
        .and_then(|n| decode_key(n, "table.partition_key", problems))
        .unwrap_or(Key {
            name: "pk".into(),
            kind: KeyType::S,
            span: f.span,
        });
    let sort_key = f
        .get("sort_key")
        .and_then(|n| decode_key(n, "table.sort_key", problems));
    if let (Some(sort), Some(node)) = (&sort_key, f.get("sort_key"))
        && sort.name == partition_key.name
    {
        problems.at(
            node.span,
            "`table.sort_key` has the same name as the partition key",
            "use a different attribute for the sort key",
        );
    }
    let provisioned = f.choice_or(
        "billing",
        &[("on_demand", false), ("provisioned", true)],
        false,
        problems,
    );
    let capacity_why = "provisioned capacity units: at least 1 each";
    let read = f.number_or("read_capacity", (1, 40_000), 5, capacity_why, problems);
    let write = f.number_or("write_capacity", (1, 40_000), 5, capacity_why, problems);
    if !provisioned {
        for key in ["read_capacity", "write_capacity"] {
            if let Some(n) = f.get(key) {
                problems.at(
                    n.span,
                    format!("`table.{key}` only applies to provisioned billing"),
                    "remove it, or set `billing: provisioned`",
                );
            }
        }
    }
    let billing = if provisioned {
        Billing::Provisioned { read, write }
    } else {
        Billing::OnDemand
    };
    let stream_view = f.choice_or(
        "stream_view",
        &StreamView::ALL,
        StreamView::NewAndOldImages,
        problems,
    );
    let point_in_time_recovery = f.bool_or("point_in_time_recovery", true, problems);
    let deletion_protection = f.bool_or("deletion_protection", false, problems);
    let retain_on_delete = f.bool_or("retain_on_delete", true, problems);
    let encryption_kind = f.choice_or(
        "encryption",
        &[
            ("aws_owned", 0u8),
            ("aws_managed", 1),
            ("customer_managed", 2),
        ],
        1,
        problems,
    );
    let kms_key = f.string("kms_key_arn", problems);
    let encryption = match (encryption_kind, kms_key) {
        (2, Some(key)) if key.value.starts_with("arn:") && key.value.contains(":kms:") => {
            Encryption::CustomerManaged {
                kms_key_arn: key.value,
            }
        }
        (2, Some(key)) => {
            problems.at(
                key.span,
                "`table.kms_key_arn` must be a KMS key ARN",
                "use `arn:aws:kms:<region>:<account>:key/<id>`",
            );
            Encryption::AwsManaged
        }
        (2, None) => {
            let span = f.get("encryption").map_or(f.span, |n| n.span);
            problems.at(
                span,
                "`table.encryption: customer_managed` needs `kms_key_arn`",
                "add `kms_key_arn: arn:aws:kms:...`",
            );
            Encryption::AwsManaged
        }
        (kind, key) => {
            if let Some(key) = key {
                problems.at(
                    key.span,
                    "`table.kms_key_arn` needs `encryption: customer_managed`",
                    "set `encryption: customer_managed` or remove the key ARN",
                );
            }
            if kind == 0 {
                Encryption::AwsOwned
            } else {
                Encryption::AwsManaged
            }
        }
    };
    let ttl_attribute = f.string("ttl_attribute", problems).and_then(|attribute| {
        if (1..=255).contains(&attribute.value.chars().count()) {
            return Some(attribute.value);
        }
        problems.at(
            attribute.span,
            "`table.ttl_attribute` must be 1 to 255 characters (a DynamoDB attribute name)",
            "name the attribute that holds each item's expiry time, or remove the key to keep items forever",
        );
        None
    });
    f.finish(problems);
    Table {
        name,
        partition_key,
        sort_key,
        billing,
        stream_view,
        point_in_time_recovery,
        deletion_protection,
        retain_on_delete,
        encryption,
        ttl_attribute,
    }
}

/// A pattern written as a YAML mapping, or as a JSON object in a string.
fn decode_pattern(
    node: &Node,
    path: &str,
    problems: &mut Problems,
) -> Option<Spanned<serde_json::Value>> {
    let value = match node.scalar() {
        Some(Scalar::Str(text)) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(value) => value,
            Err(err) => {
                problems.at(
                    node.span,
                    format!("`{path}` is not valid JSON: {err}"),
                    "write the pattern as a YAML mapping, or as a JSON object in quotes",
                );
                return None;
            }
        },
        _ => node.to_json(),
    };
    if !value.is_object() {
        problems.at(
            node.span,
            format!(
                "`{path}` must be an event pattern (a mapping), found {}",
                node.kind()
            ),
            "write a mapping such as `detail: {eventName: [INSERT]}`",
        );
        return None;
    }
    Some(Spanned {
        value,
        span: node.span,
    })
}

fn decode_pipe(node: Option<&Node>, problems: &mut Problems) -> Pipe {
    let mut f = section(node, "pipe", problems);
    let name = resource_name(&mut f, "outbox", problems);
    let starting_position = f.choice_or(
        "starting_position",
        &[
            ("TRIM_HORIZON", StartingPosition::TrimHorizon),
            ("LATEST", StartingPosition::Latest),
        ],
        StartingPosition::TrimHorizon,
        problems,
    );
    let batch_size = f.number_or(
        "batch_size",
        (1, BUS_TARGET_BATCH_MAX),
        DEFAULT_BATCH_SIZE,
        "an event bus target takes at most 10 events per batch (EventBridge PutEvents limit)",
        problems,
    );
    let batching_window_seconds = f.number_or(
        "batching_window_seconds",
        (0, BATCHING_WINDOW_MAX),
        0,
        "Pipes waits at most 300 seconds to fill a batch",
        problems,
    );
    let max_retries = match f.get("max_retries").and_then(Node::scalar) {
        Some(Scalar::Int(-1)) => {
            let span = f.get("max_retries").map(|n| n.span).unwrap_or_default();
            problems.at(
                span,
                "`pipe.max_retries` cannot be -1 (retry forever)",
                "a poison record would block its shard for 24 hours and never reach the DLQ; use a finite number such as 10",
            );
            DEFAULT_PIPE_RETRIES
        }
        _ => f.number_or(
            "max_retries",
            (0, PIPE_RETRIES_MAX),
            DEFAULT_PIPE_RETRIES,
            "retries before a batch goes to the pipe's DLQ (Pipes allows 0 to 10000)",
            problems,
        ),
    };
    let max_record_age_seconds = f.number_or(
        "max_record_age_seconds",
        (RECORD_AGE_MIN, RECORD_AGE_MAX),
        DEFAULT_RECORD_AGE,
        "stream records expire after 24 hours, so a finite age below 86400 seconds lets failed records reach the DLQ in time",
        problems,
    );
    let bisect_on_error = f.bool_or("bisect_on_error", true, problems);
    let parallelization = f.number_or(
        "parallelization",
        (1, PARALLELIZATION_MAX),
        1,
        "Pipes reads each shard with 1 to 10 concurrent batches; order per key holds either way",
        problems,
    );
    let filters = match f.get("filters") {
        None => Vec::new(),
        Some(node) => match node.as_sequence() {
            Some(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    decode_pattern(item, &format!("pipe.filters[{i}]"), problems)
                })
                .collect(),
            None => {
                problems.at(
                    node.span,
                    format!(
                        "`pipe.filters` must be a list of patterns, found {}",
                        node.kind()
                    ),
                    "write each filter as a `- ` list item",
                );
                Vec::new()
            }
        },
    };
    let detail_type = f.string("detail_type", problems);
    let source = f.string("source", problems);
    let input_template = f.string("input_template", problems);
    let dlq_retention_seconds = f.number_or(
        "dlq_retention_seconds",
        (RETENTION_MIN, RETENTION_MAX),
        DLQ_RETENTION,
        "SQS keeps messages 60 seconds to 14 days",
        problems,
    );
    let log_level = f.choice_or("log_level", &LogLevel::ALL, LogLevel::Error, problems);
    let log_retention_days = f.number_or(
        "log_retention_days",
        (1, 3653),
        DEFAULT_LOG_RETENTION_DAYS,
        "CloudWatch Logs retention in days",
        problems,
    );
    if let Some(node) = f.get("log_retention_days")
        && matches!(node.scalar(), Some(Scalar::Int(n)) if !LOG_RETENTION_DAYS.contains(&(n as u32)))
    {
        problems.at(
            node.span,
            "`pipe.log_retention_days` is not a retention CloudWatch Logs accepts",
            format!(
                "use one of: {}",
                LOG_RETENTION_DAYS.map(|d| d.to_string()).join(", ")
            ),
        );
    }
    let running = f.choice_or(
        "desired_state",
        &[("RUNNING", true), ("STOPPED", false)],
        true,
        problems,
    );
    f.finish(problems);
    check_text_length(
        detail_type.as_ref(),
        "pipe.detail_type",
        DETAIL_TYPE_MAX,
        problems,
    );
    check_text_length(source.as_ref(), "pipe.source", SOURCE_MAX, problems);
    if let Some(source) = &source
        && source.value.starts_with("aws.")
    {
        problems.at(source.span, "`pipe.source` must not start with `aws.`", "sources starting with `aws.` are reserved for AWS services; use e.g. `com.example.orders`");
    }
    check_text_length(
        input_template.as_ref(),
        "pipe.input_template",
        PIPE_INPUT_TEMPLATE_MAX,
        problems,
    );
    Pipe {
        name,
        starting_position,
        batch_size,
        batching_window_seconds,
        max_retries,
        max_record_age_seconds,
        bisect_on_error,
        parallelization,
        filters,
        detail_type: detail_type.unwrap_or_else(|| Spanned {
            value: DEFAULT_DETAIL_TYPE.to_string(),
            span: Span::default(),
        }),
        source: source.unwrap_or_else(|| Spanned {
            value: String::new(),
            span: Span::default(),
        }),
        input_template,
        dlq_retention_seconds,
        log_level,
        log_retention_days,
        running,
    }
}

/// The default detail-type: the stream record's event name (INSERT, MODIFY, REMOVE).
pub const DEFAULT_DETAIL_TYPE: &str = "$.eventName";

fn check_text_length(
    text: Option<&Spanned<String>>,
    path: &str,
    max: usize,
    problems: &mut Problems,
) {
    if let Some(text) = text {
        let len = text.value.chars().count();
        if len == 0 || len > max {
            problems.at(
                text.span,
                format!("`{path}` must be 1 to {max} characters, found {len}"),
                format!("AWS limits `{path}` to {max} characters"),
            );
        }
    }
}

fn decode_bus(node: Option<&Node>, problems: &mut Problems) -> Bus {
    let mut f = section(node, "bus", problems);
    let name = resource_name(&mut f, "events", problems);
    let archive = f.get("archive").and_then(|node| {
        if node.scalar() == Some(Scalar::Bool(false)) {
            return None;
        }
        let mut a = Fields::open(node, "bus.archive", problems)?;
        let retention_days = a.number_or(
            "retention_days",
            (0, 36_500),
            7,
            "days to keep archived events; 0 keeps them forever",
            problems,
        );
        let pattern = a
            .get("pattern")
            .and_then(|n| decode_pattern(n, "bus.archive.pattern", problems));
        a.finish(problems);
        Some(Archive {
            retention_days,
            pattern,
        })
    });
    f.finish(problems);
    Bus { name, archive }
}

fn decode_queue(name: String, span: Span, node: &Node, problems: &mut Problems) -> Queue {
    let path = format!("queues.{name}");
    let mut queue = Queue {
        name,
        span,
        visibility_timeout_seconds: DEFAULT_VISIBILITY_TIMEOUT,
        retention_seconds: DEFAULT_RETENTION,
        max_receive_count: DEFAULT_MAX_RECEIVE_COUNT,
        dlq_retention_seconds: DLQ_RETENTION,
    };
    let Some(mut f) = Fields::open(node, &path, problems) else {
        return queue;
    };
    queue.visibility_timeout_seconds = f.number_or(
        "visibility_timeout_seconds",
        (0, VISIBILITY_TIMEOUT_MAX),
        DEFAULT_VISIBILITY_TIMEOUT,
        "SQS visibility timeouts are 0 to 43200 seconds (12 hours)",
        problems,
    );
    queue.retention_seconds = f.number_or(
        "retention_seconds",
        (RETENTION_MIN, RETENTION_MAX),
        DEFAULT_RETENTION,
        "SQS keeps messages 60 seconds to 14 days (1209600 seconds)",
        problems,
    );
    queue.max_receive_count = f.number_or(
        "max_receive_count",
        (1, MAX_RECEIVE_COUNT_MAX),
        DEFAULT_MAX_RECEIVE_COUNT,
        "receives before a message moves to the queue's DLQ",
        problems,
    );
    queue.dlq_retention_seconds = f.number_or(
        "dlq_retention_seconds",
        (RETENTION_MIN, RETENTION_MAX),
        DLQ_RETENTION,
        "SQS keeps messages 60 seconds to 14 days (1209600 seconds)",
        problems,
    );
    if queue.retention_seconds >= queue.dlq_retention_seconds {
        let at = f
            .get("retention_seconds")
            .or(f.get("dlq_retention_seconds"))
            .map_or(span, |n| n.span);
        problems.at(
            at,
            format!("`{path}.retention_seconds` ({}) must be shorter than its DLQ's ({})", queue.retention_seconds, queue.dlq_retention_seconds),
            "a message moved to a DLQ keeps its first enqueue time, so a DLQ with the same retention drops it at once; lower retention_seconds",
        );
    }
    f.finish(problems);
    queue
}

fn decode_rule(name: String, span: Span, node: &Node, problems: &mut Problems) -> Option<Rule> {
    let path = format!("rules.{name}");
    let mut f = Fields::open(node, &path, problems)?;
    let description = f.string("description", problems);
    if let Some(d) = &description
        && d.value.chars().count() > 512
    {
        problems.at(
            d.span,
            format!("`{path}.description` is longer than 512 characters"),
            "shorten it",
        );
    }
    let pattern = match f.get("pattern") {
        Some(node) => decode_pattern(node, &format!("{path}.pattern"), problems),
        None => {
            problems.at(span, format!("rule `{name}` has no `pattern`"), "add `pattern:` with the events it should match, e.g. `detail: {eventName: [INSERT]}`");
            None
        }
    };
    let targets = match f.get("targets") {
        None => {
            problems.at(
                span,
                format!("rule `{name}` has no `targets`"),
                "add `targets: [<queue name>]` naming queues declared under `queues:`",
            );
            Vec::new()
        }
        Some(node) => match (node.as_sequence(), node.scalar()) {
            (Some(items), _) => items
                .iter()
                .filter_map(|item| match item.scalar() {
                    Some(Scalar::Str(s)) => Some(Spanned {
                        value: s.to_string(),
                        span: item.span,
                    }),
                    _ => {
                        problems.at(
                            item.span,
                            format!(
                                "`{path}.targets` items must be queue names, found {}",
                                item.kind()
                            ),
                            "list queue names declared under `queues:`",
                        );
                        None
                    }
                })
                .collect(),
            (None, Some(Scalar::Str(s))) => vec![Spanned {
                value: s.to_string(),
                span: node.span,
            }],
            _ => {
                problems.at(
                    node.span,
                    format!(
                        "`{path}.targets` must be a list of queue names, found {}",
                        node.kind()
                    ),
                    "write `targets: [queue_a, queue_b]`",
                );
                Vec::new()
            }
        },
    };
    let max_retry_attempts = f.number_or(
        "retry_attempts",
        (0, RULE_RETRIES_MAX),
        DEFAULT_RULE_RETRIES,
        "EventBridge retries a target 0 to 185 times before the rule's DLQ",
        problems,
    );
    let max_event_age_seconds = f.number_or(
        "max_event_age_seconds",
        (EVENT_AGE_MIN, EVENT_AGE_MAX),
        DEFAULT_EVENT_AGE,
        "EventBridge keeps retrying an event for 60 to 86400 seconds",
        problems,
    );
    let input_transformer = f.get("input_transformer").and_then(|node| {
        let tpath = format!("{path}.input_transformer");
        let mut t = Fields::open(node, &tpath, problems)?;
        let mut paths = BTreeMap::new();
        let mut path_spans = BTreeMap::new();
        if let Some(paths_node) = t.get("input_paths")
            && let Some(pf) = Fields::open(paths_node, &format!("{tpath}.input_paths"), problems) {
                for (key, value) in pf.entries() {
                    match value.scalar() {
                        Some(Scalar::Str(p)) => {
                            let name = key.text().unwrap_or_default().to_string();
                            path_spans.insert(name.clone(), (key.span, value.span));
                            paths.insert(name, p.to_string());
                        }
                        _ => problems.at(value.span, format!("`{tpath}.input_paths` values must be JSON paths such as `$.detail.orderId`"), "quote the path"),
                    }
                }
            }
        let template = t.string("input_template", problems);
        t.finish(problems);
        let Some(template) = template else {
            problems.at(node.span, format!("`{tpath}` needs `input_template`"), "add `input_template: '{\"id\": <id>}'`");
            return None;
        };
        check_text_length(Some(&template), &format!("{tpath}.input_template"), RULE_INPUT_TEMPLATE_MAX, problems);
        Some(InputTransformer { paths, path_spans, template })
    });
    let enabled = f.bool_or("enabled", true, problems);
    f.finish(problems);
    Some(Rule {
        name,
        span,
        description: description.map(|d| d.value),
        pattern: pattern?,
        targets,
        max_retry_attempts,
        max_event_age_seconds,
        input_transformer,
        enabled,
    })
}

fn decode_api(node: Option<&Node>, problems: &mut Problems) -> Option<Api> {
    let node = node?;
    match node.scalar() {
        Some(Scalar::Bool(false)) => return None,
        Some(Scalar::Bool(true)) => {
            return Some(Api {
                path: "orders".into(),
                auth: ApiAuth::Iam,
                stage: "v1".into(),
                fields: Vec::new(),
                id_prefix: "ORDER#".into(),
            });
        }
        _ => {}
    }
    let mut f = Fields::open(node, "api", problems)?;
    let path = f.string_or("path", "orders", problems);
    if !is_resource_name(&path) {
        let span = f.get("path").map_or(node.span, |n| n.span);
        problems.at(
            span,
            format!("`api.path` `{path}` is not a single path segment"),
            "use letters, digits, `_` and `-`, e.g. `orders`",
        );
    }
    let auth = f.choice_or(
        "auth",
        &[("iam", ApiAuth::Iam), ("none", ApiAuth::None)],
        ApiAuth::Iam,
        problems,
    );
    let stage = f.string_or("stage", "v1", problems);
    if !stage
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        || stage.is_empty()
    {
        let span = f.get("stage").map_or(node.span, |n| n.span);
        problems.at(
            span,
            format!("`api.stage` `{stage}` is not a valid stage name"),
            "use letters, digits and `_`, e.g. `v1`",
        );
    }
    let id_prefix = f.string_or("id_prefix", "ORDER#", problems);
    let prefix_ok = id_prefix.len() <= 32
        && id_prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"#_.:-".contains(&b));
    if !prefix_ok {
        let span = f.get("id_prefix").map_or(node.span, |n| n.span);
        problems.at(
            span,
            format!("`api.id_prefix` `{id_prefix}` cannot be used in the mapping template"),
            "use at most 32 letters, digits and `#_.:-`, e.g. `ORDER#`",
        );
    }
    let mut fields = Vec::new();
    if let Some(fields_node) = f.get("fields")
        && let Some(ff) = Fields::open(fields_node, "api.fields", problems)
    {
        for (key, value) in ff.entries() {
            let kind = match value.text() {
                Some("S") => KeyType::S,
                Some("N") => KeyType::N,
                _ => {
                    problems.at(
                        value.span,
                        format!(
                            "`api.fields.{}` must be `S` or `N`",
                            key.text().unwrap_or_default()
                        ),
                        "fields copied from the JSON body are strings (S) or numbers (N)",
                    );
                    continue;
                }
            };
            let name = key.text().unwrap_or_default();
            if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                problems.at(
                    key.span,
                    format!("`api.fields` name `{name}` cannot be used in a mapping template"),
                    "use letters, digits and `_`",
                );
                continue;
            }
            fields.push(ApiField {
                name: name.to_string(),
                kind,
                span: key.span,
            });
        }
    }
    f.finish(problems);
    Some(Api {
        path,
        auth,
        stage,
        fields,
        id_prefix,
    })
}
