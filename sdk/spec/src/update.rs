//! Comparing two specs: what changed, and whether moving from one to the other is allowed.

use crate::error::{SpecError, SpecErrors};
use crate::model::{ServiceSpec, TaskTypeSpec};
use crate::validate::task_location;

/// One difference between a current and a target spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A task type exists only in the target.
    TaskTypeAdded(String),
    /// A task type exists only in the current spec.
    TaskTypeRemoved(String),
    /// The instance count changed.
    CountChanged {
        /// The task type.
        task_type: String,
        /// The current count.
        from: u32,
        /// The target count.
        to: u32,
    },
    /// The volumes changed (not allowed).
    VolumesChanged(String),
    /// Anything that requires restarting instances (command, URIs, resources, ports,
    /// placement, checks, goal, kill grace period).
    TaskConfigChanged(String),
}

fn same_config(a: &TaskTypeSpec, b: &TaskTypeSpec) -> bool {
    let mut a = a.clone();
    let mut b = b.clone();
    a.normalize();
    b.normalize();
    let common = a.count.min(b.count);
    let commands_equal = (0..common).all(|i| a.render_command(i) == b.render_command(i));
    commands_equal
        && a.goal == b.goal
        && a.resources == b.resources
        && a.ports == b.ports
        && a.placement == b.placement
        && a.health_check == b.health_check
        && a.readiness_check == b.readiness_check
        && a.kill_grace_period == b.kill_grace_period
}

impl ServiceSpec {
    /// The changes from `self` (current) to `target`, in task type order.
    pub fn changes(&self, target: &ServiceSpec) -> Vec<Change> {
        let mut changes = Vec::new();
        for old in &self.task_types {
            let Some(new) = target.task_type(&old.name) else {
                changes.push(Change::TaskTypeRemoved(old.name.clone()));
                continue;
            };
            if old.count != new.count {
                changes.push(Change::CountChanged {
                    task_type: old.name.clone(),
                    from: old.count,
                    to: new.count,
                });
            }
            let mut ov = old.volumes.clone();
            let mut nv = new.volumes.clone();
            ov.sort_by(|a, b| a.container_path.cmp(&b.container_path));
            nv.sort_by(|a, b| a.container_path.cmp(&b.container_path));
            if ov != nv {
                changes.push(Change::VolumesChanged(old.name.clone()));
            }
            if !same_config(old, new) {
                changes.push(Change::TaskConfigChanged(old.name.clone()));
            }
        }
        for new in &target.task_types {
            if self.task_type(&new.name).is_none() {
                changes.push(Change::TaskTypeAdded(new.name.clone()));
            }
        }
        changes
    }

    /// Whether the running service (`self`) may be updated to `target`: the name,
    /// role and principal stay, volumes never change, and instances are removed only
    /// where `allow_decommission` is set (in the target, or the current spec for a
    /// removed task type). Returns all the reasons it may not.
    pub fn validate_update(&self, target: &ServiceSpec) -> Result<(), SpecErrors> {
        let mut errors = SpecErrors::default();
        let service = format!("service `{}`", self.name);
        let mut fail =
            |location: String, message: String| errors.push(SpecError { location, message });
        if self.name != target.name {
            fail(
                service.clone(),
                format!("the service name cannot change (to `{}`)", target.name),
            );
        }
        if self.role != target.role {
            fail(
                service.clone(),
                format!(
                    "the role cannot change from `{}` to `{}`",
                    self.role, target.role
                ),
            );
        }
        if self.principal != target.principal {
            fail(
                service.clone(),
                format!(
                    "the principal cannot change from `{}` to `{}`",
                    self.principal, target.principal
                ),
            );
        }
        for change in self.changes(target) {
            match change {
                Change::TaskTypeRemoved(name) => {
                    let allowed = self.task_type(&name).is_some_and(|t| t.allow_decommission);
                    if !allowed {
                        fail(
                            task_location(&name),
                            "cannot be removed: set allow_decommission to remove its instances"
                                .to_string(),
                        );
                    }
                }
                Change::CountChanged {
                    task_type,
                    from,
                    to,
                } if to < from => {
                    let allowed = target
                        .task_type(&task_type)
                        .is_some_and(|t| t.allow_decommission);
                    if !allowed {
                        fail(
                            task_location(&task_type),
                            format!(
                                "count cannot go down from {from} to {to}: set allow_decommission to remove instances"
                            ),
                        );
                    }
                }
                Change::VolumesChanged(name) => fail(
                    task_location(&name),
                    "volumes cannot change once deployed (size, type and path are fixed)"
                        .to_string(),
                ),
                _ => {}
            }
        }
        errors.into_result(())
    }
}
