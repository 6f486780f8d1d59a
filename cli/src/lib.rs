//! The `stead` command-line tool: operator commands over the HTTP API of a running
//! scheduler.
//!
//! `stead plan|pod|config|state ...` talk to the scheduler at `--url` (or `STEAD_URL`),
//! sending the token from `STEAD_API_TOKEN` with every request (or, for reads, the one
//! from `STEAD_API_READ_TOKEN` when set). Every operator command takes `--json` to print
//! JSON with every field of the human view instead. `stead state export|import` work on
//! the stored state itself (see [`state_io`]); `stead completions SHELL` prints a shell
//! completion script. The exit codes are [`EXIT_ERROR`], [`EXIT_USAGE`],
//! [`EXIT_PLAN_FAILED`] and [`EXIT_TIMEOUT`] (0 when the command did what it was asked).

mod client;
mod confirm;
mod endpoints;
mod logs;
mod render;
pub mod state_io;
mod watch;

use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand};
use serde::Serialize;
use serde_json::Value;

pub use client::{Answer, Client};

use stead::api::{PodCommand, PodCommandAnswer, PodInfo, PodSummary};
use stead::plan::{PlanSnapshot, Status};

/// One plan as `stead plan list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanRow {
    /// The plan's name.
    pub name: String,
    /// Its aggregate status.
    pub status: Status,
    /// Its generation (see `stead plan watch --generation`).
    pub generation: u64,
    /// Its plan-level and step errors.
    pub errors: Vec<String>,
}

/// One stored configuration as `stead config list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigRow {
    /// The configuration's id.
    pub id: String,
    /// Whether it is the target configuration.
    pub target: bool,
}

/// The API URL used when neither `--url` nor `STEAD_URL` is given.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// The exit code of a failed command (unreachable scheduler, 401, unknown name, ...).
pub const EXIT_ERROR: u8 = 1;
/// The exit code of a usage error (an unknown command or flag, a missing argument), as
/// clap exits with it.
pub const EXIT_USAGE: u8 = 2;
/// The exit code of a watch (`plan watch`, `pod restart|replace --watch`) whose plan
/// ended in error.
pub const EXIT_PLAN_FAILED: u8 = 3;
/// The exit code of a watch that ran out of time (`--timeout`).
pub const EXIT_TIMEOUT: u8 = 4;

/// The exit codes, as `stead --help` lists them.
const EXIT_CODES_HELP: &str = "Exit codes:
  0  the command did what it was asked (a watched plan completed)
  1  error (unreachable scheduler, refused or unknown request, ...)
  2  usage error (unknown command or flag, missing argument)
  3  the watched plan failed
  4  the watch timed out";

/// Why a command failed; the message is the one line the CLI prints.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The URL is not a usable http(s) URL.
    #[error("invalid scheduler URL {url:?}: {reason}")]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The scheduler could not be reached.
    #[error("cannot reach the scheduler at {url}: {reason}")]
    Unreachable {
        /// The API URL.
        url: String,
        /// The underlying cause (e.g. `Connection refused`).
        reason: String,
    },
    /// The scheduler wants a token that was missing or wrong.
    #[error(
        "unauthorized (401): set {} to the scheduler's API token",
        stead::http::TOKEN_ENV
    )]
    Unauthorized,
    /// The API answered with an error.
    #[error("{message} ({status})")]
    Api {
        /// The HTTP status code.
        status: u16,
        /// The API's error message.
        message: String,
    },
    /// The API answered with something this CLI does not understand.
    #[error("unexpected answer from the scheduler: {0}")]
    Decode(String),
    /// The server answered with something that is not the Stead API's JSON (an HTML
    /// page of a proxy or of another server, a plain-text error, ...).
    #[error("HTTP {status} from {url}: not a Stead API ({content_type})")]
    NotStead {
        /// The HTTP status code.
        status: u16,
        /// The URL requested.
        url: String,
        /// The answer's content type (`no content type` when it had none).
        content_type: String,
    },
    /// A watched plan ended in error.
    #[error("plan {plan} failed: {detail}")]
    PlanFailed {
        /// The plan's name.
        plan: String,
        /// Its status and errors.
        detail: String,
    },
    /// `stead plan watch --timeout` ran out.
    #[error("plan {plan} did not complete within {seconds} s (last status {status})")]
    WatchTimeout {
        /// The plan's name.
        plan: String,
        /// The timeout.
        seconds: u64,
        /// Its last status.
        status: String,
    },
    /// The local cluster failed to start or to stop cleanly.
    #[error("local cluster: {0}")]
    LocalCluster(String),
    /// A destructive command was not confirmed (no `--yes` off a terminal, or another
    /// name typed); nothing was done.
    #[error("{0}")]
    NotConfirmed(String),
    /// Writing the output failed.
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
    /// Reading or writing a stored state failed (`stead state export|import`).
    #[error("{0}")]
    State(#[from] stead_state::StateError),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::PlanFailed { .. } => EXIT_PLAN_FAILED,
            CliError::WatchTimeout { .. } => EXIT_TIMEOUT,
            _ => EXIT_ERROR,
        }
    }
}

