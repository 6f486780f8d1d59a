//! The event loop against a scripted master on loopback: when it subscribes again after
//! losing the master, what it stores before subscribing, and what it does with a state
//! that holds nothing while the cluster holds the service.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::StreamExt;
use prost::Message;
use stead_proto::http::STREAM_ID_HEADER;
use stead_proto::recordio::{self, APPLICATION_PROTOBUF};
use stead_proto::scheduler::{Call, Event, call, event};
use stead_proto::v1::FrameworkId;
use stead_state::{FrameworkStore, MemPersister, Persister};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::run;
use crate::mesos::MesosClient;
use crate::scheduler::Options;
use crate::scheduler::clock::SystemClock;
use crate::scheduler::core::tests::core_on;
use crate::scheduler::reconnect::PROBE_EVERY;

/// How the scripted master answers a SUBSCRIBE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// 503, as a master that is not ready.
    Unavailable,
    /// SUBSCRIBED, then the stream ends.
    SubscribedThenDrop,
    /// SUBSCRIBED, and the stream stays open.
    Subscribed,
}

/// One SUBSCRIBE the master received.
#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    /// The framework id it carried.
    id: Option<String>,
    /// The framework id stored in the scheduler's state when it arrived.
    stored: Option<String>,
}

/// The scripted master's state.
struct Script {
    answer: Mutex<Answer>,
    /// What `/master/state` answers.
    cluster: Mutex<serde_json::Value>,
    subscribes: Mutex<Vec<Seen>>,
    changed: Notify,
    frameworks: FrameworkStore,
}

impl Script {
    fn set(&self, answer: Answer) {
        *self.answer.lock().unwrap_or_else(|e| e.into_inner()) = answer;
    }

    fn seen(&self) -> Vec<Seen> {
        self.subscribes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits until `n` SUBSCRIBEs arrived, `within` at most.
    async fn wait_for(&self, n: usize, within: Duration) -> Vec<Seen> {
        let deadline = Instant::now() + within;
        loop {
            let notified = self.changed.notified();
            let seen = self.seen();
            if seen.len() >= n {
                return seen;
            }
            assert!(
                tokio::time::timeout_at(deadline, notified).await.is_ok(),
                "{n} SUBSCRIBEs not received within {within:?}; got {}",
                seen.len()
            );
        }
    }
}

fn protobuf(status: StatusCode, body: Body) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, APPLICATION_PROTOBUF),
            (
                header::HeaderName::from_static("mesos-stream-id"),
                "stream-1",
            ),
        ],
        body,
    )
        .into_response()
}

async fn scheduler_api(State(script): State<Arc<Script>>, body: Bytes) -> Response {
    let Ok(call) = Call::decode(body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if call.r#type != Some(call::Type::Subscribe as i32) {
        return StatusCode::ACCEPTED.into_response();
    }
    // Decided on arrival: a test that changes the answer once it saw this SUBSCRIBE
    // changes the next one's.
    let answer = *script.answer.lock().unwrap_or_else(|e| e.into_inner());
    let id = call.framework_id.map(|f| f.value);
    let stored = script
        .frameworks
        .fetch_framework_id()
        .ok()
        .flatten()
        .map(|f| f.value);
    script
        .subscribes
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Seen {
            at: Instant::now(),
            id: id.clone(),
            stored,
        });
    script.changed.notify_waiters();
    let subscribed = Event {
        r#type: Some(event::Type::Subscribed as i32),
        subscribed: Some(event::Subscribed {
            framework_id: FrameworkId {
                value: id.unwrap_or_else(|| "assigned-by-the-master".into()),
            },
            heartbeat_interval_seconds: Some(15.0),
            ..Default::default()
        }),
        ..Event::default()
    };
    let mut record = Vec::new();
    recordio::encode_message(&subscribed, &mut record);
    let first = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(record))]);
    match answer {
        Answer::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response(),
        Answer::SubscribedThenDrop => protobuf(StatusCode::OK, Body::from_stream(first)),
        Answer::Subscribed => protobuf(
            StatusCode::OK,
            Body::from_stream(first.chain(futures::stream::pending())),
        ),
    }
}

async fn master_state(State(script): State<Arc<Script>>) -> Response {
    let state = script
        .cluster
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    axum::Json(state).into_response()
}

/// A scripted master on loopback answering SUBSCRIBE as `answer` says, and its URL.
async fn scripted_master(answer: Answer, persister: Arc<dyn Persister>) -> (Arc<Script>, String) {
    let script = Arc::new(Script {
        answer: Mutex::new(answer),
        cluster: Mutex::new(serde_json::json!({"frameworks": [], "slaves": []})),
        subscribes: Mutex::new(Vec::new()),
        changed: Notify::new(),
        frameworks: FrameworkStore::new(persister),
    });
    assert_eq!(STREAM_ID_HEADER.to_ascii_lowercase(), "mesos-stream-id");
    let app = Router::new()
        .route(stead_proto::http::SCHEDULER_PATH, post(scheduler_api))
        .route("/master/state", get(master_state))
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (script, url)
}

/// A running event loop, and how to stop it.
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<crate::Result<()>>,
    _commands: mpsc::Sender<super::Command>,
}

impl Running {
    async fn stop(self) -> crate::Result<()> {
        let _ = self.stop.send(());
        self.task.await.expect("the event loop ends")
    }
}

