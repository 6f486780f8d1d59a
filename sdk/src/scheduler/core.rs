//! The scheduler's state machine: offers, status updates, reconciliation, recovery,
//! suppress/revive and operator commands. I/O is limited to the state store (written
//! before acting) and calls to the master.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use stead_proto::scheduler::{Call, Event, event};
use stead_proto::v1::{FrameworkId, FrameworkInfo, TaskState, TaskStatus, framework_info};
use stead_spec::{ServiceSpec, TaskTypeSpec};
use stead_state::{FrameworkStore, GoalOverride, StateStore};
use tokio::sync::{mpsc, watch};

use super::Options;
use super::instance::{Instance, Progress, agent_gone, is_terminal, now_ms, proves_launch};
use super::reconcile::Reconciler;
use super::stored_task::StoredTask;
use super::telemetry::Telemetry;
use crate::http::{ControlResult, PlanCommand};
use crate::mesos::{MesosClient, calls};
use crate::offer::operations;
use crate::plan::{self, Plan, PlanSnapshot, Status, StepKind};
use crate::{Error, Result};

pub(super) mod batch;
mod lifecycle;
mod offers;

/// A task id and, when known, its agent id (what reconciliation asks about).
type TaskRef = (String, Option<String>);

/// Instances whose stored records are read together when the scheduler starts.
const LOAD_CHUNK: usize = 1024;

/// How long offers keep flowing after a replacement so that old reservations get cleaned.
const CLEANUP_WINDOW: Duration = Duration::from_secs(120);

/// A point-in-time view of the service, published after every event.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServiceSnapshot {
    /// The framework id, once subscribed.
    pub framework_id: Option<String>,
    /// Whether explicit reconciliation has finished since the last subscription.
    pub reconciled: bool,
    /// The plans (deploy, recovery).
    pub plans: Vec<PlanSnapshot>,
    /// Every instance, in spec order.
    pub instances: Vec<InstanceSnapshot>,
}

impl ServiceSnapshot {
    /// The plan called `name`.
    pub fn plan(&self, name: &str) -> Option<&PlanSnapshot> {
        self.plans.iter().find(|p| p.name == name)
    }

    /// The instance called `name`.
    pub fn instance(&self, name: &str) -> Option<&InstanceSnapshot> {
        self.instances.iter().find(|i| i.name == name)
    }
}

/// A view of one instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceSnapshot {
    /// The instance name.
    pub name: String,
    /// The current Mesos task id.
    pub task_id: Option<String>,
    /// The latest task state, e.g. `TASK_RUNNING`.
    pub state: Option<String>,
    /// The agent of the current task.
    pub agent_id: Option<String>,
    /// The agent's hostname.
    pub hostname: Option<String>,
    /// How many times the instance was launched.
    pub launch_count: u64,
}

/// An operator request.
#[derive(Debug)]
pub enum Command {
    /// Move the instance elsewhere (new reservations, new volume).
    Replace(String, tokio::sync::oneshot::Sender<Result<()>>),
    /// Kill the instance and relaunch it in place.
    Restart(String, tokio::sync::oneshot::Sender<Result<()>>),
    /// Uninstall the service (irreversible).
    Uninstall(tokio::sync::oneshot::Sender<Result<()>>),
    /// An operator command on the named plan.
    Plan(
        String,
        PlanCommand,
        tokio::sync::oneshot::Sender<ControlResult<()>>,
    ),
}

