//! [`LocalCluster`]: starting, driving and stopping the embedded cluster.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use stead_proto::server::ServerTls;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::config::LocalClusterConfig;
use crate::master::{AgentAction, Master, Msg};
use crate::state::State;
use crate::{Error, fetcher};

/// A running embedded Mesos-compatible cluster: a v1 master on a loopback port and its agents.
///
/// Dropping it without [`shutdown`](Self::shutdown) still kills every task process, but only
/// `shutdown` waits until they are all reaped.
#[derive(Debug)]
pub struct LocalCluster {
    addr: SocketAddr,
    url: String,
    work_dir: PathBuf,
    master: mpsc::UnboundedSender<Msg>,
    actor: Option<JoinHandle<()>>,
    server: Option<JoinHandle<()>>,
    stop_server: Option<oneshot::Sender<()>>,
}

impl LocalCluster {
    /// Starts the cluster: recovers the work directory's checkpoints, binds the master's
    /// listener and starts the agents.
    pub async fn start(config: LocalClusterConfig) -> Result<Self, Error> {
        config.validate()?;
        let guard = crate::http::Guard {
            credentials: config.credentials.clone().map(Arc::new),
            tls: match &config.tls {
                Some(files) => Some(
                    ServerTls::from_pem_files(&files.cert, &files.key)
                        .map_err(|e| Error::Config(format!("the master's TLS: {e}")))?,
                ),
                None => None,
            },
        };
        std::fs::create_dir_all(&config.work_dir).map_err(|e| Error::io(&config.work_dir, e))?;
        let work_dir = config.work_dir.clone();
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .map_err(|source| Error::Bind {
                addr: config.bind,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: config.bind,
            source,
        })?;
        let http = fetcher::http_client();
        let (exec_tx, exec_rx) = mpsc::unbounded_channel();
        let master = Master::new(config, addr, http, exec_tx)?;
        // Started means checkpointed: each agent's checkpoint is on disk before the first
        // framework can subscribe (a thousand new agents take a while to write).
        master.settle().await;
        let (tx, rx) = mpsc::unbounded_channel();
        let actor = tokio::spawn(master.run(rx, exec_rx));
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let scheme = if guard.tls.is_some() { "https" } else { "http" };
        let server = tokio::spawn(crate::http::serve(
            listener,
            tx.clone(),
            work_dir.clone(),
            crate::http::LIMITS,
            guard,
            async move {
                let _ = stop_rx.await;
            },
        ));
        let url = format!("{scheme}://{addr}");
        tracing::info!(master = %url, work_dir = %work_dir.display(), "local cluster started");
        Ok(Self {
            addr,
            url,
            work_dir,
            master: tx,
            actor: Some(actor),
            server: Some(server),
            stop_server: Some(stop_tx),
        })
    }

    /// The master's URL, e.g. `http://127.0.0.1:40123` (`https://` when it serves TLS).
    pub fn master_url(&self) -> &str {
        &self.url
    }

    /// The master's socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The work directory (checkpoints, sandboxes, volumes).
    pub fn work_dir(&self) -> &Path {
        &self.work_dir
    }

    async fn agent(&self, agent: &str, action: AgentAction) -> Result<(), Error> {
        let (reply, rx) = oneshot::channel();
        self.master
            .send(Msg::Agent {
                agent: agent.to_string(),
                action,
                reply,
            })
            .map_err(|_| Error::ShutDown)?;
        rx.await.map_err(|_| Error::ShutDown)?
    }

    /// Stops an agent (by name, e.g. `agent-0`, or agent id): its tasks die and are reported
    /// TASK_LOST (TASK_UNREACHABLE to partition-aware frameworks); its offers are rescinded.
    pub async fn stop_agent(&self, agent: &str) -> Result<(), Error> {
        self.agent(agent, AgentAction::Stop).await
    }

    /// Cuts an agent off from the master, as a network partition does: its offers are
    /// rescinded and its tasks reported TASK_UNREACHABLE (TASK_LOST to frameworks that are
    /// not partition-aware), while their processes keep running.
    pub async fn disconnect_agent(&self, agent: &str) -> Result<(), Error> {
        self.agent(agent, AgentAction::Disconnect).await
    }

    /// Starts a stopped agent again, with its reservations and volumes (its tasks are
    /// reported TASK_GONE to partition-aware frameworks), or reconnects a disconnected one
    /// (its tasks still running are TASK_RUNNING again; those of frameworks that are not
    /// partition-aware are killed).
    pub async fn start_agent(&self, agent: &str) -> Result<(), Error> {
        self.agent(agent, AgentAction::Start).await
    }

    /// Removes an agent for good (also across restarts of the cluster), as an operator
    /// marking it gone: its tasks are reported TASK_GONE_BY_OPERATOR (TASK_LOST to
    /// frameworks that are not partition-aware).
    pub async fn remove_agent(&self, agent: &str) -> Result<(), Error> {
        self.agent(agent, AgentAction::Remove).await
    }

    /// The cluster's state (the data of `GET /state`).
    pub async fn state(&self) -> Result<State, Error> {
        let (reply, rx) = oneshot::channel();
        self.master
            .send(Msg::State { reply })
            .map_err(|_| Error::ShutDown)?;
        rx.await.map_err(|_| Error::ShutDown)
    }

    /// Stops the cluster: every task process is killed and reaped, subscribers' streams end,
    /// the listener closes. Checkpoints stay, so a cluster started again on the same work
    /// directory has the same agents, reservations and volumes.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        let (reply, rx) = oneshot::channel();
        if self.master.send(Msg::Shutdown { reply }).is_ok() {
            let _ = rx.await;
        }
        if let Some(actor) = self.actor.take() {
            let _ = actor.await;
        }
        if let Some(stop) = self.stop_server.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            // Idle keep-alive connections of clients may hold graceful shutdown up: bound it.
            let abort = server.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), server)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        tracing::info!(work_dir = %self.work_dir.display(), "local cluster stopped");
        Ok(())
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        if self.actor.is_some() {
            let (reply, _rx) = oneshot::channel();
            let _ = self.master.send(Msg::Shutdown { reply });
        }
        if let Some(stop) = self.stop_server.take() {
            let _ = stop.send(());
        }
    }
}
