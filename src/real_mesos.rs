//! A real Apache Mesos master with real agents on loopback, for the tests: the harness
//! in `<workspace>/../shared/real-mesos` (`start.sh`, installed by its `setup.sh`),
//! started fresh in a work dir of the test's, read through the master's own HTTP
//! endpoints, crashed and recovered, and stopped when the fixture is dropped.
//!
//! Only one such cluster runs at a time on a machine: every agent offers the same
//! fixed port ranges, so two clusters would hand the same ports to two tasks. A
//! fixture holds a process-wide lock and a file lock (in the system temp dir) from
//! its start until it is dropped, so tests of one binary and of several binaries
//! wait for each other.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use serde_json::Value;
use stead::local::State;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::real_state::{self, RealReads};

/// How many times a start (or a restart) is tried (see [`RealMesos::run_start`]).
const START_ATTEMPTS: u32 = 5;

/// How long a start (or a restart) may take until every agent is activated.
const START_DEADLINE: Duration = Duration::from_secs(90);

/// The environment variable that points at another copy of the harness folder.
pub const HARNESS_DIR_ENV: &str = "STEAD_REAL_MESOS_DIR";

/// The harness's install prefix variable (as `setup.sh` and `start.sh` read it).
const HOME_ENV: &str = "REAL_MESOS_HOME";

/// The install prefix `setup.sh` uses when `REAL_MESOS_HOME` is not set.
const DEFAULT_HOME: &str = "/opt/real-mesos";

/// The lock file that keeps two test binaries from running clusters at once.
const LOCK_FILE: &str = "stead-real-mesos.lock";

/// Serialises the clusters of this process (see the module doc).
static PROCESS_LOCK: LazyLock<Arc<Mutex<()>>> = LazyLock::new(|| Arc::new(Mutex::new(())));

/// What can go wrong with the real cluster.
#[derive(Debug, thiserror::Error)]
pub enum RealMesosError {
    /// The harness is not installed on this machine.
    #[error(
        "the real Apache Mesos harness is not installed ({launcher} is missing): run \
         `bash {setup}` (scripts/test.sh does it)"
    )]
    NotInstalled {
        /// The launcher binary that was looked for.
        launcher: PathBuf,
        /// The setup script that installs it.
        setup: PathBuf,
    },
    /// A harness command could not be run or failed.
    #[error("`{command}` failed: {output}")]
    Harness {
        /// The command line.
        command: String,
        /// Its exit status and output.
        output: String,
    },
    /// The cluster did not come up in time.
    #[error(
        "the real Mesos master at {url} did not show {agents} activated agents in time: {last}"
    )]
    NotUp {
        /// The master's URL.
        url: String,
        /// How many agents were expected.
        agents: usize,
        /// What the master last said (or why it could not be read).
        last: String,
    },
    /// The cluster did not start; with the errors its log shows.
    #[error("{source}\nerrors in the cluster's log:\n{errors}")]
    Failed {
        /// The last error and fatal lines of `mesos.log`.
        errors: String,
        /// Why the start failed.
        #[source]
        source: Box<RealMesosError>,
    },
    /// A request to the master failed.
    #[error("GET {url}: {source}")]
    Http {
        /// The URL asked for.
        url: String,
        /// Why it failed.
        #[source]
        source: reqwest::Error,
    },
    /// The master answered something that is not JSON.
    #[error("GET {url}: not JSON: {source}")]
    Json {
        /// The URL asked for.
        url: String,
        /// Why it did not parse.
        #[source]
        source: serde_json::Error,
    },
    /// A local file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
}

/// The result of the fixture's operations.
pub type Result<T> = std::result::Result<T, RealMesosError>;

/// How to start a [`RealMesos`] cluster.
#[derive(Debug, Clone)]
pub struct RealMesosOptions {
    /// How many agents (named `agent-<i>.localhost` when more than one).
    pub agents: usize,
    /// The master's port on 127.0.0.1; `None` picks a free one.
    pub port: Option<u16>,
    /// The harness's work dir: the cluster's state, sandboxes and `mesos.log`.
    pub work_dir: PathBuf,
    /// Extra environment of the harness: `MESOS_*` variables, passed to the master and
    /// agents as flags (e.g. `MESOS_AUTHENTICATE_HTTP_FRAMEWORKS`, `MESOS_CREDENTIALS`,
    /// `MESOS_ACLS`), and its own `REAL_MESOS_*` settings (e.g.
    /// `REAL_MESOS_AGENT_RESOURCES`).
    pub env: Vec<(String, String)>,
}

