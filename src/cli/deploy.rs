//! `outboxctl deploy`: render → change set → the change table → execute → live progress
//! → outputs. A replacement or removal of the table always asks first.

use std::io::{BufRead, IsTerminal, Write};

use clap::Args;

use super::output::{OutputFormat, emit};
use super::progress::Progress;
use super::{Exit, GlobalArgs, load_deployable};
use crate::blueprint::Blueprint;
use crate::cloud::artifacts::{self, Bucket, Staged};
use crate::cloud::deploy::{self, Change, Plan, Planned};
use crate::cloud::events::{self, Watcher};
use crate::cloud::stack::{self, Phase, Stack};
use crate::cloud::{Clients, preflight, status};
use crate::render;

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Create the change set and show it, but leave it for review instead of executing it.
    #[arg(long)]
    no_execute: bool,
    /// Do not ask before the table is replaced or removed, or before a renamed pipe
    /// re-reads the stream from its start.
    #[arg(long, short = 'y')]
    yes: bool,
    /// If the stack's first deploy failed (ROLLBACK_COMPLETE), delete it and create it again.
    #[arg(long)]
    recreate: bool,
    #[command(flatten)]
    bucket: TemplateBucketArgs,
}

/// Where a template too large to send inline goes: `--s3-bucket` and `--s3-prefix`, as
/// `aws cloudformation deploy` spells them. Shared by `deploy` and `diff`.
#[derive(Debug, Default, Args)]
pub struct TemplateBucketArgs {
    /// S3 bucket to upload the template to when it is larger than CloudFormation takes
    /// inline (51,200 bytes), in the stack's region; CloudFormation then reads it from
    /// there. A template that fits is sent inline.
    #[arg(long, value_name = "BUCKET")]
    s3_bucket: Option<String>,
    /// Key prefix for templates uploaded to --s3-bucket (default: none). The key is
    /// `<prefix>/<stack>/<md5 of the template>.template`.
    #[arg(long, value_name = "PREFIX", requires = "s3_bucket")]
    s3_prefix: Option<String>,
}

impl TemplateBucketArgs {
    pub fn bucket(&self) -> Option<Bucket<'_>> {
        self.s3_bucket.as_deref().map(|name| Bucket {
            name,
            prefix: self.s3_prefix.as_deref(),
        })
    }

    /// Refuse, before asking AWS anything, a template that can only go through S3 when
    /// no bucket is named.
    pub fn check(&self, body: &str) -> anyhow::Result<()> {
        if body.len() > render::TEMPLATE_BODY_MAX && self.s3_bucket.is_none() {
            anyhow::bail!(artifacts::too_large_inline(body.len()));
        }
        Ok(())
    }
}

/// Say where a staged template went (nothing for one sent inline).
pub fn report_staged(global: &GlobalArgs, staged: &Staged) {
    if global.quiet {
        return;
    }
    match staged {
        Staged::Inline => {}
        Staged::Uploaded { object } => errln!("template uploaded to {object}"),
        Staged::AlreadyThere { object } => {
            errln!("template already in {object} (same content): not uploaded again")
        }
    }
}

impl DeployArgs {
    /// Deploy without questions: for `demo`, on a throwaway local engine.
    pub fn unattended() -> DeployArgs {
        DeployArgs {
            no_execute: false,
            yes: true,
            recreate: false,
            bucket: TemplateBucketArgs::default(),
        }
    }
}

#[derive(Debug, serde::Serialize)]
struct Outcome {
    stack: String,
    status: String,
    change_set: Option<String>,
    changes: Vec<Change>,
    outputs: std::collections::BTreeMap<String, String>,
    /// For a failed deploy: the first resource that failed, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<Failure>,
}

impl Outcome {
    /// 0 only for a deploy that left nothing to fix.
    fn exit(&self) -> Exit {
        if self.failure.is_some() {
            Exit::Failure
        } else {
            Exit::Success
        }
    }
}

#[derive(Debug, serde::Serialize)]
struct Failure {
    logical_id: Option<String>,
    resource_type: Option<String>,
    reason: String,
    /// What the failure left: rolled back, or the status to act on.
    outcome: String,
}

