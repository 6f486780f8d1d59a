//! A real Mesos master's state in the embedded cluster's form ([`State`]), so that the
//! tests read both clusters with the same helpers.
//!
//! Read from the master's own endpoints: `/master/state` (frameworks and their tasks),
//! `/master/slaves` (agents, with `reserved_resources_full`, volumes included), the
//! operator API's `GET_TASKS` (each task's resources in full, with reservation labels
//! and persistence ids: `/master/state` only sums them up), and each agent's
//! `/slave(i)/state` (the sandbox of each task's executor).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde_json::Value;
use stead::local::State;
use stead::local::state::{AgentState, FrameworkState, TaskView, VolumeView};

/// What the master (and its agents) said, as read.
#[derive(Debug, Default)]
pub struct RealReads {
    /// `/master/state`.
    pub master: Value,
    /// `/master/slaves`.
    pub slaves: Value,
    /// The operator API's answer to `GET_TASKS`.
    pub tasks: Value,
    /// Each agent's `/slave(i)/state`.
    pub agents: Vec<Value>,
}

/// The state in the embedded cluster's form. Fields the real master does not have are
/// left empty (offers, agent names: the hostname stands in, volumes' host paths).
pub fn to_state(reads: &RealReads) -> State {
    let resources = full_resources(&reads.tasks);
    let sandboxes = sandboxes(&reads.agents);
    let task = |t: &Value| task_view(t, &resources, &sandboxes);
    let frameworks = array(&reads.master["frameworks"])
        .iter()
        .map(|f| FrameworkState {
            id: text(&f["id"]),
            name: text(&f["name"]),
            roles: array(&f["roles"]).iter().map(text).collect(),
            principal: f["principal"].as_str().map(String::from),
            // A framework whose scheduler is away stays active until it is deactivated;
            // `connected` says whether a scheduler is subscribed.
            active: f["active"].as_bool().unwrap_or(false)
                && f["connected"].as_bool().unwrap_or(true),
            registered_time: f["registered_time"].as_f64().unwrap_or_default(),
            tasks: array(&f["tasks"]).iter().map(task).collect(),
            completed_tasks: array(&f["completed_tasks"]).iter().map(task).collect(),
            offers: Vec::new(),
        })
        .collect();
    State {
        version: text(&reads.master["version"]),
        id: text(&reads.master["id"]),
        start_time: reads.master["start_time"].as_f64().unwrap_or_default(),
        frameworks,
        agents: array(&reads.slaves["slaves"]).iter().map(agent).collect(),
    }
}

/// The agents' state paths (`/slave(i)/state`) of the agents in `/master/slaves`.
pub fn agent_state_paths(slaves: &Value) -> Vec<String> {
    array(&slaves["slaves"])
        .iter()
        .filter_map(|a| a["pid"].as_str()?.split('@').next())
        .map(|process| format!("/{process}/state"))
        .collect()
}

/// Each task's resources in full, by task id, from a `GET_TASKS` answer.
fn full_resources(tasks: &Value) -> HashMap<String, Vec<Value>> {
    let get = &tasks["get_tasks"];
    ["tasks", "completed_tasks", "unreachable_tasks"]
        .iter()
        .flat_map(|kind| array(&get[*kind]).iter())
        .map(|t| {
            (
                text(&t["task_id"]["value"]),
                array(&t["resources"]).to_vec(),
            )
        })
        .collect()
}

/// Each executor's sandbox directory, by executor id (a command task's executor has
/// the task's id).
fn sandboxes(agents: &[Value]) -> HashMap<String, PathBuf> {
    agents
        .iter()
        .flat_map(|a| array(&a["frameworks"]).iter())
        .flat_map(|f| array(&f["executors"]).iter())
        .filter_map(|e| Some((text(&e["id"]), PathBuf::from(e["directory"].as_str()?))))
        .collect()
}

fn task_view(
    t: &Value,
    resources: &HashMap<String, Vec<Value>>,
    sandboxes: &HashMap<String, PathBuf>,
) -> TaskView {
    let id = text(&t["id"]);
    TaskView {
        name: text(&t["name"]),
        framework_id: text(&t["framework_id"]),
        slave_id: text(&t["slave_id"]),
        state: text(&t["state"]),
        healthy: array(&t["statuses"])
            .last()
            .and_then(|s| s["healthy"].as_bool()),
        resources: resources.get(&id).cloned().unwrap_or_default(),
        sandbox: sandboxes.get(&id).cloned(),
        id,
    }
}

fn agent(a: &Value) -> AgentState {
    let reserved: BTreeMap<String, Vec<Value>> = a["reserved_resources_full"]
        .as_object()
        .map(|roles| {
            roles
                .iter()
                .map(|(role, rs)| (role.clone(), array(rs).to_vec()))
                .collect()
        })
        .unwrap_or_default();
    let volumes = reserved
        .iter()
        .flat_map(|(role, rs)| rs.iter().filter_map(move |r| volume(role, r)))
        .collect();
    AgentState {
        id: text(&a["id"]),
        pid: text(&a["pid"]),
        // Mesos writes the agent's address in its pid: `slave(1)@127.0.0.1:5051`.
        address: text(&a["pid"])
            .split_once('@')
            .and_then(|(_, at)| at.rsplit_once(':'))
            .map(|(ip, _)| ip.to_string())
            .unwrap_or_default(),
        name: text(&a["hostname"]),
        hostname: text(&a["hostname"]),
        active: a["active"].as_bool().unwrap_or(false),
        attributes: a["attributes"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().map_or(v.to_string(), String::from)))
                    .collect()
            })
            .unwrap_or_default(),
        resources: a["unreserved_resources"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        used_resources_full: array(&a["used_resources_full"]).to_vec(),
        offered_resources_full: array(&a["offered_resources_full"]).to_vec(),
        reserved_resources_full: reserved,
        volumes,
    }
}

/// The persistent volume `r` is, if it is one.
fn volume(role: &str, r: &Value) -> Option<VolumeView> {
    let persistence = r.pointer("/disk/persistence")?;
    Some(VolumeView {
        persistence_id: persistence["id"].as_str()?.to_string(),
        role: role.to_string(),
        principal: persistence["principal"].as_str().map(String::from),
        container_path: text(&r["disk"]["volume"]["container_path"]),
        size_mib: r.pointer("/scalar/value")?.as_f64()?,
        host_path: PathBuf::new(),
    })
}

fn array(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}
