//! Support code shared by the examples and the end-to-end tests: program archives,
//! waiting for conditions, running an example as a separate process, starting and
//! reading the embedded cluster, and the scheduler options the tests run with; and, in
//! [`real_mesos`], a real Apache Mesos cluster for the tests.

pub mod real_mesos;
pub mod real_state;

use std::future::Future;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use stead::local::state::TaskView;
use stead::local::{LocalCluster, LocalClusterConfig, State};
use stead::scheduler::Options;

/// Turns on logging (`RUST_LOG` or `info`) for an example or a test; safe to call twice.
/// See [`stead::logging::init`].
pub fn init_logging() {
    stead::logging::init();
}

/// Packs `files` (name, contents; all executable) as `<name>.tar.gz` in a directory named
/// after the contents under the system temp dir, and returns its `file://` URI.
///
/// The same contents always give the same path, so a restarted scheduler's tasks keep
/// fetching a valid URI; the file is written atomically.
pub fn archive_uri(name: &str, files: &[(&str, &[u8])]) -> std::io::Result<String> {
    let mut hasher = std::hash::DefaultHasher::new();
    name.hash(&mut hasher);
    files.hash(&mut hasher);
    let dir = std::env::temp_dir()
        .join("stead-artifacts")
        .join(format!("{:016x}", hasher.finish()));
    let path = dir.join(format!("{name}.tar.gz"));
    if !path.exists() {
        std::fs::create_dir_all(&dir)?;
        let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
        for (file, contents) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(contents.len() as u64);
            header.set_mode(0o755);
            header.set_mtime(0);
            header.set_cksum();
            tar.append_data(&mut header, file, *contents)?;
        }
        let bytes = tar.into_inner()?.finish()?;
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        std::fs::File::create(&tmp)?.write_all(&bytes)?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(format!("file://{}", path.display()))
}

/// A condition that did not come true in time.
#[derive(Debug)]
pub struct TimedOut(pub String);

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "timed out waiting for {}", self.0)
    }
}

impl std::error::Error for TimedOut {}

/// Polls `check` every 250 ms until it returns `Some`, for at most `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, check: F) -> Result<T, TimedOut>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    polling(what, timeout, Duration::from_millis(250), check).await
}

/// Polls `check` every `interval` until it returns `Some`, for at most `timeout`.
pub async fn polling<T, F, Fut>(
    what: &str,
    timeout: Duration,
    interval: Duration,
    mut check: F,
) -> Result<T, TimedOut>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(TimedOut(what.to_string()));
        }
        tokio::time::sleep(interval).await;
    }
}

/// A failed check of the tasks the embedded cluster runs.
#[derive(Debug)]
pub enum CheckFailed {
    /// The expected state never came.
    TimedOut(TimedOut),
    /// Something other than what was expected ran.
    Unexpected(String),
}

