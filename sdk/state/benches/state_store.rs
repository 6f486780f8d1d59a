//! Sustained durable writes of task statuses per second on the redb backend, one commit
//! per status and batched (many statuses per commit), then the same against a local
//! ZooKeeper (when installed; it runs on the same machine, so the numbers include its own
//! fsyncs) and the in-memory backend for reference. Every redb commit is durable (fsync)
//! before it returns.
//!
//! `cargo bench -p stead-state --bench state_store` (set `STEAD_BENCH_DIR` to choose the
//! disk; by default the cargo target's temporary directory).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use stead_proto::v1::{AgentId, TaskId, TaskState, TaskStatus};
use stead_state::zk::{ZkOptions, ZkUrl};
use stead_state::{MemPersister, Persister, RedbPersister, StateStore, ZkPersister};

/// Each measurement stops after this many statuses or this long, whichever comes first.
const MAX_WRITES: usize = 200_000;
const MAX_TIME: Duration = Duration::from_secs(3);
const TASKS: usize = 5_000;

fn status(i: usize) -> TaskStatus {
    TaskStatus {
        task_id: TaskId {
            value: format!("data-{i}__a1b2c3d4-0000-0000-0000-000000000000"),
        },
        state: TaskState::TaskRunning as i32,
        message: Some("Task is running".to_owned()),
        agent_id: Some(AgentId {
            value: "0f7c1e2a-6d3b-4a0e-9f51-0c3e2b1a9d88-S0".to_owned(),
        }),
        timestamp: Some(1_700_000_000.0),
        uuid: Some(vec![7; 16]),
        ..Default::default()
    }
}

/// Writes statuses in commits of `batch`; returns statuses per second.
fn run(
    store: &StateStore,
    names: &[String],
    statuses: &[TaskStatus],
    batch: usize,
) -> (usize, f64) {
    let start = Instant::now();
    let mut written = 0;
    while written < MAX_WRITES && start.elapsed() < MAX_TIME {
        let from = written % names.len();
        let to = (from + batch).min(names.len());
        store
            .store_statuses((from..to).map(|i| (names[i].as_str(), &statuses[i])))
            .expect("durable write");
        written += to - from;
    }
    (written, written as f64 / start.elapsed().as_secs_f64())
}

fn main() {
    let dir = std::env::var_os("STEAD_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    let tmp = tempfile::tempdir_in(&dir).expect("benchmark directory");
    let names: Vec<String> = (0..TASKS).map(|i| format!("data-{i}")).collect();
    let statuses: Vec<TaskStatus> = (0..TASKS).map(status).collect();

    println!(
        "state_store: durable TaskStatus writes (redb in {})",
        dir.display()
    );
    println!(
        "{:<10} {:>8} {:>12} {:>16}",
        "backend", "batch", "statuses", "statuses/s"
    );
    for batch in [1, 10, 100, 1_000] {
        let redb: Arc<dyn Persister> = Arc::new(
            RedbPersister::open(tmp.path().join(format!("state-{batch}.redb"))).expect("open redb"),
        );
        let (n, rate) = run(&StateStore::new(redb), &names, &statuses, batch);
        println!("{:<10} {:>8} {:>12} {:>16.0}", "redb", batch, n, rate);
    }
    match stead_state::testing::ZkServer::start() {
        Ok(server) => {
            let url = ZkUrl::parse(&server.url("")).expect("ZooKeeper URL");
            for batch in [1, 100, 1_000] {
                let zk: Arc<dyn Persister> = Arc::new(
                    ZkPersister::connect_with(
                        &url,
                        &format!("/bench/b{batch}"),
                        ZkOptions::default(),
                    )
                    .expect("connect to ZooKeeper"),
                );
                let (n, rate) = run(&StateStore::new(zk), &names, &statuses, batch);
                println!("{:<10} {:>8} {:>12} {:>16.0}", "zookeeper", batch, n, rate);
            }
        }
        Err(e) => println!("zookeeper: skipped ({e})"),
    }
    for batch in [1, 1_000] {
        let mem: Arc<dyn Persister> = Arc::new(MemPersister::new());
        let (n, rate) = run(&StateStore::new(mem), &names, &statuses, batch);
        println!("{:<10} {:>8} {:>12} {:>16.0}", "memory", batch, n, rate);
    }
}
