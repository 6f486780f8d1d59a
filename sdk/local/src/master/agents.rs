//! Agents: recovery from checkpoints, checkpointing, and fault injection (stop, start, remove).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use stead_proto::v1::task_status::{Reason, Source};
use stead_proto::v1::{FrameworkId, FrameworkInfo, TaskId, TaskInfo, TaskState, TaskStatus};

use super::{Agent, AgentAction, AgentStatus, Framework, Master, Task, now_secs};
use crate::Error;
use crate::checkpoint::{AgentCheckpoint, TaskCheckpoint};
use crate::config::AgentConfig;
use crate::executor::ExecutorHandle;
use crate::resources::{self, Resources};

/// The resources a configuration declares (all unreserved).
fn configured_resources(c: &AgentConfig) -> Resources {
    let mut r = Resources::new();
    r.add(&resources::scalar_resource("cpus", c.cpus));
    r.add(&resources::scalar_resource("mem", c.mem_mib));
    r.add(&resources::scalar_resource("disk", c.disk_mib));
    if !c.ports.is_empty() {
        r.add(&resources::ranges_resource("ports", &c.ports));
    }
    r
}

impl Master {
    /// Creates the agents from the configuration, recovering checkpointed identities,
    /// reservations and volumes; tasks that were live when the cluster stopped are reported
    /// lost (TASK_GONE for partition-aware frameworks) once their framework subscribes.
    pub(super) fn load_agents(&mut self) -> Result<(), Error> {
        let removed: HashSet<String> = self.cluster.removed_agents.iter().cloned().collect();
        let mut used_ids = HashSet::new();
        let configs = self.config.agents.clone();
        for (index, config) in configs.into_iter().enumerate() {
            let path = self.layout.agent_file(&config.id);
            if removed.contains(&config.id) {
                // Its id stays known as gone (what reconciliation answers for its tasks).
                if let Ok(Some(cp)) = crate::checkpoint::read::<AgentCheckpoint>(&path) {
                    self.gone_agents.insert(cp.agent_id);
                }
                continue;
            }
            let checkpoint = crate::checkpoint::read::<AgentCheckpoint>(&path)?;
            let mut total = configured_resources(&config);
            let (agent_id, lost) = match checkpoint {
                Some(cp) => {
                    let reserved: Resources = cp
                        .reserved_resources(&path)?
                        .into_iter()
                        .map(resources::normalize)
                        .collect();
                    let flat = reserved.flattened();
                    if !total.contains(&flat) {
                        return Err(Error::Checkpoint {
                            path,
                            message: format!(
                                "its reservations ({}) exceed the agent's configured resources ({})",
                                resources::describe(&flat),
                                resources::describe(&total)
                            ),
                        });
                    }
                    total.subtract_all(&flat);
                    total.add_all(&reserved);
                    (cp.agent_id, cp.tasks)
                }
                None => {
                    let mut id = format!("{}-S{index}", self.cluster.cluster_id);
                    if used_ids.contains(&id) {
                        id = format!("{id}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
                    }
                    (id, vec![])
                }
            };
            used_ids.insert(agent_id.clone());
            let agent = Agent {
                name: config.id.clone(),
                id: agent_id.clone(),
                config,
                total,
                used: Resources::new(),
                offered: Resources::new(),
                free: None,
                status: AgentStatus::Active,
                executors: HashMap::new(),
                tasks: BTreeSet::new(),
                held: Vec::new(),
                unreachable_since: None,
            };
            self.agents.insert(agent_id.clone(), agent);
            for t in lost {
                self.report_lost_at_restart(&agent_id, t);
            }
            self.checkpoint_agent(&agent_id);
        }
        self.flush_checkpoints();
        Ok(())
    }

    fn report_lost_at_restart(&mut self, agent_id: &str, t: TaskCheckpoint) {
        let fw = self
            .frameworks
            .entry(t.framework_id.clone())
            .or_insert_with(|| Framework {
                id: t.framework_id.clone(),
                info: FrameworkInfo {
                    id: Some(FrameworkId {
                        value: t.framework_id.clone(),
                    }),
                    ..Default::default()
                },
                placeholder: true,
                conn: None,
                failover_deadline: None,
                suppressed: HashSet::new(),
                filters: Default::default(),
                tasks: HashMap::new(),
                completed: VecDeque::new(),
                registered_at: now_secs(),
            });
        let state = if t.partition_aware {
            TaskState::TaskGone
        } else {
            TaskState::TaskLost
        };
        let status = TaskStatus {
            task_id: TaskId {
                value: t.task_id.clone(),
            },
            state: state as i32,
            message: Some("The local cluster restarted; the task's process died with it".into()),
            source: Some(Source::Agent as i32),
            reason: Some(Reason::AgentRestarted as i32),
            agent_id: Some(stead_proto::v1::AgentId {
                value: agent_id.to_string(),
            }),
            timestamp: Some(now_secs()),
            uuid: Some(uuid::Uuid::new_v4().as_bytes().to_vec()),
            ..Default::default()
        };
        fw.tasks.insert(
            t.task_id.clone(),
            Task {
                info: Arc::new(TaskInfo {
                    name: t.name,
                    task_id: TaskId {
                        value: t.task_id.clone(),
                    },
                    agent_id: stead_proto::v1::AgentId {
                        value: agent_id.to_string(),
                    },
                    ..Default::default()
                }),
                agent_id: agent_id.to_string(),
                latest: status.clone(),
                pending: VecDeque::from([status]),
                resend_at: None,
                backoff: Duration::ZERO,
                live: false,
                executor_seq: 0,
                sandbox: None,
            },
        );
        if let Some(agent) = self.agents.get_mut(agent_id) {
            agent.tasks.insert((t.framework_id, t.task_id));
        }
    }

    /// Marks an agent's checkpoint (identity, reservations and volumes, and its tasks) for
    /// rewriting; [`flush_checkpoints`](Self::flush_checkpoints) writes it once the batch of
    /// messages being handled is done, so a burst of launches costs one write per agent.
    pub(super) fn checkpoint_agent(&mut self, agent_id: &str) {
        if !self.dirty_checkpoints.contains(agent_id) {
            self.dirty_checkpoints.insert(agent_id.to_string());
        }
    }

    /// Writes the checkpoints of every agent marked by [`checkpoint_agent`](Self::checkpoint_agent).
    pub(super) fn flush_checkpoints(&mut self) {
        if self.dirty_checkpoints.is_empty() {
            return;
        }
        let dirty = std::mem::take(&mut self.dirty_checkpoints);
        for agent_id in &dirty {
            let Some(agent) = self.agents.get(agent_id) else {
                continue;
            };
            let tasks = self
                .tasks_of(agent_id)
                .map(|(fw, tid, t)| TaskCheckpoint {
                    framework_id: fw.id.clone(),
                    task_id: tid.to_string(),
                    name: t.info.name.clone(),
                    partition_aware: fw.partition_aware(),
                })
                .collect();
            let mut cp = AgentCheckpoint {
                agent_id: agent.id.clone(),
                hostname: agent.config.hostname.clone(),
                reserved: vec![],
                tasks,
            };
            let reserved: Vec<_> = agent
                .total
                .as_slice()
                .iter()
                .filter(|r| !r.reservations.is_empty() || r.disk.is_some())
                .cloned()
                .collect();
            cp.set_reserved(&reserved);
            self.disk
                .checkpoint(self.layout.agent_file(&agent.name), cp);
        }
    }

    /// The tasks known on the agent, with their frameworks.
    fn tasks_of<'a>(
        &'a self,
        agent_id: &str,
    ) -> impl Iterator<Item = (&'a Framework, &'a str, &'a Task)> + 'a {
        self.agents
            .get(agent_id)
            .into_iter()
            .flat_map(|a| a.tasks.iter())
            .filter_map(|(fid, tid)| {
                let fw = self.frameworks.get(fid)?;
                Some((fw, tid.as_str(), fw.tasks.get(tid)?))
            })
    }

    /// Finds an agent by name or agent id.
    fn find_agent(&self, key: &str) -> Option<String> {
        if self.agents.contains_key(key) {
            return Some(key.to_string());
        }
        self.agents
            .values()
            .find(|a| a.name == key)
            .map(|a| a.id.clone())
    }

    pub(super) fn agent_action(&mut self, key: &str, action: AgentAction) -> Result<(), Error> {
        let Some(agent_id) = self.find_agent(key) else {
            if self.cluster.removed_agents.iter().any(|r| r == key) {
                return Err(Error::AgentRemoved(key.to_string()));
            }
            return Err(Error::UnknownAgent(key.to_string()));
        };
        match action {
            AgentAction::Stop => self.stop_agent(&agent_id),
            AgentAction::Disconnect => self.disconnect_agent(&agent_id),
            AgentAction::Start => self.start_agent(&agent_id),
            AgentAction::Remove => {
                self.halt_executors(&agent_id);
                self.rescind_offers_on(&agent_id);
                self.report_departure(&agent_id, Departure::Removed);
                if let Some(agent) = self.agents.remove(&agent_id) {
                    tracing::info!(agent = %agent.name, "agent removed");
                    self.gone_agents.insert(agent.id);
                    self.cluster.removed_agents.push(agent.name);
                    crate::checkpoint::write(&self.layout.cluster_file(), &self.cluster)?;
                }
            }
        }
        Ok(())
    }

    /// Stops an agent: offers on it are rescinded, its task processes killed, its tasks reported
    /// TASK_LOST (TASK_UNREACHABLE to partition-aware frameworks).
    fn stop_agent(&mut self, agent_id: &str) {
        let Some(agent) = self.agents.get_mut(agent_id) else {
            return;
        };
        if agent.status == AgentStatus::Stopped {
            return;
        }
        tracing::info!(agent = %agent.name, "agent stopped");
        let was = std::mem::replace(&mut agent.status, AgentStatus::Stopped);
        self.halt_executors(agent_id);
        if was == AgentStatus::Active {
            self.rescind_offers_on(agent_id);
            self.report_departure(agent_id, Departure::Unreachable);
        }
        if let Some(agent) = self.agents.get_mut(agent_id) {
            agent.used = Resources::new();
            agent.changed();
        }
    }

    /// Cuts an agent off from the master, as a network partition does: offers on it are
    /// rescinded and its tasks reported TASK_UNREACHABLE (TASK_LOST to frameworks that are
    /// not partition-aware); their processes run on.
    fn disconnect_agent(&mut self, agent_id: &str) {
        let Some(agent) = self.agents.get_mut(agent_id) else {
            return;
        };
        if agent.status != AgentStatus::Active {
            return;
        }
        tracing::info!(agent = %agent.name, "agent disconnected");
        agent.status = AgentStatus::Disconnected;
        self.rescind_offers_on(agent_id);
        self.report_departure(agent_id, Departure::Unreachable);
    }

    /// Kills the agent's task processes without a word (they die with the agent).
    fn halt_executors(&mut self, agent_id: &str) {
        let Some(agent) = self.agents.get_mut(agent_id) else {
            return;
        };
        agent.held.clear();
        let handles: Vec<ExecutorHandle> = agent.executors.drain().map(|(_, h)| h).collect();
        for h in handles {
            self.dying.push(tokio::spawn(h.abort_and_wait()));
        }
        self.dying.retain(|d| !d.is_finished());
    }

    /// Rescinds every outstanding offer of the agent.
    fn rescind_offers_on(&mut self, agent_id: &str) {
        let offer_ids: Vec<String> = self
            .offers
            .iter()
            .filter(|(_, o)| o.agent_id == agent_id)
            .map(|(id, _)| id.clone())
            .collect();
        for id in offer_ids {
            self.remove_offer(&id, true);
        }
    }

    /// Reports the agent's tasks as Mesos 1.11 does when an agent leaves (`__removeSlave`):
    /// unreachable, TASK_UNREACHABLE to partition-aware frameworks; removed by the
    /// operator, TASK_GONE_BY_OPERATOR to them (its unreachable tasks too); TASK_LOST to the
    /// other frameworks either way.
    fn report_departure(&mut self, agent_id: &str, how: Departure) {
        let now = stead_proto::v1::TimeInfo {
            nanoseconds: (now_secs() * 1e9) as i64,
        };
        if let Some(a) = self.agents.get_mut(agent_id)
            && how == Departure::Unreachable
        {
            a.unreachable_since = Some(now);
        }
        let reported: Vec<_> = self
            .tasks_of(agent_id)
            .filter_map(|(fw, tid, t)| {
                let unreachable = t.latest.state == TaskState::TaskUnreachable as i32;
                let update = match (how, fw.partition_aware(), t.live, unreachable) {
                    (Departure::Unreachable, true, true, _) => (
                        TaskState::TaskUnreachable,
                        Reason::AgentRemoved,
                        "The agent is unreachable",
                    ),
                    (Departure::Removed, true, true, _) | (Departure::Removed, true, _, true) => (
                        TaskState::TaskGoneByOperator,
                        Reason::AgentRemovedByOperator,
                        "The agent was removed by the operator",
                    ),
                    (Departure::Unreachable, false, true, _) => (
                        TaskState::TaskLost,
                        Reason::AgentRemoved,
                        "The agent is unreachable",
                    ),
                    (Departure::Removed, false, true, _) => (
                        TaskState::TaskLost,
                        Reason::AgentRemoved,
                        "The agent was removed by the operator",
                    ),
                    _ => return None,
                };
                Some((fw.id.clone(), tid.to_string(), update))
            })
            .collect();
        for (fid, tid, (state, reason, message)) in reported {
            let mut s = agent_status(agent_id, &tid, state, reason, message);
            if state == TaskState::TaskUnreachable {
                s.unreachable_time = Some(now);
            }
            self.record_update(&fid, &tid, s);
        }
    }

    /// Starts a stopped agent again (its unreachable tasks are reported TASK_GONE: their
    /// processes died with it), or reconnects a disconnected one.
    fn start_agent(&mut self, agent_id: &str) {
        let Some(agent) = self.agents.get_mut(agent_id) else {
            return;
        };
        match agent.status {
            AgentStatus::Active => {}
            AgentStatus::Stopped => {
                tracing::info!(agent = %agent.name, "agent started");
                agent.status = AgentStatus::Active;
                agent.unreachable_since = None;
                self.gone_tasks(agent_id);
            }
            AgentStatus::Disconnected => {
                tracing::info!(agent = %agent.name, "agent reconnected");
                agent.status = AgentStatus::Active;
                agent.unreachable_since = None;
                self.reconnected(agent_id);
            }
        }
    }

    /// A disconnected agent is back with its tasks, as an unreachable agent reregistering
    /// with Mesos: the unreachable tasks of partition-aware frameworks that still run are
    /// TASK_RUNNING again, every other task on it is killed (those of frameworks that are
    /// not partition-aware were reported lost), then the updates it held are delivered.
    fn reconnected(&mut self, agent_id: &str) {
        let held = self
            .agents
            .get_mut(agent_id)
            .map(|a| std::mem::take(&mut a.held))
            .unwrap_or_default();
        let ended: BTreeSet<(String, String)> = held
            .iter()
            .filter(|u| super::updates::is_terminal(u.state))
            .map(|u| (u.framework_id.clone(), u.task_id.clone()))
            .collect();
        let running_executor = |a: &Agent, key: &(String, String), seq: u64| {
            a.executors.get(key).is_some_and(|h| h.seq == seq)
        };
        let back: Vec<(String, String)> = match self.agents.get(agent_id) {
            Some(a) => self
                .tasks_of(agent_id)
                .filter(|(fw, tid, t)| {
                    fw.partition_aware()
                        && t.latest.state == TaskState::TaskUnreachable as i32
                        && running_executor(a, &(fw.id.clone(), tid.to_string()), t.executor_seq)
                })
                .map(|(fw, tid, _)| (fw.id.clone(), tid.to_string()))
                .collect(),
            None => return,
        };
        for (fid, tid) in &back {
            let Some(task) = self
                .frameworks
                .get_mut(fid)
                .and_then(|f| f.tasks.get_mut(tid))
            else {
                continue;
            };
            task.live = true;
            let resources: Resources = task.info.resources.iter().cloned().collect();
            if let Some(a) = self.agents.get_mut(agent_id) {
                a.used.add_all(&resources);
                a.changed();
            }
            if !ended.contains(&(fid.clone(), tid.clone())) {
                let s = agent_status(
                    agent_id,
                    tid,
                    TaskState::TaskRunning,
                    Reason::AgentReregistered,
                    "The task's agent reconnected",
                );
                self.record_update(fid, tid, s);
            }
        }
        let back: BTreeSet<(String, String)> = back.into_iter().collect();
        if let Some(a) = self.agents.get(agent_id) {
            for (key, h) in &a.executors {
                if !back.contains(key) {
                    h.send(crate::executor::Control::Kill(None));
                }
            }
        }
        self.dirty_agent(agent_id);
        self.checkpoint_agent(agent_id);
        for u in held {
            self.executor_update(u);
        }
    }

    /// Reports every unreachable task of a restarted agent gone: its processes died.
    fn gone_tasks(&mut self, agent_id: &str) {
        let gone: Vec<_> = self
            .tasks_of(agent_id)
            .filter(|(_, _, t)| t.latest.state == TaskState::TaskUnreachable as i32)
            .map(|(fw, tid, _)| (fw.id.clone(), tid.to_string()))
            .collect();
        for (fid, tid) in gone {
            let s = agent_status(
                agent_id,
                &tid,
                TaskState::TaskGone,
                Reason::AgentRestarted,
                "The task's agent went away and its processes died",
            );
            self.record_update(&fid, &tid, s);
        }
    }
}

/// Why an agent's tasks are reported away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Departure {
    /// The master lost contact with the agent (stopped or disconnected).
    Unreachable,
    /// The operator removed the agent for good.
    Removed,
}

/// A reliable (uuid) status generated for an agent-level event.
fn agent_status(
    agent_id: &str,
    task_id: &str,
    state: TaskState,
    reason: Reason,
    message: &str,
) -> TaskStatus {
    TaskStatus {
        task_id: TaskId {
            value: task_id.to_string(),
        },
        state: state as i32,
        message: Some(message.to_string()),
        source: Some(Source::Master as i32),
        reason: Some(reason as i32),
        agent_id: Some(stead_proto::v1::AgentId {
            value: agent_id.to_string(),
        }),
        timestamp: Some(now_secs()),
        uuid: Some(uuid::Uuid::new_v4().as_bytes().to_vec()),
        ..Default::default()
    }
}
