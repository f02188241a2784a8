//! `AWS::SQS::Queue` and `AWS::SQS::QueuePolicy` on the engine's SQS: queue attributes
//! (retention, visibility, redrive to a DLQ, encryption flags) applied through the same
//! validation as CreateQueue/SetQueueAttributes; the policy is stored on each queue.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{
    BoxFuture, ProviderContext, ProviderError, Provisioned, ResourceProvider, tag_changes, tags,
};
use crate::local::sqs::SqsError;

pub struct QueueProvider;
pub struct QueuePolicyProvider;

/// CloudFormation properties that are queue attributes, by the attribute's name.
const ATTRIBUTES: [&str; 13] = [
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "SqsManagedSseEnabled",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
];

fn refused(err: SqsError) -> ProviderError {
    let code = match err {
        SqsError::QueueDoesNotExist => "NotFound",
        SqsError::QueueAlreadyExists(_) => "AlreadyExists",
        _ => "InvalidRequest",
    };
    ProviderError::handler(format!("{err} (Service: Sqs, Status Code: 400)"), code)
}

/// A property value as the attribute string SQS stores (objects as JSON).
fn attribute_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn attributes(properties: &Value) -> BTreeMap<String, String> {
    ATTRIBUTES
        .iter()
        .filter_map(|name| {
            properties
                .get(*name)
                .map(|v| ((*name).to_owned(), attribute_text(v)))
        })
        .collect()
}

/// The queue name at the end of a queue URL.
fn queue_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

fn queue(name: &str, url: &str, arn: &str) -> Provisioned {
    let mut attributes = Map::new();
    attributes.insert("Arn".into(), Value::String(arn.to_owned()));
    attributes.insert("QueueName".into(), Value::String(name.to_owned()));
    attributes.insert("QueueUrl".into(), Value::String(url.to_owned()));
    Provisioned {
        physical_id: url.to_owned(),
        attributes,
    }
}

impl ResourceProvider for QueueProvider {
    fn type_name(&self) -> &'static str {
        "AWS::SQS::Queue"
    }
    fn replacement_properties(&self) -> &'static [&'static str] {
        &["QueueName", "FifoQueue"]
    }
    fn attributes(&self) -> &'static [&'static str] {
        &["Arn", "QueueName", "QueueUrl"]
    }
    fn custom_name<'a>(&self, properties: &'a Value) -> Option<&'a str> {
        properties.get("QueueName").and_then(Value::as_str)
    }
    fn create<'a>(
        &'a self,
        context: &'a ProviderContext,
        properties: &'a Value,
    ) -> BoxFuture<'a, Result<Provisioned, ProviderError>> {
        Box::pin(async move {
            let fifo = super::flag(properties, "/FifoQueue");
            let name = match context.optional_string(properties, "QueueName")? {
                Some(name) => name,
                None if fifo => format!("{}.fifo", context.generated_name(75)),
                None => context.generated_name(80),
            };
            let sqs = &context.services.sqs;
            if sqs.get_queue_url(&name).await.is_ok() {
                return Err(ProviderError::handler(
                    format!("{name} already exists"),
                    "AlreadyExists",
                ));
            }
            let created = sqs
                .create_queue(&name, attributes(properties), tags(properties))
                .await
                .map_err(refused)?;
            Ok(queue(&created.name, &created.url, &created.arn))
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
            let (before, after) = (attributes(old), attributes(new));
            let mut changes: BTreeMap<String, String> = after
                .iter()
                .filter(|(k, v)| before.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            // A property removed from the template goes back to SQS's default.
            for removed in before.keys().filter(|k| !after.contains_key(*k)) {
                let default = match removed.as_str() {
                    "DelaySeconds" | "ReceiveMessageWaitTimeSeconds" => "0",
                    "MaximumMessageSize" => "262144",
                    "MessageRetentionPeriod" => "345600",
                    "VisibilityTimeout" => "30",
                    "KmsDataKeyReusePeriodSeconds" => "300",
                    "SqsManagedSseEnabled" => "false",
                    _ => "",
                };
                changes.insert(removed.clone(), default.to_owned());
            }
            if !changes.is_empty() {
                context
                    .services
                    .sqs
                    .set_queue_attributes(queue_name(&current.physical_id), changes)
                    .await
                    .map_err(refused)?;
            }
            let tag_changes = tag_changes(old, new);
            if !tag_changes.is_empty() {
                context
                    .services
                    .sqs
                    .change_queue_tags(queue_name(&current.physical_id), tag_changes)
                    .await
                    .map_err(refused)?;
            }
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
            match context
                .services
                .sqs
                .delete_queue(queue_name(&current.physical_id))
                .await
            {
                Ok(()) | Err(SqsError::QueueDoesNotExist) => Ok(()),
                Err(err) => Err(refused(err)),
            }
        })
    }
}

fn policy_queues(
    context: &ProviderContext,
    properties: &Value,
) -> Result<(Vec<String>, String), ProviderError> {
    let queues: Vec<String> = context
        .required(properties, "Queues")?
        .as_array()
        .map(|urls| {
            urls.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if queues.is_empty() {
        return Err(ProviderError::property(
            &context.logical_id,
            "#/Queues: expected minimum item count: 1",
        ));
    }
    let document = context.required(properties, "PolicyDocument")?;
    Ok((queues, attribute_text(document)))
}

async fn set_policy(
    context: &ProviderContext,
    queues: &[String],
    policy: &str,
) -> Result<(), ProviderError> {
    for url in queues {
        let changes = BTreeMap::from([("Policy".to_owned(), policy.to_owned())]);
        match context
            .services
            .sqs
            .set_queue_attributes(queue_name(url), changes)
            .await
        {
            Ok(()) => {}
            // Removing a policy from a queue that is gone already is done.
            Err(SqsError::QueueDoesNotExist) if policy.is_empty() => {}
            Err(err) => return Err(refused(err)),
        }
    }
    Ok(())
}

impl ResourceProvider for QueuePolicyProvider {
    fn type_name(&self) -> &'static str {
        "AWS::SQS::QueuePolicy"
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
        Box::pin(async move {
            let (queues, policy) = policy_queues(context, properties)?;
            set_policy(context, &queues, &policy).await?;
            let id = context.generated_name(64);
            let mut attributes = Map::new();
            attributes.insert("Id".into(), Value::String(id.clone()));
            Ok(Provisioned {
                physical_id: id,
                attributes,
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
            let (queues, policy) = policy_queues(context, new)?;
            if let Ok((previous, _)) = policy_queues(context, old) {
                let dropped: Vec<String> = previous
                    .into_iter()
                    .filter(|q| !queues.contains(q))
                    .collect();
                set_policy(context, &dropped, "").await?;
            }
            set_policy(context, &queues, &policy).await?;
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
            let (queues, _) = policy_queues(context, properties)?;
            set_policy(context, &queues, "").await
        })
    }
}