/// The scheduler's state.
pub struct Core {
    opts: Options,
    spec: ServiceSpec,
    config_id: String,
    store: StateStore,
    frameworks: FrameworkStore,
    client: Arc<MesosClient>,
    /// Bounds the calls sent in the background (acknowledgements and ACCEPTs) in flight.
    calls_in_flight: Arc<tokio::sync::Semaphore>,
    /// Bounds the launch chunks whose ACCEPTs are in flight.
    accepts_in_flight: Arc<tokio::sync::Semaphore>,
    /// Launches whose ACCEPT, sent in the background, may not have reached the master.
    unsent: (
        mpsc::UnboundedSender<Vec<TaskRef>>,
        mpsc::UnboundedReceiver<Vec<TaskRef>>,
    ),
    framework_id: Option<String>,
    instances: BTreeMap<String, Instance>,
    deploy: Plan,
    recovery: Plan,
    reconciler: Reconciler,
    subscribed: bool,
    suppressed: Option<bool>,
    revived_for: BTreeSet<String>,
    gone_agents: HashMap<String, Instant>,
    cleanup_until: Option<Instant>,
    last_reasons: HashMap<String, String>,
    /// The last logged status of each step, by plan and instance.
    last_statuses: HashMap<String, HashMap<String, Status>>,
    snapshots: watch::Sender<ServiceSnapshot>,
    /// Update, decommission and uninstall state.
    life: lifecycle::Lifecycle,
    telemetry: Arc<Telemetry>,
    /// Instances whose running task is restarted when their reset step is handed out.
    redo: BTreeSet<String>,
    /// Status writes and acknowledgements of the batch of events being handled.
    pending: batch::Pending,
    /// Rate limit of snapshot publication.
    publish_gate: batch::PublishGate,
}

fn state_name(s: TaskState) -> &'static str {
    s.as_str_name()
}

impl Core {
    /// Loads the stored state and rebuilds the plans.
    pub fn new(
        opts: Options,
        spec: ServiceSpec,
        config_id: String,
        store: StateStore,
        frameworks: FrameworkStore,
        client: Arc<MesosClient>,
        snapshots: watch::Sender<ServiceSnapshot>,
    ) -> Result<Core> {
        let framework_id = frameworks.fetch_framework_id()?.map(|f| f.value);
        let mut instances = BTreeMap::new();
        for (ti, tt) in spec.task_types.iter().enumerate() {
            let mut names: Vec<(u32, String)> =
                (0..tt.count).map(|i| (i, tt.instance_name(i))).collect();
            // Read in chunks of neighbouring keys: one read each, with a bounded share of raw
            // records in memory.
            names.sort_unstable_by(|a, b| a.1.cmp(&b.1));
            for chunk in names.chunks(LOAD_CHUNK) {
                let keys: Vec<String> = chunk.iter().map(|(_, n)| n.clone()).collect();
                for ((index, name), record) in chunk.iter().zip(store.fetch_records(&keys)?) {
                    let mut inst = Instance::new(name.clone(), ti, *index);
                    inst.task = record
                        .info
                        .map(|(info, encoded)| StoredTask::with_encoding(&info, encoded));
                    // A status of an older launch says nothing about the current task.
                    inst.status = record
                        .status
                        .filter(|s| Some(s.task_id.value.as_str()) == inst.task_id());
                    inst.meta = record.meta.unwrap_or_default();
                    if inst.meta.goal_override == Some(GoalOverride::Restart)
                        && matches!(inst.progress(tt), Progress::Ended(_))
                    {
                        inst.meta.goal_override = None;
                    }
                    instances.insert(name.clone(), inst);
                }
            }
        }
        let life = lifecycle::Lifecycle::load(
            &opts,
            &spec,
            &config_id,
            framework_id.as_deref(),
            &store,
            &mut instances,
        )?;
        let reconcile_every = opts.reconcile_interval;
        let mut core = Core {
            opts,
            spec,
            config_id,
            store,
            frameworks,
            client,
            calls_in_flight: Arc::new(tokio::sync::Semaphore::new(batch::CONCURRENT_CALLS)),
            accepts_in_flight: Arc::new(tokio::sync::Semaphore::new(
                offers::ACCEPT_CHUNKS_IN_FLIGHT,
            )),
            unsent: mpsc::unbounded_channel(),
            framework_id,
            instances,
            deploy: plan::deploy_plan(plan::Strategy::Serial, Vec::new()),
            recovery: plan::recovery_plan(),
            reconciler: Reconciler::new(reconcile_every),
            subscribed: false,
            suppressed: None,
            revived_for: BTreeSet::new(),
            gone_agents: HashMap::new(),
            cleanup_until: None,
            last_reasons: HashMap::new(),
            last_statuses: HashMap::new(),
            snapshots,
            life,
            telemetry: Arc::default(),
            redo: BTreeSet::new(),
            pending: batch::Pending::default(),
            publish_gate: batch::PublishGate::default(),
        };
        core.rebuild_plans();
        core.publish();
        Ok(core)
    }

