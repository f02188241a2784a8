//! The CloudFormation query protocol as the SDKs and the aws CLI speak it: form-encoded
//! `Action=…&Version=2010-05-15` requests, XML `<XResponse><XResult>…` answers and
//! `<ErrorResponse>` errors with status 400. One thin function per action: parse the
//! form, call [`crate::local::cloudformation`], write the XML.

use axum::response::Response;

use super::query_protocol::{Form, Xml, error_response, escape_into, ok_response, page};

use crate::local::EngineState;
use crate::local::cloudformation::DeployRequest;
use crate::local::cloudformation::error::CfnError;
use crate::local::cloudformation::parameters::{ParameterInput, display};
use crate::local::cloudformation::stack::{ChangeSet, Stack, StackResource};
use crate::local::cloudformation::template::{MAX_TEMPLATE_BODY, MAX_TEMPLATE_URL_BODY};
use crate::local::s3::{self, S3Error};

pub const VERSION: &str = "2010-05-15";
const NAMESPACE: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";
/// Items per page for events, resources, change sets and changes (AWS pages at 100).
pub const PAGE_SIZE: usize = 100;

/// One page of `items` after `token`, or AWS's error for a token it did not hand out.
fn paged<T: Clone>(items: &[T], token: Option<&str>) -> Result<(Vec<T>, Option<String>), CfnError> {
    page(items, token, PAGE_SIZE).ok_or_else(|| CfnError::validation("Invalid NextToken"))
}

/// A parameter the action cannot do without, with AWS's message when it is missing.
fn required(form: &Form, key: &str) -> Result<String, CfnError> {
    form.owned(key).ok_or_else(|| {
        CfnError::validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(key)
        ))
    })
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// Whether a request is for this service: a form body naming a CloudFormation action.
pub fn is_cloudformation(form: &Form) -> bool {
    form.get("Version") == Some(VERSION) && form.get("Action").is_some()
}

pub async fn handle(state: &EngineState, form: &Form, request_id: &str) -> Response {
    let action = form.get("Action").unwrap_or_default().to_owned();
    match dispatch(state, &action, form).await {
        Ok(result) => ok_response(NAMESPACE, &action, &result, request_id),
        Err(error) => error_response(
            NAMESPACE,
            error.code(),
            &error.to_string(),
            error.is_server_fault(),
            request_id,
        ),
    }
}

/// The template a request carries: its TemplateBody, at most 51,200 bytes as AWS takes it
/// inline, or the object its TemplateURL names in the engine's S3, at most 1 MB. A
/// request with both gets TemplateBody, as ValidateTemplate documents; deploy requests
/// refuse both first.
async fn requested_template(state: &EngineState, form: &Form) -> Result<Option<String>, CfnError> {
    if let Some(body) = form.get("TemplateBody") {
        if body.len() > MAX_TEMPLATE_BODY {
            return Err(CfnError::validation(format!(
                "1 validation error detected: Value at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to {MAX_TEMPLATE_BODY}"
            )));
        }
        return Ok(Some(body.to_owned()));
    }
    let Some(url) = form.get("TemplateURL") else {
        return Ok(None);
    };
    let (bucket, key) = s3::object_of_url(url)
        .ok_or_else(|| CfnError::validation("TemplateURL must be a supported URL."))?;
    let object = state
        .s3
        .get_object(&bucket, &key)
        .await
        .map_err(|err| match err {
            S3Error::Storage(cause) => CfnError::from(cause),
            other => CfnError::validation(format!("S3 error: {other}")),
        })?;
    if object.body.len() > MAX_TEMPLATE_URL_BODY {
        return Err(CfnError::validation(format!(
            "Template may not exceed {MAX_TEMPLATE_URL_BODY} bytes in size."
        )));
    }
    String::from_utf8(object.body)
        .map(Some)
        .map_err(|_| CfnError::template("the template at TemplateURL is not UTF-8 text"))
}

