//! `#[service]`: [`check`] reads the attribute and the struct's shape with the
//! shared rules, and [`generate`] implements `Default` and `ServiceSpecification`
//! for the struct, plus compile-time assertions that its task type names are unique.

mod check;
mod generate;

use crate::errors::Errors;
use proc_macro2::{Span, TokenStream};
use syn::ItemStruct;

/// Expands `#[service(attr)] item`.
pub fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let item: ItemStruct = match syn::parse2(item.clone()) {
        Ok(s) => s,
        Err(_) => {
            errors.at_span(Span::call_site(), check::USAGE);
            let mut out = errors.to_compile_errors();
            out.extend(item);
            return out;
        }
    };
    let service = check::check(attr, &item, &mut errors);
    let mut out = errors.to_compile_errors();
    out.extend(generate::generate(&item, &service));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::trait_impls;
    use quote::quote;

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

    #[test]
    fn every_trait_impl_is_automatically_derived() {
        let out = expand(
            quote!(name = "data-store"),
            quote!(
                struct DataStore {
                    data: Data,
                }
            ),
        );
        assert_eq!(
            trait_impls(out),
            [
                (":: core :: default :: Default".to_string(), true),
                (":: stead :: spec :: ServiceSpecification".to_string(), true),
            ]
        );
    }

    #[test]
    fn every_path_to_stead_goes_through_the_crate_path() {
        let fields = quote!(
            struct DataStore {
                meta_data: MetaData,
                data: Data,
            }
        );
        let default = expand(quote!(name = "data-store"), fields.clone()).to_string();
        let renamed = expand(
            quote!(name = "data-store", crate = "::renamed"),
            fields.clone(),
        )
        .to_string();
        assert!(!renamed.contains("stead ::"), "{renamed}");
        assert!(!renamed.contains("compile_error"), "{renamed}");
        assert!(
            renamed.contains(":: renamed :: spec :: __private :: str_eq"),
            "{renamed}"
        );
        assert_eq!(
            renamed.matches(":: renamed ::").count(),
            default.matches(":: stead ::").count(),
            "{renamed}"
        );
        let out = expand(
            quote!(crate = "crate::reexport::stead", name = "data-store"),
            fields.clone(),
        );
        assert_eq!(
            trait_impls(out)[1],
            (
                "crate :: reexport :: stead :: spec :: ServiceSpecification".to_string(),
                true
            )
        );
        let out = expand(quote!(name = "data-store", crate = "a b"), fields).to_string();
        assert!(
            out.contains("`a b` is not one")
                && out.contains(":: stead :: spec :: ServiceSpecification"),
            "{out}"
        );
    }
}
