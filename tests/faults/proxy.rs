//! A fault-injecting HTTP proxy between a scheduler and the master.
//!
//! The scheduler's `--master` points at the proxy, which forwards every request to the
//! master (the SUBSCRIBE answer streamed as it comes). Armed with a [`Fault`], it counts
//! the scheduler's calls of one type and, at the chosen one, passes, drops or delays it
//! and kills the scheduler with SIGKILL. It keeps a record of every call it forwarded
//! and the master's answer.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use stead::proto::Message;
use stead::proto::scheduler::{Call, call};

/// The type of a scheduler call (SUBSCRIBE, ACCEPT, ...).
pub type CallType = call::Type;

/// What the proxy does with the call it was armed for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// Forward it, then kill the scheduler once the master answered.
    PassThenKill,
    /// Never forward it (it is lost), and kill the scheduler.
    DropThenKill,
    /// Hold it for the given time, forward it, then kill the scheduler.
    DelayThenKill(Duration),
    /// Kill the scheduler at once and forward the call the given time later, when its
    /// sender is gone.
    KillThenDeliverLate(Duration),
}

/// A fault: act on the `nth` call of type `call` counted from when it is armed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fault {
    /// The call type to act on.
    pub call: CallType,
    /// Which one of them (1 is the first after arming).
    pub nth: u32,
    /// What to do with it.
    pub action: Action,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let call = format!("{} #{}", self.call.as_str_name(), self.nth);
        match self.action {
            Action::PassThenKill => write!(f, "{call} delivered, then kill -9"),
            Action::DropThenKill => write!(f, "{call} dropped, then kill -9"),
            Action::DelayThenKill(d) => {
                write!(
                    f,
                    "{call} delayed {} ms, delivered, then kill -9",
                    d.as_millis()
                )
            }
            Action::KillThenDeliverLate(d) => write!(
                f,
                "kill -9 at {call}, which reaches the master {} ms later",
                d.as_millis()
            ),
        }
    }
}

/// The proxy's state shared by its connections.
#[derive(Debug, Default)]
struct Faults {
    /// The armed fault and how many calls of its type it has seen.
    armed: Option<(Fault, u32)>,
    /// The process to kill.
    victim: Option<i32>,
    /// Whether the armed fault was hit and its kill is still to come.
    firing: bool,
    /// The fault that killed the victim, until taken.
    fired: Option<Fault>,
}

/// One call the proxy saw and the status it answered it with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecordedCall {
    /// The call's type (`None` for a request that is not a scheduler call).
    pub call: Option<CallType>,
    /// The status of the answer (503 when the master could not be reached).
    pub status: StatusCode,
    /// When the call reached the proxy.
    pub at: Instant,
}

#[derive(Debug)]
struct Shared {
    upstream: String,
    client: reqwest::Client,
    faults: Mutex<Faults>,
    calls: Mutex<Vec<RecordedCall>>,
}

impl Shared {
    /// Records a call that reached the proxy `at`, and its answer's status.
    fn record(&self, call: Option<CallType>, status: StatusCode, at: Instant) {
        let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        calls.push(RecordedCall { call, status, at });
    }

    fn faults(&self) -> MutexGuard<'_, Faults> {
        // A panic while holding the lock leaves plain data behind: still usable.
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The fault to apply to a call of type `ty` and the process it kills, if this is
    /// the armed one (disarming it).
    fn hit(&self, ty: Option<CallType>) -> Option<(Fault, i32)> {
        let ty = ty?;
        let mut faults = self.faults();
        let (fault, seen) = faults.armed.as_mut()?;
        if fault.call != ty {
            return None;
        }
        *seen += 1;
        if *seen < fault.nth {
            return None;
        }
        let fault = *fault;
        faults.armed = None;
        let victim = faults.victim?;
        faults.firing = true;
        Some((fault, victim))
    }

    /// Kills `victim` with SIGKILL, recording `fault` as the cause, unless another
    /// process has become the victim since.
    fn kill_victim(&self, fault: Fault, victim: i32) {
        let mut faults = self.faults();
        if faults.victim != Some(victim) {
            return;
        }
        faults.firing = false;
        faults.victim = None;
        // The victim may have exited already; then there is nothing to kill.
        let _ = kill(Pid::from_raw(victim), Signal::SIGKILL);
        faults.fired = Some(fault);
    }
}

