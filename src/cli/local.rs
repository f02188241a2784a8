//! `outboxctl local up|reset`: run the embedded local engine in the foreground, or wipe
//! its state. Parsing and printing only; the engine lives in [`crate::local`].

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Exit;
use super::exit::UsageError;
use super::output::{OutputFormat, emit};
use crate::local::{DEFAULT_PORT, Engine, EngineConfig, EngineError, reset_data_dir};

const DEFAULT_DATA_DIR: &str = ".outboxctl/local";

#[derive(Debug, Args)]
pub struct LocalArgs {
    #[command(subcommand)]
    pub command: LocalCommand,
}

#[derive(Debug, Subcommand)]
pub enum LocalCommand {
    /// Run the local engine until Ctrl-C: DynamoDB, DynamoDB Streams, SQS, EventBridge,
    /// EventBridge Pipes, CloudFormation, the deployed API Gateway REST APIs and S3
    /// buckets for templates.
    Up(UpArgs),
    /// Delete the local engine's state (refuses while an engine is using it).
    Reset(ResetArgs),
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Port to listen on; 0 picks a free one (the chosen endpoint is printed on stdout).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Address to listen on. Loopback unless given: any other address exposes an
    /// unauthenticated AWS-compatible API to the network.
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<IpAddr>,
    /// Directory holding the engine's state; the default is under the current directory.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Directory holding the engine's state; the default is under the current directory.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
}

impl LocalArgs {
    /// Whether this runs a server (and so logs requests).
    pub fn serves(&self) -> bool {
        matches!(self.command, LocalCommand::Up(_))
    }
}

pub async fn run(args: LocalArgs, output: OutputFormat) -> anyhow::Result<Exit> {
    match args.command {
        LocalCommand::Up(up) => run_up(up, output).await,
        LocalCommand::Reset(reset) => {
            let removed = match reset_data_dir(&reset.data_dir) {
                Err(err @ EngineError::NotADataDir { .. }) => {
                    return Err(UsageError(err.to_string()).into());
                }
                other => other?,
            };
            let outcome = serde_json::json!({"data_dir": reset.data_dir, "removed": removed});
            emit(output, &outcome, |_| {
                if removed {
                    outln!("removed {}", reset.data_dir.display());
                } else {
                    outln!(
                        "nothing to remove: {} does not exist",
                        reset.data_dir.display()
                    );
                }
            });
            Ok(Exit::Success)
        }
    }
}

async fn run_up(args: UpArgs, output: OutputFormat) -> anyhow::Result<Exit> {
    let ip = args.bind.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    if !ip.is_loopback() {
        tracing::warn!(
            %ip,
            "listening beyond loopback: anyone who can reach this address can read and change the engine's data (no authentication)"
        );
    }
    let mut config = EngineConfig::new(&args.data_dir);
    config.bind = SocketAddr::new(ip, args.port);
    let engine = Engine::start(config).await?;
    // One line either way, printed once the engine listens, so a script can read it and
    // go on while the engine runs.
    match output {
        OutputFormat::Json => outln!(
            "{}",
            serde_json::json!({"endpoint": engine.endpoint_url(), "data_dir": args.data_dir})
        ),
        _ => outln!("endpoint: {}", engine.endpoint_url()),
    }
    let _ = std::io::stdout().flush();
    wait_for_stop_signal().await;
    tracing::info!("stopping");
    engine.shutdown().await;
    Ok(Exit::Success)
}

/// Ctrl-C, or SIGTERM on Unix (what process managers send).
async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
