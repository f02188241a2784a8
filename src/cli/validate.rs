//! `outboxctl validate`: every problem in a blueprint at once, each at file:line:column.

use clap::Args;

use super::{Exit, GlobalArgs};
use crate::blueprint::{self, LoadError};

#[derive(Debug, Args)]
pub struct ValidateArgs {}

pub fn run(global: &GlobalArgs, _args: ValidateArgs) -> anyhow::Result<Exit> {
    match blueprint::load(&global.blueprint) {
        Ok(bp) => {
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
        Err(LoadError::Invalid(diagnostics)) => {
            eprintln!("{diagnostics}");
            Ok(Exit::Failure)
        }
        Err(err) => Err(err.into()),
    }
}
