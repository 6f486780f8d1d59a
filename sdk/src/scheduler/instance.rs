//! What the scheduler knows about one pod instance, derived from the stored state.

use std::time::Instant;

use stead_proto::v1::{TaskState, TaskStatus, task_status::Reason};
use stead_spec::{GoalState, TaskTypeSpec};
use stead_state::{GoalOverride, TaskMeta};

use super::stored_task::StoredTask;
use crate::offer::Location;

/// Where an instance is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Never launched.
    Absent,
    /// Launched; not running yet (or no news since the launch).
    Launching,
    /// Running; `ready` once its readiness check passed (or it has none).
    Running {
        /// Whether the readiness check passed.
        ready: bool,
    },
    /// Its agent is unreachable (TASK_UNREACHABLE): the task may still run, and is
    /// waited for rather than relaunched.
    Unreachable,
    /// Not running any more.
    Ended(TaskState),
}

/// One pod instance (e.g. `data-2`).
#[derive(Debug, Clone)]
pub struct Instance {
    /// The instance name.
    pub name: String,
    /// Index of its task type in the spec.
    pub type_idx: usize,
    /// Its index within the task type.
    pub index: u32,
    /// The last launched task, as stored.
    pub task: Option<StoredTask>,
    /// The latest status of that task, as stored.
    pub status: Option<TaskStatus>,
    /// The scheduler's record.
    pub meta: TaskMeta,
    /// When the current task was first seen running (this process's clock).
    pub running_since: Option<Instant>,
    /// The same moment in milliseconds since the Unix epoch, for the operator's views.
    pub running_since_ms: Option<u64>,
}

/// Whether a task in `state` is gone (not running and never will again). A task whose
/// agent is unreachable may still run: TASK_UNREACHABLE is not terminal.
pub fn is_terminal(state: TaskState) -> bool {
    !matches!(
        state,
        TaskState::TaskStaging
            | TaskState::TaskStarting
            | TaskState::TaskRunning
            | TaskState::TaskKilling
            | TaskState::TaskUnreachable
    )
}

/// Why an instance whose agent is unreachable is not relaunched.
pub const UNREACHABLE_WAIT: &str =
    "its agent is unreachable: waiting for it to come back (not relaunched elsewhere)";

/// Whether a status proves the task reached an agent (so its reservations exist).
pub fn proves_launch(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::TaskStaging
            | TaskState::TaskStarting
            | TaskState::TaskRunning
            | TaskState::TaskKilling
            | TaskState::TaskFinished
            | TaskState::TaskFailed
            | TaskState::TaskKilled
    )
}

/// Whether a terminal status says the task's agent is gone (it starts the clock of
/// automatic replacement; an unreachable agent is waited for instead). A TASK_GONE
/// reconciliation answer says the agent is there but does not know the task.
pub fn agent_gone(status: &TaskStatus) -> bool {
    let state = status.state();
    let reconciled = status.reason == Some(Reason::Reconciliation as i32);
    state == TaskState::TaskGoneByOperator
        || (state == TaskState::TaskGone && !reconciled)
        || (state == TaskState::TaskLost
            && matches!(
                status.reason.and_then(|r| Reason::try_from(r).ok()),
                Some(
                    Reason::AgentRemoved
                        | Reason::AgentRemovedByOperator
                        | Reason::AgentDisconnected
                        | Reason::AgentUnknown
                )
            ))
}

impl Instance {
    /// A never-launched instance.
    pub fn new(name: String, type_idx: usize, index: u32) -> Instance {
        Instance {
            name,
            type_idx,
            index,
            task: None,
            status: None,
            meta: TaskMeta::default(),
            running_since: None,
            running_since_ms: None,
        }
    }

    /// The current Mesos task id.
    pub fn task_id(&self) -> Option<&str> {
        self.task.as_ref().map(StoredTask::task_id)
    }

    /// The agent of the current task.
    pub fn agent_id(&self) -> Option<&str> {
        self.task.as_ref().map(StoredTask::agent_id)
    }

    /// The hostname of the agent the instance was last placed on.
    pub fn hostname(&self) -> Option<&str> {
        self.meta.hostname.as_deref()
    }

    /// Where the instance was last placed.
    pub fn location(&self) -> Option<Location> {
        let hostname = self.hostname()?.to_string();
        Some(Location {
            hostname,
            attributes: self.meta.attributes.clone(),
        })
    }

    /// Records a new placement in the meta record.
    pub fn set_location(meta: &mut TaskMeta, agent_id: &str, location: &Location) {
        meta.agent_id = Some(agent_id.to_string());
        meta.hostname = Some(location.hostname.clone());
        meta.attributes = location.attributes.clone();
    }

    /// Whether the current task's reservations are known to exist.
    pub fn reserved(&self) -> bool {
        self.meta.reserved
    }

    /// Sets the "reservations exist" flag of a meta record.
    pub fn set_reserved(meta: &mut TaskMeta, reserved: bool) {
        meta.reserved = reserved;
    }

    /// Marks a meta record for a replacement (`why`): no failure counted, no backoff.
    pub fn set_replacing(meta: &mut TaskMeta, why: GoalOverride) {
        meta.goal_override = Some(why);
        meta.consecutive_failures = 0;
        meta.backoff_until_ms = None;
    }

