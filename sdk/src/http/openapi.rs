//! The OpenAPI 3.1 description of the operator API under `/v1`, derived from the code:
//! the handlers' `#[utoipa::path]` annotations (method, path, parameters, answers) and
//! the `ToSchema` view types of [`crate::api`] and [`crate::plan`]. Served at
//! `GET /v1/openapi.json`.
//!
//! To describe a new route: annotate its handler with `#[utoipa::path(...)]` and add the
//! handler to the `paths(...)` list of [`ApiDoc`], one line (a type used only as a
//! parameter also needs an `ApiDoc` `components(schemas(...))` entry). The answers every route
//! shares (401 without the token, 400 for a malformed path) are added here, not on each
//! handler.

use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, Required, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::{CONFIRM_PARAM, server};
use crate::api::PodCommand;

/// Where the description is served.
pub const PATH: &str = "/v1/openapi.json";

/// The names of stored things (instances, configuration ids) the API takes in a path:
/// the description admits the common ones; the API itself refuses only `.`, `..`, `/`
/// and control characters (a 400).
const NAME_PATTERN: &str = "^[A-Za-z0-9_-][A-Za-z0-9_.-]*$";

/// The path parameters that name stored things (see [`NAME_PATTERN`]).
const NAME_PARAMETERS: [&str; 2] = ["instance", "id"];

/// The name of the bearer-token security scheme.
const BEARER: &str = "bearer";

/// The description: every route of the API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Stead operator API",
        description = "Plans, pods, configurations, state, health, metrics and offer diagnostics of a Stead scheduler."
    ),
    paths(
        server::list_plans,
        server::show_plan,
        server::plan_command,
        server::list_pods,
        server::pod_info,
        server::pod_logs,
        server::pod_command,
        server::list_configurations,
        server::target_configuration,
        server::configuration,
        server::framework_id,
        server::health,
        server::live,
        server::metrics,
        server::debug_offers,
        super::dashboard::events,
        server::endpoints::list_endpoints,
        server::endpoints::endpoint,
        server::uninstall,
        serve,
    ),
    modifiers(&Shared, &Commands)
)]
pub struct ApiDoc;

/// The description as a value.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// This description.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "service",
    responses((status = 200, description = "The OpenAPI description of the API", body = Object)))]
pub(super) async fn serve() -> Response {
    axum::Json(document()).into_response()
}

/// The path of the plan commands' handler, described as one path per command.
const PLAN_COMMAND: &str = "/v1/plans/{plan}/{command}";

/// The path of the pod commands' handler, described as one path per command.
const POD_COMMAND: &str = "/v1/pods/{instance}/{command}";

/// Describes the operation at `path`, whose `{command}` path parameter names a command,
/// as one operation per command in `commands` (`operation_id` prefixed with `prefix`),
/// each with the query parameters `takes(command, parameter)` allows; `required(command,
/// parameter)` marks the ones the command cannot do without.
fn split_by_command(
    openapi: &mut utoipa::openapi::OpenApi,
    path: &str,
    prefix: &str,
    commands: &[&str],
    takes: impl Fn(&str, &str) -> bool,
    required: impl Fn(&str, &str) -> bool,
) {
    let Some(item) = openapi.paths.paths.remove(path) else {
        return;
    };
    for &command in commands {
        let mut item = item.clone();
        if let Some(operation) = item.post.as_mut() {
            operation.operation_id = Some(format!("{prefix}_{command}"));
            if let Some(parameters) = operation.parameters.as_mut() {
                parameters.retain(|p| p.name != "command" && takes(command, &p.name));
                for p in parameters.iter_mut() {
                    if required(command, &p.name) {
                        p.required = Required::True;
                    }
                }
            }
        }
        openapi
            .paths
            .paths
            .insert(path.replace("{command}", command), item);
    }
}

/// Describes `POST /v1/plans/{plan}/{command}` as one operation per command, each with
/// the query parameters it takes (`step` only for `restart` and `forceComplete`: the
/// others refuse it with a 400), and `POST /v1/pods/{instance}/{command}` likewise
/// (`confirm` only for, and required by, `replace`).
struct Commands;

