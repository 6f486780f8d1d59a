//! `key: value` lists (and `key = value` attribute arguments), split at top-level
//! commas, with unknown, duplicate and missing keys reported.

use crate::errors::Errors;
use proc_macro2::{Spacing, TokenStream, TokenTree};
use quote::ToTokens;
use std::collections::BTreeMap;
use stead_spec::suggest::did_you_mean;

/// One `key: value` entry.
pub struct Entry {
    /// The key as written (an identifier or a string literal's value).
    pub key: String,
    /// The key's token, for spans.
    pub key_token: TokenTree,
    /// The value's tokens (never empty).
    pub value: Vec<TokenTree>,
}

/// Splits tokens at top-level commas; empty pieces (a trailing comma) are dropped.
pub fn split_commas(tokens: impl IntoIterator<Item = TokenTree>) -> Vec<Vec<TokenTree>> {
    let mut pieces = vec![Vec::new()];
    for tt in tokens {
        match &tt {
            TokenTree::Punct(p) if p.as_char() == ',' => pieces.push(Vec::new()),
            _ => pieces
                .last_mut()
                .into_iter()
                .for_each(|piece| piece.push(tt.clone())),
        }
    }
    pieces.retain(|p| !p.is_empty());
    pieces
}

/// Tokens as a stream, for spans covering all of them.
pub fn stream(tokens: &[TokenTree]) -> TokenStream {
    tokens.iter().cloned().collect()
}

/// Parses `key <sep> value, ...`; malformed entries are reported and skipped.
pub fn parse_entries(body: TokenStream, sep: char, errors: &mut Errors) -> Vec<Entry> {
    let mut entries = Vec::new();
    for piece in split_commas(body) {
        let mut it = piece.iter();
        let key_token = it.next().cloned();
        let key = match &key_token {
            Some(TokenTree::Ident(i)) => Some(i.to_string().trim_start_matches("r#").to_string()),
            Some(TokenTree::Literal(l)) => match syn::Lit::new(l.clone()) {
                syn::Lit::Str(s) => Some(s.value()),
                _ => None,
            },
            _ => None,
        };
        let sep_ok = matches!(it.next(), Some(TokenTree::Punct(p)) if p.as_char() == sep && p.spacing() == Spacing::Alone);
        let (Some(key), Some(key_token), true) = (key, key_token, sep_ok) else {
            let shape = if sep == ':' {
                "key: value"
            } else {
                "key = value"
            };
            errors.at(stream(&piece), format!("expected `{shape}`"));
            continue;
        };
        let value: Vec<TokenTree> = it.cloned().collect();
        if value.is_empty() {
            errors.at(&key_token, format!("`{key}` needs a value after `{sep}`"));
            continue;
        }
        entries.push(Entry {
            key,
            key_token,
            value,
        });
    }
    entries
}

/// The entries by key, after reporting unknown keys (with a suggestion) and
/// duplicate keys (at the second occurrence). `known` lists the allowed keys.
pub fn check_keys<'a>(
    entries: &'a [Entry],
    known: &[&'static str],
    errors: &mut Errors,
) -> BTreeMap<&'static str, &'a Entry> {
    let mut found: BTreeMap<&'static str, &'a Entry> = BTreeMap::new();
    for entry in entries {
        let Some(key) = known.iter().copied().find(|k| *k == entry.key) else {
            let message = match did_you_mean(&entry.key, known.iter().copied()) {
                Some(s) => format!("unknown key `{}`; did you mean `{s}`?", entry.key),
                None => format!(
                    "unknown key `{}`; expected one of: {}",
                    entry.key,
                    known.join(", ")
                ),
            };
            errors.at(&entry.key_token, message);
            continue;
        };
        if found.contains_key(key) {
            errors.at(
                &entry.key_token,
                format!("duplicate key `{key}`: it is already set above"),
            );
            continue;
        }
        found.insert(key, entry);
    }
    found
}

/// Reports the `required` keys absent from `found`, in one error spanning `at`.
/// A key already suggested for a mistyped one (`cout` -> `count`) is not repeated.
pub fn check_required(
    entries: &[Entry],
    found: &BTreeMap<&'static str, &Entry>,
    known: &[&'static str],
    required: &[&str],
    what: &str,
    at: impl ToTokens,
    errors: &mut Errors,
) {
    let suggested: Vec<&str> = entries
        .iter()
        .filter(|e| !known.contains(&e.key.as_str()))
        .filter_map(|e| did_you_mean(&e.key, known.iter().copied()))
        .collect();
    let missing: Vec<String> = required
        .iter()
        .filter(|k| !found.contains_key(**k) && !suggested.contains(*k))
        .map(|k| format!("`{k}`"))
        .collect();
    match missing.as_slice() {
        [] => {}
        [one] => errors.at(at, format!("{what} is missing the required key {one}")),
        many => errors.at(
            at,
            format!("{what} is missing the required keys {}", many.join(", ")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn splits_and_checks() {
        let mut errors = Errors::default();
        let entries = parse_entries(
            quote!(name: "x", cout: 2, name: "y", mem: 512 MiB, "A": "b",),
            ':',
            &mut errors,
        );
        assert!(errors.is_empty());
        assert_eq!(entries.len(), 5);
        assert_eq!(entries[3].value.len(), 2);
        let known = ["name", "count", "mem"];
        let found = check_keys(&entries, &known, &mut errors);
        assert_eq!(found.len(), 2);
        check_required(
            &entries,
            &found,
            &known,
            &["name", "count", "cpus"],
            "task type `X`",
            quote!(X),
            &mut errors,
        );
        assert_eq!(
            errors.messages(),
            vec![
                "unknown key `cout`; did you mean `count`?",
                "duplicate key `name`: it is already set above",
                "unknown key `A`; expected one of: name, count, mem",
                "task type `X` is missing the required key `cpus`",
            ]
        );
    }

    #[test]
    fn malformed_entries() {
        let mut errors = Errors::default();
        let entries = parse_entries(quote!(name "x", count:, a::b: 1, ok = 1), '=', &mut errors);
        assert_eq!(entries.len(), 1);
        assert_eq!(
            errors.messages(),
            vec![
                "expected `key = value`",
                "expected `key = value`",
                "expected `key = value`"
            ]
        );
    }
}
