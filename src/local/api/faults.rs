//! The admin endpoint for fault injection, `/_outboxctl/faults` on the engine's port:
//! `POST {"target": "queue:<name>" | "bus:<name>", "action": "refuse", "seconds": N}` makes
//! deliveries to that queue (or PutEvents to that bus) fail for N seconds; `DELETE` with
//! `{"target": …}` clears one fault, with no body clears all; `GET` lists active faults.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::json_protocol::{ServiceError, error_response, ok_response};
use crate::local::EngineState;
use crate::local::faults::FaultTarget;

pub const PATH: &str = "/_outboxctl/faults";
const JSON: &str = "application/json";
/// The longest fault: one day.
const MAX_SECONDS: u64 = 86_400;

#[derive(Debug, Deserialize)]
struct FaultRequest {
    target: Option<String>,
    action: Option<String>,
    seconds: Option<u64>,
}

pub fn respond(state: &EngineState, method: &Method, body: &[u8], request_id: &str) -> Response {
    match handle(state, method, body) {
        Ok(value) => ok_response(JSON, request_id, &value),
        Err(message) => error_response(
            JSON,
            request_id,
            &ServiceError::new(StatusCode::BAD_REQUEST, "ValidationException", message),
        ),
    }
}

fn handle(state: &EngineState, method: &Method, body: &[u8]) -> Result<serde_json::Value, String> {
    let request: Option<FaultRequest> = if body.is_empty() {
        None
    } else {
        Some(
            serde_json::from_slice(body)
                .map_err(|e| format!("the body is not a fault request: {e}"))?,
        )
    };
    let target = |request: &FaultRequest| -> Result<FaultTarget, String> {
        let text = request.target.as_deref().unwrap_or("");
        FaultTarget::parse(text).ok_or_else(|| {
            format!("`{text}` is not a fault target; use \"queue:<name>\" or \"bus:<name>\"")
        })
    };
    match *method {
        Method::POST => {
            let request = request.ok_or("POST needs a body: {\"target\": \"queue:<name>\", \"action\": \"refuse\", \"seconds\": N}")?;
            let target = target(&request)?;
            if request.action.as_deref().unwrap_or("refuse") != "refuse" {
                return Err("the only fault action is \"refuse\"".into());
            }
            let seconds = request.seconds.unwrap_or(60);
            if !(1..=MAX_SECONDS).contains(&seconds) {
                return Err(format!("seconds must be between 1 and {MAX_SECONDS}"));
            }
            state.faults.refuse(target.clone(), seconds);
            tracing::warn!(%target, seconds, "fault injected: deliveries are refused");
            Ok(json!({"target": target.to_string(), "action": "refuse", "seconds": seconds}))
        }
        Method::DELETE => {
            match request {
                Some(request) => state.faults.clear(Some(&target(&request)?)),
                None => state.faults.clear(None),
            }
            Ok(json!({"cleared": true}))
        }
        Method::GET => {
            let active: Vec<_> = state
                .faults
                .active()
                .into_iter()
                .map(|(t, left)| json!({"target": t.to_string(), "action": "refuse", "secondsLeft": left}))
                .collect();
            Ok(json!({"faults": active}))
        }
        _ => Err("use POST, DELETE or GET".into()),
    }
}
