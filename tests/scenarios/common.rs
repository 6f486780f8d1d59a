//! What the scenarios share: the data-store's names, deploying it and reading its tasks.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::Result;
use stead::local::State;
use stead::local::state::TaskView;
use stead::plan::Status;
use stead::scheduler::{ServiceHandle, ServiceSnapshot};
use stead::spec::{ServiceSpec, TaskTypeSpec};
use stead_suite::{eventually, live_tasks, running_task};

use crate::cluster::{Env, Kind};
use crate::spec;

pub const SERVICE: &str = "data-store";
pub const ROLE: &str = "data-store-role";
/// Generous: CI machines are slow and shared.
pub const LONG: Duration = Duration::from_secs(180);
/// The data nodes of the data-store spec as it comes.
pub const DATA: [&str; 3] = ["data-0", "data-1", "data-2"];
/// The instances of the data-store spec as it comes.
pub const FIVE: [&str; 5] = ["data-0", "data-1", "data-2", "meta-data-0", "meta-data-1"];

/// Whether the deploy plan is complete after a reconciliation.
pub fn deploy_complete(s: &ServiceSnapshot) -> bool {
    s.reconciled
        && s.plan("deploy")
            .is_some_and(|p| p.status == Status::Complete)
}

/// Waits until the deploy plan is complete.
pub async fn deployed(handle: &ServiceHandle) -> Result<()> {
    handle.wait_for(LONG, deploy_complete).await?;
    Ok(())
}

/// A cluster of 3 agents of `kind` with the data-store deployed on it.
pub async fn deployed_data_store(kind: Kind) -> Result<(Env, ServiceHandle)> {
    let env = Env::new(kind, 3).await?;
    let handle = env.start(spec::spec()?).await?;
    deployed(&handle).await?;
    Ok((env, handle))
}

/// Deploys `spec` with a scheduler that is stopped again once it is done; returns the
/// running task of every instance.
pub async fn deploy_once(env: &Env, spec: ServiceSpec) -> Result<BTreeMap<String, TaskView>> {
    let handle = env.start(spec).await?;
    deployed(&handle).await?;
    let before = running_in(&env.state().await);
    handle.shutdown().await?;
    Ok(before)
}

/// Stops the scheduler, then the cluster.
pub async fn stop(handle: ServiceHandle, env: Env) -> Result<()> {
    handle.shutdown().await?;
    env.finish().await
}

/// The running task of `instance`, once there is one.
pub async fn running(env: &Env, instance: &str) -> Result<TaskView> {
    let what = format!("{instance} running");
    Ok(eventually(&what, LONG, || async {
        running_task(&env.state().await, SERVICE, instance).cloned()
    })
    .await?)
}

/// The running task of every instance in `st`, by instance name.
pub fn running_in(st: &State) -> BTreeMap<String, TaskView> {
    live_tasks(st, SERVICE)
        .into_iter()
        .filter(|t| t.state == "TASK_RUNNING")
        .map(|t| (t.name.clone(), t.clone()))
        .collect()
}

/// Waits until exactly `names` run (and nothing else of the service is live).
pub async fn running_exactly(env: &Env, names: &[&str]) -> Result<BTreeMap<String, TaskView>> {
    let want: BTreeSet<String> = names.iter().map(|n| n.to_string()).collect();
    Ok(
        eventually("the expected instances running", LONG, || async {
            let st = env.state().await;
            let live = live_tasks(&st, SERVICE);
            let all_running = live.iter().all(|t| t.state == "TASK_RUNNING");
            let got: BTreeSet<String> = live.iter().map(|t| t.name.clone()).collect();
            (all_running && got == want).then(|| running_in(&st))
        })
        .await?,
    )
}

/// The file a data-store task's program writes its process id to, in its sandbox.
pub fn pid_file(instance: &str) -> &'static str {
    if instance.starts_with("data-") {
        "data.pid"
    } else {
        "meta-data.pid"
    }
}

/// The data task type of a data-store spec.
pub fn data_type(spec: &mut ServiceSpec) -> &mut TaskTypeSpec {
    spec.task_types
        .iter_mut()
        .find(|t| t.name == "data")
        .expect("the data-store spec has a data task type")
}
