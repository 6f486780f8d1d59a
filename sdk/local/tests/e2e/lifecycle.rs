//! Reservations, volumes and tasks: the whole path a stateful framework takes.

use stead_proto::v1::TaskState;

use crate::client::*;

#[tokio::test]
async fn reserve_create_launch_and_the_volume_survives() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 1).await;
    let mut s = Sched::subscribe(
        cluster.master_url(),
        framework("store", "store-role", 60.0, &[]),
        Enc::Json,
    )
    .await?;
    assert_eq!(s.heartbeat_interval, 15.0);
    let offer = s.offer_where(|o| offered(o, "cpus") >= 1.0).await?;
    let (role, principal) = (s.role(), s.principal());
    let cpus = reserved(scalar("cpus", 1.0), &role, &principal, "r1");
    let mem = reserved(scalar("mem", 128.0), &role, &principal, "r1");
    let disk = reserved(scalar("disk", 64.0), &role, &principal, "r1");
    let vol = volume(disk.clone(), "vol-1", &principal, "data");
    let agent = offer.agent_id.clone();
    let t = task(
        "writer-1",
        &agent,
        "echo hello > data/file && test -n \"$MESOS_SANDBOX\" && echo done",
        vec![cpus.clone(), mem.clone(), vol.clone()],
    );
    s.accept(
        &offer,
        vec![
            reserve_op(vec![cpus.clone(), mem.clone(), disk.clone()]),
            create_op(vec![vol.clone()]),
            launch_op(vec![t]),
        ],
        0.0,
    )
    .await?;
    s.update("writer-1", TaskState::TaskRunning).await?;
    let fin = s.update("writer-1", TaskState::TaskFinished).await?;
    assert!(fin.message.unwrap_or_default().contains("status 0"));

    let state = cluster.state().await?;
    let a = &state.agents[0];
    assert_eq!(a.volumes.len(), 1);
    let host_path = a.volumes[0].host_path.clone();
    assert_eq!(std::fs::read_to_string(host_path.join("file"))?, "hello\n");
    assert_eq!(a.reserved_resources_full["store-role"].len(), 3);

    // The reserved resources and the volume come back in an offer; a relaunch sees the data.
    let offer = s
        .offer_where(|o| {
            o.resources
                .iter()
                .any(|r| r.disk.as_ref().is_some_and(|d| d.persistence.is_some()))
        })
        .await?;
    let offered_vol = offer
        .resources
        .iter()
        .find(|r| r.disk.is_some())
        .cloned()
        .unwrap();
    // Pre-refinement framework: the reservation is in `role` + `reservation`.
    assert_eq!(offered_vol.role.as_deref(), Some("store-role"));
    assert!(offered_vol.reservations.is_empty());
    let t = task(
        "reader-1",
        &offer.agent_id,
        "cat data/file",
        vec![cpus.clone(), mem.clone(), vol.clone()],
    );
    s.accept(&offer, vec![launch_op(vec![t])], 0.0).await?;
    s.update("reader-1", TaskState::TaskFinished).await?;
    let st = cluster.state().await?;
    let sandbox = st.frameworks[0]
        .completed_tasks
        .iter()
        .chain(st.frameworks[0].tasks.iter())
        .find(|t| t.id == "reader-1");
    assert!(sandbox.is_some());

    // DESTROY then UNRESERVE: everything is unreserved again and the directory is gone.
    let offer = s
        .offer_where(|o| o.resources.iter().any(|r| r.disk.is_some()))
        .await?;
    s.accept(
        &offer,
        vec![
            destroy_op(vec![vol.clone()]),
            unreserve_op(vec![cpus, mem, disk]),
        ],
        0.0,
    )
    .await?;
    eventually("the volume is destroyed and unreserved", || async {
        let st = cluster.state().await.unwrap();
        st.agents[0].volumes.is_empty() && st.agents[0].reserved_resources_full.is_empty()
    })
    .await?;
    // The directory is removed by the agents' disk thread, in order, soon after.
    eventually("the volume directory is removed", || async {
        !host_path.exists()
    })
    .await?;
    cluster.shutdown().await?;
    Ok(())
}
