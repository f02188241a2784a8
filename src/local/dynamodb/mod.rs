//! The DynamoDB service of the local engine: tables, items, conditions, transactions,
//! queries and the stream records every change writes. No HTTP here: `api::dynamodb`
//! parses requests into these calls and serialises their results.

pub mod attribute_value;
pub mod error;
pub mod expression;
pub mod index;
pub mod number;
mod reads;
pub mod table;
mod tables;
mod ttl;
pub mod write;
mod writes;

use std::sync::Arc;

use crate::local::clock::Clock;
use crate::local::storage::Storage;
use crate::local::streams::Streams;

pub use reads::{Page, QueryInput, ScanInput, Select};
pub use tables::{CreateTableInput, TableDescription, UpdateTableInput, check_tags};
pub use writes::{IdempotencyToken, ReturnValues};

/// DynamoDB state and behaviour, shared by all requests.
#[derive(Debug, Clone)]
pub struct DynamoDb {
    storage: Arc<Storage>,
    streams: Streams,
    clock: Arc<dyn Clock>,
    region: String,
}

impl DynamoDb {
    pub fn new(
        storage: Arc<Storage>,
        streams: Streams,
        clock: Arc<dyn Clock>,
        region: String,
    ) -> DynamoDb {
        DynamoDb {
            storage,
            streams,
            clock,
            region,
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }
}
