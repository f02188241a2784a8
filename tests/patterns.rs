//! `outboxctl pattern test` end to end: output and exit codes as TestEventPattern answers.

use std::process::{Command, Output};

const EVENT: &str = r#"{"version": "0", "id": "e-1", "detail-type": "OrderCreated", "source": "shop.orders",
  "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "eu-west-1", "resources": [],
  "detail": {"orderId": "o-1", "total": 250.0, "lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 3}]}}"#;

fn outboxctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_outboxctl"))
        .args(args)
        .output()
        .expect("run outboxctl")
}

fn pattern_test(pattern: &str, event: &str) -> (String, String, Option<i32>) {
    let out = outboxctl(&["pattern", "test", "--pattern", pattern, "--event", event]);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

#[test]
fn a_matching_pattern_prints_true_and_exits_0() {
    let (stdout, _, code) = pattern_test(
        r#"{"source": ["shop.orders"], "detail": {"total": [{"numeric": [">=", 100]}]}}"#,
        EVENT,
    );
    assert_eq!((stdout.as_str(), code), ("true\n", Some(0)));
}

#[test]
fn a_non_matching_pattern_prints_false_and_exits_1() {
    let (stdout, _, code) = pattern_test(
        r#"{"detail": {"lines": {"sku": ["A"], "qty": [3]}}}"#,
        EVENT,
    );
    assert_eq!((stdout.as_str(), code), ("false\n", Some(1)));
}

#[test]
fn an_invalid_pattern_prints_the_aws_message_and_exits_2() {
    let pattern = r#"{"source": [{"prefix": "a", "suffix": "b"}]}"#;
    let (stdout, stderr, code) = pattern_test(pattern, EVENT);
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!(
            "InvalidEventPatternException: Event pattern is not valid. Reason: Only one key allowed in match expression\n at [Source: (String)\"{pattern}\"; line: 1, column: 40]\n"
        )
    );
    assert_eq!(code, Some(2));
}

#[test]
fn a_pattern_longer_than_4096_characters_is_refused_like_aws() {
    // TestEventPattern's EventPattern is at most 4096 characters; characters, not bytes.
    let sized = |chars: usize| format!(r#"{{"source": ["{}"]}}"#, "é".repeat(chars - 16));
    assert_eq!(sized(4096).chars().count(), 4096);
    let (stdout, _, code) = pattern_test(&sized(4096), EVENT);
    assert_eq!((stdout.as_str(), code), ("false\n", Some(1)));
    let (stdout, stderr, code) = pattern_test(&sized(4097), EVENT);
    assert_eq!((stdout.as_str(), code), ("", Some(2)));
    assert!(
        stderr.starts_with("ValidationException: 1 validation error detected")
            && stderr.contains("less than or equal to 4096 (it has 4097)"),
        "{stderr}"
    );
}

#[test]
fn an_event_without_the_envelope_is_rejected_like_aws() {
    let (stdout, stderr, code) = pattern_test(
        r#"{"source": ["shop.orders"]}"#,
        r#"{"source": "shop.orders"}"#,
    );
    assert_eq!(stdout, "");
    assert!(
        stderr.starts_with("ValidationException: Parameter Event is not valid.\n"),
        "{stderr}"
    );
    assert!(stderr.contains("`id`"), "{stderr}");
    assert_eq!(code, Some(2));
}

#[test]
fn arguments_not_starting_with_a_brace_are_files() {
    let dir = tempfile::tempdir().unwrap();
    let pattern = dir.path().join("pattern.json");
    let event = dir.path().join("event.json");
    std::fs::write(&pattern, r#"{"region": [{"prefix": "eu-"}]}"#).unwrap();
    std::fs::write(&event, EVENT).unwrap();
    let (stdout, _, code) = pattern_test(pattern.to_str().unwrap(), event.to_str().unwrap());
    assert_eq!((stdout.as_str(), code), ("true\n", Some(0)));
    let (_, stderr, code) = pattern_test(dir.path().join("missing.json").to_str().unwrap(), EVENT);
    assert!(stderr.contains("cannot read the pattern file"), "{stderr}");
    assert_eq!(code, Some(2));
}

/// A stream record of the marketplace blueprint's orders table.
fn stream_record(event_name: &str) -> String {
    format!(
        r#"{{"eventID": "1", "eventName": "{event_name}", "eventVersion": "1.1",
  "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
  "dynamodb": {{"Keys": {{"orderId": {{"S": "o-1"}}}},
    "NewImage": {{"orderId": {{"S": "o-1"}}, "status": {{"S": "PAID"}}, "country": {{"S": "DE"}},
      "amount": {{"N": "129.5"}}}},
    "StreamViewType": "NEW_AND_OLD_IMAGES", "SequenceNumber": "100", "SizeBytes": 50}},
  "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"}}"#
    )
}

