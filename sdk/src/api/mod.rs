//! The service contract: what an operator may ask of a running scheduler
//! ([`ServiceControl`]), the typed errors it answers with ([`ControlError`]) and the
//! serializable views it returns. Free of any transport: [`crate::http`] serves it over
//! HTTP, and the scheduler implements it.

pub mod endpoints;
pub mod redact;
mod views;

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::plan::{PlanCommand, Started};
use crate::plan::{PlanSnapshot, Status};
pub use endpoints::{Endpoint, Endpoints, InstanceEndpoints};

/// Why a [`ServiceControl`] call failed; each variant maps to one HTTP status code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ControlError {
    /// The named plan, phase, step, pod or configuration does not exist (404).
    #[error("{what} not found")]
    NotFound {
        /// What was looked up, e.g. `pod "data-9"`.
        what: String,
    },
    /// The request is malformed or makes no sense (400).
    #[error("bad request: {message}")]
    BadRequest {
        /// What is wrong with it.
        message: String,
    },
    /// The request is valid but conflicts with the current state (409).
    #[error("conflict: {message}")]
    Conflict {
        /// Why it cannot be done now.
        message: String,
    },
    /// The scheduler cannot answer yet, e.g. it has not subscribed (503).
    #[error("unavailable: {message}")]
    Unavailable {
        /// Why it cannot answer.
        message: String,
    },
    /// Something failed inside the scheduler, e.g. the state store (500).
    #[error("internal error: {message}")]
    Internal {
        /// What failed.
        message: String,
    },
}

impl ControlError {
    /// A [`ControlError::NotFound`] for `what`.
    pub fn not_found(what: impl Into<String>) -> ControlError {
        ControlError::NotFound { what: what.into() }
    }

    /// A [`ControlError::BadRequest`] with `message`.
    pub fn bad_request(message: impl Into<String>) -> ControlError {
        ControlError::BadRequest {
            message: message.into(),
        }
    }

    /// A [`ControlError::Conflict`] with `message`.
    pub fn conflict(message: impl Into<String>) -> ControlError {
        ControlError::Conflict {
            message: message.into(),
        }
    }

    /// A [`ControlError::Unavailable`] with `message`.
    pub fn unavailable(message: impl Into<String>) -> ControlError {
        ControlError::Unavailable {
            message: message.into(),
        }
    }

    /// A [`ControlError::Internal`] with `message`.
    pub fn internal(message: impl Into<String>) -> ControlError {
        ControlError::Internal {
            message: message.into(),
        }
    }

    /// The HTTP status code this error is answered with.
    pub fn status_code(&self) -> u16 {
        match self {
            ControlError::NotFound { .. } => 404,
            ControlError::BadRequest { .. } => 400,
            ControlError::Conflict { .. } => 409,
            ControlError::Unavailable { .. } => 503,
            ControlError::Internal { .. } => 500,
        }
    }
}

/// The result type of [`ServiceControl`] calls.
pub type ControlResult<T> = Result<T, ControlError>;

/// An operator command on a pod instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PodCommand {
    /// Kill the instance's task and relaunch it in place (same agent, same volume).
    Restart,
    /// Treat the instance as permanently failed: kill it, destroy its reservations and
    /// volume, and launch it anew wherever the placement rules allow.
    Replace,
}

impl PodCommand {
    /// The command's name as used in URLs (`restart`, `replace`).
    pub fn as_str(self) -> &'static str {
        match self {
            PodCommand::Restart => "restart",
            PodCommand::Replace => "replace",
        }
    }

    /// The command named `name` in a URL, if any.
    pub fn parse(name: &str) -> Option<PodCommand> {
        [PodCommand::Restart, PodCommand::Replace]
            .into_iter()
            .find(|c| c.as_str() == name)
    }
}

/// The answer to `POST /v1/pods/{instance}/{command}`: the command and the plan work
/// that carries it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PodCommandAnswer {
    /// The instance.
    pub pod: String,
    /// The command.
    pub command: PodCommand,
    /// The plan that carries it out (e.g. `recovery`).
    pub plan: String,
    /// The generation of that plan that holds it: the plan complete at this generation
    /// or a later one has done it.
    pub generation: u64,
}

