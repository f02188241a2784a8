//! Resource providers: how each resource type is created, updated in place and deleted
//! against the engine's services, and which of its properties force a replacement.
//! A registry maps type names to providers; a type it does not hold is refused when the
//! change set is created, never ignored.

mod apigateway;
mod dynamodb_table;
mod events;
mod iam;
mod log_group;
mod pipes;
mod sqs;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::local::apigateway::ApiGateway;
use crate::local::dynamodb::DynamoDb;
use crate::local::events::Events;
use crate::local::pipes::Pipes;
use crate::local::sqs::Sqs;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a provider reports back: the physical id (what `Ref` returns) and the values
/// `Fn::GetAtt` can read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provisioned {
    pub physical_id: String,
    pub attributes: Map<String, Value>,
}

/// A failure the stack reports in the resource's `ResourceStatusReason`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ProviderError(pub String);

impl ProviderError {
    pub fn new(message: impl Into<String>) -> ProviderError {
        ProviderError(message.into())
    }

    /// A service refused the call, worded as CloudFormation's resource handlers report it.
    pub fn handler(message: impl std::fmt::Display, code: &str) -> ProviderError {
        ProviderError(format!(
            "Resource handler returned message: \"{message}\" (HandlerErrorCode: {code})"
        ))
    }

    /// The property is missing or has the wrong shape (what CloudFormation's schema check says).
    pub fn property(logical_id: &str, message: impl std::fmt::Display) -> ProviderError {
        ProviderError(format!(
            "Properties validation failed for resource {logical_id} with message: {message}"
        ))
    }
}

/// The engine services providers act on.
#[derive(Clone)]
pub struct Services {
    pub dynamodb: DynamoDb,
    pub apigateway: ApiGateway,
    pub sqs: Sqs,
    pub events: Events,
    pub pipes: Pipes,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Services { dynamodb, apigateway, sqs, events, pipes }")
    }
}

/// Who is asking: used for generated names and ARNs.
#[derive(Debug, Clone)]
pub struct ProviderContext {
    pub services: Services,
    pub stack_name: String,
    pub logical_id: String,
    pub region: String,
    pub account: String,
}

impl ProviderContext {
    /// A physical name as CloudFormation generates one when the template gives none:
    /// `<stack>-<logical id>-<13 random characters>`, shortened to `max_len`.
    pub fn generated_name(&self, max_len: usize) -> String {
        let suffix: String = uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .to_uppercase()
            .chars()
            .take(13)
            .collect();
        let budget = max_len.saturating_sub(suffix.len() + 2);
        let stack_part = self.stack_name.chars().take(budget / 2).collect::<String>();
        let logical_part = self
            .logical_id
            .chars()
            .take(budget - stack_part.len())
            .collect::<String>();
        format!("{stack_part}-{logical_part}-{suffix}")
    }

    /// A string property, or `None`.
    pub fn optional_string(
        &self,
        properties: &Value,
        name: &str,
    ) -> Result<Option<String>, ProviderError> {
        match properties.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(ProviderError::property(
                &self.logical_id,
                format!(
                    "#/{name}: expected type: String, found: {}",
                    json_type(other)
                ),
            )),
        }
    }

    pub fn required<'v>(
        &self,
        properties: &'v Value,
        name: &str,
    ) -> Result<&'v Value, ProviderError> {
        properties.get(name).ok_or_else(|| {
            ProviderError::property(
                &self.logical_id,
                format!("#: required key [{name}] not found"),
            )
        })
    }
}

pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