/// The `stead` command line.
#[derive(Debug, Parser)]
#[command(
    name = "stead",
    version,
    about = "Operate Stead services and run the local cluster",
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the scheduler's API is.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// The scheduler's API URL.
    #[arg(long, env = "STEAD_URL", default_value = DEFAULT_URL, global = true)]
    pub url: String,
}

impl Target {
    /// A client of this API, with the tokens from `STEAD_API_TOKEN` and
    /// `STEAD_API_READ_TOKEN`.
    pub fn client(&self) -> Result<Client, CliError> {
        Ok(
            Client::new(&self.url, std::env::var(stead::http::TOKEN_ENV).ok())?
                .with_read_token(std::env::var(stead::http::READ_TOKEN_ENV).ok()),
        )
    }
}

/// The `--json` flag of operator commands.
#[derive(Debug, Clone, Copy, Args)]
pub struct Output {
    /// Print JSON (every field of the human view) instead of the human view.
    #[arg(long)]
    pub json: bool,
}

/// How `stead pod list` shows the pods (`-o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PodFormat {
    /// The table with readiness, restarts and age as well.
    Wide,
    /// JSON, as `--json`.
    Json,
}

/// Following the plan work a mutating command started.
#[derive(Debug, Clone, Copy, Args)]
pub struct Follow {
    /// Follow the plan work the command started until it completes (exit 0), fails
    /// (exit 3) or `--timeout` runs out (exit 4).
    #[arg(long)]
    pub watch: bool,
    /// With `--watch`: give up after this many seconds.
    #[arg(long, requires = "watch")]
    pub timeout: Option<u64>,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show and steer plans.
    Plan {
        /// The API location.
        #[command(flatten)]
        target: Target,
        /// The plan command.
        #[command(subcommand)]
        command: PlanCmd,
    },
    /// Show, restart and replace pod instances.
    Pod {
        /// The API location.
        #[command(flatten)]
        target: Target,
        /// The pod command.
        #[command(subcommand)]
        command: PodCmd,
    },
    /// Show stored configurations.
    Config {
        /// The API location.
        #[command(flatten)]
        target: Target,
        /// The configuration command.
        #[command(subcommand)]
        command: ConfigCmd,
    },
    /// Show the scheduler's stored state; export and import it between backends.
    State {
        /// The API location.
        #[command(flatten)]
        target: Target,
        /// The state command.
        #[command(subcommand)]
        command: StateCmd,
    },
    /// Diagnostics: the latest offers and why pending steps did or did not use them.
    Debug {
        /// The API location.
        #[command(flatten)]
        target: Target,
        /// The diagnostics command.
        #[command(subcommand)]
        command: DebugCmd,
    },
    /// Uninstall the service (irreversible): the running scheduler kills every task,
    /// destroys every volume, releases every reservation, tears the framework down,
    /// wipes its state and stops. Asks for the service's name on a terminal; needs
    /// `--yes` otherwise.
    Uninstall {
        /// The API location.
        #[command(flatten)]
        target: Target,
        /// Confirms the uninstall without asking.
        #[arg(long)]
        yes: bool,
        /// Output format.
        #[command(flatten)]
        output: Output,
    },
    /// Where the launched instances' named ports can be reached.
    Endpoints(endpoints::EndpointsArgs),
    /// Run the embedded Mesos-compatible cluster until Ctrl-C or SIGTERM.
    LocalCluster(stead_local::LocalClusterArgs),
    /// Print a completion script for a shell (e.g. `stead completions bash >
    /// /etc/bash_completion.d/stead`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `stead debug ...`
#[derive(Debug, Subcommand)]
pub enum DebugCmd {
    /// The latest offers and, per pending step, what became of each.
    Offers(#[command(flatten)] Output),
}

/// Which phase and step of a plan a command acts on.
#[derive(Debug, Clone, Args)]
pub struct StepTarget {
    /// The phase (name or id); the whole plan when omitted.
    #[arg(long)]
    pub phase: Option<String>,
    /// The step (name or id); the whole phase when omitted.
    #[arg(long)]
    pub step: Option<String>,
}

/// `stead plan ...`
#[derive(Debug, Subcommand)]
pub enum PlanCmd {
    /// List the plans and their statuses.
    List(#[command(flatten)] Output),
    /// Show a plan's phases and steps.
    Show {
        /// The plan's name (e.g. `deploy`).
        plan: String,
        /// Output format.
        #[command(flatten)]
        output: Output,
    },
    /// Follow a plan until it completes (exit 0), fails (exit 3) or times out (exit 4).
    Watch {
        /// The plan's name.
        plan: String,
        /// Seconds between polls.
        #[arg(long, default_value_t = 0.5)]
        interval: f64,
        /// Give up (exit 4) after this many seconds.
        #[arg(long)]
        timeout: Option<u64>,
        /// Wait for this generation of the plan (or a later one), as a command answered
        /// with it (`--json` of `pod restart` and `pod replace`): earlier snapshots are
        /// not the work that command started.
        #[arg(long)]
        generation: Option<u64>,
        /// Print the final plan as JSON instead of the progress.
        #[command(flatten)]
        output: Output,
    },
    /// Stop the plan (or one phase) from starting new work.
    Interrupt {
        /// The plan's name.
        plan: String,
        /// The phase (name or id); the whole plan when omitted.
        #[arg(long)]
        phase: Option<String>,
        /// Output format.
        #[command(flatten)]
        output: Output,
    },
    /// Resume an interrupted plan (or phase).
    Continue {
        /// The plan's name.
        plan: String,
        /// The phase (name or id); the whole plan when omitted.
        #[arg(long)]
        phase: Option<String>,
        /// Output format.
        #[command(flatten)]
        output: Output,
    },
    /// Do the plan, a phase or a step again.
    Restart {
        /// The plan's name.
        plan: String,
        /// Which part of it.
        #[command(flatten)]
        at: StepTarget,
        /// Output format.
        #[command(flatten)]
        output: Output,
    },
    /// Mark the plan, a phase or a step complete without doing it.
    ForceComplete {
        /// The plan's name.
        plan: String,
        /// Which part of it.
        #[command(flatten)]
        at: StepTarget,
        /// Output format.
        #[command(flatten)]
        output: Output,
    },
}

/// `stead pod ...`
#[derive(Debug, Subcommand)]
pub enum PodCmd {
    /// List the pod instances.
    List {
        /// Output format.
        #[command(flatten)]
        output: Output,
        /// `wide` adds readiness, restarts and age; `json` is `--json`.
        #[arg(short = 'o', long = "output", value_enum)]
        format: Option<PodFormat>,
    },
    /// Show a pod instance's task, status, agent, resources and volumes.
    Info {
        /// The instance (e.g. `data-2`).
        instance: String,
        /// Output format.
        #[command(flatten)]
        output: Output,
    },
    /// Relaunch an instance in place (same agent, same volume).
    Restart {
        /// The instance.
        instance: String,
        /// Following the relaunch.
        #[command(flatten)]
        follow: Follow,
        /// Output format.
        #[command(flatten)]
        output: Output,
    },
    /// Replace a permanently failed instance: it moves and its volume is destroyed.
    /// Asks for the instance's name on a terminal; needs `--yes` otherwise.
    Replace {
        /// The instance.
        instance: String,
        /// Confirms the replacement without asking.
        #[arg(long)]
        yes: bool,
        /// Following the replacement.
        #[command(flatten)]
        follow: Follow,
        /// Output format.
        #[command(flatten)]
        output: Output,
    },
    /// Print an instance's standard output (or error) from its sandbox.
    Logs(logs::LogsArgs),
}

/// `stead config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// List the stored configuration ids (the target marked with `*`).
    List(#[command(flatten)] Output),
    /// Show one stored configuration.
    Show {
        /// The configuration id.
        id: String,
        /// Output format.
        #[command(flatten)]
        output: Output,
    },
    /// Show the target configuration.
    Target(#[command(flatten)] Output),
}

/// `stead state ...`
#[derive(Debug, Subcommand)]
pub enum StateCmd {
    /// Print the framework id.
    FrameworkId(#[command(flatten)] Output),
    /// Print a service's whole stored state as JSON (from redb or ZooKeeper; stop the
    /// scheduler of a redb state first).
    Export(state_io::ExportArgs),
    /// Write a dump made by `export` into a redb or ZooKeeper state (empty unless
    /// --replace), e.g. to move a service from one machine to a ZooKeeper cluster.
    Import(state_io::ImportArgs),
}

/// Runs a command, writing its output to stdout.
pub async fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Plan { target, command } => plan(&target.client()?, command).await,
        Command::Pod { target, command } => pod(&target.client()?, command).await,
        Command::Config { target, command } => config(&target.client()?, command).await,
        Command::State { target, command } => state(&target, command).await,
        Command::Debug { target, command } => debug(&target.client()?, command).await,
        Command::Uninstall {
            target,
            yes,
            output,
        } => {
            let client = target.client()?;
            let service = service_name(&client).await?;
            confirm::confirm(
                &format!("uninstalling {service} kills every task and destroys every volume"),
                &service,
                yes,
            )?;
            let answer = client
                .post("/v1/uninstall", &[(stead::http::CONFIRM_PARAM, &service)])
                .await?;
            if output.json {
                return print_json(&answer.body);
            }
            render::emit("uninstall started: the scheduler stops once everything is released")
        }
        Command::Endpoints(args) => endpoints::run(args).await,
        Command::LocalCluster(args) => stead_local::run_standalone(args)
            .await
            .map_err(|e| CliError::LocalCluster(e.to_string())),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "stead", &mut script);
            render::emit(String::from_utf8_lossy(&script).trim_end())
        }
    }
}

/// Percent-encodes one path segment.
fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn print_json(value: &impl serde::Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Decode(e.to_string()))?;
    render::emit(&text)
}

