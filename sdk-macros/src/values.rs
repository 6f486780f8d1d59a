//! Reading one value of the DSL (a string, a number, a size, a duration, a list...),
//! applying the shared rules of `stead_spec` and recording errors at the value's span.

use crate::entries::{Entry, parse_entries, split_commas, stream};
use crate::errors::Errors;
use proc_macro2::{Delimiter, Spacing, TokenTree};
use std::time::Duration;
use stead_spec::{RuleError, units};

/// A number literal as written: its value, whether it is an integer, and its suffix.
pub struct Number {
    /// The value (negative if written with `-`).
    pub value: f64,
    /// Whether it was an integer literal.
    pub integer: bool,
    /// The literal's suffix (`s` in `10s`, `MiB` in `512MiB`), or "".
    pub suffix: String,
    /// The number as written, without suffix.
    pub text: String,
}

/// Reads `[-]literal` or `[-]f64::NAN` / `f64::INFINITY`; `None` if it is not a number.
/// Returns the number and the tokens that follow it.
fn leading_number(tokens: &[TokenTree]) -> Option<(Number, &[TokenTree])> {
    let (negative, rest) = match tokens.first() {
        Some(TokenTree::Punct(p)) if p.as_char() == '-' => (true, &tokens[1..]),
        _ => (false, tokens),
    };
    let sign = if negative { -1.0 } else { 1.0 };
    let minus = if negative { "-" } else { "" };
    match rest {
        [TokenTree::Literal(lit), tail @ ..] => {
            let (digits, suffix, integer) = match syn::Lit::new(lit.clone()) {
                syn::Lit::Int(i) => (i.base10_digits().to_string(), i.suffix().to_string(), true),
                syn::Lit::Float(f) => {
                    (f.base10_digits().to_string(), f.suffix().to_string(), false)
                }
                _ => return None,
            };
            let value: f64 = digits.parse().ok()?;
            let text = format!("{minus}{digits}");
            Some((
                Number {
                    value: sign * value,
                    integer,
                    suffix,
                    text,
                },
                tail,
            ))
        }
        [
            TokenTree::Ident(ty),
            TokenTree::Punct(c1),
            TokenTree::Punct(c2),
            TokenTree::Ident(name),
            tail @ ..,
        ] if (ty == "f64" || ty == "f32")
            && c1.as_char() == ':'
            && c1.spacing() == Spacing::Joint
            && c2.as_char() == ':' =>
        {
            let value = match name.to_string().as_str() {
                "NAN" => f64::NAN,
                "INFINITY" => f64::INFINITY,
                "NEG_INFINITY" => f64::NEG_INFINITY,
                _ => return None,
            };
            let text = format!("{}", sign * value);
            Some((
                Number {
                    value: sign * value,
                    integer: false,
                    suffix: String::new(),
                    text,
                },
                tail,
            ))
        }
        _ => None,
    }
}

/// A string literal, or an error "`key` expects a string, e.g. `example`".
pub fn string(e: &Entry, example: &str, errors: &mut Errors) -> Option<String> {
    string_tokens(
        &e.value,
        &format!("`{}` expects a string, e.g. `{example}`", e.key),
        errors,
    )
}

/// A single string literal among `tokens`, else the error `message`.
pub fn string_tokens(tokens: &[TokenTree], message: &str, errors: &mut Errors) -> Option<String> {
    string_literal(tokens, message, errors).map(|s| s.value())
}

/// A single string literal among `tokens`, as a literal (for its span), else the
/// error `message`.
pub fn string_literal(
    tokens: &[TokenTree],
    message: &str,
    errors: &mut Errors,
) -> Option<syn::LitStr> {
    if let [TokenTree::Literal(l)] = tokens
        && let syn::Lit::Str(s) = syn::Lit::new(l.clone())
    {
        return Some(s);
    }
    errors.at(stream(tokens), message);
    None
}

