//! The master's HTTP endpoints: `POST /api/v1/scheduler` (Mesos's scheduler API, protobuf and
//! JSON), `GET /version`, `GET /state` (and `/master/state`), `GET /master/slaves`,
//! `GET /health`, and fault injection `POST /cluster/agents/{agent}/{stop|disconnect|start|remove}`; and
//! the agents' endpoints on the same address ([`crate::agent_api`]): `GET /slave(<name>)/state`
//! and the files API.
//!
//! With [`Guard::credentials`] the scheduler API requires HTTP Basic credentials as Mesos's
//! `--authenticate_http_frameworks` does (401 with Mesos's challenge otherwise), and a
//! SUBSCRIBE's `FrameworkInfo.principal`, when set, must be the authenticated principal.
//! With [`Guard::tls`] every endpoint is served over HTTPS only.

use std::convert::Infallible;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Extension, Path, Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::BytesMut;
use prost::Message as _;
use stead_proto::http::SCHEDULER_PATH;
pub use stead_proto::http::STREAM_ID_HEADER;
use stead_proto::recordio::{APPLICATION_JSON, APPLICATION_PROTOBUF};
use stead_proto::scheduler::{Call, call};
use stead_proto::server::{ServerLimits, ServerTls};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use crate::config::Credentials;
use crate::master::{AgentAction, ApiError, Msg, Wire};

type Master = mpsc::UnboundedSender<Msg>;

/// The largest request body taken.
const MAX_CALL_BYTES: usize = 64 * 1024 * 1024;

/// The bounds on the master's clients: the default header timeout, a minute for a call
/// (up to [`MAX_CALL_BYTES`]), and room for many subscribed schedulers (each holds one
/// connection for its event stream).
pub(crate) const LIMITS: ServerLimits = ServerLimits {
    header_read_timeout: Duration::from_secs(10),
    body_read_timeout: Duration::from_secs(60),
    max_connections: 512,
};

/// The challenge of a 401, as Mesos's master sends it to schedulers.
pub const SCHEDULER_CHALLENGE: &str = "Basic realm=\"mesos-master-scheduler\"";

/// What guards the master's endpoints: the credentials the scheduler API requires and the
/// TLS identity the master serves with (none of either by default).
#[derive(Debug, Clone, Default)]
pub(crate) struct Guard {
    /// The framework credentials the scheduler API requires.
    pub(crate) credentials: Option<Arc<Credentials>>,
    /// The master's TLS identity: HTTPS only.
    pub(crate) tls: Option<ServerTls>,
}

/// The principal a scheduler API request authenticated as.
#[derive(Debug, Clone)]
struct Authenticated(String);

/// Serves the master's endpoints, and the agents' with the files under `work_dir`, on
/// `listener` within `limits`, guarded by `guard`, until `shutdown` resolves.
pub(crate) async fn serve(
    listener: TcpListener,
    master: Master,
    work_dir: PathBuf,
    limits: ServerLimits,
    guard: Guard,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let router = router(master, guard.credentials).merge(crate::agent_api::files_router(work_dir));
    stead_proto::server::serve_with(listener, router, limits, guard.tls, shutdown).await;
}

/// The router of the master's endpoints and the agents' states.
fn router(master: Master, credentials: Option<Arc<Credentials>>) -> Router {
    let scheduler_route = match credentials {
        None => post(scheduler),
        Some(c) => post(scheduler).layer(axum::middleware::from_fn_with_state(c, authenticate)),
    };
    Router::new()
        .route(SCHEDULER_PATH, scheduler_route)
        .route("/version", get(version))
        .route("/state", get(state))
        .route("/master/state", get(state))
        .route("/master/slaves", get(slaves))
        .route("/{process}/state", get(agent_state))
        .route("/health", get(|| async { StatusCode::OK }))
        .route("/cluster/agents/{agent}/{action}", post(agent_action))
        // Calls of large frameworks (an ACCEPT launching hundreds of tasks, a RECONCILE of
        // thousands) exceed the 2 MiB default.
        .layer(DefaultBodyLimit::max(MAX_CALL_BYTES))
        .with_state(master)
}

