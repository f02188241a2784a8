//! The one integration-test binary; each module holds the tests of one area.

mod local_boto3;
mod local_dynamodb;
mod local_restart;
mod local_streams;
mod local_support;
mod local_throughput;
