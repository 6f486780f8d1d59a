//! Task sandboxes through the agents, as on a Mesos cluster: the agent's address from the
//! master's state (`slaves[].pid`, `slave(1)@10.0.0.1:5051`), the sandbox directory of
//! the task's executor from the agent's `/slave(1)/state` (`directory`), and the sandbox's
//! files read with the agent's `/files/read?path=&offset=&length=`. The embedded cluster's
//! agents answer the same endpoints, so both take this one path.

use serde::Deserialize;
use serde_json::Value;

use super::{MesosClient, MesosError};

/// Why a sandbox file could not be found or read.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Talking to the master or the agent failed.
    #[error(transparent)]
    Mesos(#[from] MesosError),
    /// The master's state has no agent with this id, or none with a usable `pid`.
    #[error("the master knows no reachable agent {0}")]
    UnknownAgent(String),
    /// The agent's state shows no sandbox of the run asked for.
    #[error("agent {agent} has no sandbox of {run}")]
    NoSandbox {
        /// The agent's id.
        agent: String,
        /// The run looked for, e.g. `the previous run of data-1`.
        run: String,
    },
    /// An answer was not the JSON expected.
    #[error("unexpected answer from {url}: {why}")]
    Unexpected {
        /// The URL requested.
        url: String,
        /// What was wrong.
        why: String,
    },
}

/// Which run of an instance to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run<'a> {
    /// The task `task_id`, the instance's current one.
    Current(&'a str),
    /// The latest other task of the instance named `instance` on the agent, not `current`.
    Previous {
        /// The instance (the tasks' name).
        instance: &'a str,
        /// Its current task id, if any.
        current: Option<&'a str>,
    },
}

/// A task's sandbox on an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sandbox {
    /// The agent's base URL (`http://10.0.0.1:5051`).
    pub agent_url: String,
    /// The sandbox directory on the agent.
    pub directory: String,
    /// The task whose sandbox it is.
    pub task_id: String,
}

/// A piece of a sandbox file, as `/files/read` answers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FileChunk {
    /// The text read.
    pub data: String,
    /// Where it starts in the file (the file's size when asked for offset -1).
    pub offset: u64,
}

/// The agent's address and libprocess id from its `pid` (`slave(1)@10.0.0.1:5051`).
fn parse_pid(pid: &str) -> Option<(&str, &str)> {
    let (process, address) = pid.split_once('@')?;
    (!process.is_empty() && !address.is_empty()).then_some((process, address))
}

/// The base URL and state path of agent `agent_id` from the master's state.
fn agent_endpoints(master_state: &Value, agent_id: &str) -> Option<(String, String)> {
    let agent = master_state
        .get("slaves")?
        .as_array()?
        .iter()
        .find(|a| a.get("id").and_then(Value::as_str) == Some(agent_id))?;
    let (process, address) = parse_pid(agent.get("pid")?.as_str()?)?;
    Some((format!("http://{address}"), format!("/{process}/state")))
}

/// The ids and names of an executor's tasks (live, queued and completed).
fn executor_tasks(executor: &Value) -> impl Iterator<Item = (&str, &str)> {
    ["tasks", "queued_tasks", "completed_tasks"]
        .into_iter()
        .filter_map(|list| executor.get(list)?.as_array())
        .flatten()
        .filter_map(|t| {
            let id = t.get("id")?.as_str()?;
            Some((
                id,
                t.get("name").and_then(Value::as_str).unwrap_or_default(),
            ))
        })
}

/// The sandbox directory and task id of `run` in framework `framework_id` of an agent's
/// `/state`: the live executors are searched first, then the completed ones (latest
/// last, as Mesos lists them).
fn find_sandbox(agent_state: &Value, framework_id: &str, run: Run<'_>) -> Option<(String, String)> {
    let frameworks = ["frameworks", "completed_frameworks"]
        .into_iter()
        .filter_map(|list| agent_state.get(list)?.as_array())
        .flatten()
        .filter(|f| f.get("id").and_then(Value::as_str) == Some(framework_id));
    let mut live = Vec::new();
    let mut completed = Vec::new();
    for framework in frameworks {
        for (list, into) in [
            ("executors", &mut live),
            ("completed_executors", &mut completed),
        ] {
            if let Some(executors) = framework.get(list).and_then(Value::as_array) {
                into.extend(executors);
            }
        }
    }
    let found = |executor: &Value| {
        let directory = executor.get("directory")?.as_str()?.to_string();
        let task = executor_tasks(executor).find(|(id, name)| match run {
            Run::Current(task_id) => *id == task_id,
            Run::Previous { instance, current } => *name == instance && Some(*id) != current,
        })?;
        Some((directory, task.0.to_string()))
    };
    match run {
        Run::Current(_) => live.iter().chain(&completed).find_map(|e| found(e)),
        Run::Previous { .. } => completed
            .iter()
            .rev()
            .chain(live.iter().rev())
            .find_map(|e| found(e)),
    }
}