async fn deploy_request(state: &EngineState, form: &Form) -> Result<DeployRequest, CfnError> {
    if form.get("TemplateBody").is_some() && form.get("TemplateURL").is_some() {
        return Err(CfnError::validation(
            "Specify exactly one of TemplateBody, TemplateURL or UsePreviousTemplate",
        ));
    }
    let parameters = form
        .structures("Parameters")
        .into_iter()
        .map(|mut p| {
            Ok(ParameterInput {
                key: p
                    .remove("ParameterKey")
                    .ok_or_else(|| CfnError::validation("Every parameter needs a ParameterKey"))?,
                value: p.remove("ParameterValue"),
                use_previous: p.get("UsePreviousValue").map(String::as_str) == Some("true"),
            })
        })
        .collect::<Result<_, CfnError>>()?;
    Ok(DeployRequest {
        stack_name: required(form, "StackName")?,
        template_body: requested_template(state, form).await?,
        use_previous_template: form.flag("UsePreviousTemplate"),
        parameters,
        capabilities: form.list("Capabilities"),
        tags: form
            .structures("Tags")
            .into_iter()
            .map(|mut t| {
                (
                    t.remove("Key").unwrap_or_default(),
                    t.remove("Value").unwrap_or_default(),
                )
            })
            .collect(),
        description: form.owned("Description"),
        client_request_token: form.owned("ClientRequestToken"),
        disable_rollback: form.flag("DisableRollback")
            || form.get("OnFailure") == Some("DO_NOTHING"),
    })
}

