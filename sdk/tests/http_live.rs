//! Every endpoint of the operator API served by a live scheduler on the embedded
//! cluster: status codes and bodies, metrics after a real deploy, the token, bad inputs,
//! pod restart and replace, plan commands carried out for real, and offer diagnostics of
//! a step that cannot be placed.

mod live_support;

use std::time::{Duration, Instant};

use live_support::{Live, OperatorUnfit};
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

    async fn metrics(&self) -> String {
        self.text("/v1/metrics").await
    }

    /// Polls `GET path` until `pred` holds for its status and body (at most 120 s).
    async fn wait(
        &self,
        path: &str,
        what: &str,
        pred: impl Fn(StatusCode, &Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (status, body) = self.get(path).await;
            if pred(status, &body) {
                return body;
            }
            assert!(Instant::now() < deadline, "{what}; last {status} {body}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
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

/// The value of the sample `series` (name and labels exactly as rendered), if present.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        l.strip_prefix(series)
            .and_then(|rest| rest.strip_prefix(' '))
            .and_then(|v| v.parse().ok())
    })
}

/// The step called `name` in a plan snapshot.
fn step<'a>(plan: &'a Value, name: &str) -> &'a Value {
    plan["phases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["steps"].as_array().unwrap())
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("step {name} in {plan}"))
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
    // The counters of a real deploy: 2 instances, each with one volume.
    let received = sample(&metrics, "stead_offers_received_total").unwrap();
    let used = sample(&metrics, "stead_offers_used_total").unwrap();
    assert!(received >= used && used >= 1.0, "{metrics}");
    assert_eq!(
        sample(&metrics, "stead_operations_total{type=\"LAUNCH\"}"),
        Some(2.0),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, "stead_operations_total{type=\"CREATE\"}"),
        Some(2.0),
        "{metrics}"
    );
    assert!(
        sample(&metrics, "stead_operations_total{type=\"RESERVE\"}").unwrap() >= 2.0,
        "{metrics}"
    );
    let writes = sample(&metrics, "stead_state_store_write_seconds_count").unwrap();
    assert!(writes >= 2.0, "tasks are stored before launch: {metrics}");
    assert_eq!(
        sample(
            &metrics,
            "stead_state_store_write_seconds_bucket{le=\"+Inf\"}"
        ),
        Some(writes)
    );
    let (status, offers) = api.get("/v1/debug/offers").await;
    assert_eq!(status, 200);
    assert!(!offers["offers"].as_array().unwrap().is_empty(), "{offers}");
    assert!(offers["steps"].is_array(), "{offers}");

    // Token and bad inputs: nothing reaches the scheduler.
    let before = api.pod("node-0").await;
    for path in [
        "/v1/pods/node-0/restart",
        "/v1/pods/node-1/replace?confirm=node-1",
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
    // The answer carries the plan work that carries the restart out as well: the
    // recovery plan, whose snapshots show it from now on.
    assert_eq!(
        body,
        json!({"pod": "node-0", "command": "restart", "plan": "recovery", "generation": 2})
    );
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
    let (status, body) = api
        .post("/v1/pods/node-1/replace?confirm=node-1", Some(TOKEN))
        .await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_commands_against_a_live_scheduler() {
    let live = Live::start(Some(TOKEN)).await;
    let api = Api {
        url: live.url.clone(),
        http: reqwest::Client::new(),
    };
    let first0 = api.pod("node-0").await;
    let first1 = api.pod("node-1").await;

    // Interrupted, a restarted plan starts nothing.
    let (status, body) = api.post("/v1/plans/deploy/interrupt", Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"plan": "deploy", "command": "interrupt", "phase": null, "generation": 1})
    );
    let (status, body) = api.post("/v1/plans/deploy/restart", Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let (status, deploy) = api.get("/v1/plans/deploy").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{deploy}");
    assert_eq!(deploy["status"], "WAITING", "{deploy}");
    for name in ["node-0", "node-1"] {
        assert_eq!(step(&deploy, name)["status"], "PENDING", "{deploy}");
    }
    let (status, health) = api.get("/v1/health").await;
    assert_eq!(
        (status.as_u16(), health["state"].as_str()),
        (202, Some("DEPLOYING")),
        "{health}"
    );

    // A force-completed step is not done again; continuing restarts the other one in place.
    let (status, body) = api
        .post("/v1/plans/deploy/forceComplete?step=node-1", Some(TOKEN))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["step"], step(&deploy, "node-1")["id"]);
    let (_, deploy) = api.get("/v1/plans/deploy").await;
    assert_eq!(step(&deploy, "node-1")["status"], "COMPLETE", "{deploy}");
    let (status, body) = api.post("/v1/plans/deploy/continue", Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let pod = api
        .wait_pod("node-0", "restarted by the plan", |p| {
            p["task_id"] != first0["task_id"] && p["state"] == "TASK_RUNNING"
        })
        .await;
    assert_eq!(pod["agent_id"], first0["agent_id"], "relaunched in place");
    api.wait("/v1/plans/deploy", "deploy complete again", |s, _| s == 200)
        .await;
    assert_eq!(api.pod("node-1").await["task_id"], first1["task_id"]);

    // One phase: interrupt it, restart one of its steps, continue it.
    let (status, body) = api
        .post("/v1/plans/deploy/interrupt?phase=node", Some(TOKEN))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["phase"], deploy["phases"][0]["id"]);
    let (status, body) = api
        .post(
            "/v1/plans/deploy/restart?phase=node&step=node-1",
            Some(TOKEN),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, deploy) = api.get("/v1/plans/deploy").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{deploy}");
    assert_eq!(deploy["phases"][0]["status"], "WAITING", "{deploy}");
    assert_eq!(step(&deploy, "node-1")["status"], "PENDING", "{deploy}");
    assert_eq!(
        step(&deploy, "node-1")["message"],
        "restarted by the operator"
    );
    assert_eq!(api.pod("node-1").await["task_id"], first1["task_id"]);
    let (status, body) = api
        .post("/v1/plans/deploy/continue?phase=node", Some(TOKEN))
        .await;
    assert_eq!(status, 200, "{body}");
    api.wait_pod("node-1", "restarted by the phase", |p| {
        p["task_id"] != first1["task_id"] && p["state"] == "TASK_RUNNING"
    })
    .await;
    api.wait("/v1/health", "running again", |s, _| s == 200)
        .await;
    let metrics = api.metrics().await;
    assert_eq!(
        sample(&metrics, "stead_operations_total{type=\"LAUNCH\"}"),
        Some(4.0),
        "two launches and two restarts in place: {metrics}"
    );

    // The recovery plan takes commands too; unknown names are refused.
    for path in [
        "/v1/plans/recovery/interrupt",
        "/v1/plans/recovery/continue",
    ] {
        let (status, body) = api.post(path, Some(TOKEN)).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, _) = api
        .post(
            "/v1/plans/deploy/forceComplete?phase=node&step=nope",
            Some(TOKEN),
        )
        .await;
    assert_eq!(status, 404);

    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_offers_explain_a_step_that_cannot_be_placed() {
    let live = Live::launch(&OperatorUnfit::default(), None).await;
    let api = Api {
        url: live.url.clone(),
        http: reqwest::Client::new(),
    };
    let debug = api
        .wait("/v1/debug/offers", "offers evaluated for huge-0", |_, d| {
            d["steps"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["instance"] == "huge-0"))
        })
        .await;
    let offered: Vec<&Value> = debug["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &o["offer_id"])
        .collect();
    assert!(!offered.is_empty(), "{debug}");
    let steps = debug["steps"].as_array().unwrap();
    let huge = steps.iter().find(|s| s["instance"] == "huge-0").unwrap();
    assert_eq!(huge["plan"], "deploy");
    let outcomes = huge["outcomes"].as_array().unwrap();
    assert_eq!(
        outcomes.len(),
        offered.len(),
        "one outcome per offer: {debug}"
    );
    for o in outcomes {
        assert_eq!(o["used"], false, "{o}");
        assert!(offered.contains(&&o["offer_id"]), "{o}");
        let reason = o["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("insufficient cpus: need 64, offered "),
            "{reason}"
        );
    }

    // The plan is published after the offer cycle: wait for the step's reason.
    api.wait("/v1/plans/deploy", "huge-0 explained", |status, deploy| {
        status == StatusCode::ACCEPTED
            && step(deploy, "huge-0")["message"]
                .as_str()
                .is_some_and(|m| m.contains("insufficient cpus"))
    })
    .await;
    let (status, health) = api.get("/v1/health").await;
    assert_eq!(
        (status.as_u16(), health["state"].as_str()),
        (202, Some("DEPLOYING")),
        "{health}"
    );
    let metrics = api.metrics().await;
    assert!(sample(&metrics, "stead_offers_declined_total").unwrap() >= 1.0);
    assert_eq!(sample(&metrics, "stead_offers_used_total"), Some(0.0));
    assert_eq!(
        sample(&metrics, "stead_operations_total{type=\"LAUNCH\"}"),
        None
    );
    assert_eq!(
        sample(
            &metrics,
            "stead_plan_steps{plan=\"deploy\",status=\"PREPARED\"}"
        ),
        Some(1.0),
        "{metrics}"
    );

    // Without a token configured, commands need none; the operator gives up on the step.
    let (status, body) = api.post("/v1/plans/deploy/forceComplete", None).await;
    assert_eq!(status, 200, "{body}");
    let (status, health) = api.get("/v1/health").await;
    assert_eq!(
        (status.as_u16(), health["state"].as_str()),
        (200, Some("RUNNING")),
        "{health}"
    );

    live.stop().await;
}
