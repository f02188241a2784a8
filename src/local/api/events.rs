//! EventBridge's JSON 1.1 protocol (`X-Amz-Target: AWSEvents.*`): thin actions over
//! [`crate::local::events::Events`].

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::json_protocol::{RequestError, ServiceError, parse_request};
use super::paging;
use crate::local::EngineState;
use crate::local::events::rules::Archive;
use crate::local::events::{EventBus, Events, EventsError, PutEventsEntry, Rule, RuleSpec, Target};

type ActionResult = Result<Value, ServiceError>;

impl From<EventsError> for ServiceError {
    fn from(error: EventsError) -> ServiceError {
        let status = if error.is_client_error() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        ServiceError::new(status, error.shape(), error.to_string())
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ServiceError> {
    parse_request(body).map_err(|e: RequestError| e.into_service_error("ValidationException"))
}

pub async fn dispatch(state: &EngineState, action: &str, body: &[u8]) -> ActionResult {
    let events = &state.events;
    match action {
        "CreateEventBus" => {
            let request: NameRequest = parse(body)?;
            let bus = events
                .create_event_bus(&request.name, request.description)
                .await?;
            Ok(json!({"EventBusArn": bus.arn}))
        }
        "DescribeEventBus" => {
            let request: OptionalName = parse(body)?;
            let bus = events
                .describe_event_bus(&Events::bus_name(request.name.as_deref()))
                .await?;
            Ok(bus_json(&bus))
        }
        "ListEventBuses" => {
            let request: ListRequest = parse(body)?;
            let (after, limit) = page_request(request.limit, request.next_token.as_deref())?;
            let buses = events.list_event_buses(request.name_prefix).await?;
            let (page, next) = paging::page(buses, |b| b.name.as_str(), after.as_deref(), limit);
            Ok(with_next_token(
                json!({"EventBuses": page.iter().map(bus_json).collect::<Vec<_>>()}),
                next,
            ))
        }
        "DeleteEventBus" => {
            let request: NameRequest = parse(body)?;
            events.delete_event_bus(&request.name).await?;
            Ok(json!({}))
        }
        "PutRule" => {
            let request: PutRule = parse(body)?;
            let arn = events
                .put_rule(RuleSpec {
                    name: request.name,
                    event_bus_name: request.event_bus_name,
                    event_pattern: request.event_pattern,
                    schedule_expression: request.schedule_expression,
                    state: request.state,
                    description: request.description,
                    role_arn: request.role_arn,
                })
                .await?;
            Ok(json!({"RuleArn": arn}))
        }
        "DescribeRule" => {
            let request: RuleRequest = parse(body)?;
            Ok(rule_json(
                &events
                    .describe_rule(&request.name, request.event_bus_name.as_deref())
                    .await?,
            ))
        }
        "ListRules" => {
            let request: ListRequest = parse(body)?;
            let (after, limit) = page_request(request.limit, request.next_token.as_deref())?;
            let rules = events
                .list_rules(request.event_bus_name.as_deref(), request.name_prefix)
                .await?;
            let (page, next) = paging::page(rules, |r| r.name.as_str(), after.as_deref(), limit);
            Ok(with_next_token(
                json!({"Rules": page.iter().map(rule_json).collect::<Vec<_>>()}),
                next,
            ))
        }
        "EnableRule" | "DisableRule" => {
            let request: RuleRequest = parse(body)?;
            events
                .set_rule_state(
                    &request.name,
                    request.event_bus_name.as_deref(),
                    action == "EnableRule",
                )
                .await?;
            Ok(json!({}))
        }
        "DeleteRule" => {
            let request: RuleRequest = parse(body)?;
            events
                .delete_rule(
                    &request.name,
                    request.event_bus_name.as_deref(),
                    request.force.unwrap_or(false),
                )
                .await?;
            Ok(json!({}))
        }
        "PutTargets" => {
            let request: PutTargets = parse(body)?;
            events
                .put_targets(
                    &request.rule,
                    request.event_bus_name.as_deref(),
                    request.targets,
                )
                .await?;
            Ok(json!({"FailedEntryCount": 0, "FailedEntries": []}))
        }
        "RemoveTargets" => {
            let request: RemoveTargets = parse(body)?;
            events
                .remove_targets(
                    &request.rule,
                    request.event_bus_name.as_deref(),
                    request.ids,
                )
                .await?;
            Ok(json!({"FailedEntryCount": 0, "FailedEntries": []}))
        }
        "ListTargetsByRule" => {
            let request: TargetsRequest = parse(body)?;
            let (after, limit) = page_request(request.limit, request.next_token.as_deref())?;
            let targets = events
                .list_targets_by_rule(&request.rule, request.event_bus_name.as_deref())
                .await?;
            let (page, next) = paging::page(targets, |t| t.id.as_str(), after.as_deref(), limit);
            Ok(with_next_token(json!({"Targets": page}), next))
        }
        "PutEvents" => put_events(events, parse(body)?).await,
        "TestEventPattern" => {
            let request: TestEventPattern = parse(body)?;
            Ok(
                json!({"Result": events.test_event_pattern(&request.event_pattern, &request.event)?}),
            )
        }
        "CreateArchive" => {
            let request: CreateArchive = parse(body)?;
            let archive = events
                .create_archive(
                    &request.archive_name,
                    &request.event_source_arn,
                    request.description,
                    request.event_pattern,
                    request.retention_days,
                )
                .await?;
            Ok(
                json!({"ArchiveArn": archive.arn, "State": "ENABLED", "CreationTime": seconds(archive.created_ms)}),
            )
        }
        "DescribeArchive" => {
            let request: ArchiveRequest = parse(body)?;
            Ok(archive_json(
                &events.describe_archive(&request.archive_name).await?,
            ))
        }
        "UpdateArchive" => {
            let request: UpdateArchive = parse(body)?;
            let archive = events
                .update_archive(
                    &request.archive_name,
                    request.description,
                    request.event_pattern,
                    request.retention_days,
                )
                .await?;
            Ok(
                json!({"ArchiveArn": archive.arn, "State": "ENABLED", "CreationTime": seconds(archive.created_ms)}),
            )
        }
        "ListArchives" => {
            let request: ListArchives = parse(body)?;
            let (after, limit) = page_request(request.limit, request.next_token.as_deref())?;
            let archives = events
                .list_archives(request.name_prefix, request.event_source_arn)
                .await?;
            let (page, next) = paging::page(archives, |a| a.name.as_str(), after.as_deref(), limit);
            Ok(with_next_token(
                json!({"Archives": page.iter().map(archive_json).collect::<Vec<_>>()}),
                next,
            ))
        }
        "DeleteArchive" => {
            let request: ArchiveRequest = parse(body)?;
            events.delete_archive(&request.archive_name).await?;
            Ok(json!({}))
        }
        other => Err(ServiceError::unknown_operation(&format!(
            "AWSEvents.{other}"
        ))),
    }
}

/// The most a List action returns in one page (`LimitMax100`).
const MAX_LIMIT: i64 = 100;

/// A List action's `Limit` (1–100; without one, everything) and `NextToken`: the name the
/// page starts after and the page size.
fn page_request(
    limit: Option<i64>,
    token: Option<&str>,
) -> Result<(Option<String>, usize), ServiceError> {
    let limit = match limit {
        None => usize::MAX,
        Some(n) if n < 1 => return Err(limit_error(n, "greater than or equal to 1")),
        Some(n) if n > MAX_LIMIT => {
            return Err(limit_error(
                n,
                &format!("less than or equal to {MAX_LIMIT}"),
            ));
        }
        Some(n) => n as usize,
    };
    let after = token
        .map(|t| {
            paging::name_after(t)
                .ok_or_else(|| EventsError::Validation("Parameter NextToken is not valid.".into()))
        })
        .transpose()?;
    Ok((after, limit))
}

fn limit_error(limit: i64, constraint: &str) -> ServiceError {
    EventsError::Validation(format!(
        "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value {constraint}"
    ))
    .into()
}

fn with_next_token(mut out: Value, next: Option<String>) -> Value {
    if let Some(token) = next {
        out["NextToken"] = json!(token);
    }
    out
}

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn bus_json(bus: &EventBus) -> Value {
    let mut out = json!({
        "Name": bus.name,
        "Arn": bus.arn,
        "CreationTime": seconds(bus.created_ms),
        "LastModifiedTime": seconds(bus.modified_ms),
    });
    if let Some(description) = &bus.description {
        out["Description"] = json!(description);
    }
    out
}

fn rule_json(rule: &Rule) -> Value {
    let mut out = json!({
        "Name": rule.name,
        "Arn": rule.arn,
        "State": rule.state,
        "EventBusName": rule.event_bus_name,
    });
    let optional = [
        ("EventPattern", &rule.event_pattern),
        ("ScheduleExpression", &rule.schedule_expression),
        ("Description", &rule.description),
        ("RoleArn", &rule.role_arn),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            out[key] = json!(value);
        }
    }
    out
}

fn archive_json(archive: &Archive) -> Value {
    let mut out = json!({
        "ArchiveName": archive.name,
        "ArchiveArn": archive.arn,
        "EventSourceArn": archive.source_arn,
        "State": "ENABLED",
        "RetentionDays": archive.retention_days,
        "EventCount": archive.event_count,
        "SizeBytes": archive.size_bytes,
        "CreationTime": seconds(archive.created_ms),
    });
    if let Some(description) = &archive.description {
        out["Description"] = json!(description);
    }
    if let Some(pattern) = &archive.event_pattern {
        out["EventPattern"] = json!(pattern);
    }
    out
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NameRequest {
    name: String,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct OptionalName {
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListRequest {
    name_prefix: Option<String>,
    event_bus_name: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutRule {
    name: String,
    event_bus_name: Option<String>,
    event_pattern: Option<String>,
    schedule_expression: Option<String>,
    state: Option<String>,
    description: Option<String>,
    role_arn: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RuleRequest {
    name: String,
    event_bus_name: Option<String>,
    force: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutTargets {
    rule: String,
    event_bus_name: Option<String>,
    targets: Vec<Target>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RemoveTargets {
    rule: String,
    event_bus_name: Option<String>,
    ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TargetsRequest {
    rule: String,
    event_bus_name: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TestEventPattern {
    event_pattern: String,
    event: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateArchive {
    archive_name: String,
    event_source_arn: String,
    description: Option<String>,
    event_pattern: Option<String>,
    retention_days: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ArchiveRequest {
    archive_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutEvents {
    entries: Vec<PutEventsRequestEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutEventsRequestEntry {
    /// Epoch seconds, as awsJson 1.1 sends timestamps.
    time: Option<f64>,
    source: Option<String>,
    #[serde(default)]
    resources: Vec<String>,
    detail_type: Option<String>,
    detail: Option<String>,
    event_bus_name: Option<String>,
}

async fn put_events(events: &Events, request: PutEvents) -> ActionResult {
    let entries = request
        .entries
        .into_iter()
        .map(|e| PutEventsEntry {
            source: e.source,
            detail_type: e.detail_type,
            detail: e.detail,
            resources: e.resources,
            event_bus_name: e.event_bus_name,
            time_ms: e.time.map(|t| (t * 1000.0) as i64),
        })
        .collect();
    let results = events.put_events(entries).await?;
    let failed = results.iter().filter(|r| r.is_err()).count();
    let entries: Vec<Value> = results
        .into_iter()
        .map(|r| match r {
            Ok(id) => json!({"EventId": id}),
            Err(e) => json!({"ErrorCode": e.code, "ErrorMessage": e.message}),
        })
        .collect();
    Ok(json!({"FailedEntryCount": failed, "Entries": entries}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateArchive {
    archive_name: String,
    description: Option<String>,
    event_pattern: Option<String>,
    retention_days: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListArchives {
    name_prefix: Option<String>,
    event_source_arn: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
}