/// A plain number (no suffix, nothing after it), else the error `message`.
pub fn number(tokens: &[TokenTree], message: &str, errors: &mut Errors) -> Option<Number> {
    match leading_number(tokens) {
        Some((n, [])) if n.suffix.is_empty() => Some(n),
        _ => {
            errors.at(stream(tokens), message);
            None
        }
    }
}

/// A whole number (possibly negative), else the error `message`.
pub fn integer(
    tokens: &[TokenTree],
    what: &str,
    message: &str,
    errors: &mut Errors,
) -> Option<i64> {
    let n = number(tokens, message, errors)?;
    if !n.integer || n.value.abs() > 9.0e18 {
        errors.at(
            stream(tokens),
            format!("{what} must be a whole number, got {}", n.text),
        );
        return None;
    }
    // Invariant: an integer literal within +-9e18 converts to i64 exactly enough
    // for the range checks the rules apply.
    Some(n.value as i64)
}

/// A size with a unit: `512 MiB`, `10GiB`, `1.5 GiB` or `"512 MiB"`, in MiB.
pub fn size(e: &Entry, errors: &mut Errors) -> Option<f64> {
    let tokens = &e.value;
    let result: Result<f64, RuleError> = match leading_number(tokens) {
        Some((n, [])) if n.suffix.is_empty() => Err(units::missing_size_unit(&n.text)),
        Some((n, [])) => units::size_mib(n.value, &n.suffix),
        Some((n, [TokenTree::Ident(unit)])) if n.suffix.is_empty() => {
            units::size_mib(n.value, &unit.to_string())
        }
        None if matches!(tokens.as_slice(), [TokenTree::Literal(_)]) => {
            let s = string(e, "512 MiB", errors)?;
            units::parse_size(&s)
        }
        _ => Err(RuleError::new(format!(
            "`{}` expects a size with a unit, e.g. `512 MiB` or `10 GiB`",
            e.key
        ))),
    };
    errors.rule(stream(tokens), result)
}

/// A duration: `10s`, `250ms`, `1.5s`, `5m` or `"10s"`.
pub fn duration(e: &Entry, errors: &mut Errors) -> Option<Duration> {
    let tokens = &e.value;
    let result = match leading_number(tokens) {
        Some((n, [])) if n.suffix.is_empty() => Err(units::missing_duration_unit(&n.text)),
        Some((n, [])) => units::duration(n.value, &n.suffix),
        Some((n, [TokenTree::Ident(unit)])) if n.suffix.is_empty() => {
            units::duration(n.value, &unit.to_string())
        }
        None if matches!(tokens.as_slice(), [TokenTree::Literal(_)]) => {
            let s = string(e, "10s", errors)?;
            units::parse_duration(&s)
        }
        _ => Err(RuleError::new(format!(
            "`{}` expects a duration, e.g. `10s`, `250ms` or `5m`",
            e.key
        ))),
    };
    errors.rule(stream(tokens), result)
}

/// `true` or `false`.
pub fn boolean(e: &Entry, errors: &mut Errors) -> Option<bool> {
    match e.value.as_slice() {
        [TokenTree::Ident(i)] if i == "true" => Some(true),
        [TokenTree::Ident(i)] if i == "false" => Some(false),
        _ => {
            errors.at(
                stream(&e.value),
                format!("`{}` expects `true` or `false`", e.key),
            );
            None
        }
    }
}

/// A single identifier, as text.
pub fn word(e: &Entry, example: &str, errors: &mut Errors) -> Option<(String, TokenTree)> {
    match e.value.as_slice() {
        [tt @ TokenTree::Ident(i)] => Some((i.to_string(), tt.clone())),
        _ => {
            errors.at(
                stream(&e.value),
                format!("`{}` expects a word, e.g. `{example}`", e.key),
            );
            None
        }
    }
}

/// The items of a `[a, b, ...]` list.
pub fn list(e: &Entry, example: &str, errors: &mut Errors) -> Option<Vec<Vec<TokenTree>>> {
    match e.value.as_slice() {
        [TokenTree::Group(g)] if g.delimiter() == Delimiter::Bracket => {
            Some(split_commas(g.stream()))
        }
        _ => {
            errors.at(
                stream(&e.value),
                format!("`{}` expects a list, e.g. `{example}`", e.key),
            );
            None
        }
    }
}

