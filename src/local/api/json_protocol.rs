//! The awsJson 1.0 / 1.1 wire protocol: reading request bodies and writing responses and
//! errors the way AWS does (`__type`, `x-amzn-ErrorType`, status codes, a request id), so
//! every SDK maps errors to its typed exceptions. One serializer for every JSON service.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// An error in the shape the JSON protocols put on the wire.
#[derive(Debug, Clone)]
pub struct ServiceError {
    pub status: StatusCode,
    /// The full `__type`, e.g. `com.amazonaws.dynamodb.v20120810#ResourceNotFoundException`.
    pub type_name: String,
    pub message: String,
    /// The key the service uses for the message (`message` or `Message`).
    pub message_key: &'static str,
    /// Extra members of the error shape (CancellationReasons, Item, …).
    pub fields: Vec<(&'static str, Value)>,
}

impl ServiceError {
    pub fn new(
        status: StatusCode,
        type_name: impl Into<String>,
        message: impl Into<String>,
    ) -> ServiceError {
        ServiceError {
            status,
            type_name: type_name.into(),
            message: message.into(),
            message_key: "message",
            fields: Vec::new(),
        }
    }

    /// The request body is not the JSON the operation expects.
    pub fn serialization(message: impl Into<String>) -> ServiceError {
        ServiceError::new(
            StatusCode::BAD_REQUEST,
            "com.amazon.coral.service#SerializationException",
            message,
        )
    }

    pub fn unknown_operation(target: &str) -> ServiceError {
        ServiceError::new(
            StatusCode::BAD_REQUEST,
            "com.amazon.coral.service#UnknownOperationException",
            format!(
                "The local engine does not serve the operation `{target}`; see docs/local-engine.md for what it supports"
            ),
        )
    }

    /// The shape name without its namespace (what `x-amzn-ErrorType` carries first).
    pub fn shape(&self) -> &str {
        self.type_name.rsplit('#').next().unwrap_or(&self.type_name)
    }
}

/// Why a request body could not be read.
#[derive(Debug)]
pub enum RequestError {
    /// A required member is absent (AWS answers ValidationException).
    MissingMember(String),
    /// Not JSON, or a member of the wrong type (AWS answers SerializationException).
    Malformed(String),
}

impl RequestError {
    /// The error with the given ValidationException `__type`, for the service at hand.
    pub fn into_service_error(self, validation_type: &str) -> ServiceError {
        match self {
            RequestError::MissingMember(member) => ServiceError::new(
                StatusCode::BAD_REQUEST,
                validation_type,
                format!(
                    "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
                ),
            ),
            RequestError::Malformed(reason) => {
                ServiceError::serialization(format!("cannot parse the request body: {reason}"))
            }
        }
    }
}

/// Parse a JSON request body into the operation's input type.
pub fn parse_request<T: DeserializeOwned>(body: &[u8]) -> Result<T, RequestError> {
    let body = if body.is_empty() {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        match text
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            // AWS names members in lower camel case in these messages.
            Some(member) => {
                let mut chars = member.chars();
                let camel = chars
                    .next()
                    .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
                    .unwrap_or_default();
                RequestError::MissingMember(camel)
            }
            None => RequestError::Malformed(text),
        }
    })
}

fn base_response(
    status: StatusCode,
    content_type: &'static str,
    request_id: &str,
    body: Vec<u8>,
) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(content_type));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

pub fn ok_response(content_type: &'static str, request_id: &str, body: &Value) -> Response {
    base_response(
        StatusCode::OK,
        content_type,
        request_id,
        body.to_string().into_bytes(),
    )
}

pub fn error_response(
    content_type: &'static str,
    request_id: &str,
    error: &ServiceError,
) -> Response {
    let mut body = Map::new();
    body.insert("__type".into(), Value::String(error.type_name.clone()));
    body.insert(
        error.message_key.into(),
        Value::String(error.message.clone()),
    );
    body.extend(
        error
            .fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone())),
    );
    let mut response = base_response(
        error.status,
        content_type,
        request_id,
        Value::Object(body).to_string().into_bytes(),
    );
    if let Ok(kind) = HeaderValue::from_str(error.shape()) {
        response.headers_mut().insert("x-amzn-errortype", kind);
    }
    response
}
