//! The service specification data model and its validation rules, shared by the
//! DSL macros (at compile time) and the runtime (for hand-written specs and
//! operator overrides).
//!
//! - [`model`]: the canonical, serde-serializable [`ServiceSpec`] and its content id.
//! - [`rules`]: one small function per validation rule.
//! - [`validate`](ServiceSpec::validate): every rule applied to a whole spec.
//! - [`placement`]: placement rules (`hostname:UNIQUE`, ...).
//! - [`units`]: sizes (`512 MiB`) and durations (`10s`).
//! - [`overrides`]: `--set data.count=5` and `STEAD_DATA_COUNT=5`.
//! - [`update`]: what changed between two specs and whether the update is allowed.

pub mod error;
pub mod model;
pub mod overrides;
pub mod placement;
pub mod rules;
pub mod suggest;
pub mod units;
pub mod update;
mod validate;

pub use error::{RuleError, SpecError, SpecErrors};
pub use model::{
    CheckSpec, CommandSpec, Commands, ConfigId, GoalState, PortSpec, ResourceSpec, ServiceSpec,
    TaskTypeSpec, UriSpec, VolumeSpec, VolumeType, default_principal, default_role, instance_name,
    render_template,
};
pub use overrides::{Override, apply_overrides, overrides_from_env};
pub use placement::PlacementRule;
pub use update::Change;
pub use validate::task_location;

#[cfg(test)]
mod tests;
