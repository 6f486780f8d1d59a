//! The plans that launch instances, deploy and recovery, and every transition of their
//! steps: the scheduler says what happened (a status, an offer outcome, an operator
//! command, an update's kill) and the plans decide what their steps become.

use std::collections::BTreeSet;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    Applied, Overrides, Plan, PlanCommand, PlanCommandError, Status, StepKind, StepMut, StepRef,
    Strategy, add_recovery, deploy_plan, recovery_plan, select,
};

/// The name of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PlanName {
    /// Launches every instance, and rolls configuration updates out.
    Deploy,
    /// Relaunches failed instances in place, or replaces them.
    Recovery,
    /// Retires the instances a lower count removed.
    Decommission,
    /// Removes the whole service.
    Uninstall,
    /// A plan the service declares itself.
    Custom(String),
}

impl PlanName {
    /// The name as the API shows it.
    pub fn as_str(&self) -> &str {
        match self {
            PlanName::Deploy => super::DEPLOY,
            PlanName::Recovery => super::RECOVERY,
            PlanName::Decommission => super::DECOMMISSION,
            PlanName::Uninstall => super::UNINSTALL,
            PlanName::Custom(name) => name,
        }
    }

    /// The plan called `name`.
    pub fn parse(name: &str) -> PlanName {
        match name {
            super::DEPLOY => PlanName::Deploy,
            super::RECOVERY => PlanName::Recovery,
            super::DECOMMISSION => PlanName::Decommission,
            super::UNINSTALL => PlanName::Uninstall,
            other => PlanName::Custom(other.to_string()),
        }
    }
}

impl std::fmt::Display for PlanName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One of the two plans that launch instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkPlan {
    /// The deploy plan.
    Deploy,
    /// The recovery plan.
    Recovery,
}

impl WorkPlan {
    /// The plan's name.
    pub fn name(self) -> PlanName {
        match self {
            WorkPlan::Deploy => PlanName::Deploy,
            WorkPlan::Recovery => PlanName::Recovery,
        }
    }
}

/// The plan work an operator command started: the plan that carries it and the
/// generation of that plan that holds it ([`Plan::generation`]). The plan complete at
/// this generation or a later one has done the work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Started {
    /// The plan's name (e.g. `recovery`).
    pub plan: String,
    /// The plan's generation that holds the work.
    pub generation: u64,
}

/// How an instance's task ended, as the plans need to know it.
#[derive(Debug, Clone)]
pub struct Ended {
    /// Whether the instance is being replaced (placed anew) rather than recovered.
    pub replacing: bool,
    /// The relaunch waits until then (repeated failures), if at all.
    pub delayed_until: Option<Instant>,
    /// What happened, e.g. `data-0__1 TASK_FAILED: exited 1`.
    pub message: String,
}

/// The deploy and recovery plans.
#[derive(Debug)]
pub struct WorkPlans {
    deploy: Plan,
    recovery: Plan,
}

impl Default for WorkPlans {
    fn default() -> Self {
        WorkPlans {
            deploy: deploy_plan(Strategy::Serial, Vec::new()),
            recovery: recovery_plan(),
        }
    }
}

impl WorkPlans {
    /// Plans rebuilt from the stored state: the deploy plan's `phases` (per task type,
    /// each instance with the status its stored state gives) and the instances being
    /// replaced.
    pub fn rebuild(
        strategy: Strategy,
        phases: Vec<(String, Vec<(String, Status)>)>,
        replacing: impl IntoIterator<Item = String>,
    ) -> WorkPlans {
        let mut recovery = recovery_plan();
        for name in replacing {
            add_recovery(&mut recovery, &name, StepKind::Replace);
        }
        WorkPlans {
            deploy: deploy_plan(strategy, phases),
            recovery,
        }
    }

    /// The plan `which`.
    pub fn get(&self, which: WorkPlan) -> &Plan {
        match which {
            WorkPlan::Deploy => &self.deploy,
            WorkPlan::Recovery => &self.recovery,
        }
    }

