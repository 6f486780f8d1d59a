//! Task state: TaskInfos, TaskStatuses, per-task metadata, and properties.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use stead_proto::v1::{TaskInfo, TaskStatus};

use crate::codec;
use crate::error::{Result, ignore_missing};
use crate::layout;
use crate::path;
use crate::persister::{Op, Persister};

/// An operator or scheduler decision that overrides a task's normal goal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GoalOverride {
    /// The task's agent or volume is gone for good: replace the task elsewhere.
    PermanentlyFailed,
    /// The operator asked to replace the task (new agent, new volume).
    Replace,
    /// The operator asked to restart the task in place.
    Restart,
    /// The task is paused: keep it stopped until the override is cleared.
    Paused,
}

/// The scheduler's small per-task record (`Tasks/<name>/Meta`, JSON). Unknown fields in a
/// stored record are kept in `extra`, so newer schedulers can add fields safely.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskMeta {
    /// A pending override of the task's goal, if any.
    pub goal_override: Option<GoalOverride>,
    /// How many times the task has been launched.
    pub launch_count: u64,
    /// When the task was last launched, in milliseconds since the Unix epoch.
    pub last_launch_ms: Option<u64>,
    /// Failures since the last successful run (drives backoff).
    pub consecutive_failures: u32,
    /// Do not relaunch before this time (milliseconds since the Unix epoch).
    pub backoff_until_ms: Option<u64>,
    /// The agent the instance was last placed on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// That agent's hostname.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// That agent's text attributes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// Set once Mesos reported the current task launched: its reservations and volume exist.
    pub reserved: bool,
    /// Further fields, preserved as-is.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// What is stored of one task, as [`StateStore::fetch_records`] reads it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskRecord {
    /// The TaskInfo, with its protobuf encoding as stored.
    pub info: Option<(TaskInfo, Vec<u8>)>,
    /// The latest TaskStatus.
    pub status: Option<TaskStatus>,
    /// The metadata record.
    pub meta: Option<TaskMeta>,
}

/// Reads and writes task state and properties.
#[derive(Clone, Debug)]
pub struct StateStore {
    persister: Arc<dyn Persister>,
}

/// A set of writes committed atomically by [`StateBatch::commit`] (one backend transaction).
#[derive(Debug)]
#[must_use = "a batch does nothing until committed"]
pub struct StateBatch<'a> {
    persister: &'a dyn Persister,
    ops: Vec<Op>,
}

impl StateBatch<'_> {
    /// Stores a TaskInfo under `Tasks/<info.name>/TaskInfo`.
    pub fn task(&mut self, info: &TaskInfo) -> Result<&mut Self> {
        path::check_name(&info.name)?;
        let key = layout::task_leaf(&info.name, layout::TASK_INFO);
        self.ops.push(Op::set(key, codec::encode_proto(info)));
        Ok(self)
    }

    /// Stores a TaskInfo as [`task`](Self::task) does, from its protobuf encoding
    /// `encoded`, made already by the caller (which keeps it).
    pub fn task_encoded(&mut self, info: &TaskInfo, encoded: Vec<u8>) -> Result<&mut Self> {
        path::check_name(&info.name)?;
        debug_assert_eq!(encoded, codec::encode_proto(info), "the encoding of `info`");
        let key = layout::task_leaf(&info.name, layout::TASK_INFO);
        self.ops.push(Op::set(key, encoded));
        Ok(self)
    }

    /// Stores the latest TaskStatus of task `name`.
    pub fn status(&mut self, name: &str, status: &TaskStatus) -> Result<&mut Self> {
        path::check_name(name)?;
        let key = layout::task_leaf(name, layout::TASK_STATUS);
        self.ops.push(Op::set(key, codec::encode_proto(status)));
        Ok(self)
    }

    /// Stores the metadata record of task `name`.
    pub fn meta(&mut self, name: &str, meta: &TaskMeta) -> Result<&mut Self> {
        path::check_name(name)?;
        let key = layout::task_leaf(name, layout::TASK_META);
        let value = codec::encode_json(&key, meta)?;
        self.ops.push(Op::set(key, value));
        Ok(self)
    }

    /// Sets property `key`.
    pub fn property(&mut self, key: &str, value: &[u8]) -> Result<&mut Self> {
        path::check_name(key)?;
        self.ops.push(Op::set(layout::property(key), value));
        Ok(self)
    }

    /// Number of writes queued.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Writes everything queued, all or nothing.
    pub fn commit(self) -> Result<()> {
        self.persister.multi(&self.ops)
    }
}

impl StateStore {
    /// A store over `persister`.
    pub fn new(persister: Arc<dyn Persister>) -> Self {
        StateStore { persister }
    }

    /// The underlying persister.
    pub fn persister(&self) -> &Arc<dyn Persister> {
        &self.persister
    }