/// The proxy: serves on a loopback port until dropped.
#[derive(Debug)]
pub struct FaultProxy {
    url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy in front of the master at `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> std::io::Result<FaultProxy> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::new(),
            faults: Mutex::default(),
            calls: Mutex::default(),
        });
        let app = Router::new().fallback(forward).with_state(shared.clone());
        let server = tokio::spawn(async move {
            // Serves until the task is aborted when the proxy is dropped.
            let _ = axum::serve(listener, app).await;
        });
        Ok(FaultProxy {
            url,
            shared,
            server,
        })
    }

    /// The URL to give the scheduler as `--master`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The process killed when a fault fires (the running scheduler); forgets the
    /// faults of the one before.
    pub fn set_victim(&self, pid: u32) {
        *self.shared.faults() = Faults {
            victim: i32::try_from(pid).ok(),
            ..Faults::default()
        };
    }

    /// Arms `fault`, replacing any armed one.
    pub fn arm(&self, fault: Fault) {
        self.shared.faults().armed = Some((fault, 0));
    }

    /// Disarms the armed fault, if any. False when it was hit already and its kill is
    /// still to come, or has been sent but not yet taken by [`FaultProxy::take_fired`]
    /// (the killed process may not have exited yet).
    pub fn disarm(&self) -> bool {
        let mut faults = self.shared.faults();
        faults.armed = None;
        !faults.firing && faults.fired.is_none()
    }

    /// The fault that killed the scheduler since the last call, if one did.
    pub fn take_fired(&self) -> Option<Fault> {
        self.shared.faults().fired.take()
    }

    /// Every call forwarded so far, in the order their answers came.
    // Read by the scenario suite (tests/scenarios.rs); the fault suite has no use for it.
    #[allow(dead_code)]
    pub fn calls(&self) -> Vec<RecordedCall> {
        let calls = self.shared.calls.lock();
        calls.unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The headers a scheduler call and its answer carry that matter to Mesos.
const PASSED: [HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::ACCEPT,
    header::AUTHORIZATION,
    HeaderName::from_static("mesos-stream-id"),
];

async fn forward(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let ty = Call::decode(body.as_ref())
        .ok()
        .and_then(|c| c.r#type)
        .and_then(|t| CallType::try_from(t).ok());
    let answer = match shared.hit(ty) {
        None => send(&shared, method, &uri, &headers, body).await,
        Some((fault, victim)) => {
            act(shared.clone(), fault, victim, method, uri, headers, body).await
        }
    };
    shared.record(ty, answer.status(), at);
    answer
}

/// Applies `fault` to a call, killing `victim`.
async fn act(
    shared: Arc<Shared>,
    fault: Fault,
    victim: i32,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // On a task of its own: the kill must come even when the scheduler hangs up first
    // (which drops this handler).
    let act = tokio::spawn(async move {
        match fault.action {
            Action::PassThenKill => {
                let answer = send(&shared, method, &uri, &headers, body).await;
                shared.kill_victim(fault, victim);
                answer
            }
            Action::DropThenKill => {
                shared.kill_victim(fault, victim);
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "dropped by the fault proxy",
                )
                    .into_response()
            }
            Action::DelayThenKill(delay) => {
                tokio::time::sleep(delay).await;
                let answer = send(&shared, method, &uri, &headers, body).await;
                shared.kill_victim(fault, victim);
                answer
            }
            Action::KillThenDeliverLate(delay) => {
                shared.kill_victim(fault, victim);
                tokio::time::sleep(delay).await;
                send(&shared, method, &uri, &headers, body).await
            }
        }
    });
    act.await
        .unwrap_or_else(|e| (StatusCode::BAD_GATEWAY, e.to_string()).into_response())
}

/// Forwards one request to the master and streams its answer back.
async fn send(
    shared: &Shared,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = shared
        .client
        .request(method, format!("{}{path}", shared.upstream));
    for name in PASSED {
        for value in headers.get_all(&name) {
            request = request.header(&name, value);
        }
    }
    let answer = match request.body(body).send().await {
        Ok(answer) => answer,
        // A master that cannot be reached looks the same through the proxy: unavailable.
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    };
    let mut response = Response::builder().status(answer.status());
    for name in PASSED {
        for value in answer.headers().get_all(&name) {
            response = response.header(&name, value);
        }
    }
    response
        .body(Body::from_stream(answer.bytes_stream()))
        .unwrap_or_else(|e| (StatusCode::BAD_GATEWAY, e.to_string()).into_response())
}
