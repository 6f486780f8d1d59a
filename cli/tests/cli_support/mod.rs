//! Running the `stead` binary's operator commands in the CLI tests.

#![allow(dead_code)]

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

/// Asserts that `stead` succeeded; returns its stdout.
pub fn success(o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {out}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// Asserts that `stead` exited with `code` and printed one `error: ...` line on stderr;
/// returns it.
pub fn failure(o: &Output, code: i32) -> String {
    let err = String::from_utf8_lossy(&o.stderr).trim_end().to_string();
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout: {}\nstderr: {err}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    err
}
