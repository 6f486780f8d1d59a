//! The master and agents down and back: what becomes of the tasks, and how soon the
//! scheduler subscribes again.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use stead::plan::Status;
use stead::proto::scheduler::call;
use stead_suite::{assert_in_place, launch_number, polling};

use crate::cluster::{Env, Kind};
use crate::common::{FIVE, LONG, SERVICE, deployed, deployed_data_store, running_exactly, stop};
use crate::proxy::{FaultProxy, RecordedCall};
use crate::spec;

/// The longest a scheduler may take to subscribe again once the master answers.
const PROMPT: Duration = Duration::from_secs(1);

/// Whether a scheduler of the service is subscribed, as the master sees it.
async fn subscribed(env: &Env) -> bool {
    env.state()
        .await
        .frameworks
        .iter()
        .any(|f| f.name == SERVICE && f.active)
}

/// The master and every agent crash and come back on the same state. On Apache Mesos
/// the tasks ran on meanwhile and nothing is relaunched; on the embedded cluster the
/// tasks ended with it and each is relaunched in place, on its agent with its volume
/// and data (see README, "Embedded cluster vs Apache Mesos").
pub async fn crash_and_recover(kind: Kind) -> Result<()> {
    let (mut env, handle) = deployed_data_store(kind).await?;
    let before = running_exactly(&env, &FIVE).await?;
    for t in before.values().filter(|t| t.name.starts_with("data-")) {
        assert_eq!(launch_number(t, LONG).await?, 1);
    }
    env.cluster.crash().await?;
    env.cluster.recover().await?;
    polling(
        "the scheduler subscribed again",
        LONG,
        PROMPT / 4,
        || async { subscribed(&env).await.then_some(()) },
    )
    .await?;
    handle
        .wait_for(LONG, |s| {
            s.reconciled
                && s.plan("recovery")
                    .is_none_or(|p| p.status == Status::Complete)
        })
        .await?;
    let after = running_exactly(&env, &FIVE).await?;
    if env.cluster.tasks_survive_crash() {
        // Watch a few offer cycles: every instance keeps its task.
        for _ in 0..20 {
            let now = running_exactly(&env, &FIVE).await?;
            for (name, task) in &before {
                ensure!(now[name].id == task.id, "{name} was relaunched");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    } else {
        for (name, old) in &before {
            let new = &after[name];
            assert_ne!(new.id, old.id, "{name} relaunched");
            assert_in_place(name, old, new);
            if name.starts_with("data-") {
                assert_eq!(launch_number(new, LONG).await?, 2, "{name} kept its data");
            }
        }
    }
    stop(handle, env).await
}

/// The master stops and starts again after the scheduler failed to reach it twice (its
/// backoff grows): the scheduler subscribes again within [`PROMPT`] of the master
/// answering. The scheduler talks to the master through a proxy that records when each
/// SUBSCRIBE was answered.
pub async fn prompt_reconnection(kind: Kind) -> Result<()> {
    let mut env = Env::new(kind, 3).await?;
    let url = env.cluster.master_url();
    let proxy = FaultProxy::start(&url).await?;
    let handle = env
        .start_with(spec::spec()?, |o| o.master = Some(proxy.url().to_string()))
        .await?;
    deployed(&handle).await?;

    env.cluster.crash().await?;
    let down = proxy.calls().len();
    let failed_subscribes = |calls: &[RecordedCall]| {
        calls
            .iter()
            .filter(|c| c.call == Some(call::Type::Subscribe) && !c.status.is_success())
            .count()
    };
    polling("two failed SUBSCRIBEs", LONG, PROMPT / 10, || async {
        (failed_subscribes(&proxy.calls()[down..]) >= 2).then_some(())
    })
    .await?;

    // The first moment the master answers again, seen from beside the scheduler.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let state_url = format!("{url}/master/state");
    let answering = tokio::spawn(async move {
        polling(
            "the master answering",
            LONG,
            Duration::from_millis(10),
            || async {
                let answer = http.get(&state_url).send().await.ok()?;
                answer.status().is_success().then(Instant::now)
            },
        )
        .await
    });
    env.cluster.recover().await?;
    let answered = answering.await??;
    let subscribed_at = polling("a SUBSCRIBE answered 200", LONG, PROMPT / 10, || async {
        proxy.calls()[down..]
            .iter()
            .find(|c| c.call == Some(call::Type::Subscribe) && c.status.is_success())
            .map(|c| c.at)
    })
    .await?;
    let took = subscribed_at.saturating_duration_since(answered);
    eprintln!(
        "{kind:?}: subscribed again {} ms after the master answered",
        took.as_millis()
    );
    let attempts: Vec<String> = proxy.calls()[down..]
        .iter()
        .filter(|c| c.call == Some(call::Type::Subscribe))
        .map(|c| {
            let at = c.at.checked_duration_since(answered).map_or_else(
                || format!("-{}", answered.duration_since(c.at).as_millis()),
                |d| d.as_millis().to_string(),
            );
            format!("{at} ms: {}", c.status)
        })
        .collect();
    assert!(
        took <= PROMPT,
        "re-subscribed after {took:?}; SUBSCRIBEs since the crash, from the master's first answer: {attempts:?}"
    );
    deployed(&handle)
        .await
        .context("deployed after the outage")?;
    stop(handle, env).await
}
