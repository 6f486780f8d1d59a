//! Batched event handling: every event already received is handled as one batch, the
//! status updates of a batch are committed together (group commit), and only then are
//! they acknowledged, with the acknowledgements (and ACCEPTs) sent concurrently.
//!
//! Persist before acting still holds: nothing is acknowledged before its status is
//! durable, and pending writes are committed before any offer is acted on.

use stead_proto::scheduler::{Call, Event};
use stead_proto::v1::TaskStatus;
use stead_state::TaskMeta;

use super::Core;
use crate::Result;
use crate::mesos::{EventStream, MesosError, MesosResult};

/// The most events handled as one batch.
pub const MAX_BATCH: usize = 4096;

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

    /// Queues an acknowledgement that goes out with the batch's, after its commit.
    pub(super) fn ack(&mut self, ack: Option<Call>) {
        self.acks.extend(ack);
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
        self.show_refusals();
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
        self.outbox.acknowledge(acks);
        Ok(())
    }
}
