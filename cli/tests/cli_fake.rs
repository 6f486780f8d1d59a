//! The `stead` CLI run as a process against the operator API served over a test double
//! of the scheduler: output, exit codes and one-line errors.

mod cli_support;

// Shared with the `stead` crate's own API tests, which keep it beside them.
#[path = "../../sdk/tests/http_support/mod.rs"]
mod http_support;

use std::process::Output;
use std::time::Duration;

use cli_support::{failure, run_stead, success};
use http_support::{Fake, sample_state, start};
use serde_json::{Value, json};
use stead::api::{PlanCommand, PodCommand};
use stead::plan::Status;

/// Runs `stead args...` against `url`, with `token` in the environment.
async fn stead(url: &str, token: Option<&str>, args: &[&str]) -> Output {
    run_stead(url, token, args, Duration::from_secs(60)).await
}

async fn fresh() -> (Fake, String) {
    let fake = Fake::new(sample_state());
    let url = start(fake.clone(), None).await;
    (fake, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_list_and_show() {
    let (_fake, url) = fresh().await;
    let out = success(&stead(&url, None, &["plan", "list"]).await);
    assert!(out.lines().next().unwrap().starts_with("PLAN"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("deploy") && l.contains("IN_PROGRESS")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("recovery") && l.contains("COMPLETE")),
        "{out}"
    );

    // Every field of the table: the name, the status and the errors (and the generation).
    let out = success(&stead(&url, None, &["plan", "list", "--json"]).await);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!([
            {"name": "deploy", "status": "IN_PROGRESS", "generation": 1, "errors": []},
            {"name": "recovery", "status": "COMPLETE", "generation": 1, "errors": []},
        ])
    );

    let out = success(&stead(&url, None, &["plan", "show", "deploy"]).await);
    assert!(out.starts_with("deploy (serial) IN_PROGRESS"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.trim() == "meta-data (serial) COMPLETE"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.trim().starts_with("data-0") && l.contains("STARTING")),
        "{out}"
    );

    let out = success(&stead(&url, None, &["plan", "show", "deploy", "--json"]).await);
    let plan: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plan["phases"][1]["steps"][1]["name"], "data-1");

    let err = failure(&stead(&url, None, &["plan", "show", "nope"]).await, 1);
    assert_eq!(err, "error: plan \"nope\" not found (404)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_commands() {
    let (fake, url) = fresh().await;
    let out = success(&stead(&url, None, &["plan", "interrupt", "deploy"]).await);
    assert_eq!(out.trim(), "interrupt: plan deploy");
    let out = success(
        &stead(
            &url,
            None,
            &["plan", "continue", "deploy", "--phase", "data"],
        )
        .await,
    );
    assert_eq!(out.trim(), "continue: phase data of plan deploy");
    let args = [
        "plan",
        "force-complete",
        "deploy",
        "--phase",
        "data",
        "--step",
        "data-1",
    ];
    let out = success(&stead(&url, None, &args).await);
    assert_eq!(out.trim(), "forceComplete: step data-1 of plan deploy");
    assert_eq!(
        fake.with(|s| s.plans[0].phases()[1].steps()[1].status()),
        Status::Complete
    );
    success(
        &stead(
            &url,
            None,
            &["plan", "restart", "deploy", "--step", "data-1"],
        )
        .await,
    );
    assert_eq!(
        fake.with(|s| s.plans[0].phases()[1].steps()[1].status()),
        Status::Pending
    );

    let commands: Vec<&str> = fake.with(|s| {
        s.plan_commands
            .iter()
            .map(|(_, c)| match c {
                PlanCommand::Interrupt { .. } => "interrupt",
                PlanCommand::Continue { .. } => "continue",
                PlanCommand::Restart { .. } => "restart",
                PlanCommand::ForceComplete { .. } => "forceComplete",
            })
            .collect()
    });
    assert_eq!(
        commands,
        ["interrupt", "continue", "forceComplete", "restart"]
    );

    let err = failure(
        &stead(&url, None, &["plan", "restart", "deploy", "--step", "nope"]).await,
        1,
    );
    assert!(
        err.contains("step \"nope\"") && err.ends_with("(404)"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_watch_follows_until_complete() {
    let (fake, url) = fresh().await;
    let driver = fake.clone();
    // The fake scheduler makes progress while the CLI watches.
    let progress = tokio::spawn(async move {
        for (step, status) in [
            (0, Status::Complete),
            (1, Status::Starting),
            (1, Status::Complete),
        ] {
            tokio::time::sleep(Duration::from_millis(300)).await;
            driver.with(|s| s.plans[0].step_mut((1, step)).unwrap().set_status(status));
        }
    });
    let out = stead(
        &url,
        None,
        &["plan", "watch", "deploy", "--interval", "0.1"],
    )
    .await;
    progress.await.unwrap();
    let out = success(&out);
    assert!(out.starts_with("plan deploy IN_PROGRESS\n"), "{out}");
    assert!(out.contains("data/data-0 COMPLETE [1/2]"), "{out}");
    assert!(out.contains("data/data-1 STARTING"), "{out}");
    assert!(out.contains("data/data-1 COMPLETE [2/2]"), "{out}");
    assert!(out.contains("plan deploy COMPLETE"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_watch_fails_on_error_and_times_out() {
    let (fake, url) = fresh().await;
    fake.with(|s| {
        s.plans[0]
            .step_mut((1, 0))
            .unwrap()
            .fail("cannot place data-0")
    });
    let out = stead(&url, None, &["plan", "watch", "deploy"]).await;
    let err = failure(&out, 3);
    assert!(
        err.contains("plan deploy failed") && err.contains("cannot place data-0"),
        "{err}"
    );

    let (_fake, url) = fresh().await;
    let args = [
        "plan",
        "watch",
        "deploy",
        "--interval",
        "0.1",
        "--timeout",
        "1",
    ];
    let err = failure(&stead(&url, None, &args).await, 4);
    assert!(err.contains("did not complete within 1 s"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_commands() {
    let (fake, url) = fresh().await;
    let out = success(&stead(&url, None, &["pod", "list"]).await);
    assert!(out.lines().next().unwrap().starts_with("POD"), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("meta-data-1")
            && l.contains("TASK_RUNNING")
            && l.contains("agent-2")),
        "{out}"
    );
    let out = success(&stead(&url, None, &["pod", "list", "--json"]).await);
    let pods: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(pods.as_array().unwrap().len(), 2);

    let out = success(&stead(&url, None, &["pod", "info", "meta-data-0"]).await);
    assert!(out.contains("pod:        meta-data-0"), "{out}");
    assert!(out.contains("task:       meta-data-0__1234"), "{out}");
    assert!(out.contains("state:      TASK_RUNNING"), "{out}");
    assert!(out.contains("ports  31000-31001"), "{out}");
    assert!(out.contains("data-path ROOT 5000 MiB"), "{out}");
    let out = success(&stead(&url, None, &["pod", "info", "meta-data-0", "--json"]).await);
    let info: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(info["config_id"], "cfg-1");

    let out = success(&stead(&url, None, &["pod", "restart", "meta-data-0"]).await);
    assert_eq!(out.trim(), "restart: pod meta-data-0");
    let out = success(&stead(&url, None, &["pod", "replace", "meta-data-1", "--yes"]).await);
    assert_eq!(out.trim(), "replace: pod meta-data-1");
    assert_eq!(
        fake.with(|s| s.pod_commands.clone()),
        vec![
            ("meta-data-0".to_string(), PodCommand::Restart),
            ("meta-data-1".to_string(), PodCommand::Replace)
        ]
    );

    let err = failure(&stead(&url, None, &["pod", "info", "data-9"]).await, 1);
    assert_eq!(err, "error: pod \"data-9\" not found (404)");
    let err = failure(&stead(&url, None, &["pod", "restart", "data-9"]).await, 1);
    assert_eq!(err, "error: pod \"data-9\" not found (404)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_and_state_commands() {
    let (fake, url) = fresh().await;
    fake.with(|s| {
        s.configs
            .insert("cfg-0".into(), json!({"name": "data-store", "old": true}));
    });
    let out = success(&stead(&url, None, &["config", "list"]).await);
    assert_eq!(out, "  cfg-0\n* cfg-1\n");
    // Every field of the list: the ids, and which one is the target.
    let out = success(&stead(&url, None, &["config", "list", "--json"]).await);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!([{"id": "cfg-0", "target": false}, {"id": "cfg-1", "target": true}])
    );
    let out = success(&stead(&url, None, &["config", "target"]).await);
    assert!(out.starts_with("configuration cfg-1\n"), "{out}");
    assert!(out.contains("\"name\": \"data-store\""), "{out}");
    let out = success(&stead(&url, None, &["config", "show", "cfg-0", "--json"]).await);
    let body: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        body,
        json!({"id": "cfg-0", "spec": {"name": "data-store", "old": true}})
    );
    let err = failure(&stead(&url, None, &["config", "show", "cfg-9"]).await, 1);
    assert!(err.contains("cfg-9") && err.ends_with("(404)"), "{err}");

    let out = success(&stead(&url, None, &["state", "framework-id"]).await);
    assert_eq!(out, "fw-42\n");
    let out = success(&stead(&url, None, &["state", "framework-id", "--json"]).await);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!({"framework_id": "fw-42"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_from_the_environment() {
    let fake = Fake::new(sample_state());
    let url = start(fake.clone(), Some("s3cret")).await;
    // Reads need no token.
    success(&stead(&url, None, &["plan", "list"]).await);
    let err = failure(
        &stead(&url, None, &["pod", "restart", "meta-data-0"]).await,
        1,
    );
    assert_eq!(
        err,
        "error: unauthorized (401): set STEAD_API_TOKEN to the scheduler's API token"
    );
    failure(
        &stead(&url, Some("wrong"), &["plan", "interrupt", "deploy"]).await,
        1,
    );
    assert!(fake.with(|s| s.pod_commands.is_empty() && s.plan_commands.is_empty()));
    success(&stead(&url, Some("s3cret"), &["pod", "restart", "meta-data-0"]).await);
    assert_eq!(fake.with(|s| s.pod_commands.len()), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_and_invalid_urls() {
    // Bind then drop a listener so that the port is very likely closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let err = failure(&stead(&url, None, &["plan", "list"]).await, 1);
    assert!(
        err.starts_with(&format!("error: cannot reach the scheduler at {url}: ")),
        "{err}"
    );

    let err = failure(&stead("ftp://x", None, &["pod", "list"]).await, 1);
    assert!(err.contains("invalid scheduler URL"), "{err}");
    let out = stead("http://127.0.0.1:1", None, &["pod", "info"]).await;
    assert_eq!(out.status.code(), Some(2), "clap usage error");
}
