//! Shared setup for the local engine tests: an in-process engine on an ephemeral port with
//! its own temp dir, and SDK clients pointed at it with dummy credentials.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use outboxctl::local::clock::Clock;
use outboxctl::local::{Engine, EngineConfig, EngineHandle};

pub struct TestEngine {
    pub handle: EngineHandle,
    // Kept so the data directory lives as long as the engine.
    _dir: tempfile::TempDir,
}

impl TestEngine {
    pub async fn start() -> TestEngine {
        TestEngine::start_with(|_| {}).await
    }

    pub async fn with_clock(clock: Arc<dyn Clock>) -> TestEngine {
        TestEngine::start_with(move |config| config.clock = clock).await
    }

    async fn start_with(adjust: impl FnOnce(&mut EngineConfig)) -> TestEngine {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = EngineConfig::ephemeral(dir.path());
        adjust(&mut config);
        let handle = Engine::start(config).await.expect("engine starts");
        TestEngine { handle, _dir: dir }
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        dynamodb_client(&self.handle.endpoint_url())
    }

    pub fn streams(&self) -> aws_sdk_dynamodbstreams::Client {
        streams_client(&self.handle.endpoint_url())
    }
}

/// A DynamoDB client for `endpoint` with the dummy test credentials.
pub fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A DynamoDB Streams client for `endpoint` with the dummy test credentials.
pub fn streams_client(endpoint: &str) -> aws_sdk_dynamodbstreams::Client {
    use aws_sdk_dynamodbstreams::config as streams;
    let config = streams::Config::builder()
        .behavior_version(streams::BehaviorVersion::latest())
        .region(streams::Region::new("us-east-1"))
        .credentials_provider(streams::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_dynamodbstreams::Client::from_conf(config)
}

pub fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

pub fn n(value: &str) -> AttributeValue {
    AttributeValue::N(value.to_owned())
}

pub fn item(pairs: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// Create `name` keyed by `pk` (S) and, if given, `sk` (N); stream view type optional.
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    with_sort_key: bool,
    stream: Option<&str>,
) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        StreamSpecification, StreamViewType,
    };
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        );
    if with_sort_key {
        request = request
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("sk")
                    .attribute_type(ScalarAttributeType::N)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("sk")
                    .key_type(KeyType::Range)
                    .build()
                    .unwrap(),
            );
    }
    if let Some(view) = stream {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view))
                .build()
                .unwrap(),
        );
    }
    request.send().await.expect("create table");
}
