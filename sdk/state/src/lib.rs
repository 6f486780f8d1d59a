//! Persistent scheduler state: the [`Persister`] interface, its backends, and the stores
//! built on it.
//!
//! Layout (mirrors dcos-commons): `FrameworkID`, `ConfigTarget`, `Configurations/<id>`,
//! `Tasks/<instance>/{TaskInfo,TaskStatus,Meta}`, `Properties/<key>`.

pub mod error;
pub mod mem;
pub mod path;
pub mod persister;
mod redb_backend;
mod tree;

pub use error::{Result, StateError};
pub use mem::MemPersister;
pub use persister::{Op, Persister};
pub use redb_backend::RedbPersister;
