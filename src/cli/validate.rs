//! `outboxctl validate`: every problem in a blueprint at once, each at file:line:column.

use clap::Args;

use super::{Exit, GlobalArgs, load_blueprint};

#[derive(Debug, Args)]
pub struct ValidateArgs {}

pub fn run(global: &GlobalArgs, _args: ValidateArgs) -> anyhow::Result<Exit> {
    let Some(bp) = load_blueprint(global)? else {
        return Ok(Exit::Failure);
    };
    println!(
        "{}: valid: stack `{}`, {} queue(s), {} rule(s){}",
        global.blueprint.display(),
        bp.name,
        bp.queues.len(),
        bp.rules.len(),
        if bp.api.is_some() { ", ingest API" } else { "" }
    );
    Ok(Exit::Success)
}
