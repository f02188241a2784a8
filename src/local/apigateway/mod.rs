//! API Gateway REST APIs of the local engine, as CloudFormation deploys them (RestApi,
//! Resource, Method, Model, RequestValidator, GatewayResponse, Deployment, Stage): enough
//! to serve the outbox's ingest endpoint, `POST /orders` with its body checked against a
//! model and integrated straight with DynamoDB PutItem through a mapping template, with
//! no compute. State here; serving in `api::apigateway`; templates in [`mapping`]; models
//! in [`schema`].

pub mod mapping;
pub mod schema;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::local::cloudformation::error::CfnError;
use crate::local::cloudformation::store::DocumentStore;
use crate::local::storage::Storage;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiGatewayError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("storage failure: {0}")]
    Storage(#[from] CfnError),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiResource {
    pub id: String,
    pub parent_id: Option<String>,
    pub path_part: String,
}

/// A method with its integration, as the template gave them (resolved).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiMethod {
    pub id: String,
    pub resource_id: String,
    pub http_method: String,
    pub authorization_type: String,
    pub integration: Value,
    #[serde(default)]
    pub request_validator_id: Option<String>,
    /// Content type → model name.
    #[serde(default)]
    pub request_models: BTreeMap<String, String>,
}

/// A model: the JSON Schema of request bodies of one content type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiModel {
    pub name: String,
    pub content_type: String,
    pub schema: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestValidator {
    pub id: String,
    pub name: String,
    pub validate_body: bool,
}

/// The answer API Gateway gives itself, instead of its default, to requests it refuses
/// (`BAD_REQUEST_BODY`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayResponse {
    pub response_type: String,
    pub status_code: Option<u16>,
    /// Content type → template (variables only, no directives).
    pub templates: BTreeMap<String, String>,
}

/// What a deployment froze: each method with its full path, the schemas its validator
/// checks bodies against, and the API's gateway responses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiDeployment {
    pub id: String,
    pub methods: Vec<(String, ApiMethod)>,
    /// Method id → content type → schema, for methods whose validator checks bodies.
    #[serde(default)]
    pub body_models: BTreeMap<String, BTreeMap<String, Value>>,
    #[serde(default)]
    pub gateway_responses: Vec<GatewayResponse>,
}

