//! Collecting every error of one macro invocation, each with its span.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use std::fmt::Display;
use stead_spec::RuleError;

/// All the errors of one invocation, combined into one `syn::Error`.
#[derive(Default)]
pub struct Errors {
    inner: Option<syn::Error>,
}

impl Errors {
    /// Adds an error.
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.inner {
            Some(all) => all.combine(error),
            None => self.inner = Some(error),
        }
    }

    /// Adds an error spanning `tokens`.
    pub fn at(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Adds an error at `span`.
    pub fn at_span(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Keeps the value of a passed rule, or records its message spanning `tokens`.
    pub fn rule<T>(&mut self, tokens: impl ToTokens, result: Result<T, RuleError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.at(tokens, e.message);
                None
            }
        }
    }

    /// Whether no error was recorded.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.inner.is_none()
    }

    /// The recorded messages, in order (for tests).
    #[cfg(test)]
    pub fn messages(&self) -> Vec<String> {
        self.inner
            .iter()
            .flat_map(|e| e.clone().into_iter().map(|e| e.to_string()))
            .collect()
    }

    /// One `compile_error!` per recorded error.
    pub fn to_compile_errors(&self) -> TokenStream {
        self.inner
            .as_ref()
            .map(syn::Error::to_compile_error)
            .unwrap_or_default()
    }
}
