//! The optional ingest API: `POST /<path>` writes an order straight into the table with
//! DynamoDB PutItem, no compute in between. The request template builds the item from
//! the JSON body, keys it by the request id, and refuses to overwrite an existing item.

use md5::{Digest, Md5};
use serde_json::{Value, json};

use super::intrinsic::{get_att, policy_document, reference, sub, tag_list, with_tags};
use super::template::Template;
use crate::blueprint::{Api, ApiAuth, Blueprint, CREATED_AT_ATTRIBUTE, KeyType, logical, output};

pub fn render(bp: &Blueprint, api: &Api, t: &mut Template) {
    t.resource(
        logical::API_ROLE,
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": with_tags(json!({
                "Description": format!("Lets API {} put items into {}, nothing else", bp.api_name(), bp.table_name()),
                "AssumeRolePolicyDocument": policy_document(vec![json!({
                    "Effect": "Allow",
                    "Principal": { "Service": "apigateway.amazonaws.com" },
                    "Action": "sts:AssumeRole",
                })]),
                "Policies": [{
                    "PolicyName": "put-orders",
                    "PolicyDocument": policy_document(vec![json!({
                        "Sid": "PutOrders",
                        "Effect": "Allow",
                        "Action": "dynamodb:PutItem",
                        "Resource": get_att(logical::TABLE, "Arn"),
                    })]),
                }],
            }), tag_list(bp)),
        }),
    );
    t.resource(
        logical::API,
        json!({
            "Type": "AWS::ApiGateway::RestApi",
            "Properties": with_tags(json!({
                "Name": bp.api_name(),
                "Description": format!("Writes orders into {} (the outbox)", bp.table_name()),
                "EndpointConfiguration": { "Types": ["REGIONAL"] },
            }), tag_list(bp)),
        }),
    );
    t.resource(
        logical::API_RESOURCE,
        json!({
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {
                "RestApiId": reference(logical::API),
                "ParentId": get_att(logical::API, "RootResourceId"),
                "PathPart": api.path,
            },
        }),
    );
    // The body is checked against the order's model before any mapping: a missing field
    // or one of the wrong type is refused with the reason, and never reaches DynamoDB.
    let model = order_model(api);
    t.resource(
        logical::API_ORDER_MODEL,
        json!({
            "Type": "AWS::ApiGateway::Model",
            "Properties": {
                "RestApiId": reference(logical::API),
                "ContentType": "application/json",
                "Name": "Order",
                "Description": "The JSON body POST accepts: every field the item is built from",
                "Schema": model,
            },
        }),
    );
    t.resource(
        logical::API_BODY_VALIDATOR,
        json!({
            "Type": "AWS::ApiGateway::RequestValidator",
            "Properties": {
                "RestApiId": reference(logical::API),
                "Name": "body",
                "ValidateRequestBody": true,
                "ValidateRequestParameters": false,
            },
        }),
    );
    // API Gateway's own answer to a body the model refuses says only "Invalid request
    // body"; this one adds which field and why.
    let bad_body = json!({
        "Type": "AWS::ApiGateway::GatewayResponse",
        "Properties": {
            "RestApiId": reference(logical::API),
            "ResponseType": "BAD_REQUEST_BODY",
            "StatusCode": "400",
            "ResponseTemplates": {
                "application/json": r#"{"message": "order rejected", "error": "BadRequestBody", "reason": "$context.error.validationErrorString", "requestId": "$context.requestId"}"#,
            },
        },
    });
    let method = method(bp, api);
    // A deployment is a snapshot: give it an id that changes with everything in it (the
    // path, the method, the model and the error response), so a changed API is deployed
    // again instead of the stage keeping the old snapshot.
    let digest = Md5::digest(format!("{}\n{method}\n{model}\n{bad_body}", api.path).as_bytes());
    let deployment_id = format!(
        "{}{}",
        logical::API_DEPLOYMENT_PREFIX,
        &hex::encode(digest)[..8]
    );
    t.resource(logical::API_METHOD, method);
    t.resource(logical::API_BAD_BODY_RESPONSE, bad_body);
    t.resource(
        &deployment_id,
        json!({
            "Type": "AWS::ApiGateway::Deployment",
            "DependsOn": [logical::API_METHOD, logical::API_BAD_BODY_RESPONSE],
            "Properties": { "RestApiId": reference(logical::API), "Description": "outboxctl deployment" },
        }),
    );
    t.resource(
        logical::API_STAGE,
        json!({
            "Type": "AWS::ApiGateway::Stage",
            "Properties": with_tags(json!({
                "RestApiId": reference(logical::API),
                "DeploymentId": reference(&deployment_id),
                "StageName": api.stage,
                "Description": "Order ingest",
            }), tag_list(bp)),
        }),
    );
    let url = format!(
        "https://${{{}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{}/{}",
        logical::API,
        api.stage,
        api.path
    );
    t.output(output::API_URL, "POST orders here", sub(&url));
}

