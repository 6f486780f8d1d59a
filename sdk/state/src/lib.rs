//! Persistent scheduler state: the [`Persister`] interface, its backends, and the stores
//! built on it.
//!
//! Backends: [`MemPersister`] (tests), [`RedbPersister`] (the embedded default: one file)
//! and, with the `zookeeper` feature, `ZkPersister` (ZooKeeper, with the one-scheduler lock
//! and Mesos master detection in `zk`). The layout mirrors dcos-commons (see [`layout`]): `FrameworkID`,
//! `ConfigTarget`, `Configurations/<id>`, `Tasks/<instance>/{TaskInfo,TaskStatus,Meta}`,
//! `Properties/<key>`. Mesos messages are stored as protobuf, the scheduler's own records
//! as JSON. [`dump`] copies a whole state between backends.
//!
//! ```
//! use std::sync::Arc;
//! use stead_state::{MemPersister, Persister, StateStore};
//!
//! let persister: Arc<dyn Persister> = Arc::new(MemPersister::new());
//! let store = StateStore::new(persister);
//! store.store_property("deploy-complete", b"true").unwrap();
//! assert_eq!(store.property_keys().unwrap(), vec!["deploy-complete"]);
//! ```

mod codec;
pub mod config;
pub mod dump;
pub mod error;
pub mod framework;
pub mod layout;
pub mod mem;
pub mod path;
pub mod persister;
mod redb_backend;
pub mod tasks;
#[cfg(feature = "testing")]
pub mod testing;
mod tree;
#[cfg(feature = "zookeeper")]
pub mod zk;

pub use config::ConfigStore;
pub use dump::{ImportMode, StateDump, export, import};
pub use error::{Result, StateError};
pub use framework::FrameworkStore;
pub use mem::MemPersister;
pub use persister::{Op, Persister};
pub use redb_backend::RedbPersister;
pub use tasks::{GoalOverride, StateBatch, StateStore, TaskMeta, TaskRecord};
#[cfg(feature = "zookeeper")]
pub use zk::{SessionState, ZkLock, ZkPersister};