/// Fetches the snapshot of `plan` (any of 200, 202 and 417).
pub async fn fetch_plan(client: &Client, plan: &str) -> Result<PlanSnapshot, CliError> {
    client
        .get(&format!("/v1/plans/{}", segment(plan)))
        .await?
        .into()
}

/// Every plan with its status and errors, as `stead plan list` shows them.
async fn plan_rows(client: &Client) -> Result<Vec<PlanRow>, CliError> {
    let names: Vec<String> = client.get("/v1/plans").await?.into()?;
    let mut rows = Vec::with_capacity(names.len());
    for name in names {
        let plan = fetch_plan(client, &name).await?;
        rows.push(PlanRow {
            errors: stead::api::plan_errors(&plan),
            name,
            status: plan.status,
            generation: plan.generation,
        });
    }
    Ok(rows)
}

async fn plan(client: &Client, command: PlanCmd) -> Result<(), CliError> {
    let (name, verb, query, output) = match command {
        PlanCmd::List(output) => {
            let rows = plan_rows(client).await?;
            if output.json {
                return print_json(&rows);
            }
            return render::emit(&render::plan_list(&rows));
        }
        PlanCmd::Show { plan, output } => {
            let answer = client.get(&format!("/v1/plans/{}", segment(&plan))).await?;
            if output.json {
                return print_json(&answer.body);
            }
            let snapshot: PlanSnapshot = answer.into()?;
            return render::emit(&render::plan(&snapshot));
        }
        PlanCmd::Watch {
            plan,
            interval,
            timeout,
            generation,
            output,
        } => {
            let interval = Duration::from_secs_f64(interval.clamp(0.05, 60.0));
            let watch = watch::Watch {
                plan,
                interval,
                timeout: timeout.map(Duration::from_secs),
                generation: generation.map(|n| (n, None)),
                json: output.json,
            };
            return watch.run(client).await;
        }
        PlanCmd::Interrupt {
            plan,
            phase,
            output,
        } => (plan, "interrupt", StepTarget { phase, step: None }, output),
        PlanCmd::Continue {
            plan,
            phase,
            output,
        } => (plan, "continue", StepTarget { phase, step: None }, output),
        PlanCmd::Restart { plan, at, output } => (plan, "restart", at, output),
        PlanCmd::ForceComplete { plan, at, output } => (plan, "forceComplete", at, output),
    };
    let mut params = Vec::new();
    if let Some(phase) = &query.phase {
        params.push(("phase", phase.as_str()));
    }
    if let Some(step) = &query.step {
        params.push(("step", step.as_str()));
    }
    let answer = client
        .post(&format!("/v1/plans/{}/{verb}", segment(&name)), &params)
        .await?;
    if output.json {
        return print_json(&answer.body);
    }
    let what = match (&query.phase, &query.step) {
        (_, Some(step)) => format!("step {step} of plan {name}"),
        (Some(phase), None) => format!("phase {phase} of plan {name}"),
        (None, None) => format!("plan {name}"),
    };
    render::emit(&format!("{verb}: {what}"))
}

