//! Helpers for the unit tests of the expansions.

use proc_macro2::TokenStream;
use quote::quote;

/// The trait impls of an expansion, each as `(trait path, whether it is marked
/// #[automatically_derived])`, in order.
pub fn trait_impls(out: TokenStream) -> Vec<(String, bool)> {
    // Invariant: the tests call this only on expansions of valid input, which are
    // valid item lists.
    let file: syn::File = syn::parse2(out).expect("the expansion parses as items");
    file.items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Impl(i) => i.trait_.as_ref().map(|(path, _)| {
                let marked = i
                    .attrs
                    .iter()
                    .any(|a| a.path().is_ident("automatically_derived"));
                (quote!(#path).to_string(), marked)
            }),
            _ => None,
        })
        .collect()
}
