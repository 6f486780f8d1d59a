//! The axum router of the operator API and the functions that serve it.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRef, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use tokio::net::TcpListener;
use uuid::Uuid;

use stead_proto::server::ServerLimits;
use stead_state::StateError;

pub(super) mod endpoints;

use super::{dashboard, openapi, prometheus};
use crate::api::redact::redact_environment;
use crate::api::{
    ConfigurationView, ControlError, ErrorBody, FrameworkIdView, Health, Liveness, LogChunk,
    LogRequest, LogStream, OffersDebug, PlanCommand, PlanCommandAnswer, PodCommand,
    PodCommandAnswer, PodInfo, PodSummary, ServiceControl, UninstallAnswer, plan_errors,
};
use crate::plan::{PlanSnapshot, Status};

/// The address the API binds to unless told otherwise: loopback only.
pub const DEFAULT_BIND: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The environment variable holding the API token (for the scheduler and the CLI).
pub const TOKEN_ENV: &str = "STEAD_API_TOKEN";

/// The environment variable holding the API's read token (for the scheduler and the CLI).
pub const READ_TOKEN_ENV: &str = "STEAD_API_READ_TOKEN";

/// The routes answered without a token whatever the options, for supervisors' probes:
/// `/v1/health` and everything under it.
const OPEN_PREFIX: &str = "/v1/health";

/// The query parameter that confirms a destructive request: `?confirm=<service name>` on
/// `POST /v1/uninstall`, `?confirm=<instance>` on `POST /v1/pods/<instance>/replace`.
pub const CONFIRM_PARAM: &str = "confirm";

/// How the API is served.
#[derive(Debug, Clone, Default)]
pub struct ApiOptions {
    /// When set, every mutating request needs `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// When set, every reading request but the health probes needs
    /// `Authorization: Bearer <read token>` (the mutating token is taken too).
    pub read_token: Option<String>,
    /// The bounds on slow and idle clients.
    pub limits: ServerLimits,
}

/// Command-line flags of a scheduler's API (flatten into the scheduler's own flags).
#[derive(Debug, Clone, clap::Args)]
pub struct ApiArgs {
    /// The address the operator API listens on.
    #[arg(long, env = "STEAD_BIND", value_name = "ADDR", default_value_t = DEFAULT_BIND)]
    pub bind: IpAddr,
    /// The token mutating API requests must carry as `Authorization: Bearer <token>`.
    #[arg(long, env = TOKEN_ENV, value_name = "TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,
    /// The token reading API requests must carry (all but `/v1/health` and the dashboard's
    /// page and assets); the API token
    /// is taken for reads too. Without it, reads are open.
    #[arg(long, env = READ_TOKEN_ENV, value_name = "TOKEN", hide_env_values = true)]
    pub api_read_token: Option<String>,
}

impl Default for ApiArgs {
    fn default() -> ApiArgs {
        ApiArgs {
            bind: DEFAULT_BIND,
            api_token: None,
            api_read_token: None,
        }
    }
}

impl ApiArgs {
    /// The API options these flags describe (an empty token counts as none).
    pub fn options(&self) -> ApiOptions {
        ApiOptions {
            token: self.api_token.clone().filter(|t| !t.is_empty()),
            read_token: self.api_read_token.clone().filter(|t| !t.is_empty()),
            limits: ServerLimits::default(),
        }
    }

    /// The socket address to listen on for `port`.
    pub fn socket_addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.bind, port)
    }
}

/// Serves the API on `listener` until the process ends, within `options.limits`.
pub async fn serve(
    listener: TcpListener,
    control: Arc<dyn ServiceControl>,
    options: ApiOptions,
) -> std::io::Result<()> {
    serve_with_shutdown(listener, control, options, std::future::pending()).await
}

/// Serves the API on `listener` until `shutdown` resolves, then finishes open requests.
/// A client must send each request's headers within the header-read timeout of
/// `options.limits`, and at most its number of connections are open at once.
pub async fn serve_with_shutdown(
    listener: TcpListener,
    control: Arc<dyn ServiceControl>,
    options: ApiOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = options.limits;
    let (close, closing) = dashboard::Closing::new();
    let router = router(control, options).layer(axum::Extension(closing));
    let shutdown = async move {
        shutdown.await;
        // Open event streams end, so that the open requests can finish.
        let _ = close.send(true);
    };
    stead_proto::server::serve(listener, router, limits, shutdown).await;
    Ok(())
}

