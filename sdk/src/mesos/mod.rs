//! The Mesos v1 scheduler API: the HTTP client, call builders and resource helpers.

pub mod calls;
mod client;
pub mod resources;

pub use client::{
    Backoff, EventStream, MesosClient, MesosError, MesosResult, SCHEDULER_PATH, STREAM_ID_HEADER,
};
