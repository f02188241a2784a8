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
