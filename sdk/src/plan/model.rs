//! Plans, phases and steps, their strategies and serializable snapshots.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Status;
use super::census::Census;

/// How the children of a plan (its phases) or of a phase (its steps) proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// One child at a time, in order; each waits for the previous one to complete.
    #[default]
    Serial,
    /// All children at once.
    Parallel,
    /// The first child alone; then the plan waits for the operator's `continue`
    /// before the rest proceed one at a time (serially).
    Canary,
}

/// What a step does to its pod instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// Launch the instance (first launch, or relaunch in place where it already has resources).
    Launch,
    /// Relaunch a failed instance in place: same agent, same reservations and volume.
    Recover,
    /// Place the instance anew, abandoning its old reservations and volume.
    Replace,
    /// Relaunch the instance in place under the target configuration (kill it first if
    /// it runs an older one), resizing its reservations on the same agent.
    Update,
    /// Remove the instance for good: kill it, destroy its volume, unreserve its
    /// resources and erase it from the state store.
    Decommission,
    /// Deregister the framework (TEARDOWN) and wipe the service's state.
    Teardown,
}

/// One unit of work on one pod instance (e.g. `data-2`).
#[derive(Debug, Clone)]
pub struct Step {
    /// Stable id for this plan's lifetime.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// The pod instance this step acts on.
    pub instance: String,
    /// What the step does.
    pub kind: StepKind,
    status: Status,
    /// A human explanation of the current state (e.g. why no offer fitted).
    pub message: String,
    /// Errors that put the step into [`Status::Error`].
    pub errors: Vec<String>,
    delayed_until: Option<Instant>,
}

impl Step {
    /// A new pending step.
    pub fn new(instance: impl Into<String>, kind: StepKind) -> Step {
        let instance = instance.into();
        Step {
            id: Uuid::new_v4(),
            name: instance.clone(),
            instance,
            kind,
            status: Status::Pending,
            message: String::new(),
            errors: Vec::new(),
            delayed_until: None,
        }
    }

    /// The current status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// Sets the status (clearing any delay) and returns whether it changed.
    pub fn set_status(&mut self, status: Status) -> bool {
        self.delayed_until = None;
        let changed = self.status != status;
        self.status = status;
        changed
    }

    /// Puts the step into [`Status::Delayed`] until `until`.
    pub fn delay_until(&mut self, until: Instant, message: impl Into<String>) {
        self.status = Status::Delayed;
        self.delayed_until = Some(until);
        self.message = message.into();
    }

    /// When a delayed step becomes eligible again.
    pub fn delayed_until(&self) -> Option<Instant> {
        self.delayed_until
    }

    /// Marks the step failed for good with `error`.
    pub fn fail(&mut self, error: impl Into<String>) {
        let error = error.into();
        self.message = error.clone();
        self.errors.push(error);
        self.set_status(Status::Error);
    }

    /// A serializable view of the step.
    pub fn snapshot(&self) -> StepSnapshot {
        StepSnapshot {
            id: self.id,
            name: self.name.clone(),
            instance: self.instance.clone(),
            kind: self.kind,
            status: self.status,
            message: self.message.clone(),
            errors: self.errors.clone(),
        }
    }
}

/// A step borrowed for change. Its phase's census follows a change of its status when
/// the borrow ends.
#[derive(Debug)]
pub struct StepMut<'a> {
    step: &'a mut Step,
    census: &'a mut Census,
    index: usize,
    before: Status,
}

impl Deref for StepMut<'_> {
    type Target = Step;

    fn deref(&self) -> &Step {
        self.step
    }
}

impl DerefMut for StepMut<'_> {
    fn deref_mut(&mut self) -> &mut Step {
        self.step
    }
}

impl Drop for StepMut<'_> {
    fn drop(&mut self) {
        if self.step.status != self.before {
            self.census.moved(self.index, self.before, self.step.status);
        }
    }
}

