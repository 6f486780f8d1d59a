//! End-to-end tests: the data-store example's spec deployed on the embedded cluster,
//! with real processes, failures and scheduler restarts. The scenarios that run on a
//! real Apache Mesos master too (deploy, a task's process killed, the scheduler killed
//! mid-deploy, ...) are in tests/scenarios.rs; these need what only the embedded
//! cluster does (a single agent stopped or removed) or check its own messages.

#[path = "../examples/data-store/spec.rs"]
#[allow(dead_code)]
mod spec;

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use stead::local::state::TaskView;
use stead::local::{LocalCluster, State};
use stead::plan::Status;
use stead::scheduler::{DefaultService, Options, ServiceHandle, ServiceSnapshot};
use stead::spec::{CommandSpec, ServiceSpec, TaskTypeSpec};
use stead_suite::{
    cluster_state as state, eventually, init_logging, launch_number, live_tasks, persistence_ids,
    running_task, sandbox_value, start_cluster, test_options, volume_ids,
};

const SERVICE: &str = "data-store";
/// Generous: CI machines are slow and shared.
const LONG: Duration = Duration::from_secs(180);

async fn cluster(dir: &Path, agents: usize) -> Result<LocalCluster> {
    Ok(start_cluster(dir, agents).await?)
}

async fn start(cluster: &LocalCluster, dir: &Path, spec: ServiceSpec) -> Result<ServiceHandle> {
    start_with(test_options(cluster.master_url()), dir, spec).await
}

async fn start_with(opts: Options, dir: &Path, spec: ServiceSpec) -> Result<ServiceHandle> {
    Ok(DefaultService::with_options(0, opts)
        .state_dir(dir.join("state"))
        .start_spec(spec)
        .await?)
}

fn deploy_status(s: &ServiceSnapshot) -> Option<Status> {
    s.plan("deploy").map(|p| p.status)
}

async fn deployed(handle: &ServiceHandle) -> Result<()> {
    handle
        .wait_for(LONG, |s| deploy_status(s) == Some(Status::Complete))
        .await?;
    Ok(())
}

fn agent_name(state: &State, agent_id: &str) -> Option<String> {
    state
        .agents
        .iter()
        .find(|a| a.id == agent_id)
        .map(|a| a.name.clone())
}

async fn running(cluster: &LocalCluster, instance: &str) -> Result<TaskView> {
    let what = format!("{instance} running");
    Ok(eventually(&what, LONG, || async {
        running_task(&state(cluster).await, SERVICE, instance).cloned()
    })
    .await?)
}

/// Logging on, a fresh directory and a cluster of `agents` agents in it.
async fn setup(agents: usize) -> Result<(tempfile::TempDir, LocalCluster)> {
    init_logging();
    let dir = tempfile::tempdir()?;
    let cluster = cluster(dir.path(), agents).await?;
    Ok((dir, cluster))
}

/// The data-store spec deployed on a fresh cluster of `agents` agents, logging on.
async fn deployed_data_store(
    agents: usize,
) -> Result<(tempfile::TempDir, LocalCluster, ServiceHandle)> {
    let (dir, cluster) = setup(agents).await?;
    let handle = start(&cluster, dir.path(), spec::spec()?).await?;
    deployed(&handle).await?;
    Ok((dir, cluster, handle))
}

/// Removes for good the agent `instance` runs on; the instance's task and every task of
/// the service that ran there.
async fn remove_agent_of(
    cluster: &LocalCluster,
    instance: &str,
) -> Result<(TaskView, Vec<TaskView>)> {
    let lost = running(cluster, instance).await?;
    let st = state(cluster).await;
    let agent = agent_name(&st, &lost.slave_id).context("agent")?;
    let on_lost_agent: Vec<TaskView> = live_tasks(&st, SERVICE)
        .into_iter()
        .filter(|t| t.slave_id == lost.slave_id)
        .cloned()
        .collect();
    cluster.remove_agent(&agent).await?;
    Ok((lost, on_lost_agent))
}

/// Waits until the instance of `task` runs on another agent than `agent_id`; a data node
/// starts on a fresh volume there.
async fn moved_off(cluster: &LocalCluster, task: &TaskView, agent_id: &str) -> Result<()> {
    let what = format!("{} moved", task.name);
    let moved = eventually(&what, LONG, || async {
        running_task(&state(cluster).await, SERVICE, &task.name)
            .filter(|n| n.slave_id != agent_id)
            .cloned()
    })
    .await?;
    if task.name.starts_with("data-") {
        assert_eq!(launch_number(&moved, LONG).await?, 1, "a fresh volume");
    }
    Ok(())
}

