//! The master: one actor task owns all state (frameworks, agents, offers, tasks) and is fed by
//! the HTTP handlers, the executors and the fault-injection API through channels.

mod agents;
mod allocator;
mod calls;
mod disk;
mod filters;
mod operations;
mod updates;
mod view;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use stead_proto::scheduler::{Call, Event, event};
use stead_proto::v1::{FrameworkInfo, MasterInfo, TaskInfo, TaskStatus, framework_info};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::checkpoint::{ClusterCheckpoint, Layout};
use crate::config::{AgentConfig, LocalClusterConfig};
use crate::executor::{ExecutorHandle, ExecutorUpdate};
use crate::resources::Resources;
use crate::state::State;

/// The encoding of a subscriber's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire {
    /// `application/json`.
    Json,
    /// `application/x-protobuf`.
    Protobuf,
}

impl Wire {
    /// Encodes one event as a RecordIO record.
    pub fn encode(self, event: &Event) -> Bytes {
        let body = match self {
            Wire::Protobuf => prost::Message::encode_to_vec(event),
            Wire::Json => match stead_proto::json::to_json_vec(event) {
                Ok(v) => v,
                Err(e) => {
                    tracing::error!(%e, "cannot encode an event as JSON");
                    return Bytes::new();
                }
            },
        };
        stead_proto::recordio::encode_to_bytes(&body)
    }
}

/// An HTTP-level answer to a call that was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub message: String,
}

impl ApiError {
    pub fn bad_request(m: impl Into<String>) -> Self {
        Self {
            status: 400,
            message: m.into(),
        }
    }
    pub fn forbidden(m: impl Into<String>) -> Self {
        Self {
            status: 403,
            message: m.into(),
        }
    }
}

/// A successful SUBSCRIBE.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub framework_id: String,
    pub stream_id: String,
    pub events: mpsc::UnboundedReceiver<Bytes>,
}

/// Fault injection on an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentAction {
    /// Stop the agent: its tasks die and it disconnects.
    Stop,
    /// Cut the agent off from the master (a network partition): its tasks keep running.
    Disconnect,
    /// Start a stopped agent again, or reconnect a disconnected one (same id,
    /// reservations and volumes).
    Start,
    /// Remove the agent for good (as an operator marking it gone).
    Remove,
}

