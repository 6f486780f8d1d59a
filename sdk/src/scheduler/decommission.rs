//! Retiring instances for good, for a decommission (a lower count, or a removed task
//! type) and for an uninstall (every instance, then TEARDOWN).
//!
//! A retiring instance is killed; once its task is known to be gone it is erased from
//! the state store, which makes its reservations and volume unowned: the scheduler's
//! cleanup then DESTROYs the volume and UNRESERVEs the resources when its agent offers
//! them. A restarted scheduler rebuilds the work from the tasks still stored: an
//! instance back in the spec (count raised again) is simply no longer retiring.
//!
//! Persist before acting: an erased task's resource ids still to release go into a
//! [`ReleaseBook`] stored as [`RELEASES_PROPERTY`] before the task is erased, so a
//! scheduler killed after the erase, before the master applied the release, still
//! knows them: it keeps asking for offers and releases them when offered, and the
//! step completes only once offers show every id released (see `releases`).
//!
//! (Releasing every reservation of the service that no stored task holds, without
//! storing the ids, would release them too, but only while offers flowed: after a
//! restart the plans would say COMPLETE with nothing asking for offers. The stored ids
//! keep the step, and the offers, going until the release is done.)

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use stead_proto::scheduler::Call;
use stead_proto::v1::{AgentId, Offer, TaskInfo, TaskStatus};
use stead_state::StateStore;

use super::instance::is_terminal;
use super::releases::ReleaseBook;
use crate::Result;
use crate::mesos::{calls, resources as res};
use crate::offer::operations::{self, task_labels};
use crate::plan::{self, Plan, PlanSnapshot, Status};

/// How often a kill is sent again while the task still runs.
const KILL_RESEND: Duration = Duration::from_secs(10);
/// How long the uninstall waits for a clean offer cycle before tearing down anyway.
const TEARDOWN_GRACE: Duration = Duration::from_secs(60);

/// The property marking an uninstall in progress (irreversible once set).
pub const UNINSTALL_PROPERTY: &str = "uninstall";

/// The property holding the resource ids of erased retiring tasks still to release.
pub const RELEASES_PROPERTY: &str = "decommission-releases";

/// One instance being retired.
#[derive(Debug, Clone)]
struct Retiree {
    task: TaskInfo,
    status: Option<TaskStatus>,
    last_kill: Option<Instant>,
    erased: bool,
}

impl Retiree {
    fn live(&self) -> bool {
        !self.erased && self.status.as_ref().is_none_or(|s| !is_terminal(s.state()))
    }

    /// An instance a previous run erased, its resources on `agent` not all released.
    fn erased(name: &str, agent: String) -> Retiree {
        Retiree {
            task: TaskInfo {
                name: name.to_string(),
                agent_id: AgentId { value: agent },
                ..TaskInfo::default()
            },
            status: None,
            last_kill: None,
            erased: true,
        }
    }
}

/// The decommission or uninstall work of a scheduler.
#[derive(Debug)]
pub struct Retirements {
    retirees: BTreeMap<String, Retiree>,
    /// The resource ids of erased tasks still to release.
    book: ReleaseBook,
    plan: Plan,
    uninstall: bool,
    revive: bool,
    released_at: Option<Instant>,
    clean_offers_since_release: bool,
}

/// The order of a decommission: highest index first (then by name, for stability).
fn decommission_order(tasks: &mut [(String, TaskInfo)]) {
    let key = |t: &TaskInfo| {
        let labels = t.labels.as_ref();
        let index: u64 = res::label(labels, task_labels::INDEX)
            .and_then(|i| i.parse().ok())
            .unwrap_or(0);
        let kind = res::label(labels, task_labels::TASK_TYPE)
            .unwrap_or_default()
            .to_string();
        (kind, std::cmp::Reverse(index))
    };
    tasks.sort_by(|a, b| key(&a.1).cmp(&key(&b.1)).then_with(|| a.0.cmp(&b.0)));
}

