//! Framework authentication and TLS to the master, against the embedded master: it
//! requires credentials as Mesos's `--authenticate_http_frameworks` does, and serves
//! HTTPS with a certificate of a CA made here.
//!
//! A scheduler with the right secret deploys; a wrong or missing secret, and an HTTPS
//! master whose CA is not trusted, stop the scheduler's process with one error and a
//! non-zero exit status after a single SUBSCRIBE. The process tests run the `hello-world`
//! example (`cargo build --example hello-world`).

mod auth;

use anyhow::{Context, Result, ensure};
use auth::{
    HELLO_PRINCIPAL, LONG, certificates, deployed, one_task, refused_secrets, run_to_exit, start,
    write,
};
use stead::local::{Credentials, LocalCluster};
use stead_suite::{cluster_config, eventually, init_logging, live_tasks};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduler_with_the_right_secret_deploys_as_its_principal() -> Result<()> {
    init_logging();
    let dir = tempfile::tempdir()?;
    let credentials = Credentials::new([("ops", "s3cret")]);
    let cluster =
        LocalCluster::start(cluster_config(dir.path(), 1).credentials(credentials)).await?;
    let secret = write(dir.path(), "secret", "s3cret\n")?;
    let handle = start(dir.path(), cluster.master_url(), one_task("auth"), |o| {
        o.principal = Some("ops".into());
        o.secret_file = Some(secret);
    })
    .await?;
    deployed(&handle).await?;
    let state = cluster.state().await?;
    let framework = state
        .frameworks
        .iter()
        .find(|f| f.name == "auth")
        .context("the framework")?;
    assert_eq!(framework.principal.as_deref(), Some("ops"));
    let volumes_and_reservations = serde_json::to_string(&state)?;
    ensure!(
        !volumes_and_reservations.contains("auth-principal"),
        "every reservation is made as the principal given"
    );
    ensure!(
        !volumes_and_reservations.contains("s3cret"),
        "the secret is in no view"
    );
    handle.shutdown().await?;
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_missing_secret_stops_the_scheduler_with_one_error() -> Result<()> {
    init_logging();
    let dir = tempfile::tempdir()?;
    let credentials = Credentials::new([(HELLO_PRINCIPAL, "right")]);
    let cluster =
        LocalCluster::start(cluster_config(dir.path(), 1).credentials(credentials)).await?;
    refused_secrets(cluster.master_url(), dir.path()).await?;
    let state = cluster.state().await?;
    ensure!(state.frameworks.is_empty(), "no framework subscribed");
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduler_deploys_over_https_with_the_ca_file() -> Result<()> {
    init_logging();
    let dir = tempfile::tempdir()?;
    let (ca, cert, key) = certificates(dir.path())?;
    let cluster = LocalCluster::start(cluster_config(dir.path(), 1).tls(cert, key)).await?;
    ensure!(
        cluster.master_url().starts_with("https://"),
        "{}",
        cluster.master_url()
    );
    let handle = start(dir.path(), cluster.master_url(), one_task("tls"), |o| {
        o.ca_file = Some(ca);
    })
    .await?;
    deployed(&handle).await?;
    let running = eventually("the task running", LONG, || async {
        let state = cluster.state().await.ok()?;
        live_tasks(&state, "tls")
            .iter()
            .any(|t| t.state == "TASK_RUNNING")
            .then_some(())
    })
    .await;
    running?;
    handle.shutdown().await?;
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_master_of_an_untrusted_ca_is_one_clear_error() -> Result<()> {
    init_logging();
    let dir = tempfile::tempdir()?;
    let (_ca, cert, key) = certificates(dir.path())?;
    let cluster = LocalCluster::start(cluster_config(dir.path(), 1).tls(cert, key)).await?;
    let master = cluster.master_url().to_string();
    let (status, log) = run_to_exit(dir.path(), &["--master", &master]).await?;
    ensure!(!status.success(), "exited with {status}:\n{log}");
    let says = format!("TLS with the master at {master} failed");
    ensure!(
        log.matches(&says).count() == 1,
        "one error `{says}`:\n{log}"
    );
    ensure!(log.contains("--ca-file"), "it says what to do:\n{log}");
    cluster.shutdown().await?;
    Ok(())
}