impl std::fmt::Display for CheckFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckFailed::TimedOut(t) => t.fmt(f),
            CheckFailed::Unexpected(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for CheckFailed {}

impl From<TimedOut> for CheckFailed {
    fn from(t: TimedOut) -> Self {
        CheckFailed::TimedOut(t)
    }
}

/// Scheduler options for the tests against `master`: one-second declines and backoff
/// (offers come back quickly) and no automatic replace of lost instances.
pub fn test_options(master: &str) -> Options {
    Options {
        master: Some(master.to_string()),
        decline_short: Duration::from_secs(1),
        backoff_base: Duration::from_secs(1),
        replace_timeout: None,
        ..Options::default()
    }
}

/// The configuration of an embedded cluster of `agents` agents under `dir/cluster`,
/// heartbeating every 2 s.
pub fn cluster_config(dir: &Path, agents: usize) -> LocalClusterConfig {
    LocalClusterConfig::new(dir.join("cluster"))
        .agents(agents)
        .heartbeat_interval(Duration::from_secs(2))
}

/// Starts the embedded cluster of [`cluster_config`] in this process.
pub async fn start_cluster(dir: &Path, agents: usize) -> stead::local::Result<LocalCluster> {
    LocalCluster::start(cluster_config(dir, agents)).await
}

/// A cluster whose master's state the tests read, in the embedded cluster's form: the
/// embedded cluster, a real Mesos master ([`real_mesos::RealMesos`]), or either.
pub trait StateSource {
    /// The master's state; `None` while it cannot be read (the master is down).
    fn read_state(&self) -> impl Future<Output = Option<State>>;
}

impl StateSource for LocalCluster {
    async fn read_state(&self) -> Option<State> {
        self.state().await.ok()
    }
}

impl StateSource for real_mesos::RealMesos {
    async fn read_state(&self) -> Option<State> {
        self.cluster_state().await.ok()
    }
}

/// How long [`cluster_state`] waits for a master that does not answer.
const STATE_DEADLINE: Duration = Duration::from_secs(60);

/// The master's state (the embedded master's `/state`, or a real master's in that form).
///
/// # Panics
/// When the master does not answer for a minute: the cluster lives as long as the test
/// using it and is up whenever the test reads it, so that is a test failure.
pub async fn cluster_state(cluster: &impl StateSource) -> State {
    eventually("the cluster state", STATE_DEADLINE, || cluster.read_state())
        .await
        .expect("cluster state")
}

/// Waits, polling every 20 ms for at most `timeout`, until `framework` has a live task
/// (a deploy is then under way), and returns how many it has then.
pub async fn first_live_tasks(
    cluster: &impl StateSource,
    framework: &str,
    timeout: Duration,
) -> Result<usize, TimedOut> {
    let what = format!("a first task of {framework}");
    polling(&what, timeout, Duration::from_millis(20), || async {
        let n = live_tasks(&cluster_state(cluster).await, framework).len();
        (n >= 1).then_some(n)
    })
    .await
}

/// Waits (for at most `timeout`) until `count` tasks of `framework` run, then watches a
/// few heartbeats (20 polls, 200 ms apart) that no other copy of any instance appears.
/// Returns the names of the running instances, sorted.
pub async fn exactly_running(
    cluster: &impl StateSource,
    framework: &str,
    count: usize,
    timeout: Duration,
) -> Result<Vec<String>, CheckFailed> {
    let what = format!("{count} running instances");
    let names = eventually(&what, timeout, || async {
        let st = cluster_state(cluster).await;
        let live = live_tasks(&st, framework);
        let running = live.iter().filter(|t| t.state == "TASK_RUNNING").count();
        (running == count).then(|| {
            let mut n: Vec<String> = live.iter().map(|t| t.name.clone()).collect();
            n.sort();
            n
        })
    })
    .await?;
    for _ in 0..20 {
        let found = live_tasks(&cluster_state(cluster).await, framework).len();
        if found != count {
            return Err(CheckFailed::Unexpected(format!(
                "expected exactly {count} live tasks, found {found}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(names)
}

/// The live (non-terminal) tasks of the framework called `framework` in `state`.
pub fn live_tasks<'a>(state: &'a State, framework: &str) -> Vec<&'a TaskView> {
    const LIVE: &[&str] = &[
        "TASK_STAGING",
        "TASK_STARTING",
        "TASK_RUNNING",
        "TASK_KILLING",
    ];
    state
        .frameworks
        .iter()
        .filter(|f| f.name == framework)
        .flat_map(|f| f.tasks.iter())
        .filter(|t| LIVE.contains(&t.state.as_str()))
        .collect()
}

/// The running task of `instance` (task name) of `framework`, if any.
pub fn running_task<'a>(state: &'a State, framework: &str, instance: &str) -> Option<&'a TaskView> {
    live_tasks(state, framework)
        .into_iter()
        .find(|t| t.name == instance && t.state == "TASK_RUNNING")
}

/// The hostname of agent `agent_id` in `state`.
pub fn hostname_of<'a>(state: &'a State, agent_id: &str) -> Option<&'a str> {
    state
        .agents
        .iter()
        .find(|a| a.id == agent_id)
        .map(|a| a.hostname.as_str())
}

/// Every persistent volume id on any agent in `state`.
pub fn volume_ids(state: &State) -> Vec<String> {
    state
        .agents
        .iter()
        .flat_map(|a| a.volumes.iter().map(|v| v.persistence_id.clone()))
        .collect()
}

/// The persistent volume ids among the resources of `task`.
pub fn persistence_ids(task: &TaskView) -> Vec<String> {
    task.resources
        .iter()
        .filter_map(|r| {
            r.pointer("/disk/persistence/id")?
                .as_str()
                .map(String::from)
        })
        .collect()
}

/// The total of the scalar resources called `name` among `resources` (Mesos JSON form).
pub fn scalar_sum<'a>(
    resources: impl IntoIterator<Item = &'a serde_json::Value>,
    name: &str,
) -> f64 {
    resources
        .into_iter()
        .filter(|r| r["name"] == name)
        .filter_map(|r| r.pointer("/scalar/value")?.as_f64())
        .sum()
}

/// Every resource (volumes included) reserved for `role` on any agent in `state`, in
/// the Mesos JSON form.
pub fn reserved_for<'a>(
    state: &'a State,
    role: &'a str,
) -> impl Iterator<Item = &'a serde_json::Value> {
    state
        .agents
        .iter()
        .flat_map(move |a| a.reserved_resources_full.get(role).into_iter().flatten())
}

