//! The dashboard's event stream (`GET /v1/events`) and its page over HTTP: against a
//! test double (tokens, the view's fields, redaction) and against a live scheduler on
//! the embedded cluster (a deploy followed to COMPLETE and a restart seen, on one open
//! stream that ends when the scheduler stops).

mod http_support;
mod live_support;

use std::time::Duration;

use http_support::{Fake, sample_state, start_with};
use live_support::{Live, OperatorLive};
use reqwest::StatusCode;
use serde_json::{Value, json};
use stead::http::ApiOptions;

/// Generous: CI machines are slow and shared.
const LONG: Duration = Duration::from_secs(120);

/// An open event stream, read event by event.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    /// Opens `GET /v1/events` at `base` (with `token`), expecting it accepted.
    async fn open(base: &str, token: Option<&str>) -> Events {
        let response = request(base, token).await;
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Events {
            response,
            buffer: String::new(),
        }
    }

    /// The next event's type and data (comments and keep-alives skipped), within `LONG`.
    async fn next(&mut self) -> (String, Value) {
        tokio::time::timeout(LONG, async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let mut kind = String::from("message");
                    let mut data = Vec::new();
                    for line in block.lines() {
                        if let Some(k) = line.strip_prefix("event:") {
                            kind = k.trim().to_string();
                        } else if let Some(d) = line.strip_prefix("data:") {
                            data.push(d.strip_prefix(' ').unwrap_or(d).to_string());
                        }
                    }
                    if data.is_empty() {
                        continue;
                    }
                    let data = serde_json::from_str(&data.join("\n")).unwrap();
                    return (kind, data);
                }
                let chunk = self
                    .response
                    .chunk()
                    .await
                    .unwrap()
                    .expect("the stream ends");
                self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .expect("an event within the deadline")
    }

    /// The next `dashboard` view.
    async fn view(&mut self) -> Value {
        let (kind, data) = self.next().await;
        assert_eq!(kind, "dashboard", "{data}");
        data
    }

    /// Views until one satisfies `done` (within `LONG` overall); returns it and the views
    /// before it.
    async fn until(&mut self, done: impl Fn(&Value) -> bool) -> (Value, Vec<Value>) {
        let deadline = tokio::time::Instant::now() + LONG;
        let mut before = Vec::new();
        loop {
            assert!(tokio::time::Instant::now() < deadline, "no such view");
            let view = self.view().await;
            eprintln!("view: {}", summary(&view));
            if done(&view) {
                return (view, before);
            }
            before.push(view);
        }
    }
}

async fn request(base: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{base}/v1/events"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// A line telling the plans' and pods' states of `view`, for the test's log.
fn summary(view: &Value) -> String {
    let plans = view["plans"].as_array().into_iter().flatten();
    let pods = view["pods"].as_array().into_iter().flatten();
    let plans: Vec<String> = plans
        .map(|p| format!("{}={}", p["name"], p["status"]))
        .collect();
    let pods: Vec<String> = pods
        .map(|p| {
            format!(
                "{}={}/{}/{}",
                p["instance"], p["state"], p["ready"], p["task_id"]
            )
        })
        .collect();
    format!("{} {}", plans.join(" "), pods.join(" "))
}

fn plan_status<'a>(view: &'a Value, plan: &str) -> Option<&'a str> {
    view["plans"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == plan)?["status"]
        .as_str()
}

fn pod<'a>(view: &'a Value, instance: &str) -> &'a Value {
    view["pods"]
        .as_array()
        .and_then(|pods| pods.iter().find(|p| p["instance"] == instance))
        .unwrap_or_else(|| panic!("no pod {instance} in {view}"))
}

#[tokio::test]
async fn the_page_is_open_and_the_stream_needs_the_read_token() {
    let fake = Fake::new(sample_state());
    let base = start_with(
        fake,
        ApiOptions {
            read_token: Some("reader".into()),
            ..ApiOptions::default()
        },
    )
    .await;
    let http = reqwest::Client::new();
    for (path, content_type, holds) in [
        ("/", "text/html", "/dashboard.js"),
        ("/dashboard.js", "text/javascript", "/v1/events"),
        ("/dashboard.css", "text/css", "body"),
    ] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with(content_type), "{path}: {ct}");
        assert!(r.text().await.unwrap().contains(holds), "{path}");
    }
    let refused = request(&base, None).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let refused = request(&base, Some("wrong")).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let view = Events::open(&base, Some("reader")).await.view().await;
    assert_eq!(view["service"], "data-store");
    assert_eq!(plan_status(&view, "deploy"), Some("IN_PROGRESS"));
    assert_eq!(view["offers"]["steps"][0]["step"], "data-0");
}

