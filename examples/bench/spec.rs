//! The benchmark service: one task type of `count` instances, each with a persistent volume.

use stead::spec::{CommandSpec, ServiceSpec, TaskTypeSpec, VolumeSpec, VolumeType};

/// The service's name (also the framework name on the cluster).
pub const SERVICE: &str = "bench";

/// `count` instances of 0.1 cpu, 32 MiB and a 64 MiB ROOT volume at `data`, running
/// `command` (ignored by simulated agents).
pub fn spec(count: u32, command: &str) -> ServiceSpec {
    let mut spec = ServiceSpec::new(SERVICE);
    let mut tt = TaskTypeSpec::new("node", count, CommandSpec::new(command));
    tt.set_resource("cpus", 0.1, &spec.role, &spec.principal);
    tt.set_resource("mem", 32.0, &spec.role, &spec.principal);
    tt.volumes.push(VolumeSpec {
        size_mib: 64,
        kind: VolumeType::Root,
        container_path: "data".into(),
        role: spec.role.clone(),
        principal: spec.principal.clone(),
    });
    spec.task_types.push(tt);
    spec
}
