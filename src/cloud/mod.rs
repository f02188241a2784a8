//! Talking to CloudFormation and the services of a deployed stack through the AWS SDK.
//! The same code serves AWS and the local engine; only the endpoint differs.

pub mod api;
pub mod artifacts;
pub mod config;
pub mod deploy;
pub mod diff;
pub mod error;
pub mod events;
pub mod orders;
pub mod preflight;
pub mod stack;
pub mod status;
pub mod tail;
pub mod verify;

use aws_config::SdkConfig;

/// One client per service of the stack, sharing one configuration.
#[derive(Debug, Clone)]
pub struct Clients {
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub pipes: aws_sdk_pipes::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
    pub s3: aws_sdk_s3::Client,
    pub sts: aws_sdk_sts::Client,
}

impl Clients {
    pub fn new(config: &SdkConfig) -> Clients {
        Clients {
            cloudformation: aws_sdk_cloudformation::Client::new(config),
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            pipes: aws_sdk_pipes::Client::new(config),
            eventbridge: aws_sdk_eventbridge::Client::new(config),
            // An endpoint given as an address (the local engine) has no bucket subdomains.
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(config)
                    .force_path_style(config.endpoint_url().is_some())
                    .build(),
            ),
            sts: aws_sdk_sts::Client::new(config),
        }
    }
}
