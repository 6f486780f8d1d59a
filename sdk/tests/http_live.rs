//! Every endpoint of the operator API against a live scheduler on the embedded cluster:
//! status codes and bodies, the token, bad inputs, and pod restart and replace carried
//! out for real.

mod http_live_support;

use std::time::{Duration, Instant};

use http_live_support::Live;
use reqwest::StatusCode;
use serde_json::{Value, json};

const TOKEN: &str = "live-token";

struct Api {
    url: String,
    http: reqwest::Client,
}

impl Api {
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: {text}"));
        (status, body)
    }

    async fn text(&self, path: &str) -> String {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap()
    }

    async fn post(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = self.http.post(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let r = request.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: {text}"));
        (status, body)
    }

    /// The pod `instance` from `GET /v1/pods`.
    async fn pod(&self, instance: &str) -> Value {
        let (status, pods) = self.get("/v1/pods").await;
        assert_eq!(status, 200);
        pods.as_array()
            .unwrap()
            .iter()
            .find(|p| p["instance"] == instance)
            .cloned()
            .unwrap_or_else(|| panic!("{instance} in {pods}"))
    }

    /// Polls `GET /v1/pods` until `instance` satisfies `pred` (at most 120 s).
    async fn wait_pod(&self, instance: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let pod = self.pod(instance).await;
            if pred(&pod) {
                return pod;
            }
            assert!(Instant::now() < deadline, "{instance}: {what}; last {pod}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_against_a_live_scheduler() {
    let live = Live::start(Some(TOKEN)).await;
    let api = Api {
        url: live.url.clone(),
        http: reqwest::Client::new(),
    };

    // Plans.
    let (status, plans) = api.get("/v1/plans").await;
    assert_eq!(status, 200);
    assert!(
        plans.as_array().unwrap().contains(&json!("deploy")),
        "{plans}"
    );
    let (status, deploy) = api.get("/v1/plans/deploy").await;
    assert_eq!(status, StatusCode::OK, "complete: {deploy}");
    assert_eq!(deploy["status"], "COMPLETE");
    assert_eq!(deploy["phases"][0]["name"], "node");
    let steps: Vec<&str> = deploy["phases"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["node-0", "node-1"]);
    let (status, body) = api.get("/v1/plans/nope").await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (404, Some("not_found"))
    );

    // Pods.
    let (status, pods) = api.get("/v1/pods").await;
    assert_eq!(status, 200);
    assert_eq!(pods.as_array().unwrap().len(), 2, "{pods}");
    for pod in pods.as_array().unwrap() {
        assert_eq!(pod["state"], "TASK_RUNNING", "{pod}");
        assert_eq!(pod["task_type"], "node");
    }
    let (status, info) = api.get("/v1/pods/node-0/info").await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["instance"], "node-0");
    assert_eq!(info["index"], 0);
    assert_eq!(info["task_info"]["name"], "node-0");
    assert_eq!(info["last_status"]["state"], "TASK_RUNNING");
    assert_eq!(info["agent_id"], info["task_info"]["agent_id"]["value"]);
    assert!(
        info["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "cpus" && r["scalar"] == 0.1),
        "{info}"
    );
    assert_eq!(info["volumes"][0]["container_path"], "data");
    assert_eq!(info["volumes"][0]["size_mb"], 16.0);
    let (status, body) = api.get("/v1/pods/node-9/info").await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (404, Some("not_found"))
    );

    // Configurations and state.
    let (status, ids) = api.get("/v1/configurations").await;
    assert_eq!(status, 200);
    assert_eq!(ids.as_array().unwrap().len(), 1, "{ids}");
    let (status, target) = api.get("/v1/configurations/target").await;
    assert_eq!(status, 200);
    assert_eq!(target["id"], ids[0]);
    assert_eq!(target["spec"]["name"], "operator-live");
    assert_eq!(info["config_id"], ids[0]);
    let id = ids[0].as_str().unwrap();
    let (status, config) = api.get(&format!("/v1/configurations/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(config, target);
    let (status, _) = api.get("/v1/configurations/no-such-id").await;
    assert_eq!(status, 404);
    let (status, body) = api.get("/v1/state/frameworkId").await;
    assert_eq!(status, 200);
    assert!(!body["framework_id"].as_str().unwrap().is_empty());

    // Health, metrics, offers.
    let (status, health) = api.get("/v1/health").await;
    assert_eq!(
        (status.as_u16(), health["state"].as_str()),
        (200, Some("RUNNING")),
        "{health}"
    );
    let metrics = api.text("/v1/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l == "stead_tasks{state=\"TASK_RUNNING\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l == "stead_plan_status{plan=\"deploy\",status=\"COMPLETE\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l == "stead_plan_steps{plan=\"deploy\",status=\"COMPLETE\"} 2"),
        "{metrics}"
    );
    let (status, offers) = api.get("/v1/debug/offers").await;
    assert_eq!(status, 200);
    assert!(offers["offers"].is_array() && offers["steps"].is_array());

    // Token and bad inputs: nothing reaches the scheduler.
    let before = api.pod("node-0").await;
    for path in [
        "/v1/pods/node-0/restart",
        "/v1/pods/node-1/replace",
        "/v1/plans/deploy/interrupt",
    ] {
        let (status, _) = api.post(path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        let (status, _) = api.post(path, Some("wrong")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    for (path, code) in [
        ("/v1/pods/node-9/restart", 404),
        ("/v1/pods/node-0/explode", 404),
        ("/v1/plans/nope/restart", 404),
        ("/v1/plans/deploy/restart?phase=nope", 404),
        ("/v1/plans/deploy/restart?step=node-7", 404),
        ("/v1/plans/deploy/interrupt?step=node-0", 400),
        ("/v1/plans/deploy/restart?phase=", 400),
        ("/v1/plans/deploy/restart?x=1", 400),
    ] {
        let (status, body) = api.post(path, Some(TOKEN)).await;
        assert_eq!(status.as_u16(), code, "{path}: {body}");
        assert!(body["message"].is_string(), "{path}: {body}");
    }
    assert_eq!(
        api.pod("node-0").await["task_id"],
        before["task_id"],
        "no relaunch happened"
    );

    // Restart in place: a new task on the same agent with the same volume.
    let old_info = info;
    let (status, body) = api.post("/v1/pods/node-0/restart", Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"pod": "node-0", "command": "restart"}));
    let pod = api
        .wait_pod("node-0", "relaunched and running", |p| {
            p["task_id"] != before["task_id"] && p["state"] == "TASK_RUNNING"
        })
        .await;
    assert_eq!(pod["agent_id"], before["agent_id"]);
    let (_, info) = api.get("/v1/pods/node-0/info").await;
    assert_eq!(
        info["volumes"], old_info["volumes"],
        "same volume after a restart"
    );

    // Replace: a new task with a new volume.
    let (_, old_info) = api.get("/v1/pods/node-1/info").await;
    let before = api.pod("node-1").await;
    let (status, body) = api.post("/v1/pods/node-1/replace", Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    api.wait_pod("node-1", "replaced and running", |p| {
        p["task_id"] != before["task_id"] && p["state"] == "TASK_RUNNING"
    })
    .await;
    let (_, info) = api.get("/v1/pods/node-1/info").await;
    assert_ne!(
        info["volumes"][0]["persistence_id"], old_info["volumes"][0]["persistence_id"],
        "a replaced pod gets a new volume"
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, health) = api.get("/v1/health").await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "healthy again: {health}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    live.stop().await;
}
