//! Batched event handling: every event already received is handled as one batch, the
//! status updates of a batch are committed together (group commit), and only then are
//! they acknowledged, with the acknowledgements (and ACCEPTs) sent concurrently.
//!
//! Persist before acting still holds: nothing is acknowledged before its status is
//! durable, and pending writes are committed before any offer is acted on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use stead_proto::scheduler::{Call, Event};
use stead_proto::v1::TaskStatus;
use stead_state::TaskMeta;
use tokio::sync::{OwnedSemaphorePermit, mpsc};

use super::Core;
use crate::Result;
use crate::mesos::{EventStream, MesosError, MesosResult};
use crate::plan::Status;

/// A snapshot is published at most once per this many times its own cost, unless the
/// plans' statuses or the subscription changed (those are published at once).
const PUBLISH_COST_FACTOR: u32 = 20;

/// The most events handled as one batch.
pub const MAX_BATCH: usize = 4096;
/// Calls to the master in flight at once.
pub(super) const CONCURRENT_CALLS: usize = 32;

/// Status writes and acknowledgements waiting for the batch's commit.
#[derive(Debug, Default)]
pub(super) struct Pending {
    /// (instance, status, meta when it changed).
    writes: Vec<(String, TaskStatus, Option<TaskMeta>)>,
    acks: Vec<Call>,
}

impl Pending {
    /// Queues the status of `instance` (and its changed meta) and the acknowledgement that
    /// may only go out once they are durable.
    pub(super) fn update(
        &mut self,
        instance: &str,
        status: &TaskStatus,
        meta: Option<&TaskMeta>,
        ack: Option<Call>,
    ) {
        self.writes
            .push((instance.to_string(), status.clone(), meta.cloned()));
        self.acks.extend(ack);
    }
}

/// What must be published at once when it changes.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PublishKey {
    plans: [Option<Status>; 3],
    reconciled: bool,
    framework_id: Option<String>,
}

impl PublishKey {
    /// The statuses of the deploy, recovery and decommission or uninstall plans (when
    /// shown), the reconciliation and the framework id.
    pub(super) fn new(
        plans: [Option<Status>; 3],
        reconciled: bool,
        framework_id: Option<&str>,
    ) -> PublishKey {
        PublishKey {
            plans,
            reconciled,
            framework_id: framework_id.map(String::from),
        }
    }
}

/// Rate limit of snapshot publication: building a snapshot costs time linear in the
/// instances, so with many instances the snapshot follows the state within a bounded
/// share of the event loop's time (and at the latest at the next tick), while a change of a
/// plan's status or of the subscription is always published at once.
#[derive(Debug, Default)]
pub(super) struct PublishGate {
    last: Option<(PublishKey, Instant, Duration)>,
}

impl PublishGate {
    /// Whether a snapshot with `key` should be published at `now`.
    pub(super) fn due(&self, key: &PublishKey, now: Instant) -> bool {
        match &self.last {
            None => true,
            Some((last, at, cost)) => {
                last != key || now.duration_since(*at) >= *cost * PUBLISH_COST_FACTOR
            }
        }
    }

    /// Records a publication that started at `started` (its cost is measured from there).
    pub(super) fn published(&mut self, key: PublishKey, started: Instant) {
        self.last = Some((key, started, started.elapsed()));
    }
}

/// `first` and every further event the stream already holds (at most [`MAX_BATCH`]),
/// without waiting; an error ends the batch and is returned after the events before it.
pub fn drain(
    first: MesosResult<Event>,
    events: &mut EventStream,
) -> (Vec<Event>, Option<MesosError>) {
    let mut batch = Vec::new();
    match first {
        Ok(ev) => batch.push(ev),
        Err(e) => return (batch, Some(e)),
    }
    while batch.len() < MAX_BATCH {
        match events.try_next() {
            Some(Ok(ev)) => batch.push(ev),
            Some(Err(e)) => return (batch, Some(e)),
            None => break,
        }
    }
    (batch, None)
}

impl Core {
    /// Handles events received together: each is applied in order, the batch's status
    /// updates are committed at once and acknowledged, then offers are suppressed or
    /// revived and the snapshot is published once.
    pub async fn handle_batch(&mut self, events: Vec<Event>) -> Result<()> {
        self.reconcile_unsent();
        for event in events {
            if let Err(e) = self.dispatch(event).await {
                // Unacknowledged updates are resent by the master; nothing is lost.
                self.pending.acks.clear();
                return Err(e);
            }
        }
        self.flush_updates().await?;
        self.after_event().await;
        Ok(())
    }

    /// Commits the queued statuses in one transaction, then sends their acknowledgements.
    pub(super) async fn flush_updates(&mut self) -> Result<()> {
        if !self.pending.writes.is_empty() {
            let mut batch = self.store.batch();
            for (name, status, meta) in &self.pending.writes {
                batch.status(name, status)?;
                if let Some(meta) = meta {
                    batch.meta(name, meta)?;
                }
            }
            if let Err(e) = batch.commit() {
                self.pending.acks.clear();
                return Err(e.into());
            }
            self.pending.writes.clear();
        }
        let acks = std::mem::take(&mut self.pending.acks);
        self.acknowledge(acks);
        Ok(())
    }

    /// Sends acknowledgements of durable statuses in the background, so that the event loop
    /// goes on with the next batch meanwhile. One that fails is harmless: the master resends
    /// the update, and it is acknowledged again.
    fn acknowledge(&self, acks: Vec<Call>) {
        self.send_in_background(acks.into_iter().map(|c| (c, ())).collect(), None, None);
    }

    /// Sends `calls` in the background while the event loop goes on, with a bounded number
    /// in flight across every background send; the tag of each call that may not have
    /// reached the master goes to `failed`; `hold` is released once all are answered.
    pub(super) fn send_in_background<T: Send + 'static>(
        &self,
        calls: Vec<(Call, T)>,
        failed: Option<mpsc::UnboundedSender<T>>,
        hold: Option<OwnedSemaphorePermit>,
    ) {
        if calls.is_empty() {
            return;
        }
        let client = self.client.clone();
        // Weak: a stopped scheduler's state must be free for the next one at once, even
        // while calls are still in flight (those are then dropped).
        let persister = Arc::downgrade(self.store.persister());
        let in_flight = self.calls_in_flight.clone();
        tokio::spawn(async move {
            futures::stream::iter(calls)
                .for_each_concurrent(CONCURRENT_CALLS, |(call, tag)| {
                    let (client, persister, in_flight) = (&client, &persister, &in_flight);
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
                            client.call(&call).await.map_err(|e| e.to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_of_any_shown_plan_is_published_at_once_the_rest_rate_limited() {
        let key = |retire| {
            PublishKey::new(
                [Some(Status::Complete), Some(Status::Complete), retire],
                true,
                Some("fw"),
            )
        };
        let mut gate = PublishGate::default();
        let started = Instant::now();
        assert!(gate.due(&key(None), started));
        gate.published(key(None), started - Duration::from_secs(1));
        let now = Instant::now();
        // The last publication cost a second: the same key waits PUBLISH_COST_FACTOR of them.
        assert!(!gate.due(&key(None), now));
        assert!(gate.due(&key(Some(Status::InProgress)), now));
        assert!(gate.due(
            &key(None),
            now + Duration::from_secs(u64::from(PUBLISH_COST_FACTOR) + 1)
        ));
    }
}
