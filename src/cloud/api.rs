//! Orders through the stack's ingest API, as an IAM-authorized caller sends them: a POST
//! signed with SigV4 for `execute-api`. Against the local engine the request goes to the
//! engine's address and keeps the API's host name, which is how the engine picks the API.

use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The API's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// POST `body` (JSON) to `url`, signed with the configuration's credentials. With
/// `endpoint`, connect there instead of to the URL's host.
pub async fn post(
    config: &SdkConfig,
    url: &str,
    endpoint: Option<&str>,
    body: &serde_json::Value,
) -> anyhow::Result<Answer> {
    let uri: http::Uri = url
        .parse()
        .map_err(|err| anyhow::anyhow!("the API URL `{url}` is not a URL: {err}"))?;
    let host = uri
        .authority()
        .map(|a| a.to_string())
        .ok_or_else(|| anyhow::anyhow!("the API URL `{url}` has no host"))?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let body = serde_json::to_vec(body)?;

    let credentials = config
        .credentials_provider()
        .ok_or_else(|| {
            anyhow::anyhow!("no AWS credentials are configured to sign the API request")
        })?
        .provide_credentials()
        .await
        .map_err(|err| anyhow::anyhow!("no AWS credentials to sign the API request: {err}"))?;
    let identity = credentials.into();
    let region = config
        .region()
        .map(|r| r.to_string())
        .ok_or_else(|| anyhow::anyhow!("no AWS region configured"))?;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&region)
        .name("execute-api")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()?
        .into();
    let headers = [
        ("host", host.as_str()),
        ("content-type", "application/json"),
    ];
    let signable =
        SignableRequest::new("POST", url, headers.into_iter(), SignableBody::Bytes(&body))?;
    let (instructions, _) = sign(signable, &params)?.into_parts();

    let target = match endpoint {
        Some(endpoint) => format!("{}{path}", endpoint.trim_end_matches('/')),
        None => url.to_string(),
    };
    let mut request = http::Request::builder()
        .method("POST")
        .uri(&target)
        .header("host", &host)
        .header("content-type", "application/json")
        .body(Full::new(bytes::Bytes::from(body)))?;
    instructions.apply_to_request_http1x(&mut request);

    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Full<bytes::Bytes>> =
        Client::builder(TokioExecutor::new()).build(connector);
    let response = client
        .request(request)
        .await
        .map_err(|err| anyhow::anyhow!("cannot reach the API at {target}: {err}"))?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok(Answer {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}
