//! Operator commands on a plan ([`PlanCommand`]), and what of them outlives the scheduler
//! ([`Overrides`]): plans are rebuilt from the stored state at every start, so an
//! interrupted plan or phase, an approved canary and a force-completed step are stored
//! as overrides and laid over the rebuilt plan.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Plan, Status};

/// An operator command on a plan. Phase and step ids were checked against the plan's
/// current snapshot by the API before the command reaches the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum PlanCommand {
    /// Stop starting new work: the whole plan, or only `phase`.
    Interrupt {
        /// The phase to interrupt; the whole plan when `None`.
        phase: Option<Uuid>,
    },
    /// Resume after [`PlanCommand::Interrupt`]: the whole plan, or only `phase`.
    Continue {
        /// The phase to resume; the whole plan when `None`.
        phase: Option<Uuid>,
    },
    /// Reset to PENDING (so the work is done again): the plan, one phase or one step.
    Restart {
        /// The phase to restart (or the phase of `step`); the whole plan when `None`.
        phase: Option<Uuid>,
        /// The step to restart; the whole phase when `None`.
        step: Option<Uuid>,
    },
    /// Mark COMPLETE without doing the work: the plan, one phase or one step.
    ForceComplete {
        /// The phase to complete (or the phase of `step`); the whole plan when `None`.
        phase: Option<Uuid>,
        /// The step to complete; the whole phase when `None`.
        step: Option<Uuid>,
    },
}

/// A [`PlanCommand`] that names what the plan does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanCommandError {
    /// No phase of the plan has this id.
    #[error("phase {phase} not found in plan {plan:?}")]
    UnknownPhase {
        /// The plan's name.
        plan: String,
        /// The id asked for.
        phase: Uuid,
    },
    /// No step (of the phase, when one was named) has this id.
    #[error("step {step} not found in plan {plan:?}")]
    UnknownStep {
        /// The plan's name.
        plan: String,
        /// The id asked for.
        step: Uuid,
    },
}

/// What an applied command did to the plan's steps.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Instances whose steps were reset to PENDING (their running task is to be restarted).
    pub restarted: BTreeSet<String>,
    /// Instances whose steps were marked COMPLETE.
    pub completed: BTreeSet<String>,
}

/// The operator's decisions on one plan that must survive a restart of the scheduler,
/// by phase and instance name (ids are new at every start).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overrides {
    /// The whole plan is interrupted.
    #[serde(default)]
    pub interrupted: bool,
    /// Interrupted phases.
    #[serde(default)]
    pub interrupted_phases: BTreeSet<String>,
    /// Canary phases the operator let go on.
    #[serde(default)]
    pub approved_canaries: BTreeSet<String>,
    /// Force-completed steps: instance name -> the target configuration they were
    /// completed under (a new target makes the work due again).
    #[serde(default)]
    pub completed: BTreeMap<String, String>,
}

impl Overrides {
    /// Whether nothing is overridden.
    pub fn is_empty(&self) -> bool {
        *self == Overrides::default()
    }

    /// Records the effect of `command` applied to `plan` (after [`apply`]); `config_id`
    /// is the target configuration.
    pub fn record(
        &mut self,
        plan: &Plan,
        command: PlanCommand,
        applied: &Applied,
        config_id: &str,
    ) {
        let phase_name = |id: Option<Uuid>| {
            id.and_then(|id| plan.phases().iter().find(|p| p.id == id))
                .map(|p| p.name.clone())
        };
        match command {
            PlanCommand::Interrupt { phase: None } => self.interrupted = true,
            PlanCommand::Interrupt { phase } => self.interrupted_phases.extend(phase_name(phase)),
            PlanCommand::Continue { phase } => {
                match phase_name(phase) {
                    Some(name) => {
                        self.interrupted_phases.remove(&name);
                    }
                    None => {
                        self.interrupted = false;
                        self.interrupted_phases.clear();
                    }
                }
                self.approved_canaries.extend(
                    plan.phases()
                        .iter()
                        .filter(|p| p.is_canary_approved())
                        .map(|p| p.name.clone()),
                );
            }
            PlanCommand::Restart { .. } | PlanCommand::ForceComplete { .. } => {}
        }
        for instance in &applied.restarted {
            self.completed.remove(instance);
        }
        for instance in &applied.completed {
            self.completed
                .insert(instance.clone(), config_id.to_string());
        }
    }