async fn pod(client: &Client, command: PodCmd) -> Result<(), CliError> {
    match command {
        PodCmd::List { output, format } => {
            let answer = client.get("/v1/pods").await?;
            if output.json || format == Some(PodFormat::Json) {
                return print_json(&answer.body);
            }
            let pods: Vec<PodSummary> = answer.into()?;
            let now_ms = render::epoch_ms();
            render::emit(&render::pod_list(
                &pods,
                (format == Some(PodFormat::Wide)).then_some(now_ms),
            ))
        }
        PodCmd::Info { instance, output } => {
            let answer = client
                .get(&format!("/v1/pods/{}/info", segment(&instance)))
                .await?;
            if output.json {
                return print_json(&answer.body);
            }
            let info: PodInfo = answer.into()?;
            render::emit(&render::pod_info(&info))
        }
        PodCmd::Restart {
            instance,
            follow,
            output,
        } => pod_command(client, &instance, PodCommand::Restart, &[], follow, output).await,
        PodCmd::Replace {
            instance,
            yes,
            follow,
            output,
        } => {
            confirm::confirm(
                &format!("replacing {instance} destroys its volume and the data on it"),
                &instance,
                yes,
            )?;
            let confirmation = [(stead::http::CONFIRM_PARAM, instance.as_str())];
            pod_command(
                client,
                &instance,
                PodCommand::Replace,
                &confirmation,
                follow,
                output,
            )
            .await
        }
        PodCmd::Logs(args) => logs::run(client, args).await,
    }
}