async fn dispatch(state: &EngineState, action: &str, form: &Form) -> Result<String, CfnError> {
    let cfn = &state.cloudformation;
    let mut xml = Xml::default();
    match action {
        "CreateChangeSet" => {
            let request = deploy_request(state, form).await?;
            let (id, stack_id) = cfn
                .create_change_set(
                    request,
                    required(form, "ChangeSetName")?,
                    form.owned("ChangeSetType"),
                )
                .await?;
            xml.text("Id", id).text("StackId", stack_id);
        }
        "DescribeChangeSet" => {
            let (stack, change_set) =
                cfn.change_set(&required(form, "ChangeSetName")?, form.get("StackName"))?;
            describe_change_set(&mut xml, &stack, &change_set, form.get("NextToken"))?;
        }
        "ExecuteChangeSet" => {
            cfn.execute_change_set(
                &required(form, "ChangeSetName")?,
                form.get("StackName"),
                form.owned("ClientRequestToken"),
                form.flag("DisableRollback"),
            )
            .await?;
        }
        "DeleteChangeSet" => {
            cfn.delete_change_set(&required(form, "ChangeSetName")?, form.get("StackName"))
                .await?;
        }
        "ListChangeSets" => {
            let stack = cfn.stack(&required(form, "StackName")?)?;
            let (items, next) = paged(&stack.change_sets, form.get("NextToken"))?;
            xml.members("Summaries", items, |x, c| {
                x.text("StackId", &c.stack_id)
                    .text("StackName", &c.stack_name)
                    .text("ChangeSetId", &c.id)
                    .text("ChangeSetName", &c.name)
                    .text("ExecutionStatus", &c.execution_status)
                    .text("Status", &c.status)
                    .opt("StatusReason", c.status_reason.as_ref())
                    .time("CreationTime", c.created_ms)
                    .opt("Description", c.description.as_ref());
            });
            xml.opt("NextToken", next);
        }
        "CreateStack" => {
            let id = cfn.create_stack(deploy_request(state, form).await?).await?;
            xml.text("StackId", id);
        }
        "UpdateStack" => {
            let id = cfn.update_stack(deploy_request(state, form).await?).await?;
            xml.text("StackId", id);
        }
        "DeleteStack" => {
            cfn.delete_stack(
                &required(form, "StackName")?,
                form.owned("ClientRequestToken"),
            )
            .await?;
        }
        "DescribeStacks" => {
            let stacks = match form.get("StackName") {
                Some(name) => vec![cfn.stack(name)?],
                None => cfn.all_stacks(),
            };
            let (items, next) = paged(&stacks, form.get("NextToken"))?;
            xml.members("Stacks", items, describe_stack);
            xml.opt("NextToken", next);
        }
        "DescribeStackEvents" => {
            let name = required(form, "StackName")?;
            // DescribeStackEvents words a missing stack differently from DescribeStacks.
            let stack = cfn
                .stack(&name)
                .map_err(|_| CfnError::validation(format!("Stack [{name}] does not exist")))?;
            let newest_first: Vec<_> = stack.events.iter().rev().cloned().collect();
            let (items, next) = paged(&newest_first, form.get("NextToken"))?;
            xml.members("StackEvents", items, |x, e| {
                x.text("StackId", &stack.id)
                    .text("EventId", &e.event_id)
                    .text("StackName", &stack.name)
                    .text("LogicalResourceId", &e.logical_id)
                    .opt("PhysicalResourceId", e.physical_id.as_ref())
                    .text("ResourceType", &e.type_name)
                    .time("Timestamp", e.timestamp_ms)
                    .text("ResourceStatus", &e.status)
                    .opt("ResourceStatusReason", e.reason.as_ref())
                    .opt("ResourceProperties", e.properties.as_ref())
                    .opt("ClientRequestToken", e.client_request_token.as_ref());
            });
            xml.opt("NextToken", next);
        }
        "ListStacks" => {
            let filter = form.list("StackStatusFilter");
            let stacks: Vec<Stack> = cfn
                .stack_history()
                .into_iter()
                .filter(|s| filter.is_empty() || filter.contains(&s.status))
                .collect();
            let (items, next) = paged(&stacks, form.get("NextToken"))?;
            xml.members("StackSummaries", items, |x, s| {
                x.text("StackId", &s.id)
                    .text("StackName", &s.name)
                    .opt("TemplateDescription", s.description.as_ref())
                    .time("CreationTime", s.created_ms);
                if let Some(ms) = s.updated_ms {
                    x.time("LastUpdatedTime", ms);
                }
                if let Some(ms) = s.deleted_ms {
                    x.time("DeletionTime", ms);
                }
                x.text("StackStatus", &s.status)
                    .opt("StackStatusReason", s.status_reason.as_ref());
            });
            xml.opt("NextToken", next);
        }
        "DescribeStackResource" => {
            let stack = cfn.stack(&required(form, "StackName")?)?;
            let logical = required(form, "LogicalResourceId")?;
            let resource = stack.resource(&logical).ok_or_else(|| {
                CfnError::validation(format!(
                    "Resource {logical} does not exist for stack {}",
                    stack.name
                ))
            })?;
            xml.open("StackResourceDetail")
                .text("StackName", &stack.name)
                .text("StackId", &stack.id)
                .text("LogicalResourceId", &resource.logical_id)
                .opt("PhysicalResourceId", resource.physical_id.as_ref())
                .text("ResourceType", &resource.type_name)
                .time("LastUpdatedTimestamp", resource.updated_ms)
                .text("ResourceStatus", &resource.status)
                .opt("ResourceStatusReason", resource.status_reason.as_ref())
                .text("Metadata", "{}")
                .open("DriftInformation")
                .text("StackResourceDriftStatus", "NOT_CHECKED")
                .close("DriftInformation")
                .close("StackResourceDetail");
        }
        "DescribeStackResources" => {
            let physical = form.get("PhysicalResourceId");
            let stack = match (form.get("StackName"), physical) {
                (Some(name), _) => cfn.stack(name)?,
                (None, Some(physical)) => cfn
                    .all_stacks()
                    .into_iter()
                    .find(|s| {
                        s.resources
                            .iter()
                            .any(|r| r.physical_id.as_deref() == Some(physical))
                    })
                    .ok_or_else(|| {
                        CfnError::validation(format!("Stack for {physical} does not exist"))
                    })?,
                (None, None) => {
                    return Err(CfnError::validation(
                        "Either StackName or PhysicalResourceId must be specified.",
                    ));
                }
            };
            let logical = form.get("LogicalResourceId");
            let resources: Vec<&StackResource> = stack
                .resources
                .iter()
                .filter(|r| logical.is_none_or(|l| r.logical_id == l))
                .filter(|r| physical.is_none_or(|p| r.physical_id.as_deref() == Some(p)))
                .collect();
            xml.members("StackResources", resources, |x, r| {
                x.text("StackName", &stack.name)
                    .text("StackId", &stack.id)
                    .text("LogicalResourceId", &r.logical_id)
                    .opt("PhysicalResourceId", r.physical_id.as_ref())
                    .text("ResourceType", &r.type_name)
                    .time("Timestamp", r.updated_ms)
                    .text("ResourceStatus", &r.status)
                    .opt("ResourceStatusReason", r.status_reason.as_ref())
                    .open("DriftInformation")
                    .text("StackResourceDriftStatus", "NOT_CHECKED")
                    .close("DriftInformation");
            });
        }
        "ListStackResources" => {
            let stack = cfn.stack(&required(form, "StackName")?)?;
            let (items, next) = paged(&stack.resources, form.get("NextToken"))?;
            xml.members("StackResourceSummaries", items, |x, r| {
                x.text("LogicalResourceId", &r.logical_id)
                    .opt("PhysicalResourceId", r.physical_id.as_ref())
                    .text("ResourceType", &r.type_name)
                    .time("LastUpdatedTimestamp", r.updated_ms)
                    .text("ResourceStatus", &r.status)
                    .opt("ResourceStatusReason", r.status_reason.as_ref())
                    .open("DriftInformation")
                    .text("StackResourceDriftStatus", "NOT_CHECKED")
                    .close("DriftInformation");
            });
            xml.opt("NextToken", next);
        }
        "GetTemplate" => {
            let body = match form.get("ChangeSetName") {
                Some(change_set) => {
                    cfn.change_set(change_set, form.get("StackName"))?
                        .1
                        .template_body
                }
                None => cfn.stack(&required(form, "StackName")?)?.template_body,
            };
            xml.text("TemplateBody", body);
            xml.members("StagesAvailable", ["Original", "Processed"], |x, s| {
                x.0.push_str(s);
            });
        }
        "ValidateTemplate" | "GetTemplateSummary" => {
            let body = match (
                requested_template(state, form).await?,
                form.get("StackName"),
            ) {
                (Some(body), _) => body,
                (None, Some(stack)) if action == "GetTemplateSummary" => {
                    cfn.stack(stack)?.template_body
                }
                _ => required(form, "TemplateBody")?,
            };
            let (template, capability) = cfn.validate_template(&body)?;
            let summary = action == "GetTemplateSummary";
            xml.members("Parameters", &template.parameters, |x, p| {
                x.text("ParameterKey", &p.name)
                    .opt("DefaultValue", p.default.as_ref());
                if summary {
                    x.text("ParameterType", &p.kind);
                }
                x.text("NoEcho", if p.no_echo { "true" } else { "false" })
                    .opt("Description", p.description.as_ref());
                if summary {
                    x.open("ParameterConstraints");
                    x.members("AllowedValues", &p.allowed_values, |x, v| {
                        escape_into(&mut x.0, v)
                    });
                    x.close("ParameterConstraints");
                }
            });
            xml.opt("Description", template.description.as_ref());
            if let Some(capability) = capability {
                xml.members("Capabilities", [capability.as_str()], |x, c| {
                    x.0.push_str(c);
                });
                xml.text(
                    "CapabilitiesReason",
                    format!("The following resource(s) require capabilities: [{capability}]"),
                );
            }
            if summary {
                let mut types: Vec<&str> = template
                    .resources
                    .iter()
                    .map(|r| r.type_name.as_str())
                    .collect();
                types.sort_unstable();
                types.dedup();
                xml.members("ResourceTypes", types, |x, t| escape_into(&mut x.0, t));
                xml.text("Version", "2010-09-09");
            }
            xml.open("DeclaredTransforms").close("DeclaredTransforms");
        }
        other => {
            return Err(CfnError::InvalidAction(format!(
                "The action {other} is not valid for this web service (the local engine's CloudFormation serves: CreateChangeSet, DescribeChangeSet, ExecuteChangeSet, DeleteChangeSet, ListChangeSets, CreateStack, UpdateStack, DeleteStack, ListStacks, DescribeStacks, DescribeStackEvents, DescribeStackResource, DescribeStackResources, ListStackResources, GetTemplate, GetTemplateSummary, ValidateTemplate)"
            )));
        }
    }
    Ok(xml.0)
}