    fn get_mut(&mut self, which: WorkPlan) -> &mut Plan {
        match which {
            WorkPlan::Deploy => &mut self.deploy,
            WorkPlan::Recovery => &mut self.recovery,
        }
    }

    /// The deploy plan.
    pub fn deploy(&self) -> &Plan {
        &self.deploy
    }

    /// The recovery plan.
    pub fn recovery(&self) -> &Plan {
        &self.recovery
    }

    /// The plan called `name`, if it is one of these.
    pub fn which(name: &PlanName) -> Option<WorkPlan> {
        match name {
            PlanName::Deploy => Some(WorkPlan::Deploy),
            PlanName::Recovery => Some(WorkPlan::Recovery),
            _ => None,
        }
    }

    /// The steps that may act now, recovery first; one plan per instance.
    pub fn select(&self) -> Vec<(WorkPlan, StepRef)> {
        select(&[&self.recovery, &self.deploy])
            .into_iter()
            .map(|(pi, at)| {
                let which = if pi == 0 {
                    WorkPlan::Recovery
                } else {
                    WorkPlan::Deploy
                };
                (which, at)
            })
            .collect()
    }

    /// The instances of the steps that may act now.
    pub fn candidate_instances(&self) -> BTreeSet<String> {
        self.select()
            .into_iter()
            .filter_map(|(which, at)| self.get(which).step(at).map(|s| s.instance.clone()))
            .collect()
    }

    /// Turns delayed steps whose time has come back into pending ones.
    pub fn wake(&mut self, now: Instant) {
        self.deploy.wake_delayed(now);
        self.recovery.wake_delayed(now);
    }

    /// Shows why the configuration the scheduler was started with was rejected.
    pub fn set_config_errors(&mut self, errors: Vec<String>) {
        self.deploy.errors = errors;
    }

    /// A stored relaunch delay of `instance`'s deploy step that has not passed yet.
    pub fn restore_delay(&mut self, instance: &str, until: Instant) {
        if let Some(mut step) = self.deploy.find_mut(instance)
            && step.status() == Status::Pending
        {
            step.delay_until(until, "backing off after repeated failures");
        }
    }

    /// The current generation of the plan `which`, as the work a command started.
    pub fn started(&self, which: WorkPlan) -> Started {
        let plan = self.get(which);
        Started {
            plan: plan.name.clone(),
            generation: plan.generation(),
        }
    }

    /// Starts new work in the plan `which` (see [`Plan::renew`]).
    fn renew(&mut self, which: WorkPlan) -> Started {
        self.get_mut(which).renew();
        self.started(which)
    }

    /// `instance` runs configuration `from`: its deploy step relaunches it under `to`.
    pub fn mark_update(&mut self, instance: &str, from: &str, to: &str) {
        if self.deploy.find(instance).is_some() {
            self.deploy.renew();
        }
        if let Some(mut step) = self.deploy.find_mut(instance) {
            step.kind = StepKind::Update;
            step.set_status(Status::Pending);
            step.message =
                format!("runs configuration {from}; to be relaunched in place under {to}");
        }
    }

    /// No offer fitted the step at `at`: it waits, saying why.
    pub fn unplaced(&mut self, which: WorkPlan, at: StepRef, reason: &str) {
        if let Some(mut step) = self.get_mut(which).step_mut(at) {
            step.set_status(Status::Prepared);
            step.message = reason.to_string();
        }
    }

    /// The step at `at` launched its task.
    pub fn launched(&mut self, which: WorkPlan, at: StepRef, task_id: &str, hostname: &str) {
        if let Some(mut step) = self.get_mut(which).step_mut(at) {
            step.set_status(Status::Starting);
            step.message = format!("launched {task_id} on {hostname}");
        }
    }

