//! Agents that go away and come back, as Apache Mesos 1.11 reports them: to partition-aware
//! frameworks TASK_UNREACHABLE, TASK_RUNNING again, TASK_GONE and TASK_GONE_BY_OPERATOR; to
//! the others TASK_LOST (and their tasks killed when the agent returns). TASK_KILLING only to
//! frameworks with TASK_KILLING_STATE.

use std::path::Path;
use std::time::Duration;

use stead_proto::scheduler::{Call, call};
use stead_proto::v1::framework_info::capability::Type as Cap;
use stead_proto::v1::task_status::Reason;
use stead_proto::v1::{AgentId, DurationInfo, KillPolicy, Offer, TaskId, TaskState, TaskStatus};

use crate::client::*;
use crate::tasks::{kill_call, process_gone, read_pid};

const AGENT_0: &str = "agent-0.local";

/// A task that writes its pid to `<dir>/<id>.pid` and runs until `<dir>/<id>.stop` exists.
fn pid_task(dir: &Path, id: &str, offer: &Offer) -> stead_proto::v1::TaskInfo {
    let pid = dir.join(format!("{id}.pid"));
    let stop = dir.join(format!("{id}.stop"));
    task(
        id,
        &offer.agent_id,
        &format!(
            "echo $$ > {}; while [ ! -e {} ]; do sleep 0.05; done",
            pid.display(),
            stop.display()
        ),
        vec![scalar("cpus", 0.1), scalar("mem", 16.0)],
    )
}

/// The pid `pid_task` `id` wrote, once it did.
async fn pid_of(dir: &Path, id: &str) -> anyhow::Result<i32> {
    let path = dir.join(format!("{id}.pid"));
    eventually(&format!("the pid of {id}"), || async {
        read_pid(&path).is_some()
    })
    .await?;
    read_pid(&path).ok_or_else(|| anyhow::anyhow!("no pid for {id}"))
}

/// A status's state and reason, for comparisons.
fn state_and_reason(s: &TaskStatus) -> (TaskState, Option<Reason>) {
    (s.state(), s.reason.and_then(|r| Reason::try_from(r).ok()))
}

fn reconcile(task_id: &str) -> Call {
    reconcile_on(task_id, None)
}

/// Explicit reconciliation of `task_id`, on `agent_id` if given.
fn reconcile_on(task_id: &str, agent_id: Option<&AgentId>) -> Call {
    Call {
        r#type: Some(call::Type::Reconcile as i32),
        reconcile: Some(call::Reconcile {
            tasks: vec![call::reconcile::Task {
                task_id: TaskId {
                    value: task_id.into(),
                },
                agent_id: agent_id.cloned(),
            }],
        }),
        ..Default::default()
    }
}

/// The next update of `task_id`, whatever its state (acknowledged if it has a uuid).
async fn next_update_of(s: &mut Sched, task_id: &str) -> anyhow::Result<TaskStatus> {
    let ev = s
        .wait_for(&format!("an update of {task_id}"), |e| {
            e.update
                .as_ref()
                .is_some_and(|u| u.status.task_id.value == task_id)
        })
        .await?;
    let status = ev
        .update
        .map(|u| u.status)
        .ok_or_else(|| anyhow::anyhow!("an update"))?;
    if status.uuid.is_some() {
        s.ack(&status).await?;
    }
    Ok(status)
}

/// Launches `ids` as `pid_task`s on agent-0 (the rest of the offer refused `refuse`
/// seconds) and waits until they run; their pids.
async fn running_on_agent_0(
    s: &mut Sched,
    dir: &Path,
    ids: &[&str],
    refuse: f64,
) -> anyhow::Result<Vec<i32>> {
    let o = s.offer_where(|o| o.hostname == AGENT_0).await?;
    let tasks = ids.iter().map(|id| pid_task(dir, id, &o)).collect();
    s.accept(&o, vec![launch_op(tasks)], refuse).await?;
    let mut pids = Vec::new();
    for id in ids {
        s.update(id, TaskState::TaskRunning).await?;
        pids.push(pid_of(dir, id).await?);
    }
    Ok(pids)
}

/// A partition-aware framework (role `r1`) and one that is not (role `r2`), subscribed.
async fn aware_and_other(url: &str) -> anyhow::Result<(Sched, Sched)> {
    let aware = Sched::subscribe(
        url,
        framework("aware", "r1", 0.0, &[Cap::PartitionAware]),
        Enc::Json,
    )
    .await?;
    let other = Sched::subscribe(url, framework("other", "r2", 0.0, &[]), Enc::Json).await?;
    Ok((aware, other))
}

