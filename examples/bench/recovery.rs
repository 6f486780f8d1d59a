//! Recovery latency with real processes: `kills` instances run as processes on the embedded
//! cluster; each task's process is killed with SIGKILL in turn, and the time from the kill to
//! the scheduler seeing the relaunched task RUNNING in place (same agent, same volume) is
//! recorded.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use stead::local::{LocalCluster, LocalClusterConfig};
use stead::plan::{Status, Strategy};
use stead::scheduler::{DefaultService, Options, ServiceSnapshot};

/// Instances per agent (0.1 cpu each on 4-cpu agents).
const PER_AGENT: usize = 25;

/// The task writes its pid into its sandbox, then becomes `sleep`.
const COMMAND: &str = "echo $$ > pid && exec sleep 1000000";

fn running(s: &ServiceSnapshot, instance: &str) -> Option<(String, String)> {
    let i = s.instance(instance)?;
    (i.state.as_deref() == Some("TASK_RUNNING"))
        .then(|| Some((i.task_id.clone()?, i.agent_id.clone()?)))
        .flatten()
}

/// Reads the pid a task wrote (it writes it right after it starts).
async fn read_pid(path: &Path, timeout: Duration) -> Result<i32> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse()
        {
            return Ok(pid);
        }
        ensure!(Instant::now() < deadline, "{} not written", path.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Kills each of `kills` instances once; returns the latencies.
pub async fn run(dir: &Path, kills: usize, timeout: Duration) -> Result<Vec<Duration>> {
    let config = LocalClusterConfig::new(dir.join("cluster")).agents(kills.div_ceil(PER_AGENT));
    let cluster = LocalCluster::start(config).await?;
    let options = Options {
        master: Some(cluster.master_url().to_string()),
        strategy: Strategy::Parallel,
        replace_timeout: None,
        ..Options::default()
    };
    let spec = crate::spec::spec(kills as u32, COMMAND);
    let handle = DefaultService::with_options(0, options)
        .state_dir(dir.join("state"))
        .start_spec(spec)
        .await?;
    handle
        .wait_for(timeout, |s| {
            s.plan("deploy")
                .is_some_and(|p| p.status == Status::Complete)
        })
        .await?;
    let state = cluster.state().await?;
    let mut latencies = Vec::with_capacity(kills);
    for i in 0..kills {
        let instance = format!("node-{i}");
        let (task_id, agent_id) = running(&handle.snapshot(), &instance)
            .with_context(|| format!("{instance} running"))?;
        let sandbox = state
            .frameworks
            .iter()
            .flat_map(|f| f.tasks.iter())
            .find(|t| t.id == task_id)
            .and_then(|t| t.sandbox.clone())
            .with_context(|| format!("sandbox of {task_id}"))?;
        let pid = read_pid(&sandbox.join("pid"), timeout)
            .await
            .with_context(|| format!("pid of {task_id}"))?;
        let mut watch = handle.watch();
        watch.borrow_and_update();
        let killed = Instant::now();
        kill(Pid::from_raw(pid), Signal::SIGKILL)?;
        let relaunched = tokio::time::timeout(timeout, async {
            loop {
                if let Some((new_id, new_agent)) = running(&watch.borrow_and_update(), &instance)
                    && new_id != task_id
                {
                    return Ok::<_, anyhow::Error>((killed.elapsed(), new_agent));
                }
                watch.changed().await?;
            }
        })
        .await
        .with_context(|| format!("{instance} not relaunched within {timeout:?}"))??;
        ensure!(
            relaunched.1 == agent_id,
            "{instance} moved from {agent_id} to {}",
            relaunched.1
        );
        latencies.push(relaunched.0);
    }
    handle.shutdown().await?;
    cluster.shutdown().await?;
    if latencies.len() != kills {
        bail!("{} of {kills} kills measured", latencies.len());
    }
    Ok(latencies)
}