    /// The instance's task reached its goal; `current` says whether it runs the target
    /// configuration (an instance on an older one has not done its deploy step).
    pub fn reached_goal(&mut self, instance: &str, current: bool, message: &str) {
        for plan in [&mut self.deploy, &mut self.recovery] {
            if plan.name == super::DEPLOY && !current {
                continue;
            }
            if let Some(mut step) = plan.find_mut(instance) {
                step.set_status(Status::Complete);
                step.message = message.to_string();
            }
        }
    }

    /// The instance's task runs but is not ready yet.
    pub fn awaits_readiness(&mut self, instance: &str) {
        for plan in [&mut self.deploy, &mut self.recovery] {
            if let Some(mut step) = plan.find_mut(instance)
                && step.status().is_in_flight()
            {
                step.set_status(Status::Started);
                step.message = "running, waiting for the readiness check".into();
            }
        }
    }

    /// The instance's task ended short of its goal: its deploy step launches it again if
    /// the deploy has not done it yet, else a recovery step does.
    pub fn ended(&mut self, instance: &str, ended: Ended) {
        let kind = if ended.replacing {
            StepKind::Replace
        } else {
            StepKind::Recover
        };
        let Some(mut step) = self.step_after_deploy(instance, kind) else {
            return;
        };
        match ended.delayed_until {
            None => {
                step.set_status(Status::Pending);
                step.message = ended.message;
            }
            Some(until) => step.delay_until(until, ended.message),
        }
    }

    /// The instance's agent is unreachable: its step (the deploy step if the deploy has
    /// not launched it yet, else a recovery step) waits for the agent, saying why. Nothing
    /// is relaunched: the task may still run.
    pub fn unreachable(&mut self, instance: &str, message: &str) {
        if let Some(mut step) = self.step_after_deploy(instance, StepKind::Recover) {
            step.set_status(Status::Prepared);
            step.message = message.to_string();
        }
    }

