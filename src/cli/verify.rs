//! `outboxctl verify`: send test orders that exercise every rule, predict where each
//! event goes with the same code the engine runs, watch the tail, and print a table per
//! rule: expected, seen, unexpected, p50/p99 latency. Exit 0 only when every prediction
//! was met within --timeout.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use clap::Args;
use serde_json::Value;

use super::output::emit;
use super::{Exit, GlobalArgs, load_blueprint};
use crate::blueprint::{Blueprint, Rule, output};
use crate::cloud::tail::{Tail, TailedEvent};
use crate::cloud::verify::{self, Expectation, Fate, Observation, Predictor, RuleScore, Step};
use crate::cloud::{Clients, orders, stack};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// How long to wait for the events, in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
}

#[derive(Debug, serde::Serialize)]
pub struct Report {
    pub stack: String,
    pub passed: bool,
    pub writes: usize,
    pub rules: Vec<RuleScore>,
    pub problems: Vec<String>,
    /// The events of this run as the tail showed them, for `demo` to show a few.
    #[serde(skip)]
    pub events: Vec<TailedEvent>,
}

pub async fn run(global: &GlobalArgs, args: VerifyArgs) -> anyhow::Result<Exit> {
    let Some(bp) = load_blueprint(global)? else {
        return Ok(Exit::Failure);
    };
    let aws = global.aws_clients(bp.region.as_deref()).await;
    let report = verify(&bp, &aws, Duration::from_secs(args.timeout), global.quiet).await?;
    emit(global.output, &report, print);
    Ok(if report.passed {
        Exit::Success
    } else {
        Exit::Failure
    })
}

/// Run the whole verification against a deployed stack.
pub async fn verify(
    bp: &Blueprint,
    aws: &Clients,
    timeout: Duration,
    quiet: bool,
) -> anyhow::Result<Report> {
    verify::supports(bp).map_err(anyhow::Error::msg)?;
    anyhow::ensure!(
        bp.tail,
        "verify watches the tail queue, and the blueprint sets `tail: false`; turn it on and deploy"
    );
    let predictor = Predictor::new(bp)?;
    let deployed = stack::require(&aws.cloudformation, &bp.name).await?;
    let table_name = deployed.output(output::TABLE_NAME)?.to_string();
    let tail_url = deployed.output(output::TAIL_QUEUE_URL)?.to_string();
    let mut tail = Tail::new(aws.sqs.clone(), &tail_url, &bp.tail_rule_name());

    let mut expectations = Vec::new();
    for scenario in verify::scenarios(bp) {
        let created = orders::now_millis();
        let id = orders::new_order_id(created);
        let set: Vec<(String, AttributeValue)> = scenario
            .attributes
            .iter()
            .map(|(a, h)| (a.clone(), verify::to_attribute(h)))
            .collect();
        let keys = orders::order_key(&bp.table, &id)?;
        // Events are told apart by the partition key value as written (a numeric key
        // holds only the id's digits).
        let marker = match keys.get(&bp.table.partition_key.name) {
            Some(AttributeValue::S(s)) => s.clone(),
            Some(AttributeValue::N(n)) => n.clone(),
            _ => id.clone(),
        };
        let mut current: Option<HashMap<String, AttributeValue>> = None;
        for step in &scenario.steps {
            let next = match step {
                Step::Insert => {
                    let item = orders::new_item(&bp.table, &id, created, "PLACED", &set)?;
                    orders::put(&aws.dynamodb, &table_name, &bp.table, item.clone()).await?;
                    Some(item)
                }
                Step::Modify => {
                    let stamp = orders::now_millis();
                    let order = orders::StoredOrder::written(&bp.table, &id)?;
                    orders::update(
                        &aws.dynamodb,
                        &table_name,
                        &bp.table,
                        order,
                        stamp,
                        None,
                        &[],
                    )
                    .await?;
                    current.clone().map(|mut item| {
                        item.insert(
                            orders::UPDATED_AT_ATTRIBUTE.to_string(),
                            AttributeValue::N(stamp.to_string()),
                        );
                        item
                    })
                }
                Step::Remove => {
                    let order = orders::StoredOrder::written(&bp.table, &id)?;
                    orders::delete(&aws.dynamodb, &table_name, &bp.table, order).await?;
                    None
                }
            };
            if let Some(fate) = predictor.predict(&keys, current.as_ref(), next.as_ref()) {
                expectations.push(Expectation {
                    order: marker.clone(),
                    step: *step,
                    fate,
                });
            }
            current = next;
        }
    }
    if !quiet {
        let plan: Vec<String> = verify::plan_summary(&expectations)
            .into_iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect();
        errln!(
            "sent {} writes; predicted: {}",
            expectations.len(),
            plan.join(", ")
        );
    }

    let routed = expectations
        .iter()
        .filter(|e| matches!(e.fate, Fate::Routed(_)))
        .count();
    let mut observed: Vec<Observation> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut events = Vec::new();
    let deadline = Instant::now() + timeout;
    // After the last expected event, keep listening briefly for duplicates and strays.
    let mut complete_at: Option<Instant> = None;
    while Instant::now() < deadline
        && complete_at.is_none_or(|at| at.elapsed() < Duration::from_secs(2))
    {
        for event in tail.poll(Duration::from_secs(1)).await? {
            let text = event.event["detail"].to_string();
            let Some(order) = expectations
                .iter()
                .map(|e| &e.order)
                .find(|marker| text.contains(marker.as_str()))
            else {
                tail.pass_over(event).await?;
                continue;
            };
            tail.ack(&event).await?;
            let rules: Vec<String> = event
                .rules
                .iter()
                .filter_map(|physical| {
                    bp.rules
                        .iter()
                        .find(|r| &bp.rule_name(r) == physical)
                        .map(|r| r.name.clone())
                })
                .collect();
            // A rule's copy that trailed the others arrives as the same event again.
            if let Some(&at) = seen.get(&event.id) {
                let merged: &mut Observation = &mut observed[at];
                merged.rules.extend(rules);
                merged.rules.sort();
                merged.rules.dedup();
                continue;
            }
            seen.insert(event.id.clone(), observed.len());
            observed.push(Observation {
                order: order.clone(),
                rules,
                latency_ms: event.latency_ms,
            });
            events.push(event);
        }
        if complete_at.is_none() && observed.len() >= routed {
            complete_at = Some(Instant::now());
        }
    }
    // Events of other writers (passed over above) stay in the tail queue for `tail`.
    tail.release(Vec::new()).await?;
    let rules = verify::score(bp, &expectations, &observed);
    let mut problems: Vec<String> = expectations
        .iter()
        .filter_map(|e| match &e.fate {
            Fate::Undeliverable(why) => Some(format!(
                "order {} ({:?}) cannot be delivered by the pipe: {why}",
                e.order, e.step
            )),
            _ => None,
        })
        .collect();
    for score in rules.iter().filter(|s| !s.met()) {
        problems.push(format!(
            "{}: expected {}, saw {}, {} unexpected",
            score.rule, score.expected, score.seen, score.unexpected
        ));
    }
    // A rule no order reaches was not verified, whatever the table says.
    for rule in bp.rules.iter().filter(|r| r.enabled) {
        if rules.iter().any(|s| s.rule == rule.name && s.expected == 0) {
            problems.push(unreached(bp, rule));
        }
    }
    Ok(Report {
        stack: bp.name.clone(),
        passed: problems.is_empty(),
        writes: expectations.len(),
        rules,
        problems,
        events,
    })
}

