//! Interop with a third-party Mesos client: pymesos, run by Debian's /usr/bin/python3.
//! Skipped (loudly) when pymesos is not importable, except under CI=true where it fails.

use std::process::Command;

const PYTHON: &str = "/usr/bin/python3";

fn pymesos_available() -> bool {
    Command::new(PYTHON)
        .args(["-c", "import pymesos, addict, http_parser"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test]
async fn pymesos_reserves_launches_and_acknowledges() -> anyhow::Result<()> {
    if !pymesos_available() {
        let msg = "pymesos is not importable by /usr/bin/python3; install it with: \
                   apt-get install -y python3-http-parser python3-pip && \
                   /usr/bin/python3 -m pip install --break-system-packages --no-deps pymesos six addict";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}");
        }
        eprintln!("\n!!!!!!!! SKIPPED pymesos interop test: {msg} !!!!!!!!\n");
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 1).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pymesos_framework.py");
    let master = cluster.addr().to_string();
    let out = tokio::process::Command::new(PYTHON)
        .arg(script)
        .arg(&master)
        .kill_on_drop(true)
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "pymesos framework failed: {stderr}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim())
        .map_err(|e| anyhow::anyhow!("bad summary {stdout:?} ({e}); stderr: {stderr}"))?;
    assert_eq!(
        summary["errors"],
        serde_json::json!([]),
        "{summary} {stderr}"
    );
    assert_eq!(summary["reserved"], true);
    assert_eq!(summary["launched"], true);
    assert_eq!(summary["finished_in_time"], true, "{summary} {stderr}");
    let states: Vec<&str> = summary["states"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    assert!(states.contains(&"TASK_RUNNING"), "{states:?}");
    assert_eq!(states.last(), Some(&"TASK_FINISHED"));
    assert_eq!(summary["acked"].as_u64().unwrap() as usize, states.len());
    // The reservation is real and checkpointed.
    let st = cluster.state().await?;
    assert_eq!(
        st.agents[0].reserved_resources_full["pymesos-role"].len(),
        2
    );
    // Every update was acknowledged: the task left the master's live set.
    crate::client::eventually("the acknowledged task to complete", || async {
        cluster
            .state()
            .await
            .unwrap()
            .frameworks
            .iter()
            .all(|f| f.tasks.is_empty())
    })
    .await?;
    cluster.shutdown().await?;
    Ok(())
}