    /// Records counters and offer diagnostics into `telemetry` (shared with the API).
    pub fn with_telemetry(mut self, telemetry: Arc<Telemetry>) -> Core {
        self.telemetry = telemetry;
        self
    }

    fn task_type(&self, inst: &Instance) -> &TaskTypeSpec {
        &self.spec.task_types[inst.type_idx]
    }

    /// Rebuilds the deploy and recovery plans from the instances' stored state.
    fn rebuild_plans(&mut self) {
        let now = Instant::now();
        let now_ms = now_ms();
        let mut phases = Vec::new();
        let mut recover = Vec::new();
        for (ti, tt) in self.spec.task_types.iter().enumerate() {
            let mut steps = Vec::new();
            for inst in self.instances.values().filter(|i| i.type_idx == ti) {
                let status = if inst.done(tt) {
                    Status::Complete
                } else {
                    match inst.progress(tt) {
                        Progress::Launching => Status::Starting,
                        Progress::Running { .. } if !inst.replacing() => Status::Started,
                        _ => Status::Pending,
                    }
                };
                if inst.replacing() {
                    recover.push(inst.name.clone());
                }
                steps.push((inst.name.clone(), status));
            }
            phases.push((tt.name.clone(), steps));
        }
        self.deploy = plan::deploy_plan(self.opts.strategy, phases);
        self.mark_updates();
        // Restore backoff delays that were persisted.
        for inst in self.instances.values() {
            if let Some(until) = inst.meta.backoff_until_ms.filter(|u| *u > now_ms)
                && let Some(mut step) = self.deploy.find_mut(&inst.name)
                && step.status() == Status::Pending
            {
                let wait = Duration::from_millis(until - now_ms);
                step.delay_until(now + wait, "backing off after repeated failures");
            }
        }
        self.recovery = plan::recovery_plan();
        for name in recover {
            plan::add_recovery(&mut self.recovery, &name, StepKind::Replace);
        }
    }