/// What every handler reaches: the scheduler and the tokens.
#[derive(Clone)]
pub(super) struct Api {
    control: Arc<dyn ServiceControl>,
    token: Option<Arc<str>>,
    read_token: Option<Arc<str>>,
}

impl FromRef<Api> for Arc<dyn ServiceControl> {
    fn from_ref(api: &Api) -> Arc<dyn ServiceControl> {
        api.control.clone()
    }
}

/// The API's routes, for embedding into another server or for tests.
pub fn router(control: Arc<dyn ServiceControl>, options: ApiOptions) -> Router {
    let api = Api {
        control,
        token: options.token.filter(|t| !t.is_empty()).map(Arc::from),
        read_token: options.read_token.filter(|t| !t.is_empty()).map(Arc::from),
    };
    Router::new()
        .route("/v1/plans", get(list_plans))
        .route("/v1/plans/{plan}", get(show_plan))
        .route("/v1/plans/{plan}/{command}", post(plan_command))
        .route("/v1/pods", get(list_pods))
        .route("/v1/pods/{instance}/info", get(pod_info))
        .route("/v1/pods/{instance}/logs", get(pod_logs))
        .route("/v1/pods/{instance}/{command}", post(pod_command))
        .route("/v1/configurations", get(list_configurations))
        .route("/v1/configurations/target", get(target_configuration))
        .route("/v1/configurations/{id}", get(configuration))
        .route("/v1/state/frameworkId", get(framework_id))
        .route("/v1/health", get(health))
        .route("/v1/health/live", get(live))
        .route("/v1/metrics", get(metrics))
        .route("/v1/debug/offers", get(debug_offers))
        .route("/v1/uninstall", post(uninstall))
        .route(openapi::PATH, get(openapi::serve))
        .merge(dashboard::routes())
        .merge(endpoints::routes())
        .fallback(|| async { ApiError::not_found("route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this route".into(),
            )
        })
        .layer(middleware::from_fn_with_state(api.clone(), authorize))
        .with_state(api)
}

