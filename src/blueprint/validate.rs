//! Checks that need the whole blueprint: references between sections, derived AWS
//! names (length and uniqueness), logical id collisions, and whether filters read
//! images the stream does not carry.

use std::collections::HashMap;

use super::fields::{Problems, suggest};
use super::model::{Blueprint, CREATED_AT_ATTRIBUTE, KeyType, limits::*};
use super::names::logical;
use super::yaml::Span;
use crate::pattern::filter;
use crate::pattern::template::{
    self, InputTransformer, JsonPath, PipeInputTemplate, TemplateError,
};
use crate::pattern::{EventPattern, check_pattern_length};

pub fn validate(bp: &Blueprint, problems: &mut Problems) {
    check_rule_targets(bp, problems);
    check_physical_names(bp, problems);
    check_logical_ids(bp, problems);
    check_pipe_filters(bp, problems);
    check_stream_images(bp, problems);
    check_api(bp, problems);
    check_patterns_and_templates(bp, problems);
}

/// Every pattern, filter and template, checked by the same code the engine runs, with
/// AWS's messages.
fn check_patterns_and_templates(bp: &Blueprint, problems: &mut Problems) {
    let pattern_help = "fix the pattern; docs/patterns.md lists the operators and their forms";
    for rule in &bp.rules {
        if let Err(err) = check_pattern_length(&rule.pattern.value.to_string()) {
            problems.at(
                rule.pattern.span,
                format!("rule `{}`: {err}", rule.name),
                "EventBridge takes rule patterns of at most 4096 characters (2048 unless the account's quota was raised): match fewer values, or split the rule",
            );
        }
        if let Err(err) = EventPattern::from_value(&rule.pattern.value) {
            problems.at(
                rule.pattern.span,
                format!("rule `{}`: {err}", rule.name),
                pattern_help,
            );
        }
        if let Some(transformer) = &rule.input_transformer {
            // Each input_paths entry where it is written; the template once they are sound.
            let mut paths_sound = true;
            for (name, path) in &transformer.paths {
                let Err(err) = template::input_path(name, path) else {
                    continue;
                };
                paths_sound = false;
                let (name_span, path_span) = transformer.path_spans[name];
                let (span, help) = match err {
                    TemplateError::BadPathName { .. } => (
                        name_span,
                        "input_paths names are 1 to 256 letters, digits, `_` or `-`, and not `aws.*`",
                    ),
                    _ => (
                        path_span,
                        "input_paths values are JSON paths in dot notation, such as `$.detail.orderId`",
                    ),
                };
                problems.at(
                    span,
                    format!("rule `{}` input_paths: {err}", rule.name),
                    help,
                );
            }
            if paths_sound
                && let Err(err) =
                    InputTransformer::new(&transformer.paths, &transformer.template.value)
            {
                problems.at(
                    transformer.template.span,
                    format!("rule `{}` input transformer: {err}", rule.name),
                    "placeholders are `<name>` from input_paths or `<aws.events.*>` variables",
                );
            }
        }
    }
    if let Some(pattern) = bp.bus.archive.as_ref().and_then(|a| a.pattern.as_ref())
        && let Err(err) = EventPattern::from_value(&pattern.value)
    {
        problems.at(
            pattern.span,
            format!("archive pattern: {err}"),
            pattern_help,
        );
    }
    for (i, filter) in bp.pipe.filters.iter().enumerate() {
        if let Err(err) = filter::parse_pipe_filter(&filter.value.to_string()) {
            problems.at(filter.span, format!("pipe filter {}: {err}", i + 1), "Pipes filters use the EventBridge pattern language with fewer operators; docs/patterns.md lists them");
        }
    }
    if let Some(template) = &bp.pipe.input_template {
        match PipeInputTemplate::parse(&template.value) {
            Err(err) => problems.at(template.span, format!("`pipe.input_template`: {err}"), "placeholders are `<$.json.path>` into the stream record or `<aws.pipes.*>` variables; quote those that resolve to strings"),
            Ok(parsed) => {
                for name in parsed.unquoted_placeholders().filter(|n| is_stream_string(n)) {
                    problems.at(
                        template.span,
                        format!("`pipe.input_template`: `<{name}>` is a string in every stream record, and outside quotes its text goes into the event bare, which is not JSON"),
                        format!("quote it: `\"<{name}>\"` (a number attribute, `.N`, may stay bare)"),
                    );
                }
            }
        }
    }
    for (what, field) in [
        ("detail_type", &bp.pipe.detail_type),
        ("source", &bp.pipe.source),
    ] {
        if field.value.starts_with("$.")
            && let Err(err) = JsonPath::parse(&field.value)
        {
            problems.at(
                field.span,
                format!("`pipe.{what}` is not a usable JSON path: {err}"),
                "use a whole-value path such as `$.dynamodb.NewImage.type.S`",
            );
        }
    }
}

