//! End-to-end tests of a scheduler keeping its state in a real ZooKeeper (Debian's
//! `zookeeperd`, started by the tests on 127.0.0.1): a scheduler killed mid-deploy and a new
//! process continuing, ZooKeeper restarted during a deploy, the one-scheduler lock, Mesos
//! master detection from the znodes Mesos writes, and moving a state from redb to
//! ZooKeeper. Without ZooKeeper they skip loudly, and fail under `CI=true`.

#[path = "../examples/data-store/spec.rs"]
#[allow(dead_code)]
mod spec;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use stead::local::LocalCluster;
use stead::plan::Status;
use stead::scheduler::{DefaultService, ServiceHandle, ServiceSnapshot};
use stead_cli::state_io::{export_state, import_state};
use stead_state::testing::{ZkServer, shared_zk_server};
use stead_state::{Persister, ZkPersister};
use stead_suite::{
    ExampleProcess, cluster_state as state, eventually, exactly_running, first_live_tasks,
    init_logging, live_tasks, start_cluster, test_options as options, volume_ids,
};
use zookeeper_client as zk;

const SERVICE: &str = "data-store";
/// Generous: CI machines are slow and shared.
const LONG: Duration = Duration::from_secs(180);

async fn cluster(dir: &Path) -> Result<LocalCluster> {
    Ok(start_cluster(dir, 3).await?)
}

/// Logging on, the shared ZooKeeper server for `test` (`None` when there is none: the
/// test skips), a fresh directory and a cluster in it.
async fn setup(test: &str) -> Result<Option<(Arc<ZkServer>, tempfile::TempDir, LocalCluster)>> {
    init_logging();
    let Some(server) = shared_zk_server(test) else {
        return Ok(None);
    };
    let dir = tempfile::tempdir()?;
    let cluster = cluster(dir.path()).await?;
    Ok(Some((server, dir, cluster)))
}

/// A scheduler in this process with its state at `zk_url`.
async fn start_on_zk(master: &str, zk_url: &str, wait: bool) -> stead::Result<ServiceHandle> {
    let mut opts = options(master);
    opts.zk = Some(zk_url.to_string());
    opts.zk_lock_wait = wait;
    DefaultService::with_options(0, opts)
        .start_spec(spec::spec().map_err(|e| stead::Error::Config(e.to_string()))?)
        .await
}

async fn deployed(handle: &mut ServiceHandle) -> Result<ServiceSnapshot> {
    wait_for(handle, |s| {
        s.reconciled
            && s.plan("deploy")
                .is_some_and(|p| p.status == Status::Complete)
    })
    .await
}

/// Waits for `pred`; when the scheduler stops instead, fails with its own error.
async fn wait_for(
    handle: &mut ServiceHandle,
    pred: impl Fn(&ServiceSnapshot) -> bool,
) -> Result<ServiceSnapshot> {
    match handle.wait_for(LONG, pred).await {
        Err(stead::Error::Stopped) => bail!("the scheduler stopped: {:?}", handle.wait().await),
        other => Ok(other?),
    }
}

/// Live task ids by instance name.
async fn live_ids(cluster: &LocalCluster) -> BTreeMap<String, String> {
    live_tasks(&state(cluster).await, SERVICE)
        .into_iter()
        .map(|t| (t.name.clone(), t.id.clone()))
        .collect()
}

/// Five running instances, each launched once, and no sixth task over a few heartbeats.
async fn exactly_five_once(cluster: &LocalCluster) -> Result<BTreeMap<String, String>> {
    exactly_running(cluster, SERVICE, 5, LONG).await?;
    let st = state(cluster).await;
    ensure!(volume_ids(&st).len() == 5, "one volume per instance");
    let ids = live_ids(cluster).await;
    let names: Vec<&str> = ids.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["data-0", "data-1", "data-2", "meta-data-0", "meta-data-1"]
    );
    Ok(ids)
}