/// An ordered group of steps (e.g. one task type).
#[derive(Debug, Clone)]
pub struct Phase {
    /// Stable id for this plan's lifetime.
    pub id: Uuid,
    /// Display name (e.g. the task type).
    pub name: String,
    /// How the steps proceed.
    pub strategy: Strategy,
    /// The steps, in order (changed only through [`Phase::step_mut`], which keeps the
    /// census).
    steps: Vec<Step>,
    census: Census,
    interrupted: bool,
    /// Whether the operator let a canary phase go on after its first step.
    canary_approved: bool,
}

impl Phase {
    /// A phase with the given steps.
    pub fn new(name: impl Into<String>, strategy: Strategy, steps: Vec<Step>) -> Phase {
        Phase {
            id: Uuid::new_v4(),
            name: name.into(),
            strategy,
            census: Census::of(steps.iter().map(Step::status)),
            steps,
            interrupted: false,
            canary_approved: false,
        }
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The step at position `si`, for change.
    pub fn step_mut(&mut self, si: usize) -> Option<StepMut<'_>> {
        let step = self.steps.get_mut(si)?;
        let before = step.status;
        Some(StepMut {
            step,
            census: &mut self.census,
            index: si,
            before,
        })
    }

    /// Removes the complete steps.
    fn retain_incomplete(&mut self) {
        self.steps.retain(|s| !s.status().is_complete());
        self.census = Census::of(self.steps.iter().map(Step::status));
    }

    /// The aggregate status of the steps (WAITING when this phase or, via
    /// `interrupted`, its plan is interrupted).
    pub fn status(&self, interrupted: bool) -> Status {
        self.census
            .status(interrupted || self.interrupted || self.awaits_canary_approval())
    }

    /// Whether this is a canary phase whose first step is done and which waits for the
    /// operator's `continue` before its other steps may start.
    pub fn awaits_canary_approval(&self) -> bool {
        // With the first step complete, any incomplete step is one of the others.
        self.strategy == Strategy::Canary
            && !self.canary_approved
            && self.steps.len() > 1
            && self.steps[0].status().is_complete()
            && self.census.first_incomplete().is_some()
    }

    /// Lets a canary phase that waits for approval go on with the rest of its steps.
    pub fn approve_canary(&mut self) {
        if self.awaits_canary_approval() {
            self.canary_approved = true;
        }
    }

    /// Whether the operator let this canary phase go on.
    pub fn is_canary_approved(&self) -> bool {
        self.canary_approved
    }

    /// Lets this canary phase go on once its first step is done, without waiting for
    /// approval (an approval given before the scheduler restarted).
    pub fn grant_canary(&mut self) {
        self.canary_approved = true;
    }

    /// Stops handing out this phase's steps (steps in flight finish).
    pub fn interrupt(&mut self) {
        self.interrupted = true;
    }

    /// Resumes an interrupted phase (and lets a waiting canary phase go on).
    pub fn proceed(&mut self) {
        self.interrupted = false;
        self.approve_canary();
    }

    /// Whether the phase is interrupted.
    pub fn is_interrupted(&self) -> bool {
        self.interrupted
    }

    /// Indices of the steps the strategy lets proceed now (none while interrupted).
    fn candidates(&self, out: &mut Vec<usize>) {
        if self.interrupted {
            return;
        }
        if self.awaits_canary_approval() {
            return;
        }
        match self.strategy {
            Strategy::Serial | Strategy::Canary => {
                if let Some(i) = self.census.first_incomplete()
                    && self.steps[i].status().is_eligible()
                {
                    out.push(i);
                }
            }
            Strategy::Parallel => out.extend(self.census.eligible()),
        }
    }

    /// A serializable view of the phase.
    pub fn snapshot(&self, interrupted: bool) -> PhaseSnapshot {
        PhaseSnapshot {
            id: self.id,
            name: self.name.clone(),
            strategy: self.strategy,
            status: self.status(interrupted),
            steps: self.steps.iter().map(Step::snapshot).collect(),
        }
    }
}

