//! `verify`'s reasoning, with no I/O: derive test orders that should exercise every rule,
//! predict where each write's event goes (through [`crate::flow`], the code the local
//! engine runs), and score what the tail saw against the predictions.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value, json};

use crate::blueprint::{Blueprint, KeyType};
use crate::flow::record::{Origin, Write, stream_record};
use crate::flow::{PipeProgram, Routing};

/// An item attribute value a pattern asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Hint {
    S(String),
    N(f64),
    Bool(bool),
}

/// What one scenario does to one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Step {
    Insert,
    Modify,
    Remove,
}

/// One test order and the writes made to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The rule it was made for (None: the order that should match no rule).
    pub target_rule: Option<String>,
    pub attributes: Vec<(String, Hint)>,
    pub steps: Vec<Step>,
}

/// Where one write's event is predicted to go.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Fate {
    /// The pipe's filters drop it: it never reaches the bus.
    Filtered,
    /// It reaches the bus and these rules match (possibly none).
    Routed(Vec<String>),
    /// The pipe cannot deliver it (e.g. a detail-type path missing from the record).
    Undeliverable(String),
}

/// Values satisfying one pattern leaf list (`[..]` of a field), best first.
pub fn satisfying(values: &Value) -> Option<Hint> {
    for value in values.as_array()? {
        let hint = match value {
            Value::String(s) => Some(Hint::S(s.clone())),
            Value::Number(n) => n.as_f64().map(Hint::N),
            Value::Bool(b) => Some(Hint::Bool(*b)),
            Value::Object(op) => operator_value(op),
            _ => None,
        };
        if hint.is_some() {
            return hint;
        }
    }
    None
}

fn operator_value(op: &Map<String, Value>) -> Option<Hint> {
    let (name, arg) = op.iter().next()?;
    let text = |v: &Value| v.as_str().map(str::to_string);
    match name.as_str() {
        "prefix" => text(arg)
            .or_else(|| arg.get("equals-ignore-case").and_then(text))
            .map(|p| Hint::S(format!("{p}verify"))),
        "suffix" => text(arg)
            .or_else(|| arg.get("equals-ignore-case").and_then(text))
            .map(|s| Hint::S(format!("verify{s}"))),
        "equals-ignore-case" => text(arg).map(Hint::S),
        "wildcard" => text(arg).map(|w| {
            Hint::S(
                w.replace("\\*", "\u{1}")
                    .replace('*', "x")
                    .replace('\u{1}', "*"),
            )
        }),
        "anything-but" => match arg {
            Value::Array(items) if items.iter().all(Value::is_number) => {
                let max = items.iter().filter_map(Value::as_f64).fold(0.0, f64::max);
                Some(Hint::N(max + 1.0))
            }
            Value::Number(n) => n.as_f64().map(|n| Hint::N(n + 1.0)),
            _ => Some(Hint::S("VERIFY-OTHER".into())),
        },
        "numeric" => numeric_value(arg.as_array()?),
        "exists" if arg == &Value::Bool(true) => Some(Hint::S("verify".into())),
        "cidr" => text(arg).and_then(|c| c.split('/').next().map(|ip| Hint::S(ip.to_string()))),
        _ => None,
    }
}

/// A number inside a `numeric` range: `[">", 0, "<=", 5]` gives a value in (0, 5].
fn numeric_value(ops: &[Value]) -> Option<Hint> {
    let (mut low, mut high) = (f64::NEG_INFINITY, f64::INFINITY);
    let mut exact = None;
    for pair in ops.chunks(2) {
        let (op, n) = (pair.first()?.as_str()?, pair.get(1)?.as_f64()?);
        match op {
            "=" => exact = Some(n),
            ">" => low = low.max(n + 1.0),
            ">=" => low = low.max(n),
            "<" => high = high.min(n - 1.0),
            "<=" => high = high.min(n),
            _ => return None,
        }
    }
    let value = exact.unwrap_or(match (low.is_finite(), high.is_finite()) {
        (true, true) => (low + high) / 2.0,
        (true, false) => low,
        (false, true) => high,
        (false, false) => 1.0,
    });
    Some(Hint::N(value))
}

