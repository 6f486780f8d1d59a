//! The operator API fuzzed by a third-party tool against its own OpenAPI description:
//! schemathesis (`st`, installed with pip by `scripts/test.sh`) runs against a live
//! scheduler on the embedded cluster, with the description the scheduler serves at
//! `/v1/openapi.json`. Every answer must be documented (status code, content type,
//! headers, body schema) and none may be a 5xx. Fails when `st` is missing.
//!
//! Every check of schemathesis runs (`--checks all`): no 5xx, status codes, content
//! types, headers and bodies as described, invalid input refused with a 4xx, valid input
//! not refused, a 405 for an undescribed method, a 401 without the token. The phases are
//! the description's examples, the coverage of its parameters' boundaries and random
//! fuzzing; not the stateful phase, which chains operations through links that the
//! description does not declare. Restarts and plan commands are fuzzed (the service
//! survives them); left out are `POST /v1/uninstall` and `POST
//! /v1/pods/{instance}/replace`, which need a confirmation naming what they destroy that a
//! description cannot express (any other value is a 400, which `http_safety.rs` tests; the
//! first would also remove the service in the middle of the run), and `GET /v1/events`, a
//! stream that never ends (`http_events.rs` tests it). The scheduler takes a token, given
//! to the fuzzer, so the `ignored_auth` check sees the 401 of a request without it. `STEAD_OPENAPI_FUZZ_SEED`
//! and `STEAD_OPENAPI_FUZZ_EXAMPLES` change the seed (18) and the test cases per operation
//! (25).

#[path = "live_support/mod.rs"]
mod live_support;

use std::process::Stdio;
use std::time::Duration;

use live_support::Live;

const TOKEN: &str = "fuzz-token";

/// Test cases per operation (`STEAD_OPENAPI_FUZZ_EXAMPLES` changes it): the whole run
/// takes well under two minutes.
const MAX_EXAMPLES: &str = "25";

/// The seed of the run (`STEAD_OPENAPI_FUZZ_SEED` changes it).
const SEED: &str = "18";

/// The run is stopped (and fails) after this long.
const LIMIT: Duration = Duration::from_secs(150);

/// The value of the environment variable `name`, or `default`.
fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn schemathesis_available() -> bool {
    std::process::Command::new("st")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_5xx_and_no_undocumented_answer() {
    assert!(
        schemathesis_available(),
        "schemathesis (`st`) is not installed: `bash scripts/test.sh` installs it, or \
         /usr/bin/python3 -m pip install --break-system-packages schemathesis"
    );
    let live = Live::start(Some(TOKEN)).await;
    let report = tempfile::tempdir().expect("a temporary directory");
    let schema = format!("{}/v1/openapi.json", live.url);
    let auth = format!("Authorization: Bearer {TOKEN}");
    let run = tokio::process::Command::new("st")
        .args(["run", &schema, "--checks", "all"])
        .args(["--exclude-path", "/v1/uninstall"])
        .args(["--exclude-path", "/v1/pods/{instance}/replace"])
        // A stream of server-sent events never ends: its own tests read it.
        .args(["--exclude-path", "/v1/events"])
        .args(["--header", &auth])
        .args(["--phases", "examples,coverage,fuzzing"])
        .arg("--max-examples")
        .arg(setting("STEAD_OPENAPI_FUZZ_EXAMPLES", MAX_EXAMPLES))
        .arg("--seed")
        .arg(setting("STEAD_OPENAPI_FUZZ_SEED", SEED))
        .args(["--workers", "2", "--request-timeout", "20"])
        .args(["--generation-database", "none", "--no-color"])
        .arg("--report-dir")
        .arg(report.path())
        .env("SCHEMATHESIS_HOOKS", "")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(LIMIT, run)
        .await
        .unwrap_or_else(|_| panic!("schemathesis finished within {LIMIT:?}"))
        .expect("schemathesis ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "schemathesis found problems (exit {:?}):\n{stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    live.stop().await;
}