/// The `resource_id` label of a resource's reservation, in the Mesos JSON form.
pub fn resource_id(r: &serde_json::Value) -> Option<String> {
    r["reservations"]
        .as_array()?
        .iter()
        .flat_map(|res| res.pointer("/labels/labels").and_then(|l| l.as_array()))
        .flatten()
        .find(|l| l["key"] == "resource_id")
        .and_then(|l| l["value"].as_str().map(String::from))
}

/// Asserts that nothing of `service` is left in `state`: no live task, nothing reserved
/// for `role` (volumes included), and no framework of the service subscribed.
///
/// # Panics
/// When something is left (a test failure).
pub fn assert_service_gone(state: &State, service: &str, role: &str) {
    assert!(
        live_tasks(state, service).is_empty(),
        "no task of the service"
    );
    assert!(
        state.agents.iter().all(|a| a
            .reserved_resources_full
            .get(role)
            .is_none_or(|r| r.is_empty())),
        "nothing reserved for its role"
    );
    assert!(
        state
            .agents
            .iter()
            .all(|a| a.volumes.iter().all(|v| v.role != role)),
        "no volume of the service"
    );
    assert!(
        !state
            .frameworks
            .iter()
            .any(|f| f.name == service && f.active),
        "the framework is torn down"
    );
}

/// Asserts that `new`, the task of instance `name` after a relaunch, runs in place of
/// `old`: on the same agent, with the same persistent volumes.
///
/// # Panics
/// When it moved (a test failure).
pub fn assert_in_place(name: &str, old: &TaskView, new: &TaskView) {
    assert_eq!(new.slave_id, old.slave_id, "{name} stayed on its agent");
    assert_eq!(
        persistence_ids(new),
        persistence_ids(old),
        "{name} kept its volume"
    );
}

/// Waits (for at most `timeout`) until none of the processes `pids` is alive.
pub async fn processes_gone(pids: &[i32], timeout: Duration) -> Result<(), TimedOut> {
    let alive = |pid: i32| nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
    eventually("every task process gone", timeout, || async {
        pids.iter().all(|p| !alive(*p)).then_some(())
    })
    .await
}

/// The value a task's program wrote to `file` in its sandbox (the per-run directory),
/// waiting up to `timeout` for the program to write it: RUNNING comes before the
/// program's first line runs.
pub async fn sandbox_value<T: std::str::FromStr>(
    task: &TaskView,
    file: &str,
    timeout: Duration,
) -> Result<T, TimedOut> {
    let what = format!("{} to write {file}", task.id);
    let path = task.sandbox.as_ref().map(|s| s.join(file));
    eventually(&what, timeout, || async {
        std::fs::read_to_string(path.as_ref()?)
            .ok()?
            .trim()
            .parse()
            .ok()
    })
    .await
}

/// The launch number the data-store's data program recorded for this run of `task`:
/// how many times its volume has been launched on, this run included.
pub async fn launch_number(task: &TaskView, timeout: Duration) -> Result<u32, TimedOut> {
    sandbox_value(task, "launch-number", timeout).await
}

/// The path of a built example binary (examples are built by `cargo test`).
pub fn example_binary(name: &str) -> std::io::Result<PathBuf> {
    built_binary(Path::new("examples").join(name), "cargo build --examples")
}

/// The path of binary `name` of another crate of the workspace (`cargo test --workspace`
/// builds them; `build` is the command that builds it alone).
pub fn workspace_binary(name: &str, build: &str) -> std::io::Result<PathBuf> {
    built_binary(PathBuf::from(name), build)
}

/// `relative` under the profile directory of the running test binary, if it was built.
fn built_binary(relative: PathBuf, build: &str) -> std::io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    // target/<profile>/deps/<test binary> -> target/<profile>/<relative>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| std::io::Error::other("unexpected test binary location"))?;
    let path = profile_dir.join(relative);
    if path.exists() {
        Ok(path)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} not built (run `{build}`)", path.display()),
        ))
    }
}

/// An example running as a child process (so that a test can kill -9 it).
#[derive(Debug)]
pub struct ExampleProcess {
    child: Child,
}

impl ExampleProcess {
    /// Starts example `name` with `args` (its operator API on a free port), its log
    /// going to `log` (appended).
    pub fn spawn(name: &str, args: &[&str], log: &Path) -> std::io::Result<ExampleProcess> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        // Examples serve their operator API on a fixed port; tests run many at once.
        let child = Command::new(example_binary(name)?)
            .args(["--api-port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        Ok(ExampleProcess { child })
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Its exit status, if it has exited (reaping it), without waiting.
    pub fn try_wait(&mut self) -> std::io::Result<Option<std::process::ExitStatus>> {
        self.child.try_wait()
    }

    /// Kills it with SIGKILL (no chance to clean up) and reaps it.
    pub fn kill9(mut self) -> std::io::Result<()> {
        self.child.kill()?;
        self.child.wait().map(drop)
    }
}

impl Drop for ExampleProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
