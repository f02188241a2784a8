//! API Gateway REST APIs of the local engine, as CloudFormation deploys them (RestApi,
//! Resource, Method, Deployment, Stage): enough to serve the outbox's ingest endpoint,
//! `POST /orders` integrated straight with DynamoDB PutItem through a mapping template,
//! with no compute. State here; serving in `api::apigateway`; templates in [`mapping`].

pub mod mapping;

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
}

/// What a deployment froze: each method with its full path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiDeployment {
    pub id: String,
    pub methods: Vec<(String, ApiMethod)>,
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
            let id = new_id();
            api.deployments.push(ApiDeployment {
                id: id.clone(),
                methods,
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
    ) -> Result<ApiMethod, ApiGatewayError> {
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
            .map(|(_, m)| m.clone())
            .ok_or_else(|| ApiGatewayError::NotFound("Missing Authentication Token".into()))
    }
}

/// Deleting what is already gone succeeds (CloudFormation deletes children with parents).
fn ignore_missing(result: Result<(), ApiGatewayError>) -> Result<(), ApiGatewayError> {
    match result {
        Err(ApiGatewayError::NotFound(_)) => Ok(()),
        other => other,
    }
}