fn describe_stack(x: &mut Xml, stack: Stack) {
    x.text("StackId", &stack.id)
        .text("StackName", &stack.name)
        .opt("ChangeSetId", stack.change_set_id.as_ref())
        .opt("Description", stack.description.as_ref());
    x.members("Parameters", &stack.parameters, |x, (key, value)| {
        let shown = if stack.no_echo.contains(key) {
            "****".to_owned()
        } else {
            display(value)
        };
        x.text("ParameterKey", key).text("ParameterValue", shown);
    });
    x.time("CreationTime", stack.created_ms);
    if let Some(ms) = stack.deleted_ms {
        x.time("DeletionTime", ms);
    }
    if let Some(ms) = stack.updated_ms {
        x.time("LastUpdatedTime", ms);
    }
    x.text("StackStatus", &stack.status)
        .opt("StackStatusReason", stack.status_reason.as_ref())
        .text(
            "DisableRollback",
            if stack.disable_rollback {
                "true"
            } else {
                "false"
            },
        )
        .open("NotificationARNs")
        .close("NotificationARNs");
    x.members("Capabilities", &stack.capabilities, |x, c| {
        escape_into(&mut x.0, c)
    });
    x.members("Outputs", &stack.outputs, |x, o| {
        x.text("OutputKey", &o.key)
            .text("OutputValue", &o.value)
            .opt("Description", o.description.as_ref())
            .opt("ExportName", o.export_name.as_ref());
    });
    x.members("Tags", &stack.tags, |x, (k, v)| {
        x.text("Key", k).text("Value", v);
    });
    x.text("EnableTerminationProtection", "false")
        .open("DriftInformation")
        .text("StackDriftStatus", "NOT_CHECKED")
        .close("DriftInformation");
}