    /// Whether an operator or the scheduler decided to move this instance elsewhere.
    pub fn replacing(&self) -> bool {
        matches!(
            self.meta.goal_override,
            Some(GoalOverride::Replace | GoalOverride::PermanentlyFailed)
        )
    }

    /// Where the instance is in its life.
    pub fn progress(&self, task_type: &TaskTypeSpec) -> Progress {
        if self.task.is_none() {
            return Progress::Absent;
        }
        let Some(status) = &self.status else {
            return Progress::Launching;
        };
        match status.state() {
            TaskState::TaskRunning => Progress::Running {
                ready: task_type.readiness_check.is_none()
                    || status
                        .check_status
                        .as_ref()
                        .and_then(|c| c.command.as_ref())
                        .and_then(|c| c.exit_code)
                        == Some(0),
            },
            TaskState::TaskUnreachable => Progress::Unreachable,
            s if is_terminal(s) => Progress::Ended(s),
            _ => Progress::Launching,
        }
    }

    /// Whether the instance has reached its goal.
    pub fn done(&self, task_type: &TaskTypeSpec) -> bool {
        match (task_type.goal, self.progress(task_type)) {
            (GoalState::Running, Progress::Running { ready }) => ready && !self.replacing(),
            (GoalState::Finished | GoalState::Once, Progress::Ended(TaskState::TaskFinished)) => {
                !self.replacing()
            }
            _ => false,
        }
    }

    /// Whether the instance needs a launch (never launched, ended short of its goal, or
    /// being replaced while its agent is unreachable).
    pub fn needs_launch(&self, task_type: &TaskTypeSpec) -> bool {
        match self.progress(task_type) {
            Progress::Absent => true,
            Progress::Ended(_) => !self.done(task_type),
            Progress::Unreachable => self.replacing(),
            _ => false,
        }
    }

    /// Whether the instance waits for its unreachable agent (and is not being replaced).
    pub fn waits_for_agent(&self, task_type: &TaskTypeSpec) -> bool {
        self.progress(task_type) == Progress::Unreachable && !self.replacing()
    }

    /// The resource ids of the current task when a relaunch in place is possible.
    pub fn in_place(&self) -> Option<(String, Vec<String>)> {
        if self.replacing() || !self.reserved() {
            return None;
        }
        let task = self.task.as_ref()?;
        let ids = task.resource_ids();
        (!ids.is_empty()).then(|| (task.agent_id().to_string(), ids.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stead_proto::v1::{AgentId, TaskId, TaskInfo};
    use stead_spec::CommandSpec;

    fn status(state: TaskState) -> TaskStatus {
        TaskStatus {
            task_id: TaskId { value: "t".into() },
            state: state as i32,
            ..TaskStatus::default()
        }
    }

    #[test]
    fn progress_and_goal() {
        let tt = TaskTypeSpec::new("data", 1, CommandSpec::new("x"));
        let mut i = Instance::new("data-0".into(), 0, 0);
        assert_eq!(i.progress(&tt), Progress::Absent);
        assert!(i.needs_launch(&tt));
        i.task = Some(StoredTask::from(TaskInfo {
            name: "data-0".into(),
            task_id: TaskId {
                value: "data-0__1".into(),
            },
            agent_id: AgentId { value: "a".into() },
            ..TaskInfo::default()
        }));
        assert_eq!(i.progress(&tt), Progress::Launching);
        assert!(!i.needs_launch(&tt));
        i.status = Some(status(TaskState::TaskRunning));
        assert!(i.done(&tt));
        i.status = Some(status(TaskState::TaskFailed));
        assert!(i.needs_launch(&tt));
        assert_eq!(i.in_place(), None, "no reservation proven, no resource ids");
        // An unreachable task may still run: waited for, not relaunched, unless replaced.
        i.status = Some(status(TaskState::TaskUnreachable));
        assert_eq!(i.progress(&tt), Progress::Unreachable);
        assert!(!i.needs_launch(&tt) && !i.done(&tt) && i.waits_for_agent(&tt));
        assert!(!agent_gone(i.status.as_ref().expect("a status")));
        Instance::set_replacing(&mut i.meta, GoalOverride::Replace);
        assert!(i.needs_launch(&tt) && !i.waits_for_agent(&tt));
    }

    #[test]
    fn location_round_trips_through_meta() {
        let mut i = Instance::new("data-0".into(), 0, 0);
        assert!(i.location().is_none());
        let loc = Location {
            hostname: "h".into(),
            attributes: [("zone".to_string(), "a".to_string())].into(),
        };
        Instance::set_location(&mut i.meta, "agent", &loc);
        assert_eq!(i.location(), Some(loc));
        let mut lost = status(TaskState::TaskLost);
        lost.reason = Some(Reason::AgentRemoved as i32);
        assert!(agent_gone(&lost));
        assert!(!agent_gone(&status(TaskState::TaskFailed)));
        // TASK_GONE as a reconciliation answer: the agent is there, the task unknown to it.
        let mut unknown_to_agent = status(TaskState::TaskGone);
        assert!(agent_gone(&unknown_to_agent));
        unknown_to_agent.reason = Some(Reason::Reconciliation as i32);
        assert!(!agent_gone(&unknown_to_agent));
    }
}