impl Retirements {
    /// Loads every stored task whose instance `keep` rejects (all of them for an
    /// uninstall) and builds the decommission or uninstall plan. Stored leftovers
    /// without a TaskInfo are erased at once.
    pub fn load(store: &StateStore, keep: &dyn Fn(&str) -> bool, uninstall: bool) -> Result<Self> {
        let mut tasks = Vec::new();
        for name in store.task_names()? {
            if !uninstall && keep(&name) {
                continue;
            }
            match store.fetch_task(&name)? {
                Some(task) => tasks.push((name, task)),
                None => store.delete_task(&name)?,
            }
        }
        decommission_order(&mut tasks);
        let mut retirees = BTreeMap::new();
        let mut order = Vec::with_capacity(tasks.len());
        // Erased by a previous run, their release not seen done: first, as they only
        // wait for offers.
        let book = ReleaseBook::load(store, RELEASES_PROPERTY)?;
        for (name, _) in book.owners() {
            if !tasks.iter().any(|(n, _)| n == name) {
                order.push((name.to_string(), Status::Pending));
                let agent = book.agent_of(name).unwrap_or_default().to_string();
                retirees.insert(name.to_string(), Retiree::erased(name, agent));
            }
        }
        for (name, task) in tasks {
            let status = store
                .fetch_status(&name)?
                .filter(|s| s.task_id == task.task_id);
            order.push((name.clone(), Status::Pending));
            retirees.insert(
                name,
                Retiree {
                    task,
                    status,
                    last_kill: None,
                    erased: false,
                },
            );
        }
        if !order.is_empty() && !uninstall {
            let names: Vec<&str> = order.iter().map(|(n, _)| n.as_str()).collect();
            tracing::info!(instances = ?names, "decommissioning instances the target no longer declares");
        }
        let plan = if uninstall {
            plan::uninstall_plan(order)
        } else {
            plan::decommission_plan(order)
        };
        Ok(Retirements {
            retirees,
            book,
            plan,
            uninstall,
            revive: false,
            released_at: None,
            clean_offers_since_release: false,
        })
    }

    /// Whether this is an uninstall.
    pub fn is_uninstall(&self) -> bool {
        self.uninstall
    }

    /// The plan (decommission or uninstall).
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The plan, for operator commands.
    pub fn plan_mut(&mut self) -> &mut Plan {
        &mut self.plan
    }

    /// The plan's snapshot, when there is anything to show: always for an uninstall,
    /// for a decommission while it has steps.
    pub fn snapshot(&self) -> Option<PlanSnapshot> {
        self.shown().then(|| self.plan().snapshot())
    }

    /// The plan's status, when its snapshot is shown.
    pub fn shown_status(&self) -> Option<Status> {
        self.shown().then(|| self.plan().status())
    }

    fn shown(&self) -> bool {
        self.uninstall || self.plan().steps().next().is_some()
    }

    /// The known tasks of the retiring instances not yet erased (for reconciliation).
    pub fn tasks(&self) -> Vec<(String, Option<String>)> {
        self.retirees
            .values()
            .filter(|r| !r.erased)
            .map(|r| {
                (
                    r.task.task_id.value.clone(),
                    Some(r.task.agent_id.value.clone()),
                )
            })
            .collect()
    }

    /// The retiring tasks not yet erased.
    pub fn stored_tasks(&self) -> impl Iterator<Item = &TaskInfo> {
        self.retirees
            .values()
            .filter(|r| !r.erased)
            .map(|r| &r.task)
    }

    /// Records `status` if it is about the current task of a retiring instance (and
    /// returns true; the caller acknowledges it).
    pub fn record_status(&mut self, store: &StateStore, status: &TaskStatus) -> Result<bool> {
        let Some(name) = operations::instance_of(&status.task_id.value) else {
            return Ok(false);
        };
        let Some(r) = self.retirees.get_mut(name) else {
            return Ok(false);
        };
        if r.task.task_id != status.task_id {
            return Ok(false);
        }
        if !r.erased {
            store.store_status(name, status)?;
        }
        r.status = Some(status.clone());
        Ok(true)
    }

