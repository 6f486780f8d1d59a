//! Building the canonical [`ServiceSpec`] from any [`ServiceSpecification`].

use super::command::command_spec;
use super::traits::{ServiceSpecification, TaskTypeSpecification};
use stead_spec::overrides::count_override;
use stead_spec::{
    Commands, Override, ResourceSpec, ServiceSpec, SpecErrors, TaskTypeSpec, VolumeSpec,
    apply_overrides, rules, task_location,
};

/// Builds and validates the canonical spec of `spec`. Every rule violation is
/// reported, each naming its task type.
pub fn build_spec(spec: &dyn ServiceSpecification) -> Result<ServiceSpec, SpecErrors> {
    build_spec_with(spec, &[])
}

/// Like [`build_spec`], with operator overrides applied before validation. A
/// `count` override is applied before the per-instance commands are collected, so
/// a hand-written `command(index)` is asked for every new index too.
pub fn build_spec_with(
    spec: &dyn ServiceSpecification,
    overrides: &[Override],
) -> Result<ServiceSpec, SpecErrors> {
    let name = spec.name();
    let mut out = ServiceSpec::new(name);
    out.role = spec.role();
    out.principal = spec.principal();
    let mut errors = SpecErrors::default();
    for task in spec.task_types() {
        let built = task_type(task.as_ref(), &out, overrides, &mut errors);
        out.task_types.push(built);
    }
    if let Err(more) = apply_overrides(&mut out, overrides) {
        errors.0.extend(more);
    }
    out.normalize();
    errors.into_result(out)
}

fn task_type(
    task: &dyn TaskTypeSpecification,
    service: &ServiceSpec,
    overrides: &[Override],
    errors: &mut SpecErrors,
) -> TaskTypeSpec {
    let name = task.name();
    let count = count_override(overrides, &name).unwrap_or_else(|| task.count());
    let command = match task.command_template() {
        Some(template) => Commands::Template(template),
        None => {
            let commands: Vec<_> = (0..count).map(|i| command_spec(&task.command(i))).collect();
            match commands.first() {
                Some(first) if commands.iter().all(|c| c == first) => {
                    Commands::Template(first.clone())
                }
                _ => Commands::PerInstance(commands),
            }
        }
    };
    let placement = task
        .placement()
        .iter()
        .flat_map(|p| match rules::placement(p) {
            Ok(rules) => rules,
            Err(e) => {
                errors.push(e.at(task_location(&name)));
                Vec::new()
            }
        })
        .collect();
    let resources = task
        .resources()
        .iter()
        .map(|r| ResourceSpec {
            name: r.name(),
            value: r.value(),
            role: r.role().unwrap_or_else(|| service.role.clone()),
            principal: r.principal().unwrap_or_else(|| service.principal.clone()),
        })
        .collect();
    let volumes = task
        .volumes()
        .iter()
        .map(|v| VolumeSpec {
            size_mib: v.size_mib(),
            kind: v.volume_type(),
            container_path: v.container_path(),
            role: v.role().unwrap_or_else(|| service.role.clone()),
            principal: v.principal().unwrap_or_else(|| service.principal.clone()),
        })
        .collect();
    TaskTypeSpec {
        count,
        goal: task.goal(),
        command,
        resources,
        volumes,
        ports: task.ports(),
        placement,
        health_check: task.health_check(),
        readiness_check: task.readiness_check(),
        allow_decommission: task.allow_decommission(),
        kill_grace_period: task.kill_grace_period(),
        name,
    }
}