    /// The FrameworkInfo to subscribe with.
    pub fn framework_info(&self) -> FrameworkInfo {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "root".into());
        let capability = |t: framework_info::capability::Type| framework_info::Capability {
            r#type: Some(t as i32),
        };
        FrameworkInfo {
            user,
            name: self.spec.name.clone(),
            id: self.framework_id.as_ref().map(|value| FrameworkId {
                value: value.clone(),
            }),
            failover_timeout: Some(self.opts.failover_timeout.as_secs_f64()),
            checkpoint: Some(true),
            roles: vec![self.spec.role.clone()],
            principal: Some(self.spec.principal.clone()),
            capabilities: vec![
                capability(framework_info::capability::Type::MultiRole),
                capability(framework_info::capability::Type::ReservationRefinement),
            ],
            ..FrameworkInfo::default()
        }
    }

    /// Talks to another master from now on (the detected leader changed).
    pub fn set_client(&mut self, client: Arc<MesosClient>) {
        self.client = client;
    }

    /// Forgets the stored framework id (the master no longer knows it).
    pub fn forget_framework(&mut self) -> Result<()> {
        self.frameworks.clear_framework_id()?;
        self.framework_id = None;
        Ok(())
    }

    /// Marks the subscription lost.
    pub fn disconnected(&mut self) {
        self.subscribed = false;
        self.publish();
    }

    /// Applies one event from the master (see [`handle_batch`](Self::handle_batch)).
    async fn dispatch(&mut self, event: Event) -> Result<()> {
        let kind = event.r#type.and_then(|t| event::Type::try_from(t).ok());
        match kind {
            Some(event::Type::Subscribed) => {
                if let Some(s) = event.subscribed {
                    self.on_subscribed(s.framework_id.value).await?;
                }
            }
            Some(event::Type::Offers) => {
                if let Some(o) = event.offers {
                    self.on_offers(o.offers).await?;
                }
            }
            Some(event::Type::Update) => {
                if let Some(u) = event.update {
                    self.on_update(u.status).await?;
                }
            }
            Some(event::Type::Failure) => {
                if let Some(f) = event.failure
                    && f.executor_id.is_none()
                    && let Some(agent) = f.agent_id
                {
                    tracing::warn!(agent = %agent.value, "the master reports an agent lost");
                    self.gone_agents
                        .entry(agent.value)
                        .or_insert_with(Instant::now);
                }
            }
            Some(event::Type::Rescind) | Some(event::Type::Heartbeat) | None => {}
            Some(other) => tracing::debug!(event = ?other, "event ignored"),
        }
        Ok(())
    }

    async fn on_subscribed(&mut self, framework_id: String) -> Result<()> {
        if self.framework_id.as_deref() != Some(framework_id.as_str()) {
            // Persist before acting: the id is stored before anything is launched under it.
            self.frameworks.store_framework_id(&FrameworkId {
                value: framework_id.clone(),
            })?;
            self.framework_id = Some(framework_id.clone());
        }
        tracing::info!(framework_id = %framework_id, service = %self.spec.name, "subscribed");
        self.subscribed = true;
        self.suppressed = None;
        self.revived_for.clear();
        let tasks: Vec<(String, Option<String>)> = self
            .instances
            .values()
            .filter_map(|i| {
                let t = i.task.as_ref()?;
                Some((t.task_id().to_string(), Some(t.agent_id().to_string())))
            })
            .chain(self.retiring_tasks())
            .collect();
        let n = tasks.len();
        let calls = self.reconciler.start(&framework_id, tasks);
        if !calls.is_empty() {
            tracing::info!(tasks = n, "reconciling known tasks");
        }
        for call in calls {
            self.send(&call).await;
        }
        Ok(())
    }

    async fn send(&self, call: &Call) -> bool {
        // Never act on state that may be stale: with ZooKeeper's session away another
        // scheduler may hold the lock. The event loop pauses until it is back.
        if !self.store.persister().is_ready() {
            tracing::warn!(call = ?call.r#type, "state backend not ready: call held back");
            return false;
        }
        match self.client.call(call).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, call = ?call.r#type, "call to the master failed");
                false
            }
        }
    }

    fn plan_mut(&mut self, recovery: bool) -> &mut Plan {
        if recovery {
            &mut self.recovery
        } else {
            &mut self.deploy
        }
    }

    fn backoff(&self, failures: u32) -> Duration {
        if failures <= 1 {
            return Duration::ZERO;
        }
        let exp = failures.saturating_sub(2).min(20);
        self.opts
            .backoff_base
            .saturating_mul(1u32 << exp)
            .min(self.opts.backoff_max)
    }

    async fn on_update(&mut self, status: TaskStatus) -> Result<()> {
        let task_id = status.task_id.value.clone();
        self.reconciler.answered(&task_id);
        if self.retiring_status(&status).await? {
            return Ok(());
        }
        let state = status.state();
        let fw = self.framework_id.clone().unwrap_or_default();
        let name = operations::instance_of(&task_id).map(String::from);
        let current = name
            .as_ref()
            .and_then(|n| self.instances.get(n))
            .is_some_and(|i| i.task_id() == Some(task_id.as_str()));
        if !current {
            // An older launch (or a task this service does not know): nothing to record.
            if !is_terminal(state) {
                tracing::warn!(task = %task_id, "killing a task that is not the current launch of its instance");
                let agent = status.agent_id.as_ref().map(|a| a.value.as_str());
                self.send(&calls::kill(&fw, &task_id, agent)).await;
            }
            if let Some(ack) = calls::acknowledge(&fw, &status) {
                self.send(&ack).await;
            }
            return Ok(());
        }
        // Invariant: `current` implies the instance exists.
        let Some(name) = name else { return Ok(()) };
        let Some(inst) = self.instances.get(&name) else {
            return Ok(());
        };
        let tt = self.spec.task_types[inst.type_idx].clone();
        let mut meta = inst.meta.clone();
        if proves_launch(state) {
            Instance::set_reserved(&mut meta, true);
        }
        let mut delay = Duration::ZERO;
        let was_running_for = inst.running_since.map(|t| t.elapsed());
        let terminal = is_terminal(state);
        let goal_reached = terminal
            && state == TaskState::TaskFinished
            && tt.goal != stead_spec::GoalState::Running;
        if terminal && !goal_reached {
            if meta.goal_override == Some(GoalOverride::Restart) {
                // The requested restart happened: relaunch at once, no failure counted.
                meta.goal_override = None;
                meta.consecutive_failures = 0;
            } else {
                if was_running_for.is_some_and(|d| d >= self.opts.stable_after) {
                    meta.consecutive_failures = 0;
                }
                meta.consecutive_failures = meta.consecutive_failures.saturating_add(1);
                delay = self.backoff(meta.consecutive_failures);
                meta.backoff_until_ms = (!delay.is_zero())
                    .then(|| now_ms() + u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
            }
        }
        // Persist, then acknowledge: both wait for the batch's group commit. An update
        // without a uuid (a reconciliation answer) that repeats the known state of the task
        // adds nothing to store: a failover of 50,000 tasks would rewrite them all.
        let known = self.instances.get(&name);
        let meta_changed = known.is_none_or(|i| i.meta != meta);
        let repeat = status.uuid.is_none()
            && !meta_changed
            && known.and_then(|i| i.status.as_ref()).is_some_and(|known| {
                known.task_id == status.task_id
                    && known.state == status.state
                    && known.healthy == status.healthy
            });
        if !repeat {
            let ack = calls::acknowledge(&fw, &status);
            self.pending
                .update(&name, &status, meta_changed.then_some(&meta), ack);
        }

        let now = Instant::now();
        let Some(inst) = self.instances.get_mut(&name) else {
            return Ok(());
        };
        let previous = inst.status.as_ref().map(|s| s.state());
        if !repeat {
            inst.status = Some(status.clone());
        }
        inst.meta = meta;
        if state == TaskState::TaskRunning && inst.running_since.is_none() {
            inst.running_since = Some(now);
        }
        if previous != Some(state) {
            tracing::info!(
                instance = %name,
                task = %task_id,
                state = state_name(state),
                message = status.message.as_deref().unwrap_or(""),
                "task status"
            );
        }
        let progress = inst.progress(&tt);
        let done = inst.done(&tt);
        let replacing = inst.replacing();
        if terminal
            && agent_gone(&status)
            && let Some(agent) = &status.agent_id
        {
            self.gone_agents.entry(agent.value.clone()).or_insert(now);
        }
        if done {
            // An instance still on an older configuration has not done its update step.
            let current = self.is_current_name(&name);
            for plan in [&mut self.deploy, &mut self.recovery] {
                if plan.name == plan::DEPLOY && !current {
                    continue;
                }
                if let Some(mut step) = plan.find_mut(&name) {
                    step.set_status(Status::Complete);
                    step.message = format!("{} is {}", task_id, state_name(state));
                }
            }
            return Ok(());
        }
        match progress {
            Progress::Running { ready: false } => {
                for plan in [&mut self.deploy, &mut self.recovery] {
                    if let Some(mut step) = plan.find_mut(&name)
                        && step.status().is_in_flight()
                    {
                        step.set_status(Status::Started);
                        step.message = "running, waiting for the readiness check".into();
                    }
                }
            }
            Progress::Ended(_) => {
                // New work: make sure offers flow again (filters from earlier declines).
                self.revived_for.remove(&name);
                let deploy_done = self
                    .deploy
                    .find(&name)
                    .and_then(|at| self.deploy.step(at))
                    .is_none_or(|s| {
                        // An update not begun yet: the old task is recovered as it was.
                        s.status().is_complete()
                            || (s.kind == StepKind::Update && !s.status().is_in_flight())
                    });
                let message = format!(
                    "{} {}{}",
                    task_id,
                    state_name(state),
                    status
                        .message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                );
                let mut step = if deploy_done {
                    self.recovery.prune_complete();
                    let kind = if replacing {
                        StepKind::Replace
                    } else {
                        StepKind::Recover
                    };
                    plan::add_recovery(&mut self.recovery, &name, kind)
                } else {
                    // Invariant: deploy_done is false only when the deploy step exists.
                    match self.deploy.find_mut(&name) {
                        Some(s) => s,
                        None => return Ok(()),
                    }
                };
                if delay.is_zero() {
                    step.set_status(Status::Pending);
                    step.message = message;
                } else {
                    step.delay_until(
                        now + delay,
                        format!(
                            "{message}; relaunch delayed {}s after repeated failures",
                            delay.as_secs()
                        ),
                    );
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Periodic work: delayed steps, reconciliation, automatic replacement.
    pub async fn tick(&mut self) -> Result<()> {
        if !self.subscribed {
            return Ok(());
        }
        let now = Instant::now();
        self.wake();
        self.reconcile_unsent();
        if let Some(fw) = self.framework_id.clone() {
            for call in self.reconciler.due(&fw, now) {
                self.send(&call).await;
            }
        }
        if let Some(limit) = self.opts.replace_timeout {
            let mut lost = Vec::new();
            for inst in self.instances.values() {
                let tt = self.task_type(inst);
                if inst.replacing() || !inst.needs_launch(tt) {
                    continue;
                }
                if let Some(agent) = inst.agent_id()
                    && let Some(since) = self.gone_agents.get(agent)
                    && now.duration_since(*since) >= limit
                {
                    lost.push(inst.name.clone());
                }
            }
            for name in lost {
                tracing::warn!(instance = %name, "its agent has been gone too long: replacing it");
                self.mark_replace(&name, GoalOverride::PermanentlyFailed)?;
            }
        }
        self.after_event().await;
        Ok(())
    }

    fn wake(&mut self) {
        let now = Instant::now();
        self.deploy.wake_delayed(now);
        self.recovery.wake_delayed(now);
    }

    fn mark_replace(&mut self, name: &str, why: GoalOverride) -> Result<()> {
        let Some(inst) = self.instances.get_mut(name) else {
            return Err(Error::Request(format!("unknown instance `{name}`")));
        };
        let mut meta = inst.meta.clone();
        meta.goal_override = Some(why);
        meta.consecutive_failures = 0;
        meta.backoff_until_ms = None;
        self.store.store_task_meta(name, &meta)?;
        inst.meta = meta;
        self.recovery.prune_complete();
        let mut step = plan::add_recovery(&mut self.recovery, name, StepKind::Replace);
        if !step.status().is_in_flight() {
            step.set_status(Status::Pending);
            step.message = match why {
                GoalOverride::Replace => "replace requested by the operator".into(),
                _ => "agent lost: replacing the instance elsewhere".into(),
            };
        }
        self.cleanup_until = Some(Instant::now() + CLEANUP_WINDOW);
        Ok(())
    }

    /// Handles an operator request.
    pub async fn command(&mut self, command: Command) {
        match command {
            Command::Replace(name, reply) => {
                let r = self.replace(&name).await;
                let _ = reply.send(r);
            }
            Command::Restart(name, reply) => {
                let r = self.restart(&name).await;
                let _ = reply.send(r);
            }
            Command::Uninstall(reply) => {
                let _ = reply.send(self.start_uninstall());
            }
            Command::Plan(name, command, reply) => {
                let redo = &mut self.redo;
                let r = match name.as_str() {
                    plan::DEPLOY => super::control::apply(&mut self.deploy, command, redo),
                    plan::RECOVERY => super::control::apply(&mut self.recovery, command, redo),
                    other => match self.life.retire_plan_mut(other) {
                        Some(p) => super::control::apply(p, command, redo),
                        None => Err(crate::http::ControlError::not_found(format!(
                            "plan {name:?}"
                        ))),
                    },
                };
                // Publish first, so that the API answers after the change is visible.
                self.publish();
                let _ = reply.send(r);
            }
        }
        self.after_event().await;
    }

    async fn kill_current(&self, name: &str) {
        let Some(inst) = self.instances.get(name) else {
            return;
        };
        let tt = self.task_type(inst);
        if matches!(inst.progress(tt), Progress::Ended(_) | Progress::Absent) {
            return;
        }
        if let (Some(fw), Some(task)) = (&self.framework_id, &inst.task) {
            let call = calls::kill(fw, task.task_id(), Some(task.agent_id()));
            self.send(&call).await;
        }
    }

    async fn replace(&mut self, name: &str) -> Result<()> {
        tracing::info!(instance = %name, "replace requested");
        self.mark_replace(name, GoalOverride::Replace)?;
        self.kill_current(name).await;
        Ok(())
    }

    async fn restart(&mut self, name: &str) -> Result<()> {
        let Some(inst) = self.instances.get_mut(name) else {
            return Err(Error::Request(format!("unknown instance `{name}`")));
        };
        tracing::info!(instance = %name, "restart requested");
        let mut meta = inst.meta.clone();
        meta.goal_override = Some(GoalOverride::Restart);
        meta.consecutive_failures = 0;
        self.store.store_task_meta(name, &meta)?;
        inst.meta = meta;
        let ended = matches!(
            inst.progress(&self.spec.task_types[inst.type_idx]),
            Progress::Ended(_)
        );
        if ended {
            plan::add_recovery(&mut self.recovery, name, StepKind::Recover)
                .set_status(Status::Pending);
        } else {
            self.kill_current(name).await;
        }
        Ok(())
    }

    /// Suppress or revive offers as the pending work requires, then publish.
    async fn after_event(&mut self) {
        if let Err(e) = self.drive_lifecycle().await {
            tracing::error!(error = %e, "update, decommission or uninstall step failed");
        }
        if self.subscribed
            && self.reconciler.is_done()
            && let Some(fw) = self.framework_id.clone()
        {
            let candidates: BTreeSet<String> = plan::select(&[&self.recovery, &self.deploy])
                .into_iter()
                .filter_map(|(pi, at)| {
                    let plan = if pi == 0 {
                        &self.recovery
                    } else {
                        &self.deploy
                    };
                    plan.step(at).map(|s| s.instance.clone())
                })
                .collect();
            let cleaning = self.cleanup_until.is_some_and(|t| Instant::now() < t);
            let want = !candidates.is_empty() || cleaning || self.retiring_wants_offers();
            let new_work = candidates.iter().any(|c| !self.revived_for.contains(c));
            if want && (self.suppressed != Some(false) || new_work) {
                if self.send(&calls::revive(&fw, &self.spec.role)).await {
                    self.suppressed = Some(false);
                }
            } else if !want
                && self.suppressed != Some(true)
                && self.send(&calls::suppress(&fw, &self.spec.role)).await
            {
                self.suppressed = Some(true);
            }
            self.revived_for = candidates;
        }
        self.publish();
    }

    fn publish(&mut self) {
        let key = batch::PublishKey::new(
            [
                Some(self.deploy.status()),
                Some(self.recovery.status()),
                self.lifecycle_status(),
            ],
            self.subscribed && self.reconciler.is_done(),
            self.framework_id.as_deref(),
        );
        let started = Instant::now();
        if !self.publish_gate.due(&key, started) {
            return;
        }
        let mut plans = vec![self.deploy.snapshot(), self.recovery.snapshot()];
        plans.extend(self.lifecycle_snapshots());
        for p in &plans {
            let seen = self.last_statuses.entry(p.name.clone()).or_default();
            for step in p.phases.iter().flat_map(|ph| ph.steps.iter()) {
                let before = seen.get(step.instance.as_str());
                if before == Some(&step.status) {
                    continue;
                }
                // A step first seen pending has no news: only changes are logged.
                if before.is_some() || step.status != Status::Pending {
                    tracing::info!(
                        plan = %p.name,
                        step = %step.name,
                        status = %step.status,
                        plan_status = %p.status,
                        message = %step.message,
                        "plan progress"
                    );
                }
                seen.insert(step.instance.clone(), step.status);
            }
        }
        let instances = self
            .instances
            .values()
            .map(|i| InstanceSnapshot {
                name: i.name.clone(),
                task_id: i.task_id().map(String::from),
                state: i.status.as_ref().map(|s| state_name(s.state()).to_string()),
                agent_id: i.agent_id().map(String::from),
                hostname: i.hostname().map(String::from),
                launch_count: i.meta.launch_count,
            })
            .collect();
        let snapshot = ServiceSnapshot {
            framework_id: self.framework_id.clone(),
            reconciled: self.subscribed && self.reconciler.is_done(),
            plans,
            instances,
        };
        self.snapshots.send_if_modified(|old| {
            if *old == snapshot {
                false
            } else {
                *old = snapshot;
                true
            }
        });
        self.publish_gate.published(key, started);
    }
}
