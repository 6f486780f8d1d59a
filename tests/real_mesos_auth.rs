//! Framework authentication and authorization against a real Apache Mesos master (the
//! harness of `../shared/real-mesos`, see `stead_suite::real_mesos`): started with
//! `--authenticate_http_frameworks`, the `basic` authenticator and a credentials file,
//! and with ACLs that deny `reserve_resources`.
//!
//! The process tests run the `hello-world` example (`cargo build --example hello-world`).

// Shared with tests/auth_tls.rs; the certificates are only for that one.
#[allow(dead_code)]
mod auth;

use anyhow::{Context, Result, ensure};
use auth::{HELLO_PRINCIPAL, deployed, one_task, refused_secrets, start, write};
use serde_json::Value;
use stead_suite::init_logging;
use stead_suite::real_mesos::{RealMesos, RealMesosOptions};

/// The environment that turns on the master's HTTP framework authentication with the
/// credentials of `credentials` (a file).
fn authentication(credentials: &std::path::Path) -> Vec<(String, String)> {
    [
        ("MESOS_AUTHENTICATE_HTTP_FRAMEWORKS", "true"),
        ("MESOS_HTTP_FRAMEWORK_AUTHENTICATORS", "basic"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .chain([(
        "MESOS_CREDENTIALS".to_string(),
        credentials.display().to_string(),
    )])
    .collect()
}

/// The principal of framework `name` in the master's `/master/state`.
fn framework_principal<'a>(state: &'a Value, name: &str) -> Option<&'a str> {
    state["frameworks"]
        .as_array()?
        .iter()
        .find(|f| f["name"] == name)?["principal"]
        .as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_master_with_authentication_takes_the_right_secret_only() -> Result<()> {
    init_logging();
    let dir = tempfile::tempdir()?;
    let credentials = write(
        dir.path(),
        "credentials.json",
        &serde_json::json!({"credentials": [
            {"principal": "ops", "secret": "s3cret"},
            {"principal": HELLO_PRINCIPAL, "secret": "right"},
        ]})
        .to_string(),
    )?;
    let cluster = RealMesos::start(RealMesosOptions {
        env: authentication(&credentials),
        ..RealMesosOptions::new(1, dir.path().join("mesos"))
    })
    .await?;

    // The right secret: deploys, subscribed and reserving as the principal given.
    let secret = write(dir.path(), "secret", "s3cret\n")?;
    let handle = start(dir.path(), &cluster.url(), one_task("auth"), |o| {
        o.principal = Some("ops".into());
        o.secret_file = Some(secret);
    })
    .await?;
    deployed(&handle).await?;
    let state = cluster.state().await?;
    assert_eq!(framework_principal(&state, "auth"), Some("ops"));
    let slaves = cluster.slaves().await?.to_string();
    ensure!(slaves.contains("\"principal\":\"ops\""), "reserved as ops");
    handle.shutdown().await?;

    // A wrong secret and none: one error each, a single SUBSCRIBE, a non-zero exit.
    refused_secrets(&cluster.url(), dir.path()).await?;
    let state = cluster.state().await?;
    ensure!(
        framework_principal(&state, "hello-world").is_none(),
        "hello-world never subscribed: {state}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_an_acl_denies_shows_the_masters_reason_on_the_step() -> Result<()> {
    init_logging();
    let dir = tempfile::tempdir()?;
    let acls = serde_json::json!({
        "permissive": true,
        "reserve_resources": [{"principals": {"type": "ANY"}, "roles": {"type": "NONE"}}],
    });
    let cluster = RealMesos::start(RealMesosOptions {
        env: vec![("MESOS_ACLS".to_string(), acls.to_string())],
        ..RealMesosOptions::new(1, dir.path().join("mesos"))
    })
    .await?;
    let handle = start(dir.path(), &cluster.url(), one_task("denied"), |_| {}).await?;
    let reason = |s: &stead::scheduler::ServiceSnapshot| {
        s.plan("deploy")
            .and_then(|p| p.step("hello-0"))
            .map(|step| step.message.clone())
            .unwrap_or_default()
    };
    let snapshot = handle
        .wait_for(auth::LONG, |s| reason(s).contains("refused to reserve"))
        .await?;
    let message = reason(&snapshot);
    // The master's own words, naming the principal and the action.
    ensure!(
        message.contains("'denied-principal'") && message.contains("RESERVE_RESOURCES"),
        "the master's reason: {message}"
    );
    let slaves = cluster.slaves().await?;
    let reserved: Vec<&Value> = slaves["slaves"]
        .as_array()
        .context("the agents")?
        .iter()
        .map(|a| &a["reserved_resources_full"])
        .filter(|r| r.as_object().is_none_or(|r| !r.is_empty()))
        .collect();
    ensure!(reserved.is_empty(), "nothing reserved: {reserved:?}");
    handle.shutdown().await?;
    Ok(())
}
