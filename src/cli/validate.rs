//! `outboxctl validate` (being written).
use clap::Args;
use super::{Exit, GlobalArgs};
#[derive(Debug, Args)]
pub struct ValidateArgs {}
pub fn run(_global: &GlobalArgs, _args: ValidateArgs) -> anyhow::Result<Exit> { anyhow::bail!("`validate` is not ready yet") }
