//! `stead uninstall` against a live scheduler: refused without `--yes`, then the
//! scheduler releases everything, tears the framework down and stops.

mod cli_support;

// Shared with the `stead` crate's own API tests, which keep it beside them.
#[path = "../../sdk/tests/live_support/mod.rs"]
mod live_support;

use std::time::Duration;

use cli_support::run_stead;
use live_support::Live;

const LONG: Duration = Duration::from_secs(180);

async fn stead(url: &str, args: &[&str]) -> std::process::Output {
    run_stead(url, None, args, LONG).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stead_uninstall_releases_everything_and_stops_the_scheduler() {
    let mut live = Live::start(None).await;

    let refused = stead(&live.url, &["uninstall"]).await;
    assert!(!refused.status.success(), "--yes is required");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--yes"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(live.handle.plan("uninstall").is_none(), "nothing started");

    let done = stead(&live.url, &["uninstall", "--yes"]).await;
    let out = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{out} {}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(out.contains("uninstall started"), "{out}");

    tokio::time::timeout(LONG, live.handle.wait())
        .await
        .expect("the uninstall finishes")
        .expect("the scheduler stops cleanly");
    let plan = live.handle.plan("uninstall").expect("the uninstall plan");
    assert!(plan.status.is_complete(), "{plan:?}");

    let cluster = live.handle.cluster().expect("the embedded cluster");
    let state = cluster.state().await.expect("cluster state");
    let role = "operator-live-role";
    assert!(
        state
            .frameworks
            .iter()
            .filter(|f| f.name == "operator-live")
            .all(|f| !f.active && f.tasks.iter().all(|t| t.state != "TASK_RUNNING")),
        "no running task, framework torn down"
    );
    for agent in &state.agents {
        assert!(
            agent
                .reserved_resources_full
                .get(role)
                .is_none_or(|r| r.is_empty()),
            "nothing reserved on {}",
            agent.name
        );
        assert!(agent.volumes.iter().all(|v| v.role != role), "no volume");
    }
    live.stop().await;
}
