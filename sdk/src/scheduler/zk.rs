//! The scheduler's state in ZooKeeper (`--zk`): connecting, the one-scheduler-per-service
//! lock (wait for it or exit), and the session gate that pauses the scheduler while its
//! ZooKeeper session is away.
//!
//! While the session is disconnected the scheduler acts on nothing (no ACCEPT, KILL or
//! ACKNOWLEDGE; its subscription is dropped and resumed with a reconciliation once the
//! session is back). A session the client gives up on (expired, also when no server was up
//! to expire it) loses the lock: the gate keeps reconnecting, takes the lock again with a
//! new session and resumes on it. It ends the scheduler only when another scheduler holds
//! the lock by then, or when ZooKeeper refuses the credentials.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use stead_state::zk::{ZkOptions, ZkUrl};
use stead_state::{Op, Persister, SessionState, StateError, ZkLock, ZkPersister};
use tokio::sync::watch;
use tokio::time::Instant;

use super::options::{Options, StateLocation};
use crate::{Error, Result};

/// How often a scheduler waiting for the lock or the session says so.
const LOG_EVERY: Duration = Duration::from_secs(5);
/// How often a waiting scheduler asks for the lock again.
const LOCK_POLL: Duration = Duration::from_secs(1);
/// ZooKeeper's smallest session timeout with its default `tickTime` (2 s): the server
/// raises shorter requests to it.
const SERVER_MIN_SESSION: Duration = Duration::from_secs(4);

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

/// Where a service's state lives in ZooKeeper and how to connect to it: everything needed
/// to open a new session after the last one was lost.
#[derive(Debug, Clone)]
struct Ensemble {
    url: ZkUrl,
    root: String,
    options: ZkOptions,
}

impl Ensemble {
    /// The state of `service` at `url` (root `/stead/<service>` when the URL has no path),
    /// with sessions of `session_timeout`.
    fn new(url: &str, service: &str, session_timeout: Duration) -> Result<Ensemble> {
        let url = ZkUrl::parse(url)?;
        stead_state::path::check_name(service)?;
        let root = url.path_or(&format!("/stead/{service}"));
        let options = ZkOptions {
            session_timeout,
            ..ZkOptions::default()
        };
        Ok(Ensemble { url, root, options })
    }

    /// Opens a new session (once).
    async fn connect(&self) -> Result<ZkPersister> {
        let ensemble = self.clone();
        blocking(move || ZkPersister::connect_with(&ensemble.url, &ensemble.root, ensemble.options))
            .await
    }

    /// Opens a new session, retrying while ZooKeeper cannot be reached.
    async fn reconnect(&self) -> Result<ZkPersister> {
        let mut last_log: Option<Instant> = None;
        loop {
            match self.connect().await {
                Err(e) if is_disconnection(&e) => {
                    if last_log.is_none_or(|at| at.elapsed() >= LOG_EVERY) {
                        tracing::warn!(error = %e, "paused: reconnecting to ZooKeeper");
                        last_log = Some(Instant::now());
                    }
                    tokio::time::sleep(LOCK_POLL).await;
                }
                other => return other,
            }
        }
    }

    /// How long, after a lost session, the lock may still be held by that session's own
    /// node: a server that was down restores the session and expires it one session
    /// timeout after it is back (a timeout it may have raised to its minimum).
    fn own_node_grace(&self) -> Duration {
        self.options.session_timeout.max(SERVER_MIN_SESSION) * 2 + LOCK_POLL
    }
}

/// The service's state in ZooKeeper across sessions: the current session's persister,
/// replaced by the gate when a lost session has been renewed.
#[derive(Debug)]
pub(super) struct SessionPersister {
    current: RwLock<ZkPersister>,
}

impl SessionPersister {
    fn new(zk: ZkPersister) -> SessionPersister {
        SessionPersister {
            current: RwLock::new(zk),
        }
    }

    /// The current session's persister (a cheap handle). A poisoned lock still holds a
    /// whole value: it is only ever replaced, never changed in place.
    fn current(&self) -> ZkPersister {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, zk: ZkPersister) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = zk;
    }
}

impl Persister for SessionPersister {
    fn get(&self, path: &str) -> stead_state::Result<Option<Vec<u8>>> {
        self.current().get(path)
    }

    fn get_many(&self, paths: &[String]) -> stead_state::Result<Vec<Option<Vec<u8>>>> {
        self.current().get_many(paths)
    }

    fn children(&self, path: &str) -> stead_state::Result<Vec<String>> {
        self.current().children(path)
    }

    fn multi(&self, ops: &[Op]) -> stead_state::Result<()> {
        self.current().multi(ops)
    }

    fn is_ready(&self) -> bool {
        self.current().is_ready()
    }

    fn close(&self) -> stead_state::Result<()> {
        self.current().close()
    }

    fn location(&self) -> String {
        self.current().location()
    }
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
    let (zk, gate) = open(url, service, opts.zk_lock_wait, opts.zk_session_timeout).await?;
    Ok(Some((zk, gate)))
}

