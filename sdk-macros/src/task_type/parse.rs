//! The shape of a `task_type!` invocation: one or more `Name { ... }` declarations,
//! each with its attributes and visibility; the bodies are read by `check`.

use proc_macro2::{Ident, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::{Attribute, Token, Visibility, braced};

/// One `Name { ... }` declaration.
pub struct Decl {
    /// The attributes written before it (doc comments included).
    pub attrs: Vec<Attribute>,
    /// Its visibility.
    pub vis: Visibility,
    /// The struct's name.
    pub ident: Ident,
    /// The `key: value, ...` entries between the braces, unread.
    pub body: TokenStream,
}

/// Splits an invocation into its declarations; a malformed one is an error with a
/// hint showing the expected shape.
pub fn parse(input: TokenStream) -> syn::Result<Vec<Decl>> {
    decls.parse2(input).map_err(|mut e| {
        e.combine(syn::Error::new(
            e.span(),
            "expected a task type declaration: `Name { name: \"...\", count: 1, command: \"...\", cpus: 1.0, mem: 512 MiB }`",
        ));
        e
    })
}

fn decls(input: ParseStream) -> syn::Result<Vec<Decl>> {
    let mut decls = Vec::new();
    while !input.is_empty() {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let ident: Ident = input.parse()?;
        let content;
        braced!(content in input);
        let body: TokenStream = content.parse()?;
        decls.push(Decl {
            attrs,
            vis,
            ident,
            body,
        });
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        } else if input.peek(Token![;]) {
            input.parse::<Token![;]>()?;
        }
    }
    Ok(decls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn declarations_with_attributes_and_separators() {
        let decls = parse(quote! {
            /// Doc.
            pub(crate) A { name: "a" },
            B { name: "b" };
            C {}
        })
        .unwrap();
        let names: Vec<String> = decls.iter().map(|d| d.ident.to_string()).collect();
        assert_eq!(names, ["A", "B", "C"]);
        assert_eq!(decls[0].attrs.len(), 1);
        assert!(matches!(decls[0].vis, Visibility::Restricted(_)));
        assert_eq!(decls[1].body.to_string(), "name : \"b\"");
    }

    #[test]
    fn a_malformed_declaration_shows_the_expected_shape() {
        let Err(error) = parse(quote!(A ( name: "a" ))) else {
            panic!("a parenthesized body parsed");
        };
        let messages: Vec<String> = error.into_iter().map(|e| e.to_string()).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[1].starts_with("expected a task type declaration"));
    }
}
