//! `outboxctl schema` (being written).
use clap::Args;
use super::{Exit, GlobalArgs};
#[derive(Debug, Args)]
pub struct SchemaArgs {}
pub fn run(_args: SchemaArgs) -> anyhow::Result<Exit> { anyhow::bail!("`schema` is not ready yet") }