/// Which item attribute (and its DynamoDB type) a detail field comes from, when the pipe
/// has an input template: `"status": "<$.dynamodb.NewImage.status.S>"` maps `status`.
fn template_fields(template: &str) -> HashMap<String, (String, String)> {
    let mut fields = HashMap::new();
    let marker = "<$.dynamodb.NewImage.";
    let mut rest = template;
    while let Some(at) = rest.find(marker) {
        let before = &rest[..at];
        let after = &rest[at + marker.len()..];
        let path: String = after.chars().take_while(|c| *c != '>').collect();
        if let (Some(key), Some((attr, kind))) = (last_json_key(before), path.rsplit_once('.')) {
            fields.insert(key, (attr.to_string(), kind.to_string()));
        }
        rest = after;
    }
    fields
}

/// The last `"key":` before a placeholder.
fn last_json_key(text: &str) -> Option<String> {
    let colon = text
        .trim_end()
        .trim_end_matches('"')
        .trim_end()
        .strip_suffix(':')?;
    let key_end = colon.trim_end().strip_suffix('"')?;
    let start = key_end.rfind('"')?;
    Some(key_end[start + 1..].to_string())
}

/// The attributes and steps a rule's pattern asks for, as far as they can be read off it.
fn scenario_for(bp: &Blueprint, pattern: &Value, rule: &str) -> Scenario {
    let mut attributes = Vec::new();
    let mut events: Vec<String> = Vec::new();
    let detail = &pattern["detail"];
    let template = bp
        .pipe
        .input_template
        .as_ref()
        .map(|t| template_fields(&t.value))
        .unwrap_or_default();
    if let Some(image) = detail["dynamodb"]["NewImage"].as_object() {
        for (attr, typed) in image {
            if let Some(hint) = typed
                .as_object()
                .and_then(|m| m.values().next())
                .and_then(satisfying)
            {
                attributes.push((attr.clone(), hint));
            }
        }
    }
    if let Some(fields) = detail.as_object() {
        for (field, values) in fields {
            if let (Some((attr, _)), Some(hint)) = (template.get(field), satisfying(values)) {
                attributes.push((attr.clone(), hint));
            }
        }
    }
    for candidate in [&detail["eventName"], &pattern["detail-type"]] {
        events.extend(
            candidate
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string),
        );
    }
    // Every order starts with an INSERT; a rule that names MODIFY or REMOVE gets those too.
    let mut steps = vec![Step::Insert];
    if events.iter().any(|e| e == "MODIFY") {
        steps.push(Step::Modify);
    }
    if events.iter().any(|e| e == "REMOVE") {
        steps.push(Step::Remove);
    }
    Scenario {
        target_rule: Some(rule.to_string()),
        attributes,
        steps,
    }
}

/// One scenario per rule, and one order meant to match no rule.
pub fn scenarios(bp: &Blueprint) -> Vec<Scenario> {
    let mut out: Vec<Scenario> = bp
        .rules
        .iter()
        .map(|r| scenario_for(bp, &r.pattern.value, &r.name))
        .collect();
    out.push(Scenario {
        target_rule: None,
        attributes: vec![("status".into(), Hint::S("VERIFY-UNROUTED".into()))],
        steps: vec![Step::Insert],
    });
    out
}

pub fn to_attribute(hint: &Hint) -> AttributeValue {
    match hint {
        Hint::S(s) => AttributeValue::S(s.clone()),
        Hint::N(n) => AttributeValue::N(if n.fract() == 0.0 && n.abs() < 1e15 {
            format!("{}", *n as i64)
        } else {
            n.to_string()
        }),
        Hint::Bool(b) => AttributeValue::Bool(*b),
    }
}

