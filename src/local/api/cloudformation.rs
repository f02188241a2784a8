//! The CloudFormation query protocol as the SDKs and the aws CLI speak it: form-encoded
//! `Action=…&Version=2010-05-15` requests, XML `<XResponse><XResult>…` answers and
//! `<ErrorResponse>` errors with status 400. One thin function per action: parse the
//! form, call [`crate::local::cloudformation`], write the XML.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

use crate::local::EngineState;
use crate::local::cloudformation::DeployRequest;
use crate::local::cloudformation::error::CfnError;
use crate::local::cloudformation::parameters::{ParameterInput, display};
use crate::local::cloudformation::stack::{ChangeSet, Stack, StackResource};

pub const VERSION: &str = "2010-05-15";
const NAMESPACE: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";
/// Items per page for events, resources, change sets and changes (AWS pages at 100).
pub const PAGE_SIZE: usize = 100;

/// A decoded form body.
#[derive(Debug, Default)]
pub struct Form(HashMap<String, String>);

impl Form {
    pub fn parse(body: &[u8]) -> Form {
        let text = String::from_utf8_lossy(body);
        Form(
            text.split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (percent_decode(key), percent_decode(value))
                })
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn owned(&self, key: &str) -> Option<String> {
        self.get(key).map(str::to_owned)
    }

