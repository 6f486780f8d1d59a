//! `#[service]`: checks the service name, role and principal with the shared rules
//! and implements `Default` and `stead::spec::ServiceSpecification` for the struct,
//! plus compile-time assertions that its task type names are unique.

use crate::entries::{check_keys, parse_entries, stream};
use crate::errors::Errors;
use crate::values::string;
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use stead_spec::rules;
use syn::spanned::Spanned;
use syn::{Fields, ItemStruct};

/// The keys `#[service(...)]` accepts.
pub const KEYS: &[&str] = &["name", "role", "principal"];

const USAGE: &str = "#[service(name = \"...\")] goes on a struct with one named field per task type, e.g. `struct DataStore { meta_data: MetaData, data: Data }`";

/// Expands `#[service(attr)] item`.
pub fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let item: ItemStruct = match syn::parse2(item.clone()) {
        Ok(s) => s,
        Err(_) => {
            errors.at_span(Span::call_site(), USAGE);
            let mut out = errors.to_compile_errors();
            out.extend(item);
            return out;
        }
    };
    let attr_span = attr.span();
    let entries = parse_entries(attr, '=', &mut errors);
    let found = check_keys(&entries, KEYS, &mut errors);
    let ident = &item.ident;

    let name = match found.get("name") {
        Some(e) => string(e, "name = \"data-store\"", &mut errors).and_then(|s| {
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
    .unwrap_or_else(|| crate::task_type::kebab(ident));
    let role = found.get("role").and_then(|e| {
        let s = string(e, "role = \"data-store-role\"", &mut errors)?;
        errors.rule(stream(&e.value), rules::role(&s)).map(|()| s)
    });
    let principal = found.get("principal").and_then(|e| {
        let s = string(e, "principal = \"data-store-principal\"", &mut errors)?;
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
    let fields: Vec<(&syn::Ident, &syn::Type)> = match &item.fields {
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

    let mut out = errors.to_compile_errors();
    let field_names: Vec<_> = fields.iter().map(|(i, _)| *i).collect();
    let role_fn = role.map(
        |r| quote!(fn role(&self) -> ::std::string::String { ::std::string::String::from(#r) }),
    );
    let principal_fn =
        principal.map(|p| quote!(fn principal(&self) -> ::std::string::String { ::std::string::String::from(#p) }));
    let mut unique = TokenStream::new();
    for (j, (field_j, ty_j)) in fields.iter().enumerate() {
        for (field_i, ty_i) in &fields[..j] {
            let message = format!(
                "fields `{field_i}` and `{field_j}` declare task types with the same name; task type names must be unique within a service"
            );
            unique.extend(quote_spanned! {ty_j.span()=>
                const _: () = if ::stead::spec::__private::str_eq(
                    <#ty_i as ::stead::spec::NamedTaskType>::NAME,
                    <#ty_j as ::stead::spec::NamedTaskType>::NAME,
                ) {
                    ::core::panic!(#message)
                };
            });
        }
    }
    let (impl_generics, ty_generics, where_clause) = item.generics.split_for_impl();
    // Only a struct with named fields gets `Default`; for any other shape the error
    // above is the one to read, not a follow-on "missing field".
    let default_impl = matches!(item.fields, Fields::Named(_)).then(|| {
        quote! {
            impl #impl_generics ::core::default::Default for #ident #ty_generics #where_clause {
                fn default() -> Self {
                    Self { #(#field_names: ::core::default::Default::default()),* }
                }
            }
        }
    });
    out.extend(quote! {
        #item

        impl #impl_generics #ident #ty_generics #where_clause {
            /// The service name.
            pub const NAME: &'static str = #name;
        }

        #default_impl

        impl #impl_generics ::stead::spec::ServiceSpecification for #ident #ty_generics #where_clause {
            fn name(&self) -> ::std::string::String {
                ::std::string::String::from(#name)
            }
            #role_fn
            #principal_fn
            fn task_types(&self) -> ::std::vec::Vec<::std::boxed::Box<dyn ::stead::spec::TaskTypeSpecification>> {
                ::std::vec![#(
                    ::std::boxed::Box::new(::core::clone::Clone::clone(&self.#field_names))
                        as ::std::boxed::Box<dyn ::stead::spec::TaskTypeSpecification>
                ),*]
            }
        }

        #unique
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_a_service() {
        let out = expand(
            quote!(name = "data-store"),
            quote!(
                struct DataStore {
                    meta_data: MetaData,
                    data: Data,
                }
            ),
        )
        .to_string();
        assert!(out.contains("ServiceSpecification for DataStore"), "{out}");
        assert!(out.contains("str_eq"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn reports_bad_attributes_and_shapes() {
        let out = expand(
            quote!(name = "Data_Store", rol = "x"),
            quote!(
                struct S(u8);
            ),
        )
        .to_string();
        assert!(
            out.contains("unknown key `rol`; did you mean `role`?"),
            "{out}"
        );
        assert!(
            out.contains("service name `Data_Store` contains `D`"),
            "{out}"
        );
        assert!(out.contains("one named field per task type"), "{out}");
        let out = expand(
            quote!(),
            quote!(
                struct S {
                    a: A,
                }
            ),
        )
        .to_string();
        assert!(out.contains("#[service] needs a name"), "{out}");
        let out = expand(
            quote!(name = "s"),
            quote!(
                fn f() {}
            ),
        )
        .to_string();
        assert!(out.contains("goes on a struct"), "{out}");
    }
}