/// DynamoDB JSON of an SDK attribute value, as stream records carry it.
pub fn attribute_json(value: &AttributeValue) -> Value {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::B(b) => json!({ "B": b64(b.as_ref()) }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::Bs(v) => {
            json!({ "BS": v.iter().map(|b| b64(b.as_ref())).collect::<Vec<_>>() })
        }
        AttributeValue::M(m) => json!({ "M": item_json(m) }),
        AttributeValue::L(l) => json!({ "L": l.iter().map(attribute_json).collect::<Vec<_>>() }),
        _ => Value::Null,
    }
}

pub fn item_json(item: &HashMap<String, AttributeValue>) -> Map<String, Value> {
    item.iter()
        .map(|(k, v)| (k.clone(), attribute_json(v)))
        .collect()
}

/// Predicts what the deployed pipe and rules do with a write.
pub struct Predictor<'a> {
    bp: &'a Blueprint,
    pipe: PipeProgram,
    routing: Routing,
}

impl<'a> Predictor<'a> {
    pub fn new(bp: &'a Blueprint) -> anyhow::Result<Predictor<'a>> {
        let pipe = PipeProgram::for_blueprint(bp)?;
        let routing =
            Routing::new(bp).map_err(|(rule, err)| anyhow::anyhow!("rule `{rule}`: {err}"))?;
        Ok(Predictor { bp, pipe, routing })
    }

    /// The fate of the event of one write (None: the write changes nothing, no event).
    pub fn predict(
        &self,
        keys: &HashMap<String, AttributeValue>,
        old: Option<&HashMap<String, AttributeValue>>,
        new: Option<&HashMap<String, AttributeValue>>,
    ) -> Option<Fate> {
        let (keys, old, new) = (item_json(keys), old.map(item_json), new.map(item_json));
        let write = Write {
            keys: &keys,
            old: old.as_ref(),
            new: new.as_ref(),
        };
        let origin = Origin {
            stream_arn: "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/verify",
            region: self.bp.region.as_deref().unwrap_or("us-east-1"),
            view: self.bp.table.stream_view.as_str(),
            event_id: "verify",
            sequence_number: "1",
            created_seconds: 0,
        };
        let record = stream_record(write, &origin)?;
        if !self.pipe.passes(&record) {
            return Some(Fate::Filtered);
        }
        let entry = match self.pipe.entry(&record, "1970-01-01T00:00:00Z") {
            Ok(entry) => entry,
            Err(err) => return Some(Fate::Undeliverable(err.to_string())),
        };
        let event = crate::flow::envelope(
            &entry,
            "verify",
            "123456789012",
            origin.region,
            "1970-01-01T00:00:00Z",
            &[],
        );
        Some(Fate::Routed(
            self.routing
                .route(&event)
                .into_iter()
                .map(str::to_string)
                .collect(),
        ))
    }
}

/// One predicted event of one order, and what was seen of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// The order's partition key value as written: what its events carry.
    pub order: String,
    pub step: Step,
    pub fate: Fate,
}

/// An event the tail showed: which order it belongs to, its rules (blueprint names) and latency.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub order: String,
    pub rules: Vec<String>,
    pub latency_ms: Option<u64>,
}

/// One row of verify's table.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RuleScore {
    pub rule: String,
    pub queues: Vec<String>,
    pub expected: usize,
    pub seen: usize,
    pub unexpected: usize,
    pub p50_ms: Option<u64>,
    pub p99_ms: Option<u64>,
}

impl RuleScore {
    pub fn met(&self) -> bool {
        self.expected == self.seen && self.unexpected == 0
    }
}

/// The label of events that matched no rule (they reach only the tail's catch-all).
pub const NO_RULE: &str = "(no rule)";

