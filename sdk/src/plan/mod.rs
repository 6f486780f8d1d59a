//! Plans: the work the scheduler does, as phases of steps with statuses and strategies.
//!
//! Plans are never stored: the scheduler rebuilds them from the stored state at every
//! start (see [`deploy_plan`]). Snapshots ([`PlanSnapshot`]) are what the operator API shows.

mod census;
mod commands;
mod coordinator;
mod model;
mod status;
mod work;

pub use commands::{Applied, Overrides, PlanCommand, PlanCommandError, apply};
pub use coordinator::{Selected, select};
pub use model::{
    Phase, PhaseSnapshot, Plan, PlanSnapshot, Step, StepKind, StepMut, StepRef, StepSnapshot,
    Strategy,
};
pub use status::Status;
pub use work::{Ended, PlanName, Started, WorkPlan, WorkPlans};

/// The name of the deploy plan.
pub const DEPLOY: &str = "deploy";
/// The name of the recovery plan.
pub const RECOVERY: &str = "recovery";
/// The name of the decommission plan (instances removed by a lower count).
pub const DECOMMISSION: &str = "decommission";
/// The name of the uninstall plan.
pub const UNINSTALL: &str = "uninstall";
/// The name of the uninstall plan's last step (and of its phase).
pub const TEARDOWN: &str = "teardown";

/// Builds the deploy plan: one phase per task type, one step per instance.
///
/// `phases` lists, per task type, its instances with their current status as derived
/// from the stored state (e.g. COMPLETE for an instance known to be running).
pub fn deploy_plan(strategy: Strategy, phases: Vec<(String, Vec<(String, Status)>)>) -> Plan {
    let phases = phases
        .into_iter()
        .map(|(name, instances)| {
            let steps = instances
                .into_iter()
                .map(|(instance, status)| {
                    let mut step = Step::new(instance, StepKind::Launch);
                    step.set_status(status);
                    step
                })
                .collect();
            Phase::new(name, strategy, steps)
        })
        .collect();
    Plan::new(DEPLOY, strategy, phases)
}

/// Builds the decommission plan: one phase per instance, in the given order (highest
/// index first), each with one [`StepKind::Decommission`] step, run serially.
pub fn decommission_plan(instances: Vec<(String, Status)>) -> Plan {
    let phases = instances
        .into_iter()
        .map(|(instance, status)| {
            let mut step = Step::new(instance.clone(), StepKind::Decommission);
            step.set_status(status);
            Phase::new(instance, Strategy::Serial, vec![step])
        })
        .collect();
    Plan::new(DECOMMISSION, Strategy::Serial, phases)
}

/// Builds the uninstall plan: a parallel phase retiring every instance (kill, destroy
/// volumes, unreserve, erase), then the [`TEARDOWN`] phase (deregister, wipe the state).
pub fn uninstall_plan(instances: Vec<(String, Status)>) -> Plan {
    let steps = instances
        .into_iter()
        .map(|(instance, status)| {
            let mut step = Step::new(instance, StepKind::Decommission);
            step.set_status(status);
            step
        })
        .collect();
    let teardown = Step::new(TEARDOWN, StepKind::Teardown);
    Plan::new(
        UNINSTALL,
        Strategy::Serial,
        vec![
            Phase::new("release", Strategy::Parallel, steps),
            Phase::new(TEARDOWN, Strategy::Serial, vec![teardown]),
        ],
    )
}

/// An empty recovery plan; steps are added as instances fail.
pub fn recovery_plan() -> Plan {
    Plan::new(RECOVERY, Strategy::Parallel, Vec::new())
}

/// Adds a step for `instance` to a recovery plan (or resets the existing one to `kind`).
pub fn add_recovery<'a>(plan: &'a mut Plan, instance: &str, kind: StepKind) -> StepMut<'a> {
    let at = match plan.find(instance) {
        Some(at) => at,
        None => {
            let phase = Phase::new(instance, Strategy::Serial, vec![Step::new(instance, kind)]);
            plan.push_phase(phase);
            (plan.phases().len() - 1, 0)
        }
    };
    // Invariant: `at` is the position `find` returned, or that of the step just pushed.
    let mut step = plan.step_mut(at).expect("a step at a known position");
    step.kind = kind;
    step
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deploy_plan_from_state() {
        let plan = deploy_plan(
            Strategy::Serial,
            vec![
                (
                    "meta-data".into(),
                    vec![
                        ("meta-data-0".into(), Status::Complete),
                        ("meta-data-1".into(), Status::Starting),
                    ],
                ),
                ("data".into(), vec![("data-0".into(), Status::Pending)]),
            ],
        );
        assert_eq!(plan.name, DEPLOY);
        assert_eq!(plan.status(), Status::InProgress);
        assert!(plan.candidates().is_empty(), "meta-data-1 is in flight");
    }

    #[test]
    fn decommission_runs_one_instance_at_a_time_in_order() {
        let mut plan = decommission_plan(vec![
            ("data-4".into(), Status::Pending),
            ("data-3".into(), Status::Pending),
        ]);
        assert_eq!(plan.name, DECOMMISSION);
        assert_eq!(plan.candidates(), vec![(0, 0)]);
        plan.find_mut("data-4")
            .unwrap()
            .set_status(Status::Complete);
        assert_eq!(plan.candidates(), vec![(1, 0)]);
        assert_eq!(plan.step((1, 0)).unwrap().kind, StepKind::Decommission);
        assert!(decommission_plan(Vec::new()).is_complete());
    }

    #[test]
    fn uninstall_tears_down_after_every_instance_is_released() {
        let mut plan = uninstall_plan(vec![
            ("a-0".into(), Status::Pending),
            ("a-1".into(), Status::Pending),
        ]);
        assert_eq!(plan.candidates(), vec![(0, 0), (0, 1)]);
        for i in 0..2 {
            plan.step_mut((0, i)).unwrap().set_status(Status::Complete);
        }
        assert_eq!(plan.candidates(), vec![(1, 0)]);
        assert_eq!(plan.step((1, 0)).unwrap().kind, StepKind::Teardown);
        assert_eq!(plan.find(TEARDOWN), Some((1, 0)));
    }

    #[test]
    fn recovery_steps_are_reused() {
        let mut plan = recovery_plan();
        assert!(plan.is_complete());
        add_recovery(&mut plan, "data-0", StepKind::Recover);
        add_recovery(&mut plan, "data-0", StepKind::Replace);
        assert_eq!(plan.steps().count(), 1);
        assert_eq!(plan.steps().next().unwrap().kind, StepKind::Replace);
        assert_eq!(plan.candidates(), vec![(0, 0)]);
    }
}
