//! Task status updates: reliable delivery (uuid, resent with backoff until acknowledged, in
//! order per task), acknowledgements and reconciliation.

use std::time::Duration;

use stead_proto::scheduler::{Event, call, event};
use stead_proto::v1::task_status::{Reason, Source};
use stead_proto::v1::{AgentId, ExecutorId, TaskId, TaskState, TaskStatus};
use tokio::time::Instant;

use super::{CompletedTask, Master, now_secs};
use crate::executor::ExecutorUpdate;
use crate::resources::Resources;

/// The longest interval between two resends of an update (as Mesos's agents).
const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// Whether a state is terminal.
pub(crate) fn is_terminal(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::TaskFinished
            | TaskState::TaskFailed
            | TaskState::TaskKilled
            | TaskState::TaskError
            | TaskState::TaskLost
            | TaskState::TaskDropped
            | TaskState::TaskGone
            | TaskState::TaskGoneByOperator
    )
}

fn update_event(status: TaskStatus) -> Event {
    Event {
        r#type: Some(event::Type::Update as i32),
        update: Some(event::Update { status }),
        ..Default::default()
    }
}

/// A status without uuid, as the master generates it.
pub(super) fn master_status(
    task_id: &str,
    agent_id: Option<&str>,
    state: TaskState,
    reason: Reason,
    message: impl Into<String>,
) -> TaskStatus {
    TaskStatus {
        task_id: TaskId {
            value: task_id.to_string(),
        },
        state: state as i32,
        message: Some(message.into()),
        source: Some(Source::Master as i32),
        reason: Some(reason as i32),
        agent_id: agent_id.map(|a| AgentId {
            value: a.to_string(),
        }),
        timestamp: Some(now_secs()),
        ..Default::default()
    }
}

impl Master {
    /// An update from an executor.
    pub(super) fn executor_update(&mut self, u: ExecutorUpdate) {
        let terminal = is_terminal(u.state);
        // Find the agent running this executor run: the task's agent, else any agent (the
        // task may be gone with its framework while its executor still reports).
        let key = (u.framework_id.clone(), u.task_id.clone());
        let runs = |a: &super::Agent| a.executors.get(&key).is_some_and(|h| h.seq == u.seq);
        let agent_id = self
            .frameworks
            .get(&u.framework_id)
            .and_then(|f| f.tasks.get(&u.task_id))
            .map(|t| t.agent_id.clone())
            .filter(|a| self.agents.get(a).is_some_and(runs))
            .or_else(|| {
                self.agents
                    .iter()
                    .find(|(_, a)| runs(a))
                    .map(|(id, _)| id.clone())
            });
        let Some(agent_id) = agent_id else {
            return;
        };
        if let Some(a) = self.agents.get_mut(&agent_id)
            && a.status == super::AgentStatus::Disconnected
        {
            a.held.push(u);
            return;
        }
        if terminal && let Some(a) = self.agents.get_mut(&agent_id) {
            a.executors.remove(&key);
        }
        let status = TaskStatus {
            task_id: TaskId {
                value: u.task_id.clone(),
            },
            state: u.state as i32,
            message: u.message,
            source: Some(u.source as i32),
            reason: u.reason.map(|r| r as i32),
            agent_id: Some(AgentId {
                value: agent_id.clone(),
            }),
            executor_id: Some(ExecutorId {
                value: u.task_id.clone(),
            }),
            timestamp: Some(now_secs()),
            uuid: Some(uuid::Uuid::new_v4().as_bytes().to_vec()),
            healthy: u.healthy,
            check_status: u.check_status,
            ..Default::default()
        };
        let live = self
            .frameworks
            .get(&u.framework_id)
            .and_then(|f| f.tasks.get(&u.task_id))
            .is_some_and(|t| t.live && t.executor_seq == u.seq);
        if live {
            self.record_update(&u.framework_id, &u.task_id, status);
        }
    }

