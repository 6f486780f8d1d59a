//! The work directory's layout and its checkpoint files.
//!
//! ```text
//! <work_dir>/cluster.json                         cluster identity, removed agents
//! <work_dir>/agents/<agent>/agent.json            agent identity, reservations, volumes, tasks
//! <work_dir>/agents/<agent>/volumes/<role>/<id>/  persistent volumes
//! <work_dir>/agents/<agent>/sandboxes/<framework>/<task>/<container>/  task sandboxes
//! ```
//!
//! Checkpoints are written atomically (temporary file, then rename).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use stead_proto::v1::Resource;

use crate::Error;

/// Paths inside the work directory.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

/// A path component that cannot escape its directory: `/` is escaped and `.`/`..` are quoted.
fn component(s: &str) -> String {
    let escaped = s.replace('%', "%25").replace('/', "%2F");
    match escaped.as_str() {
        "" | "." | ".." => format!("%{escaped}"),
        _ => escaped,
    }
}

impl Layout {
    /// The layout rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The cluster checkpoint.
    pub fn cluster_file(&self) -> PathBuf {
        self.root.join("cluster.json")
    }

    /// An agent's directory.
    pub fn agent_dir(&self, agent: &str) -> PathBuf {
        self.root.join("agents").join(component(agent))
    }

    /// An agent's checkpoint.
    pub fn agent_file(&self, agent: &str) -> PathBuf {
        self.agent_dir(agent).join("agent.json")
    }

    /// The directory of a persistent volume.
    pub fn volume_dir(&self, agent: &str, role: &str, persistence_id: &str) -> PathBuf {
        self.agent_dir(agent)
            .join("volumes")
            .join(component(role))
            .join(component(persistence_id))
    }

    /// The sandbox of one run of a task.
    pub fn sandbox_dir(
        &self,
        agent: &str,
        framework: &str,
        task: &str,
        container: &str,
    ) -> PathBuf {
        self.agent_dir(agent)
            .join("sandboxes")
            .join(component(framework))
            .join(component(task))
            .join(component(container))
    }
}

/// The cluster-wide checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClusterCheckpoint {
    /// The cluster's id (prefix of framework, agent and offer ids; the master id).
    pub cluster_id: String,
    /// Names of agents removed for good.
    #[serde(default)]
    pub removed_agents: Vec<String>,
    /// Next framework sequence number.
    #[serde(default)]
    pub next_framework: u64,
}

/// A task that was live on an agent when the checkpoint was written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskCheckpoint {
    /// Framework id.
    pub framework_id: String,
    /// Task id.
    pub task_id: String,
    /// Task name.
    pub name: String,
    /// Whether the framework is partition-aware (decides TASK_GONE versus TASK_LOST).
    #[serde(default)]
    pub partition_aware: bool,
}

/// An agent's checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AgentCheckpoint {
    /// The Mesos agent id.
    pub agent_id: String,
    /// The hostname.
    pub hostname: String,
    /// Reserved resources and persistent volumes, in Mesos JSON.
    #[serde(default)]
    pub reserved: Vec<serde_json::Value>,
    /// Tasks live at the time of writing.
    #[serde(default)]
    pub tasks: Vec<TaskCheckpoint>,
}

impl AgentCheckpoint {
    /// The reserved resources as protobuf messages.
    pub fn reserved_resources(&self, path: &Path) -> Result<Vec<Resource>, Error> {
        self.reserved
            .iter()
            .map(|v| {
                stead_proto::json::from_json_value::<Resource>(v.clone()).map_err(|e| {
                    Error::Checkpoint {
                        path: path.to_path_buf(),
                        message: e.to_string(),
                    }
                })
            })
            .collect()
    }

    /// Sets the reserved resources from protobuf messages.
    pub fn set_reserved(&mut self, resources: &[Resource]) {
        self.reserved = resources
            .iter()
            .filter_map(|r| match stead_proto::json::to_json_value(r) {
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::error!(%e, "cannot checkpoint a resource");
                    None
                }
            })
            .collect();
    }
}

/// Reads a JSON checkpoint; `Ok(None)` when the file does not exist.
pub fn read<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Checkpoint {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Writes a JSON checkpoint atomically.
pub fn write<T: Serialize>(path: &Path, value: &T) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_cannot_escape() {
        let l = Layout::new("/w");
        assert_eq!(
            l.volume_dir("a", "role/sub", ".."),
            PathBuf::from("/w/agents/a/volumes/role%2Fsub/%..")
        );
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x/agent.json");
        assert_eq!(read::<AgentCheckpoint>(&path).unwrap(), None);
        let mut cp = AgentCheckpoint {
            agent_id: "c-S0".into(),
            hostname: "h".into(),
            reserved: vec![],
            tasks: vec![],
        };
        cp.set_reserved(&[crate::resources::ranges_resource(
            "ports",
            &[(1, u64::from(u32::MAX) + 5)],
        )]);
        write(&path, &cp).unwrap();
        let back: AgentCheckpoint = read(&path).unwrap().unwrap();
        assert_eq!(back, cp);
        let rs = back.reserved_resources(&path).unwrap();
        assert_eq!(rs[0].ranges.as_ref().unwrap().range[0].end, 4294967300);
    }
}
