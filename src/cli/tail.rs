//! `outboxctl tail`: live events from the stack's tail queue, each with the rules it
//! matched and the queues those rules deliver to, and its end-to-end latency.

use std::io::Write;
use std::time::{Duration, Instant};

use clap::Args;

use super::exit::ensure_usage;
use super::{Exit, GlobalArgs, load_blueprint};
use crate::blueprint::{Blueprint, output};
use crate::cloud::stack;
use crate::cloud::tail::{self, Tail, TailedEvent};

#[derive(Debug, Args)]
pub struct TailArgs {
    /// Only events this rule matched (the blueprint's rule name).
    #[arg(long, value_name = "RULE")]
    rule: Option<String>,
    /// One JSON object per event per line, for scripts.
    #[arg(long)]
    json: bool,
    /// Stop after this many events (exit 1 if the timeout comes first).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<u64>,
    /// Read this queue instead of the deployed stack's tail queue.
    #[arg(long, value_name = "URL")]
    queue_url: Option<String>,
}

pub async fn run(global: &GlobalArgs, args: TailArgs) -> anyhow::Result<Exit> {
    let Some(bp) = load_blueprint(global)? else {
        return Ok(Exit::Failure);
    };
    if let Some(rule) = &args.rule {
        let names: Vec<&str> = bp.rules.iter().map(|r| r.name.as_str()).collect();
        ensure_usage!(
            names.contains(&rule.as_str()),
            "the blueprint has no rule `{rule}`; its rules are: {}",
            names.join(", ")
        );
    }
    let aws = global.aws_clients(bp.region.as_deref()).await;
    let queue_url = match &args.queue_url {
        Some(url) => url.clone(),
        None => {
            anyhow::ensure!(
                bp.tail,
                "the blueprint sets `tail: false`, so the stack has no tail queue; turn it on and deploy"
            );
            stack::require(&aws.cloudformation, &bp.name)
                .await?
                .output(output::TAIL_QUEUE_URL)?
                .to_string()
        }
    };
    let json = args.json || global.output == super::OutputFormat::Json;
    if !json && !global.quiet {
        errln!("tailing {} (Ctrl-C to stop)", queue_url);
    }
    let mut tail = Tail::new(aws.sqs.clone(), &queue_url, &bp.tail_rule_name());
    let deadline = args
        .timeout
        .map(|s| Instant::now() + Duration::from_secs(s));
    let only = args.rule.as_ref().map(|r| {
        bp.rules
            .iter()
            .find(|x| &x.name == r)
            .map(|x| bp.rule_name(x))
            .unwrap_or_default()
    });
    let mut shown = 0;
    // Events not shown because --count was reached: put back for the next reader.
    let mut unshown = Vec::new();
    let mut reader_gone = false;
    let outcome = loop {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left == Some(Duration::ZERO) {
            break if args.count.is_some() {
                Exit::Failure
            } else {
                Exit::Success
            };
        }
        let wait = left
            .unwrap_or(Duration::from_secs(1))
            .min(Duration::from_secs(1));
        let events = tokio::select! {
            events = tail.poll(wait) => events?,
            _ = tokio::signal::ctrl_c() => break Exit::Success,
        };
        let mut events = events.into_iter();
        let mut done = false;
        for event in events.by_ref() {
            if only
                .as_ref()
                .is_some_and(|rule| !event.rules.contains(rule))
            {
                tail.pass_over(event).await?;
                continue;
            }
            let line = if json {
                json_line(&bp, &event)?
            } else {
                describe(&bp, &event)
            };
            // A reader that went away (`tail | head -1`) ends the tail like Ctrl-C does, so
            // the events it passed over are put back for the next reader.
            if !print_line(&line)? {
                unshown.push(event);
                reader_gone = true;
                break;
            }
            tail.ack(&event).await?;
            shown += 1;
            if args.count == Some(shown) {
                done = true;
                break;
            }
        }
        unshown.extend(events);
        if done || reader_gone {
            break Exit::Success;
        }
    };
    tail.release(unshown).await?;
    if reader_gone {
        std::process::exit(super::output::READER_GONE);
    }
    Ok(outcome)
}

/// Print one line; `false` when stdout's reader has gone.
fn print_line(line: &str) -> anyhow::Result<bool> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// One line for people: time, event, keys, detail-type, rules → queues, latency.
pub fn describe(bp: &Blueprint, event: &TailedEvent) -> String {
    let name = event.event["detail"]["eventName"].as_str().unwrap_or("-");
    let keys = tail::keys(&event.event).unwrap_or_else(|| format!("id={}", event.id));
    let routes = if event.rules.is_empty() {
        "no rule matched".to_string()
    } else {
        event
            .rules
            .iter()
            .map(|physical| match route(bp, physical) {
                (rule, queues) if queues.is_empty() => rule.to_string(),
                (rule, queues) => format!("{rule} → {}", queues.join(", ")),
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let latency = event
        .latency_ms
        .map_or(String::new(), |ms| format!("  {ms} ms"));
    format!(
        "{}  {:<6} {}  [{}]  {}{}",
        event.time, name, keys, event.detail_type, routes, latency
    )
}

/// A matched rule by its blueprint name (as `--rule` takes it), with the queues it
/// delivers to; a rule the blueprint does not know keeps its AWS name.
fn route<'b>(bp: &'b Blueprint, physical: &'b str) -> (&'b str, Vec<&'b str>) {
    match bp.rules.iter().find(|r| bp.rule_name(r) == physical) {
        Some(rule) => (
            rule.name.as_str(),
            rule.targets.iter().map(|t| t.value.as_str()).collect(),
        ),
        None => (physical, Vec::new()),
    }
}

/// One JSON line per event, with the names and routes of the text line: `rules` holds
/// blueprint names, `routes` each rule with its queues.
fn json_line(bp: &Blueprint, event: &TailedEvent) -> serde_json::Result<String> {
    let mut line = serde_json::to_value(event)?;
    let routes: Vec<serde_json::Value> = event
        .rules
        .iter()
        .map(|physical| {
            let (rule, queues) = route(bp, physical);
            serde_json::json!({"rule": rule, "queues": queues})
        })
        .collect();
    line["rules"] = routes.iter().map(|r| r["rule"].clone()).collect();
    line["routes"] = serde_json::Value::Array(routes);
    serde_json::to_string(&line)
}
