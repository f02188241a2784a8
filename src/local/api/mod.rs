//! The wire side of the engine: routing and one thin module per service protocol. Each
//! action parses its input, calls the service state and serialises the result.

pub mod apigateway;
pub mod cloudformation;
pub mod dynamodb;
pub mod dynamodb_streams;
pub mod events;
pub mod faults;
pub mod json_protocol;
pub mod paging;
pub mod pipes;
pub mod query_protocol;
pub mod router;
pub mod s3;
pub mod sqs;
pub mod sts;
