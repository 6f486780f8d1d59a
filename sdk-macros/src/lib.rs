//! The compile-time checked service DSL: [`task_type!`] and [`#[service]`](macro@service).
//!
//! Use them through the `stead` crate (`use stead::prelude::*;`). Every value is
//! checked at compile time with the rules of `stead_spec::rules` (the same rules the
//! runtime applies to hand-written specs); each violation is a compile error at the
//! offending tokens, all errors of one invocation are reported together, and the
//! types are still emitted so that one mistake does not cascade.
//!
//! The expansions refer to `::stead::...`. A crate that depends on Stead under
//! another name, or reaches it through a crate that re-exports it, says so with the
//! `crate` option of each macro: `crate: "my_reexport::stead"` in a task type,
//! `crate = "my_reexport::stead"` in `#[service]`. The path is resolved where the
//! macro is invoked (`crate::...`, `super::...` and `::name` all work); a string that
//! is not a path is a compile error at the string.

mod crate_path;
mod entries;
mod errors;
mod names;
mod service;
mod task_type;
#[cfg(test)]
mod test_support;
mod values;

use proc_macro::TokenStream;

/// Declares one or more task types, each a unit struct implementing
/// `stead::spec::TaskTypeSpecification` and `stead::spec::NamedTaskType` (both
/// impls marked `#[automatically_derived]`).
///
/// ```text
/// task_type! {
///     /// Meta-data nodes hold the cluster map.
///     MetaData {
///         name: "meta-data",                  // required: DNS-1123 label
///         count: 2,                           // required: >= 1
///         command: "./meta-data {{index}}",   // required: {{index}}, {{name}}, {{instance}}, {{address}}, {{hostname}}
///         uris: ["http://storage/meta-data.zip"],
///         cpus: 1.0,                          // required: > 0
///         mem: 512 MiB,                       // required: KiB/MiB/GiB/TiB or KB/MB/GB/TB
///         disk: 1 GiB,
///         volume: root(5000 MiB, "meta-data-container-path"),  // or volumes: [root(..), mount(..)]
///         ports: [http = 0, admin = 8081],    // 0 = any free port, seen as $PORT_HTTP
///         env: { MODE: "meta" },
///         placement: "hostname:UNIQUE",       // or a list of rules
///         health_check: { command: "curl -f localhost:$PORT_HTTP", interval: 10s, timeout: 5s,
///                         grace_period: 30s, delay: 0s, max_failures: 3 },
///         readiness_check: { command: "test -f ready" },
///         goal: RUNNING,                      // RUNNING | FINISHED | ONCE
///         allow_decommission: false,
///         kill_grace_period: 5s,
///         crate: "my_reexport::stead",        // the path to Stead, if not `::stead`
///     }
/// }
/// ```
#[proc_macro]
pub fn task_type(input: TokenStream) -> TokenStream {
    task_type::expand(input.into()).into()
}

/// Makes a struct whose fields are task types (declared with `task_type!`) a
/// service: implements `Default` and `stead::spec::ServiceSpecification`, and checks
/// at compile time that the task type names are unique.
///
/// ```text
/// #[service(name = "data-store")]   // optional: role = "...", principal = "...",
///                                   // crate = "my_reexport::stead" (the path to Stead)
/// struct DataStore { meta_data: MetaData, data: Data }
/// ```
///
/// `Default` and `ServiceSpecification` are implemented with `#[automatically_derived]`.
#[proc_macro_attribute]
pub fn service(attr: TokenStream, item: TokenStream) -> TokenStream {
    service::expand(attr.into(), item.into()).into()
}
