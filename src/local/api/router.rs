//! The engine's single HTTP entry point: every request arrives here and is routed to its
//! service by protocol: JSON services by the `X-Amz-Target` prefix, CloudFormation by its
//! query-protocol `Action=`, S3 by its signature's scope, and the REST services by path.
//!
//! Signatures are not verified: any SigV4 credentials are accepted, as the docs say.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use serde_json::json;

use super::json_protocol::{ServiceError, error_response, ok_response};
use super::{
    apigateway, cloudformation, dynamodb, dynamodb_streams, events, faults, pipes, query_protocol,
    s3, sqs, sts,
};
use crate::local::EngineState;

/// Large enough for a BatchWriteItem of 25 items at the 400 KB limit, in JSON.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
const JSON_1_0: &str = "application/x-amz-json-1.0";
const JSON_1_1: &str = "application/x-amz-json-1.1";

pub fn router(state: Arc<EngineState>) -> Router {
    Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn handle(
    State(state): State<Arc<EngineState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let (service, action) = target.split_once('.').unwrap_or(("", ""));
    // A deployed REST API (API Gateway): by path or by `Host: <id>.execute-api.…`.
    if target.is_empty()
        && let Some(api) = apigateway::target(uri.path(), &headers)
    {
        let now_ms = state.clock.now_ms();
        let response =
            apigateway::handle(&state, api, &method, &headers, &body, &request_id, now_ms).await;
        let action = format!("{method} {}", uri.path());
        return logged("apigateway", &action, response, started, &request_id);
    }
    if target.is_empty() && s3::is_s3(&headers) {
        let response = s3::respond(&state, &method, &uri, &headers, body, &request_id).await;
        let action = format!("{method} {}", uri.path());
        return logged("s3", &action, response, started, &request_id);
    }
    // The query protocol: a form body with `Action=…&Version=…` and no X-Amz-Target; the
    // version tells the service.
    let form =
        (target.is_empty() && method == Method::POST).then(|| query_protocol::Form::parse(&body));
    if let Some(form) = &form
        && cloudformation::is_cloudformation(form)
    {
        let response = cloudformation::handle(&state, form, &request_id).await;
        let action = form.get("Action").unwrap_or_default();
        return logged("cloudformation", action, response, started, &request_id);
    }
    if let Some(form) = &form
        && sts::is_sts(form)
    {
        let response = sts::handle(form, &request_id);
        let action = form.get("Action").unwrap_or_default();
        return logged("sts", action, response, started, &request_id);
    }
    let (service_name, response) = match service {
        "DynamoDB_20120810" => (
            "dynamodb",
            reply(
                JSON_1_0,
                dynamodb::dispatch(&state, action, &body).await,
                &request_id,
            ),
        ),
        "DynamoDBStreams_20120810" => (
            "dynamodbstreams",
            reply(
                JSON_1_0,
                dynamodb_streams::dispatch(&state, action, &body).await,
                &request_id,
            ),
        ),
        "AWSEvents" => (
            "events",
            reply(
                JSON_1_1,
                events::dispatch(&state, action, &body).await,
                &request_id,
            ),
        ),
        "AmazonSQS" => (
            "sqs",
            sqs::respond(&state, action, &body, &request_id).await,
        ),
        "" if uri.path().starts_with(pipes::PREFIX)
            || uri.path().starts_with(pipes::TAGS_PREFIX) =>
        {
            (
                "pipes",
                pipes::respond(&state, &method, uri.path(), uri.query(), &body, &request_id).await,
            )
        }
        "" if uri.path() == faults::PATH => (
            "admin",
            faults::respond(&state, &method, &body, &request_id),
        ),
        "" if method == Method::GET && uri.path() == "/" => (
            "engine",
            ok_response(
                "application/json",
                &request_id,
                &json!({"status": "running", "services": ["dynamodb", "dynamodbstreams", "sqs", "events", "pipes", "cloudformation", "apigateway", "s3", "sts"]}),
            ),
        ),
        _ => {
            let described = if target.is_empty() {
                format!("{method} {}", uri.path())
            } else {
                target.clone()
            };
            (
                "unknown",
                error_response(
                    JSON_1_0,
                    &request_id,
                    &ServiceError::unknown_operation(&described),
                ),
            )
        }
    };
    let action = if action.is_empty() {
        uri.path()
    } else {
        action
    };
    logged(service_name, action, response, started, &request_id)
}

/// The one log line per request: service, action, status, latency, request id.
fn logged(
    service: &str,
    action: &str,
    response: Response,
    started: Instant,
    request_id: &str,
) -> Response {
    tracing::info!(
        service = %service,
        action = %action,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        request_id = %request_id,
        "request"
    );
    response
}

/// Serialise a JSON-protocol outcome; `content_type` tells awsJson 1.0 from 1.1.
fn reply(
    content_type: &'static str,
    result: Result<serde_json::Value, ServiceError>,
    request_id: &str,
) -> Response {
    match result {
        Ok(body) => ok_response(content_type, request_id, &body),
        Err(error) => {
            if error.status.is_server_error() {
                tracing::error!(error = %error.message, "internal error");
            }
            error_response(content_type, request_id, &error)
        }
    }
}
