//! The offer round: pending steps are placed on the offers received together, their
//! tasks stored, and the offers ACCEPTed (in chunks of [`LAUNCH_CHUNK`] launches, so that
//! a large deploy neither holds every launch in memory at once nor keeps the master
//! waiting for the last one); orphaned reservations are released and the rest DECLINEd.

use std::collections::{BTreeMap, HashSet};

use stead_proto::v1::{Offer, TaskInfo, offer::Operation};
use stead_state::GoalOverride;

use super::{CLEANUP_WINDOW, Core};
use crate::Result;
use crate::mesos::{calls, resources as res};
use crate::offer::resize::{self, UpdateError};
use crate::offer::{
    Evaluator, Fit, Launch, LaunchContext, Location, Need, Requirement, Unplaced,
    is_service_reservation, operations, orphans,
};
use crate::plan::{StepRef, WorkPlan};
use crate::scheduler::instance::{Instance, UNREACHABLE_WAIT};
use crate::scheduler::stored_task::StoredTask;
use crate::scheduler::telemetry::OfferRecorder;

/// Launches placed before their tasks are stored and their offers ACCEPTed; later
/// placements of the same round go on the offers not accepted yet.
pub(super) const LAUNCH_CHUNK: usize = 512;

/// The unreserved scalar resources each agent offers (by resource name), from every
/// offer of a round: what an update that grows an instance in place can count on.
pub(crate) fn free_resources(offers: &[Offer]) -> BTreeMap<String, BTreeMap<String, f64>> {
    let mut agents: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for offer in offers {
        let free = agents.entry(offer.agent_id.value.clone()).or_default();
        for r in offer
            .resources
            .iter()
            .filter(|r| res::reserved_role(r).is_none())
        {
            if let Some(v) = r.scalar.as_ref() {
                *free.entry(r.name.clone()).or_insert(0.0) += v.value;
            }
        }
    }
    agents
}

