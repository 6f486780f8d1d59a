//! Deploy throughput, failover time and scheduler memory: the embedded cluster runs in this
//! process with simulated agents (10 instances per agent); the scheduler runs as a child
//! process (`bench scheduler`), is killed with SIGKILL once deployed, and started again on
//! the same state.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use stead::local::{ExecutorMode, LocalCluster, LocalClusterConfig};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::spec::SERVICE;

/// Instances per simulated agent.
pub const PER_AGENT: usize = 10;

/// The figures of one size.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Instances.
    pub instances: usize,
    /// Agents.
    pub agents: usize,
    /// The deploying scheduler: from its start to deploy COMPLETE.
    pub deploy: Phase,
    /// The restarted scheduler: from its start to every task reconciled and plans rebuilt.
    pub failover: Phase,
}

/// One scheduler process, from its start until it is READY.
#[derive(Debug, Clone)]
pub struct Phase {
    /// Wall time, in ms.
    pub ms: f64,
    /// Launches the scheduler counts in its state.
    pub launches: u64,
    /// The scheduler's peak RSS, in MiB.
    pub rss_mib: f64,
    /// CPU time (user and system) the scheduler process used, in ms.
    pub scheduler_cpu_ms: f64,
    /// CPU time the embedded cluster (this process) used meanwhile, in ms.
    pub cluster_cpu_ms: f64,
}

impl Phase {
    /// Starts a scheduler process and waits until it is READY.
    async fn run(
        exe: &Path,
        master: &str,
        dir: &Path,
        instances: usize,
        timeout: Duration,
    ) -> Result<(Scheduler, Phase)> {
        let cluster_cpu_before = cpu_ms("self")?;
        let mut scheduler = Scheduler::spawn(exe, master, dir, instances)?;
        let (ms, launches) = scheduler.ready(timeout).await?;
        let phase = Phase {
            ms,
            launches,
            cluster_cpu_ms: cpu_ms("self")? - cluster_cpu_before,
            scheduler_cpu_ms: scheduler.cpu_ms()?,
            rss_mib: scheduler.peak_rss_mib()?,
        };
        Ok((scheduler, phase))
    }
}

/// CPU time (user and system) used so far by the process `pid` (`self` for this one), in
/// ms, from `/proc/<pid>/stat`.
fn cpu_ms(pid: &str) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command name (which may hold spaces) start with the state, the
    // third field: utime and stime are the 14th and 15th.
    let after = stat.rsplit_once(')').context("/proc stat format")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64> {
        Ok(fields.get(i).context("/proc stat fields")?.parse::<f64>()?)
    };
    // Linux reports these in clock ticks of USER_HZ, 100 per second.
    Ok((ticks(11)? + ticks(12)?) * 10.0)
}

/// A scheduler child process and the lines it prints.
struct Scheduler {
    child: Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Scheduler {
    fn spawn(exe: &Path, master: &str, dir: &Path, count: usize) -> Result<Scheduler> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("scheduler.log"))?;
        // The scheduler inherits this process's "no transparent huge pages" (see `main`),
        // and returns memory freed for 10 ms to the system: at 10,000 instances, returning
        // it at once costs about a tenth more CPU in page faults, keeping it a second costs
        // about 20 MiB more peak RSS.
        let mut child = Command::new(exe)
            .env("MIMALLOC_PURGE_DELAY", "10")
            .arg("scheduler")
            .arg("--master")
            .arg(master)
            .arg("--state-dir")
            .arg(dir.join("state"))
            .arg("--count")
            .arg(count.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("starting the scheduler process")?;
        let stdout = child.stdout.take().context("scheduler stdout")?;
        Ok(Scheduler {
            child,
            lines: BufReader::new(stdout).lines(),
        })
    }

    /// Waits for `READY <ms> <launches>`.
    async fn ready(&mut self, timeout: Duration) -> Result<(f64, u64)> {
        let line = tokio::time::timeout(timeout, self.lines.next_line())
            .await
            .with_context(|| format!("the scheduler was not ready within {timeout:?}"))??
            .context("the scheduler exited (see scheduler.log)")?;
        let mut words = line.split_whitespace();
        ensure!(words.next() == Some("READY"), "unexpected line `{line}`");
        let ms = words.next().context("ms")?.parse()?;
        let launches = words.next().context("launches")?.parse()?;
        Ok((ms, launches))
    }

    /// CPU time the process used so far, in ms.
    fn cpu_ms(&self) -> Result<f64> {
        cpu_ms(&self.child.id().context("the scheduler exited")?.to_string())
    }

    /// Peak resident set size so far (VmHWM), in MiB.
    fn peak_rss_mib(&self) -> Result<f64> {
        let pid = self.child.id().context("the scheduler exited")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .context("VmHWM")?
            .parse()?;
        Ok(kib / 1024.0)
    }

    async fn kill9(mut self) -> Result<()> {
        self.child.start_kill()?;
        self.child.wait().await?;
        Ok(())
    }
}

async fn task_ids(cluster: &LocalCluster) -> Result<BTreeSet<String>> {
    let state = cluster.state().await?;
    Ok(state
        .frameworks
        .iter()
        .filter(|f| f.name == SERVICE)
        .flat_map(|f| f.tasks.iter())
        .filter(|t| t.state == "TASK_RUNNING")
        .map(|t| t.id.clone())
        .collect())
}

/// Deploys `instances` on simulated agents, then kills and restarts the scheduler.
pub async fn run(exe: &Path, dir: &Path, instances: usize, timeout: Duration) -> Result<Figures> {
    let agents = instances.div_ceil(PER_AGENT);
    let config = LocalClusterConfig::new(dir.join("cluster"))
        .agents(agents)
        .executor(ExecutorMode::Simulated);
    let cluster = LocalCluster::start(config).await?;
    let master = cluster.master_url().to_string();

    let (first, deploy) = Phase::run(exe, &master, dir, instances, timeout).await?;
    ensure!(
        deploy.launches == instances as u64,
        "{} launches for {instances} instances",
        deploy.launches
    );
    let before = task_ids(&cluster).await?;
    ensure!(
        before.len() == instances,
        "{} tasks running on the cluster, expected {instances}",
        before.len()
    );
    first.kill9().await?;

    let (second, failover) = Phase::run(exe, &master, dir, instances, timeout).await?;
    let after = task_ids(&cluster).await?;
    second.kill9().await?;
    cluster.shutdown().await?;
    if failover.launches != deploy.launches || before != after {
        bail!(
            "the failover relaunched tasks ({} -> {} launches, {} tasks changed)",
            deploy.launches,
            failover.launches,
            before.symmetric_difference(&after).count()
        );
    }
    Ok(Figures {
        instances,
        agents,
        deploy,
        failover,
    })
}