fn check_rule_targets(bp: &Blueprint, problems: &mut Problems) {
    let queue_names: Vec<&str> = bp.queues.iter().map(|q| q.name.as_str()).collect();
    let max_targets = TARGETS_PER_RULE_MAX - usize::from(bp.tail);
    for rule in &bp.rules {
        if rule.targets.is_empty() {
            problems.at(
                rule.span,
                format!("rule `{}` has no targets", rule.name),
                "list at least one queue in `targets`",
            );
        }
        if rule.targets.len() > max_targets {
            let why = if bp.tail {
                "a rule has at most 5 targets, and the tail tap takes one; split the rule in two or set `tail: false`"
            } else {
                "a rule has at most 5 targets; split the rule in two"
            };
            problems.at(
                rule.targets[max_targets].span,
                format!(
                    "rule `{}` has {} targets, more than {max_targets}",
                    rule.name,
                    rule.targets.len()
                ),
                why,
            );
        }
        for (i, target) in rule.targets.iter().enumerate() {
            if rule.targets[..i].iter().any(|t| t.value == target.value) {
                problems.at(
                    target.span,
                    format!("rule `{}` lists queue `{}` twice", rule.name, target.value),
                    "remove the repeated target",
                );
            } else if target.value.len() > TARGET_ID_MAX {
                problems.at(target.span, format!("queue name `{}` is longer than {TARGET_ID_MAX} characters, the most a rule target id takes", target.value), "rename the queue: its name is the target's id");
            } else if bp.queue(&target.value).is_none() {
                let help = match suggest(&target.value, &queue_names) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None if queue_names.is_empty() => "declare it under `queues:`".to_string(),
                    None => format!(
                        "declare it under `queues:`, or use one of: {}",
                        queue_names.join(", ")
                    ),
                };
                problems.at(
                    target.span,
                    format!(
                        "rule `{}` targets `{}`, which is not a declared queue",
                        rule.name, target.value
                    ),
                    help,
                );
            }
        }
    }
}

/// One AWS name the template will create, with where it comes from.
struct Planned {
    kind: &'static str,
    name: String,
    max: usize,
    span: Span,
}

fn planned_names(bp: &Blueprint) -> Vec<Planned> {
    let at_stack = bp.name_span;
    let mut names = vec![
        Planned {
            kind: "table",
            name: bp.table_name(),
            max: TABLE_NAME_MAX,
            span: at_stack,
        },
        Planned {
            kind: "pipe",
            name: bp.pipe_name(),
            max: PIPE_NAME_MAX,
            span: at_stack,
        },
        Planned {
            kind: "queue",
            name: bp.pipe_dlq_name(),
            max: QUEUE_NAME_MAX,
            span: at_stack,
        },
        Planned {
            kind: "event bus",
            name: bp.bus_name(),
            max: BUS_NAME_MAX,
            span: at_stack,
        },
    ];
    if bp.bus.archive.is_some() {
        names.push(Planned {
            kind: "archive",
            name: bp.archive_name(),
            max: ARCHIVE_NAME_MAX,
            span: at_stack,
        });
    }
    if bp.tail {
        names.push(Planned {
            kind: "queue",
            name: bp.tail_queue_name(),
            max: QUEUE_NAME_MAX,
            span: at_stack,
        });
        names.push(Planned {
            kind: "queue",
            name: bp.tail_dlq_name(),
            max: QUEUE_NAME_MAX,
            span: at_stack,
        });
        names.push(Planned {
            kind: "rule",
            name: bp.tail_rule_name(),
            max: RULE_NAME_MAX,
            span: at_stack,
        });
    }
    for queue in &bp.queues {
        names.push(Planned {
            kind: "queue",
            name: bp.queue_name(queue),
            max: QUEUE_NAME_MAX,
            span: queue.span,
        });
        names.push(Planned {
            kind: "queue",
            name: bp.queue_dlq_name(queue),
            max: QUEUE_NAME_MAX,
            span: queue.span,
        });
    }
    for rule in &bp.rules {
        names.push(Planned {
            kind: "rule",
            name: bp.rule_name(rule),
            max: RULE_NAME_MAX,
            span: rule.span,
        });
        names.push(Planned {
            kind: "queue",
            name: bp.rule_dlq_name(rule),
            max: QUEUE_NAME_MAX,
            span: rule.span,
        });
    }
    names
}