impl Failure {
    /// A stack that deployed, with its pipe on a stream the table no longer writes to:
    /// said on stderr, with the way out.
    fn stale_pipe(advice: String) -> Failure {
        errln!("error: {advice}");
        Failure {
            logical_id: Some(crate::blueprint::logical::PIPE.to_string()),
            resource_type: Some("AWS::Pipes::Pipe".into()),
            reason: advice.clone(),
            outcome: advice,
        }
    }
}

pub async fn run(global: &GlobalArgs, args: DeployArgs) -> anyhow::Result<Exit> {
    let Some(bp) = load_deployable(global)? else {
        return Ok(Exit::Failure);
    };
    let deployed = deploy_blueprint(global, args, &bp).await;
    if let Err(err) = &deployed
        && global.output == OutputFormat::Json
    {
        // Scripts read the outcome on stdout however the deploy ended; the error itself
        // still goes to stderr and sets the exit code.
        let aws = global.aws_clients(bp.region.as_deref()).await;
        let existing = stack::describe(&aws.cloudformation, &bp.name)
            .await
            .ok()
            .flatten();
        let outcome = Outcome {
            stack: bp.name.clone(),
            status: existing
                .as_ref()
                .map_or_else(|| "UNKNOWN".into(), |s| s.status.clone()),
            change_set: None,
            changes: Vec::new(),
            outputs: existing.map(|s| s.outputs).unwrap_or_default(),
            failure: Some(Failure {
                logical_id: None,
                resource_type: None,
                reason: super::exit::describe(err),
                outcome: "the deploy stopped here; `outboxctl status` shows the stack as it is"
                    .into(),
            }),
        };
        emit(global.output, &outcome, |_| {});
    }
    deployed
}

