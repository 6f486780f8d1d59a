//! Service specifications: the traits a service implements (by hand, or through
//! [`task_type!`](crate::task_type) and [`#[service]`](crate::service)), the
//! canonical [`ServiceSpec`] they are turned into, and its validation.
//!
//! [`build_spec`] calls every trait method (including `command(index)` for every
//! instance) and checks the result with the same rules the macros apply at compile
//! time, so a hand-written spec with `cpus = 0` gets the same message as the DSL.
//!
//! The canonical model, the rules, placement, units, overrides and update checks
//! are re-exported from `stead_spec`.

mod build;
mod command;
mod traits;

pub use build::{build_spec, build_spec_with};
pub use command::{command_info, command_spec};
pub use stead_spec::*;
pub use traits::{
    DefaultResourceSpecification, DefaultVolumeSpecification, NamedTaskType, ResourceSpecification,
    ServiceSpecification, TaskTypeSpecification, VolumeSpecification,
};

/// Support items for the macro expansions; not a public API.
#[doc(hidden)]
pub mod __private {
    /// Byte-wise string equality usable in constants (task name uniqueness checks).
    pub const fn str_eq(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::__private::str_eq;

    #[test]
    fn const_string_equality() {
        const SAME: bool = str_eq("data", "data");
        const _: () = assert!(SAME, "str_eq works in constants");
        assert!(str_eq("data", "data"));
        assert!(!str_eq("data", "date"));
        assert!(!str_eq("data", "data-2"));
        assert!(str_eq("", ""));
    }
}