/// An error answer: a status code and a JSON body `{"error", "message"}`.
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: String) -> ApiError {
        ApiError {
            status,
            kind,
            message,
        }
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::from(ControlError::bad_request(message))
    }

    fn not_found(what: impl Into<String>) -> ApiError {
        ApiError::from(ControlError::not_found(what))
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> ApiError {
        let kind = match &e {
            ControlError::NotFound { .. } => "not_found",
            ControlError::BadRequest { .. } => "bad_request",
            ControlError::Conflict { .. } => "conflict",
            ControlError::Unavailable { .. } => "unavailable",
            ControlError::Internal { .. } => "internal",
        };
        // Invariant: every code `status_code` returns is a valid HTTP status.
        let status = StatusCode::from_u16(e.status_code()).expect("valid status code");
        ApiError::new(status, kind, e.to_string())
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> ApiError {
        ApiError::bad_request(format!("malformed path: {}", e.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> ApiError {
        ApiError::bad_request(format!("malformed query: {}", e.body_text()))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.kind.to_string(),
            message: self.message,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

pub(super) type ApiResult<T> = Result<T, ApiError>;

fn ok<T: Serialize>(value: T) -> Response {
    axum::Json(value).into_response()
}

async fn authorize(State(api): State<Api>, request: Request, next: Next) -> Response {
    let read_only = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let headers = request.headers();
    let given =
        |token: &Option<Arc<str>>| token.as_ref().is_some_and(|t| bearer_matches(headers, t));
    let refusal = if !read_only {
        (api.token.is_some() && !given(&api.token)).then_some("the API token")
    } else if api.read_token.is_some()
        && !is_open(request.uri().path())
        && !dashboard::is_asset(request.uri().path())
    {
        (!given(&api.read_token) && !given(&api.token)).then_some("the API read token")
    } else {
        None
    };
    if let Some(which) = refusal {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            format!("this request needs `Authorization: Bearer <token>` with {which}"),
        )
        .into_response();
    }
    if !read_only && api.token.is_none() {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| *peer);
        if let Some(why) = remote_mutation_refusal(peer) {
            return ApiError::new(StatusCode::FORBIDDEN, "forbidden", why).into_response();
        }
    }
    next.run(request).await
}

/// Why a mutating request from `peer` is refused by an API without a token: only a
/// loopback peer may change anything then (an unknown peer may not either). None when
/// it may.
pub fn remote_mutation_refusal(peer: Option<SocketAddr>) -> Option<String> {
    match peer {
        Some(peer) if peer.ip().to_canonical().is_loopback() => None,
        Some(peer) => Some(format!(
            "mutating requests from {} are refused: without an API token (--api-token) \
             only loopback clients may change anything",
            peer.ip()
        )),
        None => Some(
            "mutating requests from an unknown peer are refused: without an API token \
             (--api-token) only loopback clients may change anything"
                .to_string(),
        ),
    }
}

/// Checks a destructive request's confirmation: `query` must hold exactly
/// `confirm=<expected>` (the name of what `action` destroys).
fn confirmed(query: &BTreeMap<String, String>, action: &str, expected: &str) -> ApiResult<()> {
    if let Some(key) = query.keys().find(|k| *k != CONFIRM_PARAM) {
        return Err(ApiError::bad_request(format!(
            "unexpected query parameter {key:?}"
        )));
    }
    match query.get(CONFIRM_PARAM) {
        Some(given) if given == expected => Ok(()),
        Some(given) => Err(ApiError::bad_request(format!(
            "{action} is irreversible: ?{CONFIRM_PARAM}={given:?} does not name {expected:?}; \
             confirm with ?{CONFIRM_PARAM}={expected}"
        ))),
        None => Err(ApiError::bad_request(format!(
            "{action} is irreversible: confirm with ?{CONFIRM_PARAM}={expected}"
        ))),
    }
}

/// Whether `path` is a probe answered without a token.
pub(super) fn is_open(path: &str) -> bool {
    path.strip_prefix(OPEN_PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// A path parameter that names a stored thing (`what`, e.g. `configuration id`), checked
/// as a state node name: a bad one is a 400 saying what is wrong with it.
fn checked_name(what: &str, name: String) -> ApiResult<String> {
    stead_state::path::check_name(&name).map_err(|e| match e {
        StateError::InvalidPath { reason, .. } => {
            ApiError::bad_request(format!("{what} {name:?} is not valid: {reason}"))
        }
        other => ApiError::bad_request(format!("{what} {name:?} is not valid: {other}")),
    })?;
    Ok(name)
}

/// `value` as JSON with secret-looking environment values hidden.
fn redacted<T: Serialize>(value: &T) -> ApiResult<Response> {
    let mut json = serde_json::to_value(value)
        .map_err(|e| ApiError::from(ControlError::internal(e.to_string())))?;
    redact_environment(&mut json);
    Ok(ok(json))
}

fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, given)) = value.trim().split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer")
        && constant_time_eq(given.trim().as_bytes(), token.as_bytes())
}

/// Compares without an early exit so the time taken does not reveal the common prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn find_plan(api: &Api, name: &str) -> ApiResult<PlanSnapshot> {
    api.control
        .plans()
        .await?
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| ApiError::not_found(format!("plan {name:?}")))
}

/// The plans' names.
#[utoipa::path(get, path = "/v1/plans", tag = "plans",
    responses((status = 200, description = "The plans' names, deploy first", body = Vec<String>)))]
pub(super) async fn list_plans(State(api): State<Api>) -> ApiResult<Response> {
    let names: Vec<String> = api
        .control
        .plans()
        .await?
        .into_iter()
        .map(|p| p.name)
        .collect();
    Ok(ok(names))
}

/// 200 when complete, 417 with errors, 202 otherwise.
fn plan_status_code(plan: &PlanSnapshot) -> StatusCode {
    if plan.status == Status::Error || !plan_errors(plan).is_empty() {
        StatusCode::EXPECTATION_FAILED
    } else if plan.status.is_complete() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    }
}

