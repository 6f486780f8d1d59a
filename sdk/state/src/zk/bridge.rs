//! Runs the async ZooKeeper client on a private runtime for synchronous callers, and
//! publishes the session's state.

use std::sync::{OnceLock, mpsc};
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::sync::watch;
use zookeeper_client as zk;

/// The state of a ZooKeeper session, as a scheduler needs to see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// Connected: reads and writes are served.
    Connected,
    /// Temporarily disconnected; the session (and the lock) may still be alive. Do not act.
    Disconnected,
    /// The session expired: the lock is gone. Terminal; the scheduler needs a new session.
    Expired,
    /// The credentials were refused. Terminal.
    AuthFailed,
    /// The client was closed. Terminal.
    Closed,
}

impl SessionState {
    /// True for states the session never leaves.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            SessionState::Expired | SessionState::AuthFailed | SessionState::Closed
        )
    }
}

impl From<zk::SessionState> for SessionState {
    fn from(state: zk::SessionState) -> Self {
        match state {
            zk::SessionState::SyncConnected => SessionState::Connected,
            // Read-only servers cannot take the writes a scheduler must make before acting.
            zk::SessionState::Disconnected | zk::SessionState::ConnectedReadOnly => {
                SessionState::Disconnected
            }
            zk::SessionState::Expired => SessionState::Expired,
            zk::SessionState::AuthFailed => SessionState::AuthFailed,
            zk::SessionState::Closed => SessionState::Closed,
        }
    }
}

/// A private runtime. Dropping it lets running tasks (such as the session's close request)
/// finish in the background, so it can be dropped from any context, async included.
#[derive(Debug)]
pub(crate) struct Bridge {
    runtime: Option<Runtime>,
    /// The followed session state, watched on drop until the session has closed.
    state: OnceLock<watch::Receiver<SessionState>>,
}

impl Bridge {
    pub(crate) fn new() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("stead-zk")
            .enable_all()
            .build()?;
        Ok(Bridge {
            runtime: Some(runtime),
            state: OnceLock::new(),
        })
    }

    fn runtime(&self) -> &Runtime {
        // Invariant: `runtime` is only taken in `drop`.
        self.runtime.as_ref().expect("runtime present until drop")
    }

    /// Runs `f` on the runtime and blocks until it finishes or `timeout` passes (`None`).
    pub(crate) fn run<T, F>(&self, f: F, timeout: Option<Duration>) -> Option<T>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        self.runtime().spawn(async move {
            let _ = tx.send(f.await);
        });
        match timeout {
            Some(limit) => rx.recv_timeout(limit).ok(),
            None => rx.recv().ok(),
        }
    }

    /// Spawns a task on the runtime.
    pub(crate) fn spawn<F>(&self, f: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.runtime().spawn(f);
    }

    /// Publishes `client`'s session state on a watch channel until it is terminal.
    pub(crate) fn follow_state(
        &self,
        client: &zk::Client,
        initial: SessionState,
    ) -> watch::Receiver<SessionState> {
        let (tx, rx) = watch::channel(initial);
        let mut watcher = client.state_watcher();
        tx.send_replace(SessionState::from(client.state()));
        let _ = self.state.set(rx.clone());
        self.spawn(async move {
            loop {
                let state = SessionState::from(watcher.changed().await);
                tracing::info!(?state, "ZooKeeper session state changed");
                tx.send_replace(state);
                if state.is_terminal() {
                    break;
                }
            }
        });
        rx
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // The clients are gone, so the session is closing: let it finish (so that its
            // ephemeral nodes, such as the lock, go at once) on a thread of its own, since a
            // runtime cannot be blocked on inside another runtime.
            let state = self.state.take();
            let _ = std::thread::Builder::new()
                .name("stead-zk-shutdown".into())
                .spawn(move || {
                    if let Some(mut state) = state {
                        runtime.block_on(async {
                            let closed = state.wait_for(|s| s.is_terminal());
                            let _ = tokio::time::timeout(Duration::from_secs(3), closed).await;
                        });
                    }
                    runtime.shutdown_background();
                });
        }
    }
}
