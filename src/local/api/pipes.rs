//! EventBridge Pipes' REST JSON protocol: `POST|GET|PUT|DELETE /v1/pipes/{Name}`,
//! `POST /v1/pipes/{Name}/start|stop`, `GET /v1/pipes` (ListPipes, with its query
//! filters), and `POST|GET|DELETE /tags/{resourceArn}` (TagResource,
//! ListTagsForResource, UntagResource), as thin actions over
//! [`crate::local::pipes::Pipes`].

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::json_protocol::{ServiceError, error_response, ok_response};
use crate::local::EngineState;
use crate::local::pipes::{PipeInfo, PipeSpec, PipesError};

pub const PREFIX: &str = "/v1/pipes";
/// Where the tagging operations live; the ARN follows, percent-encoded.
pub const TAGS_PREFIX: &str = "/tags/";
const JSON: &str = "application/json";

pub async fn respond(
    state: &EngineState,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
    request_id: &str,
) -> Response {
    let outcome = if path.starts_with(TAGS_PREFIX) {
        tagging(state, method, path, query, body).await
    } else {
        dispatch(state, method, path, query, body).await
    };
    match outcome {
        Ok(value) => ok_response(JSON, request_id, &value),
        Err(error) => {
            let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
            if status.is_server_error() {
                tracing::error!(error = %error, "internal error");
            }
            error_response(
                JSON,
                request_id,
                &ServiceError::new(status, error.shape(), error.to_string()),
            )
        }
    }
}

async fn dispatch(
    state: &EngineState,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Result<Value, PipesError> {
    let pipes = &state.pipes;
    let rest = path.strip_prefix(PREFIX).unwrap_or("").trim_matches('/');
    let mut parts = rest.split('/');
    match (
        method.as_str(),
        parts.next().filter(|p| !p.is_empty()),
        parts.next(),
        parts.next(),
    ) {
        ("GET", None, None, None) => list_pipes(state, query).await,
        ("POST", Some(name), None, None) => {
            Ok(summary(&pipes.create_pipe(name, spec(body)?).await?))
        }
        ("GET", Some(name), None, None) => Ok(describe(&pipes.describe_pipe(name).await?)),
        ("PUT", Some(name), None, None) => {
            Ok(summary(&pipes.update_pipe(name, spec(body)?).await?))
        }
        ("DELETE", Some(name), None, None) => Ok(summary(&pipes.delete_pipe(name).await?)),
        ("POST", Some(name), Some("start"), None) => Ok(summary(&pipes.start_pipe(name).await?)),
        ("POST", Some(name), Some("stop"), None) => Ok(summary(&pipes.stop_pipe(name).await?)),
        _ => Err(PipesError::NotFound(format!(
            "the local engine serves no Pipes operation at {method} {path}; see docs/local-engine.md"
        ))),
    }
}

/// TagResource, ListTagsForResource and UntagResource on the pipe the path's ARN names.
async fn tagging(
    state: &EngineState,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Result<Value, PipesError> {
    let pipes = &state.pipes;
    let arn = decode(path.strip_prefix(TAGS_PREFIX).unwrap_or(""));
    let name = pipes
        .name_in_arn(&arn)
        .ok_or_else(|| PipesError::NotFound(format!("Resource {arn} does not exist.")))?;
    match method.as_str() {
        "GET" => Ok(json!({"tags": pipes.describe_pipe(name).await?.spec.tags()})),
        "POST" => {
            let tags = match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(mut request)) => request.remove("tags"),
                _ => None,
            };
            let Some(Value::Object(tags)) = tags else {
                return Err(PipesError::Validation(
                    "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null".into(),
                ));
            };
            pipes.retag(name, tags, Vec::new()).await?;
            Ok(json!({}))
        }
        "DELETE" => {
            let keys: Vec<String> = query
                .unwrap_or("")
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .filter(|(key, _)| *key == "tagKeys")
                .map(|(_, value)| decode(value))
                .collect();
            pipes.retag(name, Map::new(), keys).await?;
            Ok(json!({}))
        }
        _ => Err(PipesError::NotFound(format!(
            "the local engine serves no Pipes operation at {method} {path}; see docs/local-engine.md"
        ))),
    }
}

fn spec(body: &[u8]) -> Result<PipeSpec, PipesError> {
    let body = if body.is_empty() {
        b"{}".as_slice()
    } else {
        body
    };
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut map)) => {
            map.remove("Name");
            Ok(PipeSpec(map))
        }
        _ => Err(PipesError::Validation(
            "the request body is not a JSON object".into(),
        )),
    }
}

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// What Create/Update/Delete/Start/StopPipe answer.
fn summary(pipe: &PipeInfo) -> Value {
    json!({
        "Arn": pipe.arn,
        "Name": pipe.name,
        "DesiredState": pipe.desired_state,
        "CurrentState": pipe.current_state,
        "CreationTime": seconds(pipe.created_ms),
        "LastModifiedTime": seconds(pipe.modified_ms),
    })
}

fn describe(pipe: &PipeInfo) -> Value {
    let mut out: Map<String, Value> = pipe.spec.0.clone();
    if let Value::Object(head) = summary(pipe) {
        out.extend(head);
    }
    if let Some(reason) = &pipe.state_reason {
        out.insert("StateReason".into(), json!(reason));
    }
    Value::Object(out)
}

async fn list_pipes(state: &EngineState, query: Option<&str>) -> Result<Value, PipesError> {
    let params: Vec<(String, String)> = query
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), decode(v)))
        .collect();
    let param = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let limit = param("Limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(100);
    let pipes: Vec<Value> = state
        .pipes
        .list_pipes()
        .await?
        .into_iter()
        .filter(|p| param("NamePrefix").is_none_or(|x| p.name.starts_with(x)))
        .filter(|p| param("SourcePrefix").is_none_or(|x| p.spec.source().starts_with(x)))
        .filter(|p| param("TargetPrefix").is_none_or(|x| p.spec.target().starts_with(x)))
        .filter(|p| param("DesiredState").is_none_or(|x| p.desired_state == x))
        .filter(|p| param("CurrentState").is_none_or(|x| p.current_state == x))
        .take(limit)
        .map(|p| {
            let mut entry = summary(&p);
            entry["Source"] = json!(p.spec.source());
            entry["Target"] = json!(p.spec.target());
            entry
        })
        .collect();
    Ok(json!({"Pipes": pipes}))
}

/// Percent-decoding for query values (SDKs encode `:` and `/` in ARN prefixes).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => {
                match u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("zz"), 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            (b'+', _) => out.push(b' '),
            (byte, _) => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
