//! A service's life: deploy, a task's process killed, the scheduler killed mid-deploy,
//! uninstall, and no call after TEARDOWN.

use anyhow::{Context, Result, ensure};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use stead::proto::scheduler::call;
use stead_suite::{
    ExampleProcess, assert_in_place, assert_service_gone, eventually, exactly_running,
    first_live_tasks, hostname_of, launch_number, live_tasks, persistence_ids, processes_gone,
    reserved_for, running_task, sandbox_value, volume_ids,
};

use crate::cluster::{Env, Kind};
use crate::common::{
    FIVE, LONG, ROLE, SERVICE, deployed, deployed_data_store, pid_file, running, stop,
};
use crate::proxy::FaultProxy;
use crate::spec;

/// The data-store deploys: five instances run, the meta-data nodes on two hosts, one
/// persistent volume each, every data node on its first launch.
pub async fn deploy(kind: Kind) -> Result<()> {
    let (env, handle) = deployed_data_store(kind).await?;
    let st = env.state().await;
    let live = live_tasks(&st, SERVICE);
    let mut names: Vec<&str> = live.iter().map(|t| t.name.as_str()).collect();
    names.sort();
    assert_eq!(names, FIVE);
    assert!(live.iter().all(|t| t.state == "TASK_RUNNING"));
    let meta_hosts: Vec<&str> = live
        .iter()
        .filter(|t| t.name.starts_with("meta-data"))
        .filter_map(|t| hostname_of(&st, &t.slave_id))
        .collect();
    assert_eq!(meta_hosts.len(), 2);
    assert_ne!(meta_hosts[0], meta_hosts[1], "hostname:UNIQUE");
    assert_eq!(
        volume_ids(&st).len(),
        5,
        "one persistent volume per instance"
    );
    for t in &live {
        let ids = persistence_ids(t);
        assert_eq!(ids.len(), 1, "{} runs on its volume", t.name);
    }
    assert!(reserved_for(&st, ROLE).count() > 0, "reserved for the role");
    for t in live.iter().filter(|t| t.name.starts_with("data-")) {
        assert_eq!(launch_number(t, LONG).await?, 1);
    }
    master_state_form(&env).await?;
    stop(handle, env).await
}

/// Pins how the two masters' own `/master/state` differ (see README, "Embedded cluster
/// vs Apache Mesos"): a task's resources in full or summed up, the agents' reservations
/// there or only in `/master/slaves`, and a framework's `connected`.
async fn master_state_form(env: &Env) -> Result<()> {
    let raw = env.cluster.raw_master_state().await?;
    let framework = raw["frameworks"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["name"] == SERVICE))
        .context("the framework in /master/state")?;
    let task_resources = &framework["tasks"][0]["resources"];
    let agent = &raw["slaves"][0];
    let full = env.cluster.kind() == Kind::Embedded;
    assert_eq!(task_resources.is_array(), full, "{task_resources}");
    assert_eq!(task_resources.is_object(), !full, "{task_resources}");
    assert_eq!(agent.get("reserved_resources_full").is_some(), full);
    assert_eq!(framework.get("connected").is_some(), !full);
    Ok(())
}

/// A data node's process killed with SIGKILL is relaunched in place: same agent, same
/// volume, and the volume kept what the first launch wrote.
pub async fn kill_task_process(kind: Kind) -> Result<()> {
    let (env, handle) = deployed_data_store(kind).await?;
    let before = running(&env, "data-1").await?;
    let pid = sandbox_value::<i32>(&before, pid_file(&before.name), LONG).await?;
    kill(Pid::from_raw(pid), Signal::SIGKILL)?;

    let after = eventually("data-1 relaunched", LONG, || async {
        running_task(&env.state().await, SERVICE, "data-1")
            .filter(|t| t.id != before.id)
            .cloned()
    })
    .await?;
    assert_in_place("data-1", &before, &after);
    assert_eq!(
        launch_number(&after, LONG).await?,
        2,
        "the volume kept the first launch's data"
    );
    stop(handle, env).await
}

/// The scheduler (the data-store example as a process) killed with SIGKILL as soon as
/// its first task is live: a new one finishes the deploy with exactly five instances.
pub async fn scheduler_killed_mid_deploy(kind: Kind) -> Result<()> {
    let env = Env::new(kind, 3).await?;
    let url = env.cluster.master_url();
    let state_arg = env.state_dir().to_string_lossy().to_string();
    let args = ["--master", &url, "--state-dir", &state_arg];
    let log = env.dir.path().join("scheduler.log");

    let first = ExampleProcess::spawn("data-store", &args, &log)?;
    let live_at_kill = first_live_tasks(&env.cluster, SERVICE, LONG)
        .await
        .with_context(|| format!("no task started; see {}", log.display()))?;
    first.kill9()?;
    eprintln!("scheduler killed with -9 while {live_at_kill} task(s) were live");

    let second = ExampleProcess::spawn("data-store", &args, &log)?;
    let names = exactly_running(&env.cluster, SERVICE, 5, LONG).await?;
    assert_eq!(names, FIVE);
    ensure!(
        volume_ids(&env.state().await).len() == 5,
        "one volume per instance"
    );
    second.kill9()?;
    env.finish().await
}

/// Uninstall kills every task and leaves no reservation, no volume and no framework.
pub async fn uninstall(kind: Kind) -> Result<()> {
    let (env, handle) = deployed_data_store(kind).await?;
    let mut pids = Vec::new();
    for t in live_tasks(&env.state().await, SERVICE) {
        pids.push(sandbox_value::<i32>(t, pid_file(&t.name), LONG).await?);
    }
    assert_eq!(pids.len(), 5);
    handle.shutdown().await?;

    let mut handle = env
        .start_with(spec::spec()?, |o| o.uninstall = true)
        .await?;
    tokio::time::timeout(LONG, handle.wait())
        .await
        .context("the uninstall finishes")??;
    handle.shutdown().await?;

    assert_service_gone(&env.state().await, SERVICE, ROLE);
    processes_gone(&pids, LONG).await?;
    env.finish().await
}

/// After TEARDOWN the scheduler sends nothing more, and the master refused none of its
/// calls (a call after TEARDOWN is answered `400 Framework cannot be found` by Apache
/// Mesos). Both are read from the record of a proxy between the scheduler and master.
pub async fn no_call_after_teardown(kind: Kind) -> Result<()> {
    let env = Env::new(kind, 3).await?;
    let proxy = FaultProxy::start(&env.cluster.master_url()).await?;
    let mut handle = env
        .start_with(spec::spec()?, |o| o.master = Some(proxy.url().to_string()))
        .await?;
    deployed(&handle).await?;
    handle.uninstall().await?;
    tokio::time::timeout(LONG, handle.wait())
        .await
        .context("the uninstall finishes")??;
    handle.shutdown().await?;

    let calls = proxy.calls();
    let teardown = calls
        .iter()
        .rposition(|c| c.call == Some(call::Type::Teardown))
        .context("a TEARDOWN was sent")?;
    let after: Vec<_> = calls[teardown + 1..].iter().map(|c| c.call).collect();
    assert!(after.is_empty(), "calls after TEARDOWN: {after:?}");
    let refused: Vec<_> = calls
        .iter()
        .filter(|c| c.status.is_client_error() || c.status.is_server_error())
        .map(|c| (c.call, c.status))
        .collect();
    assert!(refused.is_empty(), "calls the master refused: {refused:?}");
    assert!(
        !env.state()
            .await
            .frameworks
            .iter()
            .any(|f| f.name == SERVICE && f.active),
        "the framework is torn down"
    );
    env.finish().await
}
