//! The endpoints routes: `GET /v1/endpoints` (the port names of the launched instances)
//! and `GET /v1/endpoints/{name}` (that port's `address:port` and `hostname:port` across
//! the instances declaring it).

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;

use super::{Api, ApiError, ApiResult, ok};

/// The endpoints routes, to merge into the API's router.
pub(super) fn routes() -> Router<Api> {
    Router::new()
        .route("/v1/endpoints", get(list_endpoints))
        .route("/v1/endpoints/{name}", get(endpoint))
}

async fn list_endpoints(State(api): State<Api>) -> ApiResult<Response> {
    Ok(ok(api.control.endpoints().await?.names()))
}

async fn endpoint(
    State(api): State<Api>,
    name: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let Path(name) = name?;
    let endpoints = api.control.endpoints().await?;
    endpoints
        .endpoint(&name)
        .map(ok)
        .ok_or_else(|| ApiError::not_found(format!("endpoint {name:?}")))
}
