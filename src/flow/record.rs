//! The DynamoDB stream record of one item write, shaped as Streams and Pipes deliver it.

use serde_json::{Map, Value, json};

/// One write as the stream sees it; items are DynamoDB JSON (`{"S": "x"}` values).
#[derive(Debug, Clone, Copy)]
pub struct Write<'a> {
    pub keys: &'a Map<String, Value>,
    pub old: Option<&'a Map<String, Value>>,
    pub new: Option<&'a Map<String, Value>>,
}

impl Write<'_> {
    /// INSERT, MODIFY or REMOVE; `None` when nothing changed (no record is written).
    pub fn event_name(&self) -> Option<&'static str> {
        match (self.old, self.new) {
            (None, Some(_)) => Some("INSERT"),
            (Some(before), Some(after)) if before != after => Some("MODIFY"),
            (Some(_), None) => Some("REMOVE"),
            _ => None,
        }
    }
}

/// Where a record comes from and what it is called.
#[derive(Debug, Clone)]
pub struct Origin<'a> {
    pub stream_arn: &'a str,
    pub region: &'a str,
    /// KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES.
    pub view: &'a str,
    pub event_id: &'a str,
    pub sequence_number: &'a str,
    pub created_seconds: i64,
}

/// The record as Pipes hands it to filters and templates (with `eventSourceARN`).
pub fn stream_record(write: Write<'_>, origin: &Origin<'_>) -> Option<Value> {
    let event_name = write.event_name()?;
    let view = origin.view;
    let new_image = write
        .new
        .filter(|_| matches!(view, "NEW_IMAGE" | "NEW_AND_OLD_IMAGES"));
    let old_image = write
        .old
        .filter(|_| matches!(view, "OLD_IMAGE" | "NEW_AND_OLD_IMAGES"));
    let size: usize = [Some(write.keys), new_image, old_image]
        .into_iter()
        .flatten()
        .map(|m| Value::Object(m.clone()).to_string().len())
        .sum();
    let mut dynamodb = Map::new();
    dynamodb.insert(
        "ApproximateCreationDateTime".into(),
        json!(origin.created_seconds),
    );
    dynamodb.insert("Keys".into(), Value::Object(write.keys.clone()));
    if let Some(image) = new_image {
        dynamodb.insert("NewImage".into(), Value::Object(image.clone()));
    }
    if let Some(image) = old_image {
        dynamodb.insert("OldImage".into(), Value::Object(image.clone()));
    }
    dynamodb.insert("SequenceNumber".into(), json!(origin.sequence_number));
    dynamodb.insert("SizeBytes".into(), json!(size));
    dynamodb.insert("StreamViewType".into(), json!(view));
    Some(json!({
        "eventID": origin.event_id,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": origin.region,
        "dynamodb": Value::Object(dynamodb),
        "eventSourceARN": origin.stream_arn,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn images_follow_the_stream_view() {
        let keys = map(json!({"pk": {"S": "ORDER#1"}}));
        let old = map(json!({"pk": {"S": "ORDER#1"}, "status": {"S": "PLACED"}}));
        let new = map(json!({"pk": {"S": "ORDER#1"}, "status": {"S": "PAID"}}));
        let write = Write {
            keys: &keys,
            old: Some(&old),
            new: Some(&new),
        };
        let origin = Origin {
            stream_arn: "arn",
            region: "us-east-1",
            view: "NEW_IMAGE",
            event_id: "e",
            sequence_number: "1",
            created_seconds: 1,
        };
        let record = stream_record(write, &origin).unwrap();
        assert_eq!(record["eventName"], "MODIFY");
        assert_eq!(record["dynamodb"]["NewImage"]["status"]["S"], "PAID");
        assert!(record["dynamodb"].get("OldImage").is_none());
        let same = Write {
            keys: &keys,
            old: Some(&old),
            new: Some(&old),
        };
        assert!(
            stream_record(same, &origin).is_none(),
            "a write that changes nothing makes no record"
        );
    }
}