/// The answer to `POST /v1/plans/{plan}/{command}`: the command as applied, and the
/// plan's generation after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanCommandAnswer {
    /// The plan's name.
    pub plan: String,
    /// The command, with the ids of the phase and step it acted on.
    #[serde(flatten)]
    pub command: PlanCommand,
    /// The plan's generation once the command applied (see [`PodCommandAnswer::generation`]).
    pub generation: u64,
}

/// A stored configuration: `GET /v1/configurations/target` and `/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConfigurationView {
    /// The configuration's id.
    pub id: String,
    /// The canonical service spec, with secret-looking environment values redacted.
    pub spec: serde_json::Value,
}

/// The answer to `GET /v1/state/frameworkId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FrameworkIdView {
    /// The Mesos framework id.
    pub framework_id: String,
}

/// The answer to `GET /v1/health/live`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Liveness {
    /// Always true: the scheduler serves.
    pub live: bool,
}

/// The answer to `POST /v1/uninstall`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UninstallAnswer {
    /// `started`.
    pub uninstall: String,
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// The kind: `not_found`, `bad_request`, `conflict`, `unavailable`, `internal`,
    /// `unauthorized` or `method_not_allowed`.
    pub error: String,
    /// What went wrong, for people.
    pub message: String,
}

/// Which output of a task to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogStream {
    /// Standard output (the sandbox's `stdout` file).
    #[default]
    Stdout,
    /// Standard error (the sandbox's `stderr` file).
    Stderr,
}

impl LogStream {
    /// The stream's name in URLs, and its file's name in a sandbox.
    pub fn as_str(self) -> &'static str {
        match self {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        }
    }

    /// The stream named `name` (`stdout` or `stderr`).
    pub fn parse(name: &str) -> Option<LogStream> {
        match name {
            "stdout" => Some(LogStream::Stdout),
            "stderr" => Some(LogStream::Stderr),
            _ => None,
        }
    }
}

/// What to read of a pod instance's output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRequest {
    /// Which stream.
    pub stream: LogStream,
    /// The byte offset to read from; -1 reads nothing and answers the size.
    pub offset: i64,
    /// At most this many bytes (the agent may return fewer).
    pub length: Option<u64>,
    /// Read the run before the current one (the latest other task of the instance on its
    /// agent).
    pub previous: bool,
}

/// A piece of a pod instance's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LogChunk {
    /// The instance.
    pub instance: String,
    /// The task whose output this is.
    pub task_id: String,
    /// Which stream.
    pub stream: LogStream,
    /// Where `data` starts in the file, in bytes (its size when asked for offset -1).
    pub offset: u64,
    /// The text read; empty at the end of the file.
    pub data: String,
}

/// One pod instance in the pod list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PodSummary {
    /// The instance name, `<type>-<index>` (e.g. `data-2`).
    pub instance: String,
    /// The task type (e.g. `data`).
    pub task_type: String,
    /// The instance's index within its type.
    pub index: u32,
    /// The current Mesos task id, once launched.
    pub task_id: Option<String>,
    /// The last known Mesos task state (e.g. `TASK_RUNNING`), once launched.
    pub state: Option<String>,
    /// The agent the instance lives on, once placed.
    pub agent_id: Option<String>,
    /// That agent's hostname, when known.
    pub hostname: Option<String>,
    /// Whether its task runs and passed its readiness check (or reached its goal).
    #[serde(default)]
    pub ready: bool,
    /// How many times it was launched again after its first launch.
    #[serde(default)]
    pub restarts: u64,
    /// When the scheduler first saw its current task running, in milliseconds since the
    /// Unix epoch (the pod's age counts from there).
    #[serde(default)]
    pub running_since_ms: Option<u64>,
}

