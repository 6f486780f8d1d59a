//! Two schedulers on one service, and a scheduler riding out ZooKeeper outages, with real
//! processes, an embedded cluster and a real ZooKeeper (Debian's `zookeeperd`, started by
//! the tests on 127.0.0.1; without it they skip loudly, and fail under `CI=true`):
//!
//! - active/standby: two schedulers with the same `--zk`; the active one is killed with
//!   SIGKILL mid-deploy; the standby takes the lock, finishes the deploy with exactly the
//!   declared instances, and the time from the kill to its first call to the master is
//!   printed (BENCHMARKS.md);
//! - a ZooKeeper outage longer than the client's session expiry: the scheduler pauses,
//!   takes the lock again with a new session once ZooKeeper is back, and finishes the
//!   deploy without relaunching anything.

#[path = "../examples/data-store/spec.rs"]
#[allow(dead_code)]
mod spec;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use stead::local::LocalCluster;
use stead::plan::Status;
use stead::scheduler::{DefaultService, ServiceSnapshot};
use stead_state::testing::{ZkServer, shared_zk_server};
use stead_state::zk::{ZkOptions, ZkUrl};
use stead_state::{SessionState, ZkPersister};
use stead_suite::{
    ExampleProcess, cluster_state as state, exactly_running, first_live_tasks, init_logging,
    live_tasks, start_cluster, test_options, volume_ids,
};

const SERVICE: &str = "data-store";
/// Generous: CI machines are slow and shared.
const LONG: Duration = Duration::from_secs(180);
/// The ZooKeeper session timeout of the schedulers under test, in seconds
/// (`TAKEOVER_SESSION_TIMEOUT` changes it for a measurement; the test server accepts 1 to
/// 10 s).
fn session_timeout() -> u64 {
    std::env::var("TAKEOVER_SESSION_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2)
}

/// A name no other run uses.
fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}-{nanos}", std::process::id())
}

/// Polls `check` every 20 ms (fine enough to time a takeover) until it returns `Some`, for
/// at most [`LONG`].
async fn poll<T, Fut>(what: &str, mut check: impl FnMut() -> Fut) -> Result<T>
where
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + LONG;
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the file at `log` has a line containing `text`.
async fn logged(log: &Path, text: &str) -> Result<()> {
    poll(&format!("`{text}` in {}", log.display()), || async {
        std::fs::read_to_string(log)
            .ok()
            .filter(|t| t.contains(text))
            .map(drop)
    })
    .await
}

/// Whether the service's framework has a scheduler subscribed.
async fn framework_active(cluster: &LocalCluster) -> Option<bool> {
    state(cluster)
        .await
        .frameworks
        .iter()
        .find(|f| f.name == SERVICE)
        .map(|f| f.active)
}