/// Starts the event loop of a one-instance service on `persister`, against `url`.
fn start(url: &str, persister: Arc<dyn Persister>, opts: Options) -> Running {
    let client = Arc::new(MesosClient::new(url, Duration::from_secs(5)).expect("a master URL"));
    let spec = crate::offer::operations::test_spec(1, 1.0, "./data");
    let core = core_on(opts, spec, persister, client.clone(), Arc::new(SystemClock));
    let (commands, command_rx) = mpsc::channel(1);
    let (stop, stop_rx) = oneshot::channel();
    let task = tokio::spawn(run(core, client, command_rx, stop_rx, None, None));
    Running {
        stop,
        task,
        _commands: commands,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_that_drops_every_subscription_is_subscribed_to_ever_more_slowly() {
    let persister: Arc<dyn Persister> = Arc::new(MemPersister::new());
    let (script, url) = scripted_master(Answer::SubscribedThenDrop, persister.clone()).await;
    let running = start(&url, persister, Options::default());
    let seen = script.wait_for(5, Duration::from_secs(30)).await;
    running.stop().await.expect("stopped cleanly");
    // Delays of at least half of 0.5 s, 1 s, 2 s and 4 s: no reset at each SUBSCRIBED
    // (which retried about 2.6 times a second).
    let span = seen[4].at - seen[0].at;
    assert!(
        span >= Duration::from_millis(3_700),
        "5 SUBSCRIBEs within {span:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_that_answers_again_is_subscribed_to_within_a_second() {
    let persister: Arc<dyn Persister> = Arc::new(MemPersister::new());
    let (script, url) = scripted_master(Answer::Unavailable, persister.clone()).await;
    let running = start(&url, persister, Options::default());
    // The master stays unavailable for 7 attempts: it is probed at least once a second,
    // however long it has been away.
    let seen = script.wait_for(7, Duration::from_secs(20)).await;
    // Scheduling slack on a busy machine.
    let slack = Duration::from_millis(300);
    for pair in seen.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap <= PROBE_EVERY + slack, "{gap:?} between two probes");
    }
    script.set(Answer::Subscribed);
    let back = Instant::now();
    let seen = script
        .wait_for(seen.len() + 1, Duration::from_secs(10))
        .await;
    let after = seen.last().expect("a SUBSCRIBE").at - back;
    assert!(
        after <= PROBE_EVERY + slack,
        "subscribed {after:?} after the master answered"
    );
    running.stop().await.expect("stopped cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_framework_id_is_stored_before_the_first_subscribe() {
    let persister: Arc<dyn Persister> = Arc::new(MemPersister::new());
    let (script, url) = scripted_master(Answer::Subscribed, persister.clone()).await;
    let running = start(&url, persister.clone(), Options::default());
    let first = script.wait_for(1, Duration::from_secs(10)).await[0].clone();
    // Killed right after the first SUBSCRIBE: the next scheduler comes back as the same
    // framework.
    running.stop().await.expect("stopped cleanly");
    let id = first
        .id
        .expect("the first SUBSCRIBE carries a framework id");
    assert_eq!(first.stored.as_deref(), Some(id.as_str()), "stored before");
    let running = start(&url, persister, Options::default());
    let again = script.wait_for(2, Duration::from_secs(10)).await[1].clone();
    running.stop().await.expect("stopped cleanly");
    assert_eq!(again.id, Some(id));
}

/// What `/master/state` says of a cluster holding the test service (`spec(1)`).
fn cluster_holding_the_service() -> serde_json::Value {
    let spec = crate::offer::operations::test_spec(1, 1.0, "./data");
    serde_json::json!({
        "frameworks": [{"id": "fw-first", "name": spec.name, "roles": [spec.role], "active": true}],
        "slaves": [],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_state_is_refused_when_the_cluster_holds_the_service() {
    let persister: Arc<dyn Persister> = Arc::new(MemPersister::new());
    let (script, url) = scripted_master(Answer::Subscribed, persister.clone()).await;
    *script.cluster.lock().unwrap_or_else(|e| e.into_inner()) = cluster_holding_the_service();
    let running = start(&url, persister.clone(), Options::default());
    let err = tokio::time::timeout(Duration::from_secs(10), running.task)
        .await
        .expect("the scheduler stops")
        .expect("the event loop ends")
        .expect_err("refused");
    let crate::Error::EmptyState(refused) = &err else {
        panic!("another error: {err}");
    };
    assert_eq!(refused.found.frameworks, vec!["fw-first".to_string()]);
    let text = err.to_string();
    assert!(
        text.contains("stead state import") && text.contains("--adopt"),
        "{text}"
    );
    assert!(script.seen().is_empty(), "never subscribed");
    assert!(
        FrameworkStore::new(persister)
            .fetch_framework_id()
            .unwrap()
            .is_none(),
        "nothing stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adopting_scheduler_subscribes_as_the_services_framework() {
    let persister: Arc<dyn Persister> = Arc::new(MemPersister::new());
    let (script, url) = scripted_master(Answer::Subscribed, persister.clone()).await;
    *script.cluster.lock().unwrap_or_else(|e| e.into_inner()) = cluster_holding_the_service();
    let opts = Options {
        adopt: true,
        ..Options::default()
    };
    let running = start(&url, persister, opts);
    let first = script.wait_for(1, Duration::from_secs(10)).await[0].clone();
    running.stop().await.expect("stopped cleanly");
    assert_eq!(first.id.as_deref(), Some("fw-first"));
}