/// A plan with its phases and steps.
#[utoipa::path(get, path = "/v1/plans/{plan}", tag = "plans",
    params(("plan" = String, Path, description = "The plan's name (e.g. `deploy`)")),
    responses(
        (status = 200, description = "The plan, complete", body = PlanSnapshot),
        (status = 202, description = "The plan, in progress", body = PlanSnapshot),
        (status = 417, description = "The plan, with errors", body = PlanSnapshot),
        (status = 404, description = "No such plan", body = ErrorBody),
    ))]
pub(super) async fn show_plan(
    State(api): State<Api>,
    plan: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let Path(name) = plan?;
    let plan = find_plan(&api, &name).await?;
    Ok((plan_status_code(&plan), axum::Json(plan)).into_response())
}

/// The query of a plan command, checked: only `phase` and `step`, each non-empty.
fn target_query(
    query: &BTreeMap<String, String>,
    allow_step: bool,
) -> ApiResult<(Option<&str>, Option<&str>)> {
    for (key, value) in query {
        let allowed = key == "phase" || (allow_step && key == "step");
        if !allowed {
            return Err(ApiError::bad_request(format!(
                "unexpected query parameter {key:?}"
            )));
        }
        if value.trim().is_empty() {
            return Err(ApiError::bad_request(format!(
                "query parameter {key:?} is empty"
            )));
        }
    }
    Ok((
        query.get("phase").map(String::as_str),
        query.get("step").map(String::as_str),
    ))
}

/// Whether `given` names `name` or is the text of `id`.
fn names(given: &str, name: &str, id: Uuid) -> bool {
    given == name || Uuid::parse_str(given).is_ok_and(|g| g == id)
}

/// Resolves `phase` and `step` (names or ids) to ids within `plan`.
fn resolve(
    plan: &PlanSnapshot,
    phase: Option<&str>,
    step: Option<&str>,
) -> ApiResult<(Option<Uuid>, Option<Uuid>)> {
    let phase = match phase {
        None => None,
        Some(given) => Some(
            plan.phases
                .iter()
                .find(|p| names(given, &p.name, p.id))
                .ok_or_else(|| {
                    ApiError::not_found(format!("phase {given:?} in plan {:?}", plan.name))
                })?,
        ),
    };
    let Some(given) = step else {
        return Ok((phase.map(|p| p.id), None));
    };
    let mut found = plan
        .phases
        .iter()
        .filter(|p| phase.is_none_or(|wanted| wanted.id == p.id))
        .flat_map(|p| p.steps.iter().map(move |s| (p.id, s)))
        .filter(|(_, s)| names(given, &s.name, s.id));
    let where_ = match phase {
        Some(p) => format!("phase {:?} of plan {:?}", p.name, plan.name),
        None => format!("plan {:?}", plan.name),
    };
    let (phase_id, found_step) = found
        .next()
        .ok_or_else(|| ApiError::not_found(format!("step {given:?} in {where_}")))?;
    if found.next().is_some() {
        return Err(ApiError::bad_request(format!(
            "step {given:?} is in several phases of plan {:?}; name the phase with ?phase=",
            plan.name
        )));
    }
    Ok((Some(phase_id), Some(found_step.id)))
}

/// The commands on a plan, as named in `POST /v1/plans/{plan}/{command}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub(super) enum PlanVerb {
    /// Stop starting new work (`?phase=` optional).
    Interrupt,
    /// Resume (`?phase=` optional).
    Continue,
    /// Do the work again (`?phase=&step=` optional).
    Restart,
    /// Mark complete without doing it (`?phase=&step=` optional).
    ForceComplete,
}

impl PlanVerb {
    /// Every command.
    pub(super) const ALL: [PlanVerb; 4] = [
        PlanVerb::Interrupt,
        PlanVerb::Continue,
        PlanVerb::Restart,
        PlanVerb::ForceComplete,
    ];

