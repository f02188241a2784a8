//! One clear line for the AWS failures users meet most: no credentials, an endpoint that
//! does not answer, access denied, throttling that outlasted the retries. Anything else
//! keeps the service's own code and message.

use std::error::Error;
use std::fmt::Debug;

use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Wrap an SDK error from `action` (e.g. `cloudformation:DescribeStacks`) for the user.
pub fn explain<E, R>(action: &str, err: SdkError<E, R>) -> anyhow::Error
where
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    let detail = DisplayErrorContext(&err).to_string();
    let line = match &err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown");
            let message = service.err().message().unwrap_or("");
            match code {
                "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => format!(
                    "access denied: the caller may not call {action} ({message}); grant it in IAM or use --profile with a role that may"
                ),
                "Throttling" | "ThrottlingException" | "TooManyRequestsException" | "RequestLimitExceeded" => {
                    format!("AWS throttled {action} even after 5 attempts with backoff; wait a minute and run the command again")
                }
                "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => {
                    "the AWS credentials have expired: refresh them (e.g. `aws sso login`) and run the command again".to_string()
                }
                "InvalidClientTokenId" | "UnrecognizedClientException" | "SignatureDoesNotMatch" => {
                    format!("AWS rejected the credentials ({code}): check the profile or the AWS_* variables")
                }
                _ if message.is_empty() => format!("{action} failed: {code}"),
                _ => format!("{action} failed: {code}: {message}"),
            }
        }
        _ if detail.contains("credentials") || detail.contains("Credentials") => {
            "no AWS credentials found: run `aws configure` or `aws sso login`, pass --profile, set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or use --local for the local engine".to_string()
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => format!(
            "cannot reach the endpoint for {action}: {detail}; check --endpoint-url / --region and the network (for the local engine, start it with `outboxctl local up`)"
        ),
        _ => format!("{action} failed: {detail}"),
    };
    anyhow::anyhow!(line)
}

/// The service error code, when the error is a service's answer.
pub fn code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}