async fn deploy_blueprint(
    global: &GlobalArgs,
    args: DeployArgs,
    bp: &Blueprint,
) -> anyhow::Result<Exit> {
    let body = render::render(bp).to_compact_json();
    args.bucket.check(&body)?;
    let aws = global.aws_clients(bp.region.as_deref()).await;
    let cfn = &aws.cloudformation;
    let poll = global.poll_interval();

    if args.recreate
        && let Some(existing) = stack::describe(cfn, &bp.name).await?
        && existing.phase() == Phase::MustDelete
    {
        errln!(
            "stack `{}` is {}: deleting it before creating it again",
            bp.name,
            existing.status
        );
        let token = deploy::new_token();
        deploy::delete(cfn, &bp.name, &token).await?;
        let mut progress = Progress::new(&format!("deleting {}", bp.name), 0, global.quiet);
        let (left, events) = Watcher::new(cfn.clone(), &existing.id, &token)
            .follow(poll, |e| progress.event(e))
            .await?;
        progress.finish();
        if let Some(left) = left.filter(|s| s.status != "DELETE_COMPLETE") {
            let cause = events::first_cause(&events)
                .and_then(|e| e.reason.clone())
                .unwrap_or_default();
            anyhow::bail!(
                "could not delete stack `{}` to create it again: it is {} {cause}",
                bp.name,
                left.status
            );
        }
    }

    // Refuse what CloudFormation cannot do before asking it: such a deploy fails halfway,
    // and its rollback can leave the pipe reading a closed stream.
    let mut warnings = Vec::new();
    if let Some(existing) = stack::describe(cfn, &bp.name).await?
        && existing.phase() == Phase::Stable
    {
        let deployed = stack::deployed_template(cfn, &bp.name).await?;
        let rendered = serde_json::from_str(&body)?;
        let blocked = preflight::blocked_replacements(&deployed, &rendered);
        if let Some(first) = blocked.first() {
            for refusal in &blocked {
                errln!("error: {}", preflight::describe(refusal));
                errln!("  help: {}", refusal.advice);
            }
            errln!("not deployed: nothing was changed");
            let outcome = Outcome {
                stack: bp.name.clone(),
                status: existing.status.clone(),
                change_set: None,
                changes: Vec::new(),
                outputs: existing.outputs.clone(),
                failure: Some(Failure {
                    logical_id: Some(first.logical_id.clone()),
                    resource_type: Some(first.resource_type.clone()),
                    reason: preflight::describe(first),
                    outcome: format!("not deployed: nothing was changed; {}", first.advice),
                }),
            };
            emit(global.output, &outcome, |_| {});
            return Ok(Exit::Failure);
        }
        warnings.extend(preflight::replayed_stream(&deployed, &rendered));
    }

    let (template, staged) = artifacts::stage(&aws, args.bucket.bucket(), &bp.name, body).await?;
    report_staged(global, &staged);
    let token = deploy::new_token();
    let tags: Vec<(String, String)> = bp
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let request = deploy::Request {
        stack: &bp.name,
        template: &template,
        tags,
        token: &token,
        poll,
    };
    let plan = match deploy::plan(cfn, request).await? {
        Planned::NoChanges => {
            let status = stack::require(cfn, &bp.name).await?;
            // The template can be up to date while the pipe reads a closed stream.
            let failure = stale_pipe(&aws, &status).await.map(Failure::stale_pipe);
            let outcome = Outcome {
                stack: bp.name.clone(),
                status: status.status.clone(),
                change_set: None,
                changes: vec![],
                outputs: status.outputs,
                failure,
            };
            emit(global.output, &outcome, |outcome| {
                if outcome.failure.is_none() {
                    outln!("nothing to deploy: stack `{}` is up to date", bp.name)
                }
            });
            return Ok(outcome.exit());
        }
        Planned::Changes(plan) => plan,
    };
    if global.output == OutputFormat::Text {
        print_changes(&plan);
    }
    let dangerous: Vec<&str> = plan
        .changes
        .iter()
        .filter(|c| c.endangers_data())
        .map(|c| c.logical_id.as_str())
        .collect();
    warnings.extend(deploy::data_warning(&dangerous));
    if !warnings.is_empty() && !args.yes && !args.no_execute {
        let left = format!(
            "not deployed; change set `{}` is left for review",
            plan.change_set_name
        );
        if !confirm(&warnings).map_err(|err| anyhow::anyhow!("{err}\n{left}"))? {
            anyhow::bail!("{left}");
        }
    }
    if args.no_execute {
        let outcome = Outcome {
            stack: bp.name.clone(),
            status: "CHANGE_SET_READY".into(),
            change_set: Some(plan.change_set_id.clone()),
            changes: plan.changes.clone(),
            outputs: Default::default(),
            failure: None,
        };
        emit(global.output, &outcome, |_| {
            outln!(
                "change set `{}` is ready for review; run `outboxctl deploy` again to apply the blueprint",
                plan.change_set_name
            )
        });
        return Ok(Exit::Success);
    }

    deploy::execute(cfn, &plan, &token).await?;
    let mut progress = Progress::new(
        &format!("deploying {}", bp.name),
        plan.changes.len(),
        global.quiet,
    );
    let (settled, events) = Watcher::new(cfn.clone(), &bp.name, &token)
        .follow(poll, |e| progress.event(e))
        .await?;
    progress.finish();
    let settled = settled
        .ok_or_else(|| anyhow::anyhow!("stack `{}` disappeared during the deploy", bp.name))?;
    // A stream view change whose deploy rolled back leaves the pipe on a closed stream,
    // with a template that says all is well: only the live pipe and table tell.
    let stale = match settled.status.as_str() {
        "UPDATE_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE" => stale_pipe(&aws, &settled).await,
        _ => None,
    };
    // A failure is told on stderr as it is found; scripts also get it in the document.
    let failure = if stack::is_success(&settled.status) {
        stale.map(Failure::stale_pipe)
    } else {
        Some(report_failure(&bp.name, &settled, &events, stale))
    };
    let outcome = Outcome {
        stack: bp.name.clone(),
        status: settled.status.clone(),
        change_set: Some(plan.change_set_id),
        changes: plan.changes,
        outputs: settled.outputs.clone(),
        failure,
    };
    emit(global.output, &outcome, |outcome| {
        if outcome.failure.is_none() {
            print_outputs(&settled)
        }
    });
    Ok(outcome.exit())
}

