//! `AWS::ApiGateway::RestApi`, `Resource`, `Method`, `Model`, `RequestValidator`,
//! `GatewayResponse`, `Deployment` and `Stage` on the engine's API Gateway. Methods integrate with DynamoDB actions (`Type: AWS`, `Uri
//! arn:aws:apigateway:<region>:dynamodb:action/<Action>`) or answer with MOCK; their
//! mapping templates are checked against the subset the engine evaluates at create time.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{BoxFuture, ProviderContext, ProviderError, Provisioned, ResourceProvider};
use crate::local::apigateway::{ApiGatewayError, ApiMethod, ApiModel, GatewayResponse, mapping};

pub struct RestApiProvider;
pub struct ResourceProviderImpl;
pub struct MethodProvider;
pub struct ModelProvider;
pub struct RequestValidatorProvider;
pub struct GatewayResponseProvider;
pub struct DeploymentProvider;
pub struct StageProvider;

/// A delete that finds the resource gone has done its job: an engine restarted in the
/// middle of a stack operation repeats the delete it was in.
fn deleted(result: Result<(), ApiGatewayError>) -> Result<(), ProviderError> {
    match result {
        Ok(()) | Err(ApiGatewayError::NotFound(_)) => Ok(()),
        Err(err) => Err(refused(err)),
    }
}

fn refused(err: ApiGatewayError) -> ProviderError {
    let code = match err {
        ApiGatewayError::NotFound(_) => "NotFound",
        ApiGatewayError::BadRequest(_) => "InvalidRequest",
        ApiGatewayError::Storage(_) => "ServiceInternalError",
    };
    ProviderError::handler(err, code)
}

fn provisioned(id: String, attributes: &[(&str, &str)]) -> Provisioned {
    let mut map = Map::new();
    for (name, value) in attributes {
        map.insert((*name).to_owned(), Value::String((*value).to_owned()));
    }
    Provisioned {
        physical_id: id,
        attributes: map,
    }
}

fn text(
    context: &ProviderContext,
    properties: &Value,
    name: &str,
) -> Result<String, ProviderError> {
    context.optional_string(properties, name)?.ok_or_else(|| {
        ProviderError::property(
            &context.logical_id,
            format!("#: required key [{name}] not found"),
        )
    })
}

impl ResourceProvider for RestApiProvider {
    fn type_name(&self) -> &'static str {
        "AWS::ApiGateway::RestApi"
    }
    fn replacement_properties(&self) -> &'static [&'static str] {
        &[]
    }
    fn attributes(&self) -> &'static [&'static str] {
        &["RestApiId", "RootResourceId"]
    }
    fn create<'a>(
        &'a self,
        context: &'a ProviderContext,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            if properties.get("Body").is_some() || properties.get("BodyS3Location").is_some() {
                return Err(ProviderError::handler(
                    "the local engine does not import OpenAPI bodies; declare Resource and Method resources",
                    "InvalidRequest",
                ));
            }
            let name = text(context, properties, "Name")?;
            let api = context
                .services
                .apigateway
                .create_api(name)
                .await
                .map_err(refused)?;
            Ok(provisioned(
                api.id.clone(),
                &[
                    ("RestApiId", &api.id),
                    ("RootResourceId", &api.root_resource_id),
                ],
            ))
        })
    }
    fn update<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        _old: &'a Value,
        new: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            let name = text(context, new, "Name")?;
            context
                .services
                .apigateway
                .rename_api(&current.physical_id, name)
                .await
                .map_err(refused)?;
            Ok(current.clone())
        })
    }
    fn delete<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        _properties: &'a Value,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            deleted(
                context
                    .services
                    .apigateway
                    .delete_api(&current.physical_id)
                    .await,
            )
        })
    }
}

impl ResourceProvider for ResourceProviderImpl {
    fn type_name(&self) -> &'static str {
        "AWS::ApiGateway::Resource"
    }
    fn replacement_properties(&self) -> &'static [&'static str] {
        &["ParentId", "PathPart", "RestApiId"]
    }
    fn attributes(&self) -> &'static [&'static str] {
        &["ResourceId"]
    }
    fn create<'a>(
        &'a self,
        context: &'a ProviderContext,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            let api = text(context, properties, "RestApiId")?;
            let parent = text(context, properties, "ParentId")?;
            let part = text(context, properties, "PathPart")?;
            let id = context
                .services
                .apigateway
                .create_resource(&api, &parent, part)
                .await
                .map_err(refused)?;
            Ok(provisioned(id.clone(), &[("ResourceId", &id)]))
        })
    }
    fn delete<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let api = text(context, properties, "RestApiId")?;
            deleted(
                context
                    .services
                    .apigateway
                    .delete_resource(&api, &current.physical_id)
                    .await,
            )
        })
    }
}

