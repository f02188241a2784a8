//! AWS options shared by every command that talks to AWS or the local engine, and the one
//! function that turns them into an SDK configuration. The endpoint is the only switch
//! between AWS and the local engine: the code path is otherwise the same.

use aws_config::{BehaviorVersion, Region, SdkConfig, retry::RetryConfig};
use clap::Args;

/// Where the local engine listens by default (`outboxctl local up`).
pub const LOCAL_ENDPOINT: &str = "http://127.0.0.1:4566";
/// The region used against the local engine when none is configured.
pub const LOCAL_REGION: &str = "us-east-1";

/// `--profile`, `--region`, `--endpoint-url`, `--local`, as the AWS CLI spells them.
/// The standard chain (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, config and credentials
/// files, SSO, instance roles) applies to whatever is not given here.
#[derive(Debug, Clone, Default, Args)]
pub struct AwsArgs {
    /// Use this profile from ~/.aws/config and ~/.aws/credentials.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region (default: the blueprint's `region`, then the AWS configuration chain).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Send every request to this endpoint instead of AWS.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Use the local engine with dummy credentials: at 127.0.0.1:4566, or at
    /// --endpoint-url for an engine on another port.
    #[arg(long, global = true)]
    pub local: bool,
    /// Dummy credentials instead of the chain (for an in-process local engine).
    #[arg(skip)]
    pub dummy_credentials: bool,
}

impl AwsArgs {
    /// The endpoint requests go to, when it is not AWS.
    pub fn endpoint(&self) -> Option<&str> {
        match (&self.endpoint_url, self.local) {
            (Some(url), _) => Some(url),
            (None, true) => Some(LOCAL_ENDPOINT),
            (None, false) => None,
        }
    }
}

/// Build the SDK configuration: the region from the flag, then the blueprint, then the
/// chain; throttled calls retried with backoff (5 attempts).
pub async fn load(args: &AwsArgs, blueprint_region: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(5));
    if let Some(profile) = &args.profile {
        loader = loader.profile_name(profile);
    }
    let region = args.region.as_deref().or(blueprint_region);
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_string()));
    }
    if let Some(url) = args.endpoint() {
        loader = loader.endpoint_url(url);
        if args.local || args.dummy_credentials {
            loader = loader.test_credentials();
            if region.is_none() {
                loader = loader.region(Region::from_static(LOCAL_REGION));
            }
        }
    }
    loader.load().await
}