/// The position of a step in a plan: (phase index, step index).
pub type StepRef = (usize, usize);

/// Adds the steps of `phase`, at position `pi`, to `index` (the first step of an instance wins).
fn index_steps(index: &mut HashMap<String, StepRef>, pi: usize, phase: &Phase) {
    for (si, step) in phase.steps.iter().enumerate() {
        index.entry(step.instance.clone()).or_insert((pi, si));
    }
}

/// A named list of phases (e.g. `deploy`, `recovery`).
#[derive(Debug, Clone)]
pub struct Plan {
    /// Stable id for this plan's lifetime.
    pub id: Uuid,
    /// The plan's name.
    pub name: String,
    /// How the phases proceed.
    pub strategy: Strategy,
    /// The phases, in order.
    phases: Vec<Phase>,
    /// Plan-level errors (e.g. a rejected configuration).
    pub errors: Vec<String>,
    interrupted: bool,
    /// Where the first step of each instance is (rebuilt whenever steps are added or
    /// removed).
    index: HashMap<String, StepRef>,
    /// Counts the times work was started in the plan (see [`Plan::renew`]).
    generation: u64,
}

impl Plan {
    /// A plan with the given phases.
    pub fn new(name: impl Into<String>, strategy: Strategy, phases: Vec<Phase>) -> Plan {
        let mut plan = Plan {
            id: Uuid::new_v4(),
            name: name.into(),
            strategy,
            phases,
            errors: Vec::new(),
            interrupted: false,
            index: HashMap::new(),
            generation: 1,
        };
        plan.reindex();
        plan
    }

    /// The phases, in order.
    pub fn phases(&self) -> &[Phase] {
        &self.phases
    }

    /// The plan's generation: 1 when built, one more each time work was started in it
    /// since ([`Plan::renew`]).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Counts new work started in the plan (a step added or reset to do its work again)
    /// and returns the generation that holds it: a snapshot of this generation or a
    /// later one shows the work, so once such a snapshot is complete the work is done.
    pub fn renew(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    /// The phase at position `pi`, for change.
    pub fn phase_mut(&mut self, pi: usize) -> Option<&mut Phase> {
        self.phases.get_mut(pi)
    }

    /// Appends `phase` (and indexes its steps).
    pub fn push_phase(&mut self, phase: Phase) {
        index_steps(&mut self.index, self.phases.len(), &phase);
        self.phases.push(phase);
    }

    /// Rebuilds the instance index after steps were removed.
    fn reindex(&mut self) {
        self.index.clear();
        for (pi, phase) in self.phases.iter().enumerate() {
            index_steps(&mut self.index, pi, phase);
        }
    }

    /// The aggregate status of the phases.
    pub fn status(&self) -> Status {
        if !self.errors.is_empty() {
            return Status::Error;
        }
        // A canary waiting for approval holds the whole plan (nothing else proceeds).
        let waiting = self.interrupted
            || (self.strategy != Strategy::Parallel
                && self.phases.iter().any(Phase::awaits_canary_approval));
        Status::aggregate(
            self.phases.iter().map(|p| p.status(self.interrupted)),
            waiting,
        )
    }

    /// Whether every step is complete.
    pub fn is_complete(&self) -> bool {
        self.status().is_complete()
    }

    /// Stops handing out new work (steps in flight finish).
    pub fn interrupt(&mut self) {
        self.interrupted = true;
    }

    /// Resumes an interrupted plan, and lets every canary phase that waits for
    /// approval go on.
    pub fn proceed(&mut self) {
        self.interrupted = false;
        for phase in &mut self.phases {
            phase.approve_canary();
        }
    }

    /// Whether the plan is interrupted.
    pub fn is_interrupted(&self) -> bool {
        self.interrupted
    }

    /// Turns delayed steps whose delay has passed back into pending ones.
    /// Returns whether any step became eligible.
    pub fn wake_delayed(&mut self, now: Instant) -> bool {
        let mut woke = false;
        for phase in &mut self.phases {
            let due: Vec<usize> = phase
                .census
                .with(Status::Delayed)
                .filter(|&si| phase.steps[si].delayed_until().is_none_or(|t| t <= now))
                .collect();
            for si in due {
                if let Some(mut step) = phase.step_mut(si) {
                    step.set_status(Status::Pending);
                    woke = true;
                }
            }
        }
        woke
    }

    /// The earliest time a delayed step becomes eligible.
    pub fn next_wakeup(&self) -> Option<Instant> {
        self.phases
            .iter()
            .flat_map(|p| {
                p.census
                    .with(Status::Delayed)
                    .filter_map(|si| p.steps[si].delayed_until())
            })
            .min()
    }

    /// Steps the strategies let proceed now, in plan order.
    pub fn candidates(&self) -> Vec<StepRef> {
        let mut out = Vec::new();
        if self.interrupted || !self.errors.is_empty() {
            return out;
        }
        let mut steps = Vec::new();
        for (pi, phase) in self.phases.iter().enumerate() {
            if phase.status(false).is_complete() {
                continue;
            }
            steps.clear();
            phase.candidates(&mut steps);
            out.extend(steps.iter().map(|&si| (pi, si)));
            if self.strategy != Strategy::Parallel {
                break;
            }
        }
        out
    }

    /// All steps, in order.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.phases.iter().flat_map(|p| p.steps.iter())
    }

