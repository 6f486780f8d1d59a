//! The end-to-end scenarios, each run from one code path against the embedded cluster
//! and against a real Apache Mesos master with real agents (the harness of
//! `../shared/real-mesos`, see `stead_suite::real_mesos`), with every assertion read
//! from the cluster's own state. A scenario `x` is the tests `x::embedded` and
//! `x::real_mesos`; `cargo test --test scenarios real_mesos` runs only the real ones.
//!
//! Scenarios that stop or remove a single agent stay embedded-only in tests/e2e.rs
//! (an agent restarted gets its tasks back in place; a replace after an agent was
//! removed): the real harness runs every agent in one process and can only stop them
//! all at once.

#[path = "../examples/data-store/spec.rs"]
#[allow(dead_code)]
mod spec;

#[path = "faults/proxy.rs"]
#[allow(dead_code)]
mod proxy;

#[path = "scenarios/cluster.rs"]
mod cluster;
#[path = "scenarios/common.rs"]
mod common;
#[path = "scenarios/fixture.rs"]
mod fixture;
#[path = "scenarios/lifecycle.rs"]
mod lifecycle;
#[path = "scenarios/outage.rs"]
mod outage;
#[path = "scenarios/updates.rs"]
mod updates;

/// For each `module::scenario`, a module `scenario` with the tests `embedded` and
/// `real_mesos` running it on either cluster.
macro_rules! on_both_clusters {
    ($($module:ident :: $scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use crate::cluster::Kind;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() -> anyhow::Result<()> {
                crate::$module::$scenario(Kind::Embedded).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn real_mesos() -> anyhow::Result<()> {
                crate::$module::$scenario(Kind::RealMesos).await
            }
        }
    )*};
}

on_both_clusters!(
    lifecycle::deploy,
    lifecycle::kill_task_process,
    lifecycle::scheduler_killed_mid_deploy,
    updates::rolling_cpus_update,
    updates::scale_out,
    updates::decommission,
    updates::replace,
    lifecycle::uninstall,
    outage::crash_and_recover,
    lifecycle::no_call_after_teardown,
    outage::prompt_reconnection,
);
