//! The scheduler's counters and offer diagnostics: recorded by the event loop, read by
//! the operator API.
//!
//! Recording is cheap: a few counter updates per offer cycle, and per-offer reasons for
//! at most [`MAX_DEBUG_STEPS`] steps x [`MAX_DEBUG_OFFERS`] offers per cycle.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use stead_proto::v1::Offer;
use stead_proto::v1::offer::{Operation, operation};
use stead_state::{Op, Persister};

use crate::api::{Histogram, MetricsSnapshot, OfferOutcome, OfferSummary, OffersDebug, StepOffers};
use crate::offer::{Evaluator, Requirement};
use crate::plan::Step;

/// Steps of one offer cycle whose per-offer outcomes are kept.
pub const MAX_DEBUG_STEPS: usize = 32;
/// Offers of one cycle that are listed and explained.
pub const MAX_DEBUG_OFFERS: usize = 100;

#[derive(Debug, Default)]
struct Counters {
    offers_received: u64,
    offers_declined: u64,
    offers_used: u64,
    operations: BTreeMap<String, u64>,
    writes: Histogram,
}

/// Counters and the latest offer diagnostics of one scheduler.
#[derive(Debug, Default)]
pub struct Telemetry {
    counters: Mutex<Counters>,
    offers: Mutex<OffersDebug>,
}

/// Locks `m`, recovering the data if a holder panicked (counters stay usable).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The Mesos name of an operation's type (e.g. `LAUNCH`).
fn operation_name(op: &Operation) -> String {
    op.r#type
        .and_then(|t| operation::Type::try_from(t).ok())
        .map_or("UNKNOWN", |t| t.as_str_name())
        .to_string()
}

impl Telemetry {
    /// Counts `n` offers received.
    pub fn offers_received(&self, n: usize) {
        lock(&self.counters).offers_received += n as u64;
    }

    /// Counts `n` offers declined.
    pub fn offers_declined(&self, n: usize) {
        lock(&self.counters).offers_declined += n as u64;
    }

    /// Counts one offer accepted with `ops`, and each operation by type.
    pub fn offer_used(&self, ops: &[Operation]) {
        let mut c = lock(&self.counters);
        c.offers_used += 1;
        for op in ops {
            *c.operations.entry(operation_name(op)).or_default() += 1;
        }
    }

    /// Records one state store write taking `took`.
    pub fn write_latency(&self, took: Duration) {
        lock(&self.counters).writes.observe(took);
    }

    /// The counters (task counts are left to the caller, which knows the instances).
    pub fn metrics(&self) -> MetricsSnapshot {
        let c = lock(&self.counters);
        MetricsSnapshot {
            offers_received: c.offers_received,
            offers_declined: c.offers_declined,
            offers_used: c.offers_used,
            operations: c.operations.clone(),
            tasks: BTreeMap::new(),
            state_store_write_seconds: c.writes.clone(),
        }
    }

    /// Replaces the offer diagnostics with those of the latest cycle.
    pub fn set_offers(&self, debug: OffersDebug) {
        *lock(&self.offers) = debug;
    }

    /// The offer diagnostics of the latest cycle.
    pub fn offers(&self) -> OffersDebug {
        lock(&self.offers).clone()
    }
}

/// Collects what one offer cycle did with each offer, for each pending step.
#[derive(Debug)]
pub struct OfferRecorder {
    ids: Vec<String>,
    debug: OffersDebug,
}

impl OfferRecorder {
    /// A recorder for a cycle over `offers` (the first [`MAX_DEBUG_OFFERS`] are listed).
    pub fn new(offers: &[Offer]) -> OfferRecorder {
        let listed = &offers[..offers.len().min(MAX_DEBUG_OFFERS)];
        OfferRecorder {
            ids: listed.iter().map(|o| o.id.value.clone()).collect(),
            debug: OffersDebug {
                offers: listed.iter().map(OfferSummary::of).collect(),
                steps: Vec::new(),
            },
        }
    }

    fn room(&self) -> bool {
        self.debug.steps.len() < MAX_DEBUG_STEPS
    }

    fn push(&mut self, plan: &str, step: &Step, outcomes: Vec<OfferOutcome>) {
        self.debug.steps.push(StepOffers {
            plan: plan.to_string(),
            step: step.name.clone(),
            instance: step.instance.clone(),
            outcomes,
        });
    }

    /// `step` took offer `chosen` (in place: its own reservations).
    pub fn placed(&mut self, plan: &str, step: &Step, chosen: usize, in_place: bool) {
        if !self.room() {
            return;
        }
        let chosen_id = self.ids.get(chosen).cloned().unwrap_or_default();
        let outcomes = self
            .ids
            .iter()
            .enumerate()
            .map(|(i, id)| OfferOutcome {
                offer_id: id.clone(),
                used: i == chosen,
                reason: if i != chosen {
                    format!("not needed: placed on offer {chosen_id}")
                } else if in_place {
                    "relaunched in place on its own reservations".into()
                } else {
                    "fits: reserved and launched here".into()
                },
            })
            .collect();
        self.push(plan, step, outcomes);
    }

