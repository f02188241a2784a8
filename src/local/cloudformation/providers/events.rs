//! `AWS::Events::EventBus`, `AWS::Events::Rule` and `AWS::Events::Archive` on the engine's
//! EventBridge. Rules go through PutRule and PutTargets, so an invalid event pattern or
//! target fails the resource with EventBridge's own message and the stack rolls back.

use serde_json::{Map, Value};

use super::{BoxFuture, ProviderContext, ProviderError, Provisioned, ResourceProvider};
use crate::local::events::rules::RuleSpec;
use crate::local::events::target::Target;
use crate::local::events::{Events, EventsError};

pub struct EventBusProvider;
pub struct RuleProvider;
pub struct ArchiveProvider;

fn refused(err: EventsError) -> ProviderError {
    let code = if err.is_client_error() {
        "InvalidRequest"
    } else {
        "ServiceInternalError"
    };
    ProviderError::handler(
        format!("{err} (Service: EventBridge, Status Code: 400)"),
        code,
    )
}

fn attributes(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
        .collect()
}

/// An event pattern given as an object or as a JSON string.
fn pattern(properties: &Value) -> Option<String> {
    properties.get("EventPattern").map(|p| match p {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

impl ResourceProvider for EventBusProvider {
    fn type_name(&self) -> &'static str {
        "AWS::Events::EventBus"
    }
    fn replacement_properties(&self) -> &'static [&'static str] {
        &["Name", "EventSourceName"]
    }
    fn attributes(&self) -> &'static [&'static str] {
        &["Arn", "Name"]
    }
    fn custom_name<'a>(&self, properties: &'a Value) -> Option<&'a str> {
        properties.get("Name").and_then(Value::as_str)
    }
    fn create<'a>(
        &'a self,
        context: &'a ProviderContext,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            let name = context
                .optional_string(properties, "Name")?
                .ok_or_else(|| {
                    ProviderError::property(&context.logical_id, "#: required key [Name] not found")
                })?;
            let description = context.optional_string(properties, "Description")?;
            let bus = context
                .services
                .events
                .create_event_bus(&name, description)
                .await
                .map_err(refused)?;
            Ok(Provisioned {
                physical_id: bus.name.clone(),
                attributes: attributes(&[("Arn", &bus.arn), ("Name", &bus.name)]),
            })
        })
    }
    fn delete<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        _properties: &'a Value,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let events = &context.services.events;
            if events
                .describe_event_bus(&current.physical_id)
                .await
                .is_err()
            {
                return Ok(());
            }
            events
                .delete_event_bus(&current.physical_id)
                .await
                .map_err(refused)
        })
    }
}

/// Put the rule and make its targets exactly the template's.
async fn put_rule(
    context: &ProviderContext,
    name: &str,
    properties: &Value,
    previous_targets: &[String],
) -> Result<Provisioned, ProviderError> {
    let events = &context.services.events;
    let bus = context.optional_string(properties, "EventBusName")?;
    let arn = events
        .put_rule(RuleSpec {
            name: name.to_owned(),
            event_bus_name: bus.clone(),
            event_pattern: pattern(properties),
            schedule_expression: context.optional_string(properties, "ScheduleExpression")?,
            state: context.optional_string(properties, "State")?,
            description: context.optional_string(properties, "Description")?,
            role_arn: context.optional_string(properties, "RoleArn")?,
        })
        .await
        .map_err(refused)?;
    let targets: Vec<Target> = match properties.get("Targets") {
        None => Vec::new(),
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|e| ProviderError::property(&context.logical_id, format!("#/Targets: {e}")))?,
    };
    let stale: Vec<String> = previous_targets
        .iter()
        .filter(|id| !targets.iter().any(|t| &t.id == *id))
        .cloned()
        .collect();
    if !stale.is_empty() {
        events
            .remove_targets(name, bus.as_deref(), stale)
            .await
            .map_err(refused)?;
    }
    if !targets.is_empty() {
        events
            .put_targets(name, bus.as_deref(), targets)
            .await
            .map_err(refused)?;
    }
    // Ref of a rule on a custom bus is `<bus>|<rule>`; on the default bus, the name.
    let bus_name = Events::bus_name(bus.as_deref());
    let physical_id = if bus_name == "default" {
        name.to_owned()
    } else {
        format!("{bus_name}|{name}")
    };
    Ok(Provisioned {
        physical_id,
        attributes: attributes(&[("Arn", &arn)]),
    })
}

