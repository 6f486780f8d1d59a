//! The operator API: plans, pods, configurations, state, health, metrics and offer
//! diagnostics over HTTP/JSON, served with axum on the scheduler's API port.
//!
//! The scheduler implements [`ServiceControl`](crate::api::ServiceControl); [`serve`]
//! exposes it. A
//! [`DefaultService`](crate::scheduler::DefaultService) serves it on its API port
//! (127.0.0.1 unless `--bind` says otherwise; port 0 picks a free one, see
//! [`ServiceHandle::api_addr`](crate::scheduler::ServiceHandle::api_addr)), with the token
//! from `--api-token` or `STEAD_API_TOKEN`, and stops it with the scheduler:
//!
//! | route | answer |
//! |---|---|
//! | `GET /v1/plans` | plan names |
//! | `GET /v1/plans/{plan}` | [`PlanSnapshot`](crate::plan::PlanSnapshot); 200 complete, 202 in progress, 417 errors |
//! | `POST /v1/plans/{plan}/interrupt`, `/continue` | `?phase=` optional; [`PlanCommandAnswer`](crate::api::PlanCommandAnswer) with the plan's generation |
//! | `POST /v1/plans/{plan}/restart`, `/forceComplete` | `?phase=&step=` optional; the same |
//! | `GET /v1/pods`, `GET /v1/pods/{instance}/info` | [`PodSummary`](crate::api::PodSummary) list, [`PodInfo`](crate::api::PodInfo) |
//! | `GET /v1/pods/{instance}/logs` | [`LogChunk`](crate::api::LogChunk): `?stream=stdout\|stderr&offset=&length=&previous=` |
//! | `POST /v1/pods/{instance}/restart` | relaunch in place; [`PodCommandAnswer`](crate::api::PodCommandAnswer): the plan and generation that carry it out |
//! | `POST /v1/pods/{instance}/replace?confirm={instance}` | replace elsewhere (the volume is destroyed); the same |
//! | `POST /v1/uninstall?confirm={service}` | uninstall the service |
//! | `GET /v1/configurations`, `/target`, `/{id}` | ids, `{id, spec}` |
//! | `GET /v1/state/frameworkId` | `{framework_id}` |
//! | `GET /v1/health` | [`Health`](crate::api::Health); the code tells the [`HealthState`](crate::api::HealthState) (readiness) |
//! | `GET /v1/health/live` | `{"live": true}`, 200 while the scheduler serves, whatever its plans say (liveness) |
//! | `GET /v1/metrics` | Prometheus text |
//! | `GET /v1/debug/offers` | [`OffersDebug`](crate::api::OffersDebug) |
//! | `GET /v1/openapi.json` | the OpenAPI description of these routes ([`openapi`]) |
//! | `GET /v1/events` | server-sent events, each a [`DashboardView`](dashboard::DashboardView) (see [`dashboard`]) |
//! | `GET /` | the web dashboard (its script and style beside it, open without a token) |
//!
//! Errors are JSON `{"error": kind, "message": text}` with a 4xx/5xx code; a malformed
//! path (a name that is `.`, `..`, holds `/` or a control character) is a 400 saying so.
//! Destructive requests name what they destroy in `?confirm=` (else 400 saying what is
//! expected, and nothing is done). A pod's logs are read from its sandbox through its
//! agent's files API (see [`crate::mesos::sandbox`]).
//!
//! With a token configured, every mutating request needs `Authorization: Bearer <token>`
//! (else 401); without one, mutating requests are taken only from loopback peers (else
//! 403, see [`remote_mutation_refusal`]); with a read token (`--api-read-token`), every
//! reading request but `/v1/health` and the dashboard's page and assets needs it or the
//! API token. Secret-looking environment values (names containing `PASSWORD`, `SECRET`,
//! `TOKEN`, `KEY`, ...; see [`crate::api::redact`]) are replaced by `<redacted>` in pod
//! info, configurations and the dashboard's view.
//!
//! Slow clients are bounded ([`ServerLimits`]): each request's headers must arrive
//! within 10 seconds (an idle keep-alive connection is closed after as long), a body
//! within 30 seconds of them, and at most 256 connections are open at once.

pub mod dashboard;
pub mod openapi;
pub mod prometheus;
mod running;
mod server;

pub use running::ApiServer;
pub use server::{
    ApiArgs, ApiOptions, CONFIRM_PARAM, DEFAULT_BIND, READ_TOKEN_ENV, TOKEN_ENV,
    remote_mutation_refusal, router, serve, serve_with_shutdown,
};
pub use stead_proto::server::ServerLimits;
