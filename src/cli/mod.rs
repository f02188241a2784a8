//! The command line: clap definitions and dispatch. Each command lives in its own file,
//! parses its arguments, calls the library and formats the result; none holds AWS,
//! blueprint or engine logic of its own.

#[macro_use]
mod output;
mod demo;
mod deploy;
mod destroy;
mod diff;
mod exit;
mod init;
mod local;
mod pattern;
mod progress;
mod render;
mod schema;
mod send;
mod status;
mod tail;
mod validate;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};

pub use exit::Exit;
pub use output::OutputFormat;

use crate::blueprint::{self, Blueprint, LoadError};
use crate::cloud::{self, config::AwsArgs};

/// Provision and prove the transactional outbox pattern on AWS or the local engine.
#[derive(Debug, Parser)]
#[command(name = "outboxctl", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command understands, spelled as the AWS CLI spells them.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Blueprint file describing the stack [default: outbox.yaml]. `--blueprint` without a
    /// file (as in `pattern test --blueprint -f FILE`) names none itself: the `-f FILE`
    /// after it counts, else $OUTBOXCTL_BLUEPRINT, else outbox.yaml.
    #[arg(
        short = 'f',
        long = "blueprint",
        global = true,
        value_name = "FILE",
        num_args = 0..=1,
        default_missing_value = "",
        action = ArgAction::Append,
        env = "OUTBOXCTL_BLUEPRINT"
    )]
    pub blueprint_files: Vec<std::ffi::OsString>,
    /// The blueprint file: the last one given, else $OUTBOXCTL_BLUEPRINT, else
    /// `outbox.yaml`.
    #[arg(skip = PathBuf::from(DEFAULT_BLUEPRINT))]
    pub blueprint: PathBuf,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Output format: text for people, json for scripts.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// More detail on stderr (-v: AWS calls, -vv: everything).
    #[arg(short, long, global = true, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only results and errors: no progress.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

const DEFAULT_BLUEPRINT: &str = "outbox.yaml";

impl GlobalArgs {
    /// Settle which blueprint file the options name (call once, after parsing).
    fn resolve_blueprint(&mut self) {
        let named = self.blueprint_files.iter().rev().find(|f| !f.is_empty());
        // The environment only fills in when no `-f`/`--blueprint` was given at all, so a
        // bare `--blueprint` has to consult it here.
        let file = named
            .cloned()
            .or_else(|| std::env::var_os("OUTBOXCTL_BLUEPRINT"));
        if let Some(file) = file.filter(|f| !f.is_empty()) {
            self.blueprint = PathBuf::from(file);
        }
    }

    /// Clients for the stack's services, against AWS or the configured endpoint.
    pub async fn aws_clients(&self, blueprint_region: Option<&str>) -> cloud::Clients {
        cloud::Clients::new(&cloud::config::load(&self.aws, blueprint_region).await)
    }

    /// How often to poll for progress: briskly against a local endpoint, gently on AWS.
    pub fn poll_interval(&self) -> Duration {
        if self.aws.endpoint().is_some() {
            Duration::from_millis(250)
        } else {
            Duration::from_secs(2)
        }
    }
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
    /// Deploy the blueprint's stack through a change set, with live progress.
    Deploy(deploy::DeployArgs),
    /// Show what deploy would change, resource by resource and property by property.
    Diff(diff::DiffArgs),
    /// Stack status, pipe state, and every queue's and DLQ's depth.
    Status(status::StatusArgs),
    /// Delete the stack (retained resources, such as the table, are kept).
    Destroy(destroy::DestroyArgs),
    /// Write a real test order into the stack's table (or update or delete one).
    SendTestOrder(send::SendArgs),
    /// Watch events arrive: the rules each matched and their queues, with latency.
    Tail(tail::TailArgs),
    /// The offline tour: local engine, deploy, verify, tailed events; no AWS account needed.
    Demo(demo::DemoArgs),
    /// Send orders that exercise every rule and check each arrives where predicted.
    Verify(verify::VerifyArgs),
    /// Test events against EventBridge event patterns.
    Pattern(pattern::PatternArgs),
    /// Run or reset the embedded local engine (AWS-API-compatible, durable).
    Local(local::LocalArgs),
}