fn target_ids(properties: &Value) -> Vec<String> {
    properties
        .get("Targets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("Id").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

fn rule_name(physical_id: &str) -> &str {
    physical_id.rsplit('|').next().unwrap_or(physical_id)
}

impl ResourceProvider for RuleProvider {
    fn type_name(&self) -> &'static str {
        "AWS::Events::Rule"
    }
    fn replacement_properties(&self) -> &'static [&'static str] {
        &["Name", "EventBusName"]
    }
    fn attributes(&self) -> &'static [&'static str] {
        &["Arn"]
    }
    fn custom_name<'a>(&self, properties: &'a Value) -> Option<&'a str> {
        properties.get("Name").and_then(Value::as_str)
    }
    fn create<'a>(
        &'a self,
        context: &'a ProviderContext,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            let name = match context.optional_string(properties, "Name")? {
                Some(name) => name,
                None => context.generated_name(64),
            };
            let created = put_rule(context, &name, properties, &[]).await;
            if created.is_err() {
                // PutRule may have succeeded before PutTargets failed: leave nothing behind.
                let bus = context
                    .optional_string(properties, "EventBusName")
                    .ok()
                    .flatten();
                let _ = context
                    .services
                    .events
                    .delete_rule(&name, bus.as_deref(), true)
                    .await;
            }
            created
        })
    }
    fn update<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        old: &'a Value,
        new: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            put_rule(
                context,
                rule_name(&current.physical_id),
                new,
                &target_ids(old),
            )
            .await
        })
    }
    fn delete<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let bus = context.optional_string(properties, "EventBusName")?;
            let name = rule_name(&current.physical_id);
            let events = &context.services.events;
            if events.describe_rule(name, bus.as_deref()).await.is_err() {
                return Ok(());
            }
            events
                .delete_rule(name, bus.as_deref(), true)
                .await
                .map_err(refused)
        })
    }
}

impl ResourceProvider for ArchiveProvider {
    fn type_name(&self) -> &'static str {
        "AWS::Events::Archive"
    }
    fn replacement_properties(&self) -> &'static [&'static str] {
        &["ArchiveName", "SourceArn"]
    }
    fn attributes(&self) -> &'static [&'static str] {
        &["Arn", "ArchiveName"]
    }
    fn custom_name<'a>(&self, properties: &'a Value) -> Option<&'a str> {
        properties.get("ArchiveName").and_then(Value::as_str)
    }
    fn create<'a>(
        &'a self,
        context: &'a ProviderContext,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            let name = match context.optional_string(properties, "ArchiveName")? {
                Some(name) => name,
                None => context.generated_name(48),
            };
            let source = context
                .optional_string(properties, "SourceArn")?
                .ok_or_else(|| {
                    ProviderError::property(
                        &context.logical_id,
                        "#: required key [SourceArn] not found",
                    )
                })?;
            let retention = properties
                .get("RetentionDays")
                .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()));
            let archive = context
                .services
                .events
                .create_archive(
                    &name,
                    &source,
                    context.optional_string(properties, "Description")?,
                    pattern(properties),
                    retention,
                )
                .await
                .map_err(refused)?;
            Ok(Provisioned {
                physical_id: archive.name.clone(),
                attributes: attributes(&[("Arn", &archive.arn), ("ArchiveName", &archive.name)]),
            })
        })
    }
    fn update<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        old: &'a Value,
        new: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            // The engine has no UpdateArchive: recreate it under the same name.
            let events = &context.services.events;
            events
                .delete_archive(&current.physical_id)
                .await
                .map_err(refused)?;
            let recreated = async {
                let source = context
                    .optional_string(new, "SourceArn")?
                    .unwrap_or_default();
                let retention = new.get("RetentionDays").and_then(Value::as_i64);
                events
                    .create_archive(
                        &current.physical_id,
                        &source,
                        context.optional_string(new, "Description")?,
                        pattern(new),
                        retention,
                    )
                    .await
                    .map_err(refused)
            }
            .await;
            if recreated.is_err() {
                let source = context
                    .optional_string(old, "SourceArn")?
                    .unwrap_or_default();
                let retention = old.get("RetentionDays").and_then(Value::as_i64);
                let _ = events
                    .create_archive(&current.physical_id, &source, None, pattern(old), retention)
                    .await;
            }
            recreated.map(|_| current.clone())
        })
    }
    fn delete<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        _properties: &'a Value,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let events = &context.services.events;
            if events.describe_archive(&current.physical_id).await.is_err() {
                return Ok(());
            }
            events
                .delete_archive(&current.physical_id)
                .await
                .map_err(refused)
        })
    }
}
