//! The web dashboard: one page at `/` of the operator API (its script and style served
//! beside it, all compiled into the binary), kept live by `GET /v1/events`, a stream of
//! server-sent events each carrying the whole [`DashboardView`].
//!
//! An event is sent when the stream opens, whenever the scheduler publishes a changed
//! snapshot ([`ServiceControl::changes`]; at most one per [`MIN_GAP`], later changes
//! shown together), and every [`REFRESH`] in any case (the offer
//! diagnostics change without a snapshot). An event is `event: dashboard` with the view
//! as JSON, or `event: error` with `{"message"}` when the view cannot be built.
//! The page sends the API token (asked for in the page) as every client does, so its
//! actions and, with a read token, its event stream are authorized like any request.

mod view;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::stream::{BoxStream, Stream, StreamExt};
use serde_json::json;
use tokio::sync::watch;
use tokio::time::Instant;

pub use view::{DashboardView, PodView, TargetView, TaskTypeView};

use crate::api::{ControlError, ServiceControl};

/// The longest time between two events of the stream.
pub const REFRESH: Duration = Duration::from_secs(5);

/// The shortest time between two events of the stream: building a view reads every pod,
/// so changes that come faster are shown together in the next view.
pub const MIN_GAP: Duration = Duration::from_millis(250);

/// The route of the event stream.
pub const EVENTS_PATH: &str = "/v1/events";

/// The page, its script and its style: `(path, content type, content)`. They hold no
/// data of the service, so they are served without a token.
const ASSETS: [(&str, &str, &str); 3] = [
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("dashboard/index.html"),
    ),
    (
        "/dashboard.js",
        "text/javascript; charset=utf-8",
        include_str!("dashboard/dashboard.js"),
    ),
    (
        "/dashboard.css",
        "text/css; charset=utf-8",
        include_str!("dashboard/dashboard.css"),
    ),
];

/// Whether `path` is one of the dashboard's static assets (served without a token).
pub(super) fn is_asset(path: &str) -> bool {
    ASSETS.iter().any(|(asset, _, _)| *asset == path)
}

/// The dashboard's routes: its assets and the event stream.
pub(super) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<dyn ServiceControl>: FromRef<S>,
{
    let mut router = Router::new().route(EVENTS_PATH, get(events));
    for (path, content_type, content) in ASSETS {
        router = router.route(path, get(move || asset(content_type, content)));
    }
    router
}

async fn asset(content_type: &'static str, content: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        content,
    )
        .into_response()
}

/// Tells the event streams that the server shuts down: an open stream would otherwise
/// hold a graceful shutdown, which waits for every response to end, forever.
#[derive(Debug, Clone)]
pub(super) struct Closing(watch::Receiver<bool>);

impl Closing {
    /// A signal and its sender: sending `true` (or dropping the sender) closes the streams.
    pub(super) fn new() -> (watch::Sender<bool>, Closing) {
        let (tx, rx) = watch::channel(false);
        (tx, Closing(rx))
    }
}

/// Resolves once `closing` says the server shuts down; never without a signal.
async fn closed(closing: &mut Option<Closing>) {
    match closing {
        // An error means the sender is gone: the server has stopped too.
        Some(Closing(rx)) => drop(rx.wait_for(|closing| *closing).await),
        None => std::future::pending().await,
    }
}

/// A stream of server-sent events: `event: dashboard` with the whole view as JSON when
/// the stream opens, on every change and at least every 5 seconds; `event: error` with
/// `{"message"}` when the view cannot be built.
#[utoipa::path(get, path = "/v1/events", tag = "dashboard",
    responses(
        (status = 200, description = "Server-sent events, until the scheduler stops",
            content_type = "text/event-stream", body = String),
    ))]
pub(super) async fn events(
    State(control): State<Arc<dyn ServiceControl>>,
    closing: Option<Extension<Closing>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let closing = closing.map(|Extension(c)| c);
    Sse::new(view_events(control, closing)).keep_alive(KeepAlive::default())
}

/// What the stream waits for before its next event.
struct Feed {
    control: Arc<dyn ServiceControl>,
    changes: BoxStream<'static, ()>,
    closing: Option<Closing>,
    /// When the last view was sent; `None` before the first.
    sent: Option<Instant>,
}

/// The views of the service behind `control`: one at once, then one per change or
/// [`REFRESH`]; the stream ends when the service's changes end (it stopped) or the
/// server shuts down.
fn view_events(
    control: Arc<dyn ServiceControl>,
    closing: Option<Closing>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let feed = Feed {
        changes: control.changes(),
        control,
        closing,
        sent: None,
    };
    futures::stream::unfold(feed, |mut feed| async move {
        if let Some(sent) = feed.sent {
            tokio::select! {
                change = feed.changes.next() => change?,
                () = closed(&mut feed.closing) => return None,
                () = tokio::time::sleep(REFRESH) => {}
            }
            tokio::select! {
                () = tokio::time::sleep_until(sent + MIN_GAP) => {}
                () = closed(&mut feed.closing) => return None,
            }
        }
        feed.sent = Some(Instant::now());
        let event = view_event(&*feed.control).await;
        Some((Ok(event), feed))
    })
}

/// The event carrying the current view, or the error that prevented building it.
async fn view_event(control: &dyn ServiceControl) -> Event {
    let built = view::build(control)
        .await
        .and_then(|v| serde_json::to_string(&v).map_err(|e| ControlError::internal(e.to_string())));
    match built {
        Ok(data) => Event::default().event("dashboard").data(data),
        Err(e) => Event::default()
            .event("error")
            .data(json!({ "message": e.to_string() }).to_string()),
    }
}
