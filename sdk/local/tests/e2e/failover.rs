//! Framework failover, failover timeout, TEARDOWN, and a cluster restart on the same work dir.

use stead_proto::scheduler::call;
use stead_proto::v1::TaskState;
use stead_proto::v1::task_status::Reason;

use crate::client::*;
use crate::tasks::process_gone;

async fn pid_of(path: &std::path::Path) -> anyhow::Result<i32> {
    eventually("the pid file", || async {
        std::fs::read_to_string(path).is_ok_and(|s| s.trim().parse::<i32>().is_ok())
    })
    .await?;
    Ok(std::fs::read_to_string(path)?.trim().parse()?)
}

#[tokio::test]
async fn tasks_survive_a_scheduler_away_until_its_failover_timeout() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 1).await;
    let url = cluster.master_url();
    let mut s = Sched::subscribe(url, framework("fo", "r", 2.0, &[]), Enc::Json).await?;
    let o = s.offers().await?.remove(0);
    let pidfile = dir.path().join("t.pid");
    let t = task(
        "long",
        &o.agent_id,
        &format!("echo $$ > {}; exec sleep 120", pidfile.display()),
        vec![scalar("cpus", 0.1), scalar("mem", 32.0)],
    );
    s.accept(&o, vec![launch_op(vec![t])], 0.0).await?;
    s.update("long", TaskState::TaskRunning).await?;
    let pid = pid_of(&pidfile).await?;
    let info = s.info.clone();
    let fid = s.framework_id.clone();
    drop(s);
    eventually("the framework to be inactive", || async {
        cluster
            .state()
            .await
            .unwrap()
            .frameworks
            .iter()
            .any(|f| f.id == fid && !f.active)
    })
    .await?;
    assert!(!process_gone(pid));
    // Back within the timeout: the task is still running.
    let mut s = Sched::subscribe(url, info.clone(), Enc::Protobuf).await?;
    assert_eq!(s.framework_id, fid);
    s.send(simple(call::Type::Reconcile)).await?;
    s.update("long", TaskState::TaskRunning).await?;
    drop(s);
    // Away for longer than the timeout: the task is killed and the framework removed.
    eventually("the framework's removal", || async {
        cluster.state().await.unwrap().frameworks.is_empty()
    })
    .await?;
    eventually("the task's death", || async { process_gone(pid) }).await?;
    let err = Sched::subscribe(url, info, Enc::Json).await.err().unwrap();
    assert!(err.to_string().contains("403"), "{err}");
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn teardown_kills_the_tasks() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 1).await;
    let mut s = Sched::subscribe(
        cluster.master_url(),
        framework("td", "r", 3600.0, &[]),
        Enc::Json,
    )
    .await?;
    let o = s.offers().await?.remove(0);
    let pidfile = dir.path().join("t.pid");
    let t = task(
        "victim",
        &o.agent_id,
        &format!("echo $$ > {}; exec sleep 120", pidfile.display()),
        vec![scalar("cpus", 0.1), scalar("mem", 32.0)],
    );
    s.accept(&o, vec![launch_op(vec![t])], 0.0).await?;
    s.update("victim", TaskState::TaskRunning).await?;
    let pid = pid_of(&pidfile).await?;
    s.send(simple(call::Type::Teardown)).await?;
    eventually("the task's death", || async { process_gone(pid) }).await?;
    assert!(cluster.state().await?.frameworks.is_empty());
    // The stream ends.
    let end = s.next_event(WAIT).await;
    assert!(
        end.is_err()
            || end.unwrap().r#type == Some(stead_proto::scheduler::event::Type::Heartbeat as i32)
    );
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_restarted_cluster_keeps_reservations_volumes_and_reports_dead_tasks()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 2).await;
    let url = cluster.master_url().to_string();
    let mut s = Sched::subscribe(&url, framework("rs", "rs-role", 3600.0, &[]), Enc::Json).await?;
    let o = s.offer_where(|o| o.hostname == "agent-1.local").await?;
    let (role, principal) = (s.role(), s.principal());
    let cpus = reserved(scalar("cpus", 1.0), &role, &principal, "x");
    let disk = reserved(scalar("disk", 50.0), &role, &principal, "x");
    let vol = volume(disk.clone(), "keep", &principal, "data");
    let pidfile = dir.path().join("t.pid");
    let t = task(
        "dies-with-cluster",
        &o.agent_id,
        &format!(
            "echo kept > data/f; echo $$ > {}; exec sleep 120",
            pidfile.display()
        ),
        vec![cpus.clone(), vol.clone()],
    );
    s.accept(
        &o,
        vec![
            reserve_op(vec![cpus.clone(), disk.clone()]),
            create_op(vec![vol.clone()]),
            launch_op(vec![t]),
        ],
        0.0,
    )
    .await?;
    s.update("dies-with-cluster", TaskState::TaskRunning)
        .await?;
    let pid = pid_of(&pidfile).await?;
    let before = cluster.state().await?;
    let info = s.info.clone();
    drop(s);
    cluster.shutdown().await?;
    assert!(process_gone(pid), "shutdown left the task running");

    let cluster = crate::cluster(dir.path(), 2).await;
    let after = cluster.state().await?;
    let ids = |st: &stead_local::State| st.agents.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&before), ids(&after));
    assert_eq!(before.id, after.id);
    let a1 = after.agents.iter().find(|a| a.name == "agent-1").unwrap();
    assert_eq!(a1.volumes.len(), 1);
    assert_eq!(
        std::fs::read_to_string(a1.volumes[0].host_path.join("f"))?,
        "kept\n"
    );

    let mut s = Sched::subscribe(cluster.master_url(), info, Enc::Json).await?;
    let lost = s.update("dies-with-cluster", TaskState::TaskLost).await?;
    assert_eq!(lost.reason, Some(Reason::AgentRestarted as i32));
    let o = s
        .offer_where(|o| {
            o.resources
                .iter()
                .any(|r| r.disk.as_ref().is_some_and(|d| d.persistence.is_some()))
        })
        .await?;
    assert_eq!(o.hostname, "agent-1.local");
    let t = task(
        "again",
        &o.agent_id,
        "cat data/f",
        vec![cpus.clone(), vol.clone()],
    );
    s.accept(&o, vec![launch_op(vec![t])], 0.0).await?;
    s.update("again", TaskState::TaskFinished).await?;
    // A removed agent stays removed across restarts.
    cluster.remove_agent("agent-0").await?;
    drop(s);
    cluster.shutdown().await?;
    let cluster = crate::cluster(dir.path(), 2).await;
    assert_eq!(cluster.state().await?.agents.len(), 1);
    cluster.shutdown().await?;
    Ok(())
}
