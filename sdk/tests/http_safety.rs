//! The operator API's safety rules against a test double of the scheduler: destructive
//! requests need their confirmation, and without a token only loopback peers may change
//! anything.

mod http_support;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use http_support::{Fake, sample_state, start};
use serde_json::Value;
use stead::api::PodCommand;
use stead::http::ApiOptions;
use tower::ServiceExt;

async fn post(base: &str, path: &str) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .send()
        .await
        .unwrap();
    let status = StatusCode::from_u16(r.status().as_u16()).unwrap();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON from {path}: {text}"));
    (status, body)
}

#[tokio::test]
async fn replace_needs_the_instance_named_and_does_nothing_without_it() {
    let fake = Fake::new(sample_state());
    let base = start(fake.clone(), None).await;
    for path in [
        "/v1/pods/meta-data-1/replace",
        "/v1/pods/meta-data-1/replace?confirm=meta-data-0",
        "/v1/pods/meta-data-1/replace?confirm=",
        "/v1/pods/meta-data-1/replace?confirm=meta-data-1&force=true",
    ] {
        let (status, body) = post(&base, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"], "bad_request", "{path}");
        let message = body["message"].as_str().unwrap();
        let expected = if path.contains("force") {
            "force"
        } else {
            "?confirm=meta-data-1"
        };
        assert!(message.contains(expected), "{path}: {message}");
    }
    assert!(fake.with(|s| s.pod_commands.is_empty()), "nothing replaced");

    let (status, body) = post(&base, "/v1/pods/meta-data-1/replace?confirm=meta-data-1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A restart destroys nothing: no confirmation.
    let (status, body) = post(&base, "/v1/pods/meta-data-0/restart").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        fake.with(|s| s.pod_commands.clone()),
        vec![
            ("meta-data-1".to_string(), PodCommand::Replace),
            ("meta-data-0".to_string(), PodCommand::Restart)
        ]
    );
}

#[tokio::test]
async fn uninstall_needs_the_service_named() {
    let fake = Fake::new(sample_state());
    let base = start(fake.clone(), None).await;
    for path in ["/v1/uninstall", "/v1/uninstall?confirm=other-store"] {
        let (status, body) = post(&base, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("?confirm=data-store"), "{message}");
    }
    // Confirmed, the request reaches the scheduler (this double cannot uninstall).
    let (status, body) = post(&base, "/v1/uninstall?confirm=data-store").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("cannot uninstall")
    );
}

/// A request through the router as if it came from `peer`.
async fn from_peer(
    options: ApiOptions,
    fake: &Fake,
    method: Method,
    path: &str,
    peer: Option<&str>,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let router = stead::http::router(Arc::new(fake.clone()), options);
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let mut request = request.body(Body::empty()).unwrap();
    if let Some(peer) = peer {
        let peer: SocketAddr = peer.parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
    }
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn without_a_token_only_loopback_peers_mutate() {
    let fake = Fake::new(sample_state());
    let open = ApiOptions::default();
    let restart = "/v1/pods/meta-data-0/restart";
    for peer in [Some("192.0.2.7:40000"), Some("[2001:db8::7]:40000"), None] {
        let (status, body) =
            from_peer(open.clone(), &fake, Method::POST, restart, peer, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{peer:?}: {body}");
        assert_eq!(body["error"], "forbidden");
        assert!(
            body["message"].as_str().unwrap().contains("--api-token"),
            "{body}"
        );
        // Reads stay open.
        let (status, _) =
            from_peer(open.clone(), &fake, Method::GET, "/v1/plans", peer, None).await;
        assert_eq!(status, StatusCode::OK, "{peer:?}");
    }
    assert!(
        fake.with(|s| s.pod_commands.is_empty()),
        "nothing restarted"
    );

    let (status, _) = from_peer(
        open.clone(),
        &fake,
        Method::POST,
        restart,
        Some("127.0.0.1:40000"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "a loopback peer");

    // With a token, a remote peer with it may.
    let guarded = ApiOptions {
        token: Some("s3cret".into()),
        ..ApiOptions::default()
    };
    let remote = Some("192.0.2.7:40000");
    let (status, _) = from_peer(guarded.clone(), &fake, Method::POST, restart, remote, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = from_peer(
        guarded,
        &fake,
        Method::POST,
        restart,
        remote,
        Some("s3cret"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(fake.with(|s| s.pod_commands.len()), 2);
}

#[tokio::test]
async fn the_server_hands_the_peer_to_the_check() {
    // Served for real on loopback: the peer is known, and loopback, so mutations pass.
    let fake = Fake::new(sample_state());
    let base = start(fake.clone(), None).await;
    let (status, body) = post(&base, "/v1/pods/meta-data-0/restart").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// This host's address on its default route, if it has one that is not loopback (no
/// packet is sent: connecting a UDP socket only picks the route).
fn non_loopback_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test]
async fn a_client_on_another_address_of_the_host_is_refused() {
    let ip = non_loopback_address()
        .expect("this test needs an address of this host besides loopback (a default route)");
    let fake = Fake::new(sample_state());
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(stead::http::serve(
        listener,
        Arc::new(fake.clone()),
        ApiOptions::default(),
    ));
    let base = format!("http://{addr}");
    let (status, body) = post(&base, "/v1/pods/meta-data-0/restart").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["message"].as_str().unwrap().contains(&ip.to_string()));
    assert!(fake.with(|s| s.pod_commands.is_empty()));
}
