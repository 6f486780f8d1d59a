//! The embedded Mesos-compatible cluster: a v1 master with local agents that run real processes.
//!
//! [`LocalCluster::start`] starts a master speaking the Mesos v1 scheduler HTTP API
//! (`POST /api/v1/scheduler`, protobuf or JSON, RecordIO event stream) on a loopback port, and
//! N agents that run each task as a process group in a sandbox under the work directory.
//! Reservations, persistent volumes and agent identities are checkpointed, so a cluster
//! restarted on the same work directory offers the same reservations and volumes.
//! A task's standard output and error are its sandbox's `stdout` and `stderr` files, read
//! through the agents' files API as on a Mesos agent (`/slave(<name>)/state` gives each
//! executor's `directory`, `/files/read` reads it).
//! [`run_standalone`] runs it as a command until Ctrl-C.

mod agent_api;
mod checkpoint;
mod cluster;
mod config;
mod error;
mod executor;
pub mod fetcher;
mod http;
mod master;
pub mod process;
pub mod resources;
mod standalone;
pub mod state;

pub use cluster::LocalCluster;
pub use config::{
    AgentConfig, Credential, Credentials, ExecutorMode, LocalClusterConfig, TlsFiles,
    loopback_address,
};
pub use error::{Error, Result};
pub use http::{SCHEDULER_CHALLENGE, STREAM_ID_HEADER};
pub use master::AgentAction;
pub use standalone::{LocalClusterArgs, run_standalone};
pub use state::State;

/// The Mesos version the master reports (its API is Mesos 1.x's v1 scheduler API).
pub const MESOS_VERSION: &str = "1.11.0";
