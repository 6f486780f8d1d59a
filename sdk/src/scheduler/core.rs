//! The scheduler's dispatcher: it holds the service's state and hands each event, tick
//! and operator command to the part that handles it: status handling (`status`), the
//! offer round (`offers`), updates and retirements (`lifecycle`), commit-then-acknowledge
//! (`batch`). Calls go out through the [`Outbox`], snapshots through the [`Publisher`].
//! I/O is limited to the state store (written before acting) and calls to the master.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stead_proto::scheduler::{Event, event};
use stead_proto::v1::{FrameworkId, FrameworkInfo, framework_info};
use stead_spec::{ServiceSpec, TaskTypeSpec};
use stead_state::{FrameworkStore, GoalOverride, StateStore};
use tokio::sync::{oneshot, watch};

use super::Options;
use super::clock::Clock;
use super::gone::GoneAgents;
use super::instance::{Instance, Progress};
use super::master::MasterCalls;
use super::outbox::Outbox;
use super::properties;
use super::publish::{InstanceSnapshot, PublishKey, Publisher, ServiceSnapshot};
use super::reconcile::{self, Reconciler};
use super::releases::ReleaseBook;
use super::stored_task::StoredTask;
use super::telemetry::Telemetry;
use crate::mesos::calls;
use crate::plan::{Overrides, PlanCommand, PlanName, Started, Status, WorkPlan, WorkPlans};
use crate::{Error, Result};

pub(super) mod batch;
mod feedback;
mod lifecycle;
mod offers;
mod status;

/// Instances whose stored records are read together when the scheduler starts.
const LOAD_CHUNK: usize = 1024;

/// How long offers keep flowing after a replacement so that old reservations get cleaned.
const CLEANUP_WINDOW: Duration = Duration::from_secs(120);

/// The state property holding the resource ids that replaced instances left behind,
/// still to release.
const MOVED_PROPERTY: &str = "moved-releases";

/// The state property holding the operator's decisions on the plan `plan`.
fn overrides_property(plan: WorkPlan) -> String {
    format!("plan-overrides-{}", plan.name())
}

/// An operator request.
#[derive(Debug)]
pub enum Command {
    /// Move the instance elsewhere (new reservations, new volume); answers with the plan
    /// work that does it.
    Replace(String, oneshot::Sender<Result<Started>>),
    /// Kill the instance and relaunch it in place; answers with the plan work that does it.
    Restart(String, oneshot::Sender<Result<Started>>),
    /// Uninstall the service (irreversible).
    Uninstall(oneshot::Sender<Result<()>>),
    /// An operator command on the named plan.
    Plan(PlanName, PlanCommand, oneshot::Sender<Result<()>>),
}

/// Whether offers flow, and what the last offer rounds said.
#[derive(Debug, Default)]
struct OfferFlow {
    /// Whether offers are suppressed (`None`: unknown, e.g. after a subscription).
    suppressed: Option<bool>,
    /// The instances offers were last revived for.
    revived_for: BTreeSet<String>,
    /// Offers keep flowing until then so that released reservations are cleaned.
    cleanup_until: Option<Instant>,
    /// The last logged reason each instance waits for an offer.
    last_reasons: BTreeMap<String, String>,
}

/// The scheduler's state.
pub struct Core {
    opts: Options,
    spec: ServiceSpec,
    config_id: String,
    clock: Arc<dyn Clock>,
    store: StateStore,
    frameworks: FrameworkStore,
    outbox: Outbox,
    framework_id: Option<String>,
    subscribed: bool,
    instances: BTreeMap<String, Instance>,
    plans: WorkPlans,
    /// The operator's stored decisions on the deploy and recovery plans.
    overrides: HashMap<WorkPlan, Overrides>,
    reconciler: Reconciler,
    flow: OfferFlow,
    gone: GoneAgents,
    /// The reservations and volumes replaced instances left behind, until released.
    moved: ReleaseBook,
    /// Update, decommission and uninstall state.
    life: lifecycle::Lifecycle,
    telemetry: Arc<Telemetry>,
    /// Instances whose running task is restarted when their reset step is handed out.
    redo: BTreeSet<String>,
    /// Restarts under way: requested, and the task relaunched for them not running yet
    /// (by instance: the task that was current when the restart was requested). A restart
    /// requested meanwhile is merged into it.
    restarts: BTreeMap<String, Option<String>>,
    /// Status writes and acknowledgements of the batch of events being handled.
    pending: batch::Pending,
    /// Why the master refused to reserve each instance's resources, until a reservation
    /// of the instance succeeds (see [`feedback`]).
    refusals: BTreeMap<String, String>,
    publisher: Publisher,
}

