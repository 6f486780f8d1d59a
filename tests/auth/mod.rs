//! What the tests of framework authentication and TLS share: a one-task service, the
//! scheduler started in-process, certificates of a CA made in the test, a proxy that
//! counts SUBSCRIBE calls, and the `hello-world` example run until it exits.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use stead::plan::Status;
use stead::proto::Message;
use stead::proto::scheduler::{Call, call};
use stead::scheduler::{DefaultService, Options, ServiceHandle};
use stead::spec::{CommandSpec, ServiceSpec, TaskTypeSpec};
use stead_suite::{ExampleProcess, eventually, test_options};

pub const LONG: Duration = Duration::from_secs(120);
/// The principal of the `hello-world` example.
pub const HELLO_PRINCIPAL: &str = "hello-world-principal";

/// A one-task service named `name`.
pub fn one_task(name: &str) -> ServiceSpec {
    let mut spec = ServiceSpec::new(name);
    let mut task = TaskTypeSpec::new("hello", 1, CommandSpec::new("sleep 1000"));
    let (role, principal) = (spec.role.clone(), spec.principal.clone());
    task.set_resource("cpus", 0.1, &role, &principal);
    task.set_resource("mem", 32.0, &role, &principal);
    spec.task_types.push(task);
    spec
}

/// Starts the scheduler of `spec` against `master` with `configure` applied to the
/// test options.
pub async fn start(
    dir: &Path,
    master: &str,
    spec: ServiceSpec,
    configure: impl FnOnce(&mut Options),
) -> Result<ServiceHandle> {
    let mut options = test_options(master);
    configure(&mut options);
    Ok(DefaultService::with_options(0, options)
        .state_dir(dir.join("state"))
        .start_spec(spec)
        .await?)
}

pub async fn deployed(handle: &ServiceHandle) -> Result<()> {
    handle
        .wait_for(LONG, |s| {
            s.plan("deploy").map(|p| p.status) == Some(Status::Complete)
        })
        .await?;
    Ok(())
}

/// Writes `contents` to `dir/name` and returns its path.
pub fn write(dir: &Path, name: &str, contents: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, contents)?;
    Ok(path)
}

/// A CA and a certificate it signed for `127.0.0.1` and `localhost`, as PEM files in
/// `dir`: (CA certificate, server certificate, server key).
pub fn certificates(dir: &Path) -> Result<(PathBuf, PathBuf, PathBuf)> {
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Stead test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key)?;
    let key = rcgen::KeyPair::generate()?;
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])?;
    let cert = params.signed_by(&key, &ca)?;
    Ok((
        write(dir, "ca.pem", &ca.pem())?,
        write(dir, "master.pem", &cert.pem())?,
        write(dir, "master.key", &key.serialize_pem())?,
    ))
}

/// An HTTP proxy in front of the master that counts the SUBSCRIBE calls it forwards.
pub struct CountingProxy {
    /// The URL to give the scheduler as `--master`.
    pub url: String,
    subscribes: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Upstream {
    base: String,
    client: reqwest::Client,
    subscribes: Arc<AtomicUsize>,
}

impl CountingProxy {
    pub async fn start(upstream: &str) -> Result<CountingProxy> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let subscribes = Arc::new(AtomicUsize::new(0));
        let app = Router::new().fallback(forward).with_state(Upstream {
            base: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::new(),
            subscribes: subscribes.clone(),
        });
        let server = tokio::spawn(async move {
            // Serves until the task is aborted when the proxy is dropped.
            let _ = axum::serve(listener, app).await;
        });
        Ok(CountingProxy {
            url,
            subscribes,
            server,
        })
    }

    pub fn subscribes(&self) -> usize {
        self.subscribes.load(Ordering::SeqCst)
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Forwards one request (with its credentials) and streams the answer back.
async fn forward(
    State(up): State<Upstream>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let subscribe = Call::decode(body.as_ref())
        .ok()
        .and_then(|c| c.r#type)
        .is_some_and(|t| t == call::Type::Subscribe as i32);
    if subscribe {
        up.subscribes.fetch_add(1, Ordering::SeqCst);
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = up.client.request(method, format!("{}{path}", up.base));
    for name in [header::CONTENT_TYPE, header::ACCEPT, header::AUTHORIZATION] {
        if let Some(v) = headers.get(&name) {
            request = request.header(name, v);
        }
    }
    if let Some(v) = headers.get("mesos-stream-id") {
        request = request.header("mesos-stream-id", v);
    }
    let answer = match request.body(body).send().await {
        Ok(answer) => answer,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != header::TRANSFER_ENCODING && name != header::CONTENT_LENGTH {
            response = response.header(name, value);
        }
    }
    let stream = answer.bytes_stream().map_err(std::io::Error::other);
    response
        .body(Body::from_stream(stream))
        .unwrap_or_else(|e| (StatusCode::BAD_GATEWAY, e.to_string()).into_response())
}

/// Runs the `hello-world` example with `args` until it exits (within a deadline);
/// returns its exit status and its log.
pub async fn run_to_exit(dir: &Path, args: &[&str]) -> Result<(ExitStatus, String)> {
    let log = dir.join("scheduler.log");
    let state = dir.join("state");
    let state = state.to_str().context("a UTF-8 temp dir")?;
    let mut all = vec!["--state-dir", state];
    all.extend_from_slice(args);
    let mut process = ExampleProcess::spawn("hello-world", &all, &log)?;
    let status = eventually("the scheduler to exit", Duration::from_secs(60), || {
        std::future::ready(process.try_wait().ok().flatten())
    })
    .await?;
    Ok((status, std::fs::read_to_string(&log)?))
}

/// Runs the `hello-world` example against `master` (through a [`CountingProxy`]) with a
/// wrong secret for its principal, then with none: each must stop it with one error
/// naming the principal and the master, a non-zero exit status and a single SUBSCRIBE,
/// the secret logged nowhere.
pub async fn refused_secrets(master: &str, dir: &Path) -> Result<()> {
    let wrong = write(dir, "wrong-secret", "not-the-secret\n")?;
    let wrong = wrong.to_str().context("a UTF-8 temp dir")?;
    let cases: [(&str, &[&str], &str); 2] = [
        (
            "wrong",
            &["--secret-file", wrong],
            "refused the credentials",
        ),
        ("missing", &[], "no secret was given"),
    ];
    for (case, args, says) in cases {
        let proxy = CountingProxy::start(master).await?;
        let case_dir = dir.join(case);
        std::fs::create_dir_all(&case_dir)?;
        let mut all = vec!["--master", proxy.url.as_str()];
        all.extend_from_slice(args);
        let (status, log) = run_to_exit(&case_dir, &all).await?;
        ensure!(!status.success(), "{case}: exited with {status}:\n{log}");
        ensure!(
            log.matches(says).count() == 1,
            "{case}: one error saying `{says}`:\n{log}"
        );
        let line = log.lines().find(|l| l.contains(says)).unwrap_or_default();
        ensure!(
            line.contains(HELLO_PRINCIPAL) && line.contains(&proxy.url),
            "{case}: the error names the principal and the master:\n{log}"
        );
        ensure!(
            !log.contains("not-the-secret"),
            "{case}: the secret is not logged"
        );
        ensure!(
            proxy.subscribes() == 1,
            "{case}: one SUBSCRIBE, no retry, saw {}:\n{log}",
            proxy.subscribes()
        );
    }
    Ok(())
}
