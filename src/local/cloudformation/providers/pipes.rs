//! `AWS::Pipes::Pipe` on the engine's Pipes: the template's properties are the CreatePipe
//! request (Source, Target, RoleArn, SourceParameters, TargetParameters, DesiredState, …),
//! compiled by the Pipes service itself, so a filter or template it refuses fails the
//! resource with its message; the runner starts reading the stream once created. Tag
//! changes apply in place.

use serde_json::{Map, Value};

use super::{
    BoxFuture, ProviderContext, ProviderError, Provisioned, ResourceProvider, tag_changes,
};
use crate::local::pipes::PipesError;
use crate::local::pipes::spec::PipeSpec;

pub struct PipeProvider;

fn refused(err: PipesError) -> ProviderError {
    ProviderError::handler(
        format!("{err} (Service: Pipes, Status Code: {})", err.status()),
        if err.status() < 500 {
            "InvalidRequest"
        } else {
            "ServiceInternalError"
        },
    )
}

/// The CreatePipe body: every property except the name. `Tags` is a map, as CreatePipe
/// takes it.
fn spec(properties: &Value) -> PipeSpec {
    let mut map = properties.as_object().cloned().unwrap_or_default();
    map.remove("Name");
    PipeSpec(map)
}

fn provisioned(name: &str, arn: &str) -> Provisioned {
    let mut attributes = Map::new();
    attributes.insert("Arn".into(), Value::String(arn.to_owned()));
    Provisioned {
        physical_id: name.to_owned(),
        attributes,
    }
}

impl ResourceProvider for PipeProvider {
    fn type_name(&self) -> &'static str {
        "AWS::Pipes::Pipe"
    }
    fn replacement_properties(&self) -> &'static [&'static str] {
        &[
            "Name",
            "Source",
            "SourceParameters.DynamoDBStreamParameters.StartingPosition",
        ]
    }
    fn attributes(&self) -> &'static [&'static str] {
        &[
            "Arn",
            "CreationTime",
            "CurrentState",
            "LastModifiedTime",
            "StateReason",
        ]
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
            let info = context
                .services
                .pipes
                .create_pipe(&name, spec(properties))
                .await
                .map_err(refused)?;
            Ok(provisioned(&info.name, &info.arn))
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
            let pipes = &context.services.pipes;
            // UpdatePipe takes no tags: they change in place, by TagResource and
            // UntagResource, as on AWS.
            let mut definition = spec(new);
            definition.0.remove("Tags");
            let info = pipes
                .replace_definition(&current.physical_id, definition)
                .await
                .map_err(refused)?;
            let mut add = Map::new();
            let mut remove = Vec::new();
            for (key, change) in tag_changes(old, new) {
                match change {
                    Some(value) => {
                        add.insert(key, Value::String(value));
                    }
                    None => remove.push(key),
                }
            }
            pipes
                .retag(&info.name, add, remove)
                .await
                .map_err(refused)?;
            Ok(provisioned(&info.name, &info.arn))
        })
    }
    fn delete<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        _properties: &'a Value,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let pipes = &context.services.pipes;
            if pipes.describe_pipe(&current.physical_id).await.is_err() {
                return Ok(());
            }
            pipes
                .delete_pipe(&current.physical_id)
                .await
                .map(|_| ())
                .map_err(refused)
        })
    }
}