impl RealMesosOptions {
    /// `agents` agents working in `work_dir`, on a free port, with no extra flags.
    pub fn new(agents: usize, work_dir: impl Into<PathBuf>) -> RealMesosOptions {
        RealMesosOptions {
            agents,
            port: None,
            work_dir: work_dir.into(),
            env: Vec::new(),
        }
    }
}

/// A running real Mesos master with its agents (see the module doc). Dropping it stops
/// the cluster and every executor and task it started.
#[derive(Debug)]
pub struct RealMesos {
    options: RealMesosOptions,
    port: u16,
    start_script: PathBuf,
    http: reqwest::Client,
    // Held until the cluster is stopped (dropped after `drop` stops it).
    _file_lock: File,
    _process_lock: OwnedMutexGuard<()>,
}

impl RealMesos {
    /// Starts a fresh cluster (`start.sh --fresh`) once no other one runs on this
    /// machine, and waits until the master shows every agent activated.
    ///
    /// Fails (never skips) with [`RealMesosError::NotInstalled`] when the harness is
    /// not installed.
    pub async fn start(options: RealMesosOptions) -> Result<RealMesos> {
        let dir = harness_dir();
        let start_script = dir.join("start.sh");
        let launcher = harness_home().join("bin/mesos-local-launcher");
        if !launcher.exists() || !start_script.exists() {
            return Err(RealMesosError::NotInstalled {
                launcher,
                setup: dir.join("setup.sh"),
            });
        }
        let process_lock = PROCESS_LOCK.clone().lock_owned().await;
        let file_lock = tokio::task::spawn_blocking(lock_machine_wide)
            .await
            .map_err(|e| RealMesosError::Io {
                what: "waiting for the real Mesos lock".into(),
                source: std::io::Error::other(e),
            })??;
        std::fs::create_dir_all(&options.work_dir).map_err(|source| RealMesosError::Io {
            what: format!("creating {}", options.work_dir.display()),
            source,
        })?;
        let port = match options.port {
            Some(p) => p,
            None => free_port()?,
        };
        let cluster = RealMesos {
            options,
            port,
            start_script,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .map_err(|source| RealMesosError::Http {
                    url: String::new(),
                    source,
                })?,
            _file_lock: file_lock,
            _process_lock: process_lock,
        };
        cluster.run_start(true).await?;
        Ok(cluster)
    }

    /// The master's URL, `http://127.0.0.1:<port>` (what a scheduler's `--master` takes).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The master's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many agents the cluster has.
    pub fn agents(&self) -> usize {
        self.options.agents
    }

    /// The harness's work dir.
    pub fn work_dir(&self) -> &Path {
        &self.options.work_dir
    }

    /// The cluster's log (master, agents, and the tasks' output): `<work dir>/mesos.log`.
    pub fn log_path(&self) -> PathBuf {
        self.options.work_dir.join("mesos.log")
    }

    /// The master's `/master/state` JSON.
    pub async fn state(&self) -> Result<Value> {
        self.get_json("/master/state").await
    }

    /// The master's `/master/slaves` JSON (each agent with `reserved_resources_full`).
    pub async fn slaves(&self) -> Result<Value> {
        self.get_json("/master/slaves").await
    }

