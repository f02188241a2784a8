//! Matching semantics per operator, written from the EventBridge user guide ("Event
//! patterns", "Content filtering", "Arrays", "Null values") and aws-notes.md.

use serde_json::{Value, json};

use super::test_rng::below_from;
use super::{EventPattern, Matcher};

fn event(detail: Value) -> Value {
    json!({"version": "0", "id": "6a7e8feb", "detail-type": "Order Created", "source": "shop.orders",
           "account": "123456789012", "time": "2026-10-02T18:43:48Z", "region": "us-east-1",
           "resources": ["arn:aws:dynamodb:us-east-1:123456789012:table/orders"], "detail": detail})
}

/// Check a pattern both ways (parsed-value walk and raw-JSON walk) and return the answer.
fn matches(pattern: &str, event: &Value) -> bool {
    let pattern = EventPattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
    let by_value = pattern.matches(event);
    let mut matcher = Matcher::new();
    matcher.add(1, &pattern);
    let by_text = !matcher.matches_json(&event.to_string()).unwrap().is_empty();
    assert_eq!(by_value, by_text, "value and text walks disagree");
    by_value
}

fn detail_matches(field_pattern: &str, detail: Value) -> bool {
    matches(&format!(r#"{{"detail": {field_pattern}}}"#), &event(detail))
}

#[test]
fn exact_strings_are_case_sensitive_and_any_listed_value_matches() {
    let e = event(json!({"state": "running"}));
    assert!(matches(r#"{"source": ["shop.orders"]}"#, &e));
    assert!(matches(
        r#"{"detail": {"state": ["stopped", "running"]}}"#,
        &e
    ));
    assert!(!matches(r#"{"detail": {"state": ["Running"]}}"#, &e));
    assert!(!matches(r#"{"detail": {"missing": ["running"]}}"#, &e));
}

#[test]
fn all_fields_must_match() {
    let e = event(json!({"state": "running"}));
    assert!(matches(
        r#"{"source": ["shop.orders"], "detail": {"state": ["running"]}}"#,
        &e
    ));
    assert!(!matches(
        r#"{"source": ["shop.orders"], "detail": {"state": ["stopped"]}}"#,
        &e
    ));
}

#[test]
fn match_all_matches_every_event_in_a_matcher_too() {
    let all = EventPattern::match_all();
    assert!(all.matches(&event(json!({}))));
    assert!(all.matches(&json!({"anything": 1})));
    let mut matcher = Matcher::new();
    matcher.add("all", &all);
    matcher.add(
        "none",
        &EventPattern::parse(r#"{"source": ["x"]}"#).unwrap(),
    );
    assert_eq!(matcher.matches_json(r#"{"source": "y"}"#).unwrap(), ["all"]);
}

#[test]
fn an_empty_prefix_matches_every_string() {
    // The documented way to match all events, since `{}` is refused.
    assert!(matches(
        r#"{"source": [{"prefix": ""}]}"#,
        &event(json!({}))
    ));
    assert!(!matches(
        r#"{"source": [{"prefix": ""}]}"#,
        &json!({"source": 1})
    ));
}

#[test]
fn numbers_match_by_value_not_text() {
    assert!(detail_matches(r#"{"n": [300]}"#, json!({"n": 300.0})));
    assert!(detail_matches(r#"{"n": [3.0e2]}"#, json!({"n": 300})));
    assert!(!detail_matches(r#"{"n": [300]}"#, json!({"n": "300"})));
    assert!(!detail_matches(r#"{"n": ["300"]}"#, json!({"n": 300})));
    // Too big to compare by value: literal text still matches (account ids and the like).
    assert!(detail_matches(
        r#"{"n": [123456789012]}"#,
        json!({"n": 123456789012u64})
    ));
}

#[test]
fn booleans_and_null_match_exactly() {
    assert!(detail_matches(r#"{"b": [true]}"#, json!({"b": true})));
    assert!(!detail_matches(r#"{"b": [true]}"#, json!({"b": "true"})));
    assert!(detail_matches(r#"{"v": [null]}"#, json!({"v": null})));
    assert!(!detail_matches(r#"{"v": [null]}"#, json!({})));
    assert!(!detail_matches(r#"{"v": [null]}"#, json!({"v": ""})));
    assert!(detail_matches(r#"{"v": [""]}"#, json!({"v": ""})));
    assert!(!detail_matches(r#"{"v": [""]}"#, json!({"v": null})));
}

#[test]
fn prefix_and_suffix() {
    assert!(matches(
        r#"{"time": [{"prefix": "2026-10-02"}]}"#,
        &event(json!({}))
    ));
    assert!(!matches(
        r#"{"time": [{"prefix": "2026-10-03"}]}"#,
        &event(json!({}))
    ));
    assert!(detail_matches(
        r#"{"f": [{"suffix": ".png"}]}"#,
        json!({"f": "a.png"})
    ));
    assert!(!detail_matches(
        r#"{"f": [{"suffix": ".png"}]}"#,
        json!({"f": "a.PNG"})
    ));
    assert!(!detail_matches(
        r#"{"f": [{"prefix": "1"}]}"#,
        json!({"f": 12})
    ));
}

#[test]
fn prefix_and_suffix_ignoring_case() {
    let p = r#"{"s": [{"prefix": {"equals-ignore-case": "EventB"}}]}"#;
    assert!(detail_matches(p, json!({"s": "eventbridge"})));
    assert!(detail_matches(p, json!({"s": "EVENTBRIDGE"})));
    assert!(!detail_matches(p, json!({"s": "bridge"})));
    let s = r#"{"f": [{"suffix": {"equals-ignore-case": ".png"}}]}"#;
    assert!(detail_matches(s, json!({"f": "A.PNG"})));
    assert!(!detail_matches(s, json!({"f": "a.jpg"})));
}

#[test]
fn equals_ignore_case() {
    let p = r#"{"name": [{"equals-ignore-case": "alice"}]}"#;
    assert!(detail_matches(p, json!({"name": "ALICE"})));
    assert!(detail_matches(p, json!({"name": "Alice"})));
    assert!(!detail_matches(p, json!({"name": "Alicia"})));
}

#[test]
fn wildcard_with_escapes() {
    let p = r#"{"path": [{"wildcard": "dir/*.png"}]}"#;
    assert!(detail_matches(p, json!({"path": "dir/a.png"})));
    assert!(detail_matches(p, json!({"path": "dir/sub/a.png"})));
    assert!(!detail_matches(p, json!({"path": "other/a.png"})));
    let escaped = r#"{"v": [{"wildcard": "a\\*b"}]}"#;
    assert!(detail_matches(escaped, json!({"v": "a*b"})));
    assert!(!detail_matches(escaped, json!({"v": "axb"})));
}

#[test]
fn anything_but_value_and_lists() {
    let one = r#"{"state": [{"anything-but": "initializing"}]}"#;
    assert!(detail_matches(one, json!({"state": "running"})));
    assert!(!detail_matches(one, json!({"state": "initializing"})));
    assert!(
        !detail_matches(one, json!({})),
        "anything-but needs the field"
    );
    let list = r#"{"state": [{"anything-but": ["stopped", "overloaded"]}]}"#;
    assert!(detail_matches(list, json!({"state": "running"})));
    assert!(!detail_matches(list, json!({"state": "stopped"})));
    let numbers = r#"{"x": [{"anything-but": [100, 200]}]}"#;
    assert!(detail_matches(numbers, json!({"x": 150})));
    assert!(!detail_matches(numbers, json!({"x": 200.0})));
}

#[test]
fn anything_but_prefix_suffix_ignore_case_and_wildcard() {
    let prefix = r#"{"r": [{"anything-but": {"prefix": "us-"}}]}"#;
    assert!(detail_matches(prefix, json!({"r": "eu-west-1"})));
    assert!(!detail_matches(prefix, json!({"r": "us-east-1"})));
    let suffix = r#"{"f": [{"anything-but": {"suffix": ".png"}}]}"#;
    assert!(detail_matches(suffix, json!({"f": "a.txt"})));
    assert!(!detail_matches(suffix, json!({"f": "a.png"})));
    let case = r#"{"s": [{"anything-but": {"equals-ignore-case": ["initializing", "stopped"]}}]}"#;
    assert!(detail_matches(case, json!({"s": "running"})));
    assert!(!detail_matches(case, json!({"s": "INITIALIZING"})));
    let wildcard = r#"{"p": [{"anything-but": {"wildcard": "*/lib/*"}}]}"#;
    assert!(detail_matches(wildcard, json!({"p": "/usr/bin/x"})));
    assert!(!detail_matches(wildcard, json!({"p": "/usr/lib/x"})));
}

#[test]
fn numeric_ranges() {
    let range = r#"{"c": [{"numeric": [">", 0, "<=", 5]}]}"#;
    assert!(detail_matches(range, json!({"c": 5})));
    assert!(detail_matches(range, json!({"c": 0.000001})));
    assert!(!detail_matches(range, json!({"c": 0})));
    assert!(!detail_matches(range, json!({"c": 5.1})));
    assert!(
        !detail_matches(range, json!({"c": "3"})),
        "numeric never matches strings"
    );
    assert!(detail_matches(
        r#"{"c": [{"numeric": ["<", 10]}]}"#,
        json!({"c": -3})
    ));
    assert!(detail_matches(
        r#"{"c": [{"numeric": [">=", 10]}]}"#,
        json!({"c": 10})
    ));
    assert!(detail_matches(
        r#"{"c": [{"numeric": ["=", 301.8]}]}"#,
        json!({"c": 3.018e2})
    ));
}

#[test]
fn cidr_v4_and_v6_and_ip_exact_values() {
    let v4 = r#"{"ip": [{"cidr": "10.0.0.0/24"}]}"#;
    assert!(detail_matches(v4, json!({"ip": "10.0.0.255"})));
    assert!(!detail_matches(v4, json!({"ip": "10.0.1.1"})));
    let v6 = r#"{"ip": [{"cidr": "2001:db8::/64"}]}"#;
    assert!(detail_matches(v6, json!({"ip": "2001:db8::42"})));
    assert!(!detail_matches(v6, json!({"ip": "2001:db9::42"})));
    assert!(detail_matches(
        r#"{"ip": ["::1"]}"#,
        json!({"ip": "0:0:0:0:0:0:0:1"})
    ));
}

#[test]
fn exists_is_about_leaves() {
    let yes = r#"{"c": [{"exists": true}]}"#;
    let no = r#"{"c": [{"exists": false}]}"#;
    assert!(detail_matches(yes, json!({"c": "x"})));
    assert!(detail_matches(yes, json!({"c": null})));
    assert!(!detail_matches(yes, json!({})));
    assert!(
        !detail_matches(yes, json!({"c": []})),
        "an empty array has no leaf"
    );
    assert!(
        !detail_matches(yes, json!({"c": {"d": 1}})),
        "objects are not leaves"
    );
    assert!(detail_matches(no, json!({})));
    assert!(detail_matches(no, json!({"c": []})));
    assert!(!detail_matches(no, json!({"c": 1})));
    assert!(detail_matches(
        r#"{"c": ["x", {"exists": false}]}"#,
        json!({})
    ));
}

#[test]
fn or_of_sub_patterns() {
    let p = r#"{"source": ["shop.orders"], "$or": [{"detail": {"a": [1]}}, {"detail": {"b": [{"numeric": [">", 10]}]}}]}"#;
    assert!(matches(p, &event(json!({"a": 1}))));
    assert!(matches(p, &event(json!({"b": 11}))));
    assert!(!matches(p, &event(json!({"a": 2, "b": 10}))));
    let nested = r#"{"detail": {"$or": [{"a": [1]}, {"$or": [{"b": [2]}, {"c": [3]}]}]}}"#;
    assert!(matches(nested, &event(json!({"c": 3}))));
    assert!(!matches(nested, &event(json!({"d": 3}))));
}

#[test]
fn arrays_on_either_side() {
    assert!(matches(
        r#"{"resources": ["arn:aws:dynamodb:us-east-1:123456789012:table/orders", "other"]}"#,
        &event(json!({}))
    ));
    assert!(detail_matches(
        r#"{"tags": ["b"]}"#,
        json!({"tags": ["a", "b"]})
    ));
    assert!(!detail_matches(
        r#"{"tags": ["c"]}"#,
        json!({"tags": ["a", "b"]})
    ));
    assert!(detail_matches(
        r#"{"m": ["x"]}"#,
        json!({"m": [["x"], ["y"]]})
    ));
}

#[test]
fn fields_inside_one_array_of_objects_must_come_from_one_element() {
    let detail = json!({"lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 5}]});
    assert!(detail_matches(
        r#"{"lines": {"sku": ["B"], "qty": [5]}}"#,
        detail.clone()
    ));
    assert!(!detail_matches(
        r#"{"lines": {"sku": ["A"], "qty": [5]}}"#,
        detail.clone()
    ));
    assert!(detail_matches(
        r#"{"lines": {"sku": ["A", "B"], "qty": [5]}}"#,
        detail
    ));
}

/// Fields in independent arrays do not tie their elements together, so matching must not
/// try every combination of elements: twelve arrays of ten elements would be 10^12 of
/// them. Fields of one array still come from one element, however many arrays are around.
#[test]
fn independent_arrays_do_not_multiply_the_work() {
    finishes(independent_arrays);
}

/// Run `check` on another thread and fail when it has not finished within a minute: were
/// matching exponential again, these tests should fail, not hang.
fn finishes(check: fn()) {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        check();
        let _ = done.send(());
    });
    match finished.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(()) => {}
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("matching took more than a minute: the work multiplies again")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("the check failed"),
    }
}

fn independent_arrays() {
    let arrays = 12;
    let mut fields: Vec<String> = (0..arrays)
        .map(|i| format!(r#""f{i}": {{"v": [1]}}"#))
        .collect();
    let mut detail = serde_json::Map::new();
    for i in 0..arrays {
        detail.insert(format!("f{i}"), json!(vec![json!({"v": 1, "w": 2}); 10]));
    }
    detail.insert("z".into(), json!(2));
    fields.push(r#""z": [3]"#.into());
    let miss = format!("{{{}}}", fields.join(", "));
    assert!(!detail_matches(&miss, Value::Object(detail.clone())));
    *fields.last_mut().unwrap() = r#""z": [2]"#.into();
    assert!(detail_matches(
        &format!("{{{}}}", fields.join(", ")),
        Value::Object(detail.clone())
    ));

    // A later field in the first array ties it again: `w` must come from the element `v`
    // came from, across the other arrays in between.
    let lines = json!([{"v": 1, "w": 2}, {"v": 5, "w": 3}, {"v": 1, "w": 4}]);
    detail.insert("f0".into(), lines);
    let tied = |w: u32| {
        let mut fields: Vec<String> = (1..arrays)
            .map(|i| format!(r#""f{i}": {{"v": [1]}}"#))
            .collect();
        fields.insert(0, format!(r#""f0": {{"v": [1], "w": [{w}]}}"#));
        format!("{{{}}}", fields.join(", "))
    };
    assert!(detail_matches(&tied(4), Value::Object(detail.clone())));
    assert!(!detail_matches(&tied(3), Value::Object(detail)));
}

/// Two fields of one large array: the second field's state is visited once per element,
/// and must look only at that element's leaves, or 60,000 elements compare 3.6 x 10^9
/// pairs (minutes; well under a second when linear).
#[test]
fn two_fields_of_one_large_array_stay_linear() {
    finishes(one_large_array);
}

fn one_large_array() {
    let elements = 60_000;
    let lines: Vec<Value> = (0..elements)
        .map(|i| json!({"sku": format!("S{}", i % 100), "qty": i % 7}))
        .collect();
    let detail = json!({"lines": lines});
    // Element 710 has sku S10 and qty 3 (710 % 7); no element has qty 99.
    assert!(detail_matches(
        r#"{"lines": {"sku": ["S10"], "qty": [3]}}"#,
        detail.clone()
    ));
    assert!(!detail_matches(
        r#"{"lines": {"sku": ["S10"], "qty": [99]}}"#,
        detail
    ));
}

/// Fields of one array must come from one element, whether the array is walked leaf by
/// leaf (small) or through its leaves by element (large), with elements that lack a field,
/// arrays nested in it, and leaves outside it: checked against the definition on
/// generated arrays.
#[test]
fn fields_of_one_array_agree_with_the_definition_at_every_size() {
    let mut next = below_from(0xD1B5_4A32_D192_ED03);
    for round in 0..300 {
        let size = if round % 2 == 0 {
            1 + next(10)
        } else {
            16 + next(60)
        };
        let mut objects: Vec<(Option<usize>, Option<usize>)> = Vec::new();
        let mut lines = Vec::new();
        for _ in 0..size {
            if next(5) == 0 {
                // An element that is itself an array of objects.
                let inner: Vec<Value> = (0..1 + next(3))
                    .map(|_| {
                        let (a, b, value) = generated_object(&mut next);
                        objects.push((a, b));
                        value
                    })
                    .collect();
                lines.push(Value::Array(inner));
            } else {
                let (a, b, value) = generated_object(&mut next);
                objects.push((a, b));
                lines.push(value);
            }
        }
        let (want_a, want_b) = (next(6), next(6));
        // A leaf of `b` outside the array agrees with every element.
        let outside_b = (next(4) == 0).then(|| next(6));
        let mut detail = json!({"lines": lines});
        if let Some(b) = outside_b {
            detail["lines.b"] = json!(b);
        }
        let expected = objects
            .iter()
            .any(|&(a, b)| a == Some(want_a) && (b == Some(want_b) || outside_b == Some(want_b)));
        let pattern = format!(r#"{{"lines": {{"a": [{want_a}], "b": [{want_b}]}}}}"#);
        assert_eq!(
            detail_matches(&pattern, detail.clone()),
            expected,
            "round {round}: {pattern} on {detail}"
        );
    }
}

/// An object with an `a` and a `b` below 6, each missing one time in four.
fn generated_object(
    next: &mut impl FnMut(usize) -> usize,
) -> (Option<usize>, Option<usize>, Value) {
    let a = (next(4) != 0).then(|| next(6));
    let b = (next(4) != 0).then(|| next(6));
    let mut fields = serde_json::Map::new();
    if let Some(a) = a {
        fields.insert("a".into(), json!(a));
    }
    if let Some(b) = b {
        fields.insert("b".into(), json!(b));
    }
    (a, b, Value::Object(fields))
}

/// Arrays of values reach a state once per matching value; repeated values must not
/// multiply the states after it either.
#[test]
fn repeated_values_do_not_multiply_the_work() {
    finishes(repeated_values);
}

fn repeated_values() {
    let fields: Vec<String> = (0..12).map(|i| format!(r#""a{i}": [1]"#)).collect();
    let mut detail = serde_json::Map::new();
    for i in 0..12 {
        detail.insert(format!("a{i}"), json!([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]));
    }
    let pattern = format!("{{{}, \"z\": [1]}}", fields.join(", "));
    assert!(!detail_matches(&pattern, Value::Object(detail)));
}

#[test]
fn dotted_keys_equal_nesting() {
    assert!(detail_matches(r#"{"a.b": [1]}"#, json!({"a": {"b": 1}})));
    assert!(detail_matches(r#"{"a": {"b": [1]}}"#, json!({"a.b": 1})));
}

#[test]
fn matcher_reports_every_matching_rule_once_in_insertion_order() {
    let mut matcher = Matcher::new();
    let patterns = [
        ("orders", r#"{"source": ["shop.orders"]}"#),
        ("big", r#"{"detail": {"total": [{"numeric": [">", 100]}]}}"#),
        ("eu", r#"{"region": [{"prefix": "eu-"}]}"#),
        (
            "either",
            r#"{"$or": [{"source": ["shop.orders"]}, {"detail": {"total": [500]}}]}"#,
        ),
    ];
    for (key, pattern) in patterns {
        matcher.add(key, &EventPattern::parse(pattern).unwrap());
    }
    let e = event(json!({"total": 500}));
    assert_eq!(matcher.matches(&e), ["orders", "big", "either"]);
    assert_eq!(
        matcher.matches_json(&e.to_string()).unwrap(),
        ["orders", "big", "either"]
    );
    assert_eq!(matcher.len(), 4);
}

#[test]
fn affixes_of_one_length_with_different_edge_bytes_all_match() {
    // Prefixes of one length are ruled out by the byte where they would end, suffixes by
    // the byte where they would start: operands sharing a length must each still match.
    let mut matcher = Matcher::new();
    let patterns = [
        ("at", r#"{"detail": {"f": [{"prefix": "ab@"}]}}"#),
        ("slash", r#"{"detail": {"f": [{"prefix": "ab/"}]}}"#),
        ("png", r#"{"detail": {"f": [{"suffix": ".png"}]}}"#),
        ("xpng", r#"{"detail": {"f": [{"suffix": "xpng"}]}}"#),
        ("any", r#"{"detail": {"f": [{"prefix": ""}]}}"#),
        (
            "folded",
            r#"{"detail": {"f": [{"prefix": {"equals-ignore-case": "AB/"}}]}}"#,
        ),
        (
            "folded-end",
            r#"{"detail": {"f": [{"suffix": {"equals-ignore-case": "XPNG"}}]}}"#,
        ),
    ];
    for (key, pattern) in patterns {
        matcher.add(key, &EventPattern::parse(pattern).unwrap());
    }
    let cases: [(&str, &[&str]); 6] = [
        ("ab@x.png", &["at", "png", "any"]),
        ("ab/xpng", &["slash", "xpng", "any", "folded", "folded-end"]),
        ("AB/XPNG", &["any", "folded", "folded-end"]),
        ("ab#.png", &["png", "any"]),
        ("ab", &["any"]),
        ("", &["any"]),
    ];
    for (value, expected) in cases {
        let e = event(json!({ "f": value }));
        assert_eq!(matcher.matches(&e), expected, "{value:?}");
        assert_eq!(
            matcher.matches_json(&e.to_string()).unwrap(),
            expected,
            "{value:?}"
        );
    }
}

#[test]
fn matcher_shares_states_between_equal_prefixes() {
    let mut matcher = Matcher::new();
    for i in 0..1000 {
        let pattern =
            format!(r#"{{"source": ["shop.orders"], "detail": {{"customer": ["c{i}"]}}}}"#);
        matcher.add(i, &EventPattern::parse(&pattern).unwrap());
    }
    assert_eq!(matcher.matches(&event(json!({"customer": "c42"}))), [42]);
    assert!(
        matcher
            .matches(&event(json!({"customer": "c1000"})))
            .is_empty()
    );
}

#[test]
fn matches_json_rejects_broken_events_and_handles_escapes() {
    let mut matcher = Matcher::new();
    matcher.add(
        (),
        &EventPattern::parse(r#"{"detail": {"s": ["a\"b\u00e9"]}}"#).unwrap(),
    );
    assert_eq!(
        matcher
            .matches_json(r#"{"detail": {"s": "a\"b\u00e9"}}"#)
            .unwrap()
            .len(),
        1
    );
    assert!(matcher.matches_json(r#"{"detail": {"s": "x"}"#).is_err());
    assert!(matcher.matches_json("[1]").is_err());
    assert!(matcher.matches_json(r#"{"detail": 1} x"#).is_err());
}

/// Many patterns sharing states in one automaton must answer exactly as each pattern alone.
#[test]
fn one_automaton_agrees_with_patterns_one_by_one() {
    let mut next = below_from(0x2545_F491_4F6C_DD1D);
    let fields = ["status", "tier", "total", "sku", "region"];
    let values = [r#""a""#, r#""b""#, r#""ab""#, "1", "2.0", "true", "null"];
    let tests = [
        r#""a""#,
        "1",
        r#"{"prefix": "a"}"#,
        r#"{"suffix": "b"}"#,
        r#"{"anything-but": "a"}"#,
        r#"{"numeric": [">", 1]}"#,
        r#"{"exists": true}"#,
        r#"{"exists": false}"#,
        r#"{"equals-ignore-case": "AB"}"#,
        r#"{"wildcard": "a*"}"#,
    ];
    let mut patterns = Vec::new();
    for _ in 0..300 {
        let mut parts = Vec::new();
        let mut used = Vec::new();
        for _ in 0..1 + next(3) {
            let field = fields[next(fields.len())];
            if used.contains(&field) {
                continue;
            }
            used.push(field);
            let chosen: Vec<&str> = (0..1 + next(2)).map(|_| tests[next(tests.len())]).collect();
            let inner = format!(r#"{{"{field}": [{}]}}"#, chosen.join(", "));
            let nested = if next(2) == 0 {
                format!(r#"{{"lines": {inner}}}"#)
            } else {
                inner
            };
            parts.push(nested[1..nested.len() - 1].to_string());
        }
        let text = format!(r#"{{"detail": {{{}}}}}"#, parts.join(", "));
        patterns.push(EventPattern::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}")));
    }
    let mut matcher = Matcher::new();
    for (i, pattern) in patterns.iter().enumerate() {
        matcher.add(i, pattern);
    }
    let mut total = 0;
    for _ in 0..300 {
        let mut members = Vec::new();
        for field in fields {
            if next(3) > 0 {
                members.push(format!(r#""{field}": {}"#, values[next(values.len())]));
            }
        }
        let line = |next: &mut dyn FnMut(usize) -> usize| {
            let field = fields[next(fields.len())];
            format!(r#"{{"{field}": {}}}"#, values[next(values.len())])
        };
        let lines: Vec<String> = (0..next(3)).map(|_| line(&mut next)).collect();
        members.push(format!(r#""lines": [{}]"#, lines.join(", ")));
        let text = format!(r#"{{"detail": {{{}}}}}"#, members.join(", "));
        let event: Value = serde_json::from_str(&text).unwrap();
        let one_by_one: Vec<usize> = (0..patterns.len())
            .filter(|&i| patterns[i].matches(&event))
            .collect();
        assert_eq!(matcher.matches(&event), one_by_one, "{text}");
        assert_eq!(matcher.matches_json(&text).unwrap(), one_by_one, "{text}");
        total += one_by_one.len();
    }
    // The generated workload must exercise both outcomes to prove anything.
    assert!(total > 300 && total < 300 * 300 / 2, "{total} matches");
}

/// event-ruler (EventBridge's matcher) keeps the last of repeated keys: "When duplicate keys
/// are passed Ruler will only consider the final value in the document order."
#[test]
fn a_repeated_key_counts_with_its_last_value_only() {
    let event =
        r#"{"detail": {"status": "PAID", "n": {"x": 1}, "st\u0061tus": "SHIPPED", "n": 2}}"#;
    let parsed: Value = serde_json::from_str(event).unwrap();
    for (pattern, expected) in [
        (r#"{"detail": {"status": ["SHIPPED"]}}"#, true),
        (r#"{"detail": {"status": ["PAID"]}}"#, false),
        (r#"{"detail": {"n": [2]}}"#, true),
        (r#"{"detail": {"n": {"x": [1]}}}"#, false),
        (r#"{"detail": {"n": {"x": [{"exists": false}]}}}"#, true),
    ] {
        let mut matcher = Matcher::new();
        matcher.add(1, &EventPattern::parse(pattern).unwrap());
        assert_eq!(
            !matcher.matches_json(event).unwrap().is_empty(),
            expected,
            "{pattern}"
        );
        assert_eq!(!matcher.matches(&parsed).is_empty(), expected, "{pattern}");
    }
    // Such an event is read whole by serde_json, whose verdict on its JSON then counts too:
    // the walk alone only checks that a skipped array's brackets balance.
    let mut matcher = Matcher::new();
    matcher.add(
        1,
        &EventPattern::parse(r#"{"detail": {"status": ["SHIPPED"]}}"#).unwrap(),
    );
    let broken = "{\"detail\": {\"status\": \"PAID\",\n \"status\": \"SHIPPED\", \"x\": [1 2]}}";
    let error = matcher.matches_json(broken).unwrap_err();
    assert_eq!(&broken[error.offset..], "2]}}", "{error}");
}

/// Only an event that may repeat a key is read whole; siblings, however many rules name
/// them, are told apart by their rank in the path tree.
#[test]
fn events_without_repeated_keys_stay_on_the_walk() {
    let mut matcher = Matcher::new();
    for i in 0..40 {
        let pattern = format!(r#"{{"detail": {{"k{i}": ["v"], "customer": {{"id": ["c{i}"]}}}}}}"#);
        matcher.add(i, &EventPattern::parse(&pattern).unwrap());
    }
    let members: Vec<String> = (0..40).map(|i| format!(r#""k{i}": "v""#)).collect();
    let event = format!(
        r#"{{"detail": {{{}, "customer": {{"id": "c7", "name": "n"}}}}}}"#,
        members.join(", ")
    );
    let walked = super::json_walk::flatten(matcher.path_tree(), &event);
    assert!(walked.is_ok());
    assert_eq!(matcher.matches_json(&event).unwrap(), [7]);
    let repeated = event.replace(r#""k7": "v""#, r#""k7": "v", "k7": "w""#);
    let walked = super::json_walk::flatten(matcher.path_tree(), &repeated);
    assert!(matches!(walked, Err(super::json_walk::Halt::RepeatedKey)));
    assert_eq!(
        matcher.matches_json(&repeated).unwrap(),
        Vec::<usize>::new()
    );
}

#[test]
fn raw_json_walk_decodes_escaped_keys_and_skips_what_no_rule_names() {
    let mut matcher = Matcher::new();
    matcher.add(
        "src",
        &EventPattern::parse(r#"{"source": ["a\u00e9"]}"#).unwrap(),
    );
    let event =
        r#" { "skip": {"x": ["}", "\"]", {"y": [[]]}]}, "sou\u0072ce" : "a\u00e9", "n": -1.5e3 } "#;
    assert_eq!(matcher.matches_json(event).unwrap(), ["src"]);
    let parsed: Value = serde_json::from_str(event).unwrap();
    assert_eq!(matcher.matches(&parsed), ["src"]);
}

/// The text walk must read any well-formed event as serde_json does: whitespace anywhere
/// between tokens (or none), escapes in keys and values, strings across the 64-byte blocks
/// of the structural index, numbers, literals, nested objects and arrays, dotted keys, and
/// repeated keys (the last occurrence counts).
#[test]
fn text_walk_agrees_with_the_parsed_event_on_generated_layouts() {
    let mut next = below_from(0x9E37_79B9_7F4A_7C15);
    const KEYS: [&str; 9] = [
        "\"status\"",
        "\"st\\u0061tus\"",
        "\"sku\"",
        "\"lines\"",
        "\"customer\"",
        "\"customer.tier\"",
        "\"tier\"",
        "\"note\"",
        "\"a-rather-long-key-name-that-will-cross-a-block-edge-sooner-or-later\"",
    ];
    const STRINGS: [&str; 9] = [
        "\"PAID\"",
        "\"P\\u0041ID\"",
        "\"gold\"",
        "\"go\\\"ld\"",
        "\"\\\\\"",
        "\"\"",
        "\"caf\\u00e9 au lait, with a long tail that crosses the next block edge\"",
        "\"SKU-1\"",
        "\"}]{[\"",
    ];
    const SCALARS: [&str; 7] = ["1", "-2.5e1", "0.0", "true", "false", "null", "25"];
    const SPACE: [&str; 5] = ["", " ", "  ", "\n\t", "\r\n  "];

    fn value(next: &mut dyn FnMut(usize) -> usize, depth: usize, out: &mut String) {
        let ws = |next: &mut dyn FnMut(usize) -> usize, out: &mut String| {
            out.push_str(SPACE[next(SPACE.len())])
        };
        match next(if depth < 3 { 4 } else { 2 }) {
            0 => out.push_str(STRINGS[next(STRINGS.len())]),
            1 => out.push_str(SCALARS[next(SCALARS.len())]),
            2 => {
                out.push('[');
                for i in 0..next(4) {
                    if i > 0 {
                        out.push(',');
                    }
                    ws(next, out);
                    value(next, depth + 1, out);
                    ws(next, out);
                }
                out.push(']');
            }
            _ => {
                out.push('{');
                for member in 0..next(5) {
                    // Keys repeat often here: the last occurrence must win.
                    let key = KEYS[next(KEYS.len())];
                    if member > 0 {
                        out.push(',');
                    }
                    ws(next, out);
                    out.push_str(key);
                    ws(next, out);
                    out.push(':');
                    ws(next, out);
                    value(next, depth + 1, out);
                    ws(next, out);
                }
                out.push('}');
            }
        }
    }

    let patterns = [
        r#"{"detail": {"status": ["PAID"]}}"#,
        r#"{"detail": {"customer": {"tier": ["gold", "go\"ld"]}}}"#,
        r#"{"detail": {"lines": {"sku": [{"prefix": "SKU"}], "status": [{"exists": true}]}}}"#,
        r#"{"detail": {"note": [{"numeric": [">", 0]}]}}"#,
        r#"{"detail": {"note": [null, true, "\\"]}}"#,
        r#"{"detail": {"status": [{"exists": false}], "tier": [{"anything-but": "x"}]}}"#,
        r#"{"detail": {"a-rather-long-key-name-that-will-cross-a-block-edge-sooner-or-later": [{"suffix": "edge"}, "", {"wildcard": "caf*"}]}}"#,
        r#"{"detail": {"lines": {"customer": {"tier": [{"equals-ignore-case": "GOLD"}]}}}}"#,
    ];
    let mut matcher = Matcher::new();
    for (i, pattern) in patterns.iter().enumerate() {
        matcher.add(i, &EventPattern::parse(pattern).unwrap());
    }
    let mut matched = 0;
    for _ in 0..2_000 {
        let mut detail = String::new();
        while !detail.starts_with('{') {
            detail.clear();
            value(&mut next, 0, &mut detail);
        }
        let text = format!(
            "{}{{{}\"source\"{}:{}\"x\",{}\"detail\"{}:{}{detail}{}}}{}",
            SPACE[next(SPACE.len())],
            SPACE[next(SPACE.len())],
            SPACE[next(SPACE.len())],
            SPACE[next(SPACE.len())],
            SPACE[next(SPACE.len())],
            SPACE[next(SPACE.len())],
            SPACE[next(SPACE.len())],
            SPACE[next(SPACE.len())],
            SPACE[next(SPACE.len())],
        );
        let parsed: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let by_value = matcher.matches(&parsed);
        assert_eq!(matcher.matches_json(&text).unwrap(), by_value, "{text}");
        matched += by_value.len();
    }
    assert!(
        matched > 300,
        "only {matched} matches: the workload proves little"
    );
}

/// Values at paths that only later states test are put aside by the text walk and walked
/// when a state asks for them. Whatever is put aside, walked late or never, and with array
/// elements, nested objects, dotted and repeated keys inside, the answers must be those of
/// the parsed event.
#[test]
fn values_put_aside_are_walked_when_a_state_asks() {
    let mut next = below_from(0x51_7CC1_B727_220A);
    const KINDS: [&str; 3] = ["\"a\"", "\"b\"", "\"c\""];
    const SKUS: [&str; 4] = ["\"s1\"", "\"s2\"", "1", "[\"s1\", \"s3\"]"];
    // `meta` twice: its objects are what is put aside inside each element of `parts`.
    const LINE_KEYS: [&str; 7] = [
        "\"sku\"",
        "\"qty\"",
        "\"meta\"",
        "\"meta\"",
        "\"meta.x\"",
        "\"s\\u006bu\"",
        "\"kind\"",
    ];
    let patterns = [
        r#"{"detail": {"kind": ["a"], "lines": {"sku": ["s1"]}}}"#,
        r#"{"detail": {"kind": ["a", "b"], "lines": {"sku": ["s2"], "qty": [{"numeric": [">", 1]}]}}}"#,
        r#"{"detail": {"kind": ["b"], "lines": {"meta": {"x": [{"exists": true}]}}}}"#,
        r#"{"detail": {"kind": ["c"], "lines": {"sku": [{"exists": false}]}}}"#,
        r#"{"detail": {"kind": ["c"], "other": {"deep": {"y": [1, "s1"]}}}}"#,
        r#"{"detail": {"kind": ["a"], "lines": {"meta": {"x": ["s3"]}, "sku": ["s1"]}}}"#,
        // Each part's `meta` is put aside on its own, inside its element of `parts`.
        r#"{"detail": {"parts": {"kind": ["k"], "meta": {"x": ["s1"]}}}}"#,
        r#"{"detail": {"parts": {"kind": ["j"], "meta": {"x": [{"exists": false}]}}}}"#,
    ];
    let mut matcher = Matcher::new();
    for (i, pattern) in patterns.iter().enumerate() {
        matcher.add(i, &EventPattern::parse(pattern).unwrap());
    }
    let mut matched = 0;
    let mut repeated = 0;
    let array = |next: &mut dyn FnMut(usize) -> usize| {
        let mut elements = Vec::new();
        for _ in 0..next(4) {
            let mut members = Vec::new();
            for _ in 0..next(4) {
                let key = LINE_KEYS[next(LINE_KEYS.len())];
                let value = match key {
                    "\"meta\"" => format!(r#"{{"x": {}}}"#, SKUS[next(SKUS.len())]),
                    "\"qty\"" => next(4).to_string(),
                    "\"kind\"" => ["\"k\"", "\"j\""][next(2)].to_string(),
                    _ => SKUS[next(SKUS.len())].to_string(),
                };
                members.push(format!("{key}: {value}"));
            }
            elements.push(format!("{{{}}}", members.join(", ")));
        }
        elements.join(", ")
    };
    for _ in 0..3_000 {
        let lines = array(&mut next);
        let parts = array(&mut next);
        let other = match next(3) {
            0 => r#"{"deep": {"y": 1}}"#.to_string(),
            1 => format!(r#"{{"deep": [{{"y": {}}}, 7]}}"#, SKUS[next(SKUS.len())]),
            _ => "null".to_string(),
        };
        let text = format!(
            r#"{{"source": "x", "detail": {{"kind": {}, "lines": [{lines}], "parts": [{parts}], "other": {other}}}}}"#,
            KINDS[next(KINDS.len())],
        );
        let parsed: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let by_value = matcher.matches(&parsed);
        assert_eq!(matcher.matches_json(&text).unwrap(), by_value, "{text}");
        matched += by_value.len();
        repeated += usize::from(text.contains(r#""sku": "s1", "sku""#));
    }
    assert!(
        matched > 500,
        "only {matched} matches: the workload proves little"
    );
    assert!(repeated > 0, "no line repeats a key");
}

/// A value put aside is checked only for balanced brackets until a state asks for it; then
/// it is read in full, and broken JSON in it is an error as anywhere else.
#[test]
fn broken_json_put_aside_counts_once_it_is_walked() {
    let mut matcher = Matcher::new();
    matcher.add(
        1,
        &EventPattern::parse(r#"{"detail": {"kind": ["a"], "lines": {"sku": ["s1"]}}}"#).unwrap(),
    );
    let broken =
        |kind: &str| format!(r#"{{"detail": {{"kind": "{kind}", "lines": [{{"sku": tru}}]}}}}"#);
    assert_eq!(
        matcher.matches_json(&broken("b")).unwrap(),
        Vec::<i32>::new()
    );
    let error = matcher.matches_json(&broken("a")).unwrap_err();
    assert_eq!(&broken("a")[error.offset..], "tru}]}}", "{error}");
    let fine = r#"{"detail": {"kind": "a", "lines": [{"sku": "s2"}, {"sku": "s1"}]}}"#;
    assert_eq!(matcher.matches_json(fine).unwrap(), [1]);
}
