//! The expansion of one checked declaration: a unit struct, its constants and its
//! `NamedTaskType` and `TaskTypeSpecification` impls, every path to Stead through
//! the declaration's `crate` path.

use super::model::TaskType;
use super::parse::Decl;
use proc_macro2::{Literal, TokenStream};
use quote::quote;
use std::time::Duration;
use stead_spec::{CheckSpec, GoalState, VolumeType};

fn nanos(d: Duration) -> TokenStream {
    let n = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    quote!(::std::time::Duration::from_nanos(#n))
}

fn float(v: f64) -> Literal {
    // Only finite values reach here (the rules reject the others and defaults are finite).
    Literal::f64_suffixed(if v.is_finite() { v } else { 1.0 })
}

fn check_tokens(krate: &syn::Path, check: &Option<CheckSpec>) -> TokenStream {
    match check {
        None => quote!(::core::option::Option::None),
        Some(c) => {
            let command = &c.command;
            let (interval, timeout, grace, delay) = (
                nanos(c.interval),
                nanos(c.timeout),
                nanos(c.grace_period),
                nanos(c.delay),
            );
            let max = c.max_consecutive_failures;
            quote!(::core::option::Option::Some(#krate::spec::CheckSpec {
                command: ::std::string::String::from(#command),
                interval: #interval,
                timeout: #timeout,
                grace_period: #grace,
                delay: #delay,
                max_consecutive_failures: #max,
            }))
        }
    }
}

/// The struct, its constants and its trait impls. The trait impls are marked
/// `#[automatically_derived]`; the inherent impl cannot be (the attribute is for
/// trait impls only).
pub fn generate(decl: &Decl, t: &TaskType) -> TokenStream {
    let Decl {
        attrs, vis, ident, ..
    } = decl;
    let krate = &t.crate_path;
    let name = &t.name;
    let count = t.count;
    let command = &t.command.value;
    let uris = t.command.uris.iter().map(|u| {
        let (v, x, e) = (&u.value, u.extract, u.executable);
        quote!(#krate::spec::UriSpec { value: ::std::string::String::from(#v), extract: #x, executable: #e })
    });
    let env =
        t.command.env.iter().map(
            |(k, v)| quote!((::std::string::String::from(#k), ::std::string::String::from(#v))),
        );
    let mut resources = vec![("cpus", t.cpus), ("mem", t.mem)];
    if let Some(d) = t.disk {
        resources.push(("disk", d));
    }
    let resources = resources.into_iter().map(|(n, v)| {
        let v = float(v);
        quote!(::std::boxed::Box::new(#krate::spec::DefaultResourceSpecification::scalar(#n, #v))
            as ::std::boxed::Box<dyn #krate::spec::ResourceSpecification>)
    });
    let volumes = t.volumes.iter().map(|v| {
        let (size, path) = (v.size_mib, &v.path);
        let kind = match v.kind {
            VolumeType::Root => quote!(#krate::spec::VolumeType::Root),
            VolumeType::Mount => quote!(#krate::spec::VolumeType::Mount),
        };
        quote!(::std::boxed::Box::new(#krate::spec::DefaultVolumeSpecification::sized(#size, #kind, #path))
            as ::std::boxed::Box<dyn #krate::spec::VolumeSpecification>)
    });
    let ports = t.ports.iter().map(|p| {
        let (n, v) = (&p.name, p.port);
        quote!(#krate::spec::PortSpec { name: ::std::string::String::from(#n), port: #v })
    });
    let placement = &t.placement;
    let health = check_tokens(krate, &t.health_check);
    let readiness = check_tokens(krate, &t.readiness_check);
    let goal = match t.goal {
        GoalState::Running => quote!(#krate::spec::GoalState::Running),
        GoalState::Finished => quote!(#krate::spec::GoalState::Finished),
        GoalState::Once => quote!(#krate::spec::GoalState::Once),
    };
    let allow = t.allow_decommission;
    let kill = match t.kill_grace_period {
        Some(d) => {
            let d = nanos(d);
            quote!(::core::option::Option::Some(#d))
        }
        None => quote!(::core::option::Option::None),
    };
    quote! {
        #(#attrs)*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        #vis struct #ident;

        impl #ident {
            /// The task type name.
            pub const NAME: &'static str = #name;
            /// The number of instances.
            pub const COUNT: u32 = #count;
            /// The command template (`{{index}}` is replaced by the instance index).
            pub const COMMAND: &'static str = #command;
        }

        #[automatically_derived]
        impl #krate::spec::NamedTaskType for #ident {
            const NAME: &'static str = #name;
        }

        #[automatically_derived]
        impl #krate::spec::TaskTypeSpecification for #ident {
            fn name(&self) -> ::std::string::String {
                ::std::string::String::from(#name)
            }
            fn count(&self) -> u32 {
                #count
            }
            fn command(&self, index: u32) -> #krate::proto::v1::CommandInfo {
                let template = #krate::spec::TaskTypeSpecification::command_template(self).unwrap_or_default();
                #krate::spec::command_info(&template.render(#name, index))
            }
            fn command_template(&self) -> ::core::option::Option<#krate::spec::CommandSpec> {
                ::core::option::Option::Some(#krate::spec::CommandSpec {
                    value: ::std::string::String::from(#command),
                    uris: ::std::vec![#(#uris),*],
                    env: ::std::collections::BTreeMap::from([#(#env),*]),
                })
            }
            fn resources(&self) -> ::std::vec::Vec<::std::boxed::Box<dyn #krate::spec::ResourceSpecification>> {
                ::std::vec![#(#resources),*]
            }
            fn volumes(&self) -> ::std::vec::Vec<::std::boxed::Box<dyn #krate::spec::VolumeSpecification>> {
                ::std::vec![#(#volumes),*]
            }
            fn ports(&self) -> ::std::vec::Vec<#krate::spec::PortSpec> {
                ::std::vec![#(#ports),*]
            }
            fn placement(&self) -> ::std::vec::Vec<::std::string::String> {
                ::std::vec![#(::std::string::String::from(#placement)),*]
            }
            fn health_check(&self) -> ::core::option::Option<#krate::spec::CheckSpec> {
                #health
            }
            fn readiness_check(&self) -> ::core::option::Option<#krate::spec::CheckSpec> {
                #readiness
            }
            fn goal(&self) -> #krate::spec::GoalState {
                #goal
            }
            fn allow_decommission(&self) -> bool {
                #allow
            }
            fn kill_grace_period(&self) -> ::core::option::Option<::std::time::Duration> {
                #kill
            }
        }
    }
}
