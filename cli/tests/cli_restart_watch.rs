//! `stead pod restart` followed at once by `stead plan watch recovery`, in a loop, against
//! a live scheduler on the embedded cluster: the watch must not end before the restart it
//! follows is done (it used to see the previous, complete recovery plan and exit 0 while
//! the old task still ran).

mod cli_support;

// Shared with the `stead` crate's own API tests, which keep it beside them.
#[path = "../../sdk/tests/live_support/mod.rs"]
mod live_support;

use std::process::Output;
use std::time::Duration;

use cli_support::{run_stead, success};
use live_support::Live;
use serde_json::Value;
use stead::prelude::*;

task_type! {
    /// A node that takes a second to stop when killed, as a real server does: a watch
    /// that ends before the kill's status arrives shows the old task.
    Slow {
        name: "slow",
        count: 2,
        command: "trap 'sleep 1; exit 0' TERM; while :; do sleep 1; done",
        cpus: 0.1,
        mem: 32 MiB,
    }
}

/// The service under test.
#[service(name = "restart-watch")]
struct RestartWatch {
    slow: Slow,
}

/// Restarts per way of watching.
const ROUNDS: usize = 4;

async fn stead(url: &str, args: &[&str]) -> Output {
    run_stead(url, None, args, Duration::from_secs(120)).await
}

/// The task id and state of `instance` as `stead pod list --json` shows them.
async fn task_of(url: &str, instance: &str) -> (Value, Value) {
    let pods: Value = serde_json::from_str(&success(&stead(url, &["pod", "list", "--json"]).await))
        .expect("pod list --json is JSON");
    let pod = pods
        .as_array()
        .expect("a list of pods")
        .iter()
        .find(|p| p["instance"] == instance)
        .expect("the instance is listed")
        .clone();
    (pod["task_id"].clone(), pod["state"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_right_after_a_restart_waits_for_that_restart() {
    let live = Live::deployed(&RestartWatch::default(), None).await;
    let url = live.url.as_str();
    for round in 0..ROUNDS {
        let (before, _) = task_of(url, "slow-0").await;
        success(&stead(url, &["pod", "restart", "slow-0"]).await);
        let out = success(&stead(url, &["plan", "watch", "recovery", "--timeout", "60"]).await);
        assert!(out.contains("plan recovery COMPLETE"), "{out}");
        let (after, state) = task_of(url, "slow-0").await;
        assert_ne!(
            after, before,
            "round {round}: the watch ended before slow-0 was relaunched\n{out}"
        );
        assert_eq!(state, "TASK_RUNNING", "round {round}");
    }
    for round in 0..ROUNDS {
        let (before, _) = task_of(url, "slow-1").await;
        let out = success(&stead(url, &["pod", "restart", "slow-1", "--watch"]).await);
        assert!(out.contains("plan recovery COMPLETE"), "{out}");
        let (after, state) = task_of(url, "slow-1").await;
        assert_ne!(after, before, "round {round}: --watch ended early\n{out}");
        assert_eq!(state, "TASK_RUNNING", "round {round}");
    }
    live.stop().await;
}
