//! The checked values of one task type: what `check` produces and `generate` emits.

use std::time::Duration;
use stead_spec::{CheckSpec, CommandSpec, GoalState, PortSpec, VolumeType};

/// A volume as declared.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    /// Its size in MiB.
    pub size_mib: u64,
    /// ROOT or MOUNT.
    pub kind: VolumeType,
    /// The container path, relative to the sandbox.
    pub path: String,
}

/// The checked values of one task type (defaults where a value was missing or
/// invalid, so that the expansion still compiles).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskType {
    /// The path through which the expansion reaches Stead (`::stead` by default).
    pub crate_path: syn::Path,
    /// The task type name.
    pub name: String,
    /// The number of instances.
    pub count: u32,
    /// The command template with its URIs and environment.
    pub command: CommandSpec,
    /// CPUs per instance.
    pub cpus: f64,
    /// Memory per instance, in MiB.
    pub mem: f64,
    /// Scratch disk per instance, in MiB.
    pub disk: Option<f64>,
    /// Persistent volumes per instance.
    pub volumes: Vec<Volume>,
    /// Named ports.
    pub ports: Vec<PortSpec>,
    /// Placement rules, each as text.
    pub placement: Vec<String>,
    /// The health check.
    pub health_check: Option<CheckSpec>,
    /// The readiness check.
    pub readiness_check: Option<CheckSpec>,
    /// What the tasks are meant to do: keep running, finish, or run once.
    pub goal: GoalState,
    /// Whether lowering `count` may remove instances.
    pub allow_decommission: bool,
    /// How long a killed task has to stop before it is killed hard.
    pub kill_grace_period: Option<Duration>,
}