/// One resource type.
pub trait ResourceProvider: Send + Sync {
    fn type_name(&self) -> &'static str;
    /// Properties whose change replaces the resource (per the CloudFormation resource
    /// reference: "Update requires: Replacement").
    fn replacement_properties(&self) -> &'static [&'static str];
    /// The attributes `Fn::GetAtt` accepts.
    fn attributes(&self) -> &'static [&'static str];
    /// Attributes an in-place update may change (dependents that read them are then
    /// updated too); the others keep their values.
    fn volatile_attributes(&self) -> &'static [&'static str] {
        &[]
    }
    /// Whether the template's properties ask for a fixed physical name (a replacement then
    /// cannot create the new resource beside the old one).
    fn custom_name<'a>(&self, properties: &'a Value) -> Option<&'a str> {
        let _ = properties;
        None
    }
    fn create<'a>(
        &'a self,
        context: &'a ProviderContext,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>>;
    /// Change the resource in place; only called when no replacement property changed.
    /// By default nothing changes: for types whose every real change is a replacement, or
    /// whose other properties are only recorded in the stack.
    fn update<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        old: &'a Value,
        new: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        let _ = (context, old, new);
        ready(Ok(current.clone()))
    }
    fn delete<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<(), ProviderError>>;
}

/// The resource types the engine can deploy, by type name.
#[derive(Clone)]
pub struct Registry {
    providers: BTreeMap<&'static str, Arc<dyn ResourceProvider>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.providers.keys()).finish()
    }
}

impl Default for Registry {
    fn default() -> Registry {
        let mut registry = Registry {
            providers: BTreeMap::new(),
        };
        registry.register(Arc::new(dynamodb_table::TableProvider));
        registry.register(Arc::new(iam::RoleProvider));
        registry.register(Arc::new(iam::PolicyProvider));
        registry.register(Arc::new(log_group::LogGroupProvider));
        registry.register(Arc::new(apigateway::RestApiProvider));
        registry.register(Arc::new(apigateway::ResourceProviderImpl));
        registry.register(Arc::new(apigateway::MethodProvider));
        registry.register(Arc::new(apigateway::ModelProvider));
        registry.register(Arc::new(apigateway::RequestValidatorProvider));
        registry.register(Arc::new(apigateway::GatewayResponseProvider));
        registry.register(Arc::new(apigateway::DeploymentProvider));
        registry.register(Arc::new(apigateway::StageProvider));
        registry.register(Arc::new(sqs::QueueProvider));
        registry.register(Arc::new(sqs::QueuePolicyProvider));
        registry.register(Arc::new(events::EventBusProvider));
        registry.register(Arc::new(events::RuleProvider));
        registry.register(Arc::new(events::ArchiveProvider));
        registry.register(Arc::new(pipes::PipeProvider));
        registry
    }
}

impl Registry {
    pub fn register(&mut self, provider: Arc<dyn ResourceProvider>) {
        self.providers.insert(provider.type_name(), provider);
    }

    pub fn get(&self, type_name: &str) -> Option<&Arc<dyn ResourceProvider>> {
        self.providers.get(type_name)
    }

    pub fn supported(&self) -> Vec<&'static str> {
        self.providers.keys().copied().collect()
    }
}

/// A future that is already done: for providers that only record.
pub fn ready<'a, T: Send + 'a>(value: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

/// A template's `Tags` as a map: most types write `[{Key, Value}]`, some (a pipe) a map.
pub fn tags(properties: &Value) -> BTreeMap<String, String> {
    match properties.get("Tags") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|tag| {
                Some((
                    tag.get("Key")?.as_str()?.to_owned(),
                    tag.get("Value")?.as_str()?.to_owned(),
                ))
            })
            .collect(),
        Some(Value::Object(map)) => map
            .iter()
            .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// How `Tags` changed from `old` to `new` properties: a key set to `Some` value, or
/// removed (`None`). Tags apply in place, as on AWS.
pub fn tag_changes(old: &Value, new: &Value) -> BTreeMap<String, Option<String>> {
    let (before, after) = (tags(old), tags(new));
    let mut changes: BTreeMap<String, Option<String>> = after
        .iter()
        .filter(|(key, value)| before.get(*key) != Some(*value))
        .map(|(key, value)| (key.clone(), Some(value.clone())))
        .collect();
    for key in before.keys().filter(|key| !after.contains_key(*key)) {
        changes.insert(key.clone(), None);
    }
    changes
}

/// Whether an optional boolean property is set to true (`true` or `"true"`).
pub fn flag(properties: &Value, pointer: &str) -> bool {
    matches!(properties.pointer(pointer), Some(Value::Bool(true)))
        || properties.pointer(pointer).and_then(Value::as_str) == Some("true")
}
