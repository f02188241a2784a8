//! `outboxctl send-test-order`: real orders written into the stack's table (INSERT),
//! updated (`--update`, MODIFY) or deleted (`--delete`, REMOVE). Prints the order ids.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::exit::ensure_usage;
use super::output::{OutputFormat, emit};
use super::{Exit, GlobalArgs, load_blueprint};
use crate::blueprint::{Blueprint, KeyType, output};
use crate::cloud;
use crate::cloud::{orders, stack};

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The order's `status` (new orders: PLACED unless given).
    #[arg(long)]
    status: Option<String>,
    /// Set an attribute: numbers become N, true/false BOOL, null NULL, else S
    /// (repeatable; quote a value, `k='"12"'`, to keep it a string).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = orders::parse_assignment)]
    set: Vec<(String, AttributeValue)>,
    /// How many orders to write.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    count: u32,
    /// Orders per second (default: as fast as the table takes them, 8 at a time).
    #[arg(long)]
    rate: Option<f64>,
    /// Update this order instead (a MODIFY event): `--status` and `--set` apply.
    #[arg(long, value_name = "ID", conflicts_with_all = ["delete", "count"])]
    update: Option<String>,
    /// Delete this order instead (a REMOVE event).
    #[arg(long, value_name = "ID", conflicts_with_all = ["update", "count"])]
    delete: Option<String>,
    /// Write into this table instead of the deployed stack's (for tables deployed otherwise).
    #[arg(long, value_name = "NAME", conflicts_with = "via")]
    table: Option<String>,
    /// Write straight into the table, or POST to the stack's ingest API (SigV4-signed).
    #[arg(long, value_enum, default_value_t = Via::Table)]
    via: Via,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Via {
    Table,
    Api,
}

#[derive(Debug, serde::Serialize)]
struct Sent {
    event: &'static str,
    table: String,
    ids: Vec<String>,
}

/// The status of a new order: what the seed design's restaurant rule waits for.
const NEW_ORDER_STATUS: &str = "PLACED";

/// How many writes are in flight at once when no rate is given.
const CONCURRENCY: usize = 8;