fn method(bp: &Blueprint, api: &Api) -> Value {
    let response = |code: &str, pattern: Option<&str>, body: &str| {
        let mut r =
            json!({ "StatusCode": code, "ResponseTemplates": { "application/json": body } });
        if let Some(pattern) = pattern {
            r["SelectionPattern"] = json!(pattern);
        }
        r
    };
    json!({
        "Type": "AWS::ApiGateway::Method",
        "Properties": {
            "RestApiId": reference(logical::API),
            "ResourceId": reference(logical::API_RESOURCE),
            "HttpMethod": "POST",
            "AuthorizationType": match api.auth { ApiAuth::Iam => "AWS_IAM", ApiAuth::None => "NONE" },
            "RequestValidatorId": reference(logical::API_BODY_VALIDATOR),
            "RequestModels": { "application/json": reference(logical::API_ORDER_MODEL) },
            "Integration": {
                "Type": "AWS",
                "IntegrationHttpMethod": "POST",
                "Uri": sub("arn:${AWS::Partition}:apigateway:${AWS::Region}:dynamodb:action/PutItem"),
                "Credentials": get_att(logical::API_ROLE, "Arn"),
                // NEVER: a request whose content type has no template is refused (415)
                // instead of being passed to PutItem as it is.
                "PassthroughBehavior": "NEVER",
                "RequestTemplates": { "application/json": sub(&request_template(bp, api)) },
                // A failed PutItem must not answer 200: map DynamoDB's errors by status.
                "IntegrationResponses": [
                    response("200", None, &format!(r#"{{"orderId": "{}$context.requestId"}}"#, api.id_prefix)),
                    // DynamoDB's own error type and message say why: a validation error
                    // is the client's to fix, a throttling error its to retry.
                    response("400", Some("4\\d{2}"), r#"{"message": "order rejected", "error": $input.json('$.__type'), "reason": $input.json('$.message'), "requestId": "$context.requestId"}"#),
                    response("500", Some("5\\d{2}"), r#"{"message": "order not stored, try again", "requestId": "$context.requestId"}"#),
                ],
            },
            "MethodResponses": [{ "StatusCode": "200" }, { "StatusCode": "400" }, { "StatusCode": "500" }],
        },
    })
}

/// The JSON Schema (draft 4, API Gateway's) of the body: an object carrying every field,
/// an `S` field as a string and an `N` field as a number. Other members are allowed and
/// ignored, so clients can send more than this API stores.
fn order_model(api: &Api) -> Value {
    let properties: serde_json::Map<String, Value> = api
        .fields
        .iter()
        .map(|field| {
            let kind = match field.kind {
                KeyType::N => "number",
                _ => "string",
            };
            (field.name.clone(), json!({ "type": kind }))
        })
        .collect();
    let required: Vec<&str> = api.fields.iter().map(|f| f.name.as_str()).collect();
    let mut model = json!({
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "Order",
        "type": "object",
        "properties": properties,
    });
    // Draft 4 wants `required` to name at least one member.
    if !required.is_empty() {
        model["required"] = json!(required);
    }
    model
}

/// The VTL request mapping template, for `Fn::Sub` (`${Table}` becomes the table name).
pub fn request_template(bp: &Blueprint, api: &Api) -> String {
    let pk = &bp.table.partition_key.name;
    let mut item = vec![format!(
        r#""{pk}": {{"S": "{}$context.requestId"}}"#,
        api.id_prefix
    )];
    if let Some(sort) = &bp.table.sort_key {
        item.push(format!(
            r#""{}": {{"{}": "$context.requestTimeEpoch"}}"#,
            sort.name,
            sort.kind.as_str()
        ));
    }
    item.push(format!(
        r#""{CREATED_AT_ATTRIBUTE}": {{"N": "$context.requestTimeEpoch"}}"#
    ));
    // `$input.json` inserts each body value as a JSON literal: a string arrives quoted and
    // escaped, so no body can close the item and add attributes of its own, and a value
    // of the wrong type makes the request invalid (400) instead of being stored.
    for field in &api.fields {
        let value = match field.kind {
            KeyType::N => format!(r#""$input.json('$.{}')""#, field.name),
            _ => format!("$input.json('$.{}')", field.name),
        };
        item.push(format!(
            r#""{}": {{"{}": {value}}}"#,
            field.name,
            field.kind.as_str()
        ));
    }
    format!(
        "{{\n  \"TableName\": \"${{{table}}}\",\n  \"ConditionExpression\": \"attribute_not_exists(#pk)\",\n  \"ExpressionAttributeNames\": {{\"#pk\": \"{pk}\"}},\n  \"Item\": {{\n    {items}\n  }}\n}}\n",
        table = logical::TABLE,
        items = item.join(",\n    "),
    )
}
