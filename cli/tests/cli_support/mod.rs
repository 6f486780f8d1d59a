//! Running the `stead` binary's operator commands in the CLI tests.

use std::process::Output;
use std::time::Duration;

/// Runs `stead args...` against the API at `url`, with `token` (or none) as
/// `STEAD_API_TOKEN`, and waits at most `limit` for it to finish.
pub async fn run_stead(url: &str, token: Option<&str>, args: &[&str], limit: Duration) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_stead"));
    command
        .args(args)
        .env("STEAD_URL", url)
        .env_remove("STEAD_API_TOKEN");
    if let Some(token) = token {
        command.env("STEAD_API_TOKEN", token);
    }
    tokio::time::timeout(limit, command.output())
        .await
        .unwrap_or_else(|_| panic!("stead {args:?} finished within {limit:?}"))
        .expect("stead ran")
}
