//! Defaults and limits of the blueprint, checked through `parse` as a user meets them.

use super::*;

fn parse_ok(text: &str) -> Blueprint {
    parse("test.yaml", text).unwrap_or_else(|d| panic!("{d}"))
}

fn messages(text: &str) -> Vec<String> {
    parse("test.yaml", text)
        .expect_err("the blueprint should be invalid")
        .items
        .into_iter()
        .map(|d| d.message)
        .collect()
}

#[test]
fn defaults_are_safe_and_complete() {
    let bp = parse_ok("name: shop\n");
    assert_eq!(bp.table_name(), "shop-orders");
    assert_eq!(
        bp.table.partition_key,
        Key {
            name: "pk".into(),
            kind: KeyType::S,
            span: Span::default()
        }
    );
    assert_eq!(bp.table.sort_key, None);
    assert_eq!(bp.table.billing, Billing::OnDemand);
    assert_eq!(bp.table.stream_view, StreamView::NewAndOldImages);
    assert!(bp.table.point_in_time_recovery);
    assert!(bp.table.retain_on_delete);
    assert!(!bp.table.deletion_protection);
    assert_eq!(bp.table.encryption, Encryption::AwsManaged);

    let pipe = &bp.pipe;
    assert_eq!(bp.pipe_name(), "shop-outbox");
    assert_eq!(pipe.starting_position, StartingPosition::TrimHorizon);
    assert_eq!(pipe.batch_size, 10);
    assert_eq!(pipe.batching_window_seconds, 0);
    assert_eq!(
        pipe.max_retries, 10,
        "finite retries so failures reach the DLQ"
    );
    assert_eq!(
        pipe.max_record_age_seconds, 3600,
        "well below the 24 h stream retention"
    );
    assert!(pipe.bisect_on_error);
    assert_eq!(pipe.parallelization, 1);
    assert!(pipe.filters.is_empty());
    assert_eq!(pipe.detail_type.value, "$.eventName");
    assert_eq!(pipe.source.value, "outboxctl.shop");
    assert_eq!(pipe.dlq_retention_seconds, 1_209_600);
    assert_eq!(pipe.log_level, LogLevel::Error);
    assert!(pipe.running);

    assert_eq!(bp.bus_name(), "shop-events");
    assert_eq!(bp.bus.archive, None);
    assert!(bp.tail, "the tail is on by default");
    assert_eq!(bp.api, None);
}

#[test]
fn queue_and_rule_defaults() {
    let bp = parse_ok(
        "name: shop\nqueues:\n  a:\nrules:\n  r:\n    pattern: {source: [x]}\n    targets: [a]\n",
    );
    let queue = &bp.queues[0];
    assert_eq!(queue.visibility_timeout_seconds, 30);
    assert_eq!(queue.retention_seconds, 345_600);
    assert_eq!(queue.max_receive_count, 5);
    assert!(queue.dlq_retention_seconds > queue.retention_seconds);
    let rule = &bp.rules[0];
    assert_eq!(rule.max_retry_attempts, 24);
    assert_eq!(rule.max_event_age_seconds, 3600);
    assert!(rule.enabled);
    assert_eq!(rule.pattern.value, serde_json::json!({"source": ["x"]}));
}

#[test]
fn api_true_takes_every_default() {
    let bp = parse_ok("name: shop\napi: true\n");
    let api = bp.api.unwrap();
    assert_eq!(
        (api.path.as_str(), api.auth, api.stage.as_str()),
        ("orders", ApiAuth::Iam, "v1")
    );
}

/// (section yaml prefix, key, min, max) for every numeric setting.
const RANGES: &[(&str, &str, i64, i64)] = &[
    ("pipe", "batch_size", 1, 10),
    ("pipe", "batching_window_seconds", 0, 300),
    ("pipe", "max_retries", 0, 10_000),
    ("pipe", "max_record_age_seconds", 60, 86_399),
    ("pipe", "parallelization", 1, 10),
    ("pipe", "dlq_retention_seconds", 60, 1_209_600),
    ("queues.q", "visibility_timeout_seconds", 0, 43_200),
    ("queues.q", "max_receive_count", 1, 1000),
    ("rules.r", "retry_attempts", 0, 185),
    ("rules.r", "max_event_age_seconds", 60, 86_400),
    ("bus.archive", "retention_days", 0, 36_500),
];