/// Finds the sandbox of `run` of framework `framework_id` on agent `agent_id`.
pub async fn locate(
    client: &MesosClient,
    agent_id: &str,
    framework_id: &str,
    run: Run<'_>,
) -> Result<Sandbox, SandboxError> {
    let master_state = client.master_json("/master/state").await?;
    let (agent_url, state_path) = agent_endpoints(&master_state, agent_id)
        .ok_or_else(|| SandboxError::UnknownAgent(agent_id.to_string()))?;
    let agent_state = client.get_json(format!("{agent_url}{state_path}")).await?;
    let (directory, task_id) =
        find_sandbox(&agent_state, framework_id, run).ok_or_else(|| SandboxError::NoSandbox {
            agent: agent_id.to_string(),
            run: match run {
                Run::Current(task_id) => format!("task {task_id}"),
                Run::Previous { instance, .. } => format!("a previous run of {instance}"),
            },
        })?;
    Ok(Sandbox {
        agent_url,
        directory,
        task_id,
    })
}

/// Reads `file` (e.g. `stdout`) of `sandbox` from `offset` (-1: only its size), at most
/// `length` bytes when given (the agent may return fewer: read on from the end).
pub async fn read(
    client: &MesosClient,
    sandbox: &Sandbox,
    file: &str,
    offset: i64,
    length: Option<u64>,
) -> Result<FileChunk, SandboxError> {
    let path = format!("{}/{file}", sandbox.directory);
    let mut query = vec![("path", path), ("offset", offset.to_string())];
    if let Some(length) = length {
        query.push(("length", length.to_string()));
    }
    let endpoint = format!("{}/files/read", sandbox.agent_url);
    let query = serde_urlencoded::to_string(&query).map_err(|e| SandboxError::Unexpected {
        url: endpoint.clone(),
        why: e.to_string(),
    })?;
    let url = format!("{endpoint}?{query}");
    let answer = client.get_json(url.clone()).await?;
    serde_json::from_value(answer).map_err(|e| SandboxError::Unexpected {
        url,
        why: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn agent_endpoints_from_the_master_state() {
        let state = json!({"slaves": [
            {"id": "a1", "pid": "slave(1)@10.0.0.1:5051"},
            {"id": "a2", "pid": "nonsense"},
        ]});
        assert_eq!(
            agent_endpoints(&state, "a1"),
            Some(("http://10.0.0.1:5051".into(), "/slave(1)/state".into()))
        );
        assert_eq!(agent_endpoints(&state, "a2"), None);
        assert_eq!(agent_endpoints(&state, "a3"), None);
    }

    #[test]
    fn sandboxes_of_the_current_and_the_previous_run() {
        let executor = |id: &str, list: &str| {
            json!({"id": id, "directory": format!("/sb/{id}"),
                   list: [{"id": id, "name": "data-1"}]})
        };
        let state = json!({
            "frameworks": [{
                "id": "fw",
                "executors": [executor("t3", "tasks")],
                "completed_executors": [
                    executor("t1", "completed_tasks"),
                    executor("t2", "completed_tasks"),
                ],
            }, {
                "id": "other",
                "executors": [executor("t9", "tasks")],
            }],
        });
        let find = |run| find_sandbox(&state, "fw", run);
        assert_eq!(
            find(Run::Current("t3")),
            Some(("/sb/t3".into(), "t3".into()))
        );
        assert_eq!(
            find(Run::Current("t1")),
            Some(("/sb/t1".into(), "t1".into()))
        );
        assert_eq!(find(Run::Current("t9")), None);
        let previous = Run::Previous {
            instance: "data-1",
            current: Some("t3"),
        };
        assert_eq!(find(previous), Some(("/sb/t2".into(), "t2".into())));
        let other = Run::Previous {
            instance: "data-2",
            current: None,
        };
        assert_eq!(find(other), None);
    }
}
