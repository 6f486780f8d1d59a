//! The Mesos v1 scheduler API: the HTTP client and resource helpers.

pub mod resources;
