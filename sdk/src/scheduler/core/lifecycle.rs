//! The scheduler's side of configuration updates, decommissions and uninstalls: the
//! hooks the event loop calls (see [`super::Core`]), built on [`crate::scheduler`]'s
//! `update` and `decommission` modules.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use stead_proto::v1::{Offer, TaskInfo, TaskStatus};
use stead_spec::{GoalState, ServiceSpec};
use stead_state::{ConfigStore, StateStore};

use super::Core;
use crate::Result;
use crate::mesos::calls;
use crate::mesos::resources::fits;
use crate::offer::LaunchContext;
use crate::plan::{self, PlanName, PlanSnapshot, Status, StepKind, WorkPlan};
use crate::scheduler::Options;
use crate::scheduler::decommission::{Retirements, UNINSTALL_PROPERTY};
use crate::scheduler::instance::{Instance, Progress};
use crate::scheduler::stored_task::StoredTask;
use crate::scheduler::update;

/// How long an update that grows an instance waits for an offer from its agent
/// before killing the task without knowing whether the growth fits.
const GROWTH_CHECK_WAIT: Duration = Duration::from_secs(30);

/// Update, decommission and uninstall state of a [`Core`].
#[derive(Debug)]
pub(crate) struct Lifecycle {
    /// Instances being decommissioned or uninstalled.
    retire: Retirements,
    /// Why the configuration the scheduler was started with was rejected.
    config_errors: Vec<String>,
    /// The stored configurations.
    configs: ConfigStore<stead_spec::ServiceSpec>,
    /// Set once an uninstall has torn the framework down and wiped the state.
    finished: bool,
    /// The unreserved scalar resources each agent offered last (to grow in place), as
    /// the offer rounds hand them over.
    agent_free: BTreeMap<String, BTreeMap<String, f64>>,
    /// Since when an update that grows waits for a first offer from its agent.
    growth_wait: BTreeMap<String, Instant>,
    /// Instances whose stored task runs an older configuration: while there are any,
    /// the offer rounds hand over the agents' free resources.
    outdated: BTreeSet<String>,
}

impl Lifecycle {
    /// Loads what the stored state says about updates and retirements: relabels the
    /// instances the target leaves unchanged, drops configurations no task uses, and
    /// collects the instances to decommission (or, for an uninstall, every instance,
    /// which `instances` then no longer holds).
    pub(crate) fn load(
        opts: &Options,
        spec: &ServiceSpec,
        config_id: &str,
        framework_id: Option<&str>,
        store: &StateStore,
        instances: &mut BTreeMap<String, Instance>,
    ) -> Result<Lifecycle> {
        let configs = ConfigStore::new(store.persister().clone());
        let stored = store.fetch_property(UNINSTALL_PROPERTY)?.is_some();
        let uninstall = opts.uninstall || stored;
        if uninstall {
            if !stored {
                // Persist before acting: once begun, an uninstall is never undone.
                store.store_property(UNINSTALL_PROPERTY, b"true")?;
            }
            tracing::info!(service = %spec.name, "uninstalling: every task is killed, every volume destroyed, every reservation released");
            instances.clear();
        } else {
            let ctx = LaunchContext {
                service: spec,
                framework_id: framework_id.unwrap_or_default(),
                config_id,
            };
            let mut decoded: Vec<(usize, u32, TaskInfo)> = instances
                .values()
                .filter(|i| i.task.as_ref().and_then(StoredTask::config_id) != Some(config_id))
                .filter_map(|i| Some((i.type_idx, i.index, i.task.as_ref()?.info())))
                .collect();
            let mut tasks: Vec<(usize, u32, &mut TaskInfo)> = decoded
                .iter_mut()
                .map(|(ti, index, t)| (*ti, *index, t))
                .collect();
            let relabeled = update::relabel_unchanged(store, &ctx, &mut tasks)?;
            for (_, _, task) in decoded {
                if relabeled.contains(&task.name)
                    && let Some(i) = instances.get_mut(&task.name)
                {
                    i.task = Some(StoredTask::from(task));
                }
            }
        }
        let retire = Retirements::load(store, &|n| instances.contains_key(n), uninstall)?;
        let life = Lifecycle {
            retire,
            config_errors: Vec::new(),
            configs,
            finished: false,
            agent_free: BTreeMap::new(),
            growth_wait: BTreeMap::new(),
            outdated: BTreeSet::new(),
        };
        if !uninstall {
            update::retain_configs(&life.configs, config_ids(instances, &life.retire))?;
        }
        Ok(life)
    }
}

impl Lifecycle {
    /// The decommission or uninstall plan, if `name` is its name.
    pub(super) fn retire_plan_mut(&mut self, name: &PlanName) -> Option<&mut plan::Plan> {
        let plan = self.retire.plan_mut();
        (plan.name == name.as_str()).then_some(plan)
    }

    /// Whether an update is under way, so that updates which grow an instance in place
    /// need to know what the agents offer.
    pub(super) fn wants_free_resources(&self) -> bool {
        !self.outdated.is_empty()
    }

