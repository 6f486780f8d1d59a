//! The Mesos v1 scheduler API: the HTTP client, call builders, resource helpers and
//! leading-master detection through ZooKeeper.

pub mod calls;
mod client;
// Without the `zookeeper` feature, `detect_off.rs` refuses `--master zk://...`.
#[cfg_attr(not(feature = "zookeeper"), path = "detect_off.rs")]
pub mod detect;
pub mod resources;

pub use client::{
    Backoff, EventStream, MesosClient, MesosError, MesosResult, SCHEDULER_PATH, STREAM_ID_HEADER,
};