    /// The master's state in the embedded cluster's form (see [`crate::real_state`]):
    /// frameworks and tasks (with their resources in full and their sandboxes), agents
    /// with their reservations and volumes.
    pub async fn cluster_state(&self) -> Result<State> {
        let master = self.state().await?;
        let slaves = self.slaves().await?;
        let tasks = self.operator_call(r#"{"type":"GET_TASKS"}"#).await?;
        let mut agents = Vec::new();
        for path in real_state::agent_state_paths(&slaves) {
            agents.push(self.get_json(&path).await?);
        }
        Ok(real_state::to_state(&RealReads {
            master,
            slaves,
            tasks,
            agents,
        }))
    }

    /// GETs `path` of the master and parses the answer as JSON.
    pub async fn get_json(&self, path: &str) -> Result<Value> {
        let url = format!("{}{path}", self.url());
        self.send_json(&url, self.http.get(&url)).await
    }

    /// Sends `call` (JSON) to the master's operator API and parses the answer.
    pub async fn operator_call(&self, call: &str) -> Result<Value> {
        let url = format!("{}/api/v1", self.url());
        let request = self
            .http
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .body(call.to_string());
        self.send_json(&url, request).await
    }

    /// Sends `request` (to `url`) and parses the answer as JSON.
    async fn send_json(&self, url: &str, request: reqwest::RequestBuilder) -> Result<Value> {
        let http = |source| RealMesosError::Http {
            url: url.to_string(),
            source,
        };
        let body = request
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(http)?
            .bytes()
            .await
            .map_err(http)?;
        serde_json::from_slice(&body).map_err(|source| RealMesosError::Json {
            url: url.to_string(),
            source,
        })
    }

    /// Crashes the master and every agent (SIGKILL, `start.sh stop --keep-tasks`):
    /// executors and tasks keep running, as on real hosts.
    pub async fn crash_keep_tasks(&self) -> Result<()> {
        let args = [
            "stop".to_string(),
            "--keep-tasks".into(),
            "--work-dir".into(),
            self.work_dir_arg(),
        ];
        self.run_script(&args).await.map(drop)
    }

    /// Starts the master and agents again on the same work dir (no `--fresh`): they
    /// recover their state and the running executors; waits until every agent is
    /// activated again.
    pub async fn restart(&self) -> Result<()> {
        self.run_start(false).await
    }

    /// Runs `start.sh start` and waits for the agents, up to [`START_ATTEMPTS`] times.
    ///
    /// The harness gives each agent its own hostname and resources by switching the
    /// environment between the agents' flag loads, and an agent that creates its work
    /// dir meanwhile can switch it too early: now and then an agent starts with another
    /// one's hostname and resources. A fresh start where that happened shows an agent
    /// with another one's hostname; a restart where it happened fails (the agent finds
    /// its checkpointed identity changed and exits). Either is stopped and tried again.
    async fn run_start(&self, fresh: bool) -> Result<()> {
        let mut attempt = 1;
        loop {
            let result = match self.start_once(fresh).await {
                Ok(()) if fresh => self.hostnames_in_order().await,
                other => other,
            };
            match result {
                Err(e) if attempt < START_ATTEMPTS => {
                    eprintln!("real Mesos start {attempt} failed, trying again: {e}");
                    self.stop(fresh).await?;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Stops the cluster after a failed start (and its tasks too when `fresh`: there
    /// are none worth keeping).
    async fn stop(&self, fresh: bool) -> Result<()> {
        let mut args = vec!["stop".to_string(), "--work-dir".into(), self.work_dir_arg()];
        if !fresh {
            args.push("--keep-tasks".into());
        }
        self.run_script(&args).await.map(drop)
    }

    /// Checks that agent i (the libprocess process `slave(i+1)`) got the i-th
    /// hostname: `agent-<i>.localhost`, or the i-th of `REAL_MESOS_AGENT_HOSTNAMES`.
    async fn hostnames_in_order(&self) -> Result<()> {
        if self.options.agents < 2 {
            return Ok(());
        }
        let expected: Vec<String> = match self
            .options
            .env
            .iter()
            .find(|(k, _)| k == "REAL_MESOS_AGENT_HOSTNAMES")
        {
            Some((_, names)) => names.split(',').map(String::from).collect(),
            None => (0..self.options.agents)
                .map(|i| format!("agent-{i}.localhost"))
                .collect(),
        };
        let slaves = self.slaves().await?;
        let mut agents: Vec<(u32, &str)> = slaves["slaves"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|a| {
                let pid = a["pid"].as_str()?;
                let n = pid
                    .strip_prefix("slave(")?
                    .split(')')
                    .next()?
                    .parse()
                    .ok()?;
                Some((n, a["hostname"].as_str()?))
            })
            .collect();
        agents.sort_unstable();
        let got: Vec<&str> = agents.iter().map(|(_, h)| *h).collect();
        if got == expected {
            Ok(())
        } else {
            Err(RealMesosError::NotUp {
                url: self.url(),
                agents: self.options.agents,
                last: format!("agents got other agents' hostnames: {got:?}"),
            })
        }
    }

    /// Runs `start.sh start` once and waits for the agents.
    async fn start_once(&self, fresh: bool) -> Result<()> {
        let mut args = vec![
            "start".to_string(),
            "--agents".into(),
            self.options.agents.to_string(),
            "--port".into(),
            self.port.to_string(),
            "--work-dir".into(),
            self.work_dir_arg(),
        ];
        if fresh {
            args.push("--fresh".into());
        }
        let started = async {
            self.run_script(&args).await?;
            self.wait_for_agents().await
        };
        started.await.map_err(|e| RealMesosError::Failed {
            errors: self.logged_errors(),
            source: Box::new(e),
        })
    }

    /// The error and fatal messages of the cluster's log (glog's `E` and `F` lines, each
    /// with the lines that continue it), the last 40 lines of them.
    fn logged_errors(&self) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let glog = |l: &str, levels: &[char]| {
            let mut chars = l.chars();
            chars.next().is_some_and(|c| levels.contains(&c))
                && chars.next().is_some_and(|c| c.is_ascii_digit())
        };
        let mut errors = Vec::new();
        let mut in_error = false;
        for line in log.lines() {
            if glog(line, &['I', 'W', 'E', 'F']) {
                in_error = glog(line, &['E', 'F']);
            }
            if in_error {
                errors.push(line);
            }
        }
        errors[errors.len().saturating_sub(40)..].join("\n")
    }

    /// Waits until `/master/state` shows every agent activated.
    async fn wait_for_agents(&self) -> Result<()> {
        let deadline = tokio::time::Instant::now() + START_DEADLINE;
        loop {
            let last = match self.state().await {
                Ok(state) => {
                    let activated = state["activated_slaves"].as_f64().unwrap_or(0.0);
                    if activated >= self.options.agents as f64 {
                        return Ok(());
                    }
                    format!("{activated} activated agents")
                }
                Err(e) => e.to_string(),
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(RealMesosError::NotUp {
                    url: self.url(),
                    agents: self.options.agents,
                    last,
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Runs `start.sh args` with the extra environment, and returns its output.
    async fn run_script(&self, args: &[String]) -> Result<String> {
        let mut command = self.script_command(args);
        let line = format!("{} {}", self.start_script.display(), args.join(" "));
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .map_err(|e| RealMesosError::Io {
                what: format!("running {line}"),
                source: std::io::Error::other(e),
            })?
            .map_err(|source| RealMesosError::Io {
                what: format!("running {line}"),
                source,
            })?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if output.status.success() {
            Ok(text)
        } else {
            Err(RealMesosError::Harness {
                command: line,
                output: format!("{}: {text}", output.status),
            })
        }
    }

    /// The command that runs `start.sh args` with the options' environment.
    fn script_command(&self, args: &[String]) -> Command {
        let mut command = Command::new("bash");
        command
            .arg(&self.start_script)
            .args(args)
            .envs(self.options.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        command
    }

    /// The work dir as an argument of `start.sh`.
    fn work_dir_arg(&self) -> String {
        self.options.work_dir.display().to_string()
    }
}

impl Drop for RealMesos {
    fn drop(&mut self) {
        // Stops the master, the agents and every executor and task they started; the
        // locks are released after this, when the fields are dropped.
        let args = ["stop".to_string(), "--work-dir".into(), self.work_dir_arg()];
        let _ = self
            .script_command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The harness folder: `$STEAD_REAL_MESOS_DIR`, or `../shared/real-mesos` beside the
/// workspace root.
pub fn harness_dir() -> PathBuf {
    match std::env::var_os(HARNESS_DIR_ENV) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/real-mesos"),
    }
}

/// Where the harness is installed (`$REAL_MESOS_HOME`, else `/opt/real-mesos`).
fn harness_home() -> PathBuf {
    std::env::var_os(HOME_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_HOME))
}

/// Blocks until this process holds the machine-wide lock file.
fn lock_machine_wide() -> Result<File> {
    let path = std::env::temp_dir().join(LOCK_FILE);
    let io = |what: String| move |source| RealMesosError::Io { what, source };
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io(format!("opening {}", path.display())))?;
    file.lock()
        .map_err(io(format!("locking {}", path.display())))?;
    Ok(file)
}

/// A port on 127.0.0.1 that nothing listens on now.
fn free_port() -> Result<u16> {
    let io = |source| RealMesosError::Io {
        what: "finding a free port".into(),
        source,
    };
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(io)
}
