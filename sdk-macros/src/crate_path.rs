//! The `crate` option of both macros: the path through which an expansion reaches
//! Stead. It is `::stead` unless the service author depends on Stead under another
//! name or through a crate that re-exports it.

use crate::entries::Entry;
use crate::errors::Errors;
use crate::values::string_literal;
use syn::Path;

/// The key that sets the path, in both macros.
pub const KEY: &str = "crate";

/// The path an expansion uses when `crate` is not set.
pub fn default() -> Path {
    syn::parse_quote!(::stead)
}

/// The path `entry` sets (a string holding a path, e.g. `"my_reexport::stead"`), or
/// [`default`] when it is absent or malformed; a malformed value is an error at the
/// string. `example` shows the whole entry in the macro's own syntax.
pub fn read(entry: Option<&Entry>, example: &str, errors: &mut Errors) -> Path {
    entry
        .and_then(|e| {
            let literal = string_literal(
                &e.value,
                &format!("`{KEY}` expects a string holding a path, e.g. `{example}`"),
                errors,
            )?;
            match literal.parse_with(Path::parse_mod_style) {
                Ok(path) => Some(path),
                Err(error) => {
                    let written = literal.value();
                    let problem = if written.trim().is_empty() {
                        "the string is empty".to_string()
                    } else {
                        format!("`{written}` is not one: {error}")
                    };
                    errors.at(
                        &literal,
                        format!(
                            "`{KEY}` expects a path to the Stead crate, e.g. `{example}`; {problem}"
                        ),
                    );
                    None
                }
            }
        })
        .unwrap_or_else(default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entries::parse_entries;
    use proc_macro2::TokenStream;
    use quote::{ToTokens, quote};

    fn read_entry(tokens: TokenStream) -> (String, Vec<String>) {
        let mut errors = Errors::default();
        let entries = parse_entries(tokens, ':', &mut errors);
        let path = read(entries.first(), "crate: \"x::stead\"", &mut errors);
        (path.to_token_stream().to_string(), errors.messages())
    }

    #[test]
    fn absent_is_the_default() {
        let mut errors = Errors::default();
        let path = read(None, "", &mut errors);
        assert_eq!(path.to_token_stream().to_string(), ":: stead");
        assert!(errors.is_empty());
    }

    #[test]
    fn reads_paths() {
        for (written, read) in [
            (quote!(crate: "my_reexport::stead"), "my_reexport :: stead"),
            (quote!(crate: "::renamed"), ":: renamed"),
            (
                quote!(crate: "crate::reexport::stead"),
                "crate :: reexport :: stead",
            ),
            (quote!(crate: "super::stead"), "super :: stead"),
        ] {
            assert_eq!(read_entry(written), (read.to_string(), Vec::new()));
        }
    }

    #[test]
    fn malformed_paths_are_errors_and_fall_back_to_the_default() {
        let (path, errors) = read_entry(quote!(crate: "my stead"));
        assert_eq!(path, ":: stead");
        assert_eq!(
            errors,
            [
                "`crate` expects a path to the Stead crate, e.g. `crate: \"x::stead\"`; `my stead` is not one: unexpected token"
            ]
        );
        let (path, errors) = read_entry(quote!(crate: " "));
        assert_eq!(path, ":: stead");
        assert_eq!(
            errors,
            [
                "`crate` expects a path to the Stead crate, e.g. `crate: \"x::stead\"`; the string is empty"
            ]
        );
        for written in [
            quote!(crate: "stead::"),
            quote!(crate: "stead::spec<T>"),
            quote!(crate: "1stead"),
        ] {
            let (path, errors) = read_entry(written.clone());
            assert_eq!(path, ":: stead", "{written}");
            assert_eq!(errors.len(), 1, "{written}: {errors:?}");
            assert!(errors[0].contains("is not one"), "{written}: {errors:?}");
        }
        let (path, errors) = read_entry(quote!(crate: my::stead));
        assert_eq!(path, ":: stead");
        assert_eq!(
            errors,
            ["`crate` expects a string holding a path, e.g. `crate: \"x::stead\"`"]
        );
    }
}
