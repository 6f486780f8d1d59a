//! The endpoints routes: `GET /v1/endpoints` (the port names of the launched instances)
//! and `GET /v1/endpoints/{name}` (that port's `address:port` and `hostname:port` across
//! the instances declaring it).

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;

use super::{Api, ApiError, ApiResult, ok};
use crate::api::{Endpoint, ErrorBody};

/// The endpoints routes, to merge into the API's router.
pub(super) fn routes() -> Router<Api> {
    Router::new()
        .route("/v1/endpoints", get(list_endpoints))
        .route("/v1/endpoints/{name}", get(endpoint))
}

/// The port names of the launched instances.
#[utoipa::path(get, path = "/v1/endpoints", tag = "endpoints",
    responses((status = 200, description = "The named ports, sorted", body = Vec<String>)))]
pub(in crate::http) async fn list_endpoints(State(api): State<Api>) -> ApiResult<Response> {
    Ok(ok(api.control.endpoints().await?.names()))
}

/// One named port's `address:port` and `hostname:port` across the instances declaring it.
#[utoipa::path(get, path = "/v1/endpoints/{name}", tag = "endpoints",
    params(("name" = String, Path, description = "The port's name")),
    responses(
        (status = 200, description = "Where the port is served", body = Endpoint),
        (status = 404, description = "No launched instance declares the port", body = ErrorBody),
    ))]
pub(in crate::http) async fn endpoint(
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