    /// Records what each agent offers unreserved (the latest offer round's view).
    pub(super) fn offered(&mut self, free: BTreeMap<String, BTreeMap<String, f64>>) {
        self.agent_free.extend(free);
    }

    /// `instance` was launched under configuration `config_id`, the target when `current`.
    pub(super) fn launched(&mut self, instance: &str, current: bool) {
        if current {
            self.outdated.remove(instance);
        }
    }

    /// Stores a status of a retiring instance's task; false if it is about another task.
    pub(super) fn record_retiring_status(
        &mut self,
        store: &StateStore,
        status: &TaskStatus,
    ) -> Result<bool> {
        self.retire.record_status(store, status)
    }

    /// The snapshots of the decommission or uninstall plan, when there is one to show.
    pub(super) fn snapshots(&self) -> Option<PlanSnapshot> {
        self.retire.snapshot()
    }
}

impl Core {
    /// Whether `inst` runs (or last ran) the target configuration.
    pub(super) fn is_current(&self, inst: &Instance) -> bool {
        inst.task.as_ref().and_then(StoredTask::config_id) == Some(self.config_id.as_str())
    }

    /// Whether the instance called `name` runs the target configuration.
    pub(super) fn is_current_name(&self, name: &str) -> bool {
        self.instances.get(name).is_some_and(|i| self.is_current(i))
    }

    /// Records why the configuration the scheduler was started with was rejected: the
    /// deploy plan shows the errors (and hands out no work) while the old target runs.
    pub fn set_config_errors(&mut self, errors: Vec<String>) {
        self.life.config_errors = errors;
        self.plans
            .set_config_errors(self.life.config_errors.clone());
        self.publish();
    }

    /// Whether the scheduler is done for good (an uninstall finished).
    pub fn is_finished(&self) -> bool {
        self.life.finished
    }

    /// Turns the deploy steps of instances launched from an older configuration into
    /// update steps (called whenever the deploy plan is rebuilt).
    pub(super) fn mark_updates(&mut self) {
        let mut updates = Vec::new();
        for inst in self.instances.values() {
            let Some(task) = &inst.task else { continue };
            if self.is_current(inst) {
                continue;
            }
            let tt = self.task_type(inst);
            if tt.goal == GoalState::Once && inst.done(tt) {
                // Run once, never again, not even for a new configuration.
                continue;
            }
            let from = task.config_id().unwrap_or("an unknown configuration");
            updates.push((inst.name.clone(), from.to_string()));
        }
        self.life.outdated = updates.iter().map(|(name, _)| name.clone()).collect();
        for (name, from) in updates {
            self.plans.mark_update(&name, &from, &self.config_id);
        }
        self.plans
            .set_config_errors(self.life.config_errors.clone());
    }

    /// Tasks of retiring instances (reconciled with the others).
    pub(super) fn retiring_tasks(&self) -> Vec<(String, Option<String>)> {
        self.life.retire.tasks()
    }

