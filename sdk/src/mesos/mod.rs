//! The Mesos v1 scheduler API: the HTTP client and its credentials and TLS trust,
//! leading-master detection through ZooKeeper, tasks' sandboxes through the agents' files
//! API, Stead's reservation labels, and the call builders and resource helpers of
//! `stead-proto` under the paths the scheduler uses.

pub mod access;
mod client;
// Without the `zookeeper` feature, `detect_off.rs` refuses `--master zk://...`.
#[cfg_attr(not(feature = "zookeeper"), path = "detect_off.rs")]
pub mod detect;
pub mod resources;
pub mod sandbox;

pub use access::{MasterAccess, Secret};
pub use client::{Backoff, EventStream, MesosClient, MesosError, MesosResult, TransportError};
pub use stead_proto::calls;
pub use stead_proto::http::{SCHEDULER_PATH, STREAM_ID_HEADER};

/// True when `master` names the masters' znode in ZooKeeper rather than one master.
pub fn is_zk_url(master: &str) -> bool {
    master.starts_with("zk://")
}
