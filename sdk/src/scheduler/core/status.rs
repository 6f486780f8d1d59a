//! Status handling: what a task status means for its instance is decided by a pure
//! function ([`assess`]: status in, new record and relaunch delay out); the [`Core`]
//! then queues the record for the batch's commit, the acknowledgement behind it, and
//! tells the plans.

use std::time::Duration;

use stead_proto::v1::{TaskState, TaskStatus};
use stead_spec::{GoalState, TaskTypeSpec};
use stead_state::{GoalOverride, TaskMeta};

use super::Core;
use crate::Result;
use crate::mesos::calls;
use crate::offer::operations;
use crate::plan::Ended;
use crate::scheduler::Options;
use crate::scheduler::instance::{
    Instance, Progress, UNREACHABLE_WAIT, agent_gone, is_terminal, proves_launch,
};

/// How failed tasks are relaunched: the delay after repeated failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RelaunchPolicy {
    /// First delay (doubled per further failure).
    pub base: Duration,
    /// Largest delay.
    pub max: Duration,
    /// A task running this long before failing resets the count.
    pub stable_after: Duration,
    /// Whether an instance whose agent was removed for good (TASK_GONE_BY_OPERATOR) is
    /// replaced at once (automatic replacement is on: [`Options::replace_timeout`]).
    pub replace_removed: bool,
}

impl RelaunchPolicy {
    /// The policy the options set.
    pub(crate) fn of(opts: &Options) -> RelaunchPolicy {
        RelaunchPolicy {
            base: opts.backoff_base,
            max: opts.backoff_max,
            stable_after: opts.stable_after,
            replace_removed: opts.replace_timeout.is_some(),
        }
    }

    /// The delay before relaunching after `failures` consecutive failures: none for the
    /// first, then `base`, doubled each time, at most `max`.
    pub(crate) fn delay(&self, failures: u32) -> Duration {
        if failures <= 1 {
            return Duration::ZERO;
        }
        let exp = failures.saturating_sub(2).min(20);
        self.base.saturating_mul(1u32 << exp).min(self.max)
    }
}

/// What a status of an instance's current task means.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Assessment {
    /// The instance's record after the status.
    pub meta: TaskMeta,
    /// How long to wait before relaunching (zero: at once, or no relaunch).
    pub delay: Duration,
    /// The status repeats what is known (a reconciliation answer): nothing to store.
    pub repeat: bool,
    /// The master resent the very status already stored (same uuid): it is only
    /// acknowledged again.
    pub duplicate: bool,
}

/// Assesses `status` of the current task of `inst` (of type `tt`) at `now_ms`.
pub(crate) fn assess(
    status: &TaskStatus,
    inst: &Instance,
    tt: &TaskTypeSpec,
    policy: &RelaunchPolicy,
    running_for: Option<Duration>,
    now_ms: u64,
) -> Assessment {
    let known = inst.status.as_ref().filter(|k| k.task_id == status.task_id);
    if status.uuid.is_some() && known.is_some_and(|k| k.uuid == status.uuid) {
        return Assessment {
            meta: inst.meta.clone(),
            delay: Duration::ZERO,
            repeat: true,
            duplicate: true,
        };
    }
    let state = status.state();
    let mut meta = inst.meta.clone();
    if proves_launch(state) {
        Instance::set_reserved(&mut meta, true);
    }
    let mut delay = Duration::ZERO;
    let terminal = is_terminal(state);
    let goal_reached =
        terminal && state == TaskState::TaskFinished && tt.goal != GoalState::Running;
    if terminal && !goal_reached {
        if meta.goal_override == Some(GoalOverride::Restart) {
            // The requested restart happened: relaunch at once, no failure counted.
            meta.goal_override = None;
            meta.consecutive_failures = 0;
        } else {
            if running_for.is_some_and(|d| d >= policy.stable_after) {
                meta.consecutive_failures = 0;
            }
            meta.consecutive_failures = meta.consecutive_failures.saturating_add(1);
            delay = policy.delay(meta.consecutive_failures);
            meta.backoff_until_ms = (!delay.is_zero()).then(|| {
                now_ms.saturating_add(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX))
            });
        }
    }
    if state == TaskState::TaskGoneByOperator && policy.replace_removed && !inst.replacing() {
        // The operator marked the agent gone: Mesos never lets it back, so the instance
        // cannot be relaunched in place. It is permanently failed.
        Instance::set_replacing(&mut meta, GoalOverride::PermanentlyFailed);
        delay = Duration::ZERO;
    }
    // An update without a uuid (a reconciliation answer) that repeats the known state of
    // the task adds nothing to store: a failover of 50,000 tasks would rewrite them all.
    let repeat = status.uuid.is_none()
        && inst.meta == meta
        && known
            .is_some_and(|known| known.state == status.state && known.healthy == status.healthy);
    Assessment {
        meta,
        delay,
        repeat,
        duplicate: false,
    }
}

