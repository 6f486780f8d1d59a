//! The two probes a supervisor asks: liveness (`/v1/health/live`, 200 while the scheduler
//! serves, whatever its plans say) and readiness (`/v1/health`, the plans' status).

mod http_support;

use http_support::{Fake, sample_state, start};

async fn status(base: &str, path: &str) -> u16 {
    reqwest::get(format!("{base}{path}"))
        .await
        .expect("the API answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn liveness_is_200_whatever_the_plans_say_and_readiness_tells_them() {
    let fake = Fake::new(sample_state());
    let base = start(fake.clone(), Some("s3cret")).await;
    let probes = |base: String| async move {
        (
            status(&base, "/v1/health/live").await,
            status(&base, "/v1/health").await,
        )
    };
    assert_eq!(probes(base.clone()).await, (200, 202), "deploying");
    fake.with(|s| s.subscribed = false);
    assert_eq!(probes(base.clone()).await, (200, 503), "not subscribed");
    fake.with(|s| {
        s.plans[0]
            .errors
            .push("the new configuration was rejected".into())
    });
    assert_eq!(
        probes(base.clone()).await,
        (200, 417),
        "a rejected configuration"
    );
    let text = reqwest::get(format!("{base}/v1/health/live"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(body, serde_json::json!({"live": true}));
}