/// Lets a request with known credentials through, marked with its principal; answers 401
/// with Mesos's challenge otherwise.
async fn authenticate(
    AxState(credentials): AxState<Arc<Credentials>>,
    mut request: Request,
    next: Next,
) -> Response {
    let principal = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| credentials.authenticate(v.as_bytes()))
        .map(str::to_string);
    match principal {
        Some(p) => {
            request.extensions_mut().insert(Authenticated(p));
            next.run(request).await
        }
        None => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, SCHEDULER_CHALLENGE)],
        )
            .into_response(),
    }
}

/// Mesos's refusal of a SUBSCRIBE whose `FrameworkInfo.principal` is not the principal
/// the request authenticated as.
fn principal_mismatch(call: &Call, authenticated: Option<&Authenticated>) -> Option<Response> {
    let Authenticated(principal) = authenticated?;
    let claimed = call
        .subscribe
        .as_ref()?
        .framework_info
        .principal
        .as_deref()?;
    (claimed != principal).then(|| {
        text(
            StatusCode::BAD_REQUEST,
            format!(
                "Failed to validate scheduler::Call: Authenticated principal '{principal}' does not match principal '{claimed}' set in `FrameworkInfo`"
            ),
        )
    })
}

fn text(status: StatusCode, message: impl Into<String>) -> Response {
    (status, message.into()).into_response()
}

fn api_error(e: ApiError) -> Response {
    text(
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
        e.message,
    )
}

fn media_type(v: &str) -> String {
    v.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn wire_of(media: &str) -> Option<Wire> {
    match media {
        APPLICATION_JSON => Some(Wire::Json),
        APPLICATION_PROTOBUF => Some(Wire::Protobuf),
        _ => None,
    }
}

/// The response encoding from `Accept` (and `Message-Accept` for RecordIO), as Mesos does.
/// Returns (wire, Content-Type of the response, whether it is `application/recordio`).
fn negotiate(headers: &HeaderMap, request: Wire) -> Result<(Wire, bool), &'static str> {
    let accept: Vec<String> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(media_type).collect::<Vec<_>>())
        .collect();
    if accept.is_empty() || accept.iter().any(|a| a == "*/*" || a == "application/*") {
        return Ok((request, false));
    }
    for a in &accept {
        if let Some(w) = wire_of(a) {
            return Ok((w, false));
        }
        if a == stead_proto::recordio::RECORDIO {
            let inner = headers
                .get(stead_proto::recordio::MESSAGE_ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(media_type);
            return match inner.as_deref() {
                None | Some("*/*") => Ok((request, true)),
                Some(m) => wire_of(m).map(|w| (w, true)).ok_or(
                    "Expecting 'Message-Accept' to allow application/json or application/x-protobuf",
                ),
            };
        }
    }
    Err(
        "Expecting 'Accept' to allow application/json or application/x-protobuf or application/recordio",
    )
}

fn content_type(w: Wire) -> &'static str {
    match w {
        Wire::Json => APPLICATION_JSON,
        Wire::Protobuf => APPLICATION_PROTOBUF,
    }
}

async fn scheduler(
    AxState(master): AxState<Master>,
    authenticated: Option<Extension<Authenticated>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return text(
            StatusCode::BAD_REQUEST,
            "Expecting 'Content-Type' to be present",
        );
    };
    let Some(request_wire) = ct
        .to_str()
        .ok()
        .map(media_type)
        .as_deref()
        .and_then(wire_of)
    else {
        return text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Expecting 'Content-Type' of application/json or application/x-protobuf",
        );
    };
    let (wire, recordio) = match negotiate(&headers, request_wire) {
        Ok(x) => x,
        Err(m) => return text(StatusCode::NOT_ACCEPTABLE, m),
    };
    let call: Call = match request_wire {
        Wire::Json => match stead_proto::json::from_json_slice(&body) {
            Ok(c) => c,
            Err(e) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!("Failed to convert JSON into Call protobuf: {e}"),
                );
            }
        },
        Wire::Protobuf => match stead_proto::decode::decode_call(&body) {
            Ok(c) => c,
            Err(e) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!("Failed to parse body into Call protobuf: {e}"),
                );
            }
        },
    };
    let stream_id = headers
        .get(STREAM_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let ty = call.r#type.and_then(|t| call::Type::try_from(t).ok());
    match ty {
        None | Some(call::Type::Unknown) => text(
            StatusCode::BAD_REQUEST,
            "Failed to validate scheduler::Call: Expecting 'type' to be present",
        ),
        Some(call::Type::Subscribe) => {
            if stream_id.is_some() {
                return text(
                    StatusCode::BAD_REQUEST,
                    "Failed to validate scheduler::Call: Subscribe calls should not include the 'Mesos-Stream-Id' header",
                );
            }
            if let Some(refused) = principal_mismatch(&call, authenticated.as_deref()) {
                return refused;
            }
            subscribe(master, call, wire, recordio).await
        }
        Some(_) => {
            let Some(stream_id) = stream_id else {
                return text(
                    StatusCode::BAD_REQUEST,
                    "All non-subscribe calls should include the 'Mesos-Stream-Id' header",
                );
            };
            let (reply, rx) = oneshot::channel();
            if master
                .send(Msg::Call {
                    call,
                    stream_id,
                    reply,
                })
                .is_err()
            {
                return text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The master is shutting down",
                );
            }
            match rx.await {
                Ok(Ok(None)) => StatusCode::ACCEPTED.into_response(),
                Ok(Ok(Some(response))) => {
                    let body = match wire {
                        Wire::Protobuf => response.encode_to_vec(),
                        Wire::Json => stead_proto::json::to_json_vec(&response).unwrap_or_default(),
                    };
                    ([(header::CONTENT_TYPE, content_type(wire))], body).into_response()
                }
                Ok(Err(e)) => api_error(e),
                Err(_) => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The master is shutting down",
                ),
            }
        }
    }
}

