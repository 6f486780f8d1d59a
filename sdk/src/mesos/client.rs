//! The v1 scheduler HTTP client: SUBSCRIBE stream, calls, leader redirects, heartbeats.

use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use prost::Message;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue, LOCATION};
use stead_proto::http::{SCHEDULER_PATH, STREAM_ID_HEADER};
use stead_proto::recordio::{APPLICATION_PROTOBUF, Decoder, RecordIoError};
use stead_proto::scheduler::{Call, Event, call, event};
use stead_proto::v1::FrameworkInfo;
use tokio::time::Instant;

/// How many 307 redirects a request follows before giving up.
const MAX_REDIRECTS: usize = 5;
/// Heartbeats that may be missed before the stream counts as broken.
const MISSED_HEARTBEATS: f64 = 5.0;

/// A failure talking to the Mesos master.
#[derive(Debug, thiserror::Error)]
pub enum MesosError {
    /// The HTTP request failed (connection refused, reset, ...).
    #[error("request to {url} failed: {source}")]
    Http {
        /// The URL requested.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
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
    #[error("invalid master URL `{0}`: expected http://host:port")]
    BadUrl(String),
}

impl MesosError {
    /// Whether the master could not be reached: the connection failed or timed out, or
    /// the master answered that it is unavailable (503, e.g. while it recovers).
    pub fn is_unreachable(&self) -> bool {
        match self {
            MesosError::Http { source, .. } => source.is_connect() || source.is_timeout(),
            MesosError::Timeout(_) => true,
            MesosError::Status { status, .. } => *status == StatusCode::SERVICE_UNAVAILABLE,
            _ => false,
        }
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
    endpoint: reqwest::Url,
}

impl Leader {
    fn new(base: String) -> MesosResult<Leader> {
        let endpoint = format!("{base}{SCHEDULER_PATH}")
            .parse()
            .map_err(|_| MesosError::BadUrl(base.clone()))?;
        Ok(Leader { base, endpoint })
    }
}

/// A v1 scheduler API client for one master (following the leader on redirects).
#[derive(Debug)]
pub struct MesosClient {
    http: reqwest::Client,
    leader: Mutex<Leader>,
    stream_id: Mutex<Option<HeaderValue>>,
    call_timeout: Duration,
}

impl MesosClient {
    /// A client for the master at `master` (`http://host:port`), with `call_timeout` per call.
    pub fn new(master: &str, call_timeout: Duration) -> MesosResult<MesosClient> {
        let base = master.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(MesosError::BadUrl(master.to_string()));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(call_timeout)
            .build()
            .map_err(|source| MesosError::Http {
                url: base.to_string(),
                source,
            })?;
        Ok(MesosClient {
            http,
            leader: Mutex::new(Leader::new(base.to_string())?),
            stream_id: Mutex::new(None),
            call_timeout,
        })
    }

    /// The base URL of the master currently believed to lead.
    pub fn leader(&self) -> String {
        lock(&self.leader).base.clone()
    }

    fn endpoint(&self) -> reqwest::Url {
        lock(&self.leader).endpoint.clone()
    }

    /// Posts `body` to the scheduler endpoint, following 307s to the leader.
    async fn post(
        &self,
        body: Bytes,
        with_stream_id: bool,
        timeout: Option<Duration>,
    ) -> MesosResult<reqwest::Response> {
        for _ in 0..=MAX_REDIRECTS {
            let endpoint = self.endpoint();
            let url = || endpoint.to_string();
            let mut req = self
                .http
                .post(endpoint.clone())
                .header(CONTENT_TYPE, PROTOBUF)
                .header(ACCEPT, PROTOBUF)
                .body(body.clone());
            if with_stream_id && let Some(id) = lock(&self.stream_id).clone() {
                req = req.header(STREAM_ID_HEADER, id);
            }
            let send = req.send();
            let limit = timeout.unwrap_or(self.call_timeout);
            let resp = match tokio::time::timeout(limit, send).await {
                Err(_) => return Err(MesosError::Timeout(url())),
                Ok(Err(source)) => return Err(MesosError::Http { url: url(), source }),
                Ok(Ok(resp)) => resp,
            };
            if resp.status() == StatusCode::TEMPORARY_REDIRECT {
                let location = resp.headers().get(LOCATION).cloned();
                self.follow(endpoint.as_str(), location.as_ref())?;
                continue;
            }
            if !resp.status().is_success() {
                let status = resp.status();
                let body = tokio::time::timeout(self.call_timeout, resp.text())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default();
                if status.is_client_error() && says_framework_removed(&body) {
                    return Err(MesosError::FrameworkRemoved(body));
                }
                return Err(MesosError::Status {
                    url: url(),
                    status,
                    body,
                });
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
        Ok(EventStream::spawn(EventReader {
            body: Box::pin(resp.bytes_stream()),
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
        let get = async {
            let resp = self
                .http
                .get(&url)
                .header(ACCEPT, "application/json")
                .send()
                .await?;
            let status = resp.status();
            let body = resp.bytes().await?;
            Ok::<_, reqwest::Error>((status, body))
        };
        let (status, body) = match tokio::time::timeout(self.call_timeout, get).await {
            Err(_) => return Err(MesosError::Timeout(url)),
            Ok(Err(source)) => return Err(MesosError::Http { url, source }),
            Ok(Ok(answer)) => answer,
        };
        if !status.is_success() {
            return Err(MesosError::Status {
                url,
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        serde_json::from_slice(&body).map_err(|e| MesosError::BadState {
            url,
            why: e.to_string(),
        })
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

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

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
        c.follow(c.endpoint().as_str(), Some(&loc)).unwrap();
        assert_eq!(c.leader(), "http://10.0.0.2:5050");
        assert!(c.follow(c.endpoint().as_str(), None).is_err());
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
        let chunks: Vec<reqwest::Result<Bytes>> = data
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
