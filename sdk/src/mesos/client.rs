//! The v1 scheduler HTTP(S) client: SUBSCRIBE stream, calls, leader redirects, heartbeats,
//! with the credentials and TLS trust of [`MasterAccess`].

use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, LOCATION};
use http::{Method, StatusCode, Uri};
use http_body_util::{BodyExt, BodyStream, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use prost::Message;
use stead_proto::http::{SCHEDULER_PATH, STREAM_ID_HEADER};
use stead_proto::recordio::{APPLICATION_PROTOBUF, Decoder, RecordIoError};
use stead_proto::scheduler::{Call, Event, call, event};
use stead_proto::v1::FrameworkInfo;
use tokio::time::Instant;

use super::access::{MasterAccess, tls_failure};

/// How many 307 redirects a request follows before giving up.
const MAX_REDIRECTS: usize = 5;
/// Heartbeats that may be missed before the stream counts as broken.
const MISSED_HEARTBEATS: f64 = 5.0;

/// A failure of the HTTP transport (connecting, sending, reading an answer).
pub type TransportError = Box<dyn std::error::Error + Send + Sync>;

/// A failure talking to the Mesos master.
#[derive(Debug, thiserror::Error)]
pub enum MesosError {
    /// The HTTP request failed (connection refused, reset, ...).
    #[error("request to {url} failed: {source}")]
    Http {
        /// The URL requested.
        url: String,
        /// Whether no connection could be made (refused, timed out, no route).
        connect: bool,
        /// The cause.
        #[source]
        source: TransportError,
    },
    /// The master answered with an unexpected status.
    #[error("master at {url} answered {status}: {body}")]
    Status {
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: StatusCode,
        /// The response body (the master's explanation).
        body: String,
    },
    /// The request timed out.
    #[error("request to {0} timed out")]
    Timeout(String),
    /// A redirect could not be followed.
    #[error("bad redirect from {url}: {why}")]
    Redirect {
        /// The URL that redirected.
        url: String,
        /// What was wrong.
        why: String,
    },
    /// The event stream was not valid RecordIO.
    #[error(transparent)]
    RecordIo(#[from] RecordIoError),
    /// An event could not be decoded.
    #[error("undecodable event: {0}")]
    Decode(#[from] prost::DecodeError),
    /// No heartbeat or event arrived in time.
    #[error("no event for {0:?}: the subscription stream is considered broken")]
    HeartbeatTimeout(Duration),
    /// The master closed the stream.
    #[error("the master closed the subscription stream")]
    StreamEnded,
    /// The master sent an ERROR event.
    #[error("the master reported an error: {0}")]
    Master(String),
    /// The master no longer knows the framework (removed, or its id unknown): it must
    /// subscribe anew without an id.
    #[error("the master no longer knows the framework: {0}")]
    FrameworkRemoved(String),
    /// The master's state (`/master/state`) was not the JSON expected.
    #[error("unreadable state from {url}: {why}")]
    BadState {
        /// The URL requested.
        url: String,
        /// What was wrong.
        why: String,
    },
    /// The master URL is not usable.
    #[error("invalid master URL `{0}`: expected http://host:port or https://host:port")]
    BadUrl(String),
    /// The master refused to authenticate the scheduler (401): the principal is unknown to
    /// it, its secret is wrong, or none was sent. Trying again changes nothing.
    #[error("{}", unauthenticated(.master, .principal.as_deref(), *.secret_sent))]
    Unauthenticated {
        /// The master's URL.
        master: String,
        /// The principal the scheduler authenticates as, if any.
        principal: Option<String>,
        /// Whether a secret was sent.
        secret_sent: bool,
    },
    /// The TLS handshake with the master failed (its certificate is not trusted, or it
    /// does not speak TLS). Trying again changes nothing.
    #[error(
        "TLS with the master at {master} failed: {source} (a master whose certificate a private CA signed needs that CA in --ca-file)"
    )]
    Tls {
        /// The master's URL.
        master: String,
        /// The TLS failure.
        #[source]
        source: rustls::Error,
    },
}

/// The message of [`MesosError::Unauthenticated`].
fn unauthenticated(master: &str, principal: Option<&str>, secret_sent: bool) -> String {
    match (principal, secret_sent) {
        (Some(p), true) => format!(
            "the master at {master} refused the credentials of principal `{p}` (401 Unauthorized): check the secret in --secret-file and the principal in --principal"
        ),
        (Some(p), false) => format!(
            "the master at {master} requires authentication (401 Unauthorized) and no secret was given for principal `{p}`: pass --secret-file"
        ),
        (None, _) => format!(
            "the master at {master} requires authentication (401 Unauthorized): pass --principal and --secret-file"
        ),
    }
}

impl MesosError {
    /// Whether the master could not be reached: the connection failed or timed out, or
    /// the master answered that it is unavailable (503, e.g. while it recovers).
    pub fn is_unreachable(&self) -> bool {
        match self {
            MesosError::Http { connect, .. } => *connect,
            MesosError::Timeout(_) => true,
            MesosError::Status { status, .. } => *status == StatusCode::SERVICE_UNAVAILABLE,
            _ => false,
        }
    }

    /// Whether the master refuses the scheduler for good: the credentials (401) or TLS.
    /// Trying again cannot succeed until the operator changes something.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            MesosError::Unauthenticated { .. } | MesosError::Tls { .. }
        )
    }
}

