//! The standalone cluster: runs until SIGINT, then stops with every task process reaped.

use std::time::Duration;

use stead_proto::v1::TaskState;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::client::*;
use crate::tasks::process_gone;

#[tokio::test]
async fn standalone_cluster_stops_cleanly_on_sigint() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_stead-local-cluster"))
        .args([
            "--agents",
            "3",
            "--port",
            "0",
            "--heartbeat-secs",
            "1",
            "--work-dir",
        ])
        .arg(dir.path().join("work"))
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(WAIT, lines.next_line())
        .await??
        .unwrap_or_default();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .ok_or_else(|| anyhow::anyhow!("no master URL in {first:?}"))?
        .to_string();
    let mut s = Sched::subscribe(&url, framework("sa", "r", 0.0, &[]), Enc::Protobuf).await?;
    let offers = s.offers().await?;
    assert_eq!(offers.len(), 3);
    let pidfile = dir.path().join("t.pid");
    let o = &offers[0];
    let mut t = task(
        "stubborn",
        &o.agent_id,
        &format!(
            "trap '' TERM INT; echo $$ > {}; while true; do sleep 0.05; done",
            pidfile.display()
        ),
        vec![scalar("cpus", 0.1), scalar("mem", 32.0)],
    );
    t.kill_policy = None;
    s.accept(o, vec![launch_op(vec![t])], 0.0).await?;
    s.update("stubborn", TaskState::TaskRunning).await?;
    eventually("the pid file", || async {
        std::fs::read_to_string(&pidfile).is_ok_and(|p| p.trim().parse::<i32>().is_ok())
    })
    .await?;
    let pid: i32 = std::fs::read_to_string(&pidfile)?.trim().parse()?;
    let cluster_pid = nix::unistd::Pid::from_raw(child.id().unwrap() as i32);
    nix::sys::signal::kill(cluster_pid, nix::sys::signal::Signal::SIGINT)?;
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await??;
    assert!(status.success(), "{status:?}");
    assert!(process_gone(pid), "a task process outlived the cluster");
    // The stream ended.
    let mut ended = false;
    for _ in 0..5 {
        if s.next_event(Duration::from_secs(3)).await.is_err() {
            ended = true;
            break;
        }
    }
    assert!(ended);
    Ok(())
}