    /// Starts an atomic batch of writes.
    pub fn batch(&self) -> StateBatch<'_> {
        StateBatch {
            persister: &*self.persister,
            ops: Vec::new(),
        }
    }

    /// Stores many TaskInfos at once, atomically (keyed by `TaskInfo.name`).
    pub fn store_tasks(&self, tasks: &[TaskInfo]) -> Result<()> {
        let mut batch = self.batch();
        for info in tasks {
            batch.task(info)?;
        }
        batch.commit()
    }

    /// Stores the latest TaskStatus of task `name`.
    pub fn store_status(&self, name: &str, status: &TaskStatus) -> Result<()> {
        let mut batch = self.batch();
        batch.status(name, status)?;
        batch.commit()
    }

    /// Stores many `(task name, status)` pairs at once, atomically.
    pub fn store_statuses<'s>(
        &self,
        statuses: impl IntoIterator<Item = (&'s str, &'s TaskStatus)>,
    ) -> Result<()> {
        let mut batch = self.batch();
        for (name, status) in statuses {
            batch.status(name, status)?;
        }
        batch.commit()
    }

    /// The TaskInfo of task `name`.
    pub fn fetch_task(&self, name: &str) -> Result<Option<TaskInfo>> {
        self.fetch_proto(name, layout::TASK_INFO)
    }

    /// The records of the tasks `names`, in order, read at once (one read transaction where
    /// the backend has them, instead of three per task).
    pub fn fetch_records(&self, names: &[String]) -> Result<Vec<TaskRecord>> {
        const LEAVES: [&str; 3] = [layout::TASK_INFO, layout::TASK_STATUS, layout::TASK_META];
        let mut keys = Vec::with_capacity(names.len() * LEAVES.len());
        for name in names {
            path::check_name(name)?;
            keys.extend(LEAVES.iter().map(|leaf| layout::task_leaf(name, leaf)));
        }
        let mut values = self.persister.get_many(&keys)?.into_iter();
        keys.chunks(LEAVES.len())
            .map(|k| {
                let mut next = || values.next().flatten();
                let (info, status, meta) = (next(), next(), next());
                Ok(TaskRecord {
                    info: info
                        .map(|b| codec::decode_proto(&k[0], &b).map(|info| (info, b)))
                        .transpose()?,
                    status: status.map(|b| codec::decode_proto(&k[1], &b)).transpose()?,
                    meta: meta.map(|b| codec::decode_json(&k[2], &b)).transpose()?,
                })
            })
            .collect()
    }

    /// Every stored TaskInfo, ordered by task name.
    pub fn fetch_tasks(&self) -> Result<Vec<TaskInfo>> {
        let mut out = Vec::new();
        for name in self.task_names()? {
            if let Some(info) = self.fetch_task(&name)? {
                out.push(info);
            }
        }
        Ok(out)
    }

    /// The latest TaskStatus of task `name`.
    pub fn fetch_status(&self, name: &str) -> Result<Option<TaskStatus>> {
        self.fetch_proto(name, layout::TASK_STATUS)
    }

    /// Every stored `(task name, status)`, ordered by task name.
    pub fn fetch_statuses(&self) -> Result<Vec<(String, TaskStatus)>> {
        let mut out = Vec::new();
        for name in self.task_names()? {
            if let Some(status) = self.fetch_status(&name)? {
                out.push((name, status));
            }
        }
        Ok(out)
    }

    /// The names of every task with stored state, sorted.
    pub fn task_names(&self) -> Result<Vec<String>> {
        self.persister.children(layout::TASKS)
    }

    /// Deletes everything stored for task `name` (on decommission); fine if none is.
    pub fn delete_task(&self, name: &str) -> Result<()> {
        path::check_name(name)?;
        ignore_missing(self.persister.delete(&layout::task(name)))
    }

    /// Stores the metadata record of task `name`.
    pub fn store_task_meta(&self, name: &str, meta: &TaskMeta) -> Result<()> {
        let mut batch = self.batch();
        batch.meta(name, meta)?;
        batch.commit()
    }

    /// The metadata record of task `name`.
    pub fn fetch_task_meta(&self, name: &str) -> Result<Option<TaskMeta>> {
        path::check_name(name)?;
        let key = layout::task_leaf(name, layout::TASK_META);
        self.persister
            .get(&key)?
            .map(|bytes| codec::decode_json(&key, &bytes))
            .transpose()
    }

    /// Sets property `key` (`Properties/<key>`).
    pub fn store_property(&self, key: &str, value: &[u8]) -> Result<()> {
        let mut batch = self.batch();
        batch.property(key, value)?;
        batch.commit()
    }

    /// The value of property `key`.
    pub fn fetch_property(&self, key: &str) -> Result<Option<Vec<u8>>> {
        path::check_name(key)?;
        self.persister.get(&layout::property(key))
    }

    /// Removes property `key`; fine if it is not set.
    pub fn delete_property(&self, key: &str) -> Result<()> {
        path::check_name(key)?;
        ignore_missing(self.persister.delete(&layout::property(key)))
    }

    /// The names of every set property, sorted.
    pub fn property_keys(&self) -> Result<Vec<String>> {
        self.persister.children(layout::PROPERTIES)
    }

    fn fetch_proto<M: prost::Message + Default>(
        &self,
        name: &str,
        leaf: &str,
    ) -> Result<Option<M>> {
        path::check_name(name)?;
        let key = layout::task_leaf(name, leaf);
        self.persister
            .get(&key)?
            .map(|bytes| codec::decode_proto(&key, &bytes))
            .transpose()
    }
}