impl Modify for Commands {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let verbs = server::PlanVerb::ALL.map(server::PlanVerb::as_str);
        split_by_command(
            openapi,
            PLAN_COMMAND,
            "plan",
            &verbs,
            |verb, p| server::PlanVerb::parse(verb).is_none_or(|v| v.takes_step()) || p != "step",
            |_, _| false,
        );
        let replace = PodCommand::Replace.as_str();
        split_by_command(
            openapi,
            POD_COMMAND,
            "pod",
            &[PodCommand::Restart.as_str(), replace],
            |command, p| command == replace || p != CONFIRM_PARAM,
            |command, p| command == replace && p == CONFIRM_PARAM,
        );
    }
}

/// Adds what every route shares: the optional bearer token (required by a scheduler
/// started with a token: then a request without it is a 401), the 400 of a path
/// parameter that is not a valid name, and the pattern of names.
struct Shared;

impl Modify for Shared {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let open = server::is_open(path);
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                shared_answers(operation, open);
            }
        }
    }
}

/// The answers and security of `operation` that every route shares; `open` for the
/// health probes, which never need a token.
fn shared_answers(operation: &mut Operation, open: bool) {
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    let mut has_path_parameter = false;
    for parameter in operation.parameters.iter_mut().flatten() {
        if parameter.parameter_in != ParameterIn::Path {
            continue;
        }
        has_path_parameter = true;
        if NAME_PARAMETERS.contains(&parameter.name.as_str()) {
            let name = ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(NAME_PATTERN));
            parameter.schema = Some(name.into());
        }
    }
    let responses = &mut operation.responses.responses;
    if has_path_parameter {
        responses
            .entry("400".into())
            .or_insert_with(|| error("A malformed path parameter").into());
    }
    if open {
        operation.security = Some(vec![SecurityRequirement::default()]);
    } else {
        responses.entry("401".into()).or_insert_with(|| {
            error("The scheduler takes a token and the request has none or a wrong one").into()
        });
        operation.security = Some(vec![
            SecurityRequirement::default(),
            SecurityRequirement::new::<_, _, &str>(BEARER, []),
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_described_with_its_shared_answers() {
        let doc = serde_json::to_value(document()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/v1/plans",
            "/v1/plans/{plan}",
            "/v1/plans/{plan}/interrupt",
            "/v1/plans/{plan}/forceComplete",
            "/v1/pods",
            "/v1/pods/{instance}/info",
            "/v1/pods/{instance}/restart",
            "/v1/pods/{instance}/replace",
            "/v1/configurations",
            "/v1/configurations/target",
            "/v1/configurations/{id}",
            "/v1/state/frameworkId",
            "/v1/health",
            "/v1/health/live",
            "/v1/metrics",
            "/v1/debug/offers",
            "/v1/uninstall",
            PATH,
        ] {
            assert!(paths.contains_key(path), "{path} is described");
        }
        let parameters = |path: &str| -> Vec<String> {
            paths[path]["post"]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(parameters("/v1/plans/{plan}/continue"), ["plan", "phase"]);
        assert_eq!(
            parameters("/v1/plans/{plan}/restart"),
            ["plan", "phase", "step"]
        );
        let show = &paths["/v1/plans/{plan}"]["get"]["responses"];
        assert!(show["400"].is_object() && show["401"].is_object(), "{show}");
        let health = &paths["/v1/health"]["get"]["responses"];
        assert!(health["401"].is_null(), "the probe is open: {health}");
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for schema in [
            "PlanSnapshot",
            "PodSummary",
            "PodInfo",
            "Health",
            "ErrorBody",
        ] {
            assert!(schemas.contains_key(schema), "{schema}");
        }
        assert_eq!(
            schemas["PlanSnapshot"]["properties"]["generation"]["type"],
            "integer"
        );
        let mut refs = Vec::new();
        references(&doc, &mut refs);
        for r in refs {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or(&r);
            assert!(schemas.contains_key(name), "{r} resolves");
        }
    }

    /// Every `$ref` in `value`.
    fn references(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v.as_str()) {
                        ("$ref", Some(r)) => out.push(r.to_string()),
                        _ => references(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| references(v, out)),
            _ => {}
        }
    }
}
