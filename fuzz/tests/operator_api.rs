//! Fuzz target of the operator API's path, query and body parsing: any request line and
//! body get a well-formed answer, never a panic or a 5xx (the test double behind the API
//! never fails), and every error answer is the API's JSON error.

#[path = "../../sdk/tests/http_support/mod.rs"]
mod http_support;

use std::sync::Arc;

use http_support::{Fake, sample_state};
use stead::http::ApiOptions;
use stead_fuzz::fuzz;
use tower::ServiceExt;

/// Generated requests: each goes through the whole router.
const ITERATIONS: usize = 500_000;

/// A request as bytes: the method, a space, the path and query, a newline, the body.
fn sample(method: &str, target: &str, body: &str) -> Vec<u8> {
    format!("{method} {target}\n{body}").into_bytes()
}

#[test]
fn fuzz_operator_api_paths_and_bodies() {
    let samples = vec![
        sample("GET", "/v1/plans/deploy", ""),
        sample(
            "POST",
            "/v1/plans/deploy/restart?phase=data&step=data-0",
            "",
        ),
        sample("POST", "/v1/plans/deploy/interrupt?phase=meta-data", "{}"),
        sample("GET", "/v1/pods/meta-data-0/info", ""),
        sample("POST", "/v1/pods/meta-data-1/replace", "x"),
        sample(
            "POST",
            "/v1/pods/meta-data-1/replace?confirm=meta-data-1",
            "",
        ),
        sample(
            "GET",
            "/v1/pods/meta-data-0/logs?stream=stderr&offset=-1",
            "",
        ),
        sample("GET", "/v1/configurations/cfg-1", ""),
        sample("GET", "/v1/configurations/..%2F..", ""),
        sample("GET", "/v1/configurations/a%00b", ""),
        sample("GET", "/v1/health", ""),
        sample("POST", "/v1/uninstall", ""),
        sample("POST", "/v1/uninstall?confirm=data-store", ""),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let router = stead::http::router(
        Arc::new(Fake::new(sample_state())),
        ApiOptions {
            token: Some("writer".into()),
            read_token: Some("reader".into()),
            ..ApiOptions::default()
        },
    );
    fuzz("operator-api", ITERATIONS, &samples, |input| {
        let text = String::from_utf8_lossy(input);
        let (line, body) = text.split_once('\n').unwrap_or((&text, ""));
        let (method, target) = line.split_once(' ').unwrap_or(("GET", line));
        let Ok(method) = method.parse::<axum::http::Method>() else {
            return Ok(());
        };
        // Requests hyper would refuse before routing are not the API's to answer.
        let Ok(request) = axum::http::Request::builder()
            .method(method)
            .uri(target)
            .header("authorization", "Bearer writer")
            .body(axum::body::Body::from(body.to_string()))
        else {
            return Ok(());
        };
        let response = runtime
            .block_on(router.clone().oneshot(request))
            .map_err(|e| format!("{e:?}"))?;
        let status = response.status();
        if status.is_server_error() {
            return Err(format!("{line:?} answered {status}"));
        }
        if status.is_client_error() {
            let bytes = runtime
                .block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
                .map_err(|e| e.to_string())?;
            let body: serde_json::Value = serde_json::from_slice(&bytes)
                .map_err(|e| format!("{line:?}: {status} without a JSON body: {e}"))?;
            if !body["error"].is_string() || !body["message"].is_string() {
                return Err(format!("{line:?}: {status} with {body}"));
            }
        }
        Ok(())
    });
}