    /// Lays the overrides over a plan rebuilt from the stored state; steps completed
    /// under another target than `config_id` are due again.
    pub fn restore(&self, plan: &mut Plan, config_id: &str) {
        if self.interrupted {
            plan.interrupt();
        }
        for pi in 0..plan.phases().len() {
            let Some(phase) = plan.phase_mut(pi) else {
                continue;
            };
            if self.interrupted_phases.contains(&phase.name) {
                phase.interrupt();
            }
            if self.approved_canaries.contains(&phase.name) {
                phase.grant_canary();
            }
            for si in 0..phase.steps().len() {
                let Some(mut step) = phase.step_mut(si) else {
                    continue;
                };
                if self.completed.get(&step.instance).map(String::as_str) == Some(config_id)
                    && !step.status().is_complete()
                {
                    step.set_status(Status::Complete);
                    step.message = "completed by the operator".into();
                }
            }
        }
    }
}

/// Applies an operator command to `plan`; returns which steps it reset or completed.
pub fn apply(plan: &mut Plan, command: PlanCommand) -> Result<Applied, PlanCommandError> {
    let phase_index = |plan: &Plan, id: Option<Uuid>| -> Result<Option<usize>, PlanCommandError> {
        match id {
            None => Ok(None),
            Some(id) => plan
                .phases()
                .iter()
                .position(|p| p.id == id)
                .map(Some)
                .ok_or_else(|| PlanCommandError::UnknownPhase {
                    plan: plan.name.clone(),
                    phase: id,
                }),
        }
    };
    let mut applied = Applied::default();
    match command {
        PlanCommand::Interrupt { phase } => match phase_index(plan, phase)? {
            Some(pi) => plan.phase_mut(pi).into_iter().for_each(|p| p.interrupt()),
            None => plan.interrupt(),
        },
        PlanCommand::Continue { phase } => match phase_index(plan, phase)? {
            Some(pi) => plan.phase_mut(pi).into_iter().for_each(|p| p.proceed()),
            None => {
                plan.proceed();
                for pi in 0..plan.phases().len() {
                    plan.phase_mut(pi).into_iter().for_each(|p| p.proceed());
                }
            }
        },
        PlanCommand::Restart { phase, step } | PlanCommand::ForceComplete { phase, step } => {
            let restart = matches!(command, PlanCommand::Restart { .. });
            let pi = phase_index(plan, phase)?;
            for i in 0..plan.phases().len() {
                if pi.is_some_and(|pi| pi != i) {
                    continue;
                }
                let Some(p) = plan.phase_mut(i) else { continue };
                for si in 0..p.steps().len() {
                    let Some(mut s) = p.step_mut(si) else {
                        continue;
                    };
                    if step.is_some_and(|id| id != s.id) {
                        continue;
                    }
                    if restart {
                        s.errors.clear();
                        s.set_status(Status::Pending);
                        s.message = "restarted by the operator".into();
                        applied.restarted.insert(s.instance.clone());
                    } else {
                        s.set_status(Status::Complete);
                        s.message = "completed by the operator".into();
                        applied.completed.insert(s.instance.clone());
                    }
                }
            }
            if let Some(id) = step
                && applied.restarted.is_empty()
                && applied.completed.is_empty()
            {
                return Err(PlanCommandError::UnknownStep {
                    plan: plan.name.clone(),
                    step: id,
                });
            }
        }
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Phase, Step, StepKind, Strategy};

    fn plan(strategy: Strategy) -> Plan {
        let phase = |name: &str| {
            Phase::new(
                name,
                strategy,
                (0..2)
                    .map(|i| Step::new(format!("{name}-{i}"), StepKind::Launch))
                    .collect(),
            )
        };
        Plan::new("deploy", Strategy::Serial, vec![phase("a"), phase("b")])
    }

    #[test]
    fn interrupt_and_continue_phases() {
        let mut p = plan(Strategy::Serial);
        let b = p.phases()[1].id;
        apply(&mut p, PlanCommand::Interrupt { phase: Some(b) }).unwrap();
        assert!(p.phases()[1].is_interrupted() && !p.is_interrupted());
        apply(&mut p, PlanCommand::Interrupt { phase: None }).unwrap();
        assert!(p.candidates().is_empty());
        apply(&mut p, PlanCommand::Continue { phase: None }).unwrap();
        assert!(!p.phases()[1].is_interrupted() && !p.is_interrupted());
        assert_eq!(p.candidates(), vec![(0, 0)]);
        let unknown = Uuid::new_v4();
        let err = apply(
            &mut p,
            PlanCommand::Continue {
                phase: Some(unknown),
            },
        )
        .unwrap_err();
        assert_eq!(
            err,
            PlanCommandError::UnknownPhase {
                plan: "deploy".into(),
                phase: unknown
            }
        );
    }

    #[test]
    fn force_complete_then_restart() {
        let mut p = plan(Strategy::Serial);
        let a = p.phases()[0].id;
        let b1 = p.phases()[1].steps()[1].id;
        let done = apply(
            &mut p,
            PlanCommand::ForceComplete {
                phase: Some(a),
                step: None,
            },
        )
        .unwrap();
        assert_eq!(done.completed.len(), 2);
        assert_eq!(p.candidates(), vec![(1, 0)]);
        apply(
            &mut p,
            PlanCommand::ForceComplete {
                phase: None,
                step: Some(b1),
            },
        )
        .unwrap();
        assert_eq!(p.phases()[1].steps()[1].status(), Status::Complete);
        let redo = apply(
            &mut p,
            PlanCommand::Restart {
                phase: None,
                step: None,
            },
        )
        .unwrap();
        assert!(p.steps().all(|s| s.status() == Status::Pending));
        assert_eq!(redo.restarted.len(), 4);
        let err = apply(
            &mut p,
            PlanCommand::Restart {
                phase: Some(a),
                step: Some(b1),
            },
        )
        .unwrap_err();
        assert!(
            matches!(err, PlanCommandError::UnknownStep { step, .. } if step == b1),
            "step b-1 is not in phase a"
        );
    }

    #[test]
    fn interrupts_and_forced_completions_survive_a_rebuild() {
        let p = plan(Strategy::Serial);
        let (a, b) = (p.phases()[0].id, p.phases()[1].id);
        let a0 = p.phases()[0].steps()[0].id;
        // Ids differ between builds: commands are replayed on the plan they name.
        let mut live = p;
        let mut overrides = Overrides::default();
        for command in [
            PlanCommand::Interrupt { phase: None },
            PlanCommand::Interrupt { phase: Some(b) },
            PlanCommand::ForceComplete {
                phase: Some(a),
                step: Some(a0),
            },
        ] {
            let applied = apply(&mut live, command).unwrap();
            overrides.record(&live, command, &applied, "cfg-1");
        }
        let mut rebuilt = plan(Strategy::Serial);
        overrides.restore(&mut rebuilt, "cfg-1");
        assert!(rebuilt.is_interrupted());
        assert!(rebuilt.phases()[1].is_interrupted());
        assert!(!rebuilt.phases()[0].is_interrupted());
        assert_eq!(rebuilt.phases()[0].steps()[0].status(), Status::Complete);
        assert!(rebuilt.candidates().is_empty());
        // A new target configuration makes the forced step's work due again.
        let mut next = plan(Strategy::Serial);
        overrides.restore(&mut next, "cfg-2");
        assert_eq!(next.phases()[0].steps()[0].status(), Status::Pending);
        // Continue lifts the interrupts, restart the forced completion.
        let applied = apply(&mut live, PlanCommand::Continue { phase: None }).unwrap();
        overrides.record(
            &live,
            PlanCommand::Continue { phase: None },
            &applied,
            "cfg-1",
        );
        let restart = PlanCommand::Restart {
            phase: Some(a),
            step: Some(a0),
        };
        let applied = apply(&mut live, restart).unwrap();
        overrides.record(&live, restart, &applied, "cfg-1");
        assert!(overrides.is_empty(), "{overrides:?}");
    }

    #[test]
    fn an_approved_canary_stays_approved() {
        let mut live = plan(Strategy::Canary);
        live.step_mut((0, 0)).unwrap().set_status(Status::Complete);
        assert!(live.phases()[0].awaits_canary_approval());
        let mut overrides = Overrides::default();
        let applied = apply(&mut live, PlanCommand::Continue { phase: None }).unwrap();
        overrides.record(&live, PlanCommand::Continue { phase: None }, &applied, "c");
        let mut rebuilt = plan(Strategy::Canary);
        rebuilt
            .step_mut((0, 0))
            .unwrap()
            .set_status(Status::Complete);
        overrides.restore(&mut rebuilt, "c");
        assert!(!rebuilt.phases()[0].awaits_canary_approval());
        assert_eq!(rebuilt.candidates(), vec![(0, 1)]);
    }
}