    /// `step` found no offer: each offer is explained as it stood after earlier placements.
    pub fn unplaced(
        &mut self,
        plan: &str,
        step: &Step,
        evaluator: &mut Evaluator<'_>,
        req: &Requirement<'_>,
    ) {
        if !self.room() {
            return;
        }
        let outcomes = evaluator
            .explain(req, MAX_DEBUG_OFFERS)
            .into_iter()
            .zip(&self.ids)
            .map(|(why, id)| OfferOutcome {
                offer_id: id.clone(),
                used: false,
                reason: match why {
                    Ok(()) => "fits, but was not taken in this cycle".into(),
                    Err(reason) => reason.to_string(),
                },
            })
            .collect();
        self.push(plan, step, outcomes);
    }

    /// `step` could not use any offer for a reason that is not about the offers.
    pub fn waiting(&mut self, plan: &str, step: &Step, reason: &str) {
        if !self.room() {
            return;
        }
        let outcomes = self
            .ids
            .iter()
            .map(|id| OfferOutcome {
                offer_id: id.clone(),
                used: false,
                reason: reason.to_string(),
            })
            .collect();
        self.push(plan, step, outcomes);
    }

    /// The diagnostics of the cycle.
    pub fn finish(self) -> OffersDebug {
        self.debug
    }
}

/// A [`Persister`] that records the latency of every write in [`Telemetry`].
#[derive(Debug)]
pub struct TimedPersister {
    inner: Arc<dyn Persister>,
    telemetry: Arc<Telemetry>,
}

impl TimedPersister {
    /// Wraps `inner`, recording into `telemetry`.
    pub fn new(inner: Arc<dyn Persister>, telemetry: Arc<Telemetry>) -> TimedPersister {
        TimedPersister { inner, telemetry }
    }

    fn timed<T>(&self, write: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let r = write();
        self.telemetry.write_latency(start.elapsed());
        r
    }
}

impl Persister for TimedPersister {
    fn get(&self, path: &str) -> stead_state::Result<Option<Vec<u8>>> {
        self.inner.get(path)
    }

    fn get_many(&self, paths: &[String]) -> stead_state::Result<Vec<Option<Vec<u8>>>> {
        self.inner.get_many(paths)
    }

    fn children(&self, path: &str) -> stead_state::Result<Vec<String>> {
        self.inner.children(path)
    }

    fn multi(&self, ops: &[Op]) -> stead_state::Result<()> {
        self.timed(|| self.inner.multi(ops))
    }

    fn set(&self, path: &str, value: &[u8]) -> stead_state::Result<()> {
        self.timed(|| self.inner.set(path, value))
    }

    fn delete(&self, path: &str) -> stead_state::Result<()> {
        self.timed(|| self.inner.delete(path))
    }

    fn is_ready(&self) -> bool {
        self.inner.is_ready()
    }

    fn close(&self) -> stead_state::Result<()> {
        self.inner.close()
    }

    fn location(&self) -> String {
        self.inner.location()
    }
}

#[cfg(test)]
mod tests {
    use stead_proto::v1::{AgentId, FrameworkId, OfferId};
    use stead_state::MemPersister;

    use super::*;
    use crate::plan::StepKind;

    #[test]
    fn counts_operations_by_type() {
        let t = Telemetry::default();
        t.offers_received(3);
        t.offers_declined(2);
        let op = |ty: operation::Type| Operation {
            r#type: Some(ty as i32),
            ..Operation::default()
        };
        t.offer_used(&[
            op(operation::Type::Reserve),
            op(operation::Type::Create),
            op(operation::Type::Launch),
        ]);
        t.offer_used(&[op(operation::Type::Launch)]);
        let m = t.metrics();
        assert_eq!(
            (m.offers_received, m.offers_declined, m.offers_used),
            (3, 2, 2)
        );
        assert_eq!(m.operations["LAUNCH"], 2);
        assert_eq!(m.operations["RESERVE"], 1);
        assert_eq!(m.operations["CREATE"], 1);
    }

    #[test]
    fn timed_persister_records_writes_only() {
        let t = Arc::new(Telemetry::default());
        let p = TimedPersister::new(Arc::new(MemPersister::new()), t.clone());
        p.set("/a", b"1").unwrap();
        p.multi(&[Op::set("/b", b"2".to_vec())]).unwrap();
        assert_eq!(p.get("/a").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(p.children("/").unwrap().len(), 2);
        p.delete("/a").unwrap();
        assert_eq!(t.metrics().state_store_write_seconds.count, 3);
    }

    #[test]
    fn recorder_is_bounded() {
        let offers: Vec<Offer> = (0..MAX_DEBUG_OFFERS + 5)
            .map(|i| Offer {
                id: OfferId {
                    value: format!("o{i}"),
                },
                framework_id: FrameworkId { value: "f".into() },
                agent_id: AgentId {
                    value: format!("a{i}"),
                },
                hostname: "h".into(),
                ..Offer::default()
            })
            .collect();
        let mut r = OfferRecorder::new(&offers);
        let step = Step::new("data-0", StepKind::Launch);
        for _ in 0..MAX_DEBUG_STEPS + 3 {
            r.placed("deploy", &step, 1, false);
        }
        r.waiting("deploy", &step, "busy");
        let d = r.finish();
        assert_eq!(d.offers.len(), MAX_DEBUG_OFFERS);
        assert_eq!(d.steps.len(), MAX_DEBUG_STEPS);
        let outcomes = &d.steps[0].outcomes;
        assert_eq!(outcomes.len(), MAX_DEBUG_OFFERS);
        assert!(outcomes[1].used && !outcomes[0].used);
        assert_eq!(outcomes[0].reason, "not needed: placed on offer o1");
    }
}
