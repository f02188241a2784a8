//! Serving the REST APIs CloudFormation deployed: a request to a stage is routed to its
//! deployed method, its body mapped by the request template, sent to the integration
//! (a DynamoDB action through the engine's own DynamoDB API, or MOCK), and the answer
//! picked and mapped by the integration responses, as API Gateway does.
//!
//! Two URL forms reach a stage: `/restapis/<api id>/<stage>/_user_request_/<path>` (as
//! other emulators spell it) and `/<stage>/<path>` with `Host: <api id>.execute-api.<…>`.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::dynamodb;
use crate::local::EngineState;
use crate::local::apigateway::mapping::{self, MappingContext, RefusalContext};
use crate::local::apigateway::{ApiMethod, GatewayResponse, schema};

/// Where a request is going: API, stage and the path inside the stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub api_id: String,
    pub stage: String,
    pub path: String,
}

/// Whether a request is for a deployed API, and which.
pub fn target(path: &str, headers: &HeaderMap) -> Option<Target> {
    if let Some(rest) = path.strip_prefix("/restapis/") {
        let (api_id, rest) = rest.split_once('/')?;
        let (stage, rest) = rest.split_once('/')?;
        let inner = rest.strip_prefix("_user_request_")?;
        return Some(Target {
            api_id: api_id.to_owned(),
            stage: stage.to_owned(),
            path: if inner.is_empty() {
                "/".into()
            } else {
                inner.to_owned()
            },
        });
    }
    let host = headers.get("host")?.to_str().ok()?;
    let (api_id, rest) = host.split_once('.')?;
    if !rest.starts_with("execute-api.") {
        return None;
    }
    let trimmed = path.trim_start_matches('/');
    let (stage, inner) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    Some(Target {
        api_id: api_id.to_owned(),
        stage: stage.to_owned(),
        path: format!("/{inner}"),
    })
}

fn json_response(status: StatusCode, request_id: &str, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

fn message(status: StatusCode, request_id: &str, text: &str) -> Response {
    json_response(status, request_id, json!({"message": text}).to_string())
}

pub async fn handle(
    state: &EngineState,
    target: Target,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
    request_id: &str,
    now_ms: i64,
) -> Response {
    let route =
        match state
            .apigateway
            .route(&target.api_id, &target.stage, method.as_str(), &target.path)
        {
            Ok(found) => found,
            Err(_) => {
                return message(
                    StatusCode::FORBIDDEN,
                    request_id,
                    "Missing Authentication Token",
                );
            }
        };
    let api_method = &route.method;
    // Signatures are not verified (as everywhere in the engine), but an IAM-authorised
    // method still needs one to be present, as on AWS.
    if api_method.authorization_type == "AWS_IAM" && !headers.contains_key("authorization") {
        return message(
            StatusCode::FORBIDDEN,
            request_id,
            "Missing Authentication Token",
        );
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_ascii_lowercase())
        .unwrap_or_else(|| "application/json".into());
    let context = MappingContext {
        body: String::from_utf8_lossy(body).into_owned(),
        request_id: request_id.to_owned(),
        request_time_epoch_ms: now_ms,
        stage: target.stage.clone(),
        api_id: target.api_id.clone(),
        http_method: method.as_str().to_owned(),
        resource_path: target.path.clone(),
        source_ip: "127.0.0.1".into(),
        error: RefusalContext::default(),
    };
    // The model is checked before any mapping: a body it refuses never reaches DynamoDB.
    if let Some(schema) = route.body_models.get(&content_type) {
        let problems = match serde_json::from_slice::<Value>(body) {
            Ok(instance) => schema::validate(schema, &instance),
            Err(err) => vec![format!("Unable to parse JSON: {err}")],
        };
        if !problems.is_empty() {
            return bad_request_body(&route.gateway_responses, problems, context, request_id);
        }
    }
    let integration_body = match request_body(api_method, &content_type, &context) {
        Ok(Some(mapped)) => mapped,
        Ok(None) => {
            return message(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                request_id,
                "Unsupported Media Type",
            );
        }
        Err(err) => {
            return message(
                StatusCode::INTERNAL_SERVER_ERROR,
                request_id,
                &err.to_string(),
            );
        }
    };
    let (status, response_body) = integrate(state, api_method, &integration_body).await;
    respond(api_method, status, response_body, context, request_id)
}

/// API Gateway's own 400 for a body its model refuses: the API's `BAD_REQUEST_BODY`
/// gateway response if it has one (its template sees `$context.error.*`), else the
/// default `{"message": "Invalid request body"}`.
fn bad_request_body(
    responses: &[GatewayResponse],
    problems: Vec<String>,
    mut context: MappingContext,
    request_id: &str,
) -> Response {
    const TYPE: &str = "BAD_REQUEST_BODY";
    let listed = format!("[{}]", problems.join(", "));
    // Escaped as inside a JSON string, without the quotes: templates quote it themselves.
    let escaped = Value::from(listed).to_string();
    context.error = RefusalContext {
        message: "Invalid request body".into(),
        response_type: TYPE.into(),
        validation_error_string: escaped[1..escaped.len() - 1].to_owned(),
    };
    let custom = responses.iter().find(|r| r.response_type == TYPE);
    let status = custom
        .and_then(|r| r.status_code)
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::BAD_REQUEST);
    let body = match custom.and_then(|r| r.templates.get("application/json")) {
        Some(template) => match mapping::render(template, &context) {
            Ok(text) => text,
            Err(err) => {
                return message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    request_id,
                    &err.to_string(),
                );
            }
        },
        None => json!({"message": context.error.message}).to_string(),
    };
    let mut response = json_response(status, request_id, body);
    response.headers_mut().insert(
        "x-amzn-errortype",
        HeaderValue::from_static("BadRequestException"),
    );
    response
}