/// Check a method's integration against what the engine can serve.
fn method(
    context: &ProviderContext,
    properties: &Value,
    id: String,
) -> Result<(String, ApiMethod), ProviderError> {
    let api = text(context, properties, "RestApiId")?;
    let integration = properties
        .get("Integration")
        .cloned()
        .unwrap_or(Value::Null);
    let kind = integration
        .get("Type")
        .and_then(Value::as_str)
        .unwrap_or("");
    match kind {
        "MOCK" => {}
        "AWS" => {
            let uri = integration.get("Uri").and_then(Value::as_str).unwrap_or("");
            let prefix = format!("arn:aws:apigateway:{}:dynamodb:action/", context.region);
            if !uri.starts_with(&prefix) {
                return Err(ProviderError::handler(
                    format!(
                        "the local engine integrates with DynamoDB actions only (`{prefix}<Action>`), not `{uri}`"
                    ),
                    "InvalidRequest",
                ));
            }
        }
        other => {
            return Err(ProviderError::handler(
                format!(
                    "the local engine serves integrations of Type AWS (DynamoDB actions) and MOCK, not `{other}`"
                ),
                "InvalidRequest",
            ));
        }
    }
    let mut templates: Vec<&str> = Vec::new();
    if let Some(Value::Object(request)) = integration.get("RequestTemplates") {
        templates.extend(request.values().filter_map(Value::as_str));
    }
    for response in integration
        .get("IntegrationResponses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(Value::Object(map)) = response.get("ResponseTemplates") {
            templates.extend(map.values().filter_map(Value::as_str));
        }
    }
    for template in templates {
        mapping::check(template).map_err(|e| ProviderError::handler(e, "InvalidRequest"))?;
    }
    Ok((
        api,
        ApiMethod {
            id,
            resource_id: text(context, properties, "ResourceId")?,
            http_method: text(context, properties, "HttpMethod")?.to_uppercase(),
            authorization_type: context
                .optional_string(properties, "AuthorizationType")?
                .unwrap_or_else(|| "NONE".into()),
            integration,
            request_validator_id: context.optional_string(properties, "RequestValidatorId")?,
            request_models: string_map(context, properties, "RequestModels")?,
        },
    ))
}

/// A property that maps strings to strings (`RequestModels`, `ResponseTemplates`).
fn string_map(
    context: &ProviderContext,
    properties: &Value,
    name: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let Some(map) = properties.get(name).filter(|v| !v.is_null()) else {
        return Ok(BTreeMap::new());
    };
    let bad = || {
        ProviderError::property(
            &context.logical_id,
            format!("#/{name}: expected an object of strings"),
        )
    };
    map.as_object()
        .ok_or_else(bad)?
        .iter()
        .map(|(key, value)| Ok((key.clone(), value.as_str().ok_or_else(bad)?.to_owned())))
        .collect()
}

fn flag(context: &ProviderContext, properties: &Value, name: &str) -> Result<bool, ProviderError> {
    match properties.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
        Some(_) => Err(ProviderError::property(
            &context.logical_id,
            format!("#/{name}: expected type: Boolean"),
        )),
    }
}

/// A model from its properties; `name` is the template's or the one given at creation.
fn model(
    context: &ProviderContext,
    properties: &Value,
    name: String,
) -> Result<(String, ApiModel), ProviderError> {
    let api = text(context, properties, "RestApiId")?;
    let schema = match properties.get("Schema") {
        // The schema may be given as an object or as its JSON text.
        Some(Value::String(text)) => serde_json::from_str(text).map_err(|err| {
            ProviderError::property(&context.logical_id, format!("#/Schema: not JSON: {err}"))
        })?,
        Some(object @ Value::Object(_)) => object.clone(),
        _ => Value::Object(Map::new()),
    };
    let model = ApiModel {
        name,
        content_type: context
            .optional_string(properties, "ContentType")?
            .unwrap_or_else(|| "application/json".into()),
        schema,
    };
    Ok((api, model))
}