/// Whether the master's explanation says it no longer knows the framework. The v1 API
/// carries this only as text (an ERROR event's message, a 4xx body), in wordings such as
/// "Framework has been removed" or "Framework ... is unknown"; it is read here, once, at
/// the protocol's edge, and handed on as [`MesosError::FrameworkRemoved`].
fn says_framework_removed(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    text.contains("framework") && (text.contains("removed") || text.contains("unknown"))
}

/// A result of a Mesos call.
pub type MesosResult<T> = Result<T, MesosError>;

/// The content type of every request and answer.
const PROTOBUF: HeaderValue = HeaderValue::from_static(APPLICATION_PROTOBUF);

/// The master believed to lead: its base URL and its scheduler endpoint, parsed once (a
/// URL parsed per call cost a few percent of a busy scheduler's time).
#[derive(Debug, Clone)]
struct Leader {
    base: String,
    endpoint: Uri,
}

impl Leader {
    fn new(base: String) -> MesosResult<Leader> {
        let endpoint = format!("{base}{SCHEDULER_PATH}")
            .parse()
            .map_err(|_| MesosError::BadUrl(base.clone()))?;
        Ok(Leader { base, endpoint })
    }
}

/// The HTTP(S) client of the master's endpoints.
type Http = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A v1 scheduler API client for one master (following the leader on redirects).
#[derive(Debug)]
pub struct MesosClient {
    http: Http,
    leader: Mutex<Leader>,
    stream_id: Mutex<Option<HeaderValue>>,
    call_timeout: Duration,
    access: MasterAccess,
}

impl MesosClient {
    /// A client for the master at `master` (`http://host:port` or `https://host:port`),
    /// with `call_timeout` per call, no credentials and the Mozilla roots.
    pub fn new(master: &str, call_timeout: Duration) -> MesosResult<MesosClient> {
        MesosClient::with_access(master, call_timeout, MasterAccess::default())
    }

