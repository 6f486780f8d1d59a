//! The `stead` CLI run as a process against a live scheduler on the embedded cluster
//! (its own operator API): output and exit codes of every read command, plan commands,
//! pod restart and replace, plan watch, the token, and one-line errors.

mod cli_support;

// Shared with the `stead` crate's own API tests, which keep it beside them.
#[path = "../../sdk/tests/live_support/mod.rs"]
mod live_support;

use std::process::Output;
use std::time::{Duration, Instant};

use cli_support::{run_stead, success};
use live_support::Live;
use serde_json::Value;

const TOKEN: &str = "cli-token";

async fn stead(url: &str, token: Option<&str>, args: &[&str]) -> Output {
    run_stead(url, token, args, Duration::from_secs(120)).await
}

fn failure(o: &Output) -> String {
    cli_support::failure(o, 1)
}

async fn json(url: &str, args: &[&str]) -> Value {
    serde_json::from_str(&success(&stead(url, None, args).await)).unwrap()
}

/// The pods as `stead pod list --json` shows them, once `pred` holds (at most 120 s).
async fn wait_pods(url: &str, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let pods = json(url, &["pod", "list", "--json"]).await;
        let pods = pods.as_array().unwrap().clone();
        if pred(&pods) {
            return pods;
        }
        assert!(Instant::now() < deadline, "{what}: {pods:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn task_id<'a>(pods: &'a [Value], instance: &str) -> &'a Value {
    &pods.iter().find(|p| p["instance"] == instance).unwrap()["task_id"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_against_a_live_scheduler() {
    let live = Live::start(Some(TOKEN)).await;
    let url = live.url.clone();
    let url = url.as_str();

    // Plans.
    let out = success(&stead(url, None, &["plan", "list"]).await);
    assert!(
        out.lines()
            .any(|l| l.starts_with("deploy") && l.contains("COMPLETE")),
        "{out}"
    );
    let out = success(&stead(url, None, &["plan", "show", "deploy"]).await);
    assert!(out.starts_with("deploy (serial) COMPLETE"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.trim().starts_with("node-1") && l.contains("COMPLETE")),
        "{out}"
    );
    let plan = json(url, &["plan", "show", "deploy", "--json"]).await;
    assert_eq!(plan["phases"][0]["steps"][0]["name"], "node-0");
    let out = success(&stead(url, None, &["plan", "watch", "deploy"]).await);
    assert!(out.contains("plan deploy COMPLETE"), "{out}");
    let out = success(
        &stead(
            url,
            Some(TOKEN),
            &["plan", "interrupt", "deploy", "--phase", "node"],
        )
        .await,
    );
    assert_eq!(out.trim(), "interrupt: phase node of plan deploy");
    let out = success(&stead(url, Some(TOKEN), &["plan", "continue", "deploy"]).await);
    assert_eq!(out.trim(), "continue: plan deploy");
    let out = success(
        &stead(
            url,
            Some(TOKEN),
            &["plan", "force-complete", "deploy", "--step", "node-0"],
        )
        .await,
    );
    assert_eq!(out.trim(), "forceComplete: step node-0 of plan deploy");
    let err = failure(&stead(url, None, &["plan", "interrupt", "deploy"]).await);
    assert!(err.starts_with("error: unauthorized (401)"), "{err}");
    let err = failure(
        &stead(
            url,
            Some(TOKEN),
            &["plan", "restart", "deploy", "--step", "node-7"],
        )
        .await,
    );
    assert_eq!(
        err,
        "error: step \"node-7\" in plan \"deploy\" not found (404)"
    );

    // Pods.
    let out = success(&stead(url, None, &["pod", "list"]).await);
    assert_eq!(
        out.lines().filter(|l| l.contains("TASK_RUNNING")).count(),
        2,
        "{out}"
    );
    let out = success(&stead(url, None, &["pod", "info", "node-0"]).await);
    assert!(out.contains("pod:        node-0"), "{out}");
    assert!(out.contains("state:      TASK_RUNNING"), "{out}");
    assert!(out.contains("data ROOT 16 MiB"), "{out}");
    let info = json(url, &["pod", "info", "node-0", "--json"]).await;
    assert_eq!(info["task_info"]["name"], "node-0");
    let err = failure(&stead(url, None, &["pod", "info", "node-9"]).await);
    assert_eq!(err, "error: pod \"node-9\" not found (404)");

    // Configurations and state.
    let ids = json(url, &["config", "list", "--json"]).await;
    assert_eq!(ids[0]["target"], true);
    let id = ids[0]["id"].as_str().unwrap().to_string();
    let out = success(&stead(url, None, &["config", "list"]).await);
    assert_eq!(out, format!("* {id}\n"));
    let out = success(&stead(url, None, &["config", "target"]).await);
    assert!(out.starts_with(&format!("configuration {id}\n")), "{out}");
    assert!(out.contains("\"operator-live\""), "{out}");
    let shown = json(url, &["config", "show", &id, "--json"]).await;
    assert_eq!(shown["spec"]["name"], "operator-live");
    let out = success(&stead(url, None, &["debug", "offers"]).await);
    assert!(out.starts_with("latest offers ("), "{out}");
    let offers = json(url, &["debug", "offers", "--json"]).await;
    assert!(offers["offers"].is_array() && offers["steps"].is_array());
    let framework = success(&stead(url, None, &["state", "framework-id"]).await);
    let framework_json = json(url, &["state", "framework-id", "--json"]).await;
    assert_eq!(framework.trim(), framework_json["framework_id"]);

    // Mutations need the token.
    let pods = json(url, &["pod", "list", "--json"]).await;
    let pods = pods.as_array().unwrap().clone();
    let err = failure(&stead(url, None, &["pod", "restart", "node-0"]).await);
    assert!(err.starts_with("error: unauthorized (401)"), "{err}");
    let err = failure(&stead(url, Some("nope"), &["pod", "replace", "node-1", "--yes"]).await);
    assert!(err.starts_with("error: unauthorized (401)"), "{err}");
    let now = json(url, &["pod", "list", "--json"]).await;
    assert_eq!(
        task_id(now.as_array().unwrap(), "node-0"),
        task_id(&pods, "node-0")
    );

    let out = success(&stead(url, Some(TOKEN), &["pod", "restart", "node-0"]).await);
    assert_eq!(out.trim(), "restart: pod node-0");
    let restarted = wait_pods(url, "node-0 relaunched", |now| {
        task_id(now, "node-0") != task_id(&pods, "node-0")
            && now.iter().all(|p| p["state"] == "TASK_RUNNING")
    })
    .await;
    let out = success(&stead(url, Some(TOKEN), &["pod", "replace", "node-1", "--yes"]).await);
    assert_eq!(out.trim(), "replace: pod node-1");
    wait_pods(url, "node-1 replaced", |now| {
        task_id(now, "node-1") != task_id(&restarted, "node-1")
            && now.iter().all(|p| p["state"] == "TASK_RUNNING")
    })
    .await;
    let err = failure(&stead(url, Some(TOKEN), &["pod", "restart", "node-9"]).await);
    assert_eq!(err, "error: pod \"node-9\" not found (404)");

    // A restarted step is done again: the watch follows it to COMPLETE.
    let before = json(url, &["pod", "list", "--json"]).await;
    let out = success(
        &stead(
            url,
            Some(TOKEN),
            &["plan", "restart", "deploy", "--step", "node-0"],
        )
        .await,
    );
    assert_eq!(out.trim(), "restart: step node-0 of plan deploy");
    // The step may be done again before a further request could see it in flight: the
    // new task id below is what shows that it ran again.
    let out = success(&stead(url, None, &["plan", "watch", "deploy", "--timeout", "120"]).await);
    assert!(out.contains("plan deploy COMPLETE"), "{out}");
    let after = json(url, &["pod", "list", "--json"]).await;
    assert_ne!(
        task_id(after.as_array().unwrap(), "node-0"),
        task_id(before.as_array().unwrap(), "node-0")
    );

    live.stop().await;

    // The scheduler is gone: one clear line, non-zero.
    let err = failure(&stead(url, None, &["plan", "list"]).await);
    assert!(
        err.starts_with(&format!("error: cannot reach the scheduler at {url}: ")),
        "{err}"
    );
}