pub fn print(report: &Report) {
    let ms = |v: Option<u64>| v.map_or("-".to_string(), |v| format!("{v} ms"));
    let width = report
        .rules
        .iter()
        .map(|r| r.rule.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let qwidth = report
        .rules
        .iter()
        .map(|r| r.queues.join(", ").len())
        .max()
        .unwrap_or(6)
        .max(6);
    outln!(
        "{:<width$}  {:<qwidth$}  {:>8}  {:>4}  {:>10}  {:>8}  {:>8}",
        "RULE",
        "QUEUES",
        "EXPECTED",
        "SEEN",
        "UNEXPECTED",
        "P50",
        "P99"
    );
    for r in &report.rules {
        outln!(
            "{:<width$}  {:<qwidth$}  {:>8}  {:>4}  {:>10}  {:>8}  {:>8}",
            r.rule,
            r.queues.join(", "),
            r.expected,
            r.seen,
            r.unexpected,
            ms(r.p50_ms),
            ms(r.p99_ms)
        );
    }
    if report.passed {
        outln!(
            "verify passed: every prediction was met ({} writes)",
            report.writes
        );
    } else {
        for problem in &report.problems {
            errln!("  {problem}");
        }
        errln!(
            "verify failed: {} prediction(s) not met",
            report.problems.len()
        );
    }
}

/// Why no test order reached `rule`, as far as can be told: most often its `source` is
/// not the one the pipe puts on events (after renaming the stack, say).
fn unreached(bp: &Blueprint, rule: &Rule) -> String {
    let pipe_source = &bp.pipe.source.value;
    let sources = rule.pattern.value.get("source").and_then(Value::as_array);
    let source_differs = !pipe_source.starts_with("$.")
        && sources.is_some_and(|list| {
            list.iter().all(Value::is_string) && !list.iter().any(|v| v == pipe_source)
        });
    if source_differs {
        format!(
            "{}: no order reached it: its pattern's `source` is not `{pipe_source}`, the source the pipe gives events",
            rule.name
        )
    } else {
        format!(
            "{}: no order reached it: no write the pipe delivers matches its pattern, so it was not verified",
            rule.name
        )
    }
}
