//! outboxctl's integration tests: one binary, one module per area.

mod support;

mod bad_blueprints;
mod cli_e2e;
mod cli_flow;
mod commands;
mod local_boto3;
mod local_cloudformation;
mod local_crash;
mod local_dynamodb;
mod local_events;
mod local_flow;
mod local_pipes;
mod local_restart;
mod local_s3;
mod local_sqs;
mod local_streams;
mod local_support;
mod moto;
mod patterns;
mod templates;
