//! End-to-end tests of the local cluster over real HTTP.

// Not every test module uses every helper.
mod addresses;
mod api;
#[allow(dead_code)]
mod client;
mod failover;
mod lifecycle;
mod offers;
mod partition;
mod pymesos;
mod standalone;
mod tasks;

use stead_local::{LocalCluster, LocalClusterConfig};

/// Starts a cluster on a fresh work directory with `agents` agents and a short status retry.
pub async fn cluster(dir: &std::path::Path, agents: usize) -> LocalCluster {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
    LocalCluster::start(
        LocalClusterConfig::new(dir)
            .agents(agents)
            .status_update_retry(std::time::Duration::from_millis(500)),
    )
    .await
    .expect("the cluster starts")
}
