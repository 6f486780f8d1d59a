//! The embedded Mesos-compatible cluster: a v1 master with local agents that run real processes.

pub mod fetcher;
pub mod process;
