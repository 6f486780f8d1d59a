//! The end-to-end scenarios, each run against the embedded cluster and against a real
//! Apache Mesos master with real agents (the harness of `../shared/real-mesos`, see
//! `stead_suite::real_mesos`).

#[path = "scenarios/fixture.rs"]
mod fixture;