/// Connects to the state at `url` for `service` with sessions of `session_timeout` and
/// takes the service's lock: waiting for it (logging who holds it every few seconds) when
/// `wait`, else failing at once naming the holder. Returns the persister and the gate that
/// holds the lock.
pub(super) async fn open(
    url: &str,
    service: &str,
    wait: bool,
    session_timeout: Duration,
) -> Result<(Arc<SessionPersister>, SessionGate)> {
    let ensemble = Ensemble::new(url, service, session_timeout)?;
    let zk = ensemble.connect().await?;
    let location = zk.location();
    tracing::info!(state = %location, "state in ZooKeeper; taking the service lock");
    let patience = if wait { None } else { Some(Duration::ZERO) };
    let (zk, lock) = acquire(&ensemble, zk, patience).await?;
    tracing::info!(state = %location, lock = %lock.node(), "holding the service lock");
    let gate = SessionGate {
        state: zk.session_state(),
        location,
        persister: Arc::new(SessionPersister::new(zk)),
        ensemble,
        lock,
    };
    Ok((gate.persister.clone(), gate))
}

/// Takes the lock with `zk`, polling while another scheduler holds it: for ever without
/// `patience`, else failing once it has been held that long. A session lost meanwhile is
/// replaced by a new one. Returns the session that holds the lock.
async fn acquire(
    ensemble: &Ensemble,
    mut zk: ZkPersister,
    patience: Option<Duration>,
) -> Result<(ZkPersister, ZkLock)> {
    let mut session = zk.session_state();
    let mut held_since: Option<Instant> = None;
    let mut last_log: Option<(Instant, Option<String>)> = None;
    loop {
        let attempt = zk.clone();
        match blocking(move || attempt.lock(false)).await {
            Ok(lock) => return Ok((zk, lock)),
            Err(Error::State(StateError::InUse { location, owner })) => {
                let since = *held_since.get_or_insert_with(Instant::now);
                if patience.is_some_and(|p| since.elapsed() >= p) {
                    return Err(Error::State(StateError::InUse { location, owner }));
                }
                let due = last_log
                    .as_ref()
                    .is_none_or(|(at, who)| at.elapsed() >= LOG_EVERY || *who != owner);
                if due {
                    let holder = owner.as_deref().unwrap_or("another scheduler");
                    tracing::info!(state = %location, "waiting for the lock held by {holder}");
                    last_log = Some((Instant::now(), owner));
                }
                tokio::time::sleep(LOCK_POLL).await;
            }
            Err(e) if is_disconnection(&e) => {
                let current = *session.borrow_and_update();
                if current == SessionState::AuthFailed {
                    return Err(ended(&zk.location(), current));
                }
                if current.is_terminal() {
                    tracing::warn!(state = %zk.location(), "ZooKeeper session lost: opening a new one");
                    zk = ensemble.reconnect().await?;
                    session = zk.session_state();
                } else {
                    tracing::warn!(error = %e, "waiting for ZooKeeper to take the service lock");
                    let _ = tokio::time::timeout(LOG_EVERY, session.changed()).await;
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// True when `e` says the state backend was unreachable (nothing was read or written).
pub(super) fn is_disconnection(e: &Error) -> bool {
    matches!(e, Error::State(StateError::NotConnected { .. }))
}

/// True for a session that ended for good but can be replaced by a new one (every end but
/// refused credentials).
fn renewable(state: SessionState) -> bool {
    state.is_terminal() && state != SessionState::AuthFailed
}

/// The error a scheduler exits with when ZooKeeper refuses its credentials.
fn ended(location: &str, state: SessionState) -> Error {
    Error::State(StateError::NotConnected {
        location: location.to_owned(),
        reason: format!("the ZooKeeper session ended ({state:?}): the credentials were refused"),
    })
}

/// Holds the service lock and reports the session's health to the event loop; renews a
/// lost session.
#[derive(Debug)]
pub(super) struct SessionGate {
    state: watch::Receiver<SessionState>,
    location: String,
    persister: Arc<SessionPersister>,
    ensemble: Ensemble,
    /// Released when the scheduler stops (or by ZooKeeper when the session ends).
    lock: ZkLock,
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

    /// Replaces a lost session: reconnects (for as long as ZooKeeper is away) and takes the
    /// lock again, waiting out the lost session's own lock node. Fails when another
    /// scheduler holds the lock.
    async fn renew(&mut self) -> Result<()> {
        tracing::warn!(
            state = %self.location,
            "ZooKeeper session lost for good: paused; reconnecting to take the service lock again"
        );
        let zk = self.ensemble.reconnect().await?;
        let grace = self.ensemble.own_node_grace();
        let (zk, lock) = match acquire(&self.ensemble, zk, Some(grace)).await {
            Ok(held) => held,
            Err(e @ Error::State(StateError::InUse { .. })) => {
                tracing::error!(error = %e, "another scheduler took the service lock while this one's session was lost: exiting");
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        tracing::info!(state = %self.location, lock = %lock.node(), "holding the service lock again with a new ZooKeeper session");
        self.state = zk.session_state();
        self.persister.replace(zk);
        self.lock = lock;
        Ok(())
    }

    /// Waits until the session is connected (logging every few seconds), renewing a lost
    /// one; fails when ZooKeeper refuses the credentials or another scheduler took the
    /// lock.
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
                s if renewable(s) => {
                    self.renew().await?;
                    waited = true;
                    state = self.current();
                    continue;
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

    /// Resolves when the session stops being connected: `Ok` to pause until
    /// [`SessionGate::ready`] (which renews a lost session), an error when ZooKeeper
    /// refused the credentials.
    pub(super) async fn lost(&mut self) -> Result<()> {
        let mut state = self.current();
        loop {
            match state {
                SessionState::Connected => state = self.next().await,
                SessionState::AuthFailed => return Err(ended(&self.location, state)),
                _ => {
                    tracing::warn!(
                        state = %self.location,
                        session = ?state,
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

    /// Sessions of the tests: short, so that expiries come quickly.
    const SESSION: Duration = Duration::from_secs(2);

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
        let (first, mut gate) = open(&url, &service, true, SESSION)
            .await
            .expect("first scheduler");
        first.set("Properties/x", b"1").unwrap();
        assert!(gate.ready().await.is_ok());

        // A second scheduler asked not to wait is refused, naming the holder.
        let text = open(&url, &service, false, SESSION)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("in use by another scheduler")
                && text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        // One that waits gets the lock once the first is gone, and sees its state.
        let waiter = tokio::spawn({
            let (url, service) = (url.clone(), service.clone());
            async move { open(&url, &service, true, SESSION).await }
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

    /// Opens a scheduler's state through `link` (which must outlive the gate: the gate
    /// reconnects through it) and expires its session; returns the persister and the gate,
    /// which has seen the loss.
    async fn expired(link: &Arc<ZkLink>, service: &str) -> (Arc<SessionPersister>, SessionGate) {
        let (zk, mut gate) = open(&link.url(""), service, true, SESSION)
            .await
            .expect("scheduler");
        zk.set("Properties/x", b"1").unwrap();
        let victim = zk.current();
        let link = link.clone();
        tokio::task::spawn_blocking(move || expire_session(&victim, &link))
            .await
            .unwrap()
            .expect("session expired");
        // Disconnections may come first; the expiry pauses like them.
        tokio::time::timeout(Duration::from_secs(60), async {
            while !renewable(gate.current()) {
                gate.lost().await.expect("a lost session pauses");
                let _ = tokio::time::timeout(LOCK_POLL, gate.next()).await;
            }
        })
        .await
        .expect("the gate sees the expiry");
        (zk, gate)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_expired_session_is_renewed_and_the_lock_taken_again() {
        let Some(server) = shared_zk_server("scheduler zk expiry") else {
            return;
        };
        let service = unique("renew");
        let link = Arc::new(ZkLink::open(&server).expect("link"));
        let (zk, mut gate) = expired(&link, &service).await;
        assert!(
            zk.set("Properties/y", b"2").is_err(),
            "the lost session writes nothing"
        );

        tokio::time::timeout(Duration::from_secs(60), gate.ready())
            .await
            .expect("renewed in time")
            .expect("a new session holds the lock");
        zk.set("Properties/y", b"2")
            .expect("writes go to the new session");
        assert_eq!(zk.get("Properties/x").unwrap().as_deref(), Some(&b"1"[..]));
        // The renewed gate holds the lock: a second scheduler is refused.
        let text = open(&server.url(""), &service, false, SESSION)
            .await
            .unwrap_err()
            .to_string();
        assert!(text.contains("in use by another scheduler"), "{text}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lock_taken_by_another_scheduler_meanwhile_ends_the_scheduler() {
        let Some(server) = shared_zk_server("scheduler zk expiry and takeover") else {
            return;
        };
        let service = unique("taken");
        let link = Arc::new(ZkLink::open(&server).expect("link"));
        let (zk, mut gate) = expired(&link, &service).await;
        // Another scheduler takes the free lock before this one is back.
        let (_other, _other_gate) = open(&server.url(""), &service, false, SESSION)
            .await
            .expect("the lock is free once the session expired");

        let err = tokio::time::timeout(Duration::from_secs(60), gate.ready())
            .await
            .expect("decided in time")
            .expect_err("the lock is another scheduler's");
        assert!(
            matches!(err, Error::State(StateError::InUse { .. })),
            "{err}"
        );
        assert!(
            err.to_string().contains("in use by another scheduler"),
            "{err}"
        );
        // Any failure while the session is away pauses; without a gate it is fatal.
        let failed_write: Result<()> = zk.set("Properties/y", b"2").map_err(Error::from);
        let mut gate = Some(gate);
        assert!(
            pause_on(&mut gate, failed_write).await.unwrap(),
            "a write under a gate pauses"
        );
        let other = Err(Error::TaskFailed("cut off".into()));
        assert!(pause_on(&mut gate, other).await.unwrap());
        let other = Err(Error::TaskFailed("boom".into()));
        assert!(pause_on(&mut None, other).await.is_err());
    }
}
