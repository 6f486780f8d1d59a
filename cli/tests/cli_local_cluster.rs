//! `stead local-cluster` run as a process: it serves a master until SIGTERM, then stops
//! cleanly with exit code 0.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn local_cluster_serves_until_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_stead"))
        .args([
            "local-cluster",
            "--port",
            "0",
            "--agents",
            "2",
            "--work-dir",
        ])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let banner = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("banner within 60 s")
        .unwrap()
        .expect("a banner line");
    assert!(banner.contains("with 2 agents"), "{banner}");
    let url = banner
        .split("master at ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("master URL in the banner")
        .to_string();

    let http = reqwest::Client::new();
    let health = http.get(format!("{url}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let state: serde_json::Value = serde_json::from_slice(
        &http
            .get(format!("{url}/state"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(state.is_object(), "{state}");

    let pid = child.id().unwrap().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("stopped within 60 s")
        .unwrap();
    assert!(status.success(), "{status:?}");
    let mut rest = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        rest.push(line);
    }
    assert_eq!(
        rest.last().map(String::as_str),
        Some("Local cluster stopped."),
        "{rest:?}"
    );
}