fn describe_change_set(
    x: &mut Xml,
    stack: &Stack,
    change_set: &ChangeSet,
    token: Option<&str>,
) -> Result<(), CfnError> {
    let (changes, next) = paged(&change_set.changes, token)?;
    x.text("ChangeSetName", &change_set.name)
        .text("ChangeSetId", &change_set.id)
        .text("StackId", &stack.id)
        .text("StackName", &stack.name)
        .opt("Description", change_set.description.as_ref());
    x.members("Parameters", &change_set.parameters, |x, (key, value)| {
        x.text("ParameterKey", key)
            .text("ParameterValue", display(value));
    });
    x.time("CreationTime", change_set.created_ms)
        .text("ExecutionStatus", &change_set.execution_status)
        .text("Status", &change_set.status)
        .opt("StatusReason", change_set.status_reason.as_ref())
        .open("NotificationARNs")
        .close("NotificationARNs");
    x.members("Capabilities", &change_set.capabilities, |x, c| {
        escape_into(&mut x.0, c)
    });
    x.members("Tags", &change_set.tags, |x, (k, v)| {
        x.text("Key", k).text("Value", v);
    });
    x.members("Changes", changes, |x, change| {
        x.text("Type", "Resource").open("ResourceChange");
        x.text("Action", &change.action)
            .text("LogicalResourceId", &change.logical_id)
            .opt("PhysicalResourceId", change.physical_id.as_ref())
            .text("ResourceType", &change.type_name)
            .opt("Replacement", change.replacement.as_ref());
        x.members("Scope", &change.scope, |x, s| escape_into(&mut x.0, s));
        x.members("Details", &change.details, |x, d| {
            x.open("Target").text("Attribute", &d.attribute);
            if d.attribute == "Properties" {
                x.text("Name", &d.property);
            }
            x.text("RequiresRecreation", &d.requires_recreation)
                .close("Target")
                .text("Evaluation", &d.evaluation)
                .text("ChangeSource", &d.change_source)
                .opt("CausingEntity", d.causing_entity.as_ref());
        });
        x.close("ResourceChange");
    });
    x.opt("NextToken", next);
    x.text("IncludeNestedStacks", "false");
    Ok(())
}
