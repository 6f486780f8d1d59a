//! A pod's output read through the operator API from its sandbox on the embedded cluster
//! (the agents' files API): stdout and stderr, offsets and lengths, the size, and the
//! previous run after a restart.

mod live_support;

use std::time::{Duration, Instant};

use live_support::{Live, TaskLogs};
use reqwest::StatusCode;
use serde_json::Value;

const LONG: Duration = Duration::from_secs(120);

async fn get(url: &str, path: &str) -> (StatusCode, Value) {
    let r = reqwest::get(format!("{url}{path}")).await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: {text}"));
    (status, body)
}

/// Polls `path` until `pred` accepts its answer (for at most [`LONG`]).
async fn wait_for(url: &str, path: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + LONG;
    loop {
        let (status, body) = get(url, path).await;
        if status == StatusCode::OK && pred(&body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "no {what} within {LONG:?}: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn data(body: &Value) -> &str {
    body["data"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pods_output_is_read_from_its_sandbox() {
    let live = Live::launch(&TaskLogs::default(), None).await;
    let url = live.url.clone();
    let logs = "/v1/pods/talker-0/logs";

    let first = wait_for(&url, logs, "three lines of stdout", |b| {
        data(b).contains("line 3\n")
    })
    .await;
    assert_eq!(first["instance"], "talker-0");
    assert_eq!(first["stream"], "stdout");
    assert_eq!(first["offset"], 0);
    assert!(
        data(&first).starts_with("line 1\nline 2\nline 3\n"),
        "{first}"
    );
    let task = first["task_id"].as_str().unwrap().to_string();

    let (status, err) = get(&url, &format!("{logs}?stream=stderr")).await;
    assert_eq!(status, 200, "{err}");
    assert_eq!(data(&err), "starting\n");

    let (_, piece) = get(&url, &format!("{logs}?offset=7&length=6")).await;
    assert_eq!(piece["offset"], 7);
    assert_eq!(data(&piece), "line 2");

    let (_, size) = get(&url, &format!("{logs}?offset=-1")).await;
    assert_eq!(data(&size), "");
    let size = size["offset"].as_u64().unwrap();
    assert!(size >= data(&first).len() as u64, "{size}");
    let (_, past) = get(&url, &format!("{logs}?offset={}", size + 1000)).await;
    assert_eq!(data(&past), "", "nothing past the end");

    let (status, body) = get(&url, &format!("{logs}?previous=true")).await;
    assert_eq!(status, 404, "no previous run yet: {body}");
    let (status, body) = get(&url, "/v1/pods/talker-9/logs").await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = get(&url, &format!("{logs}?stream=stdin")).await;
    assert_eq!(status, 400, "{body}");

    // After a restart, the current run is a new task and the previous one stays readable.
    let restart = reqwest::Client::new()
        .post(format!("{url}/v1/pods/talker-0/restart"))
        .send()
        .await
        .unwrap();
    assert_eq!(restart.status(), 200);
    let current = wait_for(&url, logs, "the relaunched task's output", |b| {
        b["task_id"] != task.as_str() && data(b).contains("line 1\n")
    })
    .await;
    assert!(data(&current).starts_with("line 1\n"), "{current}");
    let (status, previous) = get(&url, &format!("{logs}?previous=true")).await;
    assert_eq!(status, 200, "{previous}");
    assert_eq!(previous["task_id"], task.as_str());
    assert!(data(&previous).starts_with("line 1\nline 2\nline 3\n"));
    let (_, previous_size) = get(&url, &format!("{logs}?previous=true&offset=-1")).await;
    assert!(previous_size["offset"].as_u64().unwrap() >= size);

    live.stop().await;
}
