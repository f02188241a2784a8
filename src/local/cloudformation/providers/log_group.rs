//! `AWS::Logs::LogGroup`: recorded (the engine keeps no logs). The name, ARN and the
//! retention CloudWatch Logs accepts are checked so a template that AWS would refuse is
//! refused here too.

use serde_json::{Map, Value};

use super::{BoxFuture, ProviderContext, ProviderError, Provisioned, ResourceProvider, ready};

pub struct LogGroupProvider;

/// The values CloudWatch Logs accepts for `RetentionInDays`.
const RETENTION_DAYS: [i64; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

fn check(context: &ProviderContext, properties: &Value) -> Result<(), ProviderError> {
    if let Some(days) = properties.get("RetentionInDays") {
        let days = days.as_i64().or_else(|| days.as_str()?.parse().ok());
        if !days.is_some_and(|d| RETENTION_DAYS.contains(&d)) {
            return Err(ProviderError::property(
                &context.logical_id,
                format!(
                    "#/RetentionInDays: {} is not a valid enum value",
                    properties["RetentionInDays"]
                ),
            ));
        }
    }
    Ok(())
}

impl ResourceProvider for LogGroupProvider {
    fn type_name(&self) -> &'static str {
        "AWS::Logs::LogGroup"
    }

    fn replacement_properties(&self) -> &'static [&'static str] {
        &["LogGroupName"]
    }

    fn attributes(&self) -> &'static [&'static str] {
        &["Arn"]
    }

    fn custom_name<'a>(&self, properties: &'a Value) -> Option<&'a str> {
        properties.get("LogGroupName").and_then(Value::as_str)
    }

    fn create<'a>(
        &'a self,
        context: &'a ProviderContext,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            check(context, properties)?;
            let name = match context.optional_string(properties, "LogGroupName")? {
                Some(name) => name,
                None => context.generated_name(512),
            };
            let mut attributes = Map::new();
            attributes.insert(
                "Arn".into(),
                Value::String(format!(
                    "arn:aws:logs:{}:{}:log-group:{name}:*",
                    context.region, context.account
                )),
            );
            Ok(Provisioned {
                physical_id: name,
                attributes,
            })
        })
    }

    fn update<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        _old: &'a Value,
        new: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        ready(check(context, new).map(|()| current.clone()))
    }

    fn delete<'a>(
        &'a self,
        _context: &'a ProviderContext,
        _current: &'a Provisioned,
        _properties: &'a Value,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        ready(Ok(()))
    }
}