    /// The command's name in a URL.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            PlanVerb::Interrupt => "interrupt",
            PlanVerb::Continue => "continue",
            PlanVerb::Restart => "restart",
            PlanVerb::ForceComplete => "forceComplete",
        }
    }

    /// The command named `name` in a URL, if any.
    pub(super) fn parse(name: &str) -> Option<PlanVerb> {
        PlanVerb::ALL.into_iter().find(|v| v.as_str() == name)
    }

    /// Whether the command takes a step (`?step=`) besides a phase.
    pub(super) fn takes_step(self) -> bool {
        matches!(self, PlanVerb::Restart | PlanVerb::ForceComplete)
    }
}

/// An operator command on a plan, a phase or a step.
#[utoipa::path(post, path = "/v1/plans/{plan}/{command}", tag = "plans",
    params(
        ("plan" = String, Path, description = "The plan's name"),
        ("command" = PlanVerb, Path, description = "`interrupt` and `continue` take `phase`; `restart` and `forceComplete` take `phase` and `step`"),
        ("phase" = Option<String>, Query, description = "The phase (name or id); the whole plan when omitted", min_length = 1, pattern = r"\S"),
        ("step" = Option<String>, Query, description = "The step (name or id); the whole phase when omitted (`restart` and `forceComplete` only)", min_length = 1, pattern = r"\S"),
    ),
    responses(
        (status = 200, description = "Applied", body = PlanCommandAnswer),
        (status = 400, description = "A bad query (an unknown or empty parameter, a step named in several phases)", body = ErrorBody),
        (status = 404, description = "No such plan, command, phase or step", body = ErrorBody),
        (status = 503, description = "The scheduler has stopped", body = ErrorBody),
    ))]
pub(super) async fn plan_command(
    State(api): State<Api>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<BTreeMap<String, String>>, QueryRejection>,
) -> ApiResult<Response> {
    let Path((name, command)) = path?;
    let Query(query) = query?;
    let verb = PlanVerb::parse(&command)
        .ok_or_else(|| ApiError::not_found(format!("plan command {command:?}")))?;
    let (phase, step) = target_query(&query, verb.takes_step())?;
    let plan = find_plan(&api, &name).await?;
    let (phase, step) = resolve(&plan, phase, step)?;
    let command = match verb {
        PlanVerb::Interrupt => PlanCommand::Interrupt { phase },
        PlanVerb::Continue => PlanCommand::Continue { phase },
        PlanVerb::Restart => PlanCommand::Restart { phase, step },
        PlanVerb::ForceComplete => PlanCommand::ForceComplete { phase, step },
    };
    api.control.plan_command(&name, command).await?;
    // The scheduler publishes a command's change before it answers.
    let generation = find_plan(&api, &name).await?.generation;
    Ok(ok(PlanCommandAnswer {
        plan: name,
        command,
        generation,
    }))
}

/// The pod instances.
#[utoipa::path(get, path = "/v1/pods", tag = "pods",
    responses((status = 200, description = "Every instance", body = Vec<PodSummary>)))]
pub(super) async fn list_pods(State(api): State<Api>) -> ApiResult<Response> {
    Ok(ok(api.control.pods().await?))
}

/// Everything known about one instance.
#[utoipa::path(get, path = "/v1/pods/{instance}/info", tag = "pods",
    params(("instance" = String, Path, description = "The instance (e.g. `data-2`)")),
    responses(
        (status = 200, description = "The instance", body = PodInfo),
        (status = 404, description = "No such instance", body = ErrorBody),
    ))]
pub(super) async fn pod_info(
    State(api): State<Api>,
    instance: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let Path(instance) = instance?;
    let instance = checked_name("pod instance", instance)?;
    redacted(&api.control.pod_info(&instance).await?)
}

/// The query of `GET /v1/pods/{instance}/logs`, checked: `stream` (`stdout`, the
/// default, or `stderr`), `offset` (bytes, default 0; -1 answers the size), `length`
/// and `previous` (`true` or `false`).
fn log_request(query: &BTreeMap<String, String>) -> ApiResult<LogRequest> {
    let mut request = LogRequest::default();
    for (key, value) in query {
        let bad = |what: &str| ApiError::bad_request(format!("{key}={value:?} is not {what}"));
        match key.as_str() {
            "stream" => {
                request.stream = LogStream::parse(value).ok_or_else(|| bad("stdout or stderr"))?;
            }
            "offset" => {
                request.offset = value
                    .parse()
                    .ok()
                    .filter(|o| *o >= -1)
                    .ok_or_else(|| bad("a byte offset (or -1 for the size)"))?;
            }
            "length" => {
                request.length = Some(value.parse().map_err(|_| bad("a byte count"))?);
            }
            "previous" => {
                request.previous = value.parse().map_err(|_| bad("true or false"))?;
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "unexpected query parameter {key:?}"
                )));
            }
        }
    }
    Ok(request)
}

