//! End-to-end tests of service updates on the embedded cluster: scaling out and in,
//! rolling updates of cpus, URIs and commands (one instance at a time, in place, data
//! kept), rejected configurations, an update resumed by a restarted scheduler, and
//! uninstall.

#[path = "../examples/data-store/spec.rs"]
#[allow(dead_code)]
mod spec;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use stead::local::state::TaskView;
use stead::local::{LocalCluster, State};
use stead::plan::Status;
use stead::scheduler::{DefaultService, Options, STATE_FILE, ServiceHandle, ServiceSnapshot};
use stead::spec::{Commands, ServiceSpec, TaskTypeSpec};
use stead::state::{ConfigStore, FrameworkStore, RedbPersister, StateStore};
use stead_suite::{
    assert_in_place, assert_service_gone, cluster_config, cluster_state as state, eventually,
    init_logging, launch_number, live_tasks, persistence_ids, processes_gone, reserved_for,
    resource_id, running_task, sandbox_value, scalar_sum, test_options, volume_ids,
};

const SERVICE: &str = "data-store";
const ROLE: &str = "data-store-role";
/// Generous: CI machines are slow and shared.
const LONG: Duration = Duration::from_secs(240);
const DATA: [&str; 3] = ["data-0", "data-1", "data-2"];
/// The instances of the data-store spec as it comes.
const FIVE: [&str; 5] = ["data-0", "data-1", "data-2", "meta-data-0", "meta-data-1"];

/// Logging on, a fresh directory and a cluster of roomy agents in it.
async fn setup() -> Result<(tempfile::TempDir, LocalCluster)> {
    init_logging();
    let dir = tempfile::tempdir()?;
    let cluster = cluster_with_cpus(dir.path(), 8.0).await?;
    Ok((dir, cluster))
}

async fn cluster_with_cpus(dir: &Path, cpus: f64) -> Result<LocalCluster> {
    let mut config = cluster_config(dir, 3);
    // Room for instances to grow in place on the agent they were packed onto.
    for agent in &mut config.agents {
        agent.cpus = cpus;
    }
    Ok(LocalCluster::start(config).await?)
}

