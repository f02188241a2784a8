//! The command line: clap definitions and dispatch. Each command lives in its own file,
//! parses its arguments, calls the library and formats the result; none holds AWS,
//! blueprint or engine logic of its own.

mod exit;
mod init;
mod local;
mod render;
mod schema;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

pub use exit::Exit;

/// Provision and prove the transactional outbox pattern on AWS or the local engine.
#[derive(Debug, Parser)]
#[command(name = "outboxctl", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command understands.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Blueprint file describing the stack.
    #[arg(
        short = 'f',
        long = "blueprint",
        global = true,
        default_value = "outbox.yaml",
        env = "OUTBOXCTL_BLUEPRINT"
    )]
    pub blueprint: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented starter blueprint.
    Init(init::InitArgs),
    /// Check a blueprint and report every problem with its file:line:column.
    Validate(validate::ValidateArgs),
    /// Render the blueprint to a CloudFormation template.
    Render(render::RenderArgs),
    /// Print the blueprint's JSON Schema.
    Schema(schema::SchemaArgs),
    /// Run or reset the embedded local engine (AWS-API-compatible, durable).
    Local(local::LocalArgs),
}

/// Parse the process arguments, run the command and map its outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(exit) => exit.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            Exit::Failure.into()
        }
    }
}

/// Run one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    let global = &cli.global;
    match cli.command {
        Command::Init(args) => init::run(global, args),
        Command::Validate(args) => validate::run(global, args),
        Command::Render(args) => render::run(global, args),
        Command::Schema(args) => schema::run(args),
        Command::Local(args) => local::run(args),
    }
}
