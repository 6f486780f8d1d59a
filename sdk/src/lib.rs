//! Stead: an SDK for running highly available stateful services.
//!
//! A service author declares a service with [`task_type!`](crate::task_type) and
//! [`#[service]`](crate::service); [`DefaultService`](crate::scheduler::DefaultService)
//! deploys it on Apache Mesos or on the embedded `local` cluster and keeps it running;
//! [`main`] is a service binary's whole `main`.
//!
//! Cargo features (both on by default): `local`, the embedded cluster started when no
//! `--master` is given; `zookeeper`, state in ZooKeeper (`--zk`) and following the leading
//! master through it (`--master zk://...`). A service that always runs on a Mesos master
//! and keeps its state in redb builds leaner without them.

pub mod api;
pub mod args;
pub mod entry;
mod error;
pub mod http;
pub mod logging;
pub mod mesos;
pub mod offer;
pub mod package;
pub mod plan;
pub mod prelude;
pub mod report;
pub mod scheduler;
pub mod spec;

pub use entry::{Entry, main};
pub use error::{Error, Result};
#[cfg(feature = "local")]
pub use stead_local as local;
pub use stead_macros::{service, task_type};
pub use stead_proto as proto;
pub use stead_state as state;