    /// Does the work the plan lets proceed now: kills live tasks, erases the gone ones
    /// from the state store. Returns the calls to send (kills).
    pub fn drive(
        &mut self,
        store: &StateStore,
        framework_id: &str,
        now: Instant,
    ) -> Result<Vec<Call>> {
        let mut active: Vec<String> = self
            .plan
            .candidates()
            .into_iter()
            .filter_map(|at| self.plan.step(at).map(|s| s.instance.clone()))
            .collect();
        active.extend(
            self.plan
                .steps()
                .filter(|s| s.status().is_in_flight())
                .map(|s| s.instance.clone()),
        );
        let mut out = Vec::new();
        for name in active {
            let Some(r) = self.retirees.get_mut(&name) else {
                continue;
            };
            let Some(mut step) = self.plan.find_mut(&name) else {
                continue;
            };
            if r.live() {
                if r.last_kill
                    .is_none_or(|t| now.duration_since(t) >= KILL_RESEND)
                {
                    if r.last_kill.is_none() {
                        tracing::info!(instance = %name, task = %r.task.task_id.value, "killing a retiring instance");
                    }
                    out.push(calls::kill(
                        framework_id,
                        &r.task.task_id.value,
                        Some(&r.task.agent_id.value),
                    ));
                    r.last_kill = Some(now);
                }
                step.set_status(Status::Starting);
                step.message = format!("killing {}", r.task.task_id.value);
                continue;
            }
            if !r.erased {
                // Its task is gone: erase it, which leaves its reservations unowned.
                // Persist before acting: what is left to release is stored first.
                let ids = operations::resource_ids(&r.task);
                self.book.add(&name, &r.task.agent_id.value, ids, now);
                self.book.store(store)?;
                store.delete_task(&name)?;
                r.erased = true;
                self.revive = true;
                tracing::info!(instance = %name, agent = %r.task.agent_id.value, resources = self.book.left(&name), "erased from the state store; releasing its volume and reservations");
            }
            let left = self.book.left(&name);
            if left == 0 {
                step.set_status(Status::Complete);
                step.message = format!("{name} is gone, its resources released");
            } else {
                step.set_status(Status::Started);
                step.message = format!(
                    "destroying the volume and unreserving {left} resources on agent {} when it offers them",
                    r.task.agent_id.value
                );
            }
        }
        self.check_release_done(now);
        Ok(out)
    }

    fn check_release_done(&mut self, now: Instant) {
        if self.uninstall
            && self.released_at.is_none()
            && self
                .plan
                .phases()
                .first()
                .is_some_and(|p| p.status(false).is_complete())
        {
            self.released_at = Some(now);
            self.clean_offers_since_release = false;
            self.revive = true;
        }
    }