/// The name of the service the API serves (from its target configuration).
async fn service_name(client: &Client) -> Result<String, CliError> {
    let target = client.get("/v1/configurations/target").await?;
    target
        .body
        .pointer("/spec/name")
        .and_then(Value::as_str)
        .map(String::from)
        .ok_or_else(|| CliError::Decode("no service name in the target configuration".into()))
}

/// Restarts or replaces `instance` (with `query`, e.g. a replace's confirmation), then
/// follows the plan work that does it when asked.
async fn pod_command(
    client: &Client,
    instance: &str,
    command: PodCommand,
    query: &[(&str, &str)],
    follow: Follow,
    output: Output,
) -> Result<(), CliError> {
    let verb = command.as_str();
    let answer = client
        .post(&format!("/v1/pods/{}/{verb}", segment(instance)), query)
        .await?;
    let body = answer.body.clone();
    let answered: PodCommandAnswer = answer.into()?;
    if !follow.watch {
        if output.json {
            return print_json(&body);
        }
        return render::emit(&format!("{verb}: pod {instance}"));
    }
    if !output.json {
        render::emit(&format!("{verb}: pod {instance}"))?;
    }
    // The plan as it was when the command was answered: a later rebuild (a restarted
    // scheduler) shows the command's work under a new plan id.
    let id = fetch_plan(client, &answered.plan).await?.id;
    let watch = watch::Watch {
        plan: answered.plan,
        interval: watch::DEFAULT_INTERVAL,
        timeout: follow.timeout.map(Duration::from_secs),
        generation: Some((answered.generation, Some(id))),
        json: output.json,
    };
    watch.run(client).await
}

