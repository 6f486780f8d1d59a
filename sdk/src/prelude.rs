//! Everything a service author needs: `use stead::prelude::*;`.

pub use crate::scheduler::DefaultService;
pub use crate::spec::{
    CheckSpec, CommandSpec, DefaultResourceSpecification, DefaultVolumeSpecification, GoalState,
    NamedTaskType, PortSpec, ResourceSpecification, ServiceSpecification, TaskTypeSpecification,
    UriSpec, VolumeSpecification, VolumeType, build_spec,
};
pub use crate::{service, task_type};
