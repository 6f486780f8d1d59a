//! The operator API against hostile or careless clients: malformed paths, reads without
//! the read token, secrets in answers, and slow connections.

mod http_support;

use std::time::{Duration, Instant};

use http_support::{Fake, sample_state, start, start_with};
use reqwest::StatusCode;
use serde_json::{Value, json};
use stead::http::{ApiOptions, ServerLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `request` as is on a new connection and returns the status code and body of
/// the answer (the connection is closed after it).
async fn raw(base: &str, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("answered within 10 s")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}

/// `GET path` sent verbatim (no client-side normalising of `.` segments).
async fn raw_get(base: &str, path: &str) -> (u16, String) {
    raw(
        base,
        &format!("GET {path} HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n"),
    )
    .await
}

#[tokio::test]
async fn bad_names_in_paths_are_4xx_saying_what_is_wrong() {
    let url = start(Fake::new(sample_state()), None).await;
    for (path, reason) in [
        ("/v1/configurations/..%2F..", "must not contain '/'"),
        ("/v1/configurations/.", "'.' and '..' are not node names"),
        ("/v1/configurations/..", "'.' and '..' are not node names"),
        (
            "/v1/configurations/a%00b",
            "control characters are not allowed",
        ),
        ("/v1/pods/..%2Fx/info", "must not contain '/'"),
        ("/v1/pods/a%01/info", "control characters are not allowed"),
    ] {
        let (status, body) = raw_get(&url, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"], "bad_request", "{path}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(reason), "{path}: {message}");
    }
    let (status, _) = raw(
        &url,
        "POST /v1/pods/..%2F../restart HTTP/1.1\r\nHost: api\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert_eq!(status, 400);
    // A well-formed unknown id is still a 404.
    let (status, _) = raw_get(&url, "/v1/configurations/no-such-id").await;
    assert_eq!(status, 404);
}

async fn get_with(url: &str, path: &str, token: Option<&str>) -> StatusCode {
    let mut request = reqwest::Client::new().get(format!("{url}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().status()
}

#[tokio::test]
async fn the_read_token_guards_every_read_but_health() {
    let options = ApiOptions {
        token: Some("writer".into()),
        read_token: Some("reader".into()),
        ..ApiOptions::default()
    };
    let url = start_with(Fake::new(sample_state()), options).await;
    for path in [
        "/v1/plans",
        "/v1/plans/deploy",
        "/v1/pods",
        "/v1/pods/meta-data-0/info",
        "/v1/configurations",
        "/v1/configurations/target",
        "/v1/state/frameworkId",
        "/v1/metrics",
        "/v1/debug/offers",
    ] {
        assert_eq!(
            get_with(&url, path, None).await,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
        assert_eq!(
            get_with(&url, path, Some("wrong")).await,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
        for token in ["reader", "writer"] {
            let status = get_with(&url, path, Some(token)).await;
            assert!(
                status.is_success() || status == 417,
                "{path} with {token}: {status}"
            );
        }
    }
    // The probe stays open for supervisors.
    assert_ne!(
        get_with(&url, "/v1/health", None).await,
        StatusCode::UNAUTHORIZED
    );
    // The read token does not allow changes.
    let status = reqwest::Client::new()
        .post(format!("{url}/v1/pods/meta-data-0/restart"))
        .bearer_auth("reader")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn reads_stay_open_without_a_read_token() {
    let url = start(Fake::new(sample_state()), Some("writer")).await;
    assert_eq!(get_with(&url, "/v1/plans", None).await, StatusCode::OK);
}

/// The body of `GET path`, as text.
async fn text_of(url: &str, path: &str) -> String {
    let response = reqwest::get(format!("{url}{path}")).await.unwrap();
    response.text().await.unwrap()
}

#[tokio::test]
async fn secret_looking_environment_values_are_redacted() {
    let mut state = sample_state();
    let env = json!({"variables": [
        {"name": "DB_PASSWORD", "type": "VALUE", "value": "hunter2"},
        {"name": "S3_ACCESS_KEY", "type": "VALUE", "value": "AKIA123"},
        {"name": "MODE", "type": "VALUE", "value": "fast"},
    ]});
    for pod in &mut state.pods {
        let task = pod.task_info.as_mut().unwrap();
        task["command"] = json!({"value": "run", "environment": env});
    }
    let spec = json!({"name": "data-store", "task_types": [
        {"command": {"line": "run", "env": {"API_TOKEN": "t0k3n", "LEVEL": "3"}}}
    ]});
    for config in state.configs.values_mut() {
        *config = spec.clone();
    }
    let url = start(Fake::new(state), None).await;
    let pod = text_of(&url, "/v1/pods/meta-data-0/info").await;
    assert!(
        !pod.contains("hunter2") && !pod.contains("AKIA123"),
        "{pod}"
    );
    let pod: Value = serde_json::from_str(&pod).unwrap();
    let variables = &pod["task_info"]["command"]["environment"]["variables"];
    assert_eq!(variables[0]["value"], "<redacted>");
    assert_eq!(variables[2]["value"], "fast");
    for path in ["/v1/configurations/target", "/v1/configurations/cfg-1"] {
        let text = text_of(&url, path).await;
        let body: Value = serde_json::from_str(&text).unwrap();
        let env = &body["spec"]["task_types"][0]["command"]["env"];
        assert_eq!(env["API_TOKEN"], "<redacted>", "{path}: {text}");
        assert_eq!(env["LEVEL"], "3", "{path}");
    }
}

/// Opens `n` connections that send the start of a request and never finish it.
async fn slow_connections(url: &str, n: usize) -> Vec<TcpStream> {
    let addr = url.trim_start_matches("http://");
    let mut streams = Vec::with_capacity(n);
    for _ in 0..n {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /v1/plans HTTP/1.1\r\nHo")
            .await
            .unwrap();
        streams.push(stream);
    }
    streams
}

/// Waits until the server has closed `stream` (end of stream or reset), up to `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                // A 408 or 400 answer before the close is fine.
                Ok(_) => continue,
            }
        }
    });
    read.await.is_ok()
}

/// Serves the test double with a 1 s header timeout and at most `max_connections`.
async fn start_bounded(max_connections: usize) -> String {
    let options = ApiOptions {
        limits: ServerLimits {
            header_read_timeout: Duration::from_secs(1),
            body_read_timeout: Duration::from_secs(1),
            max_connections,
        },
        ..ApiOptions::default()
    };
    start_with(Fake::new(sample_state()), options).await
}

/// The status of `GET /v1/plans`, answered within `limit`.
async fn plans_status_within(url: &str, limit: Duration) -> StatusCode {
    let client = reqwest::Client::builder().timeout(limit).build().unwrap();
    let response = client.get(format!("{url}/v1/plans")).send().await;
    response.expect("answered in time").status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_connections_are_closed_and_the_api_keeps_answering() {
    let url = start_bounded(1000).await;
    // 300 (each end of each in this process: 600 descriptors, under the common 1024).
    let mut slow = slow_connections(&url, 300).await;
    // An idle keep-alive connection that never sends a request is slow too.
    let mut idle = TcpStream::connect(url.trim_start_matches("http://"))
        .await
        .unwrap();
    let started = Instant::now();
    let status = plans_status_within(&url, Duration::from_secs(5)).await;
    assert_eq!(status, StatusCode::OK);
    for stream in &mut slow {
        assert!(closed_within(stream, Duration::from_secs(10)).await);
    }
    assert!(closed_within(&mut idle, Duration::from_secs(10)).await);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "not closed early"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_while_more_slow_clients_than_connections_are_allowed() {
    let url = start_bounded(16).await;
    let _slow = slow_connections(&url, 48).await;
    // Served once the slow ones before it timed out: three rounds of 16 at 1 s each.
    let status = plans_status_within(&url, Duration::from_secs(15)).await;
    assert_eq!(status, StatusCode::OK);
}
