//! The standalone embedded cluster (the `stead-local-cluster` binary) as a process of its
//! own, so that its tasks keep running while the scheduler is killed, and its master's
//! `/master/state` read over HTTP.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use stead::local::State;
use stead_suite::workspace_binary;

/// How long the cluster gets to stop its tasks on SIGINT.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `stead-local-cluster` process.
#[derive(Debug)]
pub struct StandaloneCluster {
    child: Option<Child>,
    url: String,
    http: reqwest::Client,
}

impl StandaloneCluster {
    /// Starts `agents` agents of `cpus` cpus each, working under `work_dir`, the master on
    /// a free loopback port; its log goes to `log`.
    pub fn start(work_dir: &Path, agents: usize, cpus: f64, log: &Path) -> Result<Self> {
        let binary = workspace_binary(
            "stead-local-cluster",
            "cargo build -p stead-local --bin stead-local-cluster",
        )?;
        let log = std::fs::File::create(log)?;
        let mut child = Command::new(binary)
            .args(["--port", "0", "--heartbeat-secs", "2"])
            .args(["--agents", &agents.to_string(), "--cpus", &cpus.to_string()])
            .arg("--work-dir")
            .arg(work_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()?;
        let stdout = child.stdout.take().context("stdout is piped")?;
        let mut lines = BufReader::new(stdout).lines();
        // Its first line names the master's URL (or it exits, ending the stream).
        let first = lines.next().transpose()?.unwrap_or_default();
        // Read the rest, so that its last words do not fail on a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let Some(url) = first.split_whitespace().find(|w| w.starts_with("http://")) else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("stead-local-cluster did not start: {first:?}");
        };
        Ok(StandaloneCluster {
            url: url.to_string(),
            child: Some(child),
            http: reqwest::Client::new(),
        })
    }

    /// The master's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The master's `/master/state`.
    pub async fn state(&self) -> Result<State> {
        let answer = self
            .http
            .get(format!("{}/master/state", self.url))
            .send()
            .await?
            .error_for_status()?;
        Ok(serde_json::from_slice(&answer.bytes().await?)?)
    }

    /// Stops it with SIGINT (its tasks' processes end with it) and waits until it exits.
    pub fn stop(mut self) -> Result<()> {
        self.stop_child()
    }

    fn stop_child(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        kill(Pid::from_raw(i32::try_from(child.id())?), Signal::SIGINT)?;
        let deadline = Instant::now() + STOP_TIMEOUT;
        while child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                child.kill()?;
                child.wait()?;
                bail!("stead-local-cluster still running {STOP_TIMEOUT:?} after SIGINT");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for StandaloneCluster {
    fn drop(&mut self) {
        if let Err(e) = self.stop_child() {
            eprintln!("stopping the cluster: {e:#}");
        }
    }
}
