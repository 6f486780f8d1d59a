//! Every endpoint of the operator API against a test double of the scheduler: status
//! codes, bodies, token enforcement and bad inputs.

mod http_support;

use http_support::{Fake, sample_state, start};
use reqwest::StatusCode;
use serde_json::{Value, json};
use stead::api::{PlanCommand, PodCommand};
use stead::plan::Status;

/// A reqwest client.
fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn get(base: &str, path: &str) -> (StatusCode, Value) {
    let r = client().get(format!("{base}{path}")).send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON from {path}: {text}"));
    (status, body)
}

async fn post(base: &str, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = client().post(format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let r = request.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON from {path}: {text}"));
    (status, body)
}

async fn fresh() -> (Fake, String) {
    let fake = Fake::new(sample_state());
    let base = start(fake.clone(), None).await;
    (fake, base)
}

#[tokio::test]
async fn plans_list_and_show_with_status_codes() {
    let (fake, base) = fresh().await;
    let (status, body) = get(&base, "/v1/plans").await;
    assert_eq!(status, 200);
    assert_eq!(body, json!(["deploy", "recovery"]));

    let (status, body) = get(&base, "/v1/plans/deploy").await;
    assert_eq!(status, StatusCode::ACCEPTED, "in progress: {body}");
    assert_eq!(body["name"], "deploy");
    assert_eq!(body["status"], "IN_PROGRESS");
    assert_eq!(body["phases"][0]["name"], "meta-data");
    assert_eq!(body["phases"][0]["status"], "COMPLETE");
    let step = &body["phases"][1]["steps"][0];
    assert_eq!(step["name"], "data-0");
    assert_eq!(step["status"], "STARTING");
    assert!(step["id"].as_str().is_some_and(|id| id.len() == 36));
    assert!(step.get("message").is_some() && step.get("errors").is_some());

    let (status, _) = get(&base, "/v1/plans/recovery").await;
    assert_eq!(status, StatusCode::OK, "an empty plan is complete");

    fake.with(|s| s.plans[0].step_mut((1, 1)).unwrap().fail("volume changed"));
    let (status, body) = get(&base, "/v1/plans/deploy").await;
    assert_eq!(status, StatusCode::EXPECTATION_FAILED);
    assert_eq!(
        body["phases"][1]["steps"][1]["errors"],
        json!(["volume changed"])
    );

    let (status, body) = get(&base, "/v1/plans/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
    assert!(body["message"].as_str().unwrap().contains("nope"));
}

#[tokio::test]
async fn plan_commands_resolve_phases_and_steps() {
    let (fake, base) = fresh().await;
    let (status, body) = post(&base, "/v1/plans/deploy/interrupt", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["plan"], "deploy");
    assert_eq!(body["command"], "interrupt");
    let (_, plan) = get(&base, "/v1/plans/deploy").await;
    assert_eq!(plan["status"], "WAITING");

    let (status, _) = post(&base, "/v1/plans/deploy/continue?phase=data", None).await;
    assert_eq!(status, 200);
    let data_id = fake.with(|s| s.plans[0].phases()[1].id);
    let data_1 = fake.with(|s| s.plans[0].phases()[1].steps()[1].id);
    assert_eq!(
        fake.with(|s| s.plan_commands.last().cloned()),
        Some((
            "deploy".to_string(),
            PlanCommand::Continue {
                phase: Some(data_id)
            }
        ))
    );

    // A step by name alone is found in its phase; forceComplete applies it.
    let (status, body) = post(&base, "/v1/plans/deploy/forceComplete?step=data-1", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        fake.with(|s| s.plan_commands.last().cloned()).unwrap().1,
        PlanCommand::ForceComplete {
            phase: Some(data_id),
            step: Some(data_1)
        }
    );
    assert_eq!(
        fake.with(|s| s.plans[0].phases()[1].steps()[1].status()),
        Status::Complete
    );

    // Phase and step by id.
    let path = format!("/v1/plans/deploy/restart?phase={data_id}&step={data_1}");
    let (status, _) = post(&base, &path, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        fake.with(|s| s.plans[0].phases()[1].steps()[1].status()),
        Status::Pending
    );

    // A whole-plan restart.
    let (status, body) = post(&base, "/v1/plans/deploy/restart", None).await;
    assert_eq!(status, 200);
    // The answer carries the plan's generation after the command as well.
    assert_eq!(
        body,
        json!({"plan": "deploy", "command": "restart", "phase": null, "step": null, "generation": 1})
    );
}

#[tokio::test]
async fn plan_commands_reject_bad_input() {
    let (fake, base) = fresh().await;
    let cases = [
        ("/v1/plans/nope/interrupt", 404, "plan"),
        ("/v1/plans/deploy/explode", 404, "plan command"),
        ("/v1/plans/deploy/interrupt?phase=nope", 404, "phase"),
        (
            "/v1/plans/deploy/restart?phase=data&step=meta-data-0",
            404,
            "step",
        ),
        ("/v1/plans/deploy/forceComplete?step=nope", 404, "step"),
        ("/v1/plans/deploy/interrupt?step=data-0", 400, "step"),
        ("/v1/plans/deploy/restart?phase=", 400, "empty"),
        ("/v1/plans/deploy/restart?bogus=1", 400, "bogus"),
        ("/v1/plans/deploy/restart?phase=%ZZ", 404, "phase"),
    ];
    for (path, code, needle) in cases {
        let (status, body) = post(&base, path, None).await;
        assert_eq!(status.as_u16(), code, "{path}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(needle), "{path}: {message}");
        assert!(body["error"].is_string());
    }
    assert!(
        fake.with(|s| s.plan_commands.is_empty()),
        "nothing reached the scheduler"
    );

    // Wrong methods and unknown routes answer JSON too.
    let (status, body) = get(&base, "/v1/plans/deploy/interrupt").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"], "method_not_allowed");
    let (status, body) = get(&base, "/v1/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
}

#[tokio::test]
async fn pods_list_info_and_commands() {
    let (fake, base) = fresh().await;
    let (status, body) = get(&base, "/v1/pods").await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().len(), 2);
    assert_eq!(body[0]["instance"], "meta-data-0");
    assert_eq!(body[0]["state"], "TASK_RUNNING");

    let (status, body) = get(&base, "/v1/pods/meta-data-1/info").await;
    assert_eq!(status, 200);
    assert_eq!(body["task_info"]["name"], "meta-data-1");
    assert_eq!(body["last_status"]["state"], "TASK_RUNNING");
    assert_eq!(body["agent_id"], "agent-2");
    assert_eq!(body["resources"][1]["ranges"], json!([[31000, 31001]]));
    assert_eq!(body["volumes"][0]["container_path"], "data-path");
    assert_eq!(body["config_id"], "cfg-1");

    let (status, body) = get(&base, "/v1/pods/data-9/info").await;
    assert_eq!(status, 404);
    assert!(body["message"].as_str().unwrap().contains("data-9"));

    let (status, body) = post(&base, "/v1/pods/meta-data-0/restart", None).await;
    assert_eq!(status, 200);
    // The answer carries the plan work that carries the command out as well.
    assert_eq!(
        body,
        json!({"pod": "meta-data-0", "command": "restart", "plan": "recovery", "generation": 2})
    );
    let (status, _) = post(
        &base,
        "/v1/pods/meta-data-1/replace?confirm=meta-data-1",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        fake.with(|s| s.pod_commands.clone()),
        vec![
            ("meta-data-0".to_string(), PodCommand::Restart),
            ("meta-data-1".to_string(), PodCommand::Replace)
        ]
    );

    let (status, _) = post(&base, "/v1/pods/data-9/restart", None).await;
    assert_eq!(status, 404);
    let (status, _) = post(&base, "/v1/pods/meta-data-0/destroy", None).await;
    assert_eq!(status, 404);
    assert_eq!(fake.with(|s| s.pod_commands.len()), 2);
}

#[tokio::test]
async fn configurations_and_framework_id() {
    let (fake, base) = fresh().await;
    let (status, body) = get(&base, "/v1/configurations").await;
    assert_eq!(status, 200);
    assert_eq!(body, json!(["cfg-1"]));
    let (status, body) = get(&base, "/v1/configurations/target").await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], "cfg-1");
    assert_eq!(body["spec"]["name"], "data-store");
    let (status, body) = get(&base, "/v1/configurations/cfg-1").await;
    assert_eq!(status, 200);
    assert_eq!(body["spec"]["name"], "data-store");
    let (status, _) = get(&base, "/v1/configurations/cfg-2").await;
    assert_eq!(status, 404);

    let (status, body) = get(&base, "/v1/state/frameworkId").await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"framework_id": "fw-42"}));

    fake.with(|s| {
        s.framework_id = None;
        s.target = None;
    });
    let (status, _) = get(&base, "/v1/state/frameworkId").await;
    assert_eq!(status, 404);
    let (status, _) = get(&base, "/v1/configurations/target").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn health_codes_tell_states_apart() {
    let (fake, base) = fresh().await;
    let (status, body) = get(&base, "/v1/health").await;
    assert_eq!(
        (status.as_u16(), body["state"].as_str()),
        (202, Some("DEPLOYING"))
    );
    assert_eq!(body["plans"][0]["name"], "deploy");

    fake.with(|s| {
        let plan = &mut s.plans[0];
        for pi in 0..plan.phases().len() {
            for si in 0..plan.phases()[pi].steps().len() {
                if let Some(mut step) = plan.step_mut((pi, si)) {
                    step.set_status(Status::Complete);
                }
            }
        }
    });
    let (status, body) = get(&base, "/v1/health").await;
    assert_eq!(
        (status.as_u16(), body["state"].as_str()),
        (200, Some("RUNNING"))
    );

    fake.with(|s| {
        stead::plan::add_recovery(&mut s.plans[1], "data-0", stead::plan::StepKind::Recover)
            .set_status(Status::Pending)
    });
    let (status, body) = get(&base, "/v1/health").await;
    assert_eq!(
        (status.as_u16(), body["state"].as_str()),
        (206, Some("RECOVERING"))
    );

    fake.with(|s| s.subscribed = false);
    let (status, body) = get(&base, "/v1/health").await;
    assert_eq!(
        (status.as_u16(), body["state"].as_str()),
        (503, Some("STARTING"))
    );

    fake.with(|s| s.plans[1].errors.push("broken".into()));
    let (status, body) = get(&base, "/v1/health").await;
    assert_eq!(
        (status.as_u16(), body["state"].as_str()),
        (417, Some("ERROR"))
    );
    assert_eq!(body["plans"][1]["errors"], json!(["broken"]));
}