/// Parse the process arguments, run the command on one shared runtime and map its
/// outcome to an exit code.
pub fn main() -> ExitCode {
    let mut cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and the version are the answer, on stdout: a reader that has gone ends
        // the process with 141 as for any other output, not with 0.
        Err(err) if !err.use_stderr() => {
            let help = err.render();
            if std::io::IsTerminal::is_terminal(&std::io::stdout())
                && std::env::var_os("NO_COLOR").is_none()
            {
                out!("{}", help.ansi());
            } else {
                out!("{help}");
            }
            return ExitCode::SUCCESS;
        }
        Err(err) => err.exit(),
    };
    cli.global.resolve_blueprint();
    // The engine logs each request: `local up` shows them by default.
    let serving = matches!(&cli.command, Command::Local(args) if args.serves());
    init_logging(cli.global.verbose, serving);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            errln!("error: cannot start the async runtime: {err}");
            return Exit::Failure.into();
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(exit) => exit.into(),
        Err(err) => {
            errln!("error: {}", exit::describe(&err));
            exit::exit_for(&err).into()
        }
    }
}

fn init_logging(verbose: u8, serving: bool) {
    // The SDK's own warnings (e.g. no instance metadata off EC2) are noise unless asked for.
    let filter = match verbose {
        0 if serving => "info",
        0 => "outboxctl=warn",
        1 => "outboxctl=info,aws_config=info,aws_smithy_runtime=debug",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    // Colour only for a person at a terminal: logs sent to files stay plain text.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Run one parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<Exit> {
    let global = &cli.global;
    match cli.command {
        Command::Init(args) => init::run(global, args),
        Command::Validate(args) => validate::run(global, args),
        Command::Render(args) => render::run(global, args),
        Command::Schema(args) => schema::run(args),
        Command::Deploy(args) => deploy::run(global, args).await,
        Command::Diff(args) => diff::run(global, args).await,
        Command::Status(args) => status::run(global, args).await,
        Command::Destroy(args) => destroy::run(global, args).await,
        Command::SendTestOrder(args) => send::run(global, args).await,
        Command::Tail(args) => tail::run(global, args).await,
        Command::Demo(args) => demo::run(global, args).await,
        Command::Verify(args) => verify::run(global, args).await,
        Command::Pattern(args) => pattern::run(global, args),
        Command::Local(args) => local::run(args, global.output).await,
    }
}

/// Load the blueprint; an invalid one is reported on stderr and gives `None`. With
/// `--output json` its problems are also the document on stdout, as `validate` prints
/// them, so that a script reads a document from every command however it ended.
pub fn load_blueprint(global: &GlobalArgs) -> anyhow::Result<Option<Blueprint>> {
    reported(global, blueprint::load(&global.blueprint))
}

/// [`load_blueprint`] for the commands that send the template to CloudFormation inline
/// (`deploy`, `diff`): a template past a stack's quotas is also refused here.
pub fn load_deployable(global: &GlobalArgs) -> anyhow::Result<Option<Blueprint>> {
    reported(
        global,
        blueprint::load_checked(&global.blueprint, crate::render::stack_quota_problems),
    )
}

fn reported(
    global: &GlobalArgs,
    loaded: Result<Blueprint, LoadError>,
) -> anyhow::Result<Option<Blueprint>> {
    match loaded {
        Ok(bp) => Ok(Some(bp)),
        Err(LoadError::Invalid(diagnostics)) => {
            errln!("{diagnostics}");
            if global.output == OutputFormat::Json {
                validate::emit_invalid(global, &diagnostics);
            }
            Ok(None)
        }
        Err(err) => Err(err.into()),
    }
}
