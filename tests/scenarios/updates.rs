//! Changes to a deployed service: a rolling cpus update, scaling out, decommissioning
//! and an operator's replace.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Result, ensure};
use stead::plan::Status;
use stead_suite::{
    assert_in_place, eventually, launch_number, live_tasks, persistence_ids, reserved_for,
    resource_id, running_task, scalar_sum, volume_ids,
};

use crate::cluster::{Env, Kind};
use crate::common::{
    DATA, FIVE, LONG, ROLE, SERVICE, data_type, deploy_complete, deploy_once, deployed, running,
    running_exactly, running_in, stop,
};
use crate::spec;

/// A cpus change of the data nodes restarts each once, one at a time, in place with
/// its volume and data; the meta-data nodes are left alone; the reservations grow.
pub async fn rolling_cpus_update(kind: Kind) -> Result<()> {
    let env = Env::new(kind, 3).await?;
    let first = spec::spec()?;
    let before = deploy_once(&env, first.clone()).await?;
    let mut second = first;
    let (role, principal) = (second.role.clone(), second.principal.clone());
    data_type(&mut second).set_resource("cpus", 1.5, &role, &principal);
    let handle = env.start(second).await?;

    // Every task id each data node ran under, and the most of them down at once.
    let mut ids: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut max_down = 0;
    let deadline = tokio::time::Instant::now() + LONG;
    let after = loop {
        let st = env.state().await;
        let now = running_in(&st);
        for t in live_tasks(&st, SERVICE) {
            if let Some(d) = DATA.iter().find(|d| **d == t.name) {
                ids.entry(d).or_default().insert(t.id.clone());
            }
        }
        max_down = max_down.max(DATA.iter().filter(|d| !now.contains_key(**d)).count());
        let renewed = DATA
            .iter()
            .all(|d| now.get(*d).is_some_and(|t| t.id != before[*d].id));
        if renewed && now.len() == 5 && deploy_complete(&handle.snapshot()) {
            break now;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "the update did not finish: {:?}",
            handle.snapshot().plan("deploy")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for name in ["meta-data-0", "meta-data-1"] {
        assert_eq!(after[name].id, before[name].id, "{name} was not restarted");
    }
    for name in DATA {
        let (old, new) = (&before[name], &after[name]);
        assert_eq!(ids[name].len(), 2, "{name} restarted once: {:?}", ids[name]);
        assert_in_place(name, old, new);
        assert_eq!(launch_number(new, LONG).await?, 2, "{name} kept its data");
        assert_eq!(scalar_sum(&new.resources, "cpus"), 1.5, "{name} grew");
    }
    assert!(
        max_down <= 1,
        "one data node at a time, saw {max_down} down"
    );
    let reserved_cpus = scalar_sum(reserved_for(&env.state().await, ROLE), "cpus");
    assert!(
        (reserved_cpus - (3.0 * 1.5 + 2.0)).abs() < 1e-6,
        "reserved cpus: {reserved_cpus}"
    );
    stop(handle, env).await
}

/// Scaling the data nodes out from 3 to 5 launches only the two new ones.
pub async fn scale_out(kind: Kind) -> Result<()> {
    let env = Env::new(kind, 3).await?;
    let first = spec::spec()?;
    let before = deploy_once(&env, first.clone()).await?;
    let mut more = first;
    data_type(&mut more).count = 5;
    let handle = env.start(more).await?;
    deployed(&handle).await?;
    let seven = [&FIVE[..], &["data-3", "data-4"]].concat();
    let after = running_exactly(&env, &seven).await?;
    for (name, task) in &before {
        assert_eq!(after[name].id, task.id, "{name} was not restarted");
    }
    for new in ["data-3", "data-4"] {
        assert_eq!(launch_number(&after[new], LONG).await?, 1, "{new} is new");
    }
    assert_eq!(volume_ids(&env.state().await).len(), 7);
    stop(handle, env).await
}

/// Lowering the data nodes' count from 5 to 3 (decommission allowed) kills data-4,
/// then data-3, destroys their volumes and releases their reservations, and leaves the
/// others alone.
pub async fn decommission(kind: Kind) -> Result<()> {
    let env = Env::new(kind, 3).await?;
    let mut five = spec::spec()?;
    data_type(&mut five).count = 5;
    let before = deploy_once(&env, five.clone()).await?;
    assert_eq!(before.len(), 7);

    let mut three = five;
    data_type(&mut three).count = 3;
    data_type(&mut three).allow_decommission = true;
    let handle = env.start(three).await?;
    let mut gone_order = Vec::new();
    let deadline = tokio::time::Instant::now() + LONG;
    while gone_order.len() < 2 {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "data-4 and data-3 not gone in time"
        );
        let now = running_in(&env.state().await);
        for name in ["data-4", "data-3"] {
            if !now.contains_key(name) && !gone_order.contains(&name) {
                gone_order.push(name);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(gone_order, ["data-4", "data-3"], "highest index first");
    handle
        .wait_for(LONG, |s| {
            [s.plan("decommission"), s.plan("deploy")]
                .iter()
                .all(|p| p.is_some_and(|p| p.status == Status::Complete))
        })
        .await?;
    let gone = ["data-3", "data-4"];
    let freed: BTreeSet<String> = gone
        .iter()
        .flat_map(|n| before[*n].resources.iter().filter_map(resource_id))
        .collect();
    let volumes: Vec<String> = gone
        .iter()
        .flat_map(|n| persistence_ids(&before[*n]))
        .collect();
    eventually("their volumes and reservations released", LONG, || async {
        let st = env.state().await;
        let ids = volume_ids(&st);
        let reserved: BTreeSet<String> = reserved_for(&st, ROLE).filter_map(resource_id).collect();
        (volumes.iter().all(|v| !ids.contains(v)) && freed.is_disjoint(&reserved)).then_some(())
    })
    .await?;
    let left = running_exactly(&env, &FIVE).await?;
    for (name, task) in &left {
        assert_eq!(task.id, before[name].id, "{name} was left alone");
    }
    stop(handle, env).await
}

/// An operator's replace of a running data node: it starts afresh on a new volume and
/// its old volume is destroyed. (A replace after its agent was removed for good needs
/// a single agent removed, which only the embedded cluster can do: tests/e2e.rs.)
pub async fn replace(kind: Kind) -> Result<()> {
    let env = Env::new(kind, 3).await?;
    let handle = env.start(spec::spec()?).await?;
    deployed(&handle).await?;
    let old = running(&env, "data-0").await?;
    let old_volumes = persistence_ids(&old);
    assert!(!old_volumes.is_empty());
    handle.replace("data-0").await?;
    let new = eventually("data-0 replaced", LONG, || async {
        running_task(&env.state().await, SERVICE, "data-0")
            .filter(|t| t.id != old.id)
            .cloned()
    })
    .await?;
    assert_ne!(persistence_ids(&new), old_volumes, "a new volume");
    assert_eq!(launch_number(&new, LONG).await?, 1, "started afresh");
    eventually("the old volume destroyed", LONG, || async {
        let ids = volume_ids(&env.state().await);
        old_volumes.iter().all(|v| !ids.contains(v)).then_some(())
    })
    .await?;
    stop(handle, env).await
}
