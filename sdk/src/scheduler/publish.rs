//! Snapshot publication: the scheduler's state as the operator API and the Rust handle
//! see it ([`ServiceSnapshot`]), published on a watch channel, with every change of a
//! step's status logged once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;

use crate::api::{Endpoints, InstanceEndpoints};
use crate::plan::{PlanSnapshot, Status};

/// A snapshot is published at most once per this many times its own cost, unless the
/// plans' statuses or the subscription changed (those are published at once).
const PUBLISH_COST_FACTOR: u32 = 20;

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

    /// Where every launched instance can be reached.
    pub fn endpoints(&self) -> Endpoints {
        Endpoints {
            instances: self
                .instances
                .iter()
                .filter_map(|i| i.endpoints.clone())
                .collect(),
        }
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
    /// Whether its task runs and passed its readiness check (or reached its goal).
    pub ready: bool,
    /// When the scheduler first saw its current task running, in milliseconds since the
    /// Unix epoch.
    pub running_since_ms: Option<u64>,
    /// Where the current task can be reached.
    pub endpoints: Option<InstanceEndpoints>,
}

/// What must be published at once when it changes.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishKey {
    plans: [Option<Status>; 3],
    generations: [u64; 2],
    reconciled: bool,
    framework_id: Option<String>,
}

impl PublishKey {
    /// The statuses of the deploy, recovery and decommission or uninstall plans (when
    /// shown), the reconciliation and the framework id.
    pub fn new(
        plans: [Option<Status>; 3],
        reconciled: bool,
        framework_id: Option<&str>,
    ) -> PublishKey {
        PublishKey {
            plans,
            generations: [0; 2],
            reconciled,
            framework_id: framework_id.map(String::from),
        }
    }

    /// This key with the generations of the deploy and recovery plans: new work in a
    /// plan is published at once too, so that an operator command's answer is followed
    /// by snapshots that show the work it started.
    pub fn with_generations(mut self, generations: [u64; 2]) -> PublishKey {
        self.generations = generations;
        self
    }
}

/// Rate limit of snapshot publication: building a snapshot costs time linear in the
/// instances, so with many instances the snapshot follows the state within a bounded
/// share of the event loop's time (and at the latest at the next tick), while a change of a
/// plan's status or of the subscription is always published at once.
#[derive(Debug, Default)]
struct PublishGate {
    last: Option<(PublishKey, Instant, Duration)>,
}

impl PublishGate {
    /// Whether a snapshot with `key` should be published at `now`.
    fn due(&self, key: &PublishKey, now: Instant) -> bool {
        match &self.last {
            None => true,
            Some((last, at, cost)) => {
                last != key || now.duration_since(*at) >= *cost * PUBLISH_COST_FACTOR
            }
        }
    }

    /// Records a publication that started at `started` (its cost is measured from there).
    fn published(&mut self, key: PublishKey, started: Instant) {
        self.last = Some((key, started, started.elapsed()));
    }
}

/// Publishes snapshots and logs the steps' progress.
#[derive(Debug)]
pub struct Publisher {
    snapshots: watch::Sender<ServiceSnapshot>,
    /// The last logged status of each step, by plan and instance.
    last_statuses: HashMap<String, HashMap<String, Status>>,
    gate: PublishGate,
}

impl Publisher {
    /// Publishes on `snapshots`.
    pub fn new(snapshots: watch::Sender<ServiceSnapshot>) -> Publisher {
        Publisher {
            snapshots,
            last_statuses: HashMap::new(),
            gate: PublishGate::default(),
        }
    }

    /// Publishes the snapshot `build` makes, if `key` changed or the rate limit allows.
    pub fn publish(&mut self, key: PublishKey, build: impl FnOnce() -> ServiceSnapshot) {
        let started = Instant::now();
        if !self.gate.due(&key, started) {
            return;
        }
        let snapshot = build();
        self.log_progress(&snapshot.plans);
        self.snapshots.send_if_modified(|old| {
            if *old == snapshot {
                false
            } else {
                *old = snapshot;
                true
            }
        });
        self.gate.published(key, started);
    }

    /// Logs every step whose status changed since it was last logged.
    fn log_progress(&mut self, plans: &[PlanSnapshot]) {
        for p in plans {
            let seen = self.last_statuses.entry(p.name.clone()).or_default();
            for step in p.phases.iter().flat_map(|ph| ph.steps.iter()) {
                let before = seen.get(step.instance.as_str());
                if before == Some(&step.status) {
                    continue;
                }
                // A step first seen pending has no news: only changes are logged.
                if before.is_some() || step.status != Status::Pending {
                    // One line per change, at the level it deserves.
                    macro_rules! step_changed {
                        ($level:ident, $what:literal) => {
                            tracing::$level!(
                                plan = %p.name,
                                step = %step.name,
                                status = %step.status,
                                plan_status = %p.status,
                                message = %step.message,
                                $what
                            )
                        };
                    }
                    // A failed step needs an operator: a warning; the rest is progress.
                    if step.status == Status::Error || !step.errors.is_empty() {
                        step_changed!(warn, "plan step failed");
                    } else {
                        step_changed!(info, "plan progress");
                    }
                }
                seen.insert(step.instance.clone(), step.status);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_of_any_shown_plan_is_published_at_once_the_rest_rate_limited() {
        let key = |retire| {
            PublishKey::new(
                [Some(Status::Complete), Some(Status::Complete), retire],
                true,
                Some("fw"),
            )
        };
        let mut gate = PublishGate::default();
        let started = Instant::now();
        assert!(gate.due(&key(None), started));
        gate.published(key(None), started - Duration::from_secs(1));
        let now = Instant::now();
        // The last publication cost a second: the same key waits PUBLISH_COST_FACTOR of them.
        assert!(!gate.due(&key(None), now));
        assert!(gate.due(&key(Some(Status::InProgress)), now));
        assert!(gate.due(
            &key(None),
            now + Duration::from_secs(u64::from(PUBLISH_COST_FACTOR) + 1)
        ));
    }
}