impl Core {
    /// Loads the stored state and rebuilds the plans.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        opts: Options,
        spec: ServiceSpec,
        config_id: String,
        store: StateStore,
        frameworks: FrameworkStore,
        master: Arc<dyn MasterCalls>,
        clock: Arc<dyn Clock>,
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
        let mut overrides = HashMap::new();
        for which in [WorkPlan::Deploy, WorkPlan::Recovery] {
            if let Some(stored) = properties::load::<Overrides>(&store, &overrides_property(which))?
            {
                overrides.insert(which, stored);
            }
        }
        let gone = GoneAgents::load(&store)?;
        let moved = ReleaseBook::load(&store, MOVED_PROPERTY)?;
        let reconcile_every = opts.reconcile_interval;
        let outbox = Outbox::new(master, store.persister().clone());
        let mut core = Core {
            opts,
            spec,
            config_id,
            clock,
            store,
            frameworks,
            outbox,
            framework_id,
            subscribed: false,
            instances,
            plans: WorkPlans::default(),
            overrides,
            reconciler: Reconciler::new(reconcile_every),
            flow: OfferFlow::default(),
            gone,
            moved,
            life,
            telemetry: Arc::default(),
            redo: BTreeSet::new(),
            restarts: BTreeMap::new(),
            pending: batch::Pending::default(),
            refusals: BTreeMap::new(),
            publisher: Publisher::new(snapshots),
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

    /// Rebuilds the deploy and recovery plans from the instances' stored state, with the
    /// operator's stored decisions laid over them.
    fn rebuild_plans(&mut self) {
        let now = self.clock.now();
        let now_ms = self.clock.epoch_ms();
        let mut phases = Vec::new();
        let mut replacing = Vec::new();
        for (ti, tt) in self.spec.task_types.iter().enumerate() {
            let mut steps = Vec::new();
            for inst in self.instances.values().filter(|i| i.type_idx == ti) {
                let status = if inst.done(tt) {
                    Status::Complete
                } else {
                    match inst.progress(tt) {
                        Progress::Launching => Status::Starting,
                        Progress::Running { .. } if !inst.replacing() => Status::Started,
                        // Waiting for its agent, which the reconciliation answer explains.
                        Progress::Unreachable if !inst.replacing() => Status::Prepared,
                        _ => Status::Pending,
                    }
                };
                if inst.replacing() {
                    replacing.push(inst.name.clone());
                }
                steps.push((inst.name.clone(), status));
            }
            phases.push((tt.name.clone(), steps));
        }
        self.plans = WorkPlans::rebuild(self.opts.strategy, phases, replacing);
        self.mark_updates();
        // Restore backoff delays that were persisted.
        for inst in self.instances.values() {
            if let Some(until) = inst.meta.backoff_until_ms.filter(|u| *u > now_ms) {
                self.plans
                    .restore_delay(&inst.name, now + Duration::from_millis(until - now_ms));
            }
        }
        for which in [WorkPlan::Deploy, WorkPlan::Recovery] {
            if let Some(o) = self.overrides.get(&which) {
                self.plans.restore(which, o, &self.config_id);
            }
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
            // PARTITION_AWARE: an unreachable agent's tasks are reported TASK_UNREACHABLE
            // (and keep running when it returns) rather than TASK_LOST and killed.
            capabilities: vec![
                capability(framework_info::capability::Type::MultiRole),
                capability(framework_info::capability::Type::ReservationRefinement),
                capability(framework_info::capability::Type::PartitionAware),
                capability(framework_info::capability::Type::TaskKillingState),
            ],
            ..FrameworkInfo::default()
        }
    }

    /// Talks to another master from now on (the detected leader changed).
    pub fn set_master(&mut self, master: Arc<dyn MasterCalls>) {
        self.outbox.set_master(master);
    }

    /// Whether the state holds no framework id and no task: a new install, or a state
    /// that was lost. Before such a scheduler subscribes, the cluster is asked whether it
    /// holds the service already (see [`Leftovers`](super::Leftovers)).
    pub fn state_is_empty(&self) -> bool {
        self.framework_id.is_none()
            && self.instances.values().all(|i| i.task.is_none())
            && self.retiring_tasks().is_empty()
    }

    /// Whether a framework id is known to subscribe with.
    pub fn has_framework_id(&self) -> bool {
        self.framework_id.is_some()
    }

    /// The service's name and role.
    pub fn service(&self) -> (&str, &str) {
        (&self.spec.name, &self.spec.role)
    }

    /// The options the scheduler runs with.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Persist before acting: stores the framework id to subscribe with before the
    /// first SUBSCRIBE (`adopted`, a framework of the service the cluster holds, or a new
    /// one), so that a scheduler killed right after subscribing comes back as the same
    /// framework instead of leaving it orphaned. Mesos accepts an id it does not know.
    pub fn choose_framework_id(&mut self, adopted: Option<String>) -> Result<()> {
        if self.framework_id.is_some() {
            return Ok(());
        }
        let value = adopted.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        self.frameworks.store_framework_id(&FrameworkId {
            value: value.clone(),
        })?;
        tracing::info!(framework_id = %value, "framework id stored before subscribing");
        self.framework_id = Some(value);
        Ok(())
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
                    self.gone
                        .lost(&self.store, &agent.value, self.clock.epoch_ms())?;
                }
            }
            Some(event::Type::UpdateOperationStatus) => {
                if let Some(u) = event.update_operation_status {
                    self.on_operation_status(u.status);
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
        self.flow.suppressed = None;
        self.flow.revived_for.clear();
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
        let mut calls = self.reconciler.start(&framework_id, tasks);
        if !calls.is_empty() {
            tracing::info!(tasks = n, "reconciling known tasks");
        } else {
            // Knowing no task, ask for every task the master runs for the framework (an
            // adopted one's, see `Options::adopt`): each is killed as unknown.
            calls.push(calls::reconcile(&framework_id, &[]));
        }
        for call in calls {
            self.outbox.send(&call).await;
        }
        // The KILL of a restart under way may have been refused with the previous
        // subscription (a failover): it is sent again, a kill being idempotent.
        let restarting: Vec<String> = self
            .restarts
            .iter()
            .filter(|(name, restarted)| {
                self.instances
                    .get(*name)
                    .is_some_and(|inst| inst.task_id() == restarted.as_deref())
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in restarting {
            self.kill_current(&name).await;
        }
        Ok(())
    }

    /// Hands the launches whose ACCEPT may not have reached the master to the reconciler.
    pub(super) fn reconcile_unsent(&mut self) {
        let unsent = self.outbox.unsent();
        if !unsent.is_empty() {
            self.reconciler.add(unsent);
        }
    }

    /// Periodic work: delayed steps, reconciliation, automatic replacement.
    pub async fn tick(&mut self) -> Result<()> {
        if !self.subscribed {
            return Ok(());
        }
        let now = self.clock.now();
        self.plans.wake(now);
        self.reconcile_unsent();
        if let Some(fw) = self.framework_id.clone() {
            let mut calls = self.reconciler.due(&fw, now);
            let implicit = calls
                .iter()
                .any(|c| c.reconcile.as_ref().is_some_and(|r| r.tasks.is_empty()));
            if implicit {
                // An implicit reconciliation leaves out the tasks the master does not know:
                // those of instances waiting for an unreachable agent are asked for by name,
                // so that a task that never ran there does not keep them waiting.
                let waiting: Vec<(String, Option<String>)> = self
                    .instances
                    .values()
                    .filter(|inst| inst.waits_for_agent(self.task_type(inst)))
                    .filter_map(|inst| {
                        let task = inst.task.as_ref()?;
                        Some((
                            task.task_id().to_string(),
                            Some(task.agent_id().to_string()),
                        ))
                    })
                    .collect();
                calls.extend(reconcile::ask(&fw, &waiting));
            }
            for call in calls {
                self.outbox.send(&call).await;
            }
        }
        if let Some(limit) = self.opts.replace_timeout {
            let now_ms = self.clock.epoch_ms();
            let lost: Vec<String> = self
                .instances
                .values()
                .filter(|inst| !inst.replacing() && inst.needs_launch(self.task_type(inst)))
                .filter(|inst| {
                    inst.agent_id()
                        .and_then(|agent| self.gone.gone_for(agent, now_ms))
                        .is_some_and(|gone| gone >= limit)
                })
                .map(|inst| inst.name.clone())
                .collect();
            for name in lost {
                tracing::warn!(instance = %name, "its agent has been gone too long: replacing it");
                self.mark_replace(&name, GoalOverride::PermanentlyFailed)?;
            }
        }
        self.after_event().await;
        Ok(())
    }

    fn mark_replace(&mut self, name: &str, why: GoalOverride) -> Result<Started> {
        let Some(inst) = self.instances.get_mut(name) else {
            return Err(Error::UnknownInstance(name.to_string()));
        };
        let mut meta = inst.meta.clone();
        Instance::set_replacing(&mut meta, why);
        self.store.store_task_meta(name, &meta)?;
        inst.meta = meta;
        Ok(self.replacement_planned(name, why))
    }

    /// The instance's stored record says it is to be replaced (`why`): the recovery plan
    /// places it anew, and offers keep flowing a while to release what it leaves behind.
    fn replacement_planned(&mut self, name: &str, why: GoalOverride) -> Started {
        let message = match why {
            GoalOverride::Replace => "replace requested by the operator",
            _ => "agent lost: replacing the instance elsewhere",
        };
        let started = self.plans.replace(name, message);
        self.restarts.remove(name);
        self.flow.cleanup_until = Some(self.clock.now() + CLEANUP_WINDOW);
        started
    }

    /// Handles an operator request.
    pub async fn command(&mut self, command: Command) {
        match command {
            // Each publishes before it answers, so that the API's answer is followed by
            // snapshots that show the change.
            Command::Replace(name, reply) => {
                let r = self.replace(&name).await;
                self.publish();
                let _ = reply.send(r);
            }
            Command::Restart(name, reply) => {
                let r = self.restart_requested(&name).await;
                self.publish();
                let _ = reply.send(r);
            }
            Command::Uninstall(reply) => {
                let _ = reply.send(self.start_uninstall());
            }
            Command::Plan(name, command, reply) => {
                let r = self.plan_command(&name, command);
                // Publish first, so that the API answers after the change is visible.
                self.publish();
                let _ = reply.send(r);
            }
        }
        self.after_event().await;
    }

    /// Applies an operator command to a plan. The decisions on the deploy and recovery
    /// plans are stored first, so that a restarted scheduler keeps them.
    fn plan_command(&mut self, name: &PlanName, command: PlanCommand) -> Result<()> {
        let Some(which) = WorkPlans::which(name) else {
            return match self.life.retire_plan_mut(name) {
                Some(p) => {
                    crate::plan::apply(p, command)?;
                    Ok(())
                }
                None => Err(Error::UnknownPlan(name.to_string())),
            };
        };
        // Persist before acting: the decision is stored before the plan changes.
        let (store, config_id) = (&self.store, &self.config_id);
        let overrides = self.overrides.entry(which).or_default();
        let applied = self.plans.command(which, command, |next, applied| {
            let mut kept = overrides.clone();
            kept.record(next, command, applied, config_id);
            properties::store(store, &overrides_property(which), &kept)?;
            *overrides = kept;
            Ok::<_, Error>(())
        })?;
        for instance in applied.restarted {
            self.redo.insert(instance);
        }
        for instance in applied.completed {
            self.redo.remove(&instance);
        }
        Ok(())
    }

    async fn kill_current(&mut self, name: &str) {
        let Some(inst) = self.instances.get(name) else {
            return;
        };
        let tt = self.task_type(inst);
        if matches!(inst.progress(tt), Progress::Ended(_) | Progress::Absent) {
            return;
        }
        if let (Some(fw), Some(task)) = (&self.framework_id, &inst.task) {
            let call = calls::kill(fw, task.task_id(), Some(task.agent_id()));
            self.outbox.send(&call).await;
        }
    }

    async fn replace(&mut self, name: &str) -> Result<Started> {
        tracing::info!(instance = %name, "replace requested");
        let started = self.mark_replace(name, GoalOverride::Replace)?;
        self.kill_current(name).await;
        Ok(started)
    }

    /// The operator's restart of `name`: the plan work that relaunches it shows at once
    /// (a recovery step in flight while the task is being killed).
    async fn restart_requested(&mut self, name: &str) -> Result<Started> {
        let task = self
            .instances
            .get(name)
            .and_then(|i| i.task_id())
            .unwrap_or("the task")
            .to_string();
        if self.restart(name).await? {
            let message = format!("restart requested: killing {task} to relaunch it in place");
            Ok(self.plans.restarting(name, &message))
        } else {
            Ok(self.plans.relaunch_of(name))
        }
    }

    /// Restarts `name`: kills its running task (relaunched in place when the kill's
    /// status arrives), or relaunches an ended one now. Returns whether a kill was sent
    /// for a new restart (not one merged into a restart under way, nor a relaunch now).
    async fn restart(&mut self, name: &str) -> Result<bool> {
        let Some(inst) = self.instances.get_mut(name) else {
            return Err(Error::UnknownInstance(name.to_string()));
        };
        if let Some(restarted) = self.restarts.get(name) {
            // A restart is under way: this request is merged into it. The task it
            // restarts may still run (its KILL is sent again: a kill is idempotent); a
            // task launched since is new already.
            let relaunched = restarted.as_deref() != inst.task_id();
            tracing::info!(instance = %name, "restart requested while one is under way: merged into it");
            if !relaunched {
                self.kill_current(name).await;
            }
            return Ok(false);
        }
        tracing::info!(instance = %name, "restart requested");
        let restarted = inst.task_id().map(String::from);
        let mut meta = inst.meta.clone();
        meta.goal_override = Some(GoalOverride::Restart);
        meta.consecutive_failures = 0;
        self.store.store_task_meta(name, &meta)?;
        inst.meta = meta;
        let ended = matches!(
            inst.progress(&self.spec.task_types[inst.type_idx]),
            Progress::Ended(_)
        );
        self.restarts.insert(name.to_string(), restarted);
        if ended {
            self.plans.recover_now(name);
        } else {
            self.kill_current(name).await;
        }
        Ok(!ended)
    }

    /// The current task of `name` reports running: a restart under way is complete once
    /// the task running is not the one it restarted.
    fn running(&mut self, name: &str, task_id: &str) {
        if self
            .restarts
            .get(name)
            .is_some_and(|restarted| restarted.as_deref() != Some(task_id))
        {
            self.restarts.remove(name);
        }
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
            // An instance waiting for its unreachable agent needs no offers.
            let candidates: BTreeSet<String> = self
                .plans
                .candidate_instances()
                .into_iter()
                .filter(|name| {
                    self.instances
                        .get(name)
                        .is_none_or(|inst| !inst.waits_for_agent(self.task_type(inst)))
                })
                .collect();
            let cleaning = self
                .flow
                .cleanup_until
                .is_some_and(|t| self.clock.now() < t);
            let want = !candidates.is_empty() || cleaning || self.releases_want_offers();
            let new_work = candidates
                .iter()
                .any(|c| !self.flow.revived_for.contains(c));
            if want && (self.flow.suppressed != Some(false) || new_work) {
                if self.outbox.send(&calls::revive(&fw, &self.spec.role)).await {
                    self.flow.suppressed = Some(false);
                }
            } else if !want
                && self.flow.suppressed != Some(true)
                && self
                    .outbox
                    .send(&calls::suppress(&fw, &self.spec.role))
                    .await
            {
                self.flow.suppressed = Some(true);
            }
            self.flow.revived_for = candidates;
        }
        self.publish();
    }

    fn publish(&mut self) {
        let reconciled = self.subscribed && self.reconciler.is_done();
        let key = PublishKey::new(
            [
                Some(self.plans.deploy().status()),
                Some(self.plans.recovery().status()),
                self.lifecycle_status(),
            ],
            reconciled,
            self.framework_id.as_deref(),
        )
        .with_generations([
            self.plans.deploy().generation(),
            self.plans.recovery().generation(),
        ]);
        let (plans, life, instances, framework_id, spec) = (
            &self.plans,
            &self.life,
            &self.instances,
            &self.framework_id,
            &self.spec,
        );
        self.publisher.publish(key, || {
            let mut snapshots = vec![plans.deploy().snapshot(), plans.recovery().snapshot()];
            snapshots.extend(life.snapshots());
            ServiceSnapshot {
                framework_id: framework_id.clone(),
                reconciled,
                plans: snapshots,
                instances: instances
                    .values()
                    .map(|i| InstanceSnapshot {
                        name: i.name.clone(),
                        task_id: i.task_id().map(String::from),
                        state: i
                            .status
                            .as_ref()
                            .map(|s| s.state().as_str_name().to_string()),
                        agent_id: i.agent_id().map(String::from),
                        hostname: i.hostname().map(String::from),
                        launch_count: i.meta.launch_count,
                        ready: spec.task_types.get(i.type_idx).is_some_and(|tt| {
                            i.done(tt)
                                || matches!(i.progress(tt), Progress::Running { ready: true })
                        }),
                        running_since_ms: i.running_since_ms,
                        endpoints: i.task.as_ref().and_then(|t| t.endpoints().cloned()),
                    })
                    .collect(),
            }
        });
    }
}

#[cfg(test)]
pub(super) mod tests;