async fn config(client: &Client, command: ConfigCmd) -> Result<(), CliError> {
    match command {
        ConfigCmd::List(output) => {
            let ids: Vec<String> = client.get("/v1/configurations").await?.into()?;
            let target = match client.get("/v1/configurations/target").await {
                Ok(answer) => answer
                    .body
                    .get("id")
                    .and_then(Value::as_str)
                    .map(String::from),
                Err(CliError::Api { status: 404, .. }) => None,
                Err(e) => return Err(e),
            };
            if output.json {
                let rows: Vec<ConfigRow> = ids
                    .into_iter()
                    .map(|id| ConfigRow {
                        target: target.as_deref() == Some(id.as_str()),
                        id,
                    })
                    .collect();
                return print_json(&rows);
            }
            render::emit(&render::config_list(&ids, target.as_deref()))
        }
        ConfigCmd::Show { id, output } => {
            let answer = client
                .get(&format!("/v1/configurations/{}", segment(&id)))
                .await?;
            config_output(answer, output)
        }
        ConfigCmd::Target(output) => {
            let answer = client.get("/v1/configurations/target").await?;
            config_output(answer, output)
        }
    }
}

fn config_output(answer: Answer, output: Output) -> Result<(), CliError> {
    if output.json {
        return print_json(&answer.body);
    }
    let id = answer.body.get("id").and_then(Value::as_str).unwrap_or("?");
    let spec = answer.body.get("spec").cloned().unwrap_or(Value::Null);
    let spec = serde_json::to_string_pretty(&spec).map_err(|e| CliError::Decode(e.to_string()))?;
    render::emit(&format!("configuration {id}\n{spec}"))
}

async fn debug(client: &Client, command: DebugCmd) -> Result<(), CliError> {
    match command {
        DebugCmd::Offers(output) => {
            let answer = client.get("/v1/debug/offers").await?;
            if output.json {
                return print_json(&answer.body);
            }
            let debug: stead::api::OffersDebug = answer.into()?;
            render::emit(&render::offers(&debug))
        }
    }
}

async fn state(target: &Target, command: StateCmd) -> Result<(), CliError> {
    match command {
        StateCmd::FrameworkId(output) => {
            let answer = target.client()?.get("/v1/state/frameworkId").await?;
            if output.json {
                return print_json(&answer.body);
            }
            let id = answer
                .body
                .get("framework_id")
                .and_then(Value::as_str)
                .ok_or_else(|| CliError::Decode("no framework_id in the answer".into()))?;
            render::emit(id)
        }
        StateCmd::Export(args) => state_io::export(args),
        StateCmd::Import(args) => state_io::import(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded() {
        assert_eq!(segment("data-0"), "data-0");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn parses_commands() {
        let cli = Cli::try_parse_from([
            "stead",
            "plan",
            "restart",
            "deploy",
            "--phase",
            "data",
            "--step",
            "data-1",
            "--url",
            "http://h:1",
        ])
        .unwrap();
        let Command::Plan { target, command } = cli.command else {
            panic!("expected a plan command");
        };
        assert_eq!(target.url, "http://h:1");
        assert!(
            matches!(command, PlanCmd::Restart { at, .. } if at.step.as_deref() == Some("data-1"))
        );
        assert!(Cli::try_parse_from(["stead", "pod", "info"]).is_err());
    }
}