    fn required(&self, key: &str) -> Result<String, CfnError> {
        self.owned(key).ok_or_else(|| {
            CfnError::validation(format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                lower_first(key)
            ))
        })
    }

    fn flag(&self, key: &str) -> bool {
        self.get(key) == Some("true")
    }

    /// `Key.member.1`, `Key.member.2`, … in order.
    fn list(&self, key: &str) -> Vec<String> {
        (1..)
            .map_while(|i| self.owned(&format!("{key}.member.{i}")))
            .collect()
    }

    /// `Key.member.N.Field` structures, as maps of their fields.
    fn structures(&self, key: &str) -> Vec<HashMap<String, String>> {
        let mut out = Vec::new();
        for i in 1.. {
            let prefix = format!("{key}.member.{i}.");
            let fields: HashMap<String, String> = self
                .0
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|f| (f.to_owned(), v.clone())))
                .collect();
            if fields.is_empty() {
                break;
            }
            out.push(fields);
        }
        out
    }
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&high), Some(&low)) => hex(high).zip(hex(low)),
            _ => None,
        };
        match (bytes[i], escaped) {
            (_, Some((high, low))) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (byte, None) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Builds the XML of a response.
#[derive(Default)]
struct Xml(String);

impl Xml {
    fn open(&mut self, tag: &str) -> &mut Xml {
        self.0.push('<');
        self.0.push_str(tag);
        self.0.push('>');
        self
    }

    fn close(&mut self, tag: &str) -> &mut Xml {
        self.0.push_str("</");
        self.0.push_str(tag);
        self.0.push('>');
        self
    }

    fn text(&mut self, tag: &str, value: impl AsRef<str>) -> &mut Xml {
        self.open(tag);
        escape_into(&mut self.0, value.as_ref());
        self.close(tag)
    }

    fn opt(&mut self, tag: &str, value: Option<impl AsRef<str>>) -> &mut Xml {
        if let Some(value) = value {
            self.text(tag, value);
        }
        self
    }

    fn time(&mut self, tag: &str, ms: i64) -> &mut Xml {
        self.text(tag, timestamp(ms))
    }

    fn members<T>(
        &mut self,
        tag: &str,
        items: impl IntoIterator<Item = T>,
        mut each: impl FnMut(&mut Xml, T),
    ) -> &mut Xml {
        self.open(tag);
        for item in items {
            self.open("member");
            each(self, item);
            self.close("member");
        }
        self.close(tag)
    }
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn timestamp(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// One page of `items` after the opaque `token`; the token of the next page when more remain.
pub fn page<T: Clone>(
    items: &[T],
    token: Option<&str>,
    size: usize,
) -> Result<(Vec<T>, Option<String>), CfnError> {
    let start = match token {
        None => 0,
        Some(token) => token
            .parse::<usize>()
            .ok()
            .filter(|s| *s <= items.len())
            .ok_or_else(|| CfnError::validation("Invalid NextToken"))?,
    };
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Ok((items[start..end].to_vec(), next))
}

/// Whether a request is for this service: a form body naming a CloudFormation action.
pub fn is_cloudformation(form: &Form) -> bool {
    form.get("Version") == Some(VERSION) && form.get("Action").is_some()
}

pub async fn handle(state: &EngineState, form: &Form, request_id: &str) -> Response {
    let action = form.get("Action").unwrap_or_default().to_owned();
    match dispatch(state, &action, form).await {
        Ok(result) => {
            let mut xml = Xml::default();
            xml.0
                .push_str(&format!("<{action}Response xmlns=\"{NAMESPACE}\">"));
            if result.is_empty() {
                xml.0.push_str(&format!("<{action}Result/>"));
            } else {
                xml.0
                    .push_str(&format!("<{action}Result>{result}</{action}Result>"));
            }
            xml.open("ResponseMetadata")
                .text("RequestId", request_id)
                .close("ResponseMetadata");
            xml.close(&format!("{action}Response"));
            respond(StatusCode::OK, request_id, xml.0)
        }
        Err(error) => error_response(&error, request_id),
    }
}

pub fn error_response(error: &CfnError, request_id: &str) -> Response {
    let (status, fault) = if error.is_server_fault() {
        (StatusCode::INTERNAL_SERVER_ERROR, "Receiver")
    } else {
        (StatusCode::BAD_REQUEST, "Sender")
    };
    let mut xml = Xml::default();
    xml.0
        .push_str(&format!("<ErrorResponse xmlns=\"{NAMESPACE}\">"));
    xml.open("Error")
        .text("Type", fault)
        .text("Code", error.code())
        .text("Message", error.to_string())
        .close("Error")
        .text("RequestId", request_id)
        .close("ErrorResponse");
    respond(status, request_id, xml.0)
}

fn respond(status: StatusCode, request_id: &str, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("text/xml"));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

fn deploy_request(form: &Form) -> Result<DeployRequest, CfnError> {
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
    if form.get("TemplateURL").is_some() {
        return Err(CfnError::validation(
            "TemplateURL is not supported by the local engine (it has no S3): pass the template as TemplateBody",
        ));
    }
    Ok(DeployRequest {
        stack_name: form.required("StackName")?,
        template_body: form.owned("TemplateBody"),
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
            let request = deploy_request(form)?;
            let (id, stack_id) = cfn
                .create_change_set(
                    request,
                    form.required("ChangeSetName")?,
                    form.owned("ChangeSetType"),
                )
                .await?;
            xml.text("Id", id).text("StackId", stack_id);
        }
        "DescribeChangeSet" => {
            let (stack, change_set) =
                cfn.change_set(&form.required("ChangeSetName")?, form.get("StackName"))?;
            describe_change_set(&mut xml, &stack, &change_set, form.get("NextToken"))?;
        }
        "ExecuteChangeSet" => {
            cfn.execute_change_set(
                &form.required("ChangeSetName")?,
                form.get("StackName"),
                form.owned("ClientRequestToken"),
                form.flag("DisableRollback"),
            )
            .await?;
        }
        "DeleteChangeSet" => {
            cfn.delete_change_set(&form.required("ChangeSetName")?, form.get("StackName"))
                .await?;
        }
        "ListChangeSets" => {
            let stack = cfn.stack(&form.required("StackName")?)?;
            let (items, next) = page(&stack.change_sets, form.get("NextToken"), PAGE_SIZE)?;
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
            let id = cfn.create_stack(deploy_request(form)?).await?;
            xml.text("StackId", id);
        }
        "UpdateStack" => {
            let id = cfn.update_stack(deploy_request(form)?).await?;
            xml.text("StackId", id);
        }
        "DeleteStack" => {
            cfn.delete_stack(
                &form.required("StackName")?,
                form.owned("ClientRequestToken"),
            )
            .await?;
        }
        "DescribeStacks" => {
            let stacks = match form.get("StackName") {
                Some(name) => vec![cfn.stack(name)?],
                None => cfn.all_stacks(),
            };
            let (items, next) = page(&stacks, form.get("NextToken"), PAGE_SIZE)?;
            xml.members("Stacks", items, describe_stack);
            xml.opt("NextToken", next);
        }
        "DescribeStackEvents" => {
            let stack = cfn.stack(&form.required("StackName")?)?;
            let newest_first: Vec<_> = stack.events.iter().rev().cloned().collect();
            let (items, next) = page(&newest_first, form.get("NextToken"), PAGE_SIZE)?;
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
            let stack = cfn.stack(&form.required("StackName")?)?;
            let (items, next) = page(&stack.resources, form.get("NextToken"), PAGE_SIZE)?;
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
                None => cfn.stack(&form.required("StackName")?)?.template_body,
            };
            xml.text("TemplateBody", body);
            xml.members("StagesAvailable", ["Original", "Processed"], |x, s| {
                x.0.push_str(s);
            });
        }
        "ValidateTemplate" | "GetTemplateSummary" => {
            if form.get("TemplateURL").is_some() {
                return Err(CfnError::validation(
                    "TemplateURL is not supported by the local engine: pass TemplateBody",
                ));
            }
            let body = match (form.get("TemplateBody"), form.get("StackName")) {
                (Some(body), _) => body.to_owned(),
                (None, Some(stack)) if action == "GetTemplateSummary" => {
                    cfn.stack(stack)?.template_body
                }
                _ => form.required("TemplateBody")?,
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
                "The action {other} is not valid for this web service (the local engine's CloudFormation serves: CreateChangeSet, DescribeChangeSet, ExecuteChangeSet, DeleteChangeSet, ListChangeSets, CreateStack, UpdateStack, DeleteStack, DescribeStacks, DescribeStackEvents, DescribeStackResources, ListStackResources, GetTemplate, GetTemplateSummary, ValidateTemplate)"
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
    let (changes, next) = page(&change_set.changes, token, PAGE_SIZE)?;
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
            x.open("Target")
                .text("Attribute", "Properties")
                .text("Name", &d.property)
                .text("RequiresRecreation", &d.requires_recreation)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_as_the_sdk_encodes_them() {
        let form = Form::parse(b"Action=CreateStack&TemplateBody=%7B%22a%22%3A+1%7D&Parameters.member.1.ParameterKey=Env&Parameters.member.1.ParameterValue=prod&Capabilities.member.1=CAPABILITY_IAM&Bad=%zz");
        assert_eq!(form.get("TemplateBody"), Some("{\"a\": 1}"));
        assert_eq!(form.list("Capabilities"), vec!["CAPABILITY_IAM"]);
        assert_eq!(form.structures("Parameters")[0]["ParameterValue"], "prod");
        assert_eq!(form.get("Bad"), Some("%zz"));
    }

    #[test]
    fn pages_carry_a_token_until_the_end() {
        let items: Vec<u32> = (0..5).collect();
        let (first, next) = page(&items, None, 2).unwrap();
        assert_eq!((first, next.as_deref()), (vec![0, 1], Some("2")));
        let (last, next) = page(&items, Some("4"), 2).unwrap();
        assert_eq!((last, next), (vec![4], None));
        assert!(page(&items, Some("nope"), 2).is_err());
    }
}
