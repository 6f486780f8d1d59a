//! Builds the typed [`State`] view from the master's state.

use std::collections::BTreeMap;

use stead_proto::v1::{Resource, TaskState};

use super::{AgentStatus, CompletedTask, Master, Task};
use crate::resources::{self, Resources};
use crate::state::{AgentState, FrameworkState, OfferView, State, TaskView, VolumeView};

fn json_list(rs: &[Resource]) -> Vec<serde_json::Value> {
    rs.iter()
        .filter_map(|r| stead_proto::json::to_json_value(r).ok())
        .collect()
}

fn state_name(state: i32) -> String {
    TaskState::try_from(state)
        .map(|s| s.as_str_name().to_string())
        .unwrap_or_else(|_| state.to_string())
}

fn task_view(
    fid: &str,
    task_id: &str,
    info: &stead_proto::v1::TaskInfo,
    agent_id: &str,
    latest: &stead_proto::v1::TaskStatus,
    sandbox: Option<std::path::PathBuf>,
) -> TaskView {
    TaskView {
        id: task_id.to_string(),
        name: info.name.clone(),
        framework_id: fid.to_string(),
        slave_id: agent_id.to_string(),
        state: state_name(latest.state),
        healthy: latest.healthy,
        resources: json_list(&info.resources),
        sandbox,
    }
}

/// The URL of agent `name` as its offers carry it (`Offer.url`): the agent's own `address`
/// (what its tasks bind), the master's port and the agent's process id as the path. The
/// address names the agent; its endpoints answer on the master's address (see its `pid`).
pub(super) fn agent_url(
    master: &stead_proto::v1::MasterInfo,
    name: &str,
    address: std::net::IpAddr,
) -> stead_proto::v1::Url {
    stead_proto::v1::Url {
        scheme: "http".to_string(),
        address: stead_proto::v1::Address {
            hostname: None,
            ip: Some(address.to_string()),
            port: master.address.as_ref().map_or(0, |a| a.port),
        },
        path: Some(format!("/slave({name})")),
        query: vec![],
        fragment: None,
    }
}

impl Master {
    /// The libprocess id and address of agent `name`, as Mesos writes an agent's `pid`
    /// (`slave(1)@10.0.0.1:5051`): the embedded agents answer on the master's address,
    /// each under its own process id (`/slave(<name>)/state`).
    fn agent_pid(&self, name: &str) -> String {
        let address = self.master_info.address.as_ref();
        let ip = address.and_then(|a| a.ip.as_deref()).unwrap_or_default();
        let port = address.map_or(0, |a| a.port);
        let host = if ip.contains(':') {
            format!("[{ip}]")
        } else {
            ip.to_string()
        };
        format!("slave({name})@{host}:{port}")
    }

    pub(super) fn state(&self) -> State {
        let frameworks = self
            .frameworks
            .values()
            .filter(|f| !f.placeholder)
            .map(|f| {
                let mut tasks: Vec<TaskView> = f
                    .tasks
                    .iter()
                    .map(|(id, t): (&String, &Task)| {
                        task_view(
                            &f.id,
                            id,
                            &t.info,
                            &t.agent_id,
                            &t.latest,
                            t.sandbox.clone(),
                        )
                    })
                    .collect();
                tasks.sort_by(|a, b| a.id.cmp(&b.id));
                let completed_tasks = f
                    .completed
                    .iter()
                    .map(|c: &CompletedTask| {
                        task_view(
                            &f.id,
                            &c.info.task_id.value,
                            &c.info,
                            &c.agent_id,
                            &c.latest,
                            c.sandbox.clone(),
                        )
                    })
                    .collect();
                let mut offers: Vec<OfferView> = self
                    .offers
                    .iter()
                    .filter(|(_, o)| o.framework_id == f.id)
                    .map(|(id, o)| OfferView {
                        id: id.clone(),
                        slave_id: o.agent_id.clone(),
                        resources: json_list(o.resources.as_slice()),
                    })
                    .collect();
                offers.sort_by(|a, b| a.id.cmp(&b.id));
                FrameworkState {
                    id: f.id.clone(),
                    name: f.info.name.clone(),
                    roles: f.roles(),
                    principal: f.principal().map(str::to_string),
                    active: f.conn.is_some(),
                    registered_time: f.registered_at,
                    tasks,
                    completed_tasks,
                    offers,
                }
            })
            .collect();
        let agents = self
            .agents
            .values()
            .map(|a| {
                let unreserved: Resources = a.total.filter(|r| r.reservations.is_empty());
                let mut totals = BTreeMap::new();
                for name in ["cpus", "mem", "disk"] {
                    totals.insert(
                        name.to_string(),
                        serde_json::json!(unreserved.scalar_sum(name)),
                    );
                }
                let ports = unreserved.ranges_union("ports");
                if !ports.is_empty() {
                    let text = ports
                        .iter()
                        .map(|(b, e)| format!("{b}-{e}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    totals.insert("ports".to_string(), serde_json::json!(format!("[{text}]")));
                }
                let mut reserved: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
                let mut volumes = Vec::new();
                for r in a.total.as_slice() {
                    let Some(role) = resources::reserved_role(r) else {
                        continue;
                    };
                    reserved
                        .entry(role.to_string())
                        .or_default()
                        .extend(json_list(std::slice::from_ref(r)));
                    if let Some(disk) = &r.disk
                        && let Some(p) = &disk.persistence
                    {
                        volumes.push(VolumeView {
                            persistence_id: p.id.clone(),
                            role: role.to_string(),
                            principal: p.principal.clone(),
                            container_path: disk
                                .volume
                                .as_ref()
                                .map(|v| v.container_path.clone())
                                .unwrap_or_default(),
                            size_mib: r.scalar.as_ref().map_or(0.0, |s| s.value),
                            host_path: self.layout.volume_dir(&a.name, role, &p.id),
                        });
                    }
                }
                AgentState {
                    id: a.id.clone(),
                    pid: self.agent_pid(&a.name),
                    name: a.name.clone(),
                    hostname: a.config.hostname.clone(),
                    address: a.config.address.to_string(),
                    active: a.status == AgentStatus::Active,
                    attributes: a.config.attributes.iter().cloned().collect(),
                    resources: totals,
                    reserved_resources_full: reserved,
                    used_resources_full: json_list(a.used.as_slice()),
                    offered_resources_full: json_list(a.offered.as_slice()),
                    volumes,
                }
            })
            .collect();
        State {
            version: crate::MESOS_VERSION.to_string(),
            id: self.cluster.cluster_id.clone(),
            start_time: self.started_at,
            frameworks,
            agents,
        }
    }
}