    /// Records that the cleanup sent the release of these resource ids (DESTROY and
    /// UNRESERVE in an ACCEPT): they are released once an offer shows it done.
    pub fn release_sent<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) {
        self.book.sent(&ids.into_iter().collect());
    }

    /// Takes the releases `offers` show done, completes the steps of the erased
    /// instances with nothing left to release, and stores what is left.
    pub fn offered(&mut self, store: &StateStore, offers: &[Offer], now: Instant) -> Result<()> {
        let emptied = self.book.offered(store, offers, now)?;
        self.complete(emptied);
        Ok(())
    }

    /// Records that these resource ids are released (destroyed and unreserved): the
    /// steps of erased instances with nothing left to release complete.
    #[cfg(test)]
    pub fn released<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) {
        let emptied = self.book.remove(&ids.into_iter().collect());
        self.complete(emptied);
    }

    /// Completes the steps of these erased instances (all released).
    fn complete(&mut self, instances: Vec<String>) {
        for name in instances {
            if self.retirees.get(&name).is_some_and(|r| r.erased)
                && let Some(mut step) = self.plan.find_mut(&name)
            {
                tracing::info!(instance = %name, "volume destroyed and reservations released");
                step.set_status(Status::Complete);
                step.message = format!("{name} is gone, its resources released");
            }
        }
    }

    /// Records an offer cycle and whether it found reservations of the service to
    /// release (an uninstall tears down only after a cycle found none).
    pub fn offers_seen(&mut self, found_orphans: bool) {
        if self.released_at.is_some() && !found_orphans {
            self.clean_offers_since_release = true;
        }
    }

    /// Whether offers are needed (reservations wait to be released).
    pub fn wants_offers(&self) -> bool {
        !self.book.is_empty() || (self.uninstall && !self.plan.is_complete())
    }

    /// Returns (and clears) whether offers must be revived (declined agents included).
    pub fn take_revive(&mut self) -> bool {
        std::mem::take(&mut self.revive)
    }

    /// Whether the uninstall may tear the framework down now: every instance is
    /// released and an offer cycle found nothing more to release (or the grace passed).
    pub fn teardown_due(&self, now: Instant) -> bool {
        let Some(at) = self.plan.find(plan::TEARDOWN) else {
            return false;
        };
        self.uninstall
            && self.plan.candidates().contains(&at)
            && self.released_at.is_some_and(|t| {
                self.clean_offers_since_release || now.duration_since(t) >= TEARDOWN_GRACE
            })
    }

    /// Marks the teardown step done.
    pub fn torn_down(&mut self) {
        if let Some(mut step) = self.plan.find_mut(plan::TEARDOWN) {
            step.set_status(Status::Complete);
            step.message = "framework torn down, state wiped".into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use stead_proto::v1::{AgentId, TaskId, TaskState};
    use stead_state::MemPersister;

    fn task(name: &str, index: u32, ids: &[&str]) -> TaskInfo {
        let resources = crate::scheduler::releases::testing::reserved_cpus("svc-role", ids);
        TaskInfo {
            name: name.into(),
            task_id: TaskId {
                value: format!("{name}__1"),
            },
            agent_id: AgentId { value: "a1".into() },
            resources,
            labels: Some(res::labels([
                (task_labels::TASK_TYPE, "data"),
                (task_labels::INDEX, index.to_string().as_str()),
            ])),
            ..TaskInfo::default()
        }
    }

    fn status(t: &TaskInfo, state: TaskState) -> TaskStatus {
        TaskStatus {
            task_id: t.task_id.clone(),
            state: state as i32,
            ..TaskStatus::default()
        }
    }

    fn store_with(tasks: &[TaskInfo]) -> StateStore {
        let store = StateStore::new(Arc::new(MemPersister::new()));
        store.store_tasks(tasks).unwrap();
        for t in tasks {
            store
                .store_status(&t.name, &status(t, TaskState::TaskRunning))
                .unwrap();
        }
        store
    }

    #[test]
    fn decommissions_highest_index_first_then_releases() {
        let tasks = [
            task("data-0", 0, &["r0"]),
            task("data-3", 3, &["r3"]),
            task("data-4", 4, &["r4a", "r4b"]),
        ];
        let store = store_with(&tasks);
        let keep = |n: &str| n == "data-0";
        let mut r = Retirements::load(&store, &keep, false).unwrap();
        let order: Vec<&str> = r.plan().steps().map(|s| s.instance.as_str()).collect();
        assert_eq!(order, ["data-4", "data-3"]);
        let now = Instant::now();
        let kills = r.drive(&store, "fw", now).unwrap();
        assert_eq!(kills.len(), 1, "one instance at a time");
        assert_eq!(kills[0].kill.as_ref().unwrap().task_id.value, "data-4__1");
        assert!(
            r.drive(&store, "fw", now).unwrap().is_empty(),
            "no kill storm"
        );
        assert!(
            r.record_status(&store, &status(&tasks[2], TaskState::TaskKilled))
                .unwrap()
        );
        assert!(r.drive(&store, "fw", now).unwrap().is_empty());
        assert!(store.fetch_task("data-4").unwrap().is_none(), "erased");
        assert!(r.wants_offers());
        assert!(r.take_revive());
        r.released(["r4a"]);
        assert_eq!(r.plan().step((0, 0)).unwrap().status(), Status::Started);
        r.released(["r4b"]);
        assert_eq!(r.plan().step((0, 0)).unwrap().status(), Status::Complete);
        let kills = r.drive(&store, "fw", now).unwrap();
        assert_eq!(kills[0].kill.as_ref().unwrap().task_id.value, "data-3__1");
        assert!(store.fetch_task("data-0").unwrap().is_some(), "kept");
    }

    #[test]
    fn uninstall_retires_everything_then_tears_down() {
        let tasks = [task("a-0", 0, &["r0"]), task("b-0", 0, &[])];
        let store = store_with(&tasks);
        let mut r = Retirements::load(&store, &|_| true, true).unwrap();
        assert!(r.is_uninstall());
        let now = Instant::now();
        assert_eq!(r.drive(&store, "fw", now).unwrap().len(), 2, "in parallel");
        for t in &tasks {
            r.record_status(&store, &status(t, TaskState::TaskKilled))
                .unwrap();
        }
        r.drive(&store, "fw", now).unwrap();
        assert!(store.task_names().unwrap().is_empty());
        assert!(!r.teardown_due(now), "a0's reservation is not released yet");
        r.released(["r0"]);
        r.drive(&store, "fw", now).unwrap();
        assert!(!r.teardown_due(now), "waits for a clean offer cycle");
        r.offers_seen(true);
        assert!(!r.teardown_due(now));
        r.offers_seen(false);
        assert!(r.teardown_due(now));
        r.torn_down();
        assert!(r.plan().is_complete());
    }
}
