//! The `stead` CLI's output contract, run as a process: exit codes and their help,
//! shell completions, `--json` of the mutating commands, `pod list -o wide`, watching a
//! plan generation, and one-line errors for answers that are not the Stead API's.

mod cli_support;

// Shared with the `stead` crate's own API tests, which keep it beside them.
#[path = "../../sdk/tests/http_support/mod.rs"]
mod http_support;

use std::process::Output;
use std::time::Duration;

use axum::http::{StatusCode, header};
use cli_support::{failure, run_stead, success};
use http_support::{Fake, sample_state, start};
use serde_json::{Value, json};

async fn stead(url: &str, args: &[&str]) -> Output {
    run_stead(url, None, args, Duration::from_secs(60)).await
}

async fn fresh() -> (Fake, String) {
    let fake = Fake::new(sample_state());
    let url = start(fake.clone(), None).await;
    (fake, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_lists_the_exit_codes_and_usage_errors_exit_2() {
    let out = success(&stead("http://127.0.0.1:1", &["--help"]).await);
    for line in [
        "Exit codes:",
        "0  the command did what it was asked",
        "1  error",
        "2  usage error",
        "3  the watched plan failed",
        "4  the watch timed out",
    ] {
        assert!(out.contains(line), "{line:?} in\n{out}");
    }
    let out = stead("http://127.0.0.1:1", &["plan", "frobnicate"]).await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_for_bash_zsh_and_fish() {
    for (shell, marker) in [
        ("bash", "complete -F _stead"),
        ("zsh", "#compdef stead"),
        ("fish", "complete -c stead"),
    ] {
        let out = success(&stead("http://127.0.0.1:1", &["completions", shell]).await);
        assert!(out.contains(marker), "{shell}: {marker:?} in\n{out}");
        assert!(out.contains("restart"), "{shell} completes subcommands");
    }
    let out = stead("http://127.0.0.1:1", &["completions", "tcsh"]).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wide_pod_list_and_json_everywhere() {
    let (_fake, url) = fresh().await;
    let out = success(&stead(&url, &["pod", "list", "-o", "wide"]).await);
    let header = out.lines().next().unwrap();
    assert!(header.ends_with("READY  RESTARTS  AGE"), "{out}");
    let row = out.lines().find(|l| l.starts_with("meta-data-1")).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells[cells.len() - 3..cells.len() - 1],
        ["yes", "1"],
        "{row}"
    );
    assert!(cells[cells.len() - 1].ends_with('d'), "days old: {row}");
    let json_out = success(&stead(&url, &["pod", "list", "-o", "json"]).await);
    let pods: Value = serde_json::from_str(&json_out).unwrap();
    assert_eq!(pods[1]["ready"], true);
    assert_eq!(pods[1]["restarts"], 1);
    assert_eq!(pods[1]["running_since_ms"], 1_000_000);

    let out = success(&stead(&url, &["pod", "restart", "meta-data-0", "--json"]).await);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!({"pod": "meta-data-0", "command": "restart", "plan": "recovery", "generation": 2})
    );
    let out = success(&stead(&url, &["plan", "interrupt", "deploy", "--json"]).await);
    let answer: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (&answer["plan"], &answer["command"], &answer["generation"]),
        (&json!("deploy"), &json!("interrupt"), &json!(1))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_waits_for_the_generation_a_command_started() {
    let (fake, url) = fresh().await;
    // The recovery plan is complete at generation 1: not the work of generation 2.
    let args = [
        "plan",
        "watch",
        "recovery",
        "--generation",
        "2",
        "--interval",
        "0.1",
        "--timeout",
        "1",
    ];
    let err = failure(&stead(&url, &args).await, 4);
    assert!(
        err.contains("plan recovery did not complete within 1 s"),
        "{err}"
    );
    // The fake starts generation 2 on a pod restart; the plan (empty) is complete there.
    success(&stead(&url, &["pod", "restart", "meta-data-0"]).await);
    let out = success(&stead(&url, &args).await);
    assert!(out.contains("plan recovery COMPLETE"), "{out}");
    let out = success(
        &stead(
            &url,
            &["pod", "restart", "meta-data-1", "--watch", "--json"],
        )
        .await,
    );
    let plan: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (&plan["name"], &plan["generation"]),
        (&json!("recovery"), &json!(3))
    );
    assert_eq!(fake.with(|s| s.pod_commands.len()), 2);
}

/// Serves every request with `status` and an HTML page.
async fn html_server(status: StatusCode) -> String {
    let app = axum::Router::new().fallback(move || async move {
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<html>\n<body><h1>Not here</h1>\n</body>\n</html>\n",
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_answers_are_summarised_in_one_line() {
    let url = html_server(StatusCode::NOT_FOUND).await;
    let err = failure(&stead(&url, &["plan", "list"]).await, 1);
    assert_eq!(
        err,
        format!("error: HTTP 404 from {url}/v1/plans: not a Stead API (text/html)")
    );
    let err = failure(&stead(&url, &["pod", "restart", "data-0"]).await, 1);
    assert_eq!(
        err,
        format!("error: HTTP 404 from {url}/v1/pods/data-0/restart: not a Stead API (text/html)")
    );
    let url = html_server(StatusCode::OK).await;
    let err = failure(&stead(&url, &["pod", "list", "--json"]).await, 1);
    assert_eq!(
        err,
        format!("error: HTTP 200 from {url}/v1/pods: not a Stead API (text/html)")
    );
}