/// One resource held by a pod instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResourceSummary {
    /// The resource name (`cpus`, `mem`, `disk`, `ports`, ...).
    pub name: String,
    /// The role it is reserved for, if reserved.
    pub role: Option<String>,
    /// The scalar amount, for scalar resources.
    pub scalar: Option<f64>,
    /// The inclusive ranges, for range resources (e.g. ports).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<[u64; 2]>,
    /// The `resource_id` reservation label that pins it to the instance.
    pub resource_id: Option<String>,
}

/// One persistent volume held by a pod instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VolumeSummary {
    /// Where the task sees it, relative to its sandbox.
    pub container_path: String,
    /// `ROOT` or `MOUNT`.
    pub kind: String,
    /// Its size in MiB.
    pub size_mb: f64,
    /// The Mesos persistence id.
    pub persistence_id: Option<String>,
    /// The `resource_id` reservation label of its disk.
    pub resource_id: Option<String>,
}

/// Everything known about one pod instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PodInfo {
    /// The instance name, `<type>-<index>`.
    pub instance: String,
    /// The task type.
    pub task_type: String,
    /// The instance's index within its type.
    pub index: u32,
    /// The stored Mesos `TaskInfo` in Mesos JSON form, once launched.
    pub task_info: Option<serde_json::Value>,
    /// The last Mesos `TaskStatus` in Mesos JSON form, once one arrived.
    pub last_status: Option<serde_json::Value>,
    /// The agent the instance lives on, once placed.
    pub agent_id: Option<String>,
    /// That agent's hostname, when known.
    pub hostname: Option<String>,
    /// The resources it holds.
    pub resources: Vec<ResourceSummary>,
    /// Its persistent volumes.
    pub volumes: Vec<VolumeSummary>,
    /// The id of the configuration it was launched with.
    pub config_id: Option<String>,
}

/// The overall condition of the service, as told by `GET /v1/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HealthState {
    /// The scheduler has not subscribed to the master yet (HTTP 503).
    Starting,
    /// The deploy plan is not complete: first deployment or an update (HTTP 202).
    Deploying,
    /// Every plan is complete: the service runs as declared (HTTP 200).
    Running,
    /// Deployed, but failed instances are being recovered (HTTP 206).
    Recovering,
    /// A plan has errors and needs an operator (HTTP 417).
    Error,
}

impl HealthState {
    /// The HTTP status code `GET /v1/health` answers with in this state.
    pub fn status_code(self) -> u16 {
        match self {
            HealthState::Starting => 503,
            HealthState::Deploying => 202,
            HealthState::Running => 200,
            HealthState::Recovering => 206,
            HealthState::Error => 417,
        }
    }
}

/// One plan's status, as part of the [`Health`] summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanHealth {
    /// The plan's name.
    pub name: String,
    /// Its aggregate status.
    pub status: Status,
    /// Its plan-level and step errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// The health summary: the state and the plan statuses it was derived from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// The overall state.
    pub state: HealthState,
    /// Each plan's status.
    pub plans: Vec<PlanHealth>,
}

impl Health {
    /// Derives the health from whether the scheduler is subscribed and its plans.
    ///
    /// Precedence: ERROR (a plan has errors or is in ERROR), STARTING (not subscribed),
    /// DEPLOYING (the `deploy` plan is incomplete), RECOVERING (the `recovery` plan, or
    /// any other plan, is incomplete), RUNNING.
    pub fn from_plans(subscribed: bool, plans: &[PlanSnapshot]) -> Health {
        let summaries: Vec<PlanHealth> = plans
            .iter()
            .map(|p| PlanHealth {
                name: p.name.clone(),
                status: p.status,
                errors: plan_errors(p),
            })
            .collect();
        let incomplete = |name: &str| {
            summaries
                .iter()
                .any(|p| p.name == name && !p.status.is_complete())
        };
        let state = if summaries
            .iter()
            .any(|p| p.status == Status::Error || !p.errors.is_empty())
        {
            HealthState::Error
        } else if !subscribed {
            HealthState::Starting
        } else if incomplete(crate::plan::DEPLOY) {
            HealthState::Deploying
        } else if summaries.iter().any(|p| !p.status.is_complete()) {
            HealthState::Recovering
        } else {
            HealthState::Running
        };
        Health {
            state,
            plans: summaries,
        }
    }
}

