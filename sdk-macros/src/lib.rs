//! The compile-time checked service DSL: `task_type!` and `#[service]`.
