//! Offers: filters, DECLINE, REVIVE, SUPPRESS, RESCIND, and role isolation of reservations.

use std::time::Duration;

use stead_proto::scheduler::{call, event};

use crate::client::*;

/// Asserts that no OFFERS event arrives within `d`.
async fn no_offers_for(s: &mut Sched, d: Duration) -> anyhow::Result<()> {
    s.clear_stash();
    let deadline = tokio::time::Instant::now() + d;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        match s.next_event(left).await {
            Err(_) => return Ok(()),
            Ok(e) => anyhow::ensure!(
                e.r#type != Some(event::Type::Offers as i32),
                "unexpected offer"
            ),
        }
    }
}

#[tokio::test]
async fn decline_filters_revive_and_suppress() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 1).await;
    let mut s = Sched::subscribe(
        cluster.master_url(),
        framework("f", "r", 0.0, &[]),
        Enc::Json,
    )
    .await?;
    let o = s.offers().await?;
    assert_eq!(o.len(), 1);
    assert_eq!(offered(&o[0], "cpus"), 4.0);
    assert_eq!(o[0].hostname, "agent-0.local");

    // Declined for 1 s: nothing for a while, then the same resources again.
    let declined_at = std::time::Instant::now();
    s.send(decline(vec![o[0].id.clone()], 1.0)).await?;
    let o = s.offers().await?;
    assert!(declined_at.elapsed() >= Duration::from_millis(900));
    // Declined for an hour: REVIVE lifts the filter at once.
    s.send(decline(vec![o[0].id.clone()], 3600.0)).await?;
    no_offers_for(&mut s, Duration::from_millis(500)).await?;
    s.send(simple(call::Type::Revive)).await?;
    let o = s.offers().await?;

    // SUPPRESS: declined with no filter, still no offer until REVIVE.
    s.send(simple(call::Type::Suppress)).await?;
    s.send(decline(vec![o[0].id.clone()], 0.0)).await?;
    no_offers_for(&mut s, Duration::from_millis(500)).await?;
    s.send(simple(call::Type::Revive)).await?;
    let o = s.offers().await?;

    // An ACCEPT with nothing to do works as a decline with its filter.
    s.accept(&o[0], vec![], 3600.0).await?;
    no_offers_for(&mut s, Duration::from_millis(300)).await?;
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn stopping_an_agent_rescinds_its_offers() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 2).await;
    let mut s = Sched::subscribe(
        cluster.master_url(),
        framework("f", "r", 0.0, &[]),
        Enc::Protobuf,
    )
    .await?;
    let offers = s.offers().await?;
    assert_eq!(offers.len(), 2);
    let on_0 = offers
        .iter()
        .find(|o| o.hostname == "agent-0.local")
        .unwrap()
        .clone();
    cluster.stop_agent("agent-0").await?;
    let ev = s
        .wait_for("rescind", |e| e.r#type == Some(event::Type::Rescind as i32))
        .await?;
    assert_eq!(ev.rescind.unwrap().offer_id, on_0.id);
    // Accepting the rescinded offer: its task is reported lost.
    let t = task("late", &on_0.agent_id, "true", vec![scalar("cpus", 0.1)]);
    s.accept(&on_0, vec![launch_op(vec![t])], 0.0).await?;
    let st = s
        .wait_for("TASK_LOST", |e| {
            e.update
                .as_ref()
                .is_some_and(|u| u.status.task_id.value == "late")
        })
        .await?;
    let status = st.update.unwrap().status;
    assert_eq!(status.state, stead_proto::v1::TaskState::TaskLost as i32);
    assert_eq!(
        status.reason,
        Some(stead_proto::v1::task_status::Reason::InvalidOffers as i32)
    );
    assert!(
        !cluster
            .state()
            .await?
            .agents
            .iter()
            .find(|a| a.name == "agent-0")
            .unwrap()
            .active
    );
    // Started again: offered again.
    cluster.start_agent("agent-0").await?;
    s.offer_where(|o| o.hostname == "agent-0.local").await?;
    // Removed for good: its offer is rescinded and it is gone from the state.
    cluster.remove_agent("agent-0").await?;
    s.wait_for("rescind", |e| e.r#type == Some(event::Type::Rescind as i32))
        .await?;
    assert_eq!(cluster.state().await?.agents.len(), 1);
    assert!(matches!(
        cluster.start_agent("agent-0").await,
        Err(stead_local::Error::AgentRemoved(_))
    ));
    assert!(matches!(
        cluster.stop_agent("agent-9").await,
        Err(stead_local::Error::UnknownAgent(_))
    ));
    // The HTTP fault-injection endpoint.
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/cluster/agents/agent-1/stop",
            cluster.master_url()
        ))
        .send()
        .await?;
    assert_eq!(resp.status(), 200);
    assert!(cluster.state().await?.agents.iter().all(|a| !a.active));
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/cluster/agents/agent-7/stop",
            cluster.master_url()
        ))
        .send()
        .await?;
    assert_eq!(resp.status(), 404);
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn two_roles_never_see_each_others_reservations() -> anyhow::Result<()> {
    use stead_proto::v1::framework_info::capability::Type as Cap;
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 1).await;
    let url = cluster.master_url();
    let mut a = Sched::subscribe(
        url,
        framework("a", "role-a", 0.0, &[Cap::ReservationRefinement]),
        Enc::Json,
    )
    .await?;
    let offer = a.offers().await?.remove(0);
    let (role, principal) = (a.role(), a.principal());
    let cpus = reserved(scalar("cpus", 2.0), &role, &principal, "a1");
    let disk = reserved(scalar("disk", 100.0), &role, &principal, "a1");
    let vol = volume(disk.clone(), "a-vol", &principal, "data");
    a.accept(
        &offer,
        vec![
            reserve_op(vec![cpus.clone(), disk.clone()]),
            create_op(vec![vol.clone()]),
        ],
        3600.0,
    )
    .await?;
    eventually("the reservation", || async {
        cluster.state().await.unwrap().agents[0]
            .reserved_resources_full
            .contains_key("role-a")
    })
    .await?;

    // Framework B (another role) gets the unreserved rest only.
    let mut b = Sched::subscribe(
        url,
        framework("b", "role-b", 0.0, &[Cap::ReservationRefinement]),
        Enc::Protobuf,
    )
    .await?;
    let ob = b.offers().await?.remove(0);
    assert!(
        ob.resources
            .iter()
            .all(|r| r.reservations.is_empty() && r.disk.is_none()),
        "{ob:?}"
    );
    assert_eq!(offered(&ob, "cpus"), 2.0);
    // B cannot unreserve or use A's resources even if it names them.
    b.accept(
        &ob,
        vec![
            unreserve_op(vec![cpus.clone()]),
            destroy_op(vec![vol.clone()]),
        ],
        0.0,
    )
    .await?;
    let ob = b.offers().await?.remove(0);
    assert!(ob.resources.iter().all(|r| r.reservations.is_empty()));
    let st = cluster.state().await?;
    assert_eq!(st.agents[0].volumes.len(), 1);
    // B cannot reserve for role-a.
    let steal = reserved(scalar("cpus", 1.0), "role-a", &b.principal(), "b1");
    b.accept(&ob, vec![reserve_op(vec![steal])], 0.0).await?;
    let ob = b.offers().await?.remove(0);
    assert_eq!(offered(&ob, "cpus"), 2.0);
    assert!(
        !cluster.state().await?.agents[0]
            .reserved_resources_full
            .contains_key("role-b")
    );
    b.send(decline(vec![ob.id.clone()], 3600.0)).await?;

    // A, revived, sees its reservation and its volume (refinement format: the stack).
    a.send(simple(call::Type::Revive)).await?;
    let oa = a
        .offer_where(|o| o.resources.iter().any(|r| !r.reservations.is_empty()))
        .await?;
    let got_vol = oa.resources.iter().find(|r| r.disk.is_some()).unwrap();
    assert_eq!(got_vol.reservations[0].role.as_deref(), Some("role-a"));
    assert_eq!(
        got_vol.reservations[0].labels.as_ref().unwrap().labels[0]
            .value
            .as_deref(),
        Some("a1")
    );
    assert_eq!(
        got_vol
            .disk
            .as_ref()
            .unwrap()
            .persistence
            .as_ref()
            .unwrap()
            .id,
        "a-vol"
    );
    // A reservation with the wrong principal is refused.
    let bad = reserved(scalar("mem", 10.0), "role-a", "someone-else", "a2");
    a.accept(&oa, vec![reserve_op(vec![bad])], 0.0).await?;
    assert_eq!(
        cluster.state().await?.agents[0].reserved_resources_full["role-a"].len(),
        2
    );
    cluster.shutdown().await?;
    Ok(())
}