/// A part of a task's output: the current or previous run's stdout or stderr.
#[utoipa::path(get, path = "/v1/pods/{instance}/logs", tag = "pods",
    params(
        ("instance" = String, Path, description = "The instance"),
        ("stream" = Option<LogStream>, Query, description = "`stdout` (the default) or `stderr`"),
        ("offset" = Option<i64>, Query, description = "Byte offset (default 0; -1 answers the size)", minimum = -1),
        ("length" = Option<u64>, Query, description = "At most this many bytes"),
        ("previous" = Option<bool>, Query, description = "The previous run's output"),
    ),
    responses(
        (status = 200, description = "The part read", body = LogChunk),
        (status = 400, description = "A bad query", body = ErrorBody),
        (status = 404, description = "No such instance, task or previous run", body = ErrorBody),
        (status = 503, description = "The master or agent cannot be reached", body = ErrorBody),
    ))]
pub(super) async fn pod_logs(
    State(api): State<Api>,
    instance: Result<Path<String>, PathRejection>,
    query: Result<Query<BTreeMap<String, String>>, QueryRejection>,
) -> ApiResult<Response> {
    let Path(instance) = instance?;
    let instance = checked_name("pod instance", instance)?;
    let Query(query) = query?;
    let request = log_request(&query)?;
    Ok(ok(api.control.logs(&instance, request).await?))
}

/// Restarts (relaunch in place) or replaces (place anew, destroying the old volume) an
/// instance.
#[utoipa::path(post, path = "/v1/pods/{instance}/{command}", tag = "pods",
    params(
        ("instance" = String, Path, description = "The instance"),
        ("command" = PodCommand, Path, description = "What to do"),
        ("confirm" = Option<String>, Query, description = "Replace only: the instance's name, confirming that its volume and data are destroyed"),
    ),
    responses(
        (status = 200, description = "Stored and shown in the plans; the plan work that carries it out", body = PodCommandAnswer),
        (status = 400, description = "A replace without its confirmation", body = ErrorBody),
        (status = 404, description = "No such instance or command", body = ErrorBody),
        (status = 503, description = "The scheduler has stopped", body = ErrorBody),
    ))]
pub(super) async fn pod_command(
    State(api): State<Api>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<BTreeMap<String, String>>, QueryRejection>,
) -> ApiResult<Response> {
    let Path((instance, command)) = path?;
    let instance = checked_name("pod instance", instance)?;
    let Query(query) = query?;
    let command = PodCommand::parse(&command)
        .ok_or_else(|| ApiError::not_found(format!("pod command {command:?}")))?;
    if command == PodCommand::Replace {
        let action = format!("replacing pod {instance} (its volume and data are destroyed)");
        confirmed(&query, &action, &instance)?;
    }
    let started = api.control.pod_command(&instance, command).await?;
    Ok(ok(PodCommandAnswer {
        pod: instance,
        command,
        plan: started.plan,
        generation: started.generation,
    }))
}

/// Uninstalls the service (irreversible).
#[utoipa::path(post, path = "/v1/uninstall", tag = "service",
    params(
        ("confirm" = String, Query, description = "The service's name, confirming the uninstall"),
    ),
    responses(
        (status = 200, description = "The uninstall started", body = UninstallAnswer),
        (status = 400, description = "No or a wrong confirmation", body = ErrorBody),
        (status = 409, description = "This scheduler cannot uninstall", body = ErrorBody),
    ))]
pub(super) async fn uninstall(
    State(api): State<Api>,
    query: Result<Query<BTreeMap<String, String>>, QueryRejection>,
) -> ApiResult<Response> {
    let Query(query) = query?;
    let service = api.control.service_name().await?;
    let action = format!("uninstalling service {service} (every task and volume)");
    confirmed(&query, &action, &service)?;
    api.control.uninstall().await?;
    Ok(ok(UninstallAnswer {
        uninstall: "started".into(),
    }))
}