impl ResourceProvider for ModelProvider {
    fn type_name(&self) -> &'static str {
        "AWS::ApiGateway::Model"
    }
    fn replacement_properties(&self) -> &'static [&'static str] {
        &["ContentType", "Name", "RestApiId"]
    }
    fn attributes(&self) -> &'static [&'static str] {
        &[]
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
            // A model's name is alphanumeric: a generated one drops the dashes.
            let name = match context.optional_string(properties, "Name")? {
                Some(name) => name,
                None => context.generated_name(64).replace('-', ""),
            };
            let (api, model) = model(context, properties, name.clone())?;
            context
                .services
                .apigateway
                .put_model(&api, model, false)
                .await
                .map_err(refused)?;
            Ok(provisioned(name, &[]))
        })
    }
    fn update<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        _old: &'a Value,
        new: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            let (api, model) = model(context, new, current.physical_id.clone())?;
            context
                .services
                .apigateway
                .put_model(&api, model, true)
                .await
                .map_err(refused)?;
            Ok(current.clone())
        })
    }
    fn delete<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let api = text(context, properties, "RestApiId")?;
            deleted(
                context
                    .services
                    .apigateway
                    .delete_model(&api, &current.physical_id)
                    .await,
            )
        })
    }
}

/// Create (`id` None) or update the validator its properties describe; answers its id.
async fn put_validator(
    context: &ProviderContext,
    properties: &Value,
    id: Option<String>,
) -> Result<String, ProviderError> {
    let api = text(context, properties, "RestApiId")?;
    let name = context
        .optional_string(properties, "Name")?
        .unwrap_or_else(|| context.generated_name(64));
    let body = flag(context, properties, "ValidateRequestBody")?;
    context
        .services
        .apigateway
        .put_validator(&api, id, name, body)
        .await
        .map_err(refused)
}

impl ResourceProvider for RequestValidatorProvider {
    fn type_name(&self) -> &'static str {
        "AWS::ApiGateway::RequestValidator"
    }
    fn replacement_properties(&self) -> &'static [&'static str] {
        &["RestApiId"]
    }
    fn attributes(&self) -> &'static [&'static str] {
        &["RequestValidatorId"]
    }
    fn create<'a>(
        &'a self,
        context: &'a ProviderContext,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            let id = put_validator(context, properties, None).await?;
            Ok(provisioned(id.clone(), &[("RequestValidatorId", &id)]))
        })
    }
    fn update<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        _old: &'a Value,
        new: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            put_validator(context, new, Some(current.physical_id.clone())).await?;
            Ok(current.clone())
        })
    }
    fn delete<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let api = text(context, properties, "RestApiId")?;
            deleted(
                context
                    .services
                    .apigateway
                    .delete_validator(&api, &current.physical_id)
                    .await,
            )
        })
    }
}

/// A gateway response from its properties.
fn gateway_response(
    context: &ProviderContext,
    properties: &Value,
) -> Result<(String, GatewayResponse), ProviderError> {
    let api = text(context, properties, "RestApiId")?;
    let status_code = match context.optional_string(properties, "StatusCode")? {
        Some(code) => Some(code.parse::<u16>().map_err(|_| {
            ProviderError::property(
                &context.logical_id,
                format!("#/StatusCode: `{code}` is not an HTTP status code"),
            )
        })?),
        None => None,
    };
    let response = GatewayResponse {
        response_type: text(context, properties, "ResponseType")?,
        status_code,
        templates: string_map(context, properties, "ResponseTemplates")?,
    };
    Ok((api, response))
}

impl ResourceProvider for GatewayResponseProvider {
    fn type_name(&self) -> &'static str {
        "AWS::ApiGateway::GatewayResponse"
    }
    fn replacement_properties(&self) -> &'static [&'static str] {
        &["ResponseType", "RestApiId"]
    }
    fn attributes(&self) -> &'static [&'static str] {
        &[]
    }
    fn create<'a>(
        &'a self,
        context: &'a ProviderContext,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            let (api, response) = gateway_response(context, properties)?;
            let id = format!("{api}-{}", response.response_type.to_lowercase());
            context
                .services
                .apigateway
                .put_gateway_response(&api, response)
                .await
                .map_err(refused)?;
            Ok(provisioned(id, &[]))
        })
    }
    fn update<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        _old: &'a Value,
        new: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            let (api, response) = gateway_response(context, new)?;
            context
                .services
                .apigateway
                .put_gateway_response(&api, response)
                .await
                .map_err(refused)?;
            Ok(current.clone())
        })
    }
    fn delete<'a>(
        &'a self,
        context: &'a ProviderContext,
        _current: &'a Provisioned,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let api = text(context, properties, "RestApiId")?;
            let response_type = text(context, properties, "ResponseType")?;
            deleted(
                context
                    .services
                    .apigateway
                    .delete_gateway_response(&api, &response_type)
                    .await,
            )
        })
    }
}