fn check_physical_names(bp: &Blueprint, problems: &mut Problems) {
    // Every name below starts with the stack name: an invalid one is reported already, and
    // fixing it fixes them.
    if !super::decode::is_stack_name(&bp.name) {
        return;
    }
    let mut seen: HashMap<(&str, &str), Span> = HashMap::new();
    let names = planned_names(bp);
    for planned in &names {
        if planned.name.len() > planned.max {
            problems.at(
                planned.span,
                format!(
                    "the {} name `{}` would be {} characters, more than AWS allows ({})",
                    planned.kind,
                    super::diagnostic::shortened(&planned.name),
                    planned.name.len(),
                    planned.max
                ),
                "shorten the stack `name` or this resource's name",
            );
        }
        if seen
            .insert((planned.kind, &planned.name), planned.span)
            .is_some()
        {
            problems.at(
                planned.span,
                format!("two resources would both be the {} `{}`", planned.kind, planned.name),
                "rename one of them; `tail` and names ending in `-dlq` are taken by outboxctl's own queues",
            );
        }
    }
}

fn check_logical_ids(bp: &Blueprint, problems: &mut Problems) {
    let mut seen: HashMap<String, &str> = HashMap::new();
    for queue in &bp.queues {
        if let Some(other) = seen.insert(logical::pascal(&queue.name), &queue.name) {
            problems.at(
                queue.span,
                format!(
                    "queues `{other}` and `{}` differ only in `_`/`-` or case",
                    queue.name
                ),
                "CloudFormation ids drop `_` and `-`; rename one",
            );
        }
    }
    seen.clear();
    for rule in &bp.rules {
        let id = logical::rule(rule);
        if bp.tail && id == logical::TAIL_RULE {
            problems.at(
                rule.span,
                "rule name `tail` is reserved for the tail's catch-all rule",
                "rename the rule, or set `tail: false`",
            );
        }
        if let Some(other) = seen.insert(logical::pascal(&rule.name), &rule.name) {
            problems.at(
                rule.span,
                format!(
                    "rules `{other}` and `{}` differ only in `_`/`-` or case",
                    rule.name
                ),
                "CloudFormation ids drop `_` and `-`; rename one",
            );
        }
    }
}

fn check_pipe_filters(bp: &Blueprint, problems: &mut Problems) {
    if let Some(extra) = bp.pipe.filters.get(PIPE_FILTERS_MAX) {
        problems.at(
            extra.span,
            format!(
                "`pipe.filters` has {} patterns, more than {PIPE_FILTERS_MAX}",
                bp.pipe.filters.len()
            ),
            "Pipes accepts at most 5 filters (ORed); merge patterns with `$or` or lists of values",
        );
    }
}

/// Filters, templates and paths that read `NewImage`/`OldImage` only work when the
/// stream carries that image; otherwise they silently never match.
fn check_stream_images(bp: &Blueprint, problems: &mut Problems) {
    let view = bp.table.stream_view;
    let mut uses: Vec<(&str, Span, String)> = bp
        .pipe
        .filters
        .iter()
        .map(|f| ("a pipe filter", f.span, f.value.to_string()))
        .collect();
    if let Some(template) = &bp.pipe.input_template {
        uses.push((
            "`pipe.input_template`",
            template.span,
            template.value.clone(),
        ));
    }
    for (what, text) in [
        ("`pipe.detail_type`", &bp.pipe.detail_type),
        ("`pipe.source`", &bp.pipe.source),
    ] {
        uses.push((what, text.span, text.value.clone()));
    }
    for (what, span, text) in uses {
        for (image, present) in [
            ("NewImage", view.has_new_image()),
            ("OldImage", view.has_old_image()),
        ] {
            if text.contains(image) && !present {
                problems.at(
                    span,
                    format!(
                        "{what} reads `{image}`, but the table's stream view is {}",
                        view.as_str()
                    ),
                    format!(
                        "set `table.stream_view: NEW_AND_OLD_IMAGES` (or one that includes {image})"
                    ),
                );
            }
        }
    }
}