/// The ids of the stored configurations.
#[utoipa::path(get, path = "/v1/configurations", tag = "configurations",
    responses((status = 200, description = "The stored configurations' ids", body = Vec<String>)))]
pub(super) async fn list_configurations(State(api): State<Api>) -> ApiResult<Response> {
    Ok(ok(api.control.configuration_ids().await?))
}

/// The target configuration.
#[utoipa::path(get, path = "/v1/configurations/target", tag = "configurations",
    responses(
        (status = 200, description = "The target configuration", body = ConfigurationView),
        (status = 404, description = "None stored yet", body = ErrorBody),
    ))]
pub(super) async fn target_configuration(State(api): State<Api>) -> ApiResult<Response> {
    let id = api.control.target_configuration_id().await?;
    let spec = api.control.configuration(&id).await?;
    redacted(&ConfigurationView { id, spec })
}

/// One stored configuration.
#[utoipa::path(get, path = "/v1/configurations/{id}", tag = "configurations",
    params(("id" = String, Path, description = "The configuration's id")),
    responses(
        (status = 200, description = "The configuration", body = ConfigurationView),
        (status = 404, description = "No such configuration", body = ErrorBody),
    ))]
pub(super) async fn configuration(
    State(api): State<Api>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let Path(id) = id?;
    let id = checked_name("configuration id", id)?;
    let spec = api.control.configuration(&id).await?;
    redacted(&ConfigurationView { id, spec })
}

/// The framework id.
#[utoipa::path(get, path = "/v1/state/frameworkId", tag = "service",
    responses(
        (status = 200, description = "The framework id", body = FrameworkIdView),
        (status = 404, description = "Not assigned yet", body = ErrorBody),
    ))]
pub(super) async fn framework_id(State(api): State<Api>) -> ApiResult<Response> {
    let framework_id = api.control.framework_id().await?;
    Ok(ok(FrameworkIdView { framework_id }))
}

/// Readiness: the status code tells the service's state.
#[utoipa::path(get, path = "/v1/health", tag = "health", security(()),
    responses(
        (status = 200, description = "Running", body = Health),
        (status = 202, description = "Deploying", body = Health),
        (status = 206, description = "Recovering", body = Health),
        (status = 417, description = "A plan has errors", body = Health),
        (status = 503, description = "Not subscribed yet", body = Health),
    ))]
pub(super) async fn health(State(api): State<Api>) -> ApiResult<Response> {
    let health: Health = api.control.health().await?;
    // Invariant: every code `HealthState::status_code` returns is a valid HTTP status.
    let status = StatusCode::from_u16(health.state.status_code()).expect("valid status code");
    Ok((status, axum::Json(health)).into_response())
}

/// Liveness: 200 while the process serves, whatever its plans say (`/v1/health` is
/// readiness).
#[utoipa::path(get, path = "/v1/health/live", tag = "health", security(()),
    responses((status = 200, description = "The scheduler serves", body = Liveness)))]
pub(super) async fn live() -> Response {
    ok(Liveness { live: true })
}

/// The scheduler's metrics in the Prometheus text format.
#[utoipa::path(get, path = "/v1/metrics", tag = "service",
    responses((status = 200, description = "Prometheus text", body = String, content_type = "text/plain")))]
pub(super) async fn metrics(State(api): State<Api>) -> ApiResult<Response> {
    let snapshot = api.control.metrics().await?;
    let plans = api.control.plans().await?;
    let text = prometheus::render(&snapshot, &plans);
    Ok(([(header::CONTENT_TYPE, prometheus::CONTENT_TYPE)], text).into_response())
}

/// The latest offers and, per pending step, why each was or was not used.
#[utoipa::path(get, path = "/v1/debug/offers", tag = "service",
    responses((status = 200, description = "Offer diagnostics", body = OffersDebug)))]
