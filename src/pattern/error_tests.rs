//! Every way a pattern can be invalid, with the reason AWS gives (see docs/patterns.md).

use super::EventPattern;

fn reason(pattern: &str) -> String {
    match EventPattern::parse(pattern) {
        Ok(_) => panic!("{pattern} was accepted"),
        Err(e) => {
            assert_eq!(
                e.to_string(),
                format!("Event pattern is not valid. Reason: {}", e.reason())
            );
            e.cause().to_string()
        }
    }
}

#[test]
fn structure_errors() {
    assert_eq!(reason(r#"["a"]"#), "Filter is not an object");
    assert_eq!(reason(r#"{"a": []}"#), "Empty arrays are not allowed");
    assert_eq!(reason(r#"{"a": {}}"#), "Empty objects are not allowed");
    // EventBridge refuses `{}` itself too (users match everything with an empty prefix).
    assert_eq!(reason("{}"), "Empty objects are not allowed");
    assert_eq!(
        reason(r#"{"slug": "x"}"#),
        "\"slug\" must be an object or an array"
    );
    assert_eq!(reason(r#"{"a": 1}"#), "\"a\" must be an object or an array");
    assert_eq!(
        reason(r#"{"a": [["x"]]}"#),
        "Match value must be String, number, true, false, or null"
    );
    assert_eq!(reason(r#"{"a": [{}]}"#), "Match expression name not found");
    assert!(reason("{").starts_with("Unrecognized JSON"));
    // Errors inside strings and numbers point at their byte in the whole pattern.
    assert_eq!(
        reason("{\"source\":\n[\"\\x\"]}"),
        "Unrecognized JSON: invalid escape at byte 14"
    );
    assert_eq!(
        reason(r#"{"detail":{"a":[1e400]}}"#),
        "Unrecognized JSON: number out of range at byte 16"
    );
}

#[test]
fn unknown_or_wrongly_cased_operators() {
    assert_eq!(
        reason(r#"{"a": [{"Prefix": "x"}]}"#),
        "Unrecognized match type Prefix"
    );
    assert_eq!(
        reason(r#"{"a": [{"contains": "x"}]}"#),
        "Unrecognized match type contains"
    );
    assert_eq!(
        reason(r#"{"a": [{"prefix": "x", "suffix": "y"}]}"#),
        "Only one key allowed in match expression"
    );
}

#[test]
fn wrong_operand_types() {
    assert_eq!(
        reason(r#"{"a": [{"prefix": 1}]}"#),
        "prefix match pattern must be a string"
    );
    assert_eq!(
        reason(r#"{"a": [{"suffix": true}]}"#),
        "suffix match pattern must be a string"
    );
    assert_eq!(
        reason(r#"{"a": [{"equals-ignore-case": 1}]}"#),
        "equals-ignore-case match pattern must be a string"
    );
    assert_eq!(
        reason(r#"{"a": [{"wildcard": 1}]}"#),
        "wildcard match pattern must be a string"
    );
    assert_eq!(
        reason(r#"{"a": [{"cidr": 1}]}"#),
        "prefix match pattern must be a string"
    );
    assert_eq!(
        reason(r#"{"a": [{"prefix": {}}]}"#),
        "Prefix expression name not found"
    );
    assert_eq!(
        reason(r#"{"a": [{"prefix": {"wildcard": "x"}}]}"#),
        "Unsupported prefix pattern: wildcard"
    );
    assert_eq!(
        reason(r#"{"a": [{"suffix": {"equals-ignore-case": 1}}]}"#),
        "equals-ignore-case match pattern must be a string"
    );
}

#[test]
fn exists_must_be_boolean() {
    assert_eq!(
        reason(r#"{"a": [{"exists": "true"}]}"#),
        "exists match pattern must be either true or false."
    );
    assert_eq!(
        reason(r#"{"a": [{"exists": 1}]}"#),
        "exists match pattern must be either true or false."
    );
}

#[test]
fn numeric_errors() {
    assert_eq!(
        reason(r#"{"a": [{"numeric": 5}]}"#),
        "Value of numeric must be an array."
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": []}]}"#),
        "Invalid member in numeric match: ]"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": [5]}]}"#),
        "Invalid member in numeric match: 5"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": ["!=", 5]}]}"#),
        "Unrecognized numeric range operator: !="
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": ["=", "5"]}]}"#),
        "Value of equals must be numeric"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": [">"]}]}"#),
        "Value of > must be numeric"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": ["<", 1, ">", 0]}]}"#),
        "Too many elements in numeric expression"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": [">", 0, 5]}]}"#),
        "Bad value in numeric range: 5"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": [">", 0, ">", 5]}]}"#),
        "Bad numeric range operator: >"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": [">", 0, "<", "5"]}]}"#),
        "Value of < must be numeric"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": [">", 0, "<", 5, 6]}]}"#),
        "Too many terms in numeric range expression"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": [">", 5, "<", 5]}]}"#),
        "Bottom must be less than top"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": [">", 6, "<=", 5]}]}"#),
        "Bottom must be less than top"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": [">", 5e10]}]}"#),
        "Value must be between -5.0E9 and 5.0E9, inclusive"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": ["=", 0.0000001]}]}"#),
        "Only values upto 6 decimals are supported"
    );
    assert_eq!(
        reason(r#"{"a": [{"numeric": ["=", 1], "prefix": "x"}]}"#),
        "Too many elements in numeric expression"
    );
}

#[test]
fn anything_but_errors() {
    assert_eq!(
        reason(r#"{"a": [{"anything-but": true}]}"#),
        "Value of anything-but must be an array or single string/number value."
    );
    assert_eq!(
        reason(r#"{"a": [{"anything-but": {}}]}"#),
        "Anything-But expression name not found"
    );
    assert_eq!(
        reason(r#"{"a": [{"anything-but": {"numeric": [">", 1]}}]}"#),
        "Unsupported anything-but pattern: numeric"
    );
    assert_eq!(
        reason(r#"{"a": [{"anything-but": [null]}]}"#),
        "Inside anything but list, start|null|boolean is not supported."
    );
    assert_eq!(
        reason(r#"{"a": [{"anything-but": ["a", 1]}]}"#),
        "Inside anything but list, either all values are number or string, mixed type is not supported"
    );
    assert_eq!(
        reason(r#"{"a": [{"anything-but": []}]}"#),
        "Inside anything but list, either all values are number or string, mixed type is not supported"
    );
    assert_eq!(
        reason(r#"{"a": [{"anything-but": {"prefix": ""}}]}"#),
        "Null prefix/suffix not allowed"
    );
    assert_eq!(
        reason(r#"{"a": [{"anything-but": {"suffix": 1}}]}"#),
        "prefix/suffix match pattern must be a string"
    );
    assert_eq!(
        reason(r#"{"a": [{"anything-but": {"equals-ignore-case": [1]}}]}"#),
        "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
    );
    assert_eq!(
        reason(r#"{"a": [{"anything-but": {"wildcard": 1}}]}"#),
        "wildcard match pattern must be a string"
    );
    assert_eq!(
        reason(r#"{"a": [{"anything-but": {"wildcard": "a**"}}]}"#),
        "Consecutive wildcard characters at pos 2"
    );
    assert_eq!(
        reason(r#"{"a": [{"anything-but": {"prefix": "a", "suffix": "b"}}]}"#),
        "Too many elements in numeric expression"
    );
    assert_eq!(
        reason(r#"{"a": [{"anything-but": "x", "prefix": "y"}]}"#),
        "Too many elements in numeric expression"
    );
}

#[test]
fn wildcard_errors() {
    assert_eq!(
        reason(r#"{"a": [{"wildcard": "x**y"}]}"#),
        "Consecutive wildcard characters at pos 2"
    );
    assert_eq!(
        reason(r#"{"a": [{"wildcard": "x\\y"}]}"#),
        "Invalid escape character at pos 2"
    );
}

#[test]
fn cidr_errors() {
    assert_eq!(
        reason(r#"{"a": [{"cidr": "10.0.0.0"}]}"#),
        "Malformed CIDR, one '/' required"
    );
    assert_eq!(
        reason(r#"{"a": [{"cidr": "10.0.0.0/x"}]}"#),
        "Malformed CIDR, mask bits must be an integer"
    );
    assert_eq!(
        reason(r#"{"a": [{"cidr": "bad/8"}]}"#),
        "Nonstandard IP address: bad"
    );
    assert_eq!(
        reason(r#"{"a": [{"cidr": "10.0.0.0/33"}]}"#),
        "IPv4 mask bits must be < 32"
    );
}

#[test]
fn or_errors() {
    assert_eq!(
        reason(r#"{"$or": {"a": [1]}}"#),
        "It must be an Array followed with $or."
    );
    assert_eq!(
        reason(r#"{"$or": [{"a": [1]}]}"#),
        "There must have at least 2 Objects in $or relationship."
    );
    assert_eq!(
        reason(r#"{"$or": []}"#),
        "There must have at least 2 Objects in $or relationship."
    );
    assert_eq!(
        reason(r#"{"$or": [{"a": [1]}, "b"]}"#),
        "Only JSON object is allowed in array of $or relationship."
    );
    assert_eq!(
        reason(r#"{"$or": [{"a": [1]}, {}]}"#),
        "Empty objects are not allowed"
    );
    assert_eq!(
        reason(r#"{"$or": [{"a": [1]}, {"prefix": ["x"]}]}"#),
        "prefix is Ruler reserved fieldName which cannot be used inside $or."
    );
}

/// Sibling `$or`s multiply: eighteen of them would be 262,144 branches from 747
/// characters. Ten (1,024 branches) are allowed; past that the pattern is refused at once.
#[test]
fn or_combinations_are_bounded() {
    let siblings = |count: usize| {
        let members: Vec<String> = (0..count)
            .map(|i| format!(r#""k{i}": {{"$or": [{{"a": [1]}}, {{"b": [1]}}]}}"#))
            .collect();
        format!("{{{}}}", members.join(", "))
    };
    let ten = EventPattern::parse(&siblings(10)).unwrap();
    assert_eq!(ten.branches().len(), 1024);
    for pattern in [
        siblings(11),
        siblings(18),
        // The same key repeated multiplies too.
        format!(
            "{{{}}}",
            vec![r#""$or": [{"a": [1]}, {"b": [1]}]"#; 18].join(", ")
        ),
    ] {
        assert_eq!(
            reason(&pattern),
            "The $or conditions combine into more than 1024 alternatives; split the pattern into several rules."
        );
    }
}

/// The full reason, position included.
fn positioned(pattern: &str) -> String {
    match EventPattern::parse(pattern) {
        Ok(_) => panic!("{pattern} was accepted"),
        Err(e) => e.reason(),
    }
}

#[test]
fn positions_match_messages_aws_users_have_reported() {
    // CloudFormation/CDK report for an empty detail-type list.
    let empty_array =
        r#"{"detail-type":[],"source":["example.source"],"account":["123456789012"]}"#;
    assert_eq!(
        positioned(empty_array),
        format!(
            "Empty arrays are not allowed\n at [Source: (String)\"{empty_array}\"; line: 1, column: 18]"
        )
    );
    // Cloud Custodian report for an empty detail object.
    let empty_object = r#"{"source": ["aws.health"], "detail": {}}"#;
    assert!(
        positioned(empty_object).ends_with("; line: 1, column: 40]"),
        "{}",
        positioned(empty_object)
    );
    // Buildkite docs fix: a string where a list belongs, five lines in.
    let slug = "{\n  \"detail-type\": [ \"Build Started\", \"Build Finished\" ],\n  \"detail\": {\n    \"pipeline\": {\n      \"slug\": \"some-pipeline\"\n    }\n  }\n}";
    assert_eq!(
        positioned(slug),
        format!(
            "\"slug\" must be an object or an array\n at [Source: (String)\"{slug}\"; line: 5, column: 16]"
        )
    );
}

#[test]
fn positions_follow_the_streaming_reader() {
    let at = |pattern: &str| {
        let full = positioned(pattern);
        let column = full.rsplit("column: ").next().unwrap_or_default();
        column.trim_end_matches(']').parse::<usize>().unwrap()
    };
    // Past the operand's opening quote, bracket, or whole number / literal.
    assert_eq!(at(r#"{"a": [{"Prefix": "x"}]}"#), 20);
    assert_eq!(at(r#"{"a": [{"exists": 1}]}"#), 20);
    assert_eq!(at(r#"{"a": [{"numeric": {"x": 1}}]}"#), 21);
    // Past the closing bracket when the whole list was read first.
    assert_eq!(at(r#"{"a": [{"numeric": [">", 5e10]}]}"#), 31);
    assert_eq!(at(r#"{"a": [{"anything-but": ["a", 1]}]}"#), 33);
    // Past a string the reader had to read in full.
    assert_eq!(at(r#"{"a": [{"wildcard": "x**"}]}"#), 26);
    assert_eq!(at(r#"{"a": [{"numeric": ["!=", 5]}]}"#), 25);
}

#[test]
fn cidr_and_single_anything_but_numbers_have_no_position() {
    assert_eq!(
        positioned(r#"{"a": [{"cidr": "10.0.0.0"}]}"#),
        "Malformed CIDR, one '/' required"
    );
    assert_eq!(
        positioned(r#"{"a": [{"anything-but": 1e10}]}"#),
        "Value must be between -5.0E9 and 5.0E9, inclusive"
    );
}

#[test]
fn patterns_from_values_report_positions_in_their_compact_json() {
    let err = EventPattern::from_value(&serde_json::json!({"a": []})).unwrap_err();
    assert_eq!(
        err.reason(),
        "Empty arrays are not allowed\n at [Source: (String)\"{\"a\":[]}\"; line: 1, column: 8]"
    );
    assert!(EventPattern::from_value(&serde_json::json!({"a": [1]})).is_ok());
}