/// Five running instances, one task each, one volume each.
async fn exactly_the_declared_instances(cluster: &LocalCluster) -> Result<()> {
    let names = exactly_running(cluster, SERVICE, 5, LONG).await?;
    assert_eq!(
        names,
        ["data-0", "data-1", "data-2", "meta-data-0", "meta-data-1"]
    );
    let st = state(cluster).await;
    ensure!(volume_ids(&st).len() == 5, "one volume per instance");
    let frameworks = st.frameworks.iter().filter(|f| f.name == SERVICE).count();
    ensure!(frameworks == 1, "{frameworks} frameworks of the service");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standby_takes_over_a_killed_active_scheduler_and_finishes_the_deploy() -> Result<()> {
    init_logging();
    let Some(server) = shared_zk_server("active/standby") else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let cluster = start_cluster(dir.path(), 3).await?;
    let zk_url = server.url(&format!("/standby-{}", unique()));
    let timeout = session_timeout().to_string();
    let args = [
        "--master",
        cluster.master_url(),
        "--zk",
        &zk_url,
        "--zk-session-timeout",
        &timeout,
    ];
    let (active_log, standby_log) = (
        dir.path().join("active.log"),
        dir.path().join("standby.log"),
    );

    let active = ExampleProcess::spawn("data-store", &args, &active_log)?;
    logged(&active_log, "holding the service lock").await?;
    // The standby starts while the active scheduler deploys (a deploy of five takes about
    // a second here), and waits for the lock.
    let standby = ExampleProcess::spawn("data-store", &args, &standby_log)?;
    first_live_tasks(&cluster, SERVICE, LONG)
        .await
        .with_context(|| format!("no task started; see {}", active_log.display()))?;
    active.kill9()?;
    let killed = Instant::now();
    let before = live_tasks(&state(&cluster).await, SERVICE).len();
    ensure!(before < 5, "killed mid-deploy ({before} tasks)");
    logged(&standby_log, "waiting for the lock held by").await?;

    // The master sees the connection go, then the standby subscribe.
    poll("the killed scheduler's subscription gone", || async {
        (framework_active(&cluster).await == Some(false)).then_some(())
    })
    .await?;
    poll("the standby subscribed", || async {
        (framework_active(&cluster).await == Some(true)).then_some(())
    })
    .await
    .with_context(|| format!("see {}", standby_log.display()))?;
    let takeover = killed.elapsed();
    eprintln!(
        "takeover with a {timeout} s session: {:.2} s from the kill to the standby's SUBSCRIBE ({before} of 5 tasks launched before the kill)",
        takeover.as_secs_f64()
    );
    logged(&standby_log, "holding the service lock").await?;

    exactly_the_declared_instances(&cluster).await?;
    standby.kill9()?;
    cluster.shutdown().await?;
    Ok(())
}

/// Waits until `zk`'s client has given up its session.
async fn expired(zk: &ZkPersister) -> Result<()> {
    let mut state = zk.session_state();
    tokio::time::timeout(LONG, state.wait_for(|s| *s == SessionState::Expired))
        .await
        .context("the probe's session did not expire")?
        .context("the probe's session state")?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zookeeper_outage_longer_than_the_session_pauses_then_resumes_the_scheduler() -> Result<()>
{
    init_logging();
    // Its own server: this test stops it.
    let Some(mut server) = ZkServer::start_or_skip("ZooKeeper outage past the session") else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let cluster = start_cluster(dir.path(), 3).await?;
    let session = Duration::from_secs(2);
    let mut options = test_options(cluster.master_url());
    options.zk = Some(server.url(""));
    options.zk_session_timeout = session;
    let spec = spec::spec()?;
    let mut handle = DefaultService::with_options(0, options)
        .start_spec(spec)
        .await?;
    first_live_tasks(&cluster, SERVICE, LONG).await?;
    // A probe whose session lasts three times as long: once its client gives up, the
    // scheduler's has long given up too.
    let url = ZkUrl::parse(&server.url(""))?;
    let probe = tokio::task::spawn_blocking(move || {
        let options = ZkOptions {
            session_timeout: session * 3,
            ..ZkOptions::default()
        };
        ZkPersister::connect_with(&url, "/outage-probe", options)
    })
    .await??;

    server.stop();
    expired(&probe).await?;
    let paused = handle.snapshot();
    ensure!(!paused.reconciled, "the scheduler paused");
    ensure!(
        handle
            .plan("deploy")
            .is_some_and(|p| p.status != Status::Complete),
        "the deploy waits"
    );
    server.restart()?;

    let deployed = handle
        .wait_for(LONG, |s: &ServiceSnapshot| {
            s.reconciled
                && s.plan("deploy")
                    .is_some_and(|p| p.status == Status::Complete)
        })
        .await;
    match deployed {
        Ok(_) => {}
        Err(stead::Error::Stopped) => {
            bail!("the scheduler exited: {:?}", handle.wait().await)
        }
        Err(e) => return Err(e.into()),
    }
    exactly_the_declared_instances(&cluster).await?;
    for inst in &handle.snapshot().instances {
        assert_eq!(inst.launch_count, 1, "{} launched once", inst.name);
    }
    handle.shutdown().await?;
    cluster.shutdown().await?;
    Ok(())
}
