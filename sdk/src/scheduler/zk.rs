//! The scheduler's state in ZooKeeper (`--zk`): connecting, the one-scheduler-per-service
//! lock (wait for it or exit), and the session gate that pauses the scheduler while its
//! ZooKeeper session is away.
//!
//! While the session is disconnected the scheduler acts on nothing (no ACCEPT, KILL or
//! ACKNOWLEDGE; its subscription is dropped and resumed with a reconciliation once the
//! session is back). When the session has expired the lock is gone and another scheduler
//! may already run: the scheduler exits with an error for its supervisor to restart it.

use std::sync::Arc;
use std::time::Duration;

use stead_state::{Persister, SessionState, StateError, ZkLock, ZkPersister};
use tokio::sync::watch;
use tokio::time::Instant;

use super::options::{Options, StateLocation};
use crate::{Error, Result};

/// How often a scheduler waiting for the lock or the session says so.
const LOG_EVERY: Duration = Duration::from_secs(5);
/// How often a waiting scheduler asks for the lock again.
const LOCK_POLL: Duration = Duration::from_secs(1);

/// Runs a blocking state call (the ZooKeeper persister waits for the server's answer)
/// off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> stead_state::Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::TaskFailed(format!("a ZooKeeper call: {e}")))?
        .map_err(Error::from)
}

/// Opens the state in ZooKeeper when `opts.zk` names it (`None` otherwise), holding the
/// service's lock (see [`open`]).
pub(super) async fn open_for(
    opts: &Options,
    service: &str,
) -> Result<Option<(Arc<dyn Persister>, SessionGate)>> {
    let Some(url) = &opts.zk else {
        return Ok(None);
    };
    if matches!(opts.state, Some(StateLocation::Persister(_))) {
        return Err(Error::Config(
            "--zk and an explicit persister both name the state: choose one".into(),
        ));
    }
    let (zk, gate) = open(url, service, opts.zk_lock_wait).await?;
    Ok(Some((Arc::new(zk), gate)))
}

/// Connects to the state at `url` for `service` and takes the service's lock: waiting
/// for it (logging who holds it every few seconds) when `wait`, else failing at once
/// naming the holder. Returns the persister and the gate that holds the lock.
pub(super) async fn open(
    url: &str,
    service: &str,
    wait: bool,
) -> Result<(ZkPersister, SessionGate)> {
    let (url_owned, service_owned) = (url.to_owned(), service.to_owned());
    let zk = blocking(move || ZkPersister::connect(&url_owned, &service_owned)).await?;
    let location = zk.location();
    tracing::info!(state = %location, "state in ZooKeeper; taking the service lock");
    let lock = acquire(&zk, wait).await?;
    tracing::info!(state = %location, lock = %lock.node(), "holding the service lock");
    let gate = SessionGate {
        state: zk.session_state(),
        location,
        _lock: lock,
    };
    Ok((zk, gate))
}