    /// Reports the reservations whose release the cleanup of an offer cycle sent.
    pub(super) fn released<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>, any: bool) {
        let ids: BTreeSet<&str> = ids.into_iter().collect();
        self.moved.sent(&ids);
        self.life.retire.release_sent(ids);
        self.life.retire.offers_seen(any);
    }

    /// Takes the releases (of retired instances, and of the old resources of replaced
    /// ones) that `offers` show done.
    pub(super) fn releases_offered(&mut self, offers: &[Offer]) -> Result<()> {
        let now = self.clock.now();
        for instance in self.moved.offered(&self.store, offers, now)? {
            tracing::info!(%instance, "the old volume and reservations of the moved instance are released");
        }
        self.life.retire.offered(&self.store, offers, now)
    }

    /// Whether reservations wait to be released (offers are needed), or an uninstall
    /// is under way.
    pub(super) fn releases_want_offers(&self) -> bool {
        self.life.retire.wants_offers() || !self.moved.is_empty()
    }

    /// The status of the decommission or uninstall plan, when it is shown.
    pub(super) fn lifecycle_status(&self) -> Option<Status> {
        self.life.retire.shown_status()
    }

    /// Drops configurations no stored task uses any more.
    pub(super) fn retain_configs(&self) {
        if self.life.retire.is_uninstall() {
            return;
        }
        let used = config_ids(&self.instances, &self.life.retire);
        if let Err(e) = update::retain_configs(&self.life.configs, used) {
            tracing::warn!(error = %e, "could not remove unused configurations");
        }
    }

    /// Starts the update steps the plans hand out (kills the task of an instance that
    /// runs an older configuration; it is relaunched in place under the target once
    /// gone), drives decommissions and the uninstall. Does nothing before the
    /// scheduler is subscribed and reconciled.
    pub(super) async fn drive_lifecycle(&mut self) -> Result<()> {
        if !self.subscribed || !self.reconciler.is_done() {
            return Ok(());
        }
        let Some(fw) = self.framework_id.clone() else {
            return Ok(());
        };
        let now = self.clock.now();
        // Updates: kill what runs an older configuration when its step's turn comes.
        let mut kill = Vec::new();
        let mut short = Vec::new();
        for (which, at) in self.plans.select() {
            if which != WorkPlan::Deploy {
                continue;
            }
            let Some(step) = self.plans.deploy().step(at) else {
                continue;
            };
            if step.kind != StepKind::Update {
                continue;
            }
            let Some(inst) = self.instances.get(&step.instance) else {
                continue;
            };
            let tt = self.task_type(inst);
            if matches!(
                inst.progress(tt),
                Progress::Launching | Progress::Running { .. }
            ) && !self.is_current(inst)
            {
                match self.missing_growth(inst, &fw, now) {
                    Some(why) => short.push((inst.name.clone(), why)),
                    None => kill.push(inst.name.clone()),
                }
            }
        }
        for name in &kill {
            self.life.growth_wait.remove(name);
        }
        for (name, why) in short {
            self.life.growth_wait.entry(name.clone()).or_insert(now);
            self.plans.update_waits(&name, &why);
        }
        for name in kill {
            tracing::info!(instance = %name, config = %self.config_id, "updating: the task is killed, then relaunched in place under the target configuration");
            self.restart(&name).await?;
            self.plans.update_kills(&name);
        }
        // Decommission and uninstall.
        let calls = self.life.retire.drive(&self.store, &fw, now)?;
        for call in calls {
            self.outbox.send(&call).await;
        }
        if self.life.retire.take_revive() {
            // Offers from every agent (declined ones included) carry what is released.
            self.flow.suppressed = None;
            self.flow.revived_for.clear();
        }
        if self.life.retire.teardown_due(now) {
            self.teardown(&fw).await?;
        }
        Ok(())
    }

    /// Why `inst` cannot grow in place under the target yet, judging by what its agent
    /// offered last: the running task is then left alone rather than killed to wait
    /// for resources. An agent not seen offering yet is waited for a while, then given
    /// the benefit of the doubt.
    fn missing_growth(&self, inst: &Instance, fw: &str, now: Instant) -> Option<String> {
        let task = &inst.task.as_ref()?.info();
        let ctx = LaunchContext {
            service: &self.spec,
            framework_id: fw,
            config_id: &self.config_id,
        };
        let target =
            crate::offer::resize::target_task(&ctx, self.task_type(inst), inst.index, task).ok()?;
        let growth = crate::offer::resize::growth(task, &target);
        if growth.is_empty() {
            return None;
        }
        let agent = &task.agent_id.value;
        let Some(free) = self.life.agent_free.get(agent) else {
            let waited = self
                .life
                .growth_wait
                .get(&inst.name)
                .map_or(Duration::ZERO, |t| now.duration_since(*t));
            return (waited < GROWTH_CHECK_WAIT).then(|| {
                format!(
                    "waiting for an offer from agent {agent} to check that {} can grow there",
                    inst.name
                )
            });
        };
        let missing: Vec<String> = growth
            .into_iter()
            .filter(|(name, more)| !fits(*more, free.get(name).copied().unwrap_or(0.0)))
            .map(|(name, more)| format!("{more} more {name}"))
            .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "waiting for agent {} to offer {} before restarting {} under the target configuration",
                task.agent_id.value,
                missing.join(", "),
                inst.name
            )
        })
    }

    /// Ends an uninstall: TEARDOWN, then the whole state is wiped.
    async fn teardown(&mut self, fw: &str) -> Result<()> {
        // The ACCEPTs that release the last reservations go out in the background: each
        // must have reached the master before TEARDOWN, which makes it refuse them.
        self.outbox.drain_accepts().await;
        tracing::info!(framework_id = %fw, "uninstall: every resource is released; tearing the framework down");
        if !self.outbox.send(&calls::teardown(fw)).await {
            return Ok(()); // Tried again at the next tick.
        }
        self.store.persister().delete("")?;
        self.life.retire.torn_down();
        self.life.finished = true;
        tracing::info!(service = %self.spec.name, "uninstall complete: the state is wiped");
        Ok(())
    }

    /// Begins an uninstall of the running service (irreversible): every instance is
    /// retired, then the framework is torn down and the state wiped.
    pub(super) fn start_uninstall(&mut self) -> Result<()> {
        if self.life.retire.is_uninstall() {
            return Ok(());
        }
        self.store.store_property(UNINSTALL_PROPERTY, b"true")?;
        tracing::info!(service = %self.spec.name, "uninstall requested: every task is killed, every volume destroyed, every reservation released");
        self.instances.clear();
        self.life.retire = Retirements::load(&self.store, &|_| false, true)?;
        self.rebuild_plans();
        // New work: offers must flow again.
        self.flow.suppressed = None;
        self.flow.revived_for.clear();
        Ok(())
    }
}

/// The configurations the tasks of `instances` and of the retiring instances run.
fn config_ids<'a>(
    instances: &'a BTreeMap<String, Instance>,
    retire: &'a Retirements,
) -> impl Iterator<Item = &'a str> {
    instances
        .values()
        .filter_map(|i| i.task.as_ref()?.config_id())
        .chain(
            retire
                .stored_tasks()
                .filter_map(crate::offer::operations::config_id_of),
        )
}