#[tokio::test]
async fn a_partition_aware_task_is_unreachable_while_its_agent_is_cut_off_and_runs_on_after()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 2).await;
    let mut s = Sched::subscribe(
        cluster.master_url(),
        framework("pa", "r", 0.0, &[Cap::PartitionAware]),
        Enc::Json,
    )
    .await?;
    let pids = running_on_agent_0(&mut s, dir.path(), &["stays", "quits"], 0.0).await?;

    cluster.disconnect_agent("agent-0").await?;
    for id in ["stays", "quits"] {
        let u = s.update(id, TaskState::TaskUnreachable).await?;
        assert_eq!(u.reason, Some(Reason::AgentRemoved as i32));
        assert!(u.unreachable_time.is_some(), "{u:?}");
    }
    assert!(!process_gone(pids[0]), "a partition does not kill the task");
    let st = cluster.state().await?;
    assert!(!st.agents.iter().any(|a| a.hostname == AGENT_0 && a.active));
    s.send(reconcile("stays")).await?;
    let r = next_update_of(&mut s, "stays").await?;
    assert_eq!(
        state_and_reason(&r),
        (TaskState::TaskUnreachable, Some(Reason::Reconciliation))
    );
    // One task ends while its agent is cut off: that is told once the agent is back.
    std::fs::write(dir.path().join("quits.stop"), "")?;
    eventually("quits ended", || async { process_gone(pids[1]) }).await?;

    cluster.start_agent("agent-0").await?;
    let back = next_update_of(&mut s, "stays").await?;
    assert_eq!(
        state_and_reason(&back),
        (TaskState::TaskRunning, Some(Reason::AgentReregistered))
    );
    assert_eq!(
        next_update_of(&mut s, "quits").await?.state,
        TaskState::TaskFinished as i32
    );
    assert!(!process_gone(pids[0]), "the same process runs on");
    // The agent is offered again, and the task is as live as before: it can be killed.
    s.offer_where(|o| o.hostname == AGENT_0).await?;
    s.send(kill_call("stays", None)).await?;
    s.update("stays", TaskState::TaskKilled).await?;
    eventually("stays killed", || async { process_gone(pids[0]) }).await?;
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_task_of_a_framework_not_partition_aware_is_lost_and_killed_when_its_agent_returns()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 2).await;
    let mut s = Sched::subscribe(
        cluster.master_url(),
        framework("old", "r", 0.0, &[]),
        Enc::Protobuf,
    )
    .await?;
    let pids = running_on_agent_0(&mut s, dir.path(), &["old"], 0.0).await?;

    cluster.disconnect_agent("agent-0").await?;
    let lost = next_update_of(&mut s, "old").await?;
    assert_eq!(
        state_and_reason(&lost),
        (TaskState::TaskLost, Some(Reason::AgentRemoved))
    );
    assert!(!process_gone(pids[0]));
    cluster.start_agent("agent-0").await?;
    eventually("the task killed", || async { process_gone(pids[0]) }).await?;
    // Nothing was said about it since: the next update is the reconciliation answer.
    s.send(reconcile("old")).await?;
    let r = next_update_of(&mut s, "old").await?;
    assert_eq!(
        state_and_reason(&r),
        (TaskState::TaskLost, Some(Reason::Reconciliation))
    );
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_removed_agent_is_gone_by_operator_to_partition_aware_frameworks_and_lost_to_others()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 2).await;
    let (mut aware, mut other) = aware_and_other(cluster.master_url()).await?;
    // The first refuses the rest of agent-0 for a while, so that the other gets it.
    let aware_pid = running_on_agent_0(&mut aware, dir.path(), &["a"], 3600.0).await?[0];
    let other_pid = running_on_agent_0(&mut other, dir.path(), &["o"], 0.0).await?[0];

    // Removed while registered: straight to TASK_GONE_BY_OPERATOR, no TASK_UNREACHABLE first.
    cluster.remove_agent("agent-0").await?;
    let gone = next_update_of(&mut aware, "a").await?;
    assert_eq!(
        state_and_reason(&gone),
        (
            TaskState::TaskGoneByOperator,
            Some(Reason::AgentRemovedByOperator)
        )
    );
    let lost = next_update_of(&mut other, "o").await?;
    assert_eq!(
        state_and_reason(&lost),
        (TaskState::TaskLost, Some(Reason::AgentRemoved))
    );
    eventually("the removed agent's tasks dead", || async {
        process_gone(aware_pid) && process_gone(other_pid)
    })
    .await?;

    // Removed while unreachable: TASK_UNREACHABLE, then TASK_GONE_BY_OPERATOR.
    let o = aware.offer_where(|o| o.hostname == "agent-1.local").await?;
    let t = pid_task(dir.path(), "b", &o);
    aware.accept(&o, vec![launch_op(vec![t])], 0.0).await?;
    aware.update("b", TaskState::TaskRunning).await?;
    cluster.disconnect_agent("agent-1").await?;
    aware.update("b", TaskState::TaskUnreachable).await?;
    cluster.remove_agent("agent-1").await?;
    let gone = next_update_of(&mut aware, "b").await?;
    assert_eq!(gone.state, TaskState::TaskGoneByOperator as i32);
    eventually("b killed", || async {
        read_pid(&dir.path().join("b.pid")).is_some_and(process_gone)
    })
    .await?;
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_stopped_agent_started_again_reports_its_unreachable_tasks_gone() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 1).await;
    let mut s = Sched::subscribe(
        cluster.master_url(),
        framework("pa", "r", 0.0, &[Cap::PartitionAware]),
        Enc::Json,
    )
    .await?;
    let pid = running_on_agent_0(&mut s, dir.path(), &["t"], 0.0).await?[0];
    cluster.stop_agent("agent-0").await?;
    s.update("t", TaskState::TaskUnreachable).await?;
    eventually("the task died with its agent", || async {
        process_gone(pid)
    })
    .await?;
    cluster.start_agent("agent-0").await?;
    let gone = next_update_of(&mut s, "t").await?;
    assert_eq!(
        state_and_reason(&gone),
        (TaskState::TaskGone, Some(Reason::AgentRestarted))
    );
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn task_killing_goes_only_to_frameworks_with_the_task_killing_state() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 1).await;
    let url = cluster.master_url();
    for (name, caps, first) in [
        (
            "killing",
            vec![Cap::TaskKillingState],
            TaskState::TaskKilling,
        ),
        ("plain", vec![], TaskState::TaskKilled),
    ] {
        let mut s = Sched::subscribe(url, framework(name, name, 0.0, &caps), Enc::Json).await?;
        let o = s.offer_where(|o| o.hostname == AGENT_0).await?;
        let mut t = task(
            name,
            &o.agent_id,
            "trap 'sleep 0.3; exit 0' TERM; while :; do sleep 0.05; done",
            vec![scalar("cpus", 0.1), scalar("mem", 16.0)],
        );
        t.kill_policy = Some(KillPolicy {
            grace_period: Some(DurationInfo {
                nanoseconds: Duration::from_secs(5).as_nanos() as i64,
            }),
        });
        s.accept(&o, vec![launch_op(vec![t])], 0.0).await?;
        s.update(name, TaskState::TaskRunning).await?;
        s.send(kill_call(name, None)).await?;
        assert_eq!(next_update_of(&mut s, name).await?.state, first as i32);
        if first == TaskState::TaskKilling {
            s.update(name, TaskState::TaskKilled).await?;
        }
    }
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn reconciling_an_unknown_task_answers_by_what_the_master_knows_of_its_agent()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 3).await;
    let (mut aware, mut other) = aware_and_other(cluster.master_url()).await?;
    let id_of = |name: &str, st: &stead_local::State| {
        st.agents.iter().find(|a| a.name == name).map(|a| AgentId {
            value: a.id.clone(),
        })
    };
    let st = cluster.state().await?;
    let (registered, unreachable, removed) = (
        id_of("agent-0", &st),
        id_of("agent-1", &st),
        id_of("agent-2", &st),
    );
    cluster.disconnect_agent("agent-1").await?;
    cluster.remove_agent("agent-2").await?;
    let unknown = AgentId {
        value: "no-such-agent".into(),
    };
    let cases = [
        (registered.as_ref(), TaskState::TaskGone),
        (unreachable.as_ref(), TaskState::TaskUnreachable),
        (removed.as_ref(), TaskState::TaskGoneByOperator),
        (Some(&unknown), TaskState::TaskUnknown),
        (None, TaskState::TaskUnknown),
    ];
    for (i, (agent, state)) in cases.into_iter().enumerate() {
        let task = format!("ghost-{i}");
        aware.send(reconcile_on(&task, agent)).await?;
        let answer = next_update_of(&mut aware, &task).await?;
        assert_eq!(
            state_and_reason(&answer),
            (state, Some(Reason::Reconciliation)),
            "{agent:?}"
        );
        assert_eq!(
            answer.unreachable_time.is_some(),
            state == TaskState::TaskUnreachable
        );
        other.send(reconcile_on(&task, agent)).await?;
        let answer = next_update_of(&mut other, &task).await?;
        assert_eq!(answer.state(), TaskState::TaskLost, "{agent:?}");
    }
    cluster.shutdown().await?;
    Ok(())
}
