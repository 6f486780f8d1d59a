//! Reading `#[service(...)]`: the name, role and principal checked with the shared
//! rules, the crate path, and the struct's shape (one named field per task type).

use crate::crate_path;
use crate::entries::{check_keys, parse_entries, stream};
use crate::errors::Errors;
use crate::names::kebab;
use crate::values::string;
use proc_macro2::{Span, TokenStream};
use quote::quote;
use stead_spec::rules;
use syn::spanned::Spanned;
use syn::{Fields, Ident, ItemStruct, Type};

/// The keys `#[service(...)]` accepts.
pub const KEYS: &[&str] = &["name", "role", "principal", crate_path::KEY];

/// How `#[service]` is used, for errors about its shape.
pub const USAGE: &str = "#[service(name = \"...\")] goes on a struct with one named field per task type, e.g. `struct DataStore { meta_data: MetaData, data: Data }`";

/// The checked attribute and fields of one service (the name derived from the
/// struct's where it is missing or invalid, so that the expansion still compiles).
pub struct Service<'a> {
    /// The path through which the expansion reaches Stead (`::stead` by default).
    pub crate_path: syn::Path,
    /// The service name.
    pub name: String,
    /// The role, if set.
    pub role: Option<String>,
    /// The principal, if set.
    pub principal: Option<String>,
    /// The task type fields, each with its type.
    pub fields: Vec<(&'a Ident, &'a Type)>,
}

/// Checks the attribute `attr` of `item` and the item's shape, recording all errors.
pub fn check<'a>(attr: TokenStream, item: &'a ItemStruct, errors: &mut Errors) -> Service<'a> {
    let attr_span = attr.span();
    let entries = parse_entries(attr, '=', errors);
    let found = check_keys(&entries, KEYS, errors);
    let ident = &item.ident;

    let crate_path = crate_path::read(
        found.get(crate_path::KEY).copied(),
        "crate = \"my_reexport::stead\"",
        errors,
    );
    let name = match found.get("name") {
        Some(e) => string(e, "name = \"data-store\"", errors).and_then(|s| {
            errors
                .rule(stream(&e.value), rules::service_name(&s))
                .map(|()| s)
        }),
        None => {
            let span = if entries.is_empty() {
                Span::call_site()
            } else {
                attr_span
            };
            errors.at_span(
                span,
                "#[service] needs a name, e.g. `#[service(name = \"data-store\")]`",
            );
            None
        }
    }
    .unwrap_or_else(|| kebab(ident));
    let role = found.get("role").and_then(|e| {
        let s = string(e, "role = \"data-store-role\"", errors)?;
        errors.rule(stream(&e.value), rules::role(&s)).map(|()| s)
    });
    let principal = found.get("principal").and_then(|e| {
        let s = string(e, "principal = \"data-store-principal\"", errors)?;
        errors
            .rule(stream(&e.value), rules::principal(&s))
            .map(|()| s)
    });

    if !item.generics.params.is_empty() {
        errors.at(
            &item.generics,
            "#[service] does not support generic parameters",
        );
    }
    let fields: Vec<(&Ident, &Type)> = match &item.fields {
        Fields::Named(named) => named
            .named
            .iter()
            .filter_map(|f| f.ident.as_ref().map(|i| (i, &f.ty)))
            .collect(),
        other => {
            errors.at(
                if matches!(other, Fields::Unit) {
                    quote!(#ident)
                } else {
                    quote!(#other)
                },
                USAGE,
            );
            Vec::new()
        }
    };
    if fields.is_empty() && matches!(item.fields, Fields::Named(_)) {
        errors.at(
            ident,
            "a service needs at least one task type field, e.g. `struct DataStore { data: Data }`",
        );
    }
    Service {
        crate_path,
        name,
        role,
        principal,
        fields,
    }
}