#[test]
fn blueprint_mode_runs_a_stream_record_through_the_pipe_and_every_rule() {
    let blueprint = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/blueprints/multi-consumer.yaml"
    );
    // The issue's spelling: a bare `--blueprint`, then `-f FILE`.
    let record = stream_record("INSERT");
    let args = [
        "pattern",
        "test",
        "--blueprint",
        "-f",
        blueprint,
        "--event",
        &record,
    ];
    let out = outboxctl(&args);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "pipe filters: pass\n\
         rule paid                     match     → billing, analytics\n\
         rule ship                     match     → shipping\n\
         rule large_foreign_orders     no match  → fraud_review\n"
    );
    assert_eq!(out.status.code(), Some(0));

    // The pipe keeps only INSERT and MODIFY: a REMOVE never reaches the bus.
    let record = stream_record("REMOVE");
    let out = outboxctl(&["pattern", "test", "-f", blueprint, "--event", &record]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("pipe filters: drop"), "{stdout}");
    let rules: Vec<&str> = stdout.lines().filter(|l| l.starts_with("rule ")).collect();
    assert_eq!(rules.len(), 3, "{stdout}");
    assert!(rules.iter().all(|l| l.contains("no match")), "{stdout}");
    assert_eq!(out.status.code(), Some(1));

    // A disabled rule delivers nothing, and says why.
    let dir = tempfile::tempdir().unwrap();
    let disabled = dir.path().join("outbox.yaml");
    let text = std::fs::read_to_string(blueprint).unwrap().replace(
        "    targets: [billing, analytics]\n",
        "    targets: [billing, analytics]\n    enabled: false\n",
    );
    std::fs::write(&disabled, text).unwrap();
    let record = stream_record("INSERT");
    let path = disabled.to_str().unwrap();
    let out = outboxctl(&["pattern", "test", "-f", path, "--event", &record]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("rule paid                     disabled (its pattern matches) → billing"),
        "{stdout}"
    );
    assert_eq!(out.status.code(), Some(0), "`ship` still matches");
    let args = [
        "pattern", "test", "-f", path, "--event", &record, "--output", "json",
    ];
    let answer: serde_json::Value = serde_json::from_slice(&outboxctl(&args).stdout).unwrap();
    assert_eq!(answer["rules"][0]["matched"], false);
    assert_eq!(answer["rules"][0]["enabled"], false);
    assert_eq!(answer["rules"][0]["pattern_matches"], true);
}

/// A record the filters pass but the pipe cannot put on the bus (the detail type it reads
/// is not text): said on stderr, and to a script as the answer's `pipe_error`.
#[test]
fn a_record_the_pipe_cannot_deliver_is_answered_in_json_too() {
    let blueprint = concat!(env!("CARGO_MANIFEST_DIR"), "/blueprints/food-ordering.yaml");
    let record = r#"{"eventSource": "aws:dynamodb", "eventName": {"a": 1}, "dynamodb": {"Keys": {"pk": {"S": "ORDER#1"}}}}"#;
    let out = outboxctl(&[
        "pattern", "test", "-f", blueprint, "--event", record, "--output", "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["pipe_passed"], true);
    assert!(
        answer["pipe_error"]
            .as_str()
            .unwrap()
            .contains("$.eventName"),
        "{answer}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("the pipe cannot deliver this record"));
}
