//! The compile-time checked service DSL: `task_type!` and `#[service]`.

use proc_macro::TokenStream;

/// Declares a task type (placeholder until the DSL lands).
#[proc_macro]
pub fn task_type(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}

/// Declares a service (placeholder until the DSL lands).
#[proc_macro_attribute]
pub fn service(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}
