//! `outboxctl render` (being written).
use clap::Args;
use super::{Exit, GlobalArgs};
#[derive(Debug, Args)]
pub struct RenderArgs {}
pub fn run(_global: &GlobalArgs, _args: RenderArgs) -> anyhow::Result<Exit> { anyhow::bail!("`render` is not ready yet") }