/// Match observations to expectations (same order, same rule set) and score each rule.
pub fn score(bp: &Blueprint, expected: &[Expectation], observed: &[Observation]) -> Vec<RuleScore> {
    let mut open: Vec<&Expectation> = expected
        .iter()
        .filter(|e| matches!(e.fate, Fate::Routed(_)))
        .collect();
    let mut matched: Vec<&Observation> = Vec::new();
    let mut stray: Vec<&Observation> = Vec::new();
    for observation in observed {
        let hit = open
            .iter()
            .position(|e| e.order == observation.order && same_rules(&e.fate, &observation.rules));
        match hit {
            Some(i) => {
                open.remove(i);
                matched.push(observation);
            }
            None => stray.push(observation),
        }
    }
    let mut names: Vec<(String, Vec<String>)> = bp
        .rules
        .iter()
        .map(|r| {
            (
                r.name.clone(),
                r.targets.iter().map(|t| t.value.clone()).collect(),
            )
        })
        .collect();
    names.push((NO_RULE.to_string(), vec![]));
    let includes = |rules: &[String], name: &str| {
        if name == NO_RULE {
            rules.is_empty()
        } else {
            rules.iter().any(|r| r == name)
        }
    };
    names
        .into_iter()
        .map(|(rule, queues)| {
            let expected = expected
                .iter()
                .filter(|e| matches!(&e.fate, Fate::Routed(r) if includes(r, &rule)))
                .count();
            let seen: Vec<&&Observation> = matched
                .iter()
                .filter(|o| includes(&o.rules, &rule))
                .collect();
            let unexpected = stray.iter().filter(|o| includes(&o.rules, &rule)).count();
            let mut latencies: Vec<u64> = seen.iter().filter_map(|o| o.latency_ms).collect();
            latencies.sort_unstable();
            let percentile = |p: f64| {
                latencies
                    .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
                    .copied()
            };
            RuleScore {
                rule,
                queues,
                expected,
                seen: seen.len(),
                unexpected,
                p50_ms: percentile(0.5),
                p99_ms: percentile(0.99),
            }
        })
        .collect()
}

/// Whether a prediction routes to exactly these rules, in any order.
fn same_rules(fate: &Fate, rules: &[String]) -> bool {
    let Fate::Routed(predicted) = fate else {
        return false;
    };
    let (mut a, mut b) = (predicted.clone(), rules.to_vec());
    a.sort();
    b.sort();
    a == b
}

/// Per-rule counts of predictions, for the plan verify prints before sending.
pub fn plan_summary(expected: &[Expectation]) -> BTreeMap<String, usize> {
    let mut summary = BTreeMap::new();
    for e in expected {
        let label = match &e.fate {
            Fate::Filtered => "(filtered by the pipe)".to_string(),
            Fate::Undeliverable(_) => "(undeliverable)".to_string(),
            Fate::Routed(rules) if rules.is_empty() => NO_RULE.to_string(),
            Fate::Routed(rules) => rules.join(" + "),
        };
        *summary.entry(label).or_default() += 1;
    }
    summary
}

