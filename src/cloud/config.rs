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
    #[arg(long, global = true, value_name = "NAME", value_parser = known_profile)]
    pub profile: Option<String>,
    /// AWS region (default: the blueprint's `region`, then the AWS configuration chain).
    #[arg(long, global = true, value_name = "REGION", value_parser = region_name)]
    pub region: Option<String>,
    /// Send every request to this endpoint instead of AWS.
    #[arg(long, global = true, value_name = "URL", value_parser = endpoint_url)]
    pub endpoint_url: Option<String>,
    /// Use the local engine with dummy credentials: at 127.0.0.1:4566, or at
    /// --endpoint-url for an engine on another port.
    #[arg(long, global = true)]
    pub local: bool,
    /// Dummy credentials instead of the chain (for an in-process local engine).
    #[arg(skip)]
    pub dummy_credentials: bool,
}

/// `--region`: letters, digits and hyphens, as region names are (`eu-west-1`).
fn region_name(text: &str) -> Result<String, String> {
    let valid = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(text.to_string())
    } else {
        Err("a region name is lowercase letters, digits and hyphens, such as `eu-west-1`".into())
    }
}

/// `--endpoint-url`: an http or https URL with a host.
fn endpoint_url(text: &str) -> Result<String, String> {
    match text.parse::<http::Uri>() {
        Ok(uri)
            if matches!(uri.scheme_str(), Some("http" | "https"))
                && uri.host().is_some_and(|host| !host.is_empty())
                && uri.authority().is_some_and(|a| valid_port(a.as_str())) =>
        {
            Ok(text.to_string())
        }
        _ => Err("write the endpoint as a URL such as `http://127.0.0.1:4566`".into()),
    }
}

/// The port after `host:` fits in 16 bits, when there is one (`http::Uri` drops a port
/// that does not, rather than refusing it).
fn valid_port(authority: &str) -> bool {
    match authority.rsplit_once(':') {
        Some((_, port)) if !port.contains(']') => port.parse::<u16>().is_ok(),
        _ => true,
    }
}

/// `--profile`: one of the profiles the AWS configuration files define, as the AWS CLI
/// requires ("The config profile (NAME) could not be found").
fn known_profile(name: &str) -> Result<String, String> {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let file = |variable: &str, default: &str| {
        std::env::var_os(variable)
            .map(std::path::PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
    };
    let config = file("AWS_CONFIG_FILE", "config");
    let credentials = file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let sections = |path: Option<std::path::PathBuf>| -> Vec<String> {
        let text = path
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        text.lines()
            .filter_map(|line| line.trim().strip_prefix('[')?.strip_suffix(']'))
            .map(|section| section.trim().to_string())
            .collect()
    };
    let in_config = sections(config).iter().any(|section| {
        (section == "default" && name == "default")
            || section.strip_prefix("profile ").map(str::trim) == Some(name)
    });
    let in_credentials = sections(credentials).iter().any(|s| s == name);
    if in_config || in_credentials {
        Ok(name.to_string())
    } else {
        Err(format!(
            "the config profile ({name}) could not be found in ~/.aws/config or ~/.aws/credentials; `aws configure list-profiles` lists the profiles there"
        ))
    }
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
