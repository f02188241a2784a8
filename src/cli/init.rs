//! `outboxctl init` (being written).
use clap::Args;
use super::{Exit, GlobalArgs};
#[derive(Debug, Args)]
pub struct InitArgs {}
pub fn run(_global: &GlobalArgs, _args: InitArgs) -> anyhow::Result<Exit> { anyhow::bail!("`init` is not ready yet") }