pub async fn run(global: &GlobalArgs, args: SendArgs) -> anyhow::Result<Exit> {
    let Some(bp) = load_blueprint(global)? else {
        return Ok(Exit::Failure);
    };
    if let Some(rate) = args.rate {
        ensure_usage!(
            rate.is_finite() && rate > 0.0,
            "--rate must be a positive number of orders per second"
        );
    }
    let keys = std::iter::once(&bp.table.partition_key).chain(&bp.table.sort_key);
    for key in keys {
        ensure_usage!(
            !args.set.iter().any(|(name, _)| name == &key.name),
            "--set cannot change `{}`: it is part of the table's key, which send-test-order \
             makes from the order id it prints",
            key.name
        );
    }
    if args.via == Via::Api {
        return through_api(global, &bp, &args).await;
    }
    let aws = global.aws_clients(bp.region.as_deref()).await;
    let table_name = match &args.table {
        Some(name) => name.clone(),
        None => stack::require(&aws.cloudformation, &bp.name)
            .await?
            .output(output::TABLE_NAME)?
            .to_string(),
    };
    let ddb = &aws.dynamodb;

    if let Some(id) = &args.update {
        let order = orders::StoredOrder::find(ddb, &table_name, &bp.table, id).await?;
        orders::update(
            ddb,
            &table_name,
            &bp.table,
            order,
            orders::now_millis(),
            args.status.as_deref(),
            &args.set,
        )
        .await?;
        return report(global, "MODIFY", table_name, vec![id.clone()]);
    }
    if let Some(id) = &args.delete {
        let order = orders::StoredOrder::find(ddb, &table_name, &bp.table, id).await?;
        orders::delete(ddb, &table_name, &bp.table, order).await?;
        return report(global, "REMOVE", table_name, vec![id.clone()]);
    }

    let bar = (args.count > 1 && !global.quiet).then(|| {
        let bar = ProgressBar::new(u64::from(args.count));
        bar.set_style(
            ProgressStyle::with_template("sending [{bar:30}] {pos}/{len} orders, {per_sec}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar
    });
    let mut ticker = args
        .rate
        .map(|rate| tokio::time::interval(Duration::from_secs_f64(1.0 / rate)));
    let mut in_flight = tokio::task::JoinSet::new();
    // The ids of acknowledged writes, by their place in the run: on Ctrl-C, the orders
    // written so far are still reported, so they can be found, updated or deleted.
    let mut ids: Vec<(u32, String)> = Vec::with_capacity(args.count as usize);
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let mut stopped = false;
    // The first write that failed: no more are started, and those written are reported.
    let mut failure: Option<anyhow::Error> = None;
    'sending: for place in 0..args.count {
        if let Some(ticker) = &mut ticker {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = &mut interrupted => { stopped = true; break; }
            }
        }
        while in_flight.len() >= CONCURRENCY {
            let result = in_flight.join_next().await.expect("the set is not empty");
            settle(result, &mut ids, &mut failure, bar.as_ref());
            if failure.is_some() {
                break 'sending;
            }
        }
        let created = orders::now_millis();
        let id = orders::new_order_id(created);
        let item = orders::new_item(
            &bp.table,
            &id,
            created,
            args.status.as_deref().unwrap_or(NEW_ORDER_STATUS),
            &args.set,
        )?;
        let (ddb, table_name, table) = (ddb.clone(), table_name.clone(), bp.table.clone());
        in_flight.spawn(async move {
            orders::put(&ddb, &table_name, &table, item)
                .await
                .map(|()| (place, id))
        });
    }
    while let Some(result) = in_flight.join_next().await {
        settle(result, &mut ids, &mut failure, bar.as_ref());
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    ids.sort_unstable();
    let ids: Vec<String> = ids.into_iter().map(|(_, id)| id).collect();
    if let Some(err) = failure {
        // The orders written before the failure exist: say which, so they can be found.
        errln!(
            "stopped: {} of {} order(s) written before a write failed",
            ids.len(),
            args.count
        );
        report(global, "INSERT", table_name, ids)?;
        return Err(err);
    }
    if stopped {
        errln!(
            "interrupted: {} of {} order(s) written",
            ids.len(),
            args.count
        );
        report(global, "INSERT", table_name, ids)?;
        return Ok(Exit::Failure);
    }
    report(global, "INSERT", table_name, ids)
}

/// Note one finished write: its id, or (the first) failure.
fn settle(
    result: Result<anyhow::Result<(u32, String)>, tokio::task::JoinError>,
    ids: &mut Vec<(u32, String)>,
    failure: &mut Option<anyhow::Error>,
    bar: Option<&ProgressBar>,
) {
    match result {
        Ok(Ok(written)) => {
            ids.push(written);
            if let Some(bar) = bar {
                bar.inc(1);
            }
        }
        Ok(Err(err)) => {
            failure.get_or_insert(err);
        }
        Err(join) => {
            failure.get_or_insert(join.into());
        }
    }
}

fn report(
    global: &GlobalArgs,
    event: &'static str,
    table: String,
    ids: Vec<String>,
) -> anyhow::Result<Exit> {
    let sent = Sent { event, table, ids };
    emit(global.output, &sent, |sent| {
        if global.output == OutputFormat::Text && !global.quiet {
            errln!(
                "{} order(s) written to {} ({})",
                sent.ids.len(),
                sent.table,
                sent.event
            );
        }
        for id in &sent.ids {
            outln!("{id}");
        }
    });
    Ok(Exit::Success)
}

/// POST each order to the stack's API; the API writes it (an INSERT) and answers its id.
async fn through_api(global: &GlobalArgs, bp: &Blueprint, args: &SendArgs) -> anyhow::Result<Exit> {
    let Some(api) = &bp.api else {
        anyhow::bail!(
            "the blueprint has no `api`, so the stack has no ingest API; add `api: true` and deploy, or send with --via table"
        );
    };
    anyhow::ensure!(
        args.update.is_none() && args.delete.is_none(),
        "the API only creates orders; update and delete --via table"
    );
    let fields: Vec<&str> = api.fields.iter().map(|f| f.name.as_str()).collect();
    for (name, _) in &args.set {
        ensure_usage!(
            fields.contains(&name.as_str()),
            "--set {name}: the ingest API stores only the fields declared in the blueprint's \
             `api.fields` ({}); declare it there, or send --via table",
            fields.join(", ")
        );
    }
    let config = cloud::config::load(&global.aws, bp.region.as_deref()).await;
    let url = stack::require(&cloud::Clients::new(&config).cloudformation, &bp.name)
        .await?
        .output(output::API_URL)?
        .to_string();
    let status = args.status.as_deref().unwrap_or(NEW_ORDER_STATUS);
    let mut ids = Vec::new();
    for _ in 0..args.count {
        let template = orders::new_item(&bp.table, "api", orders::now_millis(), status, &args.set)?;
        let body: serde_json::Map<String, serde_json::Value> = api
            .fields
            .iter()
            .map(|field| {
                let value = match template.get(&field.name) {
                    Some(AttributeValue::N(n)) => n
                        .parse::<f64>()
                        .map_or(serde_json::Value::Null, |n| serde_json::json!(n)),
                    Some(AttributeValue::S(s)) => serde_json::json!(s),
                    _ if field.kind == KeyType::N => serde_json::json!(1),
                    _ => serde_json::json!("test"),
                };
                (field.name.clone(), value)
            })
            .collect();
        let answer = cloud::api::post(
            &config,
            &url,
            global.aws.endpoint(),
            &serde_json::Value::Object(body),
        )
        .await?;
        anyhow::ensure!(
            answer.status == 200,
            "the API answered {}: {}",
            answer.status,
            answer.body
        );
        let id = serde_json::from_str::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| v["orderId"].as_str().map(str::to_string))
            .ok_or_else(|| {
                anyhow::anyhow!("the API answered 200 without an orderId: {}", answer.body)
            })?;
        ids.push(id);
    }
    let table = bp.table_name();
    report(global, "INSERT", table, ids)
}
