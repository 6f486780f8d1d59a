//! The specification traits of the original design, and their default implementations.

use crate::proto::v1::CommandInfo;
use std::time::Duration;
use stead_spec::{
    CheckSpec, CommandSpec, GoalState, PortSpec, VolumeType, default_principal, default_role,
};

/// A service: a name and its task types.
pub trait ServiceSpecification: Send + Sync {
    /// The service name (a DNS-1123 label, e.g. `data-store`).
    fn name(&self) -> String;

    /// The task types, in deployment order.
    fn task_types(&self) -> Vec<Box<dyn TaskTypeSpecification>>;

    /// The Mesos role; `<name>-role` by default.
    fn role(&self) -> String {
        default_role(&self.name())
    }

    /// The Mesos principal; `<name>-principal` by default.
    fn principal(&self) -> String {
        default_principal(&self.name())
    }
}

/// A kind of task, run as `count()` instances named `<name>-<index>`.
pub trait TaskTypeSpecification: Send + Sync {
    /// The task type name (a DNS-1123 label, e.g. `meta-data`).
    fn name(&self) -> String;

    /// How many instances to run (>= 1).
    fn count(&self) -> u32;

    /// The command of instance `index` (0-based).
    fn command(&self, index: u32) -> CommandInfo;

    /// The command template rendered for every index, when there is one
    /// (`task_type!` declares it). Without it, `command(i)` is recorded per index.
    fn command_template(&self) -> Option<CommandSpec> {
        None
    }

    /// Scalar resources per instance; `cpus` and `mem` are required.
    fn resources(&self) -> Vec<Box<dyn ResourceSpecification>>;

    /// Persistent volumes per instance.
    fn volumes(&self) -> Vec<Box<dyn VolumeSpecification>> {
        Vec::new()
    }

    /// Named ports per instance (0 = any free port).
    fn ports(&self) -> Vec<PortSpec> {
        Vec::new()
    }

    /// Placement rules (e.g. `hostname:UNIQUE`); each string may hold several joined by `;`.
    fn placement(&self) -> Vec<String> {
        Vec::new()
    }

    /// The health check, if any.
    fn health_check(&self) -> Option<CheckSpec> {
        None
    }

    /// The readiness check, if any.
    fn readiness_check(&self) -> Option<CheckSpec> {
        None
    }

    /// Whether instances run forever (the default) or to completion.
    fn goal(&self) -> GoalState {
        GoalState::Running
    }

    /// Whether lowering the count may decommission instances.
    fn allow_decommission(&self) -> bool {
        false
    }

    /// The time between SIGTERM and SIGKILL when killing, if not the default.
    fn kill_grace_period(&self) -> Option<Duration> {
        None
    }
}

/// A task type whose name is known at compile time (emitted by `task_type!`), so
/// that `#[service]` can check name uniqueness during compilation.
pub trait NamedTaskType {
    /// The task type name.
    const NAME: &'static str;
}

/// A scalar resource such as `cpus` or `mem` (MiB).
pub trait ResourceSpecification: Send + Sync {
    /// The Mesos resource name.
    fn name(&self) -> String;
    /// The amount.
    fn value(&self) -> f64;
    /// The role to reserve for; `None` means the service's role.
    fn role(&self) -> Option<String>;
    /// The principal reserving; `None` means the service's principal.
    fn principal(&self) -> Option<String>;
}

/// A persistent volume.
pub trait VolumeSpecification: Send + Sync {
    /// The size in MiB.
    fn size_mib(&self) -> u64;
    /// ROOT or MOUNT.
    fn volume_type(&self) -> VolumeType;
    /// Where it appears, relative to the task's sandbox.
    fn container_path(&self) -> String;
    /// The role to reserve for; `None` means the service's role.
    fn role(&self) -> Option<String>;
    /// The principal reserving; `None` means the service's principal.
    fn principal(&self) -> Option<String>;
}

/// A plain [`ResourceSpecification`].
#[derive(Clone, Debug, PartialEq)]
pub struct DefaultResourceSpecification {
    name: String,
    value: f64,
    role: Option<String>,
    principal: Option<String>,
}

impl DefaultResourceSpecification {
    /// A resource reserved for an explicit role and principal.
    pub fn new(
        name: impl Into<String>,
        value: f64,
        role: impl Into<String>,
        principal: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            value,
            role: Some(role.into()),
            principal: Some(principal.into()),
        }
    }

    /// A resource reserved for the service's own role and principal.
    pub fn scalar(name: impl Into<String>, value: f64) -> Self {
        Self {
            name: name.into(),
            value,
            role: None,
            principal: None,
        }
    }
}

impl ResourceSpecification for DefaultResourceSpecification {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn value(&self) -> f64 {
        self.value
    }
    fn role(&self) -> Option<String> {
        self.role.clone()
    }
    fn principal(&self) -> Option<String> {
        self.principal.clone()
    }
}

/// A plain [`VolumeSpecification`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultVolumeSpecification {
    size_mib: u64,
    volume_type: VolumeType,
    container_path: String,
    role: Option<String>,
    principal: Option<String>,
}

impl DefaultVolumeSpecification {
    /// A volume reserved for an explicit role and principal.
    pub fn new(
        size_mib: u64,
        volume_type: VolumeType,
        container_path: impl Into<String>,
        role: impl Into<String>,
        principal: impl Into<String>,
    ) -> Self {
        Self {
            size_mib,
            volume_type,
            container_path: container_path.into(),
            role: Some(role.into()),
            principal: Some(principal.into()),
        }
    }

    /// A volume reserved for the service's own role and principal.
    pub fn sized(
        size_mib: u64,
        volume_type: VolumeType,
        container_path: impl Into<String>,
    ) -> Self {
        Self {
            size_mib,
            volume_type,
            container_path: container_path.into(),
            role: None,
            principal: None,
        }
    }
}

impl VolumeSpecification for DefaultVolumeSpecification {
    fn size_mib(&self) -> u64 {
        self.size_mib
    }
    fn volume_type(&self) -> VolumeType {
        self.volume_type
    }
    fn container_path(&self) -> String {
        self.container_path.clone()
    }
    fn role(&self) -> Option<String> {
        self.role.clone()
    }
    fn principal(&self) -> Option<String> {
        self.principal.clone()
    }
}