/// Stops the scheduler, then the cluster.
async fn stop(handle: ServiceHandle, cluster: LocalCluster) -> Result<()> {
    handle.shutdown().await?;
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_agent_gets_its_tasks_back_in_place() -> Result<()> {
    let (_dir, cluster, handle) = deployed_data_store(3).await?;

    let before = running(&cluster, "data-2").await?;
    // The first run has counted itself on the volume before its agent goes away.
    assert_eq!(launch_number(&before, LONG).await?, 1);
    let agent = agent_name(&state(&cluster).await, &before.slave_id).context("agent")?;
    cluster.stop_agent(&agent).await?;
    eventually("data-2 down", LONG, || async {
        running_task(&state(&cluster).await, SERVICE, "data-2")
            .is_none()
            .then_some(())
    })
    .await?;
    cluster.start_agent(&agent).await?;
    let after = running(&cluster, "data-2").await?;
    assert_ne!(after.id, before.id);
    assert_eq!(
        after.slave_id, before.slave_id,
        "relaunched on the same agent"
    );
    assert_eq!(
        persistence_ids(&after),
        persistence_ids(&before),
        "same volume"
    );
    assert_eq!(launch_number(&after, LONG).await?, 2, "its data survived");
    handle
        .wait_for(LONG, |s| {
            s.plan("recovery")
                .is_some_and(|p| p.status == Status::Complete)
        })
        .await?;
    stop(handle, cluster).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_agent_is_waited_for_and_its_tasks_run_on_when_it_returns() -> Result<()> {
    let (_dir, cluster, handle) = deployed_data_store(3).await?;

    let before = running(&cluster, "data-2").await?;
    let pid = sandbox_value::<i32>(&before, "data.pid", LONG).await?;
    let st = state(&cluster).await;
    let mut ids: Vec<String> = live_tasks(&st, SERVICE)
        .iter()
        .map(|t| t.id.clone())
        .collect();
    ids.sort();
    let agent = agent_name(&st, &before.slave_id).context("agent")?;
    cluster.disconnect_agent(&agent).await?;
    let unreachable = |s: &ServiceSnapshot| {
        s.instance("data-2")
            .is_some_and(|i| i.state.as_deref() == Some("TASK_UNREACHABLE"))
            && s.plan("recovery")
                .and_then(|p| p.step("data-2"))
                .is_some_and(|st| st.message.contains("agent is unreachable"))
    };
    handle.wait_for(LONG, unreachable).await?;

    cluster.start_agent(&agent).await?;
    handle
        .wait_for(LONG, |s| {
            s.instance("data-2")
                .is_some_and(|i| i.state.as_deref() == Some("TASK_RUNNING"))
                && s.plan("recovery")
                    .is_some_and(|p| p.status == Status::Complete)
        })
        .await?;
    // Nothing was relaunched: the same tasks, the same process, one launch on the volume.
    let st = state(&cluster).await;
    let mut after: Vec<String> = live_tasks(&st, SERVICE)
        .iter()
        .map(|t| t.id.clone())
        .collect();
    after.sort();
    assert_eq!(after, ids);
    let data_2 = running(&cluster, "data-2").await?;
    assert_eq!(data_2.id, before.id);
    assert_eq!(launch_number(&data_2, LONG).await?, 1);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
        .context("the task's process still runs")?;
    stop(handle, cluster).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_removed_by_the_operator_has_its_instances_replaced_elsewhere() -> Result<()> {
    let (dir, cluster) = setup(4).await?;
    let opts = Options {
        replace_timeout: Some(Duration::from_secs(20 * 60)),
        ..test_options(cluster.master_url())
    };
    let handle = start_with(opts, dir.path(), spec::spec()?).await?;
    deployed(&handle).await?;

    let (lost, on_lost_agent) = remove_agent_of(&cluster, "data-0").await?;
    // No operator request: TASK_GONE_BY_OPERATOR fails them permanently, at once.
    for t in &on_lost_agent {
        moved_off(&cluster, t, &lost.slave_id).await?;
    }
    handle
        .wait_for(LONG, |s| {
            s.plan("recovery")
                .is_some_and(|p| p.status == Status::Complete)
        })
        .await?;
    assert_eq!(live_tasks(&state(&cluster).await, SERVICE).len(), 5);
    stop(handle, cluster).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_moves_the_instance_and_destroys_its_old_volume() -> Result<()> {
    let (_dir, cluster, handle) = deployed_data_store(4).await?;

    // An agent removed for good, then an operator replace of what ran there: it moves.
    let (lost, on_lost_agent) = remove_agent_of(&cluster, "data-0").await?;
    for t in &on_lost_agent {
        handle.replace(&t.name).await?;
    }
    for t in &on_lost_agent {
        moved_off(&cluster, t, &lost.slave_id).await?;
        let ids = volume_ids(&state(&cluster).await);
        for old in persistence_ids(t) {
            assert!(!ids.contains(&old), "old volume {old} is gone");
        }
    }

    // A replace on a live agent: the old reservation and volume are destroyed when offered.
    let st = state(&cluster).await;
    let old = live_tasks(&st, SERVICE)
        .into_iter()
        .find(|t| t.state == "TASK_RUNNING")
        .cloned()
        .context("a running instance")?;
    let name = old.name.clone();
    let old_volumes = persistence_ids(&old);
    assert!(!old_volumes.is_empty());
    handle.replace(&name).await?;
    let new = eventually("the instance replaced", LONG, || async {
        running_task(&state(&cluster).await, SERVICE, &name)
            .filter(|t| t.id != old.id)
            .cloned()
    })
    .await?;
    assert_ne!(persistence_ids(&new), old_volumes, "a new volume");
    eventually("the old volume destroyed", LONG, || async {
        let ids = volume_ids(&state(&cluster).await);
        old_volumes.iter().all(|v| !ids.contains(v)).then_some(())
    })
    .await?;
    stop(handle, cluster).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_meta_data_waits_with_a_reason_when_one_host_exists() -> Result<()> {
    let (dir, cluster) = setup(1).await?;
    let handle = start(&cluster, dir.path(), spec::spec()?).await?;
    let snap = handle
        .wait_for(LONG, |s| {
            s.plan("deploy")
                .and_then(|p| p.step("meta-data-1"))
                .is_some_and(|st| st.status == Status::Prepared && st.message.contains("UNIQUE"))
        })
        .await?;
    assert_ne!(deploy_status(&snap), Some(Status::Error));
    let st = state(&cluster).await;
    let meta: Vec<_> = live_tasks(&st, SERVICE)
        .into_iter()
        .filter(|t| t.name.starts_with("meta-data"))
        .collect();
    assert_eq!(meta.len(), 1, "never two meta-data nodes on one host");
    stop(handle, cluster).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_that_fits_no_agent_stays_pending_with_a_reason() -> Result<()> {
    let (dir, cluster) = setup(2).await?;
    let mut spec = ServiceSpec::new("too-big");
    let mut tt = TaskTypeSpec::new("big", 1, CommandSpec::new("sleep 1000"));
    tt.set_resource("cpus", 0.1, &spec.role.clone(), &spec.principal.clone());
    tt.set_resource(
        "mem",
        1024.0 * 1024.0,
        &spec.role.clone(),
        &spec.principal.clone(),
    );
    spec.task_types.push(tt);
    let handle = start(&cluster, dir.path(), spec).await?;
    let reason = |s: &ServiceSnapshot| {
        s.plan("deploy")
            .and_then(|p| p.step("big-0"))
            .filter(|st| st.status == Status::Prepared)
            .map(|st| st.message.clone())
    };
    let snap = handle
        .wait_for(LONG, |s| {
            reason(s).is_some_and(|m| m.contains("insufficient mem"))
        })
        .await?;
    assert!(
        reason(&snap).unwrap_or_default().contains("2 offers"),
        "{:?}",
        reason(&snap)
    );
    // Later offer cycles keep it waiting, not failing.
    let again = handle
        .wait_for(LONG, |s| s.framework_id.is_some() && reason(s).is_some())
        .await?;
    assert_ne!(deploy_status(&again), Some(Status::Error));
    assert!(live_tasks(&state(&cluster).await, "too-big").is_empty());
    stop(handle, cluster).await
}