fn with_setting(section: &str, key: &str, value: i64) -> String {
    let mut text = String::from("name: shop\nqueues:\n  q:\n");
    match section {
        "pipe" => text += &format!("pipe:\n  {key}: {value}\n"),
        "queues.q" => text = format!("name: shop\nqueues:\n  q:\n    {key}: {value}\n"),
        "bus.archive" => text += &format!("bus:\n  archive:\n    {key}: {value}\n"),
        _ => {}
    }
    text += "rules:\n  r:\n    pattern: {source: [x]}\n    targets: [q]\n";
    if section == "rules.r" {
        text += &format!("    {key}: {value}\n");
    }
    text
}

#[test]
fn every_range_accepts_its_bounds_and_rejects_beyond() {
    for &(section, key, min, max) in RANGES {
        for ok in [min, max] {
            let text = with_setting(section, key, ok);
            assert!(
                parse("t.yaml", &text).is_ok(),
                "{section}.{key}: {ok} should be accepted:\n{text}"
            );
        }
        for bad in [min - 1, max + 1] {
            let found = messages(&with_setting(section, key, bad));
            // -1 means "forever" to Pipes: it gets a message of its own.
            let expected = if key == "max_retries" && bad == -1 {
                "retry forever".to_string()
            } else {
                format!("between {min} and {max}")
            };
            assert!(
                found
                    .iter()
                    .any(|m| m.contains(key) && m.contains(&expected)),
                "{section}.{key}: {bad} should be rejected with its range, got {found:?}"
            );
        }
    }
}

#[test]
fn a_queue_keeps_messages_shorter_than_its_dlq() {
    let found = messages(
        "name: shop\nqueues:\n  q:\n    retention_seconds: 600\n    dlq_retention_seconds: 600\n",
    );
    assert!(
        found[0].contains("must be shorter than its DLQ's"),
        "{found:?}"
    );
}

#[test]
fn targets_leave_room_for_the_tail_tap() {
    let four = "name: s\nqueues: {a: , b: , c: , d: , e: }\nrules:\n  r:\n    pattern: {source: [x]}\n    targets: [a, b, c, d]\n";
    assert!(parse("t.yaml", four).is_ok());
    let five = four.replace("[a, b, c, d]", "[a, b, c, d, e]");
    assert!(messages(&five)[0].contains("more than 4"));
    let five_without_tail = format!("{five}tail: false\n");
    assert!(
        parse("t.yaml", &five_without_tail).is_ok(),
        "without the tail a rule takes 5 targets"
    );
}

#[test]
fn every_problem_is_reported_in_source_order() {
    let err = parse(
        "t.yaml",
        "name: shop\npipe:\n  batch_size: 11\n  parallelization: 0\ntail: maybe\n",
    )
    .unwrap_err();
    let lines: Vec<usize> = err.items.iter().map(|d| d.span.line).collect();
    assert_eq!(lines, vec![3, 4, 5]);
}

#[test]
fn patterns_may_be_json_strings() {
    let bp = parse_ok(
        "name: s\nqueues: {a: }\nrules:\n  r:\n    pattern: '{\"detail\": {\"n\": [{\"numeric\": [\">\", 5]}]}}'\n    targets: [a]\n",
    );
    assert_eq!(bp.rules[0].pattern.value["detail"]["n"][0]["numeric"][1], 5);
}

#[test]
fn yaml_numbers_in_patterns_stay_numbers() {
    let bp = parse_ok(
        "name: s\nqueues: {a: }\nrules:\n  r:\n    pattern: {detail: {total: [300, 12.5], flag: [true, null]}}\n    targets: [a]\n",
    );
    assert_eq!(
        bp.rules[0].pattern.value,
        serde_json::json!({"detail": {"total": [300, 12.5], "flag": [true, null]}})
    );
}

/// Notepad and other Windows editors start UTF-8 files with a byte-order mark; YAML
/// allows it, and it is not part of the first key.
#[test]
fn a_byte_order_mark_is_not_part_of_the_blueprint() {
    let bp = parse_ok("\u{feff}name: shop\n");
    assert_eq!(bp.name, "shop");
}

/// A file that is not UTF-8 is reported at its first bad byte, counting lines as YAML
/// does: `\r\n`, `\n` and a lone `\r` each end one.
#[test]
fn text_that_is_not_utf8_is_placed_at_its_first_bad_byte() {
    for (bytes, line, column) in [
        (&b"name: shop\ntags:\n  team: caf\xe9\n"[..], 3, 12),
        (b"name: shop\r# c\rtags:\r  team: caf\xe9\r", 4, 12),
        (b"name: shop\r\n\xe9", 2, 1),
        (b"\xe9", 1, 1),
    ] {
        let err = String::from_utf8(bytes.to_vec()).unwrap_err();
        let span = not_utf8("t.yaml", err).items[0].span;
        assert_eq!((span.line, span.column), (line, column), "{bytes:?}");
    }
}
