//! `outboxctl demo`: the one-command tour, offline. Starts the local engine in this
//! process on a temporary data directory, deploys the food-ordering blueprint through the
//! CloudFormation API, runs `verify` (orders in, events out, every rule checked), shows a
//! few tailed events and the table, and stops. No AWS account is involved.

use std::time::Duration;

use clap::Args;

use super::deploy::{self, DeployArgs};
use super::init::EXAMPLES;
use super::output::{OutputFormat, emit};
use super::{Exit, GlobalArgs, tail, verify};
use crate::cloud::config::AwsArgs;
use crate::local::{Engine, EngineConfig};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How long verify waits for the events, in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    timeout: u64,
}

/// How many tailed events the tour prints.
const SHOWN_EVENTS: usize = 5;

pub async fn run(global: &GlobalArgs, args: DemoArgs) -> anyhow::Result<Exit> {
    let dir = tempfile::tempdir()?;
    let blueprint_path = dir.path().join("outbox.yaml");
    let (_, text) = EXAMPLES
        .iter()
        .find(|(name, _)| *name == "food-ordering")
        .expect("the seed example ships in the binary");
    std::fs::write(&blueprint_path, text)?;

    let engine = Engine::start(EngineConfig::ephemeral(dir.path().join("engine"))).await?;
    let endpoint = engine.endpoint_url();
    errln!(
        "local engine: {endpoint} (data in {})",
        dir.path().display()
    );
    let local = GlobalArgs {
        blueprint_files: Vec::new(),
        blueprint: blueprint_path,
        aws: AwsArgs {
            endpoint_url: Some(endpoint),
            dummy_credentials: true,
            ..AwsArgs::default()
        },
        output: global.output,
        verbose: global.verbose,
        quiet: global.quiet,
    };
    let outcome = tour(&local, Duration::from_secs(args.timeout)).await;
    engine.shutdown().await;
    outcome
}

async fn tour(global: &GlobalArgs, timeout: Duration) -> anyhow::Result<Exit> {
    let json = global.output == OutputFormat::Json;
    errln!("\n== deploy blueprints/food-ordering.yaml");
    // For scripts, verify's report is the one document on stdout.
    let step = GlobalArgs {
        output: if json {
            OutputFormat::Silent
        } else {
            global.output
        },
        ..global.clone()
    };
    if deploy::run(&step, DeployArgs::unattended()).await? != Exit::Success {
        return Ok(Exit::Failure);
    }
    let Some(bp) = super::load_blueprint(global)? else {
        return Ok(Exit::Failure);
    };
    errln!("\n== verify: orders in, events out, every rule checked");
    let aws = global.aws_clients(bp.region.as_deref()).await;
    let report = verify::verify(&bp, &aws, timeout, global.quiet).await?;
    if json {
        emit(global.output, &report, |_| {});
    } else {
        errln!("\n== a few tailed events");
        for event in report.events.iter().take(SHOWN_EVENTS) {
            outln!("{}", tail::describe(&bp, event));
        }
        errln!("\n== result");
        verify::print(&report);
    }
    Ok(if report.passed {
        Exit::Success
    } else {
        Exit::Failure
    })
}