impl ResourceProvider for MethodProvider {
    fn type_name(&self) -> &'static str {
        "AWS::ApiGateway::Method"
    }
    fn replacement_properties(&self) -> &'static [&'static str] {
        &["HttpMethod", "ResourceId", "RestApiId"]
    }
    fn attributes(&self) -> &'static [&'static str] {
        &[]
    }
    fn create<'a>(
        &'a self,
        context: &'a ProviderContext,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            let (api, method) = method(context, properties, context.generated_name(64))?;
            let id = context
                .services
                .apigateway
                .put_method(method, &api)
                .await
                .map_err(refused)?;
            Ok(provisioned(id, &[]))
        })
    }
    fn update<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        _old: &'a Value,
        new: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            let (api, method) = method(context, new, current.physical_id.clone())?;
            context
                .services
                .apigateway
                .put_method(method, &api)
                .await
                .map_err(refused)?;
            Ok(current.clone())
        })
    }
    fn delete<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let api = text(context, properties, "RestApiId")?;
            deleted(
                context
                    .services
                    .apigateway
                    .delete_method(&api, &current.physical_id)
                    .await,
            )
        })
    }
}

impl ResourceProvider for DeploymentProvider {
    fn type_name(&self) -> &'static str {
        "AWS::ApiGateway::Deployment"
    }
    fn replacement_properties(&self) -> &'static [&'static str] {
        &["DeploymentCanarySettings", "RestApiId"]
    }
    fn attributes(&self) -> &'static [&'static str] {
        &["DeploymentId"]
    }
    fn create<'a>(
        &'a self,
        context: &'a ProviderContext,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            let api = text(context, properties, "RestApiId")?;
            let gateway = &context.services.apigateway;
            let id = gateway.create_deployment(&api).await.map_err(refused)?;
            if let Some(stage) = context.optional_string(properties, "StageName")? {
                gateway
                    .put_stage(&api, stage, id.clone())
                    .await
                    .map_err(refused)?;
            }
            Ok(provisioned(id.clone(), &[("DeploymentId", &id)]))
        })
    }
    fn delete<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let api = text(context, properties, "RestApiId")?;
            let gateway = &context.services.apigateway;
            if let Some(stage) = context.optional_string(properties, "StageName")? {
                deleted(gateway.delete_stage(&api, &stage).await)?;
            }
            deleted(gateway.delete_deployment(&api, &current.physical_id).await)
        })
    }
}

impl ResourceProvider for StageProvider {
    fn type_name(&self) -> &'static str {
        "AWS::ApiGateway::Stage"
    }
    fn replacement_properties(&self) -> &'static [&'static str] {
        &["RestApiId", "StageName"]
    }
    fn attributes(&self) -> &'static [&'static str] {
        &[]
    }
    fn custom_name<'a>(&self, properties: &'a Value) -> Option<&'a str> {
        properties.get("StageName").and_then(Value::as_str)
    }
    fn create<'a>(
        &'a self,
        context: &'a ProviderContext,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            if properties.get("AccessLogSetting").is_some() {
                tracing::info!("stage access logs are recorded, not written, by the local engine");
            }
            let api = text(context, properties, "RestApiId")?;
            let stage = text(context, properties, "StageName")?;
            let deployment = text(context, properties, "DeploymentId")?;
            context
                .services
                .apigateway
                .put_stage(&api, stage.clone(), deployment)
                .await
                .map_err(refused)?;
            Ok(provisioned(stage, &[]))
        })
    }
    fn update<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        _old: &'a Value,
        new: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            let api = text(context, new, "RestApiId")?;
            let deployment = text(context, new, "DeploymentId")?;
            context
                .services
                .apigateway
                .put_stage(&api, current.physical_id.clone(), deployment)
                .await
                .map_err(refused)?;
            Ok(current.clone())
        })
    }
    fn delete<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let api = text(context, properties, "RestApiId")?;
            deleted(
                context
                    .services
                    .apigateway
                    .delete_stage(&api, &current.physical_id)
                    .await,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A restarted engine repeats the delete it was in: finding the API resource gone is
    /// success, so the stack's delete or cleanup does not fail on it.
    #[test]
    fn a_delete_that_finds_the_resource_gone_succeeds() {
        assert!(
            deleted(Err(ApiGatewayError::NotFound(
                "Invalid API identifier".into()
            )))
            .is_ok()
        );
        assert!(deleted(Err(ApiGatewayError::BadRequest("in use".into()))).is_err());
        assert!(deleted(Ok(())).is_ok());
    }
}
