//! Names derived from Rust identifiers, used where a declared name is missing or
//! invalid so that the expansion still compiles.

use proc_macro2::Ident;

/// `MetaData` -> `meta-data`: the name used when `name` is missing or invalid.
pub fn kebab(ident: &Ident) -> String {
    let mut out = String::new();
    for (i, c) in ident.to_string().chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else if c == '_' {
            out.push('-');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::Span;

    #[test]
    fn kebab_case() {
        assert_eq!(
            kebab(&Ident::new("MetaData", Span::call_site())),
            "meta-data"
        );
        assert_eq!(
            kebab(&Ident::new("data_store", Span::call_site())),
            "data-store"
        );
    }
}