    /// The step that handles what happened to `instance`'s task: its deploy step while the
    /// deploy has not done it, else a recovery step of `kind` (new work of the recovery
    /// plan when it held no step for the instance).
    fn step_after_deploy(&mut self, instance: &str, kind: StepKind) -> Option<StepMut<'_>> {
        if self.recovers(instance) {
            self.recovery.prune_complete();
            if self.recovery.find(instance).is_none() {
                self.recovery.renew();
            }
            Some(add_recovery(&mut self.recovery, instance, kind))
        } else {
            self.deploy.find_mut(instance)
        }
    }

    /// Whether a relaunch of `instance` is the recovery plan's work: its deploy step (if
    /// any) is done, or is an update not begun yet (the old task is recovered as it was).
    fn recovers(&self, instance: &str) -> bool {
        self.deploy
            .find(instance)
            .and_then(|at| self.deploy.step(at))
            .is_none_or(|s| {
                s.status().is_complete()
                    || (s.kind == StepKind::Update && !s.status().is_in_flight())
            })
    }

    /// The instance is to be placed anew (replaced): a pending recovery step, unless one
    /// is in flight already.
    pub fn replace(&mut self, instance: &str, message: &str) -> Started {
        self.recovery.prune_complete();
        let started = self.renew(WorkPlan::Recovery);
        let mut step = add_recovery(&mut self.recovery, instance, StepKind::Replace);
        if !step.status().is_in_flight() {
            step.set_status(Status::Pending);
            step.message = message.to_string();
        }
        started
    }

    /// The operator restarted an instance whose task had ended: it is relaunched in place.
    pub fn recover_now(&mut self, instance: &str) {
        self.recovery.prune_complete();
        self.recovery.renew();
        add_recovery(&mut self.recovery, instance, StepKind::Recover).set_status(Status::Pending);
    }

    /// The master refused to reserve the resources of `instance`: its unfinished deploy
    /// or recovery step says so, with the master's reason.
    pub fn reserve_refused(&mut self, instance: &str, reason: &str) {
        for plan in [&mut self.deploy, &mut self.recovery] {
            if let Some(mut step) = plan.find_mut(instance)
                && !step.status().is_complete()
            {
                step.message =
                    format!("waiting: the master refused to reserve its resources: {reason}");
            }
        }
    }

    /// The operator restarted `instance`, whose task runs, and its task is being killed:
    /// a relaunch the recovery plan does shows at once as a recovery step in flight
    /// (`message` says so), which the kill's status turns pending. A relaunch that is the
    /// deploy plan's work (its step is not done) is that plan's current generation.
    pub fn restarting(&mut self, instance: &str, message: &str) -> Started {
        if !self.recovers(instance) {
            return self.started(WorkPlan::Deploy);
        }
        self.recovery.prune_complete();
        if self.recovery.find(instance).is_some() {
            // Its recovery (or replacement) is under way: that relaunches it.
            return self.started(WorkPlan::Recovery);
        }
        let started = self.renew(WorkPlan::Recovery);
        let mut step = add_recovery(&mut self.recovery, instance, StepKind::Recover);
        step.set_status(Status::Starting);
        step.message = message.to_string();
        started
    }

    /// The plan work that relaunches `instance`: the recovery plan's when it holds a
    /// step for it, else the deploy plan's.
    pub fn relaunch_of(&self, instance: &str) -> Started {
        if self.recovery.find(instance).is_some() {
            self.started(WorkPlan::Recovery)
        } else {
            self.started(WorkPlan::Deploy)
        }
    }

    /// An update waits before killing the instance's task, saying why.
    pub fn update_waits(&mut self, instance: &str, why: &str) {
        if let Some(mut step) = self.deploy.find_mut(instance) {
            step.set_status(Status::Prepared);
            step.message = why.to_string();
        }
    }

    /// An update killed the instance's task to relaunch it under the target.
    pub fn update_kills(&mut self, instance: &str) {
        if let Some(mut step) = self.deploy.find_mut(instance) {
            step.set_status(Status::Starting);
            step.message = "killing the task to relaunch it under the target configuration".into();
        }
    }

    /// The deploy step of `instance`, if any.
    pub fn deploy_step(&mut self, instance: &str) -> Option<StepMut<'_>> {
        self.deploy.find_mut(instance)
    }

    /// Applies an operator command to the plan `which`: to a copy first, which `keep`
    /// sees (with what the command did) before the plan becomes it; an error of `keep`
    /// leaves the plan as it was.
    pub fn command<E: From<PlanCommandError>>(
        &mut self,
        which: WorkPlan,
        command: PlanCommand,
        keep: impl FnOnce(&Plan, &Applied) -> Result<(), E>,
    ) -> Result<Applied, E> {
        let mut next = self.get(which).clone();
        let applied = super::apply(&mut next, command)?;
        if !applied.restarted.is_empty() {
            next.renew();
        }
        keep(&next, &applied)?;
        *self.get_mut(which) = next;
        Ok(applied)
    }

    /// Lays stored operator decisions over the plan `which`.
    pub fn restore(&mut self, which: WorkPlan, overrides: &Overrides, config_id: &str) {
        overrides.restore(self.get_mut(which), config_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plans() -> WorkPlans {
        WorkPlans::rebuild(
            Strategy::Serial,
            vec![(
                "data".into(),
                vec![
                    ("data-0".into(), Status::Complete),
                    ("data-1".into(), Status::Pending),
                ],
            )],
            Vec::<String>::new(),
        )
    }

    fn status(plans: &WorkPlans, which: WorkPlan, instance: &str) -> Option<Status> {
        let plan = plans.get(which);
        plan.find(instance)
            .and_then(|at| plan.step(at))
            .map(|s| s.status())
    }

    #[test]
    fn a_failure_before_the_deploy_step_is_done_stays_in_the_deploy_plan() {
        let mut p = plans();
        let (which, at) = p.select()[0];
        assert_eq!(which, WorkPlan::Deploy);
        p.launched(which, at, "data-1__a", "host");
        assert_eq!(
            status(&p, WorkPlan::Deploy, "data-1"),
            Some(Status::Starting)
        );
        let ended = Ended {
            replacing: false,
            delayed_until: None,
            message: "failed".into(),
        };
        p.ended("data-1", ended.clone());
        assert_eq!(
            status(&p, WorkPlan::Deploy, "data-1"),
            Some(Status::Pending)
        );
        assert_eq!(status(&p, WorkPlan::Recovery, "data-1"), None);
        // A deployed instance that fails is recovered by the recovery plan.
        p.ended("data-0", ended);
        assert_eq!(
            status(&p, WorkPlan::Recovery, "data-0"),
            Some(Status::Pending)
        );
        assert_eq!(p.select()[0], (WorkPlan::Recovery, (0, 0)));
    }

    #[test]
    fn a_restart_shows_at_once_and_each_new_work_is_a_new_generation() {
        let mut p = plans();
        assert_eq!(p.recovery().generation(), 1);
        let started = p.restarting("data-0", "killing data-0__a");
        let recovery = |generation| Started {
            plan: "recovery".into(),
            generation,
        };
        assert_eq!(started, recovery(2));
        assert_eq!(
            status(&p, WorkPlan::Recovery, "data-0"),
            Some(Status::Starting)
        );
        assert!(!p.recovery().is_complete(), "the restart shows at once");
        assert!(p.select().iter().all(|(w, _)| *w == WorkPlan::Deploy));
        // The kill's status: the same work, now to launch.
        let killed = Ended {
            replacing: false,
            delayed_until: None,
            message: "killed".into(),
        };
        p.ended("data-0", killed);
        assert_eq!(
            status(&p, WorkPlan::Recovery, "data-0"),
            Some(Status::Pending)
        );
        assert_eq!(p.recovery().generation(), 2);
        assert_eq!(p.relaunch_of("data-0"), recovery(2));
        // A restart while one is under way is that one.
        assert_eq!(p.restarting("data-0", "again"), recovery(2));
        // data-1 is not deployed yet: relaunching it is the deploy plan's work.
        let deploy = Started {
            plan: "deploy".into(),
            generation: 1,
        };
        assert_eq!(p.restarting("data-1", "killing"), deploy);
        // Once done, a replace is new work.
        p.reached_goal("data-0", true, "running");
        assert!(p.recovery().is_complete());
        assert_eq!(p.replace("data-0", "replace requested"), recovery(3));
    }

    #[test]
    fn a_delayed_relaunch_waits_and_wakes() {
        let mut p = plans();
        let now = Instant::now();
        let until = now + std::time::Duration::from_secs(4);
        p.ended(
            "data-0",
            Ended {
                replacing: true,
                delayed_until: Some(until),
                message: "failed again".into(),
            },
        );
        let step = |p: &WorkPlans| p.recovery().steps().next().cloned().unwrap();
        assert_eq!(step(&p).kind, StepKind::Replace);
        assert_eq!(step(&p).delayed_until(), Some(until));
        p.wake(now);
        assert_eq!(step(&p).delayed_until(), Some(until));
        p.wake(until);
        assert_eq!(step(&p).status(), Status::Pending);
    }

    #[test]
    fn goals_complete_only_current_deploy_steps() {
        let mut p = plans();
        p.mark_update("data-0", "old", "new");
        assert_eq!(p.deploy().steps().next().unwrap().kind, StepKind::Update);
        p.reached_goal("data-0", false, "still old");
        assert_eq!(
            status(&p, WorkPlan::Deploy, "data-0"),
            Some(Status::Pending)
        );
        p.reached_goal("data-0", true, "running");
        assert_eq!(
            status(&p, WorkPlan::Deploy, "data-0"),
            Some(Status::Complete)
        );
    }

    #[test]
    fn names() {
        for name in ["deploy", "recovery", "decommission", "uninstall", "backup"] {
            assert_eq!(PlanName::parse(name).as_str(), name);
        }
        assert_eq!(
            WorkPlans::which(&PlanName::parse("recovery")),
            Some(WorkPlan::Recovery)
        );
        assert_eq!(WorkPlans::which(&PlanName::Uninstall), None);
    }
}