/// Why a step that may act launched nothing in this round.
#[derive(Debug, thiserror::Error)]
enum NotLaunched {
    /// No offer fitted.
    #[error(transparent)]
    Unplaced(#[from] Unplaced),
    /// The instance cannot be relaunched in place under the target yet.
    #[error(transparent)]
    Update(#[from] UpdateError),
    /// The task type gives the instance no command.
    #[error("no command for instance {0}")]
    NoCommand(String),
}

/// A launch placed in this round, not yet stored.
struct Placed {
    which: WorkPlan,
    at: StepRef,
    launch: Launch,
    location: Location,
    /// New resources (not a relaunch in place).
    fresh: bool,
}

/// A stored launch whose offer is to be ACCEPTed.
struct Stored {
    which: WorkPlan,
    at: StepRef,
    name: String,
    task_id: String,
    agent_id: String,
    hostname: String,
}

impl Core {
    pub(super) async fn on_offers(&mut self, offers: Vec<Offer>) -> Result<()> {
        // Persist before acting: the statuses handled so far are durable before any launch.
        self.flush_updates().await?;
        self.telemetry.offers_received(offers.len());
        let Some(fw) = self.framework_id.clone() else {
            return Ok(());
        };
        if !self.reconciler.is_done() {
            let ids: Vec<String> = offers.iter().map(|o| o.id.value.clone()).collect();
            let call = calls::decline(&fw, &ids, self.opts.decline_short.as_secs_f64());
            self.telemetry.offers_declined(ids.len());
            self.outbox.send(&call).await;
            return Ok(());
        }
        self.gone.back(
            &self.store,
            offers.iter().map(|o| o.agent_id.value.as_str()),
        )?;
        self.releases_offered(&offers)?;
        // Every agent's free resources go to the updates that grow in place.
        if self.life.wants_free_resources() {
            self.life.offered(free_resources(&offers));
        }
        self.plans.wake(self.clock.now());
        let selected = self.plans.select();

        let mut ops: Vec<Vec<Operation>> = vec![Vec::new(); offers.len()];
        let mut placed: Vec<Placed> = Vec::new();
        let mut failed: Vec<(WorkPlan, StepRef, NotLaunched)> = Vec::new();
        let mut waiting = false;
        let mut debug = OfferRecorder::new(&offers);
        let mut redo_now = Vec::new();
        let mut ev = Evaluator::new(&offers, &self.spec.role);
        // Peers matter to placement only: with nothing to place they are not gathered.
        if !selected.is_empty() {
            for inst in self.instances.values().filter(|i| !i.replacing()) {
                if let Some(loc) = inst.location() {
                    ev.add_peer(self.task_type(inst), &inst.name, loc);
                }
            }
        }
        for (which, at) in selected {
            let plan = self.plans.get(which);
            let Some(step) = plan.step(at) else { continue };
            let Some(inst) = self.instances.get(&step.instance) else {
                continue;
            };
            let tt = self.task_type(inst);
            if inst.waits_for_agent(tt) {
                debug.waiting(&plan.name, step, UNREACHABLE_WAIT);
                continue;
            }
            if !inst.needs_launch(tt) {
                // Still running (e.g. being killed for a replace): keep offers coming.
                waiting = true;
                let why = if self.redo.contains(&inst.name) {
                    redo_now.push(inst.name.clone());
                    "restarted by the operator: its task is killed first"
                } else {
                    "its task still runs (being killed)"
                };
                debug.waiting(&plan.name, step, why);
                continue;
            }
            let in_place = inst.in_place();
            let need = match &in_place {
                Some((agent_id, ids)) => Need::InPlace {
                    agent_id,
                    resource_ids: ids,
                },
                None => Need::New,
            };
            let req = Requirement {
                instance: &inst.name,
                task_type: tt,
                need,
            };
            let p = match ev.place(&req) {
                Ok(p) => p,
                Err(reason) => {
                    debug.unplaced(&plan.name, step, &mut ev, &req);
                    failed.push((which, at, reason.into()));
                    continue;
                }
            };
            debug.placed(&plan.name, step, p.offer, in_place.is_some());
            let mut launch = match self.build_launch(&fw, &offers, &mut ev, &p.fit, p.offer, inst) {
                Ok(launch) => launch,
                Err(reason) => {
                    failed.push((which, at, reason));
                    continue;
                }
            };
            // The operations go into the ACCEPT; `placed` keeps the task.
            ops[p.offer].append(&mut launch.operations);
            placed.push(Placed {
                which,
                at,
                launch,
                location: ev.views()[p.offer].location.clone(),
                fresh: in_place.is_none(),
            });
            if placed.len() >= LAUNCH_CHUNK {
                let stored = self.store_launches(std::mem::take(&mut placed))?;
                self.accept(&fw, &offers, &mut ops, &mut ev, stored).await;
            }
        }
        self.telemetry.set_offers(debug.finish());
        for name in redo_now {
            self.redo.remove(&name);
            if let Err(e) = self.restart(&name).await {
                tracing::warn!(instance = %name, error = %e, "cannot restart the instance");
            }
        }
        let stored = self.store_launches(placed)?;

        // Reservations of this service that no stored task owns are released. Offers hold
        // reservations only while no task uses them, so most rounds have none to check.
        let open: Vec<bool> = ev.views().iter().map(|v| !v.accepted).collect();
        let (role, service) = (self.spec.role.as_str(), self.spec.name.as_str());
        let mut released: Vec<String> = Vec::new();
        if offers.iter().zip(&open).any(|(o, open)| {
            *open
                && o.resources
                    .iter()
                    .any(|r| is_service_reservation(r, role, service))
        }) {
            self.release_orphans(&offers, &open, &mut ops, &mut released)?;
        }
        self.released(released.iter().map(String::as_str), !released.is_empty());
        self.accept(&fw, &offers, &mut ops, &mut ev, stored).await;

        let unplaced = !failed.is_empty() || waiting || self.releases_want_offers();
        self.not_launched(failed);
        // DECLINE what was not accepted.
        let declined: Vec<String> = offers
            .iter()
            .zip(ev.views())
            .filter(|(_, v)| !v.accepted)
            .map(|(o, _)| o.id.value.clone())
            .collect();
        if !declined.is_empty() {
            let refuse = if unplaced {
                self.opts.decline_short
            } else {
                self.opts.decline_long
            };
            let call = calls::decline(&fw, &declined, refuse.as_secs_f64());
            self.telemetry.offers_declined(declined.len());
            self.outbox.send(&call).await;
        }
        Ok(())
    }

    /// The steps that launched nothing wait, saying why (each new reason logged once).
    fn not_launched(&mut self, failed: Vec<(WorkPlan, StepRef, NotLaunched)>) {
        for (which, at, reason) in failed {
            let Some(instance) = self.plans.get(which).step(at).map(|s| s.instance.clone()) else {
                continue;
            };
            let reason = reason.to_string();
            self.plans.unplaced(which, at, &reason);
            if self.flow.last_reasons.get(&instance) != Some(&reason) {
                tracing::warn!(%instance, %reason, "stalled: no offer fits the step");
                self.flow.last_reasons.insert(instance, reason);
            }
        }
    }

    /// The launch of `inst` on the offer `offer` that `fit` describes: a first launch, a
    /// relaunch in place, or (for an instance on an older configuration) a relaunch in
    /// place under the target, which may grow its reservations from the offer.
    fn build_launch(
        &self,
        fw: &str,
        offers: &[Offer],
        ev: &mut Evaluator<'_>,
        fit: &Fit,
        offer: usize,
        inst: &Instance,
    ) -> Result<Launch, NotLaunched> {
        let tt = self.task_type(inst);
        let ctx = LaunchContext {
            service: &self.spec,
            framework_id: fw,
            config_id: &self.config_id,
        };
        // The previous task is decoded only for a relaunch in place, which builds on it.
        let launch = match (fit, &inst.task) {
            (fit @ Fit::InPlace(idx), Some(prev)) => {
                let prev = prev.info();
                // Whatever relaunches an instance that runs an older configuration (its
                // update step, or a recovery after it failed) relaunches it under the
                // target: it is down already, so it is not restarted twice. So does the
                // relaunch of a stored update whose ACCEPT never reached the master (its
                // reservations still hold the old amounts): the target's amounts, however
                // the previous attempt ended.
                if !self.is_current(inst) || !resize::holds_amounts(&prev, &offers[offer], idx) {
                    Some(resize::relaunch(
                        &ctx, ev, offer, fit, tt, inst.index, &prev,
                    )?)
                } else {
                    Some(operations::relaunch(&offers[offer], &prev, idx))
                }
            }
            (Fit::New(fit), _) => {
                operations::new_instance(&ctx, &offers[offer], tt, inst.index, fit)
            }
            (Fit::InPlace(_), None) => None,
        };
        launch.ok_or_else(|| NotLaunched::NoCommand(inst.name.clone()))
    }

    /// Persist before acting: stores the tasks and metadata of `placed` in one
    /// transaction, then records them in their instances.
    fn store_launches(&mut self, placed: Vec<Placed>) -> Result<Vec<Stored>> {
        if placed.is_empty() {
            return Ok(Vec::new());
        }
        let mut batch = self.store.batch();
        let mut metas = Vec::with_capacity(placed.len());
        let mut tasks = Vec::with_capacity(placed.len());
        for p in &placed {
            let task = &p.launch.task;
            // Encoded once, for the store and for the instance.
            let stored = StoredTask::new(task);
            let inst = &self.instances[&task.name];
            let mut meta = inst.meta.clone();
            meta.launch_count += 1;
            meta.last_launch_ms = Some(self.clock.epoch_ms());
            meta.backoff_until_ms = None;
            if p.fresh {
                // Persist before acting: the resources the instance leaves behind are
                // stored as to release with the task that moves it.
                if let Some(old) = &inst.task {
                    let ids = old.resource_ids().to_vec();
                    self.moved
                        .add(&task.name, old.agent_id(), ids, self.clock.now());
                }
                meta.goal_override = None;
                Instance::set_location(&mut meta, &task.agent_id.value, &p.location);
                Instance::set_reserved(&mut meta, false);
            } else if meta.goal_override == Some(GoalOverride::Restart) {
                meta.goal_override = None;
            }
            batch.task_encoded(task, stored.encoded().to_vec())?;
            batch.meta(&task.name, &meta)?;
            metas.push(meta);
            tasks.push(stored);
        }
        if placed.iter().any(|p| p.fresh) && !self.moved.is_empty() {
            self.moved.stage(&mut batch)?;
        }
        batch.commit()?;
        let config_changes = placed.iter().any(|p| {
            self.instances
                .get(&p.launch.task.name)
                .and_then(|i| i.task.as_ref())
                .is_some_and(|t| t.config_id() != operations::config_id_of(&p.launch.task))
        });
        let mut stored = Vec::with_capacity(placed.len());
        for ((p, meta), stored_task) in placed.into_iter().zip(metas).zip(tasks) {
            let task = p.launch.task;
            stored.push(Stored {
                which: p.which,
                at: p.at,
                name: task.name.clone(),
                task_id: task.task_id.value.clone(),
                agent_id: task.agent_id.value.clone(),
                hostname: p.location.hostname,
            });
            let Some(inst) = self.instances.get_mut(&task.name) else {
                continue;
            };
            if p.fresh
                && let Some(old) = &inst.task
                && !old.resource_ids().is_empty()
            {
                tracing::info!(
                    instance = %inst.name,
                    "the instance moves; its old reservations and volume will be released"
                );
                self.flow.cleanup_until = Some(self.clock.now() + CLEANUP_WINDOW);
            }
            let current = stored_task.config_id() == Some(self.config_id.as_str());
            self.life.launched(&task.name, current);
            inst.task = Some(stored_task);
            inst.status = None;
            inst.meta = meta;
            inst.running_since = None;
            inst.running_since_ms = None;
        }
        if config_changes {
            self.retain_configs();
        }
        Ok(stored)
    }

    /// ACCEPTs every offer that has operations, with them, and marks it accepted in `ev`.
    /// The steps of `stored` become STARTING; launches whose ACCEPT may not have arrived
    /// are reconciled (see [`Core::reconcile_unsent`]).
    async fn accept(
        &mut self,
        fw: &str,
        offers: &[Offer],
        ops: &mut [Vec<Operation>],
        ev: &mut Evaluator<'_>,
        stored: Vec<Stored>,
    ) {
        let refuse = self.opts.decline_short.as_secs_f64();
        let mut accepted = Vec::new();
        let mut accepts = Vec::new();
        for (i, offer) in offers.iter().enumerate() {
            if ops[i].is_empty() {
                continue;
            }
            self.telemetry.offer_used(&ops[i]);
            let call = calls::accept(
                fw,
                std::slice::from_ref(&offer.id.value),
                std::mem::take(&mut ops[i]),
                refuse,
            );
            ev.close(i);
            accepted.push(offer.agent_id.value.as_str());
            accepts.push(call);
        }
        // Each ACCEPT goes out in the background, tagged with its launches: those of one
        // that may not have reached the master are reconciled.
        let calls: Vec<_> = accepts
            .into_iter()
            .zip(accepted)
            .map(|(call, agent)| {
                let launches = stored
                    .iter()
                    .filter(|s| s.agent_id == agent)
                    .map(|s| (s.task_id.clone(), Some(s.agent_id.clone())))
                    .collect::<Vec<_>>();
                (call, launches)
            })
            .collect();
        // A bounded number of chunks wait for the master: the round goes on placing
        // while the master takes the previous chunk, with memory still bounded.
        self.outbox.accept(calls).await;
        for s in stored {
            self.plans.launched(s.which, s.at, &s.task_id, &s.hostname);
            self.flow.last_reasons.remove(&s.name);
        }
    }

    /// Adds to `ops` the operations that release the reservations and volumes of this
    /// service in the `open` offers that no stored task owns (and that `ops` does not
    /// launch with), noting their resource ids in `released`.
    fn release_orphans(
        &self,
        offers: &[Offer],
        open: &[bool],
        ops: &mut [Vec<Operation>],
        released: &mut Vec<String>,
    ) -> Result<()> {
        let owned: HashSet<String> = self
            .instances
            .values()
            .filter_map(|i| i.task.as_ref())
            .flat_map(|t| t.resource_ids().iter().cloned())
            .chain(self.unknown_owned_ids()?)
            .collect();
        for (i, offer) in offers.iter().enumerate().filter(|(i, _)| open[*i]) {
            let mut view = crate::offer::OfferView::new(offer, &self.spec.role);
            view.used = used_indices(offer, &ops[i]);
            let stale = orphans(offer, &view, &self.spec.role, &self.spec.name, &|id| {
                owned.contains(id)
            });
            if stale.is_empty() {
                continue;
            }
            let resources: Vec<_> = stale.iter().map(|(_, r)| *r).collect();
            released.extend(
                resources
                    .iter()
                    .filter_map(|r| res::resource_id(r).map(String::from)),
            );
            tracing::info!(
                agent = %offer.hostname,
                resources = resources.len(),
                "releasing reservations no task owns (destroy volumes, unreserve)"
            );
            let mut cleanup = operations::cleanup(&resources);
            cleanup.append(&mut ops[i]);
            ops[i] = cleanup;
        }
        Ok(())
    }

    /// Resource ids of stored tasks of instances no longer in the spec (kept, never cleaned).
    fn unknown_owned_ids(&self) -> Result<Vec<String>> {
        // Only instances the spec declares are loaded; others keep their reservations
        // until a decommission plan handles them.
        let names = self.store.task_names()?;
        let mut ids = Vec::new();
        for name in names.iter().filter(|n| !self.instances.contains_key(*n)) {
            if let Some(t) = self.store.fetch_task(name)? {
                ids.extend(operations::resource_ids(&t));
            }
        }
        Ok(ids)
    }
}

/// Indices of the offer's resources that `ops` LAUNCH with (so cleanup leaves them alone).
fn used_indices(offer: &Offer, ops: &[Operation]) -> Vec<usize> {
    let ids: HashSet<&str> = ops
        .iter()
        .filter_map(|o| o.launch.as_ref())
        .flat_map(|l| l.task_infos.iter())
        .flat_map(|t: &TaskInfo| t.resources.iter())
        .filter_map(res::resource_id)
        .collect();
    offer
        .resources
        .iter()
        .enumerate()
        .filter(|(_, r)| res::resource_id(r).is_some_and(|id| ids.contains(id)))
        .map(|(i, _)| i)
        .collect()
}