/// Whether a key attribute can hold test orders.
pub fn supports(bp: &Blueprint) -> Result<(), String> {
    if bp.table.partition_key.kind == KeyType::B {
        return Err(
            "verify writes orders keyed by text or number; this table's partition key is binary"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blueprint(name: &str) -> Blueprint {
        let path = format!("{}/blueprints/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
        crate::blueprint::load(std::path::Path::new(&path)).unwrap()
    }

    #[test]
    fn values_satisfy_their_operators() {
        assert_eq!(
            satisfying(&json!([{"numeric": [">=", 1000]}])),
            Some(Hint::N(1000.0))
        );
        assert_eq!(
            satisfying(&json!([{"numeric": [">", 0, "<", 10]}])),
            Some(Hint::N(5.0))
        );
        assert_eq!(
            satisfying(&json!([{"prefix": "ORDER#"}])),
            Some(Hint::S("ORDER#verify".into()))
        );
        assert_eq!(
            satisfying(&json!([{"anything-but": ["US", "CA"]}])),
            Some(Hint::S("VERIFY-OTHER".into()))
        );
        assert_eq!(
            satisfying(&json!(["PAID", "PACKED"])),
            Some(Hint::S("PAID".into()))
        );
    }

    #[test]
    fn rules_naming_modify_and_remove_get_those_steps() {
        let bp = blueprint("food-ordering");
        let steps: Vec<Vec<Step>> = scenarios(&bp).into_iter().map(|s| s.steps).collect();
        assert_eq!(steps[0], vec![Step::Insert], "new_orders: INSERT only");
        assert_eq!(
            steps[1],
            vec![Step::Insert, Step::Modify, Step::Remove],
            "order_changes: all three"
        );
    }

    #[test]
    fn template_fields_map_back_to_attributes() {
        let fields = template_fields(
            r#"{"orderId": "<$.dynamodb.Keys.orderId.S>", "status": "<$.dynamodb.NewImage.status.S>", "amount": <$.dynamodb.NewImage.amount.N>}"#,
        );
        assert_eq!(fields["status"], ("status".to_string(), "S".to_string()));
        assert_eq!(fields["amount"], ("amount".to_string(), "N".to_string()));
        assert!(!fields.contains_key("orderId"));
    }

    /// Every rule of every example gets a scenario that is predicted to reach it.
    #[test]
    fn scenarios_cover_every_rule_of_the_examples() {
        for name in ["food-ordering", "minimal", "multi-consumer"] {
            let bp = blueprint(name);
            let predictor = Predictor::new(&bp).unwrap();
            let mut reached = std::collections::HashSet::new();
            for scenario in scenarios(&bp) {
                let id = "verify-1";
                let mut item: HashMap<String, AttributeValue> =
                    crate::cloud::orders::new_item(&bp.table, id, 1, "PLACED", &[]).unwrap();
                let keys = crate::cloud::orders::order_key(&bp.table, id).unwrap();
                for (attr, hint) in &scenario.attributes {
                    item.insert(attr.clone(), to_attribute(hint));
                }
                let mut before: Option<HashMap<String, AttributeValue>> = None;
                for step in &scenario.steps {
                    let after = match step {
                        Step::Insert => Some(item.clone()),
                        Step::Modify => {
                            let mut changed = item.clone();
                            changed.insert("updatedAt".into(), AttributeValue::N("2".into()));
                            Some(changed)
                        }
                        Step::Remove => None,
                    };
                    if let Some(Fate::Routed(rules)) =
                        predictor.predict(&keys, before.as_ref(), after.as_ref())
                    {
                        reached.extend(rules);
                    }
                    before = after;
                }
            }
            for rule in &bp.rules {
                assert!(
                    reached.contains(&rule.name),
                    "{name}: no scenario reaches rule `{}`",
                    rule.name
                );
            }
        }
    }

    #[test]
    fn scoring_counts_seen_unexpected_and_latency() {
        let bp = blueprint("food-ordering");
        let expected = vec![
            Expectation {
                order: "a".into(),
                step: Step::Insert,
                fate: Fate::Routed(vec!["new_orders".into(), "order_changes".into()]),
            },
            Expectation {
                order: "b".into(),
                step: Step::Insert,
                fate: Fate::Routed(vec![]),
            },
        ];
        let observed = vec![
            Observation {
                order: "a".into(),
                rules: vec!["new_orders".into(), "order_changes".into()],
                latency_ms: Some(40),
            },
            Observation {
                order: "b".into(),
                rules: vec!["order_changes".into()],
                latency_ms: Some(90),
            },
        ];
        let scores = score(&bp, &expected, &observed);
        let row = |name: &str| scores.iter().find(|s| s.rule == name).unwrap().clone();
        assert!(row("new_orders").met());
        assert_eq!(row("new_orders").p50_ms, Some(40));
        assert_eq!(
            (
                row("order_changes").expected,
                row("order_changes").seen,
                row("order_changes").unexpected
            ),
            (1, 1, 1)
        );
        assert!(
            !row(NO_RULE).met(),
            "the unrouted order was expected and not seen as such"
        );
    }
}
