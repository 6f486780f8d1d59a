//! The expansion of a checked service: the struct itself, its `NAME`, `Default` and
//! `ServiceSpecification`, and one compile-time assertion per pair of task types
//! that their names differ; every path to Stead through the service's crate path.

use super::check::Service;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Fields, ItemStruct};

/// The struct, its constant and its trait impls. The trait impls are marked
/// `#[automatically_derived]`; the inherent impl cannot be (the attribute is for
/// trait impls only).
pub fn generate(item: &ItemStruct, service: &Service) -> TokenStream {
    let Service {
        crate_path: krate,
        name,
        role,
        principal,
        fields,
    } = service;
    let ident = &item.ident;
    let field_names: Vec<_> = fields.iter().map(|(i, _)| *i).collect();
    let role_fn = role.as_ref().map(
        |r| quote!(fn role(&self) -> ::std::string::String { ::std::string::String::from(#r) }),
    );
    let principal_fn = principal.as_ref().map(
        |p| quote!(fn principal(&self) -> ::std::string::String { ::std::string::String::from(#p) }),
    );
    let unique = unique_names(krate, fields);
    let (impl_generics, ty_generics, where_clause) = item.generics.split_for_impl();
    // Only a struct with named fields gets `Default`; for any other shape the error
    // about the shape is the one to read, not a follow-on "missing field".
    let default_impl = matches!(item.fields, Fields::Named(_)).then(|| {
        quote! {
            #[automatically_derived]
            impl #impl_generics ::core::default::Default for #ident #ty_generics #where_clause {
                fn default() -> Self {
                    Self { #(#field_names: ::core::default::Default::default()),* }
                }
            }
        }
    });
    quote! {
        #item

        impl #impl_generics #ident #ty_generics #where_clause {
            /// The service name.
            pub const NAME: &'static str = #name;
        }

        #default_impl

        #[automatically_derived]
        impl #impl_generics #krate::spec::ServiceSpecification for #ident #ty_generics #where_clause {
            fn name(&self) -> ::std::string::String {
                ::std::string::String::from(#name)
            }
            #role_fn
            #principal_fn
            fn task_types(&self) -> ::std::vec::Vec<::std::boxed::Box<dyn #krate::spec::TaskTypeSpecification>> {
                ::std::vec![#(
                    ::std::boxed::Box::new(::core::clone::Clone::clone(&self.#field_names))
                        as ::std::boxed::Box<dyn #krate::spec::TaskTypeSpecification>
                ),*]
            }
        }

        #unique
    }
}

/// One `const` assertion per pair of fields that their task type names differ,
/// failing at the later field's type.
fn unique_names(krate: &syn::Path, fields: &[(&syn::Ident, &syn::Type)]) -> TokenStream {
    let mut unique = TokenStream::new();
    for (j, (field_j, ty_j)) in fields.iter().enumerate() {
        for (field_i, ty_i) in &fields[..j] {
            let message = format!(
                "fields `{field_i}` and `{field_j}` declare task types with the same name; task type names must be unique within a service"
            );
            unique.extend(quote_spanned! {ty_j.span()=>
                const _: () = if #krate::spec::__private::str_eq(
                    <#ty_i as #krate::spec::NamedTaskType>::NAME,
                    <#ty_j as #krate::spec::NamedTaskType>::NAME,
                ) {
                    ::core::panic!(#message)
                };
            });
        }
    }
    unique
}
