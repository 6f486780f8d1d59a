//! The outbox: every call the scheduler sends to the master goes through it, waited for
//! ([`Outbox::send`]) or in the background ([`Outbox::send_in_background`]) with a
//! bounded number in flight. Nothing is sent while the state backend is away (another
//! scheduler may hold the state), and nothing after the framework was torn down.

use std::sync::Arc;

use futures::StreamExt;
use stead_proto::scheduler::{Call, call};
use stead_state::Persister;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::master::MasterCalls;

/// A task id and, when known, its agent id (what reconciliation asks about).
pub type TaskRef = (String, Option<String>);

/// Calls to the master in flight at once.
pub const CONCURRENT_CALLS: usize = 32;
/// Launch chunks whose ACCEPTs may be waiting for the master at once.
pub const ACCEPT_CHUNKS_IN_FLIGHT: usize = 2;

/// Sends the scheduler's calls.
pub struct Outbox {
    master: Arc<dyn MasterCalls>,
    persister: Arc<dyn Persister>,
    /// Bounds the calls sent in the background (acknowledgements and ACCEPTs) in flight.
    calls_in_flight: Arc<Semaphore>,
    /// Bounds the launch chunks whose ACCEPTs are in flight.
    accepts_in_flight: Arc<Semaphore>,
    /// Launches whose ACCEPT, sent in the background, may not have reached the master.
    unsent: (
        mpsc::UnboundedSender<Vec<TaskRef>>,
        mpsc::UnboundedReceiver<Vec<TaskRef>>,
    ),
    /// Set once TEARDOWN was accepted: the framework is gone, nothing more is sent.
    torn_down: bool,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("torn_down", &self.torn_down)
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// An outbox to `master`, holding calls back while `persister` is not ready.
    pub fn new(master: Arc<dyn MasterCalls>, persister: Arc<dyn Persister>) -> Outbox {
        Outbox {
            master,
            persister,
            calls_in_flight: Arc::new(Semaphore::new(CONCURRENT_CALLS)),
            accepts_in_flight: Arc::new(Semaphore::new(ACCEPT_CHUNKS_IN_FLIGHT)),
            unsent: mpsc::unbounded_channel(),
            torn_down: false,
        }
    }

    /// Talks to another master from now on (the detected leader changed).
    pub fn set_master(&mut self, master: Arc<dyn MasterCalls>) {
        self.master = master;
    }

    /// Sends `call` and waits for the answer; false when it failed or was held back.
    pub async fn send(&mut self, call: &Call) -> bool {
        if self.torn_down {
            tracing::debug!(call = ?call.r#type, "the framework is torn down: call dropped");
            return false;
        }
        // Never act on state that may be stale: with ZooKeeper's session away another
        // scheduler may hold the lock. The event loop pauses until it is back.
        if !self.persister.is_ready() {
            tracing::warn!(call = ?call.r#type, "state backend not ready: call held back");
            return false;
        }
        match self.master.call(call).await {
            Ok(()) => {
                if call.r#type == Some(call::Type::Teardown as i32) {
                    self.torn_down = true;
                }
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, call = ?call.r#type, "call to the master failed");
                false
            }
        }
    }

    /// Sends acknowledgements of durable statuses in the background, so that the event
    /// loop goes on with the next batch meanwhile. One that fails is harmless: the master
    /// resends the update, and it is acknowledged again.
    pub fn acknowledge(&self, acks: Vec<Call>) {
        self.send_in_background(acks.into_iter().map(|c| (c, ())).collect(), None, None);
    }

    /// Sends ACCEPTs in the background, each tagged with its launches: those of an ACCEPT
    /// that may not have reached the master come back from [`Outbox::unsent`]. Waits while
    /// [`ACCEPT_CHUNKS_IN_FLIGHT`] chunks are still in flight.
    pub async fn accept(&self, calls: Vec<(Call, Vec<TaskRef>)>) {
        // The semaphore is never closed, so a permit always comes.
        let Ok(hold) = self.accepts_in_flight.clone().acquire_owned().await else {
            return;
        };
        self.send_in_background(calls, Some(self.unsent.0.clone()), Some(hold));
    }

    /// Waits until no ACCEPT is in flight (each must reach the master before TEARDOWN,
    /// which makes it refuse them).
    pub async fn drain_accepts(&self) {
        // The semaphore is never closed, so the permits always come.
        let _all = self
            .accepts_in_flight
            .acquire_many(ACCEPT_CHUNKS_IN_FLIGHT as u32)
            .await;
    }

    /// The launches whose ACCEPT may not have reached the master since the last call.
    pub fn unsent(&mut self) -> Vec<TaskRef> {
        let mut out = Vec::new();
        while let Ok(launches) = self.unsent.1.try_recv() {
            out.extend(launches);
        }
        out
    }

    /// Sends `calls` in the background while the event loop goes on, with a bounded
    /// number in flight across every background send; the tag of each call that may not
    /// have reached the master goes to `failed`; `hold` is released once all are answered.
    fn send_in_background<T: Send + 'static>(
        &self,
        calls: Vec<(Call, T)>,
        failed: Option<mpsc::UnboundedSender<T>>,
        hold: Option<OwnedSemaphorePermit>,
    ) {
        if calls.is_empty() || self.torn_down {
            return;
        }
        let master = self.master.clone();
        // Weak: a stopped scheduler's state must be free for the next one at once, even
        // while calls are still in flight (those are then dropped).
        let persister = Arc::downgrade(&self.persister);
        let in_flight = self.calls_in_flight.clone();
        tokio::spawn(async move {
            futures::stream::iter(calls)
                .for_each_concurrent(CONCURRENT_CALLS, |(call, tag)| {
                    let (master, persister, in_flight) = (&master, &persister, &in_flight);
                    let failed = failed.clone();
                    async move {
                        // The semaphore is never closed, so a permit always comes.
                        let Ok(_permit) = in_flight.acquire().await else {
                            return;
                        };
                        // The scheduler stopped: the next one reconciles.
                        let Some(ready) = persister.upgrade().map(|p| p.is_ready()) else {
                            return;
                        };
                        // As in `send`: nothing is sent while the state backend is away.
                        let sent = if ready {
                            master.call(&call).await.map_err(|e| e.to_string())
                        } else {
                            Err("state backend not ready".into())
                        };
                        if let Err(e) = sent {
                            tracing::warn!(error = %e, call = ?call.r#type, "call to the master failed");
                            if let Some(failed) = failed {
                                // The scheduler may be gone already: nothing is left to do.
                                let _ = failed.send(tag);
                            }
                        }
                    }
                })
                .await;
            drop(hold);
        });
    }
}
