//! A live scheduler on the embedded cluster, serving its own operator API.
//!
//! The `stead` command's tests (`cli/tests`) use it too, by path.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use stead::http::ApiArgs;
use stead::prelude::*;
use stead::scheduler::{Options, ServiceHandle};
use stead::state::{MemPersister, Persister};

task_type! {
    /// A node that idles; its volume survives relaunches.
    Node {
        name: "node",
        count: 2,
        command: "echo started >> data/log && while :; do sleep 1; done",
        cpus: 0.1,
        mem: 32 MiB,
        volume: root(16 MiB, "data"),
    }
}

/// The service under test.
#[service(name = "operator-live")]
pub struct OperatorLive {
    node: Node,
}

task_type! {
    /// More cpus than any agent of the embedded cluster has (4).
    Huge {
        name: "huge",
        count: 1,
        command: "sleep 1000",
        cpus: 64.0,
        mem: 32 MiB,
    }
}

/// A service that can never be placed.
#[service(name = "operator-unfit")]
pub struct OperatorUnfit {
    huge: Huge,
}

task_type! {
    /// Prints a numbered line to stdout every 100 ms, after one line to stderr.
    Talker {
        name: "talker",
        count: 1,
        command: "echo starting >&2; i=0; while :; do i=$((i+1)); echo line $i; sleep 0.1; done",
        cpus: 0.1,
        mem: 32 MiB,
    }
}

/// A service whose task writes output all the time.
#[service(name = "task-logs")]
pub struct TaskLogs {
    talker: Talker,
}

/// A running scheduler on its own embedded cluster.
pub struct Live {
    /// The API's base URL (`http://127.0.0.1:<port>`).
    pub url: String,
    /// The scheduler.
    pub handle: ServiceHandle,
}

fn options() -> Options {
    Options {
        agents: 2,
        backoff_base: Duration::from_millis(200),
        decline_short: Duration::from_secs(1),
        local_heartbeat: Duration::from_secs(1),
        ..Options::default()
    }
}

impl Live {
    /// Starts `spec` on 2 agents with the API on an ephemeral loopback port (with
    /// `token`), without waiting for anything.
    pub async fn launch(spec: &dyn ServiceSpecification, token: Option<&str>) -> Live {
        let persister: Arc<dyn Persister> = Arc::new(MemPersister::new());
        let handle = DefaultService::with_options(0, options())
            .persister(persister)
            .api(ApiArgs {
                api_token: token.map(String::from),
                ..ApiArgs::default()
            })
            .start(spec)
            .await
            .expect("the scheduler starts");
        let addr = handle.api_addr();
        assert!(addr.ip().is_loopback(), "loopback by default: {addr}");
        assert_ne!(addr.port(), 0, "an ephemeral port was picked");
        Live {
            url: format!("http://{addr}"),
            handle,
        }
    }

    /// Starts [`OperatorLive`] and waits until its deploy plan is complete.
    pub async fn start(token: Option<&str>) -> Live {
        Live::deployed(&OperatorLive::default(), token).await
    }

    /// Starts `spec` (see [`Live::launch`]) and waits until its deploy plan is complete.
    pub async fn deployed(spec: &dyn ServiceSpecification, token: Option<&str>) -> Live {
        let live = Live::launch(spec, token).await;
        live.handle
            .wait_for(Duration::from_secs(120), |s| {
                s.plan("deploy").is_some_and(|p| p.status.is_complete())
            })
            .await
            .expect("deployed within 120 s");
        live
    }

    /// Stops the API, the scheduler and its cluster (every task process reaped).
    pub async fn stop(self) {
        self.handle.shutdown().await.unwrap();
    }
}
