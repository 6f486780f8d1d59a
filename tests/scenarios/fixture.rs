//! The real Mesos fixture itself: it starts a cluster, reads its state, crashes and
//! recovers it.

use stead_suite::real_mesos::{RealMesos, RealMesosOptions};

#[tokio::test]
async fn real_mesos_fixture_starts_crashes_and_recovers() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = RealMesos::start(RealMesosOptions::new(2, dir.path())).await?;
    let state = cluster.state().await?;
    assert_eq!(state["activated_slaves"], 2.0);
    let slaves = cluster.slaves().await?;
    let slaves = slaves["slaves"].as_array().cloned().unwrap_or_default();
    assert_eq!(slaves.len(), 2);
    assert!(
        slaves
            .iter()
            .all(|s| s.get("reserved_resources_full").is_some())
    );

    cluster.crash_keep_tasks().await?;
    assert!(
        cluster.state().await.is_err(),
        "the master answers after a crash"
    );
    cluster.restart().await?;
    let state = cluster.state().await?;
    assert_eq!(state["activated_slaves"], 2.0);

    let (port, log) = (cluster.port(), cluster.log_path());
    drop(cluster);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the master still listens after the fixture was dropped"
    );
    assert!(std::fs::read_to_string(log)?.contains("Registered agent"));
    Ok(())
}