/// Takes the lock, polling while another scheduler holds it.
async fn acquire(zk: &ZkPersister, wait: bool) -> Result<ZkLock> {
    let mut session = zk.session_state();
    let mut last_log: Option<(Instant, Option<String>)> = None;
    loop {
        let attempt = zk.clone();
        match blocking(move || attempt.lock(false)).await {
            Ok(lock) => return Ok(lock),
            Err(Error::State(StateError::InUse { location, owner })) => {
                if !wait {
                    return Err(Error::State(StateError::InUse { location, owner }));
                }
                let due = last_log
                    .as_ref()
                    .is_none_or(|(at, who)| at.elapsed() >= LOG_EVERY || *who != owner);
                if due {
                    let holder = owner.as_deref().unwrap_or("another scheduler");
                    tracing::warn!(state = %location, "waiting for the lock held by {holder}");
                    last_log = Some((Instant::now(), owner));
                }
                tokio::time::sleep(LOCK_POLL).await;
            }
            Err(e) if is_disconnection(&e) => {
                let current = *session.borrow_and_update();
                if current.is_terminal() {
                    return Err(ended(&zk.location(), current));
                }
                tracing::warn!(error = %e, "waiting for ZooKeeper to take the service lock");
                let _ = tokio::time::timeout(LOG_EVERY, session.changed()).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// True when `e` says the state backend was unreachable (nothing was read or written).
pub(super) fn is_disconnection(e: &Error) -> bool {
    matches!(e, Error::State(StateError::NotConnected { .. }))
}

/// The error a scheduler exits with once its session has ended for good.
fn ended(location: &str, state: SessionState) -> Error {
    let why = match state {
        SessionState::AuthFailed => "the ZooKeeper credentials were refused",
        SessionState::Expired => {
            "the ZooKeeper session expired, so the service lock is lost and another scheduler \
             may have taken over"
        }
        _ => "the ZooKeeper session was closed, so the service lock is lost",
    };
    Error::State(StateError::NotConnected {
        location: location.to_owned(),
        reason: format!("{why}; exiting for a supervisor to restart the scheduler"),
    })
}

/// Holds the service lock and reports the session's health to the event loop.
#[derive(Debug)]
pub(super) struct SessionGate {
    state: watch::Receiver<SessionState>,
    location: String,
    /// Released when the scheduler stops (or by ZooKeeper when the session ends).
    _lock: ZkLock,
}

impl SessionGate {
    /// The session's state now, marking it as seen.
    fn current(&mut self) -> SessionState {
        *self.state.borrow_and_update()
    }

    /// Waits for the next change; a closed channel means the session has ended.
    async fn next(&mut self) -> SessionState {
        match self.state.changed().await {
            Ok(()) => self.current(),
            Err(_) => match self.current() {
                s if s.is_terminal() => s,
                _ => SessionState::Closed,
            },
        }
    }

    /// True when the session is, or within `grace` becomes, anything but connected.
    async fn disconnects_within(&mut self, grace: Duration) -> bool {
        let gone = async {
            let mut state = self.current();
            while state == SessionState::Connected {
                state = self.next().await;
            }
        };
        tokio::time::timeout(grace, gone).await.is_ok()
    }

    /// Waits until the session is connected (logging every few seconds); fails once the
    /// session has ended for good.
    pub(super) async fn ready(&mut self) -> Result<()> {
        let mut state = self.current();
        let mut waited = false;
        loop {
            match state {
                SessionState::Connected => {
                    if waited {
                        tracing::info!(state = %self.location, "ZooKeeper session is back: resuming");
                    }
                    return Ok(());
                }
                s if s.is_terminal() => return Err(ended(&self.location, s)),
                _ => {}
            }
            waited = true;
            tokio::select! {
                s = self.next() => state = s,
                _ = tokio::time::sleep(LOG_EVERY) => {
                    tracing::warn!(state = %self.location, "paused: waiting for the ZooKeeper session to come back");
                    state = self.current();
                }
            }
        }
    }

    /// Resolves when the session stops being connected: `Ok` for a disconnection (pause
    /// until [`SessionGate::ready`]), an error when it has ended for good.
    pub(super) async fn lost(&mut self) -> Result<()> {
        let mut state = self.current();
        loop {
            match state {
                SessionState::Connected => state = self.next().await,
                s if s.is_terminal() => return Err(ended(&self.location, s)),
                _ => {
                    tracing::warn!(
                        state = %self.location,
                        "ZooKeeper session lost: pausing (no offer accepted, no task killed) until it is back"
                    );
                    return Ok(());
                }
            }
        }
    }
}

/// [`SessionGate::ready`] of an optional gate; at once without one.
pub(super) async fn ready(gate: &mut Option<SessionGate>) -> Result<()> {
    match gate {
        Some(g) => g.ready().await,
        None => Ok(()),
    }
}

/// [`SessionGate::lost`] of an optional gate; never resolves without one.
pub(super) async fn lost(gate: &mut Option<SessionGate>) -> Result<()> {
    match gate {
        Some(g) => g.lost().await,
        None => std::future::pending().await,
    }
}

/// How long a failed state call may wait for the session to report the connection loss
/// that caused it (a request cut off by a broken connection can fail before the session's
/// state changes).
const LOSS_GRACE: Duration = Duration::from_secs(2);

/// Decides what a failed step of the event loop means: `Ok(false)` to go on, `Ok(true)`
/// to pause (the state backend became unreachable under a gate), or the error to exit with.
/// A write cut off mid-way may or may not have been stored; nothing was acted on, and on
/// resuming the master resends what was not acknowledged.
pub(super) async fn pause_on(gate: &mut Option<SessionGate>, result: Result<()>) -> Result<bool> {
    let Err(e) = result else {
        return Ok(false);
    };
    let Some(g) = gate else {
        return Err(e);
    };
    if is_disconnection(&e) || g.disconnects_within(LOSS_GRACE).await {
        tracing::warn!(error = %e, "state call failed: pausing until ZooKeeper is back");
        Ok(true)
    } else {
        Err(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stead_state::Persister;
    use stead_state::testing::{ZkLink, expire_session, shared_zk_server};

    fn unique(tag: &str) -> String {
        format!("zk-gate-{tag}-{}", uuid::Uuid::new_v4().simple())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_lock_holds_off_a_second_scheduler_until_the_first_is_gone() {
        let Some(server) = shared_zk_server("scheduler zk lock") else {
            return;
        };
        let service = unique("lock");
        let url = server.url("");
        let (first, mut gate) = open(&url, &service, true).await.expect("first scheduler");
        first.set("Properties/x", b"1").unwrap();
        assert!(gate.ready().await.is_ok());

        // A second scheduler asked not to wait is refused, naming the holder.
        let text = open(&url, &service, false).await.unwrap_err().to_string();
        assert!(
            text.contains("in use by another scheduler")
                && text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        // One that waits gets the lock once the first is gone, and sees its state.
        let waiter = tokio::spawn({
            let (url, service) = (url.clone(), service.clone());
            async move { open(&url, &service, true).await }
        });
        let held_off = tokio::time::timeout(Duration::from_secs(3), async {
            while !waiter.is_finished() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        assert!(held_off.is_err(), "the waiter must not get the held lock");
        drop(gate);
        drop(first);
        let (second, _gate) = tokio::time::timeout(Duration::from_secs(60), waiter)
            .await
            .expect("the waiter takes over")
            .unwrap()
            .expect("lock acquired");
        assert_eq!(
            second.get("Properties/x").unwrap().as_deref(),
            Some(&b"1"[..])
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_expired_session_ends_the_scheduler_with_a_clear_error() {
        let Some(server) = shared_zk_server("scheduler zk expiry") else {
            return;
        };
        let link = ZkLink::open(&server).expect("link");
        let (zk, mut gate) = open(&link.url(""), &unique("expiry"), true)
            .await
            .expect("scheduler");
        let victim = zk.clone();
        tokio::task::spawn_blocking(move || expire_session(&victim, &link))
            .await
            .unwrap()
            .expect("session expired");
        // Disconnections may come first (pause, resume), as in the event loop; the expiry
        // then ends it.
        let outcome = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                if let Err(e) = gate.lost().await {
                    return e;
                }
                if let Err(e) = gate.ready().await {
                    return e;
                }
            }
        });
        let err = outcome.await.expect("the gate notices");
        assert!(is_disconnection(&err));
        assert!(err.to_string().contains("session expired"), "{err}");
        assert!(
            gate.ready().await.is_err(),
            "an expired session never comes back"
        );
        let failed_write: Result<()> = zk.set("Properties/y", b"2").map_err(Error::from);
        let mut gate = Some(gate);
        assert!(
            pause_on(&mut gate, failed_write).await.unwrap(),
            "a write under a gate pauses"
        );
        // Any failure while the session is away pauses; without a gate it is fatal.
        let other = Err(Error::TaskFailed("cut off".into()));
        assert!(pause_on(&mut gate, other).await.unwrap());
        let other = Err(Error::TaskFailed("boom".into()));
        assert!(pause_on(&mut None, other).await.is_err());
    }
}