#[tokio::test]
async fn metrics_in_prometheus_text() {
    let (_fake, base) = fresh().await;
    let r = client()
        .get(format!("{base}/v1/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = r.text().await.unwrap();
    for line in [
        "# TYPE stead_offers_received_total counter",
        "stead_offers_received_total 12",
        "stead_offers_declined_total 9",
        "stead_offers_used_total 3",
        "stead_operations_total{type=\"LAUNCH\"} 3",
        "stead_operations_total{type=\"RESERVE\"} 3",
        "stead_tasks{state=\"TASK_RUNNING\"} 2",
        "stead_plan_status{plan=\"deploy\",status=\"IN_PROGRESS\"} 1",
        "stead_plan_status{plan=\"recovery\",status=\"COMPLETE\"} 1",
        "stead_plan_steps{plan=\"deploy\",status=\"COMPLETE\"} 2",
        "stead_plan_steps{plan=\"deploy\",status=\"STARTING\"} 1",
        "stead_plan_steps{plan=\"deploy\",status=\"PENDING\"} 1",
        "stead_state_store_write_seconds_bucket{le=\"0.0005\"} 1",
        "stead_state_store_write_seconds_bucket{le=\"+Inf\"} 1",
        "stead_state_store_write_seconds_count 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    // Every sample line is `name{labels} value` with a numeric value.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value == "+Inf" || value.parse::<f64>().is_ok(), "{line}");
    }
}

#[tokio::test]
async fn debug_offers_explain_each_offer() {
    let (_fake, base) = fresh().await;
    let (status, body) = get(&base, "/v1/debug/offers").await;
    assert_eq!(status, 200);
    assert_eq!(body["offers"][0]["offer_id"], "offer-1");
    let outcome = &body["steps"][0]["outcomes"][0];
    assert_eq!(outcome["used"], false);
    assert!(
        outcome["reason"]
            .as_str()
            .unwrap()
            .contains("insufficient mem")
    );
}

#[tokio::test]
async fn token_guards_every_mutating_request() {
    let fake = Fake::new(sample_state());
    let base = start(fake.clone(), Some("s3cret")).await;
    let mutating = [
        "/v1/plans/deploy/interrupt",
        "/v1/plans/deploy/continue",
        "/v1/plans/deploy/restart",
        "/v1/plans/deploy/forceComplete?step=data-1",
        "/v1/pods/meta-data-0/restart",
        "/v1/pods/meta-data-0/replace?confirm=meta-data-0",
        "/v1/plans/nope/interrupt",
    ];
    for path in mutating {
        for token in [None, Some("wrong"), Some("s3cre")] {
            let (status, body) = post(&base, path, token).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} with {token:?}");
            assert_eq!(body["error"], "unauthorized");
        }
    }
    assert!(fake.with(|s| s.plan_commands.is_empty() && s.pod_commands.is_empty()));
    let r = client()
        .post(format!("{base}/v1/pods/meta-data-0/restart"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["www-authenticate"], "Bearer");

    for path in &mutating[..6] {
        let (status, body) = post(&base, path, Some("s3cret")).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    // Reads need no token.
    let (status, _) = get(&base, "/v1/plans").await;
    assert_eq!(status, 200);
    let (status, _) = get(&base, "/v1/pods/meta-data-0/info").await;
    assert_eq!(status, 200);
}