/// Whether a Pipes placeholder always resolves to a string in a DynamoDB stream record: the
/// record's own text fields, the string and binary values of attributes (`<attr>.S`, also
/// inside maps: `<attr>.M.<key>.S`), and the reserved variables other than the record.
fn is_stream_string(placeholder: &str) -> bool {
    if let Some(variable) = placeholder.strip_prefix("aws.pipes.") {
        return !variable.starts_with("event") || variable == "event.ingestion-time";
    }
    let path = JsonPath::parse(placeholder).ok();
    let Some(keys) = path.as_ref().and_then(JsonPath::keys) else {
        return false;
    };
    match keys[..] {
        [
            "eventID" | "eventName" | "eventVersion" | "eventSource" | "awsRegion"
            | "eventSourceARN",
        ] => true,
        ["dynamodb", "SequenceNumber" | "StreamViewType"] => true,
        ["dynamodb", "NewImage" | "OldImage" | "Keys", ref typed @ ..] => is_text_value(typed),
        _ => false,
    }
}

/// Whether attribute-value keys (`name, type, name, type, …`, maps in between) end at a
/// string or binary value.
fn is_text_value(keys: &[&str]) -> bool {
    let pairs = keys.chunks(2);
    let count = pairs.len();
    !keys.is_empty()
        && keys.len().is_multiple_of(2)
        && pairs.enumerate().all(|(i, pair)| match pair[1] {
            "S" | "B" => i + 1 == count,
            "M" => i + 1 < count,
            _ => false,
        })
}

/// The API keys each order by request id and time: the key types must hold them, and
/// body fields must not overwrite the keys.
fn check_api(bp: &Blueprint, problems: &mut Problems) {
    let Some(api) = &bp.api else { return };
    let (pk, sk) = (&bp.table.partition_key, bp.table.sort_key.as_ref());
    if pk.kind != KeyType::S {
        problems.at(pk.span, format!("the API needs a string partition key, but `{}` is {}", pk.name, pk.kind.as_str()), "the API keys orders by request id: use `partition_key: {name: ..., type: S}`, or remove `api`");
    }
    if let Some(sort) = sk.filter(|s| s.kind == KeyType::B) {
        problems.at(
            sort.span,
            format!("the API cannot fill the binary sort key `{}`", sort.name),
            "use an S or N sort key (the API writes the request time in epoch milliseconds)",
        );
    }
    for field in &api.fields {
        let name = &field.name;
        let reserved =
            name == &pk.name || sk.is_some_and(|s| &s.name == name) || name == CREATED_AT_ATTRIBUTE;
        if reserved {
            problems.at(
                field.span,
                format!("`api.fields.{name}` would overwrite an attribute the API sets itself"),
                format!(
                    "the API sets the key attributes and `{CREATED_AT_ATTRIBUTE}`; rename the field"
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_stream_string;

    #[test]
    fn bare_placeholders_that_are_always_strings() {
        for always in [
            "$.eventName",
            r#"$["eventName"]"#,
            "$.dynamodb.SequenceNumber",
            "$.dynamodb.Keys.pk.S",
            "$.dynamodb.NewImage.address.M.city.S",
            "$.dynamodb.OldImage.blob.B",
            "aws.pipes.pipe-name",
            "aws.pipes.event.ingestion-time",
        ] {
            assert!(is_stream_string(always), "{always}");
        }
        for not_always in [
            "$.dynamodb.NewImage.total.N",
            "$.dynamodb.NewImage",
            // An attribute named `S`, or one inside a map: attribute values, not strings.
            "$.dynamodb.NewImage.S",
            "$.dynamodb.Keys.S",
            "$.dynamodb.NewImage.m.M.S",
            "$.dynamodb.NewImage.tags.L",
            "$.dynamodb.ApproximateCreationDateTime",
            "aws.pipes.event",
            "aws.pipes.event.json",
        ] {
            assert!(!is_stream_string(not_always), "{not_always}");
        }
    }
}
