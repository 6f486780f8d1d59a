//! The typed view of the cluster served as JSON by `GET /state` (a subset of Mesos's
//! `/master/state`, with Mesos's field names where they exist).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The whole cluster.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct State {
    /// The Mesos version the master speaks.
    pub version: String,
    /// The master id (the cluster id).
    pub id: String,
    /// When the master started (seconds since the epoch).
    pub start_time: f64,
    /// Frameworks (subscribed, or waiting for their failover timeout).
    pub frameworks: Vec<FrameworkState>,
    /// Agents (stopped ones have `active: false`).
    #[serde(rename = "slaves")]
    pub agents: Vec<AgentState>,
}

/// One framework.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FrameworkState {
    /// Framework id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Principal, if any.
    pub principal: Option<String>,
    /// Whether a scheduler is connected.
    pub active: bool,
    /// When the framework first registered (seconds since the epoch).
    pub registered_time: f64,
    /// Live tasks and tasks with unacknowledged updates.
    pub tasks: Vec<TaskView>,
    /// Recently finished tasks.
    pub completed_tasks: Vec<TaskView>,
    /// Outstanding offers.
    pub offers: Vec<OfferView>,
}

/// One task.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskView {
    /// Task id.
    pub id: String,
    /// Task name.
    pub name: String,
    /// Framework id.
    pub framework_id: String,
    /// Agent id.
    pub slave_id: String,
    /// Latest state, e.g. `TASK_RUNNING`.
    pub state: String,
    /// Latest health, if the task has a health check.
    pub healthy: Option<bool>,
    /// Resources, in Mesos JSON.
    pub resources: Vec<serde_json::Value>,
    /// The sandbox directory.
    pub sandbox: Option<PathBuf>,
}

/// One outstanding offer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OfferView {
    /// Offer id.
    pub id: String,
    /// Agent id.
    pub slave_id: String,
    /// Resources, in Mesos JSON.
    pub resources: Vec<serde_json::Value>,
}

/// One agent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AgentState {
    /// Agent id.
    pub id: String,
    /// Where the agent's endpoints are, as Mesos writes it: `slave(<name>)@<ip>:<port>`
    /// (`/slave(<name>)/state` and `/files/read` on that address).
    #[serde(default)]
    pub pid: String,
    /// The agent's name in the local cluster configuration.
    pub name: String,
    /// Hostname.
    pub hostname: String,
    /// The agent's address: what its offers carry in `url.address.ip` and its tasks bind.
    #[serde(default)]
    pub address: String,
    /// Whether the agent is running (not stopped).
    pub active: bool,
    /// Attributes.
    pub attributes: BTreeMap<String, String>,
    /// Unreserved totals: cpus, mem, disk (scalars) and ports (as Mesos's `[a-b, c-d]` text).
    pub resources: BTreeMap<String, serde_json::Value>,
    /// Reserved resources and volumes by role, in Mesos JSON.
    pub reserved_resources_full: BTreeMap<String, Vec<serde_json::Value>>,
    /// Resources held by live tasks, in Mesos JSON.
    pub used_resources_full: Vec<serde_json::Value>,
    /// Resources in outstanding offers, in Mesos JSON.
    pub offered_resources_full: Vec<serde_json::Value>,
    /// Persistent volumes.
    pub volumes: Vec<VolumeView>,
}

/// One persistent volume.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VolumeView {
    /// The persistence id.
    pub persistence_id: String,
    /// The role it is reserved to.
    pub role: String,
    /// Principal of its creator, if any.
    pub principal: Option<String>,
    /// Path inside a task's sandbox.
    pub container_path: String,
    /// Size in MiB.
    pub size_mib: f64,
    /// Where its data lives on this host.
    pub host_path: PathBuf,
}