/// Tells the master when a subscriber's stream goes away.
struct StreamGuard {
    master: Master,
    framework_id: String,
    stream_id: String,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let _ = self.master.send(Msg::Disconnected {
            framework_id: std::mem::take(&mut self.framework_id),
            stream_id: std::mem::take(&mut self.stream_id),
        });
    }
}

async fn subscribe(master: Master, call: Call, wire: Wire, recordio: bool) -> Response {
    let (reply, rx) = oneshot::channel();
    if master.send(Msg::Subscribe { call, wire, reply }).is_err() {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "The master is shutting down",
        );
    }
    let sub = match rx.await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return api_error(e),
        Err(_) => {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                "The master is shutting down",
            );
        }
    };
    let guard = StreamGuard {
        master,
        framework_id: sub.framework_id,
        stream_id: sub.stream_id.clone(),
    };
    let stream = futures::stream::unfold((sub.events, guard), |(mut events, guard)| async move {
        let first = events.recv().await?;
        Some((
            Ok::<_, Infallible>(coalesce(first, &mut events)),
            (events, guard),
        ))
    });
    let mut response = Response::new(Body::from_stream(stream));
    let h = response.headers_mut();
    if recordio {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(stead_proto::recordio::RECORDIO),
        );
        h.insert(
            stead_proto::recordio::MESSAGE_CONTENT_TYPE,
            HeaderValue::from_static(content_type(wire)),
        );
    } else {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(wire)),
        );
    }
    if let Ok(v) = HeaderValue::from_str(&sub.stream_id) {
        h.insert(STREAM_ID_HEADER, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The most bytes of queued events sent as one chunk.
const MAX_CHUNK: usize = 256 * 1024;

/// `first` and the events queued behind it (up to [`MAX_CHUNK`] bytes) as one chunk:
/// RecordIO records need no chunk of their own, and a burst of thousands of updates
/// then costs a few writes instead of one per event on both ends of the stream.
fn coalesce(first: Bytes, events: &mut mpsc::UnboundedReceiver<Bytes>) -> Bytes {
    let mut chunk = BytesMut::new();
    let mut next = Some(first);
    while let Some(event) = next.take() {
        if chunk.is_empty() && events.is_empty() {
            return event;
        }
        chunk.extend_from_slice(&event);
        if chunk.len() < MAX_CHUNK {
            next = events.try_recv().ok();
        }
    }
    chunk.freeze()
}

async fn version() -> Response {
    axum::Json(serde_json::json!({
        "version": crate::MESOS_VERSION,
        "build_user": "stead-local",
        "stead_version": env!("CARGO_PKG_VERSION"),
    }))
    .into_response()
}

async fn state(AxState(master): AxState<Master>) -> Response {
    match current_state(&master).await {
        Ok(s) => axum::Json(s).into_response(),
        Err(unavailable) => unavailable,
    }
}

/// `GET /master/slaves`: the agents (with their reservations and volumes in
/// `reserved_resources_full`), as Apache Mesos lists them: `{"slaves": [...]}`.
async fn slaves(AxState(master): AxState<Master>) -> Response {
    match current_state(&master).await {
        Ok(s) => axum::Json(serde_json::json!({ "slaves": s.agents })).into_response(),
        Err(unavailable) => unavailable,
    }
}

/// `GET /slave(<name>)/state`: the agent's executors and their sandboxes.
async fn agent_state(AxState(master): AxState<Master>, Path(process): Path<String>) -> Response {
    let Some(name) = crate::agent_api::agent_of_process(&process) else {
        return text(StatusCode::NOT_FOUND, format!("No process {process:?}"));
    };
    let state = match current_state(&master).await {
        Ok(s) => s,
        Err(unavailable) => return unavailable,
    };
    match crate::agent_api::agent_state(&state, name) {
        Some(agent) => axum::Json(agent).into_response(),
        None => text(StatusCode::NOT_FOUND, format!("No agent {name:?}")),
    }
}

/// The master's state, or the answer that it is shutting down.
async fn current_state(master: &Master) -> Result<crate::state::State, Response> {
    let unavailable = || {
        text(
            StatusCode::SERVICE_UNAVAILABLE,
            "The master is shutting down",
        )
    };
    let (reply, rx) = oneshot::channel();
    master
        .send(Msg::State { reply })
        .map_err(|_| unavailable())?;
    rx.await.map_err(|_| unavailable())
}

async fn agent_action(
    AxState(master): AxState<Master>,
    Path((agent, action)): Path<(String, String)>,
) -> Response {
    let action = match action.as_str() {
        "stop" => AgentAction::Stop,
        "disconnect" => AgentAction::Disconnect,
        "start" => AgentAction::Start,
        "remove" => AgentAction::Remove,
        other => {
            return text(
                StatusCode::NOT_FOUND,
                format!("Unknown action '{other}' (expected stop, disconnect, start or remove)"),
            );
        }
    };
    let (reply, rx) = oneshot::channel();
    if master
        .send(Msg::Agent {
            agent,
            action,
            reply,
        })
        .is_err()
    {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "The master is shutting down",
        );
    }
    match rx.await {
        Ok(Ok(())) => axum::Json(serde_json::json!({"ok": true})).into_response(),
        Ok(Err(e @ crate::Error::UnknownAgent(_))) => text(StatusCode::NOT_FOUND, e.to_string()),
        Ok(Err(e @ crate::Error::AgentRemoved(_))) => text(StatusCode::GONE, e.to_string()),
        Ok(Err(e)) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(_) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "The master is shutting down",
        ),
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;

    /// Serves the master's endpoints with a 1 s header timeout; returns the address and
    /// the master's inbox, which nothing answers.
    async fn start() -> (std::net::SocketAddr, mpsc::UnboundedReceiver<Msg>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let limits = ServerLimits {
            header_read_timeout: Duration::from_secs(1),
            body_read_timeout: Duration::from_secs(1),
            max_connections: 64,
        };
        let work_dir = std::env::temp_dir();
        tokio::spawn(serve(
            listener,
            tx,
            work_dir,
            limits,
            Guard::default(),
            std::future::pending(),
        ));
        (addr, rx)
    }

    #[tokio::test]
    async fn slow_clients_are_closed_and_the_master_keeps_answering() {
        let (addr, _inbox) = start().await;
        let mut slow = Vec::new();
        for _ in 0..100 {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(b"POST /api/v1/sch").await.unwrap();
            slow.push(stream);
        }
        let health = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
            .get(format!("http://{addr}/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), StatusCode::OK);
        for stream in &mut slow {
            let mut rest = Vec::new();
            let closed =
                tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest)).await;
            assert!(closed.is_ok(), "the slow connection was closed");
        }
    }

    #[tokio::test]
    async fn a_call_whose_body_never_arrives_is_refused() {
        let (addr, mut inbox) = start().await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST {SCHEDULER_PATH} HTTP/1.1\r\nHost: master\r\n\
             Content-Type: {APPLICATION_PROTOBUF}\r\nContent-Length: 100\r\n\r\n0123456789"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let closed =
            tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
        assert!(closed.is_ok(), "the connection was closed");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(inbox.try_recv().is_err(), "the master never saw it");
    }

    #[tokio::test]
    async fn a_protobuf_subscribe_without_framework_info_is_refused() {
        let (addr, mut inbox) = start().await;
        // type: SUBSCRIBE, subscribe: {} (no framework_info).
        let mut body = Call {
            r#type: Some(call::Type::Subscribe as i32),
            ..Default::default()
        }
        .encode_to_vec();
        body.extend([0x1a, 0x00]);
        let answer = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
            .post(format!("http://{addr}{SCHEDULER_PATH}"))
            .header(header::CONTENT_TYPE, APPLICATION_PROTOBUF)
            .header(header::ACCEPT, APPLICATION_PROTOBUF)
            .body(body)
            .send()
            .await
            .expect("answered without the master");
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
        let text = answer.text().await.unwrap();
        assert!(
            text.contains("Failed to parse body into Call protobuf")
                && text.contains("subscribe.framework_info"),
            "{text}"
        );
        assert!(inbox.try_recv().is_err(), "the master never saw it");
    }

    #[tokio::test]
    async fn a_json_call_with_null_fields_reaches_the_master() {
        let (addr, mut inbox) = start().await;
        // As mesos-go writes a DECLINE: unset fields as `null`.
        let body = serde_json::json!({
            "framework_id": {"value": "fw-1"},
            "type": "DECLINE",
            "decline": {"offer_ids": [{"value": "offer-1"}], "filters": null}
        });
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let post = client
            .post(format!("http://{addr}{SCHEDULER_PATH}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header(STREAM_ID_HEADER, "stream-1")
            .body(body.to_string())
            .send();
        let master = async {
            match inbox.recv().await {
                Some(Msg::Call { call, reply, .. }) => {
                    let _ = reply.send(Ok(None));
                    call
                }
                _ => panic!("the master got no call"),
            }
        };
        let (answer, call) = tokio::join!(post, master);
        assert_eq!(answer.expect("answered").status(), StatusCode::ACCEPTED);
        let decline = call.decline.expect("decline");
        assert_eq!(decline.offer_ids[0].value, "offer-1");
        assert!(decline.filters.is_none());
    }

    #[tokio::test]
    async fn the_scheduler_api_requires_credentials_as_mesos_does() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, mut inbox) = mpsc::unbounded_channel();
        let guard = Guard {
            credentials: Some(Arc::new(Credentials::new([("p", "s")]))),
            tls: None,
        };
        tokio::spawn(serve(
            listener,
            tx,
            std::env::temp_dir(),
            LIMITS,
            guard,
            std::future::pending(),
        ));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let subscribe = |principal: &str| {
            serde_json::json!({
                "type": "SUBSCRIBE",
                "subscribe": {"framework_info": {"user": "u", "name": "n", "principal": principal}}
            })
            .to_string()
        };
        let post = |body: String| {
            client
                .post(format!("http://{addr}{SCHEDULER_PATH}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(body)
        };
        for request in [
            post(subscribe("p")),
            post(subscribe("p")).basic_auth("p", Some("wrong")),
            post(subscribe("p")).basic_auth("q", Some("s")),
        ] {
            let answer = request.send().await.unwrap();
            assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(
                answer.headers().get(header::WWW_AUTHENTICATE).unwrap(),
                SCHEDULER_CHALLENGE
            );
        }
        let answer = post(subscribe("other"))
            .basic_auth("p", Some("s"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
        let text = answer.text().await.unwrap();
        assert!(
            text.contains("Authenticated principal 'p' does not match principal 'other'"),
            "{text}"
        );
        assert!(inbox.try_recv().is_err(), "the master saw none of them");
        let health = client
            .get(format!("http://{addr}/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), StatusCode::OK, "only the scheduler API");
    }

    #[test]
    fn queued_events_go_out_as_one_chunk() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let alone = Bytes::from_static(b"3\nabc");
        assert_eq!(coalesce(alone.clone(), &mut rx), alone);

        for e in ["2\nde", "1\nf"] {
            tx.send(Bytes::from_static(e.as_bytes())).unwrap();
        }
        assert_eq!(&coalesce(alone, &mut rx)[..], b"3\nabc2\nde1\nf");
        assert!(rx.is_empty());

        // A chunk stops growing at MAX_CHUNK; what is left waits for the next one.
        let big = Bytes::from(vec![b'x'; MAX_CHUNK]);
        tx.send(Bytes::from_static(b"1\ny")).unwrap();
        assert_eq!(coalesce(big, &mut rx).len(), MAX_CHUNK);
        assert_eq!(rx.len(), 1);
    }
}
