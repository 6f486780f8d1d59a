//! A scheduler whose state file is empty (0 bytes) or missing while the cluster holds
//! the service (its framework, its tasks, reservations and volumes): it refuses to
//! deploy the service a second time, saying how to recover; with the state imported
//! from an export it resumes the service; told to adopt it, it takes the service over as
//! the same framework, with exactly the declared instances.

#[path = "../examples/data-store/spec.rs"]
#[allow(dead_code)]
mod spec;

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use stead::Error;
use stead::local::LocalCluster;
use stead::plan::Status;
use stead::scheduler::{DefaultService, Options, STATE_FILE, ServiceHandle};
use stead_cli::state_io::{export_state, import_state};
use stead_suite::{
    cluster_state as state, eventually, exactly_running, init_logging, live_tasks, start_cluster,
    test_options, volume_ids,
};

const SERVICE: &str = "data-store";
/// Generous: CI machines are slow and shared.
const LONG: Duration = Duration::from_secs(180);

async fn start(
    cluster: &LocalCluster,
    dir: &Path,
    configure: impl FnOnce(&mut Options),
) -> Result<ServiceHandle> {
    Ok(
        DefaultService::with_options(0, test_options(cluster.master_url()))
            .configure(configure)
            .state_dir(dir.join("state"))
            .start_spec(spec::spec()?)
            .await?,
    )
}

/// The ids of the frameworks called `data-store` the cluster knows.
async fn frameworks(cluster: &LocalCluster) -> Vec<String> {
    state(cluster)
        .await
        .frameworks
        .iter()
        .filter(|f| f.name == SERVICE)
        .map(|f| f.id.clone())
        .collect()
}

/// Starts a scheduler on the state in `dir` and expects it to refuse, launching nothing.
async fn refused(cluster: &LocalCluster, dir: &Path, framework: &str) -> Result<()> {
    let mut handle = start(cluster, dir, |_| {}).await?;
    let result = tokio::time::timeout(LONG, handle.wait())
        .await
        .context("the scheduler did not stop")?;
    handle.shutdown().await?;
    let Err(Error::EmptyState(refused)) = result else {
        anyhow::bail!("not refused as an empty state: {result:?}");
    };
    let text = refused.to_string();
    ensure!(text.contains("stead state import"), "{text}");
    ensure!(text.contains("--adopt"), "{text}");
    ensure!(
        refused.found.frameworks == [framework.to_string()],
        "{text}"
    );
    ensure!(refused.found.volumes == 5, "{text}");
    let st = state(cluster).await;
    ensure!(
        live_tasks(&st, SERVICE).len() == 5,
        "still the first 5 tasks"
    );
    ensure!(volume_ids(&st).len() == 5, "no second volume");
    ensure!(
        frameworks(cluster).await == [framework.to_string()],
        "one framework"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_or_missing_state_does_not_deploy_the_service_a_second_time() -> Result<()> {
    init_logging();
    let dir = tempfile::tempdir()?;
    let cluster = start_cluster(dir.path(), 3).await?;
    let handle = start(&cluster, dir.path(), |_| {}).await?;
    handle
        .wait_for(LONG, |s| {
            s.plan("deploy").map(|p| p.status) == Some(Status::Complete)
        })
        .await?;
    let framework = handle.snapshot().framework_id.context("a framework id")?;
    // The scheduler stops; its tasks keep running. Its state was exported; the state
    // file is then lost.
    handle.shutdown().await?;
    let state_dir = dir.path().join("state").to_string_lossy().to_string();
    let from = state_dir.clone();
    let dump = tokio::task::spawn_blocking(move || export_state(&from, None)).await??;
    let file = dir.path().join("state").join(STATE_FILE);
    std::fs::File::create(&file)?.set_len(0)?;
    refused(&cluster, dir.path(), &framework).await?;
    std::fs::remove_file(&file)?;
    refused(&cluster, dir.path(), &framework).await?;

    // As the refusal says: the export imported (--replace), the service is resumed as
    // it ran, nothing relaunched.
    let before: Vec<String> = live_tasks(&state(&cluster).await, SERVICE)
        .iter()
        .map(|t| t.id.clone())
        .collect();
    tokio::task::spawn_blocking(move || import_state(&state_dir, None, &dump, true)).await??;
    let handle = start(&cluster, dir.path(), |_| {}).await?;
    handle
        .wait_for(LONG, |s| {
            s.reconciled && s.plan("deploy").map(|p| p.status) == Some(Status::Complete)
        })
        .await?;
    exactly_running(&cluster, SERVICE, 5, LONG).await?;
    let mut after: Vec<String> = live_tasks(&state(&cluster).await, SERVICE)
        .iter()
        .map(|t| t.id.clone())
        .collect();
    after.sort();
    let mut before = before;
    before.sort();
    ensure!(before == after, "the same tasks run: {before:?} {after:?}");
    handle.shutdown().await?;

    // Told to adopt the service, the scheduler subscribes as its framework: the tasks it
    // does not know are killed, their reservations and volumes released, and exactly
    // the declared instances deployed anew.
    std::fs::remove_file(&file)?;
    let handle = start(&cluster, dir.path(), |o| o.adopt = true).await?;
    handle
        .wait_for(LONG, |s| {
            s.plan("deploy").map(|p| p.status) == Some(Status::Complete)
        })
        .await?;
    exactly_running(&cluster, SERVICE, 5, LONG).await?;
    ensure!(
        frameworks(&cluster).await == [framework.clone()],
        "one framework"
    );
    eventually("the old volumes released", LONG, || async {
        (volume_ids(&state(&cluster).await).len() == 5).then_some(())
    })
    .await?;
    handle.shutdown().await?;
    cluster.shutdown().await?;
    Ok(())
}