/// The entries of a `{ key: value, ... }` block.
pub fn block(tokens: &[TokenTree], message: &str, errors: &mut Errors) -> Option<Vec<Entry>> {
    match tokens {
        [TokenTree::Group(g)] if g.delimiter() == Delimiter::Brace => {
            Some(parse_entries(g.stream(), ':', errors))
        }
        _ => {
            errors.at(stream(tokens), message);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn entry(tokens: proc_macro2::TokenStream) -> Entry {
        let mut errors = Errors::default();
        let mut entries = parse_entries(tokens, ':', &mut errors);
        assert!(errors.is_empty());
        entries.remove(0)
    }

    fn size_of(tokens: proc_macro2::TokenStream) -> Result<f64, Vec<String>> {
        let mut errors = Errors::default();
        size(&entry(tokens), &mut errors).ok_or_else(|| errors.messages())
    }

    fn duration_of(tokens: proc_macro2::TokenStream) -> Result<Duration, Vec<String>> {
        let mut errors = Errors::default();
        duration(&entry(tokens), &mut errors).ok_or_else(|| errors.messages())
    }

    #[test]
    fn sizes() {
        assert_eq!(size_of(quote!(mem: 512 MiB)), Ok(512.0));
        assert_eq!(size_of(quote!(mem: 10GiB)), Ok(10240.0));
        assert_eq!(size_of(quote!(mem: 1.5 GiB)), Ok(1536.0));
        assert_eq!(size_of(quote!(mem: "1 TiB")), Ok(1048576.0));
        assert!(size_of(quote!(mem: 512)).unwrap_err()[0].contains("size `512` needs a unit"));
        assert!(
            size_of(quote!(mem: 512 Mb)).unwrap_err()[0]
                .contains("unknown size unit `Mb` (did you mean `MB`?)")
        );
        assert!(size_of(quote!(mem: -1 MiB)).unwrap_err()[0].contains(">= 0, got -1"));
        assert!(size_of(quote!(mem: big)).unwrap_err()[0].contains("expects a size with a unit"));
    }

    #[test]
    fn durations() {
        assert_eq!(
            duration_of(quote!(interval: 10s)),
            Ok(Duration::from_secs(10))
        );
        assert_eq!(
            duration_of(quote!(interval: 250ms)),
            Ok(Duration::from_millis(250))
        );
        assert_eq!(
            duration_of(quote!(interval: 1.5s)),
            Ok(Duration::from_millis(1500))
        );
        assert_eq!(
            duration_of(quote!(interval: 5 m)),
            Ok(Duration::from_secs(300))
        );
        assert_eq!(
            duration_of(quote!(interval: "2h")),
            Ok(Duration::from_secs(7200))
        );
        assert!(duration_of(quote!(interval: 10)).unwrap_err()[0].contains("needs a unit"));
        assert!(
            duration_of(quote!(interval: 10sec)).unwrap_err()[0]
                .contains("unknown duration unit `sec`")
        );
    }

    #[test]
    fn numbers() {
        let mut errors = Errors::default();
        let n = number(&entry(quote!(cpus: -0.5)).value, "m", &mut errors).unwrap();
        assert_eq!(n.value, -0.5);
        let n = number(&entry(quote!(cpus: f64::NAN)).value, "m", &mut errors).unwrap();
        assert!(n.value.is_nan());
        assert_eq!(
            integer(&entry(quote!(count: 3)).value, "count", "m", &mut errors),
            Some(3)
        );
        assert!(errors.is_empty());
        assert_eq!(
            integer(&entry(quote!(count: 1.5)).value, "count", "m", &mut errors),
            None
        );
        assert!(
            number(
                &entry(quote!(cpus: "1")).value,
                "expects a number",
                &mut errors
            )
            .is_none()
        );
        assert_eq!(
            errors.messages(),
            vec!["count must be a whole number, got 1.5", "expects a number"]
        );
    }
}
