//! Agent addresses: each agent of the embedded cluster has its own loopback address,
//! reported in its offers and in the master's state, and given to its tasks.

use std::collections::BTreeSet;

use stead_proto::v1::TaskState;

use crate::client::*;

#[tokio::test]
async fn each_agent_reports_its_own_address_and_its_tasks_get_it() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 2).await;
    let state = cluster.state().await?;
    let by_agent: Vec<(String, String)> = state
        .agents
        .iter()
        .map(|a| (a.id.clone(), a.address.clone()))
        .collect();
    let addresses: BTreeSet<&str> = by_agent.iter().map(|(_, a)| a.as_str()).collect();
    assert_eq!(addresses, BTreeSet::from(["127.0.1.1", "127.0.1.2"]));

    let mut s = Sched::subscribe(
        cluster.master_url(),
        framework("addr", "r", 0.0, &[]),
        Enc::Json,
    )
    .await?;
    let mut offers = s.offers().await?;
    while offers.len() < 2 {
        offers.extend(s.offers().await?);
    }
    for o in &offers {
        let url = o.url.as_ref().expect("an offer carries its agent's URL");
        let expected = by_agent
            .iter()
            .find(|(id, _)| *id == o.agent_id.value)
            .map(|(_, a)| a.as_str());
        assert_eq!(url.address.ip.as_deref(), expected, "{o:?}");
    }

    let o = &offers[1];
    let out = dir.path().join("container-ip");
    let t = task(
        "where",
        &o.agent_id,
        &format!("echo $MESOS_CONTAINER_IP > {}", out.display()),
        vec![scalar("cpus", 0.1), scalar("mem", 16.0)],
    );
    s.accept(o, vec![launch_op(vec![t])], 0.0).await?;
    s.update("where", TaskState::TaskFinished).await?;
    let seen = std::fs::read_to_string(&out)?;
    assert_eq!(
        Some(seen.trim()),
        o.url.as_ref().and_then(|u| u.address.ip.as_deref())
    );
    cluster.shutdown().await?;
    Ok(())
}