/// A plan's own errors followed by its steps' errors (prefixed with the step name).
pub fn plan_errors(plan: &PlanSnapshot) -> Vec<String> {
    let steps = plan.phases.iter().flat_map(|p| p.steps.iter());
    plan.errors
        .iter()
        .cloned()
        .chain(steps.flat_map(|s| s.errors.iter().map(move |e| format!("{}: {e}", s.name))))
        .collect()
}

/// A latency histogram with fixed cumulative buckets, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// The inclusive upper bounds of the buckets, ascending (`+Inf` is implied).
    pub bounds: Vec<f64>,
    /// Per bound, how many observations were at most that bound (cumulative).
    pub cumulative: Vec<u64>,
    /// The sum of all observations.
    pub sum: f64,
    /// The number of observations.
    pub count: u64,
}

impl Histogram {
    /// Bucket bounds suited to durable writes: 100 µs to 10 s.
    pub const WRITE_LATENCY_BOUNDS: [f64; 12] = [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1.0, 10.0,
    ];

    /// An empty histogram with the given ascending bounds.
    pub fn new(bounds: &[f64]) -> Histogram {
        Histogram {
            bounds: bounds.to_vec(),
            cumulative: vec![0; bounds.len()],
            sum: 0.0,
            count: 0,
        }
    }

    /// Records one observation.
    pub fn observe(&mut self, value: std::time::Duration) {
        let secs = value.as_secs_f64();
        for (bound, n) in self.bounds.iter().zip(self.cumulative.iter_mut()) {
            if secs <= *bound {
                *n += 1;
            }
        }
        self.sum += secs;
        self.count += 1;
    }
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram::new(&Histogram::WRITE_LATENCY_BOUNDS)
    }
}

/// The scheduler's counters and gauges; plan and step statuses are added by the API
/// from the plans themselves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    /// Offers received since the scheduler started.
    pub offers_received: u64,
    /// Offers declined.
    pub offers_declined: u64,
    /// Offers accepted with at least one operation.
    pub offers_used: u64,
    /// Offer operations sent, by type (`RESERVE`, `CREATE`, `LAUNCH`, `UNRESERVE`, ...).
    pub operations: BTreeMap<String, u64>,
    /// Current number of tasks per Mesos task state (`TASK_RUNNING`, ...).
    pub tasks: BTreeMap<String, u64>,
    /// State store write latency.
    pub state_store_write_seconds: Histogram,
}

/// An offer as seen by the scheduler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OfferSummary {
    /// The offer id.
    pub offer_id: String,
    /// The offering agent.
    pub agent_id: String,
    /// The agent's hostname.
    pub hostname: String,
    /// The offered resources.
    pub resources: Vec<ResourceSummary>,
}

/// What the scheduler did with one offer for one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OfferOutcome {
    /// The offer id.
    pub offer_id: String,
    /// Whether the step took (some of) the offer.
    pub used: bool,
    /// Why it did or did not fit (e.g. `insufficient mem: 256 < 1024`).
    pub reason: String,
}

/// Offer outcomes for one pending step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StepOffers {
    /// The plan the step belongs to.
    pub plan: String,
    /// The step's name.
    pub step: String,
    /// The pod instance it acts on.
    pub instance: String,
    /// One outcome per offer considered.
    pub outcomes: Vec<OfferOutcome>,
}

/// The latest offers and, per pending step, why each was or was not used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OffersDebug {
    /// The latest batch of offers the scheduler evaluated.
    pub offers: Vec<OfferSummary>,
    /// One entry per step that was pending when the batch was evaluated.
    pub steps: Vec<StepOffers>,
}

