//! The cluster a scenario runs on, embedded or real, behind one type, and the
//! environment of a scenario: a fresh directory, the cluster, and how to start the
//! data-store's scheduler on it.

use std::path::Path;

use anyhow::{Context, Result};
use stead::local::{LocalCluster, LocalClusterConfig, State};
use stead::scheduler::{DefaultService, Options, ServiceHandle};
use stead::spec::ServiceSpec;
use stead_suite::real_mesos::{RealMesos, RealMesosOptions};
use stead_suite::{StateSource, cluster_config, cluster_state, init_logging, test_options};

/// The cpus of every agent.
const AGENT_CPUS: f64 = 8.0;

/// Which cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Stead's embedded cluster, in this process.
    Embedded,
    /// A real Apache Mesos master with real agents (the harness).
    RealMesos,
}

/// A running cluster of either kind.
#[derive(Debug)]
pub enum TestCluster {
    /// The embedded cluster; `None` while it is crashed.
    Embedded {
        /// The running cluster.
        cluster: Option<LocalCluster>,
        /// Its configuration, bound to the address it got at its first start (boxed: it
        /// is much larger than the real cluster's handle).
        config: Box<LocalClusterConfig>,
    },
    /// The real one.
    Real(RealMesos),
}

impl TestCluster {
    /// Starts a cluster of `kind` with `agents` agents working in `dir`, each with
    /// [`AGENT_CPUS`] cpus (room for instances to grow in place), 8 GiB memory, 64 GiB
    /// disk and a port range of its own, on both kinds.
    pub async fn start(kind: Kind, dir: &Path, agents: usize) -> Result<TestCluster> {
        Ok(match kind {
            Kind::Embedded => {
                let mut config = cluster_config(dir, agents);
                for agent in &mut config.agents {
                    agent.cpus = AGENT_CPUS;
                }
                let cluster = LocalCluster::start(config.clone()).await?;
                config.bind = cluster.addr();
                TestCluster::Embedded {
                    cluster: Some(cluster),
                    config: Box::new(config),
                }
            }
            Kind::RealMesos => {
                let mut options = RealMesosOptions::new(agents, dir.join("real-mesos"));
                // The harness's per-agent resources, with its default memory, disk and
                // ports (agent i offers ports 31000 + 1000 i and up).
                let resources: Vec<String> = (0..agents)
                    .map(|i| {
                        let low = 31000 + 1000 * i;
                        let high = low + 999;
                        format!("cpus:{AGENT_CPUS};mem:8192;disk:65536;ports:[{low}-{high}]")
                    })
                    .collect();
                options
                    .env
                    .push(("REAL_MESOS_AGENT_RESOURCES".into(), resources.join("|")));
                TestCluster::Real(RealMesos::start(options).await?)
            }
        })
    }

    /// Which kind it is.
    pub fn kind(&self) -> Kind {
        match self {
            TestCluster::Embedded { .. } => Kind::Embedded,
            TestCluster::Real(_) => Kind::RealMesos,
        }
    }

    /// The master's URL.
    pub fn master_url(&self) -> String {
        match self {
            TestCluster::Embedded { config, .. } => format!("http://{}", config.bind),
            TestCluster::Real(real) => real.url(),
        }
    }

    /// The master's `/master/state` JSON in its own form.
    pub async fn raw_master_state(&self) -> Result<serde_json::Value> {
        let url = format!("{}/master/state", self.master_url());
        let body = reqwest::get(&url)
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        Ok(serde_json::from_slice(&body)?)
    }

    /// Whether tasks outlive a crash of the master and agents. A real agent's
    /// executors and tasks run on after the agent dies and are recovered by the next
    /// agent; the embedded cluster's task processes are its children and end with it
    /// (its next start reports them `TASK_LOST`).
    pub fn tasks_survive_crash(&self) -> bool {
        self.kind() == Kind::RealMesos
    }

    /// Crashes the master and every agent (on the embedded cluster its tasks end too).
    pub async fn crash(&mut self) -> Result<()> {
        match self {
            TestCluster::Embedded { cluster, .. } => {
                if let Some(c) = cluster.take() {
                    c.shutdown().await?;
                }
            }
            TestCluster::Real(real) => real.crash_keep_tasks().await?,
        }
        Ok(())
    }

    /// Starts the crashed master and agents again, on the same address and state.
    pub async fn recover(&mut self) -> Result<()> {
        match self {
            TestCluster::Embedded { cluster, config } => {
                *cluster = Some(LocalCluster::start((**config).clone()).await?);
            }
            TestCluster::Real(real) => real.restart().await?,
        }
        Ok(())
    }

    /// Stops the cluster (and every task on it).
    pub async fn shutdown(self) -> Result<()> {
        match self {
            TestCluster::Embedded { cluster, .. } => {
                if let Some(c) = cluster {
                    c.shutdown().await?;
                }
            }
            // Stopped by its drop.
            TestCluster::Real(real) => drop(real),
        }
        Ok(())
    }
}

impl StateSource for TestCluster {
    async fn read_state(&self) -> Option<State> {
        match self {
            TestCluster::Embedded { cluster, .. } => cluster.as_ref()?.read_state().await,
            TestCluster::Real(real) => real.read_state().await,
        }
    }
}

/// What a scenario runs in: a fresh directory (the scheduler's state in `state/`) and
/// a cluster.
#[derive(Debug)]
pub struct Env {
    /// The directory; removed when dropped.
    pub dir: tempfile::TempDir,
    /// The cluster.
    pub cluster: TestCluster,
}

impl Env {
    /// Logging on, a fresh directory and a cluster of `kind` with `agents` agents.
    pub async fn new(kind: Kind, agents: usize) -> Result<Env> {
        init_logging();
        let dir = tempfile::tempdir()?;
        let cluster = TestCluster::start(kind, dir.path(), agents).await?;
        Ok(Env { dir, cluster })
    }

    /// The scheduler's state directory.
    pub fn state_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("state")
    }

    /// The cluster's state.
    pub async fn state(&self) -> State {
        cluster_state(&self.cluster).await
    }

    /// Starts a scheduler of `spec` in this process against the cluster's master.
    pub async fn start(&self, spec: ServiceSpec) -> Result<ServiceHandle> {
        self.start_with(spec, |_| {}).await
    }

    /// Starts a scheduler of `spec`, its options tuned by `tune` (e.g. another master
    /// URL, or uninstall).
    pub async fn start_with(
        &self,
        spec: ServiceSpec,
        tune: impl FnOnce(&mut Options),
    ) -> Result<ServiceHandle> {
        let mut options = test_options(&self.cluster.master_url());
        tune(&mut options);
        DefaultService::with_options(0, options)
            .state_dir(self.state_dir())
            .start_spec(spec)
            .await
            .context("starting the scheduler")
    }

    /// Stops the cluster.
    pub async fn finish(self) -> Result<()> {
        self.cluster.shutdown().await
    }
}
