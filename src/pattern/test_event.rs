//! TestEventPattern's check of the event itself: AWS requires the envelope fields `id`,
//! `account`, `source`, `time`, `region` and `detail-type`, and answers an event without
//! them with `ValidationException: Parameter Event is not valid.` (no more detail).

use serde_json::Value;
use thiserror::Error;

/// The envelope fields TestEventPattern requires.
pub const REQUIRED_EVENT_FIELDS: [&str; 6] =
    ["id", "account", "source", "time", "region", "detail-type"];

/// An event TestEventPattern refuses. `Display` is AWS's message; `missing` says why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Parameter Event is not valid.")]
pub struct TestEventError {
    /// The first required field the event lacks, or `None` when it is not a JSON object.
    pub missing: Option<&'static str>,
}

impl TestEventError {
    pub fn code(&self) -> &'static str {
        "ValidationException"
    }

    /// How to fix it, for people (AWS itself says no more than the message).
    pub fn hint(&self) -> String {
        match self.missing {
            Some(field) => format!(
                "the event has no `{field}`; TestEventPattern requires {}",
                REQUIRED_EVENT_FIELDS.join(", ")
            ),
            None => "the event must be a JSON object".to_string(),
        }
    }
}

/// Check an event the way TestEventPattern does before matching.
pub fn validate_test_event(event: &Value) -> Result<(), TestEventError> {
    let Value::Object(fields) = event else {
        return Err(TestEventError { missing: None });
    };
    match REQUIRED_EVENT_FIELDS
        .iter()
        .find(|name| !fields.contains_key(**name))
    {
        Some(missing) => Err(TestEventError {
            missing: Some(missing),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope() -> Value {
        json!({"version": "0", "id": "1", "detail-type": "OrderCreated", "source": "shop",
               "account": "123456789012", "time": "2026-01-01T00:00:00Z",
               "region": "us-east-1", "resources": [], "detail": {}})
    }

    #[test]
    fn a_full_envelope_is_accepted() {
        assert_eq!(validate_test_event(&envelope()), Ok(()));
    }

    #[test]
    fn each_required_field_is_required_with_aws_message() {
        for field in REQUIRED_EVENT_FIELDS {
            let mut event = envelope();
            event.as_object_mut().unwrap().remove(field);
            let err = validate_test_event(&event).unwrap_err();
            assert_eq!(err.to_string(), "Parameter Event is not valid.");
            assert_eq!(err.missing, Some(field));
            assert_eq!(err.code(), "ValidationException");
        }
    }

    #[test]
    fn version_resources_and_detail_are_optional() {
        let mut event = envelope();
        for field in ["version", "resources", "detail"] {
            event.as_object_mut().unwrap().remove(field);
        }
        assert_eq!(validate_test_event(&event), Ok(()));
    }

    #[test]
    fn a_non_object_is_refused() {
        assert_eq!(validate_test_event(&json!([1])).unwrap_err().missing, None);
    }
}