/// A status in a step's message: `<task id> <STATE>[: <message>]`.
fn status_line(status: &TaskStatus) -> String {
    format!(
        "{} {}{}",
        status.task_id.value,
        status.state().as_str_name(),
        status
            .message
            .as_deref()
            .map(|m| format!(": {m}"))
            .unwrap_or_default()
    )
}

impl Core {
    pub(super) async fn on_update(&mut self, status: TaskStatus) -> Result<()> {
        let task_id = status.task_id.value.clone();
        self.reconciler.answered(&task_id);
        let fw = self.framework_id.clone().unwrap_or_default();
        if self.life.record_retiring_status(&self.store, &status)? {
            // Stored: acknowledged with the batch.
            self.pending.ack(calls::acknowledge(&fw, &status));
            return Ok(());
        }
        let state = status.state();
        let name = operations::instance_of(&task_id).map(String::from);
        let current = name
            .as_ref()
            .and_then(|n| self.instances.get(n))
            .filter(|i| i.task_id() == Some(task_id.as_str()));
        let (Some(name), Some(inst)) = (name.clone(), current) else {
            // An older launch (or a task this service does not know): nothing to record.
            if !is_terminal(state) {
                tracing::warn!(task = %task_id, "killing a task that is not the current launch of its instance");
                let agent = status.agent_id.as_ref().map(|a| a.value.as_str());
                self.outbox.send(&calls::kill(&fw, &task_id, agent)).await;
            }
            self.pending.ack(calls::acknowledge(&fw, &status));
            return Ok(());
        };
        let tt = self.spec.task_types[inst.type_idx].clone();
        let now = self.clock.now();
        let running_for = inst.running_since.map(|t| now.saturating_duration_since(t));
        let policy = RelaunchPolicy::of(&self.opts);
        let assessed = assess(
            &status,
            inst,
            &tt,
            &policy,
            running_for,
            self.clock.epoch_ms(),
        );
        let removed = !inst.replacing()
            && assessed.meta.goal_override == Some(GoalOverride::PermanentlyFailed);
        if assessed.duplicate {
            // Stored already: acknowledged again with the batch, nothing else changes.
            self.pending.ack(calls::acknowledge(&fw, &status));
            return Ok(());
        }
        // Persist, then acknowledge: both wait for the batch's group commit.
        if !assessed.repeat {
            let meta_changed = inst.meta != assessed.meta;
            self.pending.update(
                &name,
                &status,
                meta_changed.then_some(&assessed.meta),
                calls::acknowledge(&fw, &status),
            );
        }
        let Some(inst) = self.instances.get_mut(&name) else {
            return Ok(());
        };
        let previous = inst.status.as_ref().map(|s| s.state());
        if !assessed.repeat {
            inst.status = Some(status.clone());
        }
        inst.meta = assessed.meta;
        if state == TaskState::TaskRunning && inst.running_since.is_none() {
            inst.running_since = Some(now);
            inst.running_since_ms = Some(self.clock.epoch_ms());
        }
        if previous != Some(state) {
            let message = status.message.as_deref().unwrap_or("");
            if is_failure(state) {
                tracing::warn!(instance = %name, task = %task_id, state = state.as_str_name(), message, "task failed");
            } else {
                tracing::info!(instance = %name, task = %task_id, state = state.as_str_name(), message, "task status");
            }
        }
        let progress = inst.progress(&tt);
        let done = inst.done(&tt);
        let replacing = inst.replacing();
        if state == TaskState::TaskRunning {
            self.running(&name, &task_id);
        }
        if replacing
            && previous == Some(TaskState::TaskUnreachable)
            && matches!(progress, Progress::Launching | Progress::Running { .. })
        {
            // Replaced while its agent was unreachable (the kill may not have reached
            // it): the task that turned up again is killed now.
            self.kill_current(&name).await;
        }
        if is_terminal(state)
            && agent_gone(&status)
            && let Some(agent) = &status.agent_id
        {
            self.gone
                .lost(&self.store, &agent.value, self.clock.epoch_ms())?;
        }
        if removed {
            tracing::warn!(instance = %name, "its agent was removed: replacing it");
            self.replacement_planned(&name, GoalOverride::PermanentlyFailed);
        }
        if done {
            let current = self.is_current_name(&name);
            let message = format!("{} is {}", task_id, state.as_str_name());
            self.plans.reached_goal(&name, current, &message);
            return Ok(());
        }
        match progress {
            Progress::Running { ready: false } => self.plans.awaits_readiness(&name),
            Progress::Unreachable if !replacing => {
                let message = format!("{}; {UNREACHABLE_WAIT}", status_line(&status));
                self.plans.unreachable(&name, &message);
            }
            Progress::Ended(_) => {
                // New work: make sure offers flow again (filters from earlier declines).
                self.flow.revived_for.remove(&name);
                let mut message = status_line(&status);
                let delayed_until = (!assessed.delay.is_zero()).then(|| {
                    message = format!(
                        "{message}; relaunch delayed {}s after repeated failures",
                        assessed.delay.as_secs()
                    );
                    now + assessed.delay
                });
                self.plans.ended(
                    &name,
                    Ended {
                        replacing,
                        delayed_until,
                        message,
                    },
                );
            }
            _ => {}
        }
        Ok(())
    }
}

