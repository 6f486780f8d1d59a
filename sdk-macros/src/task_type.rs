//! `task_type!`: [`parse`] splits the invocation into declarations, [`check`] reads
//! each body with the shared rules, and [`generate`] expands it to a unit struct
//! implementing `TaskTypeSpecification`. On errors the struct and its impls are
//! still emitted (with default values), so one mistake does not cascade into
//! unrelated errors.

mod check;
mod generate;
mod model;
mod parse;

use crate::errors::Errors;
use proc_macro2::TokenStream;

/// Expands a `task_type!` invocation (one or more declarations).
pub fn expand(input: TokenStream) -> TokenStream {
    let decls = match parse::parse(input) {
        Ok(decls) => decls,
        Err(e) => return e.to_compile_error(),
    };
    let mut out = TokenStream::new();
    for decl in &decls {
        let mut errors = Errors::default();
        let task = check::check(decl, &mut errors);
        out.extend(errors.to_compile_errors());
        out.extend(generate::generate(decl, &task));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::trait_impls;
    use quote::quote;

    #[test]
    fn expansion_mentions_the_trait() {
        let out = expand(
            quote!(Data { name: "data", count: 3, command: "./data", cpus: 1.0, mem: 1 GiB }),
        );
        let text = out.to_string();
        assert!(text.contains("TaskTypeSpecification for Data"), "{text}");
        assert!(
            text.contains("DefaultResourceSpecification :: scalar (\"mem\" , 1024f64)"),
            "{text}"
        );
        assert!(!text.contains("compile_error"), "{text}");
        let bad = expand(
            quote!(Data { name: "data", count: 0, command: "./data", cpus: 1.0, mem: 1 GiB }),
        );
        let text = bad.to_string();
        assert!(
            text.contains("compile_error") && text.contains("TaskTypeSpecification for Data"),
            "{text}"
        );
    }

    #[test]
    fn every_trait_impl_is_automatically_derived() {
        let out = expand(quote! {
            Data {
                name: "data", count: 3, command: "./data", cpus: 1.0, mem: 1 GiB,
                health_check: { command: "true" }, volume: root(1 GiB, "data"),
            }
        });
        assert_eq!(
            trait_impls(out),
            [
                (":: stead :: spec :: NamedTaskType".to_string(), true),
                (
                    ":: stead :: spec :: TaskTypeSpecification".to_string(),
                    true
                ),
            ]
        );
    }

    #[test]
    fn every_path_to_stead_goes_through_the_crate_path() {
        let full = quote! {
            name: "data", count: 3, command: "./data", uris: ["http://x/data.zip"],
            env: { MODE: "m" }, cpus: 1.0, mem: 1 GiB, disk: 1 GiB,
            volume: root(1 GiB, "data"), ports: [http = 0], placement: "hostname:UNIQUE",
            health_check: { command: "true" }, readiness_check: { command: "true" },
            goal: ONCE, kill_grace_period: 5s,
        };
        let default = expand(quote!(Data { #full })).to_string();
        assert!(
            default.contains(":: stead :: spec :: VolumeType"),
            "{default}"
        );
        let renamed = expand(quote!(Data { #full crate: "::renamed" })).to_string();
        assert!(!renamed.contains("stead"), "{renamed}");
        assert!(!renamed.contains("compile_error"), "{renamed}");
        assert_eq!(
            renamed.matches(":: renamed ::").count(),
            default.matches(":: stead ::").count(),
            "{renamed}"
        );
        let nested = expand(quote!(Data { #full crate: "crate::reexport::stead" }));
        assert_eq!(
            trait_impls(nested),
            [
                (
                    "crate :: reexport :: stead :: spec :: NamedTaskType".to_string(),
                    true
                ),
                (
                    "crate :: reexport :: stead :: spec :: TaskTypeSpecification".to_string(),
                    true
                ),
            ]
        );
    }
}