/// Messages to the master actor.
#[derive(Debug)]
pub(crate) enum Msg {
    Subscribe {
        call: Call,
        wire: Wire,
        reply: oneshot::Sender<Result<Subscription, ApiError>>,
    },
    Call {
        call: Call,
        stream_id: String,
        reply: oneshot::Sender<Result<Option<stead_proto::scheduler::Response>, ApiError>>,
    },
    Disconnected {
        framework_id: String,
        stream_id: String,
    },
    Agent {
        agent: String,
        action: AgentAction,
        reply: oneshot::Sender<Result<(), crate::Error>>,
    },
    State {
        reply: oneshot::Sender<State>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// A subscriber's connection.
#[derive(Debug)]
struct Conn {
    stream_id: String,
    tx: mpsc::UnboundedSender<Bytes>,
    wire: Wire,
    next_heartbeat: Instant,
}

/// A task known to the master: live, or terminal with unacknowledged updates.
#[derive(Debug)]
struct Task {
    /// Shared with the task's executor.
    info: Arc<TaskInfo>,
    agent_id: String,
    /// Latest status (the state reconciliation reports).
    latest: TaskStatus,
    /// Reliable updates not yet acknowledged; the head is in flight.
    pending: VecDeque<TaskStatus>,
    resend_at: Option<Instant>,
    backoff: Duration,
    /// The task holds its resources and has an executor.
    live: bool,
    executor_seq: u64,
    sandbox: Option<PathBuf>,
}

/// A finished task kept for reconciliation and /state.
#[derive(Debug, Clone)]
struct CompletedTask {
    info: Arc<TaskInfo>,
    agent_id: String,
    latest: TaskStatus,
    /// The sandbox its executor ran in, when it ran.
    sandbox: Option<PathBuf>,
}

const COMPLETED_TASKS_KEPT: usize = 1000;

#[derive(Debug)]
struct Framework {
    id: String,
    info: FrameworkInfo,
    /// Known only from a checkpoint (tasks that died with the cluster); never subscribed yet.
    placeholder: bool,
    conn: Option<Conn>,
    failover_deadline: Option<Instant>,
    suppressed: HashSet<String>,
    filters: filters::Filters,
    tasks: HashMap<String, Task>,
    completed: VecDeque<CompletedTask>,
    registered_at: f64,
}

impl Framework {
    fn has_capability(&self, c: framework_info::capability::Type) -> bool {
        self.info
            .capabilities
            .iter()
            .any(|x| x.r#type == Some(c as i32))
    }

    fn multi_role(&self) -> bool {
        self.has_capability(framework_info::capability::Type::MultiRole)
    }

    fn partition_aware(&self) -> bool {
        self.has_capability(framework_info::capability::Type::PartitionAware)
    }

    /// The roles the framework is subscribed with.
    fn roles(&self) -> Vec<String> {
        roles_of(&self.info)
    }

    fn principal(&self) -> Option<&str> {
        self.info.principal.as_deref().filter(|p| !p.is_empty())
    }

    /// Sends an event if connected.
    fn send(&self, event: &Event) {
        if let Some(conn) = &self.conn {
            let _ = conn.tx.send(conn.wire.encode(event));
        }
    }

    fn remember_completed(&mut self, t: CompletedTask) {
        if self.completed.len() >= COMPLETED_TASKS_KEPT {
            self.completed.pop_front();
        }
        self.completed.push_back(t);
    }
}

/// The roles of a FrameworkInfo: `roles` for MULTI_ROLE frameworks, else `role` (default `*`).
pub(crate) fn roles_of(info: &FrameworkInfo) -> Vec<String> {
    let multi = info
        .capabilities
        .iter()
        .any(|x| x.r#type == Some(framework_info::capability::Type::MultiRole as i32));
    if multi {
        info.roles.clone()
    } else {
        vec![info.role.clone().unwrap_or_else(|| "*".to_string())]
    }
}

/// Agent lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AgentStatus {
    Active,
    /// Down: its task processes died with it.
    Stopped,
    /// Cut off from the master: its task processes run on, their updates held.
    Disconnected,
}

#[derive(Debug)]
struct Agent {
    name: String,
    id: String,
    config: AgentConfig,
    /// Everything the agent has, reservations and volumes included.
    total: Resources,
    /// Held by live tasks.
    used: Resources,
    /// In outstanding offers.
    offered: Resources,
    /// `total - used - offered`, kept until one of them changes (see [`Agent::changed`]).
    free: Option<Resources>,
    status: AgentStatus,
    executors: HashMap<(String, String), ExecutorHandle>,
    /// (framework id, task id) of every task the master knows on this agent (those of
    /// the frameworks' `tasks`), in order: what its checkpoint lists.
    tasks: BTreeSet<(String, String)>,
    /// Executor updates of a disconnected agent, delivered when it reconnects (as an
    /// agent's status update manager keeps them).
    held: Vec<crate::executor::ExecutorUpdate>,
    /// When the master lost contact with the agent (stopped or disconnected).
    unreachable_since: Option<stead_proto::v1::TimeInfo>,
}

impl Agent {
    /// What is neither used nor offered (computed once per change: with many reservations
    /// the subtraction is the costly part of an allocation).
    fn available(&mut self) -> &Resources {
        self.free.get_or_insert_with(|| {
            let mut a = self.total.clone();
            a.subtract_all(&self.used);
            a.subtract_all(&self.offered);
            a
        })
    }

    /// Must follow every change of `total`, `used` or `offered`.
    fn changed(&mut self) {
        self.free = None;
    }
}

#[derive(Debug)]
struct OfferRec {
    framework_id: String,
    agent_id: String,
    resources: Resources,
}

/// The master actor's state.
pub(crate) struct Master {
    config: LocalClusterConfig,
    layout: Layout,
    cluster: ClusterCheckpoint,
    master_info: MasterInfo,
    http: crate::fetcher::HttpClient,
    frameworks: BTreeMap<String, Framework>,
    removed_frameworks: HashSet<String>,
    /// The ids of the agents removed by the operator (marked gone).
    gone_agents: HashSet<String>,
    /// By agent id.
    agents: BTreeMap<String, Agent>,
    offers: HashMap<String, OfferRec>,
    next_offer: u64,
    next_executor_seq: u64,
    alloc_round: usize,
    exec_tx: mpsc::UnboundedSender<ExecutorUpdate>,
    /// Executors being aborted (awaited at shutdown).
    dying: Vec<tokio::task::JoinHandle<()>>,
    started_at: f64,
    /// Agents whose checkpoint must be rewritten (written once per batch of messages).
    dirty_checkpoints: BTreeSet<String>,
    /// Agents whose free resources changed since the last allocation.
    dirty_agents: HashSet<String>,
    /// Something framework-wide changed (subscription, revive, roles): look at every agent.
    realloc_all: bool,
    /// No status update resend is due before this instant (None: none is scheduled).
    next_resend: Option<Instant>,
    /// Volume directories and agent checkpoints, written off the loop.
    disk: disk::Disk,
}

/// The most messages handled before timers, allocation and checkpoints run again.
const MAX_BATCH: usize = 4096;

/// Seconds since the epoch.
pub(crate) fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Master {
    /// Builds the master from the configuration and the work directory's checkpoints.
    pub(crate) fn new(
        config: LocalClusterConfig,
        addr: std::net::SocketAddr,
        http: crate::fetcher::HttpClient,
        exec_tx: mpsc::UnboundedSender<ExecutorUpdate>,
    ) -> Result<Self, crate::Error> {
        let layout = Layout::new(config.work_dir.clone());
        let disk = disk::Disk::start(&config.work_dir)?;
        let cluster = match crate::checkpoint::read::<ClusterCheckpoint>(&layout.cluster_file())? {
            Some(c) => c,
            None => {
                let c = ClusterCheckpoint {
                    cluster_id: uuid::Uuid::new_v4().to_string(),
                    removed_agents: vec![],
                    next_framework: 0,
                };
                crate::checkpoint::write(&layout.cluster_file(), &c)?;
                c
            }
        };
        let ip = match addr.ip() {
            std::net::IpAddr::V4(v4) => u32::from_le_bytes(v4.octets()),
            std::net::IpAddr::V6(_) => 0,
        };
        let master_info = MasterInfo {
            id: cluster.cluster_id.clone(),
            ip,
            port: u32::from(addr.port()),
            pid: Some(format!("master@{addr}")),
            hostname: Some(addr.ip().to_string()),
            version: Some(crate::MESOS_VERSION.to_string()),
            address: Some(stead_proto::v1::Address {
                hostname: Some(addr.ip().to_string()),
                ip: Some(addr.ip().to_string()),
                port: i32::from(addr.port()),
            }),
            domain: None,
            capabilities: vec![],
        };
        let mut master = Self {
            config,
            layout,
            cluster,
            master_info,
            http,
            frameworks: BTreeMap::new(),
            removed_frameworks: HashSet::new(),
            gone_agents: HashSet::new(),
            agents: BTreeMap::new(),
            offers: HashMap::new(),
            next_offer: 0,
            next_executor_seq: 0,
            alloc_round: 0,
            exec_tx,
            dying: Vec::new(),
            started_at: now_secs(),
            dirty_checkpoints: BTreeSet::new(),
            dirty_agents: HashSet::new(),
            realloc_all: true,
            next_resend: None,
            disk,
        };
        master.load_agents()?;
        Ok(master)
    }

    /// Waits until the disk work queued so far (checkpoints, volume directories) is done.
    pub(crate) async fn settle(&self) {
        self.disk.sync().await;
    }

    /// Runs the actor until shutdown.
    pub(crate) async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<Msg>,
        mut exec_rx: mpsc::UnboundedReceiver<ExecutorUpdate>,
    ) {
        self.allocate();
        loop {
            let deadline = self.next_deadline();
            tokio::select! {
                msg = rx.recv() => match msg {
                    None => {
                        self.shutdown().await;
                        return;
                    }
                    Some(Msg::Shutdown { reply }) => {
                        self.shutdown().await;
                        let _ = reply.send(());
                        return;
                    }
                    Some(m) => self.handle(m),
                },
                Some(u) = exec_rx.recv() => self.executor_update(u),
                _ = tokio::time::sleep_until(deadline) => {}
            }
            // Whatever else is already queued is handled before the per-batch work, so that
            // allocation and checkpoints cost once per burst rather than once per message.
            for _ in 0..MAX_BATCH {
                let mut idle = true;
                match rx.try_recv() {
                    Ok(Msg::Shutdown { reply }) => {
                        self.shutdown().await;
                        let _ = reply.send(());
                        return;
                    }
                    Ok(m) => {
                        self.handle(m);
                        idle = false;
                    }
                    Err(_) => {}
                }
                if let Ok(u) = exec_rx.try_recv() {
                    self.executor_update(u);
                    idle = false;
                }
                if idle {
                    break;
                }
            }
            self.tick(Instant::now());
            self.allocate();
            self.flush_checkpoints();
        }
    }

    /// Notes that an agent's free resources changed (it is looked at by the next allocation).
    fn dirty_agent(&mut self, agent_id: &str) {
        if !self.dirty_agents.contains(agent_id) {
            self.dirty_agents.insert(agent_id.to_string());
        }
    }

    /// Notes that a status update resend is due at `at`.
    fn resend_due(&mut self, at: Instant) {
        self.next_resend = Some(self.next_resend.map_or(at, |n| n.min(at)));
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Subscribe { call, wire, reply } => {
                self.realloc_all = true;
                let _ = reply.send(self.subscribe(call, wire));
            }
            Msg::Call {
                call,
                stream_id,
                reply,
            } => {
                let _ = reply.send(self.call(call, &stream_id));
            }
            Msg::Disconnected {
                framework_id,
                stream_id,
            } => self.disconnected(&framework_id, &stream_id),
            Msg::Agent {
                agent,
                action,
                reply,
            } => {
                self.realloc_all = true;
                let _ = reply.send(self.agent_action(&agent, action));
            }
            Msg::State { reply } => {
                let _ = reply.send(self.state());
            }
            Msg::Shutdown { .. } => {}
        }
    }

    fn next_deadline(&self) -> Instant {
        let mut next = Instant::now() + Duration::from_secs(3600);
        if let Some(r) = self.next_resend {
            next = next.min(r);
        }
        for fw in self.frameworks.values() {
            if let Some(c) = &fw.conn {
                next = next.min(c.next_heartbeat);
            }
            if let Some(d) = fw.failover_deadline {
                next = next.min(d);
            }
            if let Some(f) = fw.filters.next_expiry() {
                next = next.min(f);
            }
        }
        next
    }

    /// Timers: heartbeats, failover timeouts, filter expiry, status update resends.
    fn tick(&mut self, now: Instant) {
        let heartbeat = Event {
            r#type: Some(event::Type::Heartbeat as i32),
            ..Default::default()
        };
        let interval = self.config.heartbeat_interval;
        let mut expired = Vec::new();
        let mut unfiltered = Vec::new();
        for fw in self.frameworks.values_mut() {
            if let Some(c) = fw.conn.as_mut()
                && c.next_heartbeat <= now
            {
                let _ = c.tx.send(c.wire.encode(&heartbeat));
                c.next_heartbeat = now + interval;
            }
            if fw.failover_deadline.is_some_and(|d| d <= now) {
                expired.push(fw.id.clone());
            }
            unfiltered.extend(fw.filters.expire(now));
        }
        for agent in unfiltered {
            self.dirty_agent(&agent);
        }
        for id in expired {
            tracing::info!(framework = %id, "failover timeout expired; removing the framework");
            self.remove_framework(&id);
        }
        self.resend_updates(now);
    }

    /// Shuts everything down: every executor is aborted and its processes reaped.
    async fn shutdown(&mut self) {
        let mut handles = Vec::new();
        for agent in self.agents.values_mut() {
            handles.extend(agent.executors.drain().map(|(_, h)| h));
        }
        for fw in self.frameworks.values_mut() {
            fw.conn = None;
        }
        for h in handles {
            h.abort_and_wait().await;
        }
        for d in self.dying.drain(..) {
            let _ = d.await;
        }
        self.flush_checkpoints();
        self.disk.sync().await;
    }

    /// Removes a framework: its offers are recovered, its tasks killed, its stream closed.
    fn remove_framework(&mut self, id: &str) {
        self.recover_offers_of(id, false);
        let Some(fw) = self.frameworks.remove(id) else {
            return;
        };
        self.removed_frameworks.insert(id.to_string());
        self.realloc_all = true;
        for (task_id, task) in fw.tasks {
            let Some(agent) = self.agents.get_mut(&task.agent_id) else {
                continue;
            };
            agent.tasks.remove(&(id.to_string(), task_id.clone()));
            if task.live {
                if let Some(h) = agent.executors.get(&(id.to_string(), task_id.clone())) {
                    h.send(crate::executor::Control::Kill(None));
                }
                agent
                    .used
                    .subtract_all(&task.info.resources.iter().cloned().collect());
            }
        }
        let agent_ids: Vec<String> = self.agents.keys().cloned().collect();
        for a in agent_ids {
            self.checkpoint_agent(&a);
        }
    }

    /// Returns outstanding offers of a framework to the pool (sending RESCIND if asked).
    fn recover_offers_of(&mut self, framework_id: &str, rescind: bool) {
        let ids: Vec<String> = self
            .offers
            .iter()
            .filter(|(_, o)| o.framework_id == framework_id)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            self.remove_offer(&id, rescind);
        }
    }

    /// Removes an offer, returning its resources to its agent.
    fn remove_offer(&mut self, offer_id: &str, rescind: bool) -> Option<OfferRec> {
        let offer = self.offers.remove(offer_id)?;
        if let Some(agent) = self.agents.get_mut(&offer.agent_id) {
            agent.offered.subtract_all(&offer.resources);
            agent.changed();
        }
        self.dirty_agent(&offer.agent_id);
        if rescind && let Some(fw) = self.frameworks.get(&offer.framework_id) {
            fw.send(&Event {
                r#type: Some(event::Type::Rescind as i32),
                rescind: Some(event::Rescind {
                    offer_id: stead_proto::v1::OfferId {
                        value: offer_id.to_string(),
                    },
                }),
                ..Default::default()
            });
        }
        Some(offer)
    }
}