/// The integration request body: the template for the content type, or the body itself
/// as the passthrough behaviour allows; `None` answers 415.
fn request_body(
    method: &ApiMethod,
    content_type: &str,
    context: &MappingContext,
) -> Result<Option<String>, mapping::MappingError> {
    let templates = method
        .integration
        .get("RequestTemplates")
        .and_then(Value::as_object);
    if let Some(template) = templates
        .and_then(|t| t.get(content_type))
        .and_then(Value::as_str)
    {
        return mapping::render(template, context).map(Some);
    }
    let passthrough = method
        .integration
        .get("PassthroughBehavior")
        .and_then(Value::as_str)
        .unwrap_or("WHEN_NO_MATCH");
    let allowed = match passthrough {
        "NEVER" => false,
        "WHEN_NO_TEMPLATES" => templates.is_none_or(|t| t.is_empty()),
        _ => true,
    };
    Ok(allowed.then(|| context.body.clone()))
}

/// Call the integration: the HTTP status and body it answered with.
async fn integrate(state: &EngineState, method: &ApiMethod, body: &str) -> (u16, String) {
    let kind = method
        .integration
        .get("Type")
        .and_then(Value::as_str)
        .unwrap_or("");
    if kind == "MOCK" {
        let status = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.get("statusCode").and_then(Value::as_u64))
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(200);
        return (status, String::new());
    }
    let uri = method
        .integration
        .get("Uri")
        .and_then(Value::as_str)
        .unwrap_or("");
    let action = uri.rsplit("action/").next().unwrap_or("");
    match dynamodb::dispatch(state, action, body.as_bytes()).await {
        Ok(value) => (200, value.to_string()),
        Err(error) => {
            let body = json!({"__type": error.type_name, "message": error.message}).to_string();
            (error.status.as_u16(), body)
        }
    }
}

/// Pick the integration response whose SelectionPattern matches the integration status
/// (the one without a pattern is the default) and map its body.
fn respond(
    method: &ApiMethod,
    status: u16,
    body: String,
    mut context: MappingContext,
    request_id: &str,
) -> Response {
    let responses: Vec<&Value> = method
        .integration
        .get("IntegrationResponses")
        .and_then(Value::as_array)
        .map(|r| r.iter().collect())
        .unwrap_or_default();
    let status_text = status.to_string();
    let selected = responses
        .iter()
        .find(|r| {
            r.get("SelectionPattern")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
                .and_then(|p| regex_lite::Regex::new(&format!("^(?:{p})$")).ok())
                .is_some_and(|re| re.is_match(&status_text))
        })
        .or_else(|| {
            responses.iter().find(|r| {
                r.get("SelectionPattern")
                    .is_none_or(|p| p.as_str() == Some(""))
            })
        });
    let Some(selected) = selected else {
        if responses.is_empty() && (200..300).contains(&status) {
            return json_response(StatusCode::OK, request_id, body);
        }
        // No integration response applies: API Gateway reports a configuration error.
        return message(
            StatusCode::INTERNAL_SERVER_ERROR,
            request_id,
            "Internal server error",
        );
    };
    let code = selected
        .get("StatusCode")
        .and_then(|s| {
            s.as_str()
                .map(str::to_owned)
                .or_else(|| s.as_u64().map(|n| n.to_string()))
        })
        .and_then(|s| s.parse::<u16>().ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let template = selected
        .get("ResponseTemplates")
        .and_then(|t| t.get("application/json"))
        .and_then(Value::as_str);
    let mapped = match template {
        Some(template) => {
            context.body = body;
            match mapping::render(template, &context) {
                Ok(text) => text,
                Err(err) => {
                    return message(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        request_id,
                        &err.to_string(),
                    );
                }
            }
        }
        None => body,
    };
    json_response(code, request_id, mapped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_url_forms_reach_a_stage() {
        let none = HeaderMap::new();
        assert_eq!(
            target("/restapis/abc123/v1/_user_request_/orders", &none),
            Some(Target {
                api_id: "abc123".into(),
                stage: "v1".into(),
                path: "/orders".into()
            })
        );
        let mut host = HeaderMap::new();
        host.insert(
            "host",
            HeaderValue::from_static("abc123.execute-api.localhost:4566"),
        );
        assert_eq!(
            target("/v1/orders", &host),
            Some(Target {
                api_id: "abc123".into(),
                stage: "v1".into(),
                path: "/orders".into()
            })
        );
        assert_eq!(target("/", &none), None);
    }
}