/// Whether `state` tells of a failure (logged as a warning) rather than progress or an
/// ordered end (a kill or a finish).
fn is_failure(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::TaskFailed
            | TaskState::TaskLost
            | TaskState::TaskError
            | TaskState::TaskDropped
            | TaskState::TaskGone
            | TaskState::TaskGoneByOperator
            | TaskState::TaskUnreachable
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use stead_proto::v1::TaskId;

    fn policy() -> RelaunchPolicy {
        RelaunchPolicy {
            base: Duration::from_secs(2),
            max: Duration::from_secs(60),
            stable_after: Duration::from_secs(30),
            replace_removed: true,
        }
    }

    fn tt(goal: GoalState) -> TaskTypeSpec {
        let mut tt = crate::scheduler::core::tests::spec(1).task_types[0].clone();
        tt.goal = goal;
        tt
    }

    fn status(state: TaskState, uuid: bool) -> TaskStatus {
        TaskStatus {
            task_id: TaskId {
                value: "data-0__a".into(),
            },
            state: state as i32,
            uuid: uuid.then(|| b"u".to_vec()),
            ..TaskStatus::default()
        }
    }

    #[test]
    fn delays_double_from_the_second_failure_up_to_the_maximum() {
        let p = policy();
        let delays: Vec<u64> = (1..=8).map(|f| p.delay(f).as_secs()).collect();
        assert_eq!(delays, vec![0, 2, 4, 8, 16, 32, 60, 60]);
    }

    #[test]
    fn failures_count_and_delay_unless_the_task_ran_long_enough() {
        let mut inst = Instance::new("data-0".into(), 0, 0);
        inst.meta.consecutive_failures = 2;
        let tt = tt(GoalState::Running);
        let failed = status(TaskState::TaskFailed, true);
        let a = assess(&failed, &inst, &tt, &policy(), None, 1_000);
        assert_eq!(a.meta.consecutive_failures, 3);
        assert_eq!(a.delay, Duration::from_secs(4));
        assert_eq!(a.meta.backoff_until_ms, Some(5_000));
        assert!(!a.repeat);
        let stable = assess(
            &failed,
            &inst,
            &tt,
            &policy(),
            Some(Duration::from_secs(31)),
            1_000,
        );
        assert_eq!(stable.meta.consecutive_failures, 1);
        assert_eq!(stable.delay, Duration::ZERO);
    }

    #[test]
    fn a_requested_restart_is_no_failure_and_a_finished_once_task_no_failure_either() {
        let mut inst = Instance::new("data-0".into(), 0, 0);
        inst.meta.goal_override = Some(GoalOverride::Restart);
        inst.meta.consecutive_failures = 4;
        let killed = status(TaskState::TaskKilled, true);
        let a = assess(&killed, &inst, &tt(GoalState::Running), &policy(), None, 0);
        assert_eq!(
            (a.meta.goal_override, a.meta.consecutive_failures),
            (None, 0)
        );
        assert_eq!(a.delay, Duration::ZERO);
        let plain = Instance::new("data-0".into(), 0, 0);
        let finished = status(TaskState::TaskFinished, true);
        let once = assess(&finished, &plain, &tt(GoalState::Once), &policy(), None, 0);
        assert_eq!(once.meta.consecutive_failures, 0);
    }

    #[test]
    fn a_reconciliation_answer_that_repeats_the_known_state_is_a_repeat() {
        let mut inst = Instance::new("data-0".into(), 0, 0);
        let running = status(TaskState::TaskRunning, false);
        Instance::set_reserved(&mut inst.meta, true);
        inst.status = Some(running.clone());
        let tt = tt(GoalState::Running);
        assert!(assess(&running, &inst, &tt, &policy(), None, 0).repeat);
        // The same state with a uuid is a new update: stored and acknowledged.
        let update = status(TaskState::TaskRunning, true);
        assert!(!assess(&update, &inst, &tt, &policy(), None, 0).repeat);
    }

    #[test]
    fn gone_by_operator_fails_the_instance_permanently_when_replacement_is_automatic() {
        let mut inst = Instance::new("data-0".into(), 0, 0);
        inst.meta.consecutive_failures = 3;
        let gone = status(TaskState::TaskGoneByOperator, true);
        let tt = tt(GoalState::Running);
        let a = assess(&gone, &inst, &tt, &policy(), None, 0);
        assert_eq!(a.meta.goal_override, Some(GoalOverride::PermanentlyFailed));
        assert_eq!((a.meta.consecutive_failures, a.delay), (0, Duration::ZERO));
        let manual = RelaunchPolicy {
            replace_removed: false,
            ..policy()
        };
        let waits = assess(&gone, &inst, &tt, &manual, None, 0);
        assert_eq!(waits.meta.goal_override, None);
        // A plain TASK_GONE (the agent may be back) is relaunched as any failure.
        let plain = assess(
            &status(TaskState::TaskGone, true),
            &inst,
            &tt,
            &policy(),
            None,
            0,
        );
        assert_eq!(plain.meta.goal_override, None);
    }

    #[test]
    fn a_resent_status_is_a_duplicate_and_counts_no_second_failure() {
        let mut inst = Instance::new("data-0".into(), 0, 0);
        let failed = status(TaskState::TaskFailed, true);
        let tt = tt(GoalState::Running);
        let first = assess(&failed, &inst, &tt, &policy(), None, 0);
        assert!(!first.duplicate);
        inst.meta = first.meta;
        inst.status = Some(failed.clone());
        let again = assess(&failed, &inst, &tt, &policy(), None, 0);
        assert!(again.duplicate);
        assert_eq!(again.meta.consecutive_failures, 1);
    }
}