    /// The step at `at`.
    pub fn step(&self, at: StepRef) -> Option<&Step> {
        self.phases.get(at.0).and_then(|p| p.steps.get(at.1))
    }

    /// The step at `at`, for change.
    pub fn step_mut(&mut self, at: StepRef) -> Option<StepMut<'_>> {
        self.phases.get_mut(at.0).and_then(|p| p.step_mut(at.1))
    }

    /// The position of the (first) step acting on `instance`.
    pub fn find(&self, instance: &str) -> Option<StepRef> {
        // Every change of the phases goes through the plan, which keeps the index up to
        // date; a hit is still checked against the step it points at.
        let at = *self.index.get(instance)?;
        self.step(at)
            .is_some_and(|s| s.instance == instance)
            .then_some(at)
    }

    /// The (first) step acting on `instance`, for change.
    pub fn find_mut(&mut self, instance: &str) -> Option<StepMut<'_>> {
        let at = self.find(instance)?;
        self.step_mut(at)
    }

    /// Removes steps that are complete (used by plans that grow, like recovery) and empty phases.
    pub fn prune_complete(&mut self) {
        for phase in &mut self.phases {
            phase.retain_incomplete();
        }
        self.phases.retain(|p| !p.steps.is_empty());
        self.reindex();
    }

    /// A serializable view of the plan.
    pub fn snapshot(&self) -> PlanSnapshot {
        PlanSnapshot {
            id: self.id,
            name: self.name.clone(),
            strategy: self.strategy,
            status: self.status(),
            generation: self.generation,
            errors: self.errors.clone(),
            phases: self
                .phases
                .iter()
                .map(|p| p.snapshot(self.interrupted))
                .collect(),
        }
    }
}

/// A serializable view of a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StepSnapshot {
    /// The step's id.
    pub id: Uuid,
    /// The step's name.
    pub name: String,
    /// The pod instance it acts on.
    pub instance: String,
    /// What it does.
    pub kind: StepKind,
    /// Its status.
    pub status: Status,
    /// Why it is in that status (e.g. why the last offers did not fit).
    pub message: String,
    /// Its errors.
    pub errors: Vec<String>,
}

/// A serializable view of a phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PhaseSnapshot {
    /// The phase's id.
    pub id: Uuid,
    /// The phase's name.
    pub name: String,
    /// How its steps proceed.
    pub strategy: Strategy,
    /// Its aggregate status.
    pub status: Status,
    /// Its steps.
    pub steps: Vec<StepSnapshot>,
}

