//! The HTTP surface: content negotiation, malformed bodies, stream ids, /version, /state.

use std::time::Duration;

use stead_proto::scheduler::{call, event};

use crate::client::*;

async fn post(url: &str, headers: &[(&str, &str)], body: Vec<u8>) -> (u16, String) {
    let mut req = reqwest::Client::new().post(format!("{url}/api/v1/scheduler"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.body(body).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn content_types_bodies_and_stream_ids_are_checked() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 1).await;
    let url = cluster.master_url();
    let sub = Enc::Json.encode_call(&subscribe_call(&framework("f", "r", 0.0, &[])));

    let (s, m) = post(url, &[], sub.clone()).await;
    assert_eq!(
        (s, m.as_str()),
        (400, "Expecting 'Content-Type' to be present")
    );
    let (s, _) = post(url, &[("Content-Type", "text/plain")], sub.clone()).await;
    assert_eq!(s, 415);
    let (s, _) = post(
        url,
        &[
            ("Content-Type", "application/json"),
            ("Accept", "text/html"),
        ],
        sub.clone(),
    )
    .await;
    assert_eq!(s, 406);
    let (s, m) = post(
        url,
        &[("Content-Type", "application/json")],
        b"{not json".to_vec(),
    )
    .await;
    assert_eq!(s, 400, "{m}");
    let (s, m) = post(
        url,
        &[("Content-Type", "application/x-protobuf")],
        vec![0xff, 0xff, 0xff],
    )
    .await;
    assert_eq!(s, 400, "{m}");
    let (s, m) = post(url, &[("Content-Type", "application/json")], b"{}".to_vec()).await;
    assert_eq!(s, 400, "{m}");
    // SUBSCRIBE with a stream id header is refused.
    let (s, _) = post(
        url,
        &[
            ("Content-Type", "application/json"),
            ("Mesos-Stream-Id", "x"),
        ],
        sub.clone(),
    )
    .await;
    assert_eq!(s, 400);

    let sched = Sched::subscribe(url, framework("f", "r", 0.0, &[]), Enc::Protobuf).await?;
    let revive = Enc::Protobuf.encode_call(&stead_proto::scheduler::Call {
        framework_id: sched.info.id.clone(),
        r#type: Some(call::Type::Revive as i32),
        ..Default::default()
    });
    // No stream id.
    let (s, m) = post(
        url,
        &[("Content-Type", "application/x-protobuf")],
        revive.clone(),
    )
    .await;
    assert_eq!(s, 400);
    assert!(m.contains("Mesos-Stream-Id"), "{m}");
    // Wrong stream id.
    let (s, m) = post(
        url,
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Mesos-Stream-Id", "nope"),
        ],
        revive.clone(),
    )
    .await;
    assert_eq!(s, 400);
    assert!(m.contains("didn't match"), "{m}");
    // Unknown framework.
    let other = Enc::Protobuf.encode_call(&stead_proto::scheduler::Call {
        framework_id: Some(stead_proto::v1::FrameworkId {
            value: "unknown".into(),
        }),
        r#type: Some(call::Type::Revive as i32),
        ..Default::default()
    });
    let (s, _) = post(
        url,
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Mesos-Stream-Id", &sched.stream_id),
        ],
        other,
    )
    .await;
    assert_eq!(s, 403);
    // A good call.
    let (s, _) = post(
        url,
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Mesos-Stream-Id", &sched.stream_id),
        ],
        revive,
    )
    .await;
    assert_eq!(s, 202);
    // An acknowledgement with a malformed uuid.
    let (s, m) = sched
        .call(stead_proto::scheduler::Call {
            r#type: Some(call::Type::Acknowledge as i32),
            acknowledge: Some(call::Acknowledge {
                agent_id: stead_proto::v1::AgentId { value: "a".into() },
                task_id: stead_proto::v1::TaskId { value: "t".into() },
                uuid: vec![1, 2, 3],
            }),
            ..Default::default()
        })
        .await?;
    assert_eq!(s, 400, "{m}");

    let v: serde_json::Value = serde_json::from_slice(
        &reqwest::get(format!("{url}/version"))
            .await?
            .bytes()
            .await?,
    )?;
    assert!(v["version"].as_str().unwrap().starts_with("1."));
    let st: serde_json::Value =
        serde_json::from_slice(&reqwest::get(format!("{url}/state")).await?.bytes().await?)?;
    assert_eq!(st["frameworks"][0]["id"], sched.framework_id.as_str());
    assert_eq!(st["slaves"].as_array().unwrap().len(), 1);
    let typed: stead_local::State = serde_json::from_slice(
        &reqwest::get(format!("{url}/master/state"))
            .await?
            .bytes()
            .await?,
    )?;
    assert_eq!(typed.agents[0].hostname, "agent-0.local");
    assert_eq!(typed.agents[0].attributes["zone"], "a");
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn heartbeats_follow_subscribed_at_the_configured_interval() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = stead_local::LocalCluster::start(
        stead_local::LocalClusterConfig::new(dir.path())
            .agents(0)
            .heartbeat_interval(Duration::from_millis(300)),
    )
    .await?;
    let mut s = Sched::subscribe(
        cluster.master_url(),
        framework("hb", "r", 0.0, &[]),
        Enc::Json,
    )
    .await?;
    assert!((s.heartbeat_interval - 0.3).abs() < 1e-9);
    let first = s.next_event(WAIT).await?;
    assert_eq!(first.r#type, Some(event::Type::Heartbeat as i32));
    let started = std::time::Instant::now();
    let second = s.next_event(WAIT).await?;
    assert_eq!(second.r#type, Some(event::Type::Heartbeat as i32));
    assert!(started.elapsed() >= Duration::from_millis(200));
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn recordio_accept_and_failover_error() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 1).await;
    let url = cluster.master_url();
    let resp = reqwest::Client::new()
        .post(format!("{url}/api/v1/scheduler"))
        .header("Content-Type", "application/json")
        .header("Accept", "application/recordio")
        .header("Message-Accept", "application/x-protobuf")
        .body(Enc::Json.encode_call(&subscribe_call(&framework("rio", "r", 60.0, &[]))))
        .send()
        .await?;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/recordio");
    assert_eq!(
        resp.headers()["message-content-type"],
        "application/x-protobuf"
    );
    drop(resp);

    // A second subscription with the same id: the first stream gets ERROR "Framework failed over".
    let mut first = Sched::subscribe(url, framework("fo", "r", 60.0, &[]), Enc::Json).await?;
    let second = Sched::subscribe(url, first.info.clone(), Enc::Protobuf).await?;
    assert_eq!(second.framework_id, first.framework_id);
    let err = first
        .wait_for("the failover error", |e| {
            e.r#type == Some(event::Type::Error as i32)
        })
        .await?;
    assert_eq!(err.error.unwrap().message, "Framework failed over");
    // The old stream id is no longer valid.
    let (status, _) = first.call(simple(call::Type::Revive)).await?;
    assert_eq!(status, 400);
    second.send(simple(call::Type::Revive)).await?;
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn the_remaining_call_types_are_answered() -> anyhow::Result<()> {
    use stead_proto::scheduler::Call;
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 1).await;
    let mut s = Sched::subscribe(
        cluster.master_url(),
        framework("calls", "old-role", 0.0, &[]),
        Enc::Json,
    )
    .await?;
    let agent_id = s.offers().await?.remove(0).agent_id;
    let executor_id = stead_proto::v1::ExecutorId { value: "e".into() };
    for c in [
        Call {
            r#type: Some(call::Type::Message as i32),
            message: Some(call::Message {
                agent_id: agent_id.clone(),
                executor_id: executor_id.clone(),
                data: b"hi".to_vec(),
            }),
            ..Default::default()
        },
        Call {
            r#type: Some(call::Type::Request as i32),
            request: Some(call::Request { requests: vec![] }),
            ..Default::default()
        },
        Call {
            r#type: Some(call::Type::AcceptInverseOffers as i32),
            accept_inverse_offers: Some(call::AcceptInverseOffers {
                inverse_offer_ids: vec![],
                filters: None,
            }),
            ..Default::default()
        },
        Call {
            r#type: Some(call::Type::DeclineInverseOffers as i32),
            decline_inverse_offers: Some(call::DeclineInverseOffers {
                inverse_offer_ids: vec![],
                filters: None,
            }),
            ..Default::default()
        },
        Call {
            r#type: Some(call::Type::AcknowledgeOperationStatus as i32),
            acknowledge_operation_status: Some(call::AcknowledgeOperationStatus {
                agent_id: Some(agent_id.clone()),
                resource_provider_id: None,
                uuid: uuid::Uuid::new_v4().as_bytes().to_vec(),
                operation_id: stead_proto::v1::OperationId { value: "op".into() },
            }),
            ..Default::default()
        },
    ] {
        let ty = c.r#type;
        let (status, body) = s.call(c).await?;
        assert_eq!(status, 202, "{ty:?}: {body}");
    }
    let (status, body) = s
        .call(Call {
            r#type: Some(call::Type::ReconcileOperations as i32),
            reconcile_operations: Some(call::ReconcileOperations { operations: vec![] }),
            ..Default::default()
        })
        .await?;
    assert_eq!(status, 200);
    let resp: stead_proto::scheduler::Response = stead_proto::json::from_json_str(&body)?;
    assert_eq!(
        resp.r#type,
        Some(stead_proto::scheduler::response::Type::ReconcileOperations as i32)
    );
    // A call missing its payload is refused.
    let (status, _) = s.call(simple(call::Type::Accept)).await?;
    assert_eq!(status, 400);

    // UPDATE_FRAMEWORK: outstanding offers are rescinded, the new role is in force.
    let mut info = s.info.clone();
    info.role = Some("new-role".into());
    s.send(Call {
        r#type: Some(call::Type::UpdateFramework as i32),
        update_framework: Some(call::UpdateFramework {
            framework_info: info,
            suppressed_roles: vec![],
        }),
        ..Default::default()
    })
    .await?;
    s.wait_for("rescind", |e| e.r#type == Some(event::Type::Rescind as i32))
        .await?;
    s.clear_stash();
    let o = s.offers().await?.remove(0);
    let r = reserved(scalar("cpus", 1.0), "new-role", &s.principal(), "n");
    s.accept(&o, vec![reserve_op(vec![r])], 0.0).await?;
    let st = cluster.state().await?;
    assert_eq!(st.frameworks[0].roles, vec!["new-role".to_string()]);
    assert!(
        st.agents[0]
            .reserved_resources_full
            .contains_key("new-role")
    );
    cluster.shutdown().await?;
    Ok(())
}
