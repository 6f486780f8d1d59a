//! The randomized fault suite: the data-store example's scheduler, a real process, is
//! killed with SIGKILL at seeded random points of a deploy, a rolling update, a scale
//! out, a decommission, a replace and an uninstall, on a standalone embedded cluster (the
//! `stead-local-cluster` binary). Some kill points are timed; the others are chosen calls
//! of the scheduler that a proxy between it and the master delivers, drops or delays
//! before killing it. After each operation an invariant checker reads only the cluster's
//! state and the operator API (see `faults/invariants.rs`).
//!
//! The seed is printed; `STEAD_FAULTS_SEED=<seed>` replays a run's choices,
//! `STEAD_FAULTS_KILLS` and `STEAD_FAULTS_WORKERS` change how many kill points and how
//! many clusters at once. Outside `cargo test --workspace`, build the example and the
//! cluster binary first: `cargo build --example data-store` and
//! `cargo build -p stead-local --bin stead-local-cluster` (with `--release` for the soak
//! of release checks: `cargo test --release --test faults -- --ignored soak`).

#[path = "../examples/data-store/spec.rs"]
#[allow(dead_code)]
mod spec;

#[path = "faults/cluster.rs"]
mod cluster;
#[path = "faults/invariants.rs"]
mod invariants;
#[path = "faults/proxy.rs"]
mod proxy;
#[path = "faults/run.rs"]
mod run;
#[path = "faults/scheduler.rs"]
mod scheduler;

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use run::{KillPoint, Op};

use crate::proxy::{Action, CallType, Fault};

/// Kill points of a CI run.
const CI_KILLS: usize = 120;
/// Kill points of the soak.
const SOAK_KILLS: usize = 5000;

/// Runs the suite with `kills` kill points by default and fails on any violation.
async fn suite(kills: usize, workers: usize, budget: Duration) -> Result<()> {
    stead_suite::init_logging();
    let config = run::Config::from_env(kills, workers, budget)?;
    let seed = config.seed;
    eprintln!(
        "fault suite: seed {seed} ({}={seed} replays it), {} kill points, {} workers",
        run::SEED_VAR,
        config.kills,
        config.workers
    );
    let started = Instant::now();
    let report = run::run(&config).await?;
    eprintln!(
        "fault suite: seed {seed}: {} kill points over {} operations in {} rounds, {} failures, {:.0?}; by kind: {:?}",
        report.kills,
        report.operations,
        report.rounds,
        report.failures.len(),
        started.elapsed(),
        report.by_kind
    );
    for failure in &report.failures {
        eprintln!("{failure}");
    }
    let failures: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
    ensure!(
        failures.is_empty(),
        "seed {seed}: {} operations broke invariants:\n{}",
        failures.len(),
        failures.join("\n")
    );
    ensure!(
        report.kills >= config.kills,
        "seed {seed}: only {} of {} kill points fired within {budget:?}",
        report.kills,
        config.kills
    );
    Ok(())
}

/// Runs `ops` with the kill points given and fails on any violation, or when not every
/// kill point fired.
async fn scenario(name: &str, ops: Vec<(Op, Vec<KillPoint>)>) -> Result<()> {
    stead_suite::init_logging();
    let planned: usize = ops.iter().map(|(_, points)| points.len()).sum();
    let ops = ops.into_iter().map(|(op, p)| (op, Some(p))).collect();
    let report = run::scripted(name, ops).await?;
    let failures: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    ensure!(
        report.kills == planned,
        "{} of {planned} kill points fired",
        report.kills
    );
    Ok(())
}

/// A first deploy survives its launches' ACCEPTs lost or arriving after the scheduler's
/// death, and an uninstall its TEARDOWN lost: the proxy's faults fire as planned and the
/// checker finds the service as declared, then gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_and_an_uninstall_with_calls_lost_or_late_end_as_declared() -> Result<()> {
    let fault = |call, nth, action| KillPoint::Call(Fault { call, nth, action });
    let late = Action::KillThenDeliverLate(Duration::from_millis(300));
    scenario(
        "lost-calls",
        vec![
            (
                Op::Deploy,
                vec![
                    fault(CallType::Accept, 1, Action::DropThenKill),
                    fault(CallType::Accept, 2, late),
                ],
            ),
            (
                Op::Uninstall,
                vec![fault(CallType::Teardown, 1, Action::DropThenKill)],
            ),
        ],
    )
    .await
}

/// The scheduler dies after storing an update's relaunch, before that ACCEPT reaches the
/// master: the restarted scheduler must still relaunch with the target's resources.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_update_whose_relaunch_accept_is_lost_with_the_scheduler_completes() -> Result<()>
{
    let lost_accept = KillPoint::Call(Fault {
        call: CallType::Accept,
        nth: 1,
        action: Action::DropThenKill,
    });
    scenario(
        "lost-relaunch",
        vec![(Op::Deploy, vec![]), (Op::Update(1.5), vec![lost_accept])],
    )
    .await
}

/// The scheduler dies after a decommission erased the retired instance and sent the
/// release of its reservations and volume, before the master applied it (the ACCEPT
/// lost, then arriving after the kill): the restarted scheduler must still release them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decommission_whose_release_accept_is_lost_with_the_scheduler_leaks_nothing() -> Result<()>
{
    let fault = |action| {
        KillPoint::Call(Fault {
            call: CallType::Accept,
            nth: 1,
            action,
        })
    };
    scenario(
        "lost-release",
        vec![
            (Op::Deploy, vec![]),
            (
                Op::Decommission,
                vec![
                    fault(Action::DropThenKill),
                    fault(Action::KillThenDeliverLate(Duration::from_millis(300))),
                ],
            ),
        ],
    )
    .await
}

/// The scheduler dies right after its first SUBSCRIBE reached the master: the restarted
/// one must go on as the same framework, leaving no orphan behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_right_after_the_first_subscribe_leaves_no_orphan_framework() -> Result<()> {
    let early = KillPoint::Call(Fault {
        call: CallType::Subscribe,
        nth: 1,
        action: Action::PassThenKill,
    });
    scenario("early-kill", vec![(Op::Deploy, vec![early])]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_points_keep_the_invariants() -> Result<()> {
    suite(CI_KILLS, 2, Duration::from_secs(480)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the release soak: cargo test --release --test faults -- --ignored soak"]
async fn soak() -> Result<()> {
    suite(SOAK_KILLS, 2, Duration::from_secs(6 * 3600)).await
}