async fn start_with(
    cluster: &LocalCluster,
    dir: &Path,
    spec: ServiceSpec,
    tune: impl FnOnce(&mut Options),
) -> stead::Result<ServiceHandle> {
    let mut opts = test_options(cluster.master_url());
    tune(&mut opts);
    // A scheduler stopped (or refused) a moment ago in this process may not have let go of
    // the state's lock yet: a start refused for that alone is tried again, within a bound.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let started = DefaultService::with_options(0, opts.clone())
            .state_dir(dir.join("state"))
            .start_spec(spec.clone())
            .await;
        match started {
            Err(stead::Error::State(stead::state::StateError::InUse { .. }))
                if tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

async fn start(cluster: &LocalCluster, dir: &Path, spec: ServiceSpec) -> Result<ServiceHandle> {
    Ok(start_with(cluster, dir, spec, |_| {}).await?)
}

fn plan_status(s: &ServiceSnapshot, plan: &str) -> Option<Status> {
    s.plan(plan).map(|p| p.status)
}

async fn deployed(handle: &ServiceHandle) -> Result<ServiceSnapshot> {
    Ok(handle
        .wait_for(LONG, |s| {
            s.reconciled && plan_status(s, "deploy") == Some(Status::Complete)
        })
        .await?)
}

/// The running task of every instance, by instance name.
async fn running(cluster: &LocalCluster) -> BTreeMap<String, TaskView> {
    running_in(&state(cluster).await)
}

/// The running task of every instance in `st`, by instance name.
fn running_in(st: &State) -> BTreeMap<String, TaskView> {
    live_tasks(st, SERVICE)
        .into_iter()
        .filter(|t| t.state == "TASK_RUNNING")
        .map(|t| (t.name.clone(), t.clone()))
        .collect()
}

/// Deploys `spec` with a scheduler that is stopped again once it is done; returns the
/// running task of every instance.
async fn deploy_once(
    cluster: &LocalCluster,
    dir: &Path,
    spec: ServiceSpec,
) -> Result<BTreeMap<String, TaskView>> {
    let handle = start(cluster, dir, spec).await?;
    deployed(&handle).await?;
    let before = running(cluster).await;
    handle.shutdown().await?;
    Ok(before)
}

/// Watches a few offer cycles (20 polls, 250 ms apart): every instance of `before` keeps
/// running its task, and `also` holds at every poll.
async fn nothing_restarts(
    cluster: &LocalCluster,
    before: &BTreeMap<String, TaskView>,
    also: impl Fn(&State, &BTreeMap<String, TaskView>) -> Result<()>,
) -> Result<()> {
    for _ in 0..20 {
        let st = state(cluster).await;
        let now = running_in(&st);
        also(&st, &now)?;
        for (name, task) in before {
            ensure!(
                now.get(name).is_some_and(|t| t.id == task.id),
                "{name} was restarted"
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}

/// Waits until exactly `names` run.
async fn running_exactly(
    cluster: &LocalCluster,
    names: &[&str],
) -> Result<BTreeMap<String, TaskView>> {
    let want: BTreeSet<String> = names.iter().map(|n| n.to_string()).collect();
    Ok(
        eventually("the expected instances running", LONG, || async {
            let st = state(cluster).await;
            let live = live_tasks(&st, SERVICE);
            let all_running = live.iter().all(|t| t.state == "TASK_RUNNING");
            let got: BTreeSet<String> = live.iter().map(|t| t.name.clone()).collect();
            (all_running && got == want).then(|| {
                live.iter()
                    .map(|t| (t.name.clone(), (*t).clone()))
                    .collect()
            })
        })
        .await?,
    )
}

fn data_type(spec: &mut ServiceSpec) -> &mut TaskTypeSpec {
    spec.task_types
        .iter_mut()
        .find(|t| t.name == "data")
        .expect("the data-store spec has a data task type")
}

fn scalar(task: &TaskView, name: &str) -> f64 {
    scalar_sum(&task.resources, name)
}

/// Every resource reserved for the service's role on any agent (Mesos JSON form).
fn reserved(st: &State) -> impl Iterator<Item = &serde_json::Value> {
    reserved_for(st, ROLE)
}

/// Every resource id reserved for the service's role on any agent.
fn reserved_ids(st: &State) -> BTreeSet<String> {
    reserved(st).filter_map(resource_id).collect()
}

fn task_resource_ids(task: &TaskView) -> BTreeSet<String> {
    task.resources.iter().filter_map(resource_id).collect()
}

/// The state the scheduler left in `dir` (read after it stopped). The stopped
/// scheduler's background tasks may still hold the file for a moment: wait for it.
fn stored(dir: &Path) -> Result<(StateStore, ConfigStore<ServiceSpec>, FrameworkStore)> {
    let path = dir.join("state").join(STATE_FILE);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let persister = loop {
        match RedbPersister::open(&path) {
            Err(stead::state::StateError::InUse { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            other => break other?,
        }
    };
    let p: Arc<dyn stead::state::Persister> = Arc::new(persister);
    Ok((
        StateStore::new(p.clone()),
        ConfigStore::new(p.clone()),
        FrameworkStore::new(p),
    ))
}

/// What polls of the cluster saw: every task id each instance ran under, and the most
/// `watched` instances not running at the same time.
#[derive(Debug, Default, Clone)]
struct Seen {
    ids: BTreeMap<String, BTreeSet<String>>,
    max_down: usize,
}

impl Seen {
    fn record(&mut self, st: &State, watched: &[&str]) {
        let live = live_tasks(st, SERVICE);
        for t in &live {
            self.ids
                .entry(t.name.clone())
                .or_default()
                .insert(t.id.clone());
        }
        let down = watched
            .iter()
            .filter(|w| {
                !live
                    .iter()
                    .any(|t| t.name == **w && t.state == "TASK_RUNNING")
            })
            .count();
        self.max_down = self.max_down.max(down);
    }
}

/// Runs `work` while polling the cluster every 100 ms into `seen`.
async fn observing<T>(
    cluster: &LocalCluster,
    watched: &[&str],
    seen: &mut Seen,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    tokio::pin!(work);
    loop {
        tokio::select! {
            r = &mut work => {
                seen.record(&state(cluster).await, watched);
                return r;
            }
            st = cluster.state() => {
                if let Ok(st) = st {
                    seen.record(&st, watched);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_out_adds_only_the_new_instances() -> Result<()> {
    let (dir, cluster) = setup().await?;
    let first = spec::spec()?;
    let before = deploy_once(&cluster, dir.path(), first.clone()).await?;
    assert_eq!(before.len(), 5);

    let mut more = first.clone();
    data_type(&mut more).count = 5;
    let handle = start(&cluster, dir.path(), more.clone()).await?;
    deployed(&handle).await?;
    let after = running_exactly(
        &cluster,
        &[
            "data-0",
            "data-1",
            "data-2",
            "data-3",
            "data-4",
            "meta-data-0",
            "meta-data-1",
        ],
    )
    .await?;
    for (name, task) in &before {
        assert_eq!(after[name].id, task.id, "{name} was not restarted");
    }
    for new in ["data-3", "data-4"] {
        assert_eq!(
            launch_number(&after[new], LONG).await?,
            1,
            "{new} is a fresh instance"
        );
    }
    handle.shutdown().await?;

    // Every task carries the new configuration; the old one is gone.
    let (tasks, configs, _) = stored(dir.path())?;
    let target = more.id().to_string();
    assert_eq!(configs.target()?, Some(target.clone()));
    assert_eq!(configs.list()?, vec![target.clone()]);
    for name in tasks.task_names()? {
        let info = tasks.fetch_task(&name)?.context("stored task")?;
        let label = info
            .labels
            .iter()
            .flat_map(|l| l.labels.iter())
            .find(|l| l.key == "config_id")
            .and_then(|l| l.value.clone());
        assert_eq!(label.as_deref(), Some(target.as_str()), "{name}");
    }
    cluster.shutdown().await?;
    Ok(())
}

/// Updates `data` from `first` to `second` and checks that each data node restarted
/// exactly once, one at a time, in place with its volume and data, and that the
/// meta-data nodes were left alone. Returns the data nodes' new tasks.
async fn rolling_update(
    cluster: &LocalCluster,
    dir: &Path,
    first: ServiceSpec,
    second: ServiceSpec,
) -> Result<BTreeMap<String, TaskView>> {
    let before = deploy_once(cluster, dir, first).await?;

    let mut seen = Seen::default();
    let handle = start(cluster, dir, second).await?;
    let in_flight = std::sync::Mutex::new(0usize);
    let after = observing(cluster, &DATA, &mut seen, async {
        handle
            .wait_for(LONG, |s| {
                s.reconciled
                    && s.plan("deploy")
                        .and_then(|p| p.step("data-0"))
                        .is_some_and(|st| st.kind == stead::plan::StepKind::Update)
            })
            .await?;
        // The deploy plan never has two update steps under way at once.
        handle
            .wait_for(LONG, |s| {
                let Some(deploy) = s.plan("deploy") else {
                    return false;
                };
                let now = DATA
                    .iter()
                    .filter(|d| deploy.step(d).is_some_and(|st| st.status.is_in_flight()))
                    .count();
                if let Ok(mut max) = in_flight.lock() {
                    *max = (*max).max(now);
                }
                s.reconciled && deploy.status == Status::Complete
            })
            .await?;
        running_exactly(cluster, &FIVE).await
    })
    .await?;
    for name in ["meta-data-0", "meta-data-1"] {
        assert_eq!(after[name].id, before[name].id, "{name} was not restarted");
    }
    for name in DATA {
        let (old, new) = (&before[name], &after[name]);
        assert_ne!(new.id, old.id, "{name} restarted");
        assert_eq!(
            seen.ids[name].len(),
            2,
            "{name} restarted exactly once: {:?}",
            seen.ids[name]
        );
        assert_in_place(name, old, new);
        assert_eq!(launch_number(new, LONG).await?, 2, "{name} kept its data");
    }
    assert!(seen.max_down <= 1, "one data node at a time");
    let steps = in_flight.lock().map(|m| *m).unwrap_or(usize::MAX);
    assert!(steps <= 1, "one update step at a time, saw {steps}");
    handle.shutdown().await?;
    // In plan order: each relaunch came after the previous one.
    let (tasks, _, _) = stored(dir)?;
    let mut launched = Vec::new();
    for name in DATA {
        let meta = tasks.fetch_task_meta(name)?.context("task meta")?;
        launched.push(meta.last_launch_ms.context("launch time")?);
    }
    assert!(
        launched.windows(2).all(|w| w[0] <= w[1]),
        "data nodes relaunched in order: {launched:?}"
    );
    Ok(after)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cpus_change_restarts_each_instance_once_serially_in_place() -> Result<()> {
    let (dir, cluster) = setup().await?;
    let first = spec::spec()?;
    let mut second = first.clone();
    let role = second.role.clone();
    let principal = second.principal.clone();
    data_type(&mut second).set_resource("cpus", 1.5, &role, &principal);
    let after = rolling_update(&cluster, dir.path(), first, second).await?;
    for name in DATA {
        assert_eq!(scalar(&after[name], "cpus"), 1.5, "{name} grew in place");
    }
    // The reservations were resized: 1.5 cpus reserved per data node, none left over.
    let st = state(&cluster).await;
    let reserved_cpus = scalar_sum(reserved(&st), "cpus");
    assert!(
        (reserved_cpus - (3.0 * 1.5 + 2.0)).abs() < 1e-6,
        "reserved cpus: {reserved_cpus}"
    );
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_cannot_grow_on_its_agent_keeps_running() -> Result<()> {
    init_logging();
    let dir = tempfile::tempdir()?;
    // 4 cpus per agent: a data node can never grow to 4.5 cpus where it is.
    let cluster = cluster_with_cpus(dir.path(), 4.0).await?;
    let first = spec::spec()?;
    let before = deploy_once(&cluster, dir.path(), first.clone()).await?;

    let mut second = first.clone();
    let role = second.role.clone();
    let principal = second.principal.clone();
    data_type(&mut second).set_resource("cpus", 4.5, &role, &principal);
    let handle = start(&cluster, dir.path(), second).await?;
    let snap = handle
        .wait_for(LONG, |s| {
            s.plan("deploy")
                .and_then(|p| p.step("data-0"))
                .is_some_and(|st| st.message.contains("waiting for agent"))
        })
        .await?;
    let step = snap
        .plan("deploy")
        .and_then(|p| p.step("data-0"))
        .context("data-0's step")?;
    assert_eq!(step.status, Status::Prepared, "{step:?}");
    assert!(step.message.contains("more cpus"), "{}", step.message);
    // Watch a few offer cycles: the running task is not killed to wait for cpus.
    nothing_restarts(&cluster, &before, |_, _| Ok(())).await?;
    handle.shutdown().await?;
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_uri_change_restarts_each_instance_once_serially_in_place() -> Result<()> {
    let (dir, cluster) = setup().await?;
    let first = spec::spec()?;
    let mut second = first.clone();
    let mut program = include_bytes!("../examples/data-store/programs/data").to_vec();
    program.extend_from_slice(b"# version 2\n");
    let v2 = stead_suite::archive_uri("data", &[("data", &program)])?;
    let Commands::Template(cmd) = &mut data_type(&mut second).command else {
        anyhow::bail!("the data command is a template");
    };
    cmd.uris[0].value = v2;
    rolling_update(&cluster, dir.path(), first, second).await?;
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volume_change_is_rejected_and_nothing_restarts() -> Result<()> {
    let (dir, cluster) = setup().await?;
    let first = spec::spec()?;
    let before = deploy_once(&cluster, dir.path(), first.clone()).await?;

    let mut bigger = first.clone();
    data_type(&mut bigger).volumes[0].size_mib *= 2;
    // Fail-fast: the scheduler refuses to start at all.
    let err = start_with(&cluster, dir.path(), bigger.clone(), |o| o.fail_fast = true)
        .await
        .err()
        .context("a fail-fast scheduler refuses the volume change")?;
    assert!(err.to_string().contains("volumes cannot change"), "{err}");

    // Otherwise it keeps running the old target and reports why.
    let handle = start(&cluster, dir.path(), bigger).await?;
    let snap = handle
        .wait_for(LONG, |s| s.reconciled && !s.instances.is_empty())
        .await?;
    let deploy = snap.plan("deploy").context("deploy plan")?;
    assert_eq!(deploy.status, Status::Error);
    assert!(
        deploy
            .errors
            .iter()
            .any(|e| e.contains("data") && e.contains("volumes cannot change")),
        "{:?}",
        deploy.errors
    );
    // Watch a few offer cycles: nothing restarts, nothing is reserved anew.
    let reserved = reserved_ids(&state(&cluster).await);
    nothing_restarts(&cluster, &before, |st, now| {
        ensure!(
            now.len() == 5,
            "expected 5 running instances, got {}",
            now.len()
        );
        ensure!(reserved_ids(st) == reserved, "reservations changed");
        Ok(())
    })
    .await?;
    handle.shutdown().await?;
    let (_, configs, _) = stored(dir.path())?;
    let target = first.id().to_string();
    assert_eq!(
        configs.target()?,
        Some(target.clone()),
        "the target is unchanged"
    );
    assert_eq!(
        configs.list()?,
        vec![target],
        "the rejected config is not stored"
    );
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_in_decommissions_highest_index_first_and_frees_reservations() -> Result<()> {
    let (dir, cluster) = setup().await?;
    let mut five = spec::spec()?;
    data_type(&mut five).count = 5;
    let before = deploy_once(&cluster, dir.path(), five.clone()).await?;
    assert_eq!(before.len(), 7);

    // Without allow_decommission: rejected, nothing changes.
    let mut three = five.clone();
    data_type(&mut three).count = 3;
    let handle = start(&cluster, dir.path(), three.clone()).await?;
    let snap = handle
        .wait_for(LONG, |s| {
            s.reconciled && plan_status(s, "deploy") == Some(Status::Error)
        })
        .await?;
    let errors = &snap.plan("deploy").context("deploy plan")?.errors;
    assert!(
        errors.iter().any(|e| e.contains("allow_decommission")),
        "{errors:?}"
    );
    assert!(snap.plan("decommission").is_none());
    assert_eq!(running(&cluster).await.len(), 7);
    handle.shutdown().await?;

    // With it: data-4, then data-3, are killed, their volumes destroyed, their
    // reservations released and their records erased.
    data_type(&mut three).allow_decommission = true;
    let mut gone_order = Vec::new();
    let handle = start(&cluster, dir.path(), three.clone()).await?;
    let deadline = tokio::time::Instant::now() + LONG;
    while gone_order.len() < 2 {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "data-4 and data-3 not gone in time"
        );
        let now = running(&cluster).await;
        for name in ["data-4", "data-3"] {
            if !now.contains_key(name) && !gone_order.contains(&name) {
                gone_order.push(name);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(gone_order, ["data-4", "data-3"], "highest index first");
    let snap = handle
        .wait_for(LONG, |s| {
            plan_status(s, "decommission") == Some(Status::Complete)
                && plan_status(s, "deploy") == Some(Status::Complete)
        })
        .await?;
    let steps: Vec<String> = snap
        .plan("decommission")
        .context("decommission plan")?
        .phases
        .iter()
        .flat_map(|p| p.steps.iter().map(|s| s.instance.clone()))
        .collect();
    assert_eq!(steps, ["data-4", "data-3"]);
    let freed: BTreeSet<String> = ["data-3", "data-4"]
        .iter()
        .flat_map(|n| task_resource_ids(&before[*n]))
        .collect();
    let volumes: Vec<String> = ["data-3", "data-4"]
        .iter()
        .flat_map(|n| persistence_ids(&before[*n]))
        .collect();
    eventually("their volumes and reservations released", LONG, || async {
        let st = state(&cluster).await;
        let ids = volume_ids(&st);
        let reserved = reserved_ids(&st);
        (volumes.iter().all(|v| !ids.contains(v)) && freed.is_disjoint(&reserved)).then_some(())
    })
    .await?;
    let left = running_exactly(&cluster, &FIVE).await?;
    for (name, task) in &left {
        assert_eq!(task.id, before[name].id, "{name} was left alone");
    }
    handle.shutdown().await?;
    let (tasks, _, _) = stored(dir.path())?;
    let names = tasks.task_names()?;
    assert!(
        !names.iter().any(|n| n == "data-3" || n == "data-4"),
        "{names:?}"
    );
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_interrupted_by_a_scheduler_restart_goes_on_where_it_was() -> Result<()> {
    let (dir, cluster) = setup().await?;
    let first = spec::spec()?;
    let before = deploy_once(&cluster, dir.path(), first.clone()).await?;

    let mut second = first.clone();
    let Commands::Template(cmd) = &mut data_type(&mut second).command else {
        anyhow::bail!("the data command is a template");
    };
    cmd.value = "./data --version 2".into();
    // Ready only after a while: each update step stays in flight long enough to be seen.
    let mut ready = stead::spec::CheckSpec::new("test -f launch-number");
    ready.delay = Duration::from_secs(2);
    ready.interval = Duration::from_secs(1);
    data_type(&mut second).readiness_check = Some(ready);
    let mut seen = Seen::default();
    let handle = start(&cluster, dir.path(), second.clone()).await?;
    // Stop the scheduler as soon as data-1's update is under way (data-0 is done).
    observing(&cluster, &DATA, &mut seen, async {
        handle
            .wait_for(LONG, |s| {
                s.plan("deploy")
                    .and_then(|p| p.step("data-1"))
                    .is_some_and(|st| st.status.is_in_flight())
            })
            .await?;
        Ok(())
    })
    .await?;
    handle.shutdown().await?;

    let handle = start(&cluster, dir.path(), second).await?;
    let after = observing(&cluster, &DATA, &mut seen, async {
        deployed(&handle).await?;
        running_exactly(&cluster, &FIVE).await
    })
    .await?;
    for name in DATA {
        assert_eq!(
            seen.ids[name].len(),
            2,
            "{name} restarted exactly once across both schedulers: {:?}",
            seen.ids[name]
        );
        assert_ne!(after[name].id, before[name].id);
        assert_eq!(
            launch_number(&after[name], LONG).await?,
            2,
            "{name} kept its data"
        );
    }
    assert!(seen.max_down <= 1, "one data node at a time");
    handle.shutdown().await?;
    cluster.shutdown().await?;
    Ok(())
}

async fn pids(tasks: &BTreeMap<String, TaskView>) -> Result<Vec<i32>> {
    let mut out = Vec::new();
    for t in tasks.values() {
        let file = if t.name.starts_with("data-") {
            "data.pid"
        } else {
            "meta-data.pid"
        };
        out.push(sandbox_value::<i32>(t, file, LONG).await?);
    }
    Ok(out)
}

async fn assert_uninstalled(cluster: &LocalCluster, dir: &Path, pids: &[i32]) -> Result<()> {
    let st = state(cluster).await;
    assert!(
        reserved_ids(&st).is_empty(),
        "no reservation of the service"
    );
    assert_service_gone(&st, SERVICE, ROLE);
    processes_gone(pids, LONG).await?;
    let (tasks, configs, frameworks) = stored(dir)?;
    assert!(tasks.task_names()?.is_empty(), "no task left in the state");
    assert!(configs.list()?.is_empty(), "no configuration left");
    assert!(
        frameworks.fetch_framework_id()?.is_none(),
        "no framework id left"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstall_releases_everything_and_wipes_the_state() -> Result<()> {
    let (dir, cluster) = setup().await?;
    let spec = spec::spec()?;
    let handle = start(&cluster, dir.path(), spec.clone()).await?;
    deployed(&handle).await?;
    let pids = pids(&running(&cluster).await).await?;
    assert_eq!(pids.len(), 5);
    handle.shutdown().await?;

    // STEAD_UNINSTALL=true (or --uninstall) on the next start.
    let mut handle = start_with(&cluster, dir.path(), spec, |o| o.uninstall = true).await?;
    tokio::time::timeout(LONG, handle.wait())
        .await
        .context("the uninstall finishes")??;
    let snap = handle.snapshot();
    let plan = snap.plan("uninstall").context("uninstall plan")?;
    assert_eq!(plan.status, Status::Complete);
    handle.shutdown().await?;
    assert_uninstalled(&cluster, dir.path(), &pids).await?;
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstall_of_a_running_service_on_request() -> Result<()> {
    let (dir, cluster) = setup().await?;
    let mut spec = spec::spec()?;
    data_type(&mut spec).count = 1;
    let mut handle = start(&cluster, dir.path(), spec).await?;
    deployed(&handle).await?;
    let pids = pids(&running(&cluster).await).await?;
    handle.uninstall().await?;
    handle
        .wait_for(LONG, |s| s.plan("uninstall").is_some())
        .await?;
    tokio::time::timeout(LONG, handle.wait())
        .await
        .context("the uninstall finishes")??;
    handle.shutdown().await?;
    assert_uninstalled(&cluster, dir.path(), &pids).await?;
    // A running_task lookup by name finds nothing either.
    assert!(running_task(&state(&cluster).await, SERVICE, "data-0").is_none());
    cluster.shutdown().await?;
    Ok(())
}
