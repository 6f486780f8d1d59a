//! The plan coordinator: hands out work from several plans so that only one plan
//! touches a pod instance at a time.

use std::collections::HashSet;

use super::{Plan, StepRef};

/// A step chosen by the coordinator: (plan index, position in that plan).
pub type Selected = (usize, StepRef);

/// Chooses the steps that may act now across `plans`, earlier plans first.
///
/// An instance with a step in flight in any plan is left alone by every other plan,
/// and an instance chosen by an earlier plan is not handed to a later one.
pub fn select(plans: &[&Plan]) -> Vec<Selected> {
    let mut out = Vec::new();
    let mut chosen: HashSet<&str> = HashSet::new();
    for (pi, plan) in plans.iter().enumerate() {
        for at in plan.candidates() {
            // Invariant: `candidates` only returns positions that exist in the plan.
            let Some(step) = plan.step(at) else { continue };
            let instance = step.instance.as_str();
            // A plan holds at most one step per instance (recovery reuses an instance's
            // step), so the step `find` returns is the one that may be in flight.
            let busy = plans.iter().any(|p| {
                p.find(instance)
                    .and_then(|a| p.step(a))
                    .is_some_and(|s| s.status().is_in_flight())
            });
            if !busy && chosen.insert(instance) {
                out.push((pi, at));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Phase, Status, Step, StepKind, Strategy};

    #[test]
    fn one_plan_per_instance() {
        let deploy = Plan::new(
            "deploy",
            Strategy::Parallel,
            vec![Phase::new(
                "data",
                Strategy::Parallel,
                vec![
                    Step::new("data-0", StepKind::Launch),
                    Step::new("data-1", StepKind::Launch),
                ],
            )],
        );
        let mut recovery = Plan::new(
            "recovery",
            Strategy::Parallel,
            vec![Phase::new(
                "recover",
                Strategy::Parallel,
                vec![
                    Step::new("data-1", StepKind::Recover),
                    Step::new("data-0", StepKind::Recover),
                ],
            )],
        );
        recovery
            .step_mut((0, 1))
            .unwrap()
            .set_status(Status::Starting);
        let chosen = select(&[&recovery, &deploy]);
        // data-1 goes to recovery (first plan); data-0 is in flight in recovery.
        assert_eq!(chosen, vec![(0, (0, 0))]);
    }
}