/// The stored instance names under the state root at `zk_url`.
fn stored_tasks(zk_url: &str) -> Result<Vec<String>> {
    let zk = ZkPersister::connect(zk_url, SERVICE)?;
    Ok(zk.children("Tasks")?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduler_on_zookeeper_killed_mid_deploy_is_continued_by_a_new_process() -> Result<()> {
    let Some((server, dir, cluster)) = setup("scheduler killed on ZooKeeper").await? else {
        return Ok(());
    };
    let zk_url = server.url(&format!("/kill-{}", uuid_suffix()));
    let args = ["--master", cluster.master_url(), "--zk", &zk_url];
    let log = dir.path().join("scheduler.log");

    let first = ExampleProcess::spawn("data-store", &args, &log)?;
    let first_pid = first.id();
    first_live_tasks(&cluster, SERVICE, LONG)
        .await
        .with_context(|| format!("no task started; see {}", log.display()))?;
    first.kill9()?;

    // The dead scheduler's lock lasts until its session times out; the new one waits.
    let second = ExampleProcess::spawn("data-store", &args, &log)?;
    exactly_five_once(&cluster).await?;
    let text = std::fs::read_to_string(&log)?;
    ensure!(
        text.contains("holding the service lock"),
        "the new scheduler took the lock; see {}",
        log.display()
    );
    eprintln!(
        "first scheduler pid {first_pid}; lock waits logged: {}",
        text.matches("waiting for the lock held by").count()
    );
    let mut stored = stored_tasks(&zk_url)?;
    stored.sort();
    assert_eq!(
        stored,
        ["data-0", "data-1", "data-2", "meta-data-0", "meta-data-1"]
    );
    second.kill9()?;
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zookeeper_restarted_during_a_deploy_pauses_then_resumes_the_scheduler() -> Result<()> {
    init_logging();
    // Its own server: this test restarts it.
    let Some(mut server) = ZkServer::start_or_skip("ZooKeeper restarted during a deploy") else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let cluster = cluster(dir.path()).await?;
    let mut handle = start_on_zk(cluster.master_url(), &server.url(""), true).await?;
    eventually("a first task live", LONG, || async {
        (!live_tasks(&state(&cluster).await, SERVICE).is_empty()).then_some(())
    })
    .await?;

    server.stop();
    // The scheduler drops its subscription and holds everything while the session is away.
    let paused = wait_for(&mut handle, |s| !s.reconciled).await?;
    let launches = |s: &ServiceSnapshot| s.instances.iter().map(|i| i.launch_count).sum::<u64>();
    let launched = launches(&paused);
    for _ in 0..12 {
        let now = handle.snapshot();
        ensure!(
            launches(&now) == launched,
            "a task was launched while ZooKeeper was down"
        );
        ensure!(!now.reconciled, "the scheduler resumed without ZooKeeper");
        let live = live_tasks(&state(&cluster).await, SERVICE).len() as u64;
        ensure!(
            live <= launched,
            "{live} live tasks but {launched} recorded launches"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    server.restart()?;
    deployed(&mut handle).await?;
    let ids = exactly_five_once(&cluster).await?;
    let snap = handle.snapshot();
    for inst in &snap.instances {
        assert_eq!(inst.launch_count, 1, "{} launched once", inst.name);
        assert_eq!(inst.task_id.as_ref(), ids.get(&inst.name));
    }
    handle.shutdown().await?;
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_scheduler_is_held_off_by_the_lock_and_takes_over() -> Result<()> {
    let Some((server, _dir, cluster)) = setup("scheduler lock").await? else {
        return Ok(());
    };
    let zk_url = server.url(&format!("/lock-{}", uuid_suffix()));
    let mut first = start_on_zk(cluster.master_url(), &zk_url, true).await?;
    deployed(&mut first).await?;
    let before = exactly_five_once(&cluster).await?;

    // Asked not to wait, a second scheduler exits at once naming the holder.
    let refused = start_on_zk(cluster.master_url(), &zk_url, false)
        .await
        .err()
        .context("a second scheduler must not start")?
        .to_string();
    ensure!(
        refused.contains("in use by another scheduler")
            && refused.contains(&format!("pid {}", std::process::id())),
        "unexpected refusal: {refused}"
    );

    // A waiting one starts only once the first is gone, and relaunches nothing.
    let master = cluster.master_url().to_string();
    let waiting = {
        let zk_url = zk_url.clone();
        tokio::spawn(async move { start_on_zk(&master, &zk_url, true).await })
    };
    let held_off = tokio::time::timeout(Duration::from_secs(3), async {
        while !waiting.is_finished() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    ensure!(
        held_off.is_err(),
        "the second scheduler started while the lock was held"
    );
    first.shutdown().await?;
    let mut second = tokio::time::timeout(LONG, waiting)
        .await
        .context("the second scheduler takes over")???;
    deployed(&mut second).await?;
    let after = exactly_five_once(&cluster).await?;
    assert_eq!(after, before, "the same tasks keep running");
    second.shutdown().await?;
    cluster.shutdown().await?;
    Ok(())
}

/// Publishes a master the way a Mesos master contending for leadership does: an ephemeral
/// sequential `json.info_` znode holding its `MasterInfo` as JSON. Returns the znode.
async fn publish_master(client: &zk::Client, base: &str, master_url: &str) -> Result<String> {
    let endpoint = master_url
        .strip_prefix("http://")
        .context("an http master URL")?;
    let (host, port) = endpoint.rsplit_once(':').context("host:port")?;
    let port: u32 = port.parse()?;
    let info = serde_json::json!({
        "id": format!("master-{port}"),
        "ip": 16_777_343u32,
        "port": port,
        "pid": format!("master@{host}:{port}"),
        "hostname": host,
        "version": "1.11.0",
        "address": { "hostname": host, "ip": host, "port": port },
        "capabilities": [{ "type": "AGENT_UPDATE" }],
    });
    let mode = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all());
    let prefix = format!("{base}/json.info_");
    let (_, seq) = client
        .create(&prefix, info.to_string().as_bytes(), &mode)
        .await?;
    Ok(format!("{prefix}{seq}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leading_master_is_detected_from_mesos_znodes_and_followed() -> Result<()> {
    let Some((server, dir, cluster)) = setup("master detection").await? else {
        return Ok(());
    };
    let base = format!("/mesos-{}", uuid_suffix());
    let client = zk::Client::connect(&server.connect_string()).await?;
    client
        .create(
            &base,
            &[],
            &zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all()),
        )
        .await?;
    // The first leader is a master that is gone (nothing listens on its port).
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let dead = publish_master(&client, &base, &format!("http://127.0.0.1:{dead_port}")).await?;
    publish_master(&client, &base, cluster.master_url()).await?;

    let mut handle = DefaultService::with_options(0, options(&server.url(&base)))
        .state_dir(dir.path().join("state"))
        .start_spec(spec::spec()?)
        .await?;
    assert_eq!(handle.master_url(), format!("http://127.0.0.1:{dead_port}"));
    // Leadership moves to the live master when the dead one's znode goes.
    client.delete(&dead, None).await?;
    deployed(&mut handle).await?;
    exactly_five_once(&cluster).await?;
    handle.shutdown().await?;
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_moved_from_redb_to_zookeeper_is_continued_without_relaunching() -> Result<()> {
    let Some((server, dir, cluster)) = setup("state moved to ZooKeeper").await? else {
        return Ok(());
    };
    let state_dir = dir.path().join("state");
    let mut on_redb = DefaultService::with_options(0, options(cluster.master_url()))
        .state_dir(&state_dir)
        .start_spec(spec::spec()?)
        .await?;
    deployed(&mut on_redb).await?;
    let before = exactly_five_once(&cluster).await?;
    on_redb.shutdown().await?;

    // `stead state export --from DIR` then `stead state import --to zk://... --service`.
    let zk_base = server.url("");
    let from = state_dir.to_string_lossy().to_string();
    let dump = tokio::task::spawn_blocking(move || export_state(&from, None)).await??;
    ensure!(
        dump.nodes.iter().any(|n| n.path == "FrameworkID"),
        "the dump holds the framework id"
    );
    let moved = {
        let (zk_base, dump) = (zk_base.clone(), dump.clone());
        tokio::task::spawn_blocking(move || import_state(&zk_base, Some(SERVICE), &dump, false))
            .await??
    };
    assert_eq!(moved, dump.nodes.len());

    let mut on_zk = start_on_zk(cluster.master_url(), &zk_base, false).await?;
    deployed(&mut on_zk).await?;
    let after = exactly_five_once(&cluster).await?;
    assert_eq!(after, before, "nothing relaunched");
    for inst in &on_zk.snapshot().instances {
        assert_eq!(inst.launch_count, 1, "{} launched once", inst.name);
    }
    on_zk.shutdown().await?;
    cluster.shutdown().await?;
    drop(server);
    Ok(())
}

/// A suffix that keeps the state roots of concurrent tests apart.
fn uuid_suffix() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    )
}