    /// Records a reliable update: it becomes the task's latest status, is queued for delivery,
    /// and a terminal one releases the task's resources.
    pub(super) fn record_update(&mut self, fid: &str, task_id: &str, status: TaskStatus) {
        let state = TaskState::try_from(status.state).unwrap_or(TaskState::TaskLost);
        let retry = self.config.status_update_retry;
        let Some(fw) = self.frameworks.get_mut(fid) else {
            return;
        };
        let Some(task) = fw.tasks.get_mut(task_id) else {
            return;
        };
        task.latest = status.clone();
        task.pending.push_back(status.clone());
        let send_now = task.pending.len() == 1 && fw.conn.is_some();
        let resend_at = Instant::now() + retry;
        if send_now {
            task.resend_at = Some(resend_at);
            task.backoff = retry;
        }
        let release = (is_terminal(state) || state == TaskState::TaskUnreachable) && task.live;
        // The resources a task held are only needed when it lets them go.
        let released = release.then(|| {
            task.live = false;
            let resources: Resources = task.info.resources.iter().cloned().collect();
            (task.agent_id.clone(), resources)
        });
        if send_now {
            fw.send(&update_event(status));
            self.resend_due(resend_at);
        }
        if let Some((agent_id, resources)) = released {
            if let Some(a) = self.agents.get_mut(&agent_id) {
                a.used.subtract_all(&resources);
                a.changed();
            }
            self.dirty_agent(&agent_id);
            self.checkpoint_agent(&agent_id);
        }
    }

    /// ACKNOWLEDGE: the head update of the task is done; the next one goes out.
    pub(super) fn acknowledge(&mut self, fid: &str, task_id: &str, uuid: &[u8]) {
        let retry = self.config.status_update_retry;
        let Some(fw) = self.frameworks.get_mut(fid) else {
            return;
        };
        let Some(task) = fw.tasks.get_mut(task_id) else {
            return;
        };
        if task.pending.front().and_then(|s| s.uuid.as_deref()) != Some(uuid) {
            tracing::debug!(task = %task_id, "acknowledgement of an update not in flight; ignored");
            return;
        }
        task.pending.pop_front();
        if let Some(next) = task.pending.front().cloned() {
            let at = Instant::now() + retry;
            task.resend_at = Some(at);
            task.backoff = retry;
            fw.send(&update_event(next));
            self.resend_due(at);
            return;
        }
        task.resend_at = None;
        let state = TaskState::try_from(task.latest.state).unwrap_or(TaskState::TaskLost);
        if is_terminal(state)
            && !task.live
            && let Some(t) = fw.tasks.remove(task_id)
        {
            {
                let agent_id = t.agent_id.clone();
                fw.remember_completed(CompletedTask {
                    info: t.info,
                    agent_id: t.agent_id,
                    latest: t.latest,
                    sandbox: t.sandbox,
                });
                if let Some(agent) = self.agents.get_mut(&agent_id) {
                    agent.tasks.remove(&(fid.to_string(), task_id.to_string()));
                }
                self.checkpoint_agent(&agent_id);
            }
        }
    }

    /// Resends the head update of every task whose timer expired. The tasks are scanned
    /// only when the earliest scheduled resend is due.
    pub(super) fn resend_updates(&mut self, now: Instant) {
        if self.next_resend.is_none_or(|r| r > now) {
            return;
        }
        let mut next: Option<Instant> = None;
        for fw in self.frameworks.values_mut() {
            if fw.conn.is_none() {
                continue;
            }
            let mut events = Vec::new();
            for task in fw.tasks.values_mut() {
                if task.resend_at.is_some_and(|r| r <= now)
                    && let Some(head) = task.pending.front()
                {
                    events.push(update_event(head.clone()));
                    task.backoff = (task.backoff * 2).min(MAX_BACKOFF);
                    task.resend_at = Some(now + task.backoff);
                }
                if let Some(r) = task.resend_at.filter(|_| !task.pending.is_empty()) {
                    next = Some(next.map_or(r, |n| n.min(r)));
                }
            }
            for e in &events {
                fw.send(e);
            }
        }
        self.next_resend = next;
    }

