//! A launched task as the scheduler keeps it in memory.

use prost::Message;
use stead_proto::v1::TaskInfo;

use crate::api::InstanceEndpoints;
use crate::offer::operations;

/// A launched task kept as its protobuf encoding (a decoded `TaskInfo` takes about five
/// times the memory, in many small allocations), with the fields read on every event
/// decoded once.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTask {
    encoded: Box<[u8]>,
    task_id: String,
    agent_id: String,
    config_id: Option<String>,
    resource_ids: Box<[String]>,
    /// Where it can be reached (boxed: most readers never ask).
    endpoints: Option<Box<InstanceEndpoints>>,
}

impl StoredTask {
    /// Keeps `info`.
    pub fn new(info: &TaskInfo) -> StoredTask {
        StoredTask::with_encoding(info, info.encode_to_vec())
    }

    /// Keeps `info`, whose protobuf encoding `encoded` is (as read from the state store).
    pub fn with_encoding(info: &TaskInfo, encoded: Vec<u8>) -> StoredTask {
        StoredTask {
            encoded: encoded.into_boxed_slice(),
            task_id: info.task_id.value.clone(),
            agent_id: info.agent_id.value.clone(),
            config_id: crate::offer::operations::config_id_of(info).map(String::from),
            resource_ids: operations::resource_ids(info).into_boxed_slice(),
            endpoints: InstanceEndpoints::of_task(info).map(Box::new),
        }
    }

    /// The protobuf encoding of the TaskInfo.
    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }

    /// The whole TaskInfo, decoded.
    pub fn info(&self) -> TaskInfo {
        // Invariant: the bytes were encoded from a TaskInfo in `new`, so they decode.
        TaskInfo::decode(&*self.encoded).expect("encoded from a TaskInfo")
    }

    /// The Mesos task id.
    pub fn task_id(&self) -> &str {
        &self.task_id
    }

    /// The agent it was launched on.
    pub fn agent_id(&self) -> &str {
        &self.agent_id
    }

    /// The configuration it was launched from (its `config_id` label).
    pub fn config_id(&self) -> Option<&str> {
        self.config_id.as_deref()
    }

    /// The ids of its reserved resources and volumes.
    pub fn resource_ids(&self) -> &[String] {
        &self.resource_ids
    }

    /// Where it can be reached: its address, hostname and named ports.
    pub fn endpoints(&self) -> Option<&InstanceEndpoints> {
        self.endpoints.as_deref()
    }
}

impl From<TaskInfo> for StoredTask {
    fn from(info: TaskInfo) -> StoredTask {
        StoredTask::new(&info)
    }
}

#[cfg(test)]
mod tests {
    use stead_proto::v1::{AgentId, Label, Labels, TaskId};

    use super::*;

    #[test]
    fn keeps_the_task_and_its_hot_fields() {
        let info = TaskInfo {
            name: "data-0".into(),
            task_id: TaskId {
                value: "data-0__1".into(),
            },
            agent_id: AgentId { value: "a1".into() },
            labels: Some(Labels {
                labels: vec![Label {
                    key: "config_id".into(),
                    value: Some("c1".into()),
                }],
            }),
            ..TaskInfo::default()
        };
        let stored = StoredTask::new(&info);
        assert_eq!(stored.info(), info);
        let read = StoredTask::with_encoding(&info, info.encode_to_vec());
        assert_eq!(read, stored);
        assert_eq!(stored.task_id(), "data-0__1");
        assert_eq!(stored.agent_id(), "a1");
        assert_eq!(stored.config_id(), Some("c1"));
        assert!(stored.resource_ids().is_empty());
    }
}