    /// [`MesosClient::new`] with `access`'s credentials on every request and its
    /// certificates trusted.
    pub fn with_access(
        master: &str,
        call_timeout: Duration,
        access: MasterAccess,
    ) -> MesosResult<MesosClient> {
        let base = master.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(MesosError::BadUrl(master.to_string()));
        }
        let mut connector = HttpConnector::new();
        connector.enforce_http(false);
        connector.set_connect_timeout(Some(call_timeout));
        connector.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(access.tls())
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let http = Client::builder(TokioExecutor::new()).build(connector);
        Ok(MesosClient {
            http,
            leader: Mutex::new(Leader::new(base.to_string())?),
            stream_id: Mutex::new(None),
            call_timeout,
            access,
        })
    }

    /// The principal and secret this client sends, and the certificates it trusts.
    pub fn access(&self) -> &MasterAccess {
        &self.access
    }

    /// Sends a `method` request to `uri` with `headers`, the credentials when there are
    /// any, and `body`.
    async fn send(
        &self,
        method: Method,
        uri: &Uri,
        headers: &[(&str, HeaderValue)],
        body: Bytes,
    ) -> MesosResult<http::Response<Incoming>> {
        let mut request = http::Request::builder().method(method).uri(uri.clone());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if let Some(authorization) = self.access.authorization() {
            request = request.header(AUTHORIZATION, authorization);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| MesosError::Http {
                url: uri.to_string(),
                connect: false,
                source: Box::new(e),
            })?;
        self.http
            .request(request)
            .await
            .map_err(|source| self.failed(uri.to_string(), source))
    }

    /// The error of a request to `url` that failed with `source`.
    fn failed(&self, url: String, source: hyper_util::client::legacy::Error) -> MesosError {
        if let Some(tls) = tls_failure(&source) {
            return MesosError::Tls {
                master: self.leader(),
                source: tls.clone(),
            };
        }
        MesosError::Http {
            url,
            connect: source.is_connect(),
            source: Box::new(source),
        }
    }

    /// The error of an answer with `status` (not a success) and `body`.
    fn refused(&self, url: String, status: StatusCode, body: String) -> MesosError {
        if status == StatusCode::UNAUTHORIZED {
            return MesosError::Unauthenticated {
                master: self.leader(),
                principal: self.access.principal().map(str::to_string),
                secret_sent: self.access.has_secret(),
            };
        }
        MesosError::Status { url, status, body }
    }

    /// The base URL of the master currently believed to lead.
    pub fn leader(&self) -> String {
        lock(&self.leader).base.clone()
    }

    fn endpoint(&self) -> Uri {
        lock(&self.leader).endpoint.clone()
    }

    /// Posts `body` to the scheduler endpoint, following 307s to the leader.
    async fn post(
        &self,
        body: Bytes,
        with_stream_id: bool,
        timeout: Option<Duration>,
    ) -> MesosResult<http::Response<Incoming>> {
        for _ in 0..=MAX_REDIRECTS {
            let endpoint = self.endpoint();
            let url = || endpoint.to_string();
            let mut headers = vec![
                (CONTENT_TYPE.as_str(), PROTOBUF),
                (ACCEPT.as_str(), PROTOBUF),
            ];
            if with_stream_id && let Some(id) = lock(&self.stream_id).clone() {
                headers.push((STREAM_ID_HEADER, id));
            }
            let send = self.send(Method::POST, &endpoint, &headers, body.clone());
            let limit = timeout.unwrap_or(self.call_timeout);
            let resp = match tokio::time::timeout(limit, send).await {
                Err(_) => return Err(MesosError::Timeout(url())),
                Ok(result) => result?,
            };
            if resp.status() == StatusCode::TEMPORARY_REDIRECT {
                let location = resp.headers().get(LOCATION).cloned();
                self.follow(&url(), location.as_ref())?;
                continue;
            }
            if !resp.status().is_success() {
                let status = resp.status();
                let body = self.read_text(resp.into_body()).await.unwrap_or_default();
                if status.is_client_error() && says_framework_removed(&body) {
                    return Err(MesosError::FrameworkRemoved(body));
                }
                return Err(self.refused(url(), status, body));
            }
            return Ok(resp);
        }
        Err(MesosError::Redirect {
            url: self.endpoint().to_string(),
            why: format!("more than {MAX_REDIRECTS} redirects"),
        })
    }

    /// Updates the leader from a 307 `Location` (often protocol-relative: `//host:port/...`).
    fn follow(&self, from: &str, location: Option<&HeaderValue>) -> MesosResult<()> {
        let bad = |why: &str| MesosError::Redirect {
            url: from.to_string(),
            why: why.to_string(),
        };
        let location = location
            .and_then(|l| l.to_str().ok())
            .ok_or_else(|| bad("no Location header"))?;
        let scheme = from.split_once("://").map_or("http", |(s, _)| s);
        let absolute = if let Some(rest) = location.strip_prefix("//") {
            format!("{scheme}://{rest}")
        } else if location.contains("://") {
            location.to_string()
        } else {
            return Err(bad(&format!("unusable Location `{location}`")));
        };
        let (scheme, rest) = absolute
            .split_once("://")
            .ok_or_else(|| bad("unusable Location"))?;
        let host = rest.split('/').next().unwrap_or_default();
        if host.is_empty() {
            return Err(bad(&format!("no host in Location `{location}`")));
        }
        let leader = Leader::new(format!("{scheme}://{host}"))
            .map_err(|_| bad(&format!("unusable Location `{location}`")))?;
        tracing::info!(leader = %leader.base, "following the redirect to the leading master");
        *lock(&self.leader) = leader;
        *lock(&self.stream_id) = None;
        Ok(())
    }

    /// Sends SUBSCRIBE and returns the event stream (the first event is SUBSCRIBED).
    ///
    /// `framework_info.id`, when set, re-subscribes as that framework.
    pub async fn subscribe(&self, framework_info: FrameworkInfo) -> MesosResult<EventStream> {
        let call = Call {
            framework_id: framework_info.id.clone(),
            r#type: Some(call::Type::Subscribe as i32),
            subscribe: Some(call::Subscribe {
                framework_info,
                suppressed_roles: Vec::new(),
            }),
            ..Call::default()
        };
        *lock(&self.stream_id) = None;
        let resp = self
            .post(Bytes::from(call.encode_to_vec()), false, None)
            .await?;
        *lock(&self.stream_id) = resp.headers().get(STREAM_ID_HEADER).cloned();
        let body = BodyStream::new(resp.into_body())
            .try_filter_map(|frame| std::future::ready(Ok(frame.into_data().ok())))
            .map_err(|e| Box::new(e) as TransportError);
        Ok(EventStream::spawn(EventReader {
            body: Box::pin(body),
            decoder: Decoder::new(),
            // Until SUBSCRIBED says otherwise, allow a generous first wait.
            silence_limit: self.call_timeout.max(Duration::from_secs(30)),
            last_data: Instant::now(),
        }))
    }

    /// A JSON endpoint of the master (`path`, e.g. `/master/state`), within the call
    /// timeout.
    pub async fn master_json(&self, path: &str) -> MesosResult<serde_json::Value> {
        self.get_json(format!("{}{path}", self.leader())).await
    }

    /// A JSON endpoint at `url` (e.g. an agent's `/files/read`), within the call timeout.
    pub async fn get_json(&self, url: String) -> MesosResult<serde_json::Value> {
        let uri: Uri = url.parse().map_err(|_| MesosError::BadUrl(url.clone()))?;
        let get = async {
            let json = HeaderValue::from_static("application/json");
            let resp = self
                .send(Method::GET, &uri, &[(ACCEPT.as_str(), json)], Bytes::new())
                .await?;
            let status = resp.status();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| MesosError::Http {
                    url: url.clone(),
                    connect: false,
                    source: Box::new(e),
                })?;
            Ok::<_, MesosError>((status, body.to_bytes()))
        };
        let (status, body) = match tokio::time::timeout(self.call_timeout, get).await {
            Err(_) => return Err(MesosError::Timeout(url)),
            Ok(answer) => answer?,
        };
        if !status.is_success() {
            let body = String::from_utf8_lossy(&body).into_owned();
            return Err(self.refused(url, status, body));
        }
        serde_json::from_slice(&body).map_err(|e| MesosError::BadState {
            url,
            why: e.to_string(),
        })
    }

    /// The text of an answer's body (lossy UTF-8), within the call timeout.
    async fn read_text(&self, body: Incoming) -> Option<String> {
        let bytes = tokio::time::timeout(self.call_timeout, body.collect())
            .await
            .ok()?
            .ok()?
            .to_bytes();
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Sends a call (not SUBSCRIBE) with the stream id, within the call timeout.
    pub async fn call(&self, call: &Call) -> MesosResult<()> {
        let body = Bytes::from(call.encode_to_vec());
        self.post(body, true, None).await.map(drop)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock still holds a valid String/Option (plain assignments only).
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

type Body = Pin<Box<dyn Stream<Item = Result<Bytes, TransportError>> + Send>>;

/// Events decoded ahead of the scheduler, at most.
const EVENT_BUFFER: usize = 1024;

/// The events of a subscription, read and decoded by a task of their own as they
/// arrive, so that every event already received can be taken at once
/// ([`EventStream::try_next`]): the HTTP body yields data only when asked, so reading it
/// only between batches would deliver one event per batch. The reader stops when the
/// stream is dropped.
#[derive(Debug)]
pub struct EventStream {
    events: tokio::sync::mpsc::Receiver<MesosResult<Event>>,
    reader: tokio::task::JoinHandle<()>,
}

impl EventStream {
    /// Starts reading `reader` on a task of its own; its first error is the stream's last
    /// item.
    fn spawn(mut reader: EventReader) -> EventStream {
        let (tx, events) = tokio::sync::mpsc::channel(EVENT_BUFFER);
        let reader = tokio::spawn(async move {
            loop {
                let item = reader.next().await;
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
        EventStream { events, reader }
    }

    /// The next event. Cancel-safe: dropping the future loses no data.
    ///
    /// Fails when the stream ends, breaks, or stays silent longer than
    /// [`MISSED_HEARTBEATS`] heartbeat intervals.
    pub async fn next(&mut self) -> MesosResult<Event> {
        self.events
            .recv()
            .await
            .unwrap_or(Err(MesosError::StreamEnded))
    }

    /// The next event if one has been received already, without waiting.
    pub fn try_next(&mut self) -> Option<MesosResult<Event>> {
        use tokio::sync::mpsc::error::TryRecvError;
        match self.events.try_recv() {
            Ok(item) => Some(item),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(MesosError::StreamEnded)),
        }
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// The RecordIO event stream of a subscription, with heartbeat supervision.
struct EventReader {
    body: Body,
    decoder: Decoder,
    silence_limit: Duration,
    last_data: Instant,
}

impl EventReader {
    /// The next event. Cancel-safe: dropping the future loses no data.
    ///
    /// Fails when the stream ends, breaks, or stays silent longer than
    /// [`MISSED_HEARTBEATS`] heartbeat intervals.
    pub async fn next(&mut self) -> MesosResult<Event> {
        loop {
            if let Some(record) = self.decoder.next_record()? {
                let event = Event::decode(record)?;
                if event.r#type == Some(event::Type::Subscribed as i32)
                    && let Some(interval) = event
                        .subscribed
                        .as_ref()
                        .and_then(|s| s.heartbeat_interval_seconds)
                    && interval.is_finite()
                    && interval > 0.0
                {
                    self.silence_limit = Duration::from_secs_f64(interval * MISSED_HEARTBEATS);
                }
                if event.r#type == Some(event::Type::Error as i32) {
                    let message = event
                        .error
                        .map(|e| e.message)
                        .unwrap_or_else(|| "unspecified".into());
                    if says_framework_removed(&message) {
                        return Err(MesosError::FrameworkRemoved(message));
                    }
                    return Err(MesosError::Master(message));
                }
                return Ok(event);
            }
            let deadline = self.last_data + self.silence_limit;
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Err(_) => return Err(MesosError::HeartbeatTimeout(self.silence_limit)),
                Ok(None) => {
                    self.decoder.finish()?;
                    return Err(MesosError::StreamEnded);
                }
                Ok(Some(Err(source))) => {
                    return Err(MesosError::Http {
                        url: "event stream".into(),
                        connect: false,
                        source,
                    });
                }
                Ok(Some(Ok(chunk))) => {
                    self.last_data = Instant::now();
                    self.decoder.push(&chunk);
                }
            }
        }
    }
}

/// Capped exponential backoff with jitter, for reconnecting.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    /// Starts at `base`, doubles per attempt, never exceeds `max`.
    pub fn new(base: Duration, max: Duration) -> Backoff {
        Backoff {
            base,
            max,
            attempt: 0,
        }
    }

    /// The delay before the next attempt (between half and all of the capped value).
    pub fn next_delay(&mut self) -> Duration {
        let exp = self.base.saturating_mul(1u32 << self.attempt.min(20));
        self.attempt = self.attempt.saturating_add(1);
        let capped = exp.min(self.max);
        let jitter = f64::from(uuid::Uuid::new_v4().as_bytes()[0]) / 255.0;
        capped.mul_f64(0.5 + 0.5 * jitter)
    }

    /// Back to the base delay (after a success).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_capped_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let first = b.next_delay();
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        for _ in 0..30 {
            assert!(b.next_delay() <= Duration::from_secs(1));
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }

    #[tokio::test]
    async fn a_master_not_listening_is_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("bound");
        drop(listener);
        let c = MesosClient::new(&format!("http://{addr}"), Duration::from_secs(5)).unwrap();
        let Err(e) = c.subscribe(FrameworkInfo::default()).await else {
            panic!("subscribed to a closed port");
        };
        assert!(e.is_unreachable(), "{e:?}");
        let refused = MesosError::Status {
            url: "u".into(),
            status: StatusCode::BAD_REQUEST,
            body: String::new(),
        };
        assert!(!refused.is_unreachable());
    }

    #[test]
    fn follows_protocol_relative_redirects() {
        let c = MesosClient::new("http://10.0.0.1:5050/", Duration::from_secs(1)).unwrap();
        assert_eq!(c.leader(), "http://10.0.0.1:5050");
        let loc = HeaderValue::from_static("//10.0.0.2:5050/api/v1/scheduler");
        c.follow(&c.endpoint().to_string(), Some(&loc)).unwrap();
        assert_eq!(c.leader(), "http://10.0.0.2:5050");
        assert!(c.follow(&c.endpoint().to_string(), None).is_err());
        assert!(MesosClient::new("zk://x/mesos", Duration::from_secs(1)).is_err());
    }

    #[tokio::test]
    async fn decodes_the_captured_event_stream() {
        let data = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/mesos-vectors/events.bin"
        ))
        .expect("the event vector is present");
        // Feed it in odd-sized chunks through the same path a live stream takes.
        let chunks: Vec<Result<Bytes, TransportError>> = data
            .chunks(37)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let mut stream = EventStream::spawn(EventReader {
            body: Box::pin(futures::stream::iter(chunks)),
            decoder: Decoder::new(),
            silence_limit: Duration::from_secs(5),
            last_data: Instant::now(),
        });
        let mut offers = 0;
        let mut total = 0;
        loop {
            match stream.next().await {
                Ok(ev) => {
                    total += 1;
                    if ev.r#type == Some(event::Type::Offers as i32) {
                        offers += 1;
                    }
                }
                Err(MesosError::StreamEnded) => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!((total, offers), (42, 27));
    }
}