pub(super) async fn debug_offers(State(api): State<Api>) -> ApiResult<Response> {
    Ok(ok(api.control.debug_offers().await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens() {
        let mut headers = HeaderMap::new();
        assert!(!bearer_matches(&headers, "s3cret"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret"),
        );
        assert!(bearer_matches(&headers, "s3cret"));
        assert!(!bearer_matches(&headers, "s3cre"));
        assert!(!bearer_matches(&headers, "s3crett"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer s3cret"),
        );
        assert!(bearer_matches(&headers, "s3cret"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic s3cret"),
        );
        assert!(!bearer_matches(&headers, "s3cret"));
    }

    #[test]
    fn only_health_and_below_is_open() {
        for path in ["/v1/health", "/v1/health/", "/v1/health/live"] {
            assert!(is_open(path), "{path}");
        }
        for path in ["/v1/healthz", "/v1/plans", "/v1/health-live", "/"] {
            assert!(!is_open(path), "{path}");
        }
    }

    #[test]
    fn the_read_token_flag() {
        #[derive(clap::Parser)]
        struct Flags {
            #[command(flatten)]
            api: ApiArgs,
        }
        let parse = |args: &[&str]| {
            <Flags as clap::Parser>::try_parse_from(
                std::iter::once("s").chain(args.iter().copied()),
            )
            .map(|f| f.api.options())
        };
        let options = parse(&["--api-read-token", "reader"]).unwrap();
        assert_eq!(options.read_token.as_deref(), Some("reader"));
        assert!(options.token.is_none());
        assert!(parse(&["--api-read-token="]).unwrap().read_token.is_none());
    }

    fn query(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_loopback_peers_mutate_without_a_token() {
        for peer in [
            "127.0.0.1:1",
            "127.8.9.10:1",
            "[::1]:1",
            "[::ffff:127.0.0.1]:1",
        ] {
            let peer: SocketAddr = peer.parse().unwrap();
            assert_eq!(remote_mutation_refusal(Some(peer)), None, "{peer}");
        }
        for peer in [
            "10.0.0.1:1",
            "192.168.1.2:1",
            "[2001:db8::1]:1",
            "[::ffff:10.0.0.1]:1",
        ] {
            let peer: SocketAddr = peer.parse().unwrap();
            let why = remote_mutation_refusal(Some(peer)).expect("refused");
            assert!(why.contains(&peer.ip().to_string()), "{why}");
            assert!(why.contains("--api-token"), "{why}");
        }
        assert!(remote_mutation_refusal(None).is_some());
    }

    #[test]
    fn confirmations_name_what_is_destroyed() {
        assert!(confirmed(&query(&[("confirm", "data-1")]), "replacing", "data-1").is_ok());
        let missing = confirmed(&query(&[]), "replacing", "data-1").unwrap_err();
        assert_eq!(missing.status, StatusCode::BAD_REQUEST);
        assert!(missing.message.contains("?confirm=data-1"), "{missing:?}");
        let wrong = confirmed(&query(&[("confirm", "data-2")]), "replacing", "data-1");
        assert!(wrong.unwrap_err().message.contains("?confirm=data-1"));
        let extra = confirmed(
            &query(&[("confirm", "data-1"), ("force", "1")]),
            "replacing",
            "data-1",
        );
        assert!(extra.unwrap_err().message.contains("force"));
    }

    #[test]
    fn log_queries() {
        assert_eq!(log_request(&query(&[])).unwrap(), LogRequest::default());
        let request = log_request(&query(&[
            ("stream", "stderr"),
            ("offset", "-1"),
            ("length", "10"),
            ("previous", "true"),
        ]))
        .unwrap();
        assert_eq!(
            request,
            LogRequest {
                stream: LogStream::Stderr,
                offset: -1,
                length: Some(10),
                previous: true,
            }
        );
        for bad in [
            ("stream", "stdin"),
            ("offset", "-2"),
            ("length", "-1"),
            ("previous", "yes"),
            ("tail", "5"),
        ] {
            assert!(log_request(&query(&[bad])).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn api_args_default_to_loopback() {
        let args = ApiArgs::default();
        assert_eq!(args.socket_addr(8080).to_string(), "127.0.0.1:8080");
        let args = ApiArgs {
            api_token: Some(String::new()),
            ..ApiArgs::default()
        };
        assert!(args.options().token.is_none());
    }
}
