//! Support code shared by the examples and the end-to-end tests: program archives,
//! waiting for conditions, running an example as a separate process, and reading the
//! embedded cluster's state.

use std::future::Future;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use stead::local::State;
use stead::local::state::TaskView;

/// Turns on logging (`RUST_LOG` or `info`) for an example or a test; safe to call twice.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
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
pub async fn eventually<T, F, Fut>(
    what: &str,
    timeout: Duration,
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
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
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

/// The path of a built example binary (examples are built by `cargo test`).
pub fn example_binary(name: &str) -> std::io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    // target/<profile>/deps/<test binary> -> target/<profile>/examples/<name>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| std::io::Error::other("unexpected test binary location"))?;
    let path = profile_dir.join("examples").join(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "{} not built (run `cargo build --examples`)",
                path.display()
            ),
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
