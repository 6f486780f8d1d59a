//! Persistent scheduler state: the [`Persister`] interface, its backends, and the stores
//! built on it.
//!
//! The layout mirrors dcos-commons (see [`layout`]): `FrameworkID`, `ConfigTarget`,
//! `Configurations/<id>`, `Tasks/<instance>/{TaskInfo,TaskStatus,Meta}`,
//! `Properties/<key>`. Mesos messages are stored as protobuf, the scheduler's own records
//! as JSON.
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
pub mod error;
pub mod framework;
pub mod layout;
pub mod mem;
pub mod path;
pub mod persister;
mod redb_backend;
pub mod tasks;
mod tree;

pub use config::ConfigStore;
pub use error::{Result, StateError};
pub use framework::FrameworkStore;
pub use mem::MemPersister;
pub use persister::{Op, Persister};
pub use redb_backend::RedbPersister;
pub use tasks::{GoalOverride, StateBatch, StateStore, TaskMeta};