/// A deployed method, with what the deployment froze for it.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: ApiMethod,
    /// Content type → schema, when the method's validator checks bodies.
    pub body_models: BTreeMap<String, Value>,
    pub gateway_responses: Vec<GatewayResponse>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiStage {
    pub name: String,
    pub deployment_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestApi {
    pub id: String,
    pub name: String,
    pub root_resource_id: String,
    pub resources: Vec<ApiResource>,
    pub methods: Vec<ApiMethod>,
    pub deployments: Vec<ApiDeployment>,
    pub stages: Vec<ApiStage>,
    #[serde(default)]
    pub models: Vec<ApiModel>,
    #[serde(default)]
    pub validators: Vec<RequestValidator>,
    #[serde(default)]
    pub gateway_responses: Vec<GatewayResponse>,
}

impl RestApi {
    /// The full path of a resource (`/orders`), walking up to the root.
    fn path_of(&self, resource_id: &str) -> Option<String> {
        let mut parts = Vec::new();
        let mut current = self.resources.iter().find(|r| r.id == resource_id)?;
        while let Some(parent) = &current.parent_id {
            parts.push(current.path_part.clone());
            current = self.resources.iter().find(|r| &r.id == parent)?;
        }
        parts.reverse();
        Some(format!("/{}", parts.join("/")))
    }
}

/// An API Gateway id: 10 lowercase letters and digits.
fn new_id() -> String {
    uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .take(10)
        .collect()
}

#[derive(Debug, Clone)]
pub struct ApiGateway {
    apis: Arc<Mutex<Vec<RestApi>>>,
    store: DocumentStore,
}

impl ApiGateway {
    pub async fn open(storage: Arc<Storage>) -> Result<ApiGateway, ApiGatewayError> {
        let (store, apis) = DocumentStore::open::<RestApi>(storage, "apigateway_rest_apis").await?;
        Ok(ApiGateway {
            apis: Arc::new(Mutex::new(apis)),
            store,
        })
    }

    fn apis(&self) -> MutexGuard<'_, Vec<RestApi>> {
        self.apis.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Change one API and store it; answers what `f` answers.
    async fn change<R>(
        &self,
        api_id: &str,
        f: impl FnOnce(&mut RestApi) -> Result<R, ApiGatewayError>,
    ) -> Result<R, ApiGatewayError> {
        let (result, snapshot) = {
            let mut apis = self.apis();
            let api = apis.iter_mut().find(|a| a.id == api_id).ok_or_else(|| {
                ApiGatewayError::NotFound(format!("Invalid API identifier specified {api_id}"))
            })?;
            let result = f(api)?;
            (result, api.clone())
        };
        self.store.save(&snapshot.id, &snapshot).await?;
        Ok(result)
    }

    pub fn api(&self, api_id: &str) -> Option<RestApi> {
        self.apis().iter().find(|a| a.id == api_id).cloned()
    }

    pub async fn create_api(&self, name: String) -> Result<RestApi, ApiGatewayError> {
        let api = RestApi {
            id: new_id(),
            name,
            root_resource_id: new_id(),
            resources: Vec::new(),
            methods: Vec::new(),
            deployments: Vec::new(),
            stages: Vec::new(),
            models: Vec::new(),
            validators: Vec::new(),
            gateway_responses: Vec::new(),
        };
        let mut api = api;
        api.resources.push(ApiResource {
            id: api.root_resource_id.clone(),
            parent_id: None,
            path_part: String::new(),
        });
        self.apis().push(api.clone());
        self.store.save(&api.id, &api).await?;
        Ok(api)
    }

    pub async fn rename_api(&self, api_id: &str, name: String) -> Result<(), ApiGatewayError> {
        self.change(api_id, |api| {
            api.name = name;
            Ok(())
        })
        .await
    }

    pub async fn delete_api(&self, api_id: &str) -> Result<(), ApiGatewayError> {
        self.apis().retain(|a| a.id != api_id);
        self.store.delete(api_id).await?;
        Ok(())
    }

    pub async fn create_resource(
        &self,
        api_id: &str,
        parent_id: &str,
        path_part: String,
    ) -> Result<String, ApiGatewayError> {
        self.change(api_id, |api| {
            if !api.resources.iter().any(|r| r.id == parent_id) {
                return Err(ApiGatewayError::NotFound(format!(
                    "Invalid Resource identifier specified {parent_id}"
                )));
            }
            if api
                .resources
                .iter()
                .any(|r| r.parent_id.as_deref() == Some(parent_id) && r.path_part == path_part)
            {
                return Err(ApiGatewayError::BadRequest(format!(
                    "Another resource with the same parent already has this name: {path_part}"
                )));
            }
            let id = new_id();
            api.resources.push(ApiResource {
                id: id.clone(),
                parent_id: Some(parent_id.to_owned()),
                path_part,
            });
            Ok(id)
        })
        .await
    }

    pub async fn delete_resource(
        &self,
        api_id: &str,
        resource_id: &str,
    ) -> Result<(), ApiGatewayError> {
        let result = self
            .change(api_id, |api| {
                api.resources.retain(|r| r.id != resource_id);
                api.methods.retain(|m| m.resource_id != resource_id);
                Ok(())
            })
            .await;
        ignore_missing(result)
    }

    /// PutMethod with its integration; replaces the method if it exists.
    pub async fn put_method(
        &self,
        mut method: ApiMethod,
        api_id: &str,
    ) -> Result<String, ApiGatewayError> {
        self.change(api_id, |api| {
            if !api.resources.iter().any(|r| r.id == method.resource_id) {
                return Err(ApiGatewayError::NotFound(format!(
                    "Invalid Resource identifier specified {}",
                    method.resource_id
                )));
            }
            if let Some(validator) = &method.request_validator_id
                && !api.validators.iter().any(|v| &v.id == validator)
            {
                return Err(ApiGatewayError::BadRequest(format!(
                    "Invalid Request Validator identifier specified {validator}"
                )));
            }
            if let Some(model) = method
                .request_models
                .values()
                .find(|name| !api.models.iter().any(|m| &m.name == *name))
            {
                return Err(ApiGatewayError::BadRequest(format!(
                    "Invalid model identifier specified: {model}"
                )));
            }
            if let Some(existing) = api.methods.iter().find(|m| {
                m.resource_id == method.resource_id && m.http_method == method.http_method
            }) {
                method.id = existing.id.clone();
            }
            api.methods.retain(|m| m.id != method.id);
            let id = method.id.clone();
            api.methods.push(method);
            Ok(id)
        })
        .await
    }

    pub async fn delete_method(
        &self,
        api_id: &str,
        method_id: &str,
    ) -> Result<(), ApiGatewayError> {
        ignore_missing(
            self.change(api_id, |api| {
                api.methods.retain(|m| m.id != method_id);
                Ok(())
            })
            .await,
        )
    }

    /// CreateDeployment: a snapshot of the API's methods as they are now.
    pub async fn create_deployment(&self, api_id: &str) -> Result<String, ApiGatewayError> {
        self.change(api_id, |api| {
            if api.methods.is_empty() {
                return Err(ApiGatewayError::BadRequest(
                    "The REST API doesn't contain any methods".into(),
                ));
            }
            let methods = api
                .methods
                .iter()
                .filter_map(|m| api.path_of(&m.resource_id).map(|p| (p, m.clone())))
                .collect();
            let body_models = api
                .methods
                .iter()
                .filter(|m| {
                    api.validators
                        .iter()
                        .any(|v| v.validate_body && Some(&v.id) == m.request_validator_id.as_ref())
                })
                .map(|m| {
                    let schemas = m
                        .request_models
                        .iter()
                        .filter_map(|(content_type, name)| {
                            let model = api.models.iter().find(|model| &model.name == name)?;
                            Some((content_type.clone(), model.schema.clone()))
                        })
                        .collect();
                    (m.id.clone(), schemas)
                })
                .collect();
            let id = new_id();
            api.deployments.push(ApiDeployment {
                id: id.clone(),
                methods,
                body_models,
                gateway_responses: api.gateway_responses.clone(),
            });
            Ok(id)
        })
        .await
    }

    pub async fn delete_deployment(
        &self,
        api_id: &str,
        deployment_id: &str,
    ) -> Result<(), ApiGatewayError> {
        ignore_missing(
            self.change(api_id, |api| {
                if api.stages.iter().any(|s| s.deployment_id == deployment_id) {
                    return Err(ApiGatewayError::BadRequest(
                        "Active stages pointing to this deployment must be moved or deleted".into(),
                    ));
                }
                api.deployments.retain(|d| d.id != deployment_id);
                Ok(())
            })
            .await,
        )
    }

    /// CreateStage, or point an existing stage at another deployment.
    pub async fn put_stage(
        &self,
        api_id: &str,
        name: String,
        deployment_id: String,
    ) -> Result<(), ApiGatewayError> {
        self.change(api_id, |api| {
            if !api.deployments.iter().any(|d| d.id == deployment_id) {
                return Err(ApiGatewayError::NotFound(format!(
                    "Invalid Deployment identifier specified {deployment_id}"
                )));
            }
            api.stages.retain(|s| s.name != name);
            api.stages.push(ApiStage {
                name,
                deployment_id,
            });
            Ok(())
        })
        .await
    }

    pub async fn delete_stage(&self, api_id: &str, name: &str) -> Result<(), ApiGatewayError> {
        ignore_missing(
            self.change(api_id, |api| {
                api.stages.retain(|s| s.name != name);
                Ok(())
            })
            .await,
        )
    }

    /// The deployed method serving `http_method path` on a stage.
    pub fn route(
        &self,
        api_id: &str,
        stage: &str,
        http_method: &str,
        path: &str,
    ) -> Result<Route, ApiGatewayError> {
        let apis = self.apis();
        let missing = || {
            ApiGatewayError::NotFound(format!(
                "no API `{api_id}` with a stage `{stage}` on the local engine"
            ))
        };
        let api = apis.iter().find(|a| a.id == api_id).ok_or_else(missing)?;
        let stage = api
            .stages
            .iter()
            .find(|s| s.name == stage)
            .ok_or_else(missing)?;
        let deployment = api
            .deployments
            .iter()
            .find(|d| d.id == stage.deployment_id)
            .ok_or_else(missing)?;
        let path = if path.is_empty() { "/" } else { path };
        deployment
            .methods
            .iter()
            .find(|(p, m)| p == path && (m.http_method == http_method || m.http_method == "ANY"))
            .map(|(_, m)| Route {
                method: m.clone(),
                body_models: deployment
                    .body_models
                    .get(&m.id)
                    .cloned()
                    .unwrap_or_default(),
                gateway_responses: deployment.gateway_responses.clone(),
            })
            .ok_or_else(|| ApiGatewayError::NotFound("Missing Authentication Token".into()))
    }

    /// CreateModel, or (`replace`) UpdateModel: a model's schema must use only what
    /// [`schema`] evaluates.
    pub async fn put_model(
        &self,
        api_id: &str,
        model: ApiModel,
        replace: bool,
    ) -> Result<(), ApiGatewayError> {
        schema::check(&model.schema).map_err(|reason| {
            ApiGatewayError::BadRequest(format!("Invalid model specified: {reason}"))
        })?;
        self.change(api_id, |api| {
            let existing = api.models.iter().position(|m| m.name == model.name);
            match (existing, replace) {
                (Some(_), false) => Err(ApiGatewayError::BadRequest(
                    "Another Model with the same name already exists".into(),
                )),
                (None, true) => Err(ApiGatewayError::NotFound(format!(
                    "Invalid model name specified: {}",
                    model.name
                ))),
                (Some(at), true) => {
                    api.models[at] = model;
                    Ok(())
                }
                (None, false) => {
                    api.models.push(model);
                    Ok(())
                }
            }
        })
        .await
    }

    /// DeleteModel: refused while a method still names the model.
    pub async fn delete_model(&self, api_id: &str, name: &str) -> Result<(), ApiGatewayError> {
        ignore_missing(
            self.change(api_id, |api| {
                if api
                    .methods
                    .iter()
                    .any(|m| m.request_models.values().any(|n| n == name))
                {
                    return Err(ApiGatewayError::BadRequest(format!(
                        "Cannot delete model '{name}', is referenced in method request"
                    )));
                }
                api.models.retain(|m| m.name != name);
                Ok(())
            })
            .await,
        )
    }

    /// CreateRequestValidator (`id` None) or UpdateRequestValidator; answers its id.
    pub async fn put_validator(
        &self,
        api_id: &str,
        id: Option<String>,
        name: String,
        validate_body: bool,
    ) -> Result<String, ApiGatewayError> {
        self.change(api_id, |api| {
            let id = match id {
                Some(id) => {
                    if !api.validators.iter().any(|v| v.id == id) {
                        return Err(ApiGatewayError::NotFound(format!(
                            "Invalid Request Validator identifier specified {id}"
                        )));
                    }
                    id
                }
                None => new_id(),
            };
            api.validators.retain(|v| v.id != id);
            api.validators.push(RequestValidator {
                id: id.clone(),
                name,
                validate_body,
            });
            Ok(id)
        })
        .await
    }

    pub async fn delete_validator(&self, api_id: &str, id: &str) -> Result<(), ApiGatewayError> {
        ignore_missing(
            self.change(api_id, |api| {
                api.validators.retain(|v| v.id != id);
                Ok(())
            })
            .await,
        )
    }

    /// PutGatewayResponse: replaces the API's response of that type.
    pub async fn put_gateway_response(
        &self,
        api_id: &str,
        response: GatewayResponse,
    ) -> Result<(), ApiGatewayError> {
        for template in response.templates.values() {
            mapping::check(template).map_err(|e| ApiGatewayError::BadRequest(e.to_string()))?;
        }
        self.change(api_id, |api| {
            api.gateway_responses
                .retain(|r| r.response_type != response.response_type);
            api.gateway_responses.push(response);
            Ok(())
        })
        .await
    }

    pub async fn delete_gateway_response(
        &self,
        api_id: &str,
        response_type: &str,
    ) -> Result<(), ApiGatewayError> {
        ignore_missing(
            self.change(api_id, |api| {
                api.gateway_responses
                    .retain(|r| r.response_type != response_type);
                Ok(())
            })
            .await,
        )
    }
}

/// Deleting what is already gone succeeds (CloudFormation deletes children with parents).
fn ignore_missing(result: Result<(), ApiGatewayError>) -> Result<(), ApiGatewayError> {
    match result {
        Err(ApiGatewayError::NotFound(_)) => Ok(()),
        other => other,
    }
}