    /// After a (re)subscription: every unacknowledged head update is sent again.
    pub(super) fn resend_all_pending(&mut self, fid: &str) {
        let retry = self.config.status_update_retry;
        let Some(fw) = self.frameworks.get_mut(fid) else {
            return;
        };
        let now = Instant::now();
        let mut events = Vec::new();
        for task in fw.tasks.values_mut() {
            if let Some(head) = task.pending.front() {
                events.push(update_event(head.clone()));
                task.backoff = retry;
                task.resend_at = Some(now + retry);
            }
        }
        for e in &events {
            fw.send(e);
        }
        if !events.is_empty() {
            self.resend_due(now + retry);
        }
    }

    /// RECONCILE: explicit (listed tasks) or implicit (no task listed: every known task).
    pub(super) fn reconcile(&mut self, fid: &str, tasks: Vec<call::reconcile::Task>) {
        let Some(fw) = self.frameworks.get(fid) else {
            return;
        };
        let reconciled = |latest: &TaskStatus| {
            let mut s = latest.clone();
            s.uuid = None;
            s.source = Some(Source::Master as i32);
            s.reason = Some(Reason::Reconciliation as i32);
            s.message = Some("Reconciliation: Latest task state".into());
            s.timestamp = Some(now_secs());
            s
        };
        let mut statuses = Vec::new();
        if tasks.is_empty() {
            statuses.extend(fw.tasks.values().map(|t| reconciled(&t.latest)));
        } else {
            for t in tasks {
                let id = &t.task_id.value;
                if let Some(task) = fw.tasks.get(id) {
                    statuses.push(reconciled(&task.latest));
                } else if let Some(c) = fw
                    .completed
                    .iter()
                    .rev()
                    .find(|c| &c.info.task_id.value == id)
                {
                    statuses.push(reconciled(&c.latest));
                } else {
                    statuses.push(self.unknown_task_status(
                        id,
                        t.agent_id.as_ref().map(|a| a.value.as_str()),
                        fw.partition_aware(),
                    ));
                }
            }
        }
        for s in statuses {
            fw.send(&update_event(s));
        }
    }

    /// The reconciliation answer for a task the master does not know, by what it knows of
    /// the agent named (as Mesos 1.11): registered, TASK_GONE; unreachable,
    /// TASK_UNREACHABLE; removed by the operator, TASK_GONE_BY_OPERATOR; unknown or not
    /// named, TASK_UNKNOWN. TASK_LOST to a framework that is not partition-aware.
    fn unknown_task_status(
        &self,
        task_id: &str,
        agent: Option<&str>,
        partition_aware: bool,
    ) -> TaskStatus {
        let known = agent.and_then(|a| self.agents.get(a));
        let (state, message, since) = match known {
            Some(a) if a.status == super::AgentStatus::Active => (
                TaskState::TaskGone,
                "Reconciliation: Task is unknown to the agent",
                None,
            ),
            Some(a) => (
                TaskState::TaskUnreachable,
                "Reconciliation: Task is unreachable",
                a.unreachable_since,
            ),
            None if agent.is_some_and(|a| self.gone_agents.contains(a)) => (
                TaskState::TaskGoneByOperator,
                "Reconciliation: Task is gone",
                None,
            ),
            None => (
                TaskState::TaskUnknown,
                "Reconciliation: Task is unknown",
                None,
            ),
        };
        let state = if partition_aware {
            state
        } else {
            TaskState::TaskLost
        };
        let mut status = master_status(task_id, agent, state, Reason::Reconciliation, message);
        status.unreachable_time = since;
        status
    }

    /// Sends an update that needs no acknowledgement (master-generated: TASK_ERROR, TASK_DROPPED...).
    pub(super) fn send_unreliable(&mut self, fid: &str, status: TaskStatus) {
        if let Some(fw) = self.frameworks.get_mut(fid) {
            fw.send(&update_event(status.clone()));
            let task_id = status.task_id.value.clone();
            let agent_id = status
                .agent_id
                .as_ref()
                .map(|a| a.value.clone())
                .unwrap_or_default();
            fw.remember_completed(CompletedTask {
                info: std::sync::Arc::new(stead_proto::v1::TaskInfo {
                    task_id: TaskId { value: task_id },
                    ..Default::default()
                }),
                agent_id,
                latest: status,
                sandbox: None,
            });
        }
    }
}