/// A serializable view of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanSnapshot {
    /// The plan's id.
    pub id: Uuid,
    /// The plan's name.
    pub name: String,
    /// How its phases proceed.
    pub strategy: Strategy,
    /// Its aggregate status.
    pub status: Status,
    /// Its generation ([`Plan::generation`]): an operator command answers with the
    /// generation that holds the work it started; the plan complete at that generation
    /// or a later one has done it.
    #[serde(default)]
    pub generation: u64,
    /// Plan-level errors.
    pub errors: Vec<String>,
    /// Its phases.
    pub phases: Vec<PhaseSnapshot>,
}

impl PlanSnapshot {
    /// The step acting on `instance`, if any.
    pub fn step(&self, instance: &str) -> Option<&StepSnapshot> {
        self.phases
            .iter()
            .flat_map(|p| p.steps.iter())
            .find(|s| s.instance == instance)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn plan(strategy: Strategy) -> Plan {
        let phase = |name: &str, n: usize| {
            Phase::new(
                name,
                strategy,
                (0..n)
                    .map(|i| Step::new(format!("{name}-{i}"), StepKind::Launch))
                    .collect(),
            )
        };
        Plan::new("deploy", strategy, vec![phase("a", 2), phase("b", 3)])
    }

    #[test]
    fn serial_walks_one_step_at_a_time() {
        let mut p = plan(Strategy::Serial);
        assert_eq!(p.status(), Status::Pending);
        assert_eq!(p.candidates(), vec![(0, 0)]);
        p.step_mut((0, 0)).unwrap().set_status(Status::Starting);
        assert!(
            p.candidates().is_empty(),
            "serial waits for the step in flight"
        );
        assert_eq!(p.status(), Status::InProgress);
        p.step_mut((0, 0)).unwrap().set_status(Status::Complete);
        assert_eq!(p.candidates(), vec![(0, 1)]);
        p.step_mut((0, 1)).unwrap().set_status(Status::Complete);
        assert_eq!(
            p.candidates(),
            vec![(1, 0)],
            "next phase after the first completes"
        );
        for i in 0..3 {
            p.step_mut((1, i)).unwrap().set_status(Status::Complete);
        }
        assert!(p.is_complete());
        assert!(p.candidates().is_empty());
    }

    #[test]
    fn parallel_offers_everything() {
        let mut p = plan(Strategy::Parallel);
        assert_eq!(p.candidates().len(), 5);
        p.step_mut((1, 2)).unwrap().set_status(Status::Starting);
        assert_eq!(p.candidates().len(), 4);
    }

    #[test]
    fn interrupt_and_delay() {
        let mut p = plan(Strategy::Serial);
        p.interrupt();
        assert!(p.candidates().is_empty());
        assert_eq!(p.status(), Status::Waiting);
        p.proceed();
        let now = Instant::now();
        p.step_mut((0, 0))
            .unwrap()
            .delay_until(now + Duration::from_secs(10), "backing off");
        assert!(p.candidates().is_empty());
        assert_eq!(p.next_wakeup(), Some(now + Duration::from_secs(10)));
        assert!(!p.wake_delayed(now));
        assert!(p.wake_delayed(now + Duration::from_secs(11)));
        assert_eq!(p.candidates(), vec![(0, 0)]);
    }

    #[test]
    fn interrupt_one_phase() {
        let mut p = plan(Strategy::Parallel);
        p.phase_mut(0).unwrap().interrupt();
        assert_eq!(p.candidates(), vec![(1, 0), (1, 1), (1, 2)]);
        let snap = p.snapshot();
        assert_eq!(snap.phases[0].status, Status::Waiting);
        assert_eq!(snap.phases[1].status, Status::Pending);
        p.phase_mut(0).unwrap().proceed();
        assert_eq!(p.candidates().len(), 5);
        let mut serial = plan(Strategy::Serial);
        serial.phase_mut(0).unwrap().interrupt();
        assert!(
            serial.candidates().is_empty(),
            "a serial plan waits for its interrupted phase"
        );
    }

    #[test]
    fn canary_waits_for_continue_after_the_first_step() {
        let mut p = plan(Strategy::Canary);
        assert_eq!(p.candidates(), vec![(0, 0)]);
        p.step_mut((0, 0)).unwrap().set_status(Status::Complete);
        assert!(
            p.candidates().is_empty(),
            "the canary waits for the operator"
        );
        assert_eq!(p.status(), Status::Waiting);
        assert_eq!(p.snapshot().phases[0].status, Status::Waiting);
        p.proceed();
        assert_eq!(p.candidates(), vec![(0, 1)]);
        p.step_mut((0, 1)).unwrap().set_status(Status::Complete);
        assert_eq!(
            p.candidates(),
            vec![(1, 0)],
            "the next phase has its own canary"
        );
        p.step_mut((1, 0)).unwrap().set_status(Status::Complete);
        assert!(p.candidates().is_empty());
        p.phase_mut(1).unwrap().proceed();
        assert_eq!(p.candidates(), vec![(1, 1)], "then serially");
    }

    #[test]
    fn snapshot_serializes_with_upper_case_statuses() {
        let mut p = plan(Strategy::Serial);
        p.find_mut("b-1").unwrap().message = "no offer fits".into();
        let snap = p.snapshot();
        assert_eq!(snap.step("b-1").unwrap().message, "no offer fits");
        let json = serde_json::to_value(&snap).unwrap();
        assert_eq!(json["status"], "PENDING");
        assert_eq!(json["phases"][1]["steps"][1]["name"], "b-1");
        assert_eq!(json["strategy"], "serial");
    }

    #[test]
    fn statuses_and_candidates_follow_every_change_of_a_step() {
        for strategy in [Strategy::Serial, Strategy::Parallel, Strategy::Canary] {
            let mut p = plan(strategy);
            let positions = [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2)];
            let mut seed = 7u64;
            for _ in 0..400 {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let at = positions[(seed >> 33) as usize % positions.len()];
                // Steps take every status but the aggregate-only IN_PROGRESS.
                let to = Status::ALL[(seed >> 40) as usize % (Status::ALL.len() - 1)];
                p.step_mut(at).unwrap().set_status(to);
                let statuses: Vec<Vec<Status>> = p
                    .phases()
                    .iter()
                    .map(|ph| ph.steps().iter().map(Step::status).collect())
                    .collect();
                for (ph, st) in p.phases().iter().zip(&statuses) {
                    let waiting = ph.awaits_canary_approval();
                    assert_eq!(
                        ph.status(false),
                        Status::aggregate(st.iter().copied(), waiting)
                    );
                }
                // The candidates, worked out from the statuses alone.
                let mut expected = Vec::new();
                for (pi, st) in statuses.iter().enumerate() {
                    if p.phases()[pi].awaits_canary_approval() {
                        break;
                    }
                    if st.iter().all(|s| s.is_complete()) {
                        continue;
                    }
                    if strategy == Strategy::Parallel {
                        expected.extend(
                            (0..st.len())
                                .filter(|&si| st[si].is_eligible())
                                .map(|si| (pi, si)),
                        );
                    } else {
                        let first = st.iter().position(|s| !s.is_complete());
                        expected
                            .extend(first.filter(|&si| st[si].is_eligible()).map(|si| (pi, si)));
                        break;
                    }
                }
                assert_eq!(p.candidates(), expected, "{strategy:?} with {statuses:?}");
            }
        }
    }

    #[test]
    fn prune_removes_finished_work() {
        let mut p = plan(Strategy::Parallel);
        for i in 0..2 {
            p.step_mut((0, i)).unwrap().set_status(Status::Complete);
        }
        p.step_mut((1, 0)).unwrap().set_status(Status::Complete);
        p.prune_complete();
        assert_eq!(p.phases().len(), 1);
        assert_eq!(p.phases()[0].steps().len(), 2);
    }
}