/// What the operator API needs from a running scheduler.
///
/// The API checks names and query values before calling: a [`PlanCommand`] only
/// carries phase and step ids taken from the plan's current snapshot. Implementations
/// return [`ControlError::NotFound`] for names that are unknown to them.
pub trait ServiceControl: Send + Sync + 'static {
    /// Snapshots of all plans (deploy first, then recovery, then any other).
    fn plans(&self) -> BoxFuture<'_, ControlResult<Vec<PlanSnapshot>>>;

    /// Applies an operator command to the plan named `plan`.
    fn plan_command<'a>(
        &'a self,
        plan: &'a str,
        command: PlanCommand,
    ) -> BoxFuture<'a, ControlResult<()>>;

    /// All pod instances of the target configuration, and any still being decommissioned.
    fn pods(&self) -> BoxFuture<'_, ControlResult<Vec<PodSummary>>>;

    /// Everything known about `instance`.
    fn pod_info<'a>(&'a self, instance: &'a str) -> BoxFuture<'a, ControlResult<PodInfo>>;

    /// Restarts or replaces `instance`; returns once the decision is stored and shows in
    /// the plans, with the plan work that carries it out.
    fn pod_command<'a>(
        &'a self,
        instance: &'a str,
        command: PodCommand,
    ) -> BoxFuture<'a, ControlResult<Started>>;

    /// The ids of all stored configurations.
    fn configuration_ids(&self) -> BoxFuture<'_, ControlResult<Vec<String>>>;

    /// The id of the target configuration (NotFound before one is stored).
    fn target_configuration_id(&self) -> BoxFuture<'_, ControlResult<String>>;

    /// The stored configuration `id`: the canonical `ServiceSpec` as JSON.
    fn configuration<'a>(&'a self, id: &'a str) -> BoxFuture<'a, ControlResult<serde_json::Value>>;

    /// The framework id (NotFound before the master assigned one).
    fn framework_id(&self) -> BoxFuture<'_, ControlResult<String>>;

    /// The health summary (see [`Health::from_plans`]).
    fn health(&self) -> BoxFuture<'_, ControlResult<Health>>;

    /// The scheduler's counters and gauges.
    fn metrics(&self) -> BoxFuture<'_, ControlResult<MetricsSnapshot>>;

    /// The latest offers and per pending step why each was or was not used.
    fn debug_offers(&self) -> BoxFuture<'_, ControlResult<OffersDebug>>;

    /// The service's name (what an uninstall is confirmed with): by default the name in
    /// the target configuration.
    fn service_name(&self) -> BoxFuture<'_, ControlResult<String>> {
        Box::pin(async move {
            let id = self.target_configuration_id().await?;
            let spec = self.configuration(&id).await?;
            spec.get("name")
                .and_then(serde_json::Value::as_str)
                .map(String::from)
                .ok_or_else(|| ControlError::internal("the target configuration has no name"))
        })
    }

    /// Reads a piece of `instance`'s output from its sandbox. Schedulers that cannot read
    /// sandboxes answer a conflict.
    fn logs<'a>(
        &'a self,
        instance: &'a str,
        request: LogRequest,
    ) -> BoxFuture<'a, ControlResult<LogChunk>> {
        let _ = (instance, request);
        Box::pin(async {
            Err(ControlError::conflict(
                "this scheduler cannot read task logs",
            ))
        })
    }

    /// A stream that yields whenever the service's published state (plans, pods) has
    /// changed, for live views; it ends when the service stops. The default never yields:
    /// such a service's live views refresh on their own interval only.
    fn changes(&self) -> BoxStream<'static, ()> {
        Box::pin(futures::stream::pending())
    }

    /// Begins uninstalling the service (irreversible: every task killed, every volume
    /// destroyed, every reservation released, then TEARDOWN and a wiped state); returns
    /// once the decision is stored. Schedulers that cannot uninstall answer a conflict.
    fn uninstall(&self) -> BoxFuture<'_, ControlResult<()>> {
        Box::pin(async { Err(ControlError::conflict("this scheduler cannot uninstall")) })
    }

    /// Where the launched instances can be reached (addresses, hostnames, named ports).
    /// Schedulers that do not know answer that there are none.
    fn endpoints(&self) -> BoxFuture<'_, ControlResult<Endpoints>> {
        Box::pin(async { Ok(Endpoints::default()) })
    }
}
