//! `AWS::IAM::Role` and `AWS::IAM::Policy`: recorded, not enforced. The engine accepts
//! every call, so roles and policies only need names and ARNs shaped as IAM shapes them;
//! their documents are kept in the stack (GetTemplate, DescribeStackResources).

use serde_json::{Map, Value};

use super::{BoxFuture, ProviderContext, ProviderError, Provisioned, ResourceProvider, ready};

pub struct RoleProvider;
pub struct PolicyProvider;

fn require_object(
    context: &ProviderContext,
    properties: &Value,
    name: &str,
) -> Result<(), ProviderError> {
    match context.required(properties, name)? {
        Value::Object(_) => Ok(()),
        Value::String(text) if serde_json::from_str::<Value>(text).is_ok_and(|v| v.is_object()) => {
            Ok(())
        }
        _ => Err(ProviderError::property(
            &context.logical_id,
            format!("#/{name}: expected type: JSONObject"),
        )),
    }
}

fn role(context: &ProviderContext, properties: &Value) -> Result<Provisioned, ProviderError> {
    require_object(context, properties, "AssumeRolePolicyDocument")?;
    let name = match context.optional_string(properties, "RoleName")? {
        Some(name) => name,
        None => context.generated_name(64),
    };
    let path = context
        .optional_string(properties, "Path")?
        .unwrap_or_else(|| "/".to_owned());
    let mut attributes = Map::new();
    attributes.insert(
        "Arn".into(),
        Value::String(format!("arn:aws:iam::{}:role{path}{name}", context.account)),
    );
    let id: String = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .to_uppercase()
        .chars()
        .take(17)
        .collect();
    attributes.insert("RoleId".into(), Value::String(format!("AROA{id}")));
    Ok(Provisioned {
        physical_id: name,
        attributes,
    })
}

impl ResourceProvider for RoleProvider {
    fn type_name(&self) -> &'static str {
        "AWS::IAM::Role"
    }

    fn replacement_properties(&self) -> &'static [&'static str] {
        &["RoleName", "Path"]
    }

    fn attributes(&self) -> &'static [&'static str] {
        &["Arn", "RoleId"]
    }

    fn custom_name<'a>(&self, properties: &'a Value) -> Option<&'a str> {
        properties.get("RoleName").and_then(Value::as_str)
    }

    fn create<'a>(
        &'a self,
        context: &'a ProviderContext,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        ready(role(context, properties))
    }

    fn update<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        _old: &'a Value,
        new: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        ready(require_object(context, new, "AssumeRolePolicyDocument").map(|()| current.clone()))
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

fn policy(context: &ProviderContext, properties: &Value) -> Result<(), ProviderError> {
    context
        .optional_string(properties, "PolicyName")?
        .ok_or_else(|| {
            ProviderError::property(
                &context.logical_id,
                "#: required key [PolicyName] not found",
            )
        })?;
    require_object(context, properties, "PolicyDocument")?;
    let attached = ["Roles", "Users", "Groups"].iter().any(|key| {
        properties
            .get(key)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    });
    if !attached {
        return Err(ProviderError::handler(
            "At least one of [Groups,Roles,Users] must be non-empty.",
            "InvalidRequest",
        ));
    }
    Ok(())
}

impl ResourceProvider for PolicyProvider {
    fn type_name(&self) -> &'static str {
        "AWS::IAM::Policy"
    }

    fn replacement_properties(&self) -> &'static [&'static str] {
        &[]
    }

    fn attributes(&self) -> &'static [&'static str] {
        &["Id"]
    }

    fn create<'a>(
        &'a self,
        context: &'a ProviderContext,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        ready(policy(context, properties).map(|()| {
            let id = context.generated_name(64);
            let mut attributes = Map::new();
            attributes.insert("Id".into(), Value::String(id.clone()));
            Provisioned {
                physical_id: id,
                attributes,
            }
        }))
    }

    fn update<'a>(
        &'a self,
        context: &'a ProviderContext,
        current: &'a Provisioned,
        _old: &'a Value,
        new: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        ready(policy(context, new).map(|()| current.clone()))
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