/// What to do when the pipe reads a stream the table no longer has.
async fn stale_pipe(aws: &Clients, stack: &Stack) -> Option<String> {
    status::pipe(aws, stack).await.ok()?.stale_advice()
}

fn print_changes(plan: &Plan) {
    outln!(
        "change set for stack `{}` ({}): {} change(s)",
        plan.stack,
        plan.kind.to_lowercase(),
        plan.changes.len()
    );
    outln!(
        "  {:<8} {:<34} {:<28} REPLACEMENT",
        "ACTION",
        "LOGICAL ID",
        "TYPE"
    );
    for change in &plan.changes {
        outln!(
            "  {:<8} {:<34} {:<28} {}",
            change.action,
            change.logical_id,
            change.resource_type,
            change.replacement.as_deref().unwrap_or("-")
        );
    }
}

/// Ask on the terminal; refuse when nobody can answer.
fn confirm(warnings: &[String]) -> anyhow::Result<bool> {
    let warning = warnings.join("; ");
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "{warning}; nobody is at the terminal to confirm, so pass --yes if that is intended"
        );
    }
    errout!("{warning}. Type `yes` to go on: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

fn print_outputs(stack: &Stack) {
    outln!("stack `{}`: {}", stack.name, stack.status);
    let width = stack.outputs.keys().map(String::len).max().unwrap_or(0);
    for (key, value) in &stack.outputs {
        outln!("  {key:<width$}  {value}");
    }
}

/// Say on stderr why the deploy failed and what it left; the same, for `--output json`.
/// `stale_pipe` is the way out when the rollback left the pipe on a closed stream.
fn report_failure(
    name: &str,
    settled: &Stack,
    events: &[events::ResourceEvent],
    stale_pipe: Option<String>,
) -> Failure {
    let cause = events::first_cause(events);
    // With no resource to blame (an engine stopped mid-deploy), the stack's own last word.
    let stack_reason = settled.status_reason.clone().or_else(|| {
        events
            .iter()
            .rev()
            .filter(|e| {
                e.is_stack() && e.status != "UPDATE_IN_PROGRESS" && e.status != "CREATE_IN_PROGRESS"
            })
            .find_map(|e| e.reason.clone())
    });
    match cause {
        Some(cause) => errln!(
            "deploy failed: {} ({}): {}",
            cause.logical_id,
            cause.resource_type,
            cause.reason.as_deref().unwrap_or("no reason given")
        ),
        None => errln!(
            "deploy failed: {}",
            stack_reason.as_deref().unwrap_or("no reason given")
        ),
    }
    // A table kept from an earlier stack (destroy retains it) blocks every create.
    let leftover_table = cause.is_some_and(|c| {
        c.resource_type == "AWS::DynamoDB::Table"
            && c.reason
                .as_deref()
                .is_some_and(|r| r.contains("already exists"))
    });
    if leftover_table {
        errln!(
            "  the table's name is taken, most likely by the table an earlier stack of this blueprint kept: \
             delete it (`aws dynamodb delete-table --table-name <name>`) if its data is no longer needed, \
             or give this blueprint another `table.name`; then `outboxctl deploy --recreate`"
        );
    }
    let outcome = match stale_pipe {
        // The rollback did not leave the stack working: say the way out instead.
        Some(advice) => {
            errln!("error: {advice}");
            advice
        }
        None => {
            let outcome = match settled.status.as_str() {
                "ROLLBACK_COMPLETE" => "rolled back; the stack must be deleted before it can be created again (`outboxctl deploy --recreate`)".to_string(),
                "UPDATE_ROLLBACK_COMPLETE" => "rolled back to the previous deploy; the stack works as before".to_string(),
                other => format!("the stack is now {other}"),
            };
            errln!("stack `{name}`: {outcome}");
            outcome
        }
    };
    Failure {
        logical_id: cause.map(|c| c.logical_id.clone()),
        resource_type: cause.map(|c| c.resource_type.clone()),
        reason: cause
            .and_then(|c| c.reason.clone())
            .or(stack_reason)
            .unwrap_or_else(|| "no reason given".into()),
        outcome,
    }
}