#[tokio::test]
async fn the_view_shows_what_differs_from_the_target_and_hides_secrets() {
    let fake = Fake::new(sample_state());
    fake.with(|s| {
        let task_type = |cpus: f64, password: &str| {
            json!({"name": "meta-data", "count": 2, "cpus": cpus,
                   "command": {"env": {"DB_PASSWORD": password}}})
        };
        s.configs.insert(
            "cfg-1".into(),
            json!({"name": "data-store", "task_types": [task_type(1.0, "hunter2")]}),
        );
        s.configs.insert(
            "cfg-0".into(),
            json!({"name": "data-store", "task_types": [task_type(0.5, "hunter1")]}),
        );
        s.pods[1].config_id = Some("cfg-0".into());
    });
    let base = start_with(fake, ApiOptions::default()).await;
    let mut events = Events::open(&base, None).await;
    let view = events.view().await;
    let text = view.to_string();
    assert!(!text.contains("hunter"), "a secret shows: {text}");
    assert_eq!(view["target"]["id"], "cfg-1");
    assert_eq!(view["target"]["task_types"][0]["name"], "meta-data");
    assert_eq!(view["target"]["task_types"][0]["settings"]["cpus"], "1.0");
    let current = pod(&view, "meta-data-0");
    assert_eq!(current["config_id"], "cfg-1");
    assert_eq!(current["differs"], json!([]));
    assert_eq!(current["ready"], true);
    assert_eq!(current["ports"], json!([[31000, 31001]]));
    assert_eq!(current["volumes"][0]["container_path"], "data-path");
    assert_eq!(current["hostname"], "localhost");
    let older = pod(&view, "meta-data-1");
    assert_eq!(older["differs"], json!(["cpus: 0.5 → 1.0"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_open_stream_follows_a_live_deploy_and_a_restart() {
    let live = Live::launch(&OperatorLive::default(), None).await;
    let mut events = Events::open(&live.url, None).await;
    let (deployed, before) = events
        .until(|v| {
            plan_status(v, "deploy") == Some("COMPLETE")
                && v["pods"]
                    .as_array()
                    .is_some_and(|pods| pods.len() == 2 && pods.iter().all(|p| p["ready"] == true))
        })
        .await;
    assert!(
        before
            .iter()
            .any(|v| plan_status(v, "deploy") != Some("COMPLETE")),
        "the stream showed the deploy before it completed"
    );
    assert_eq!(deployed["service"], "operator-live");
    assert_eq!(deployed["health"]["state"], "RUNNING");
    let target = deployed["target"]["id"].as_str().unwrap().to_string();
    let node = pod(&deployed, "node-0").clone();
    assert_eq!(node["config_id"], target.as_str());
    assert_eq!(node["restarts"], 0);
    assert_eq!(node["volumes"][0]["container_path"], "data");
    assert!(node["agent_id"].is_string() && node["status_time"].is_f64());

    let restarted = reqwest::Client::new()
        .post(format!("{}/v1/pods/node-0/restart", live.url))
        .send()
        .await
        .unwrap();
    assert_eq!(restarted.status(), StatusCode::OK);
    let (after, _) = events
        .until(|v| {
            let p = pod(v, "node-0");
            p["task_id"] != node["task_id"] && p["ready"] == true
        })
        .await;
    assert_eq!(pod(&after, "node-0")["restarts"], 1);
    assert_eq!(pod(&after, "node-0")["agent_id"], node["agent_id"]);

    // The scheduler stops with the stream still open: the stream ends with the server
    // instead of holding its graceful shutdown.
    tokio::time::timeout(LONG, live.stop())
        .await
        .expect("the scheduler stops with an event stream open");
    let rest = tokio::time::timeout(LONG, async {
        while let Ok(Some(_)) = events.response.chunk().await {}
    })
    .await;
    assert!(rest.is_ok(), "the event stream ended");
}
