//! A live scheduler on the embedded cluster with the operator API in front of it.
//!
//! The API is served over the scheduler's public Rust API (`ServiceHandle`) and its
//! state store: plans, pods, pod restart and replace, configurations, framework id and
//! health are the scheduler's own. Counters the handle does not expose (offers,
//! operations, write latency) and the offer diagnostics are not asserted by the live
//! tests; task counts are derived from the instances.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use stead::http::{
    ApiOptions, ControlError, ControlResult, Health, MetricsSnapshot, OffersDebug, PlanCommand,
    PodCommand, PodInfo, PodSummary, ServiceControl,
};
use stead::plan::PlanSnapshot;
use stead::prelude::*;
use stead::scheduler::{Options, ServiceHandle, ServiceSnapshot};
use stead::spec::ServiceSpec;
use stead::state::{ConfigStore, MemPersister, Persister, StateStore};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

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

/// The operator view of a running scheduler.
pub struct LiveControl {
    handle: Arc<ServiceHandle>,
    store: StateStore,
    configs: ConfigStore<ServiceSpec>,
}

/// `(type, index)` of an instance name `<type>-<index>`.
fn split_instance(name: &str) -> (String, u32) {
    match name.rsplit_once('-') {
        Some((t, i)) => (t.to_string(), i.parse().unwrap_or(0)),
        None => (name.to_string(), 0),
    }
}

fn internal(e: impl std::fmt::Display) -> ControlError {
    ControlError::internal(e.to_string())
}

impl LiveControl {
    fn snapshot(&self) -> ServiceSnapshot {
        self.handle.snapshot()
    }

    fn target(&self) -> ControlResult<String> {
        self.configs
            .target()
            .map_err(internal)?
            .ok_or_else(|| ControlError::not_found("target configuration"))
    }
}

impl ServiceControl for LiveControl {
    fn plans(&self) -> BoxFuture<'_, ControlResult<Vec<PlanSnapshot>>> {
        Box::pin(async move { Ok(self.handle.plans()) })
    }

    fn plan_command<'a>(
        &'a self,
        _plan: &'a str,
        _command: PlanCommand,
    ) -> BoxFuture<'a, ControlResult<()>> {
        Box::pin(async move {
            Err(ControlError::conflict(
                "plan commands are not offered by ServiceHandle",
            ))
        })
    }

    fn pods(&self) -> BoxFuture<'_, ControlResult<Vec<PodSummary>>> {
        Box::pin(async move {
            Ok(self
                .snapshot()
                .instances
                .into_iter()
                .map(|i| {
                    let (task_type, index) = split_instance(&i.name);
                    PodSummary {
                        instance: i.name,
                        task_type,
                        index,
                        task_id: i.task_id,
                        state: i.state,
                        agent_id: i.agent_id,
                        hostname: i.hostname,
                    }
                })
                .collect())
        })
    }

    fn pod_info<'a>(&'a self, instance: &'a str) -> BoxFuture<'a, ControlResult<PodInfo>> {
        Box::pin(async move {
            let snapshot = self.snapshot();
            let known = snapshot
                .instance(instance)
                .ok_or_else(|| ControlError::not_found(format!("pod {instance:?}")))?;
            let task = self.store.fetch_task(instance).map_err(internal)?;
            let status = self.store.fetch_status(instance).map_err(internal)?;
            let (task_type, index) = split_instance(instance);
            Ok(PodInfo::from_task(
                instance,
                &task_type,
                index,
                task.as_ref(),
                status.as_ref(),
                known.hostname.clone(),
                self.target().ok(),
            ))
        })
    }

    fn pod_command<'a>(
        &'a self,
        instance: &'a str,
        command: PodCommand,
    ) -> BoxFuture<'a, ControlResult<()>> {
        Box::pin(async move {
            if self.snapshot().instance(instance).is_none() {
                return Err(ControlError::not_found(format!("pod {instance:?}")));
            }
            let result = match command {
                PodCommand::Restart => self.handle.restart(instance).await,
                PodCommand::Replace => self.handle.replace(instance).await,
            };
            result.map_err(|e| ControlError::conflict(e.to_string()))
        })
    }

    fn configuration_ids(&self) -> BoxFuture<'_, ControlResult<Vec<String>>> {
        Box::pin(async move { self.configs.list().map_err(internal) })
    }

    fn target_configuration_id(&self) -> BoxFuture<'_, ControlResult<String>> {
        Box::pin(async move { self.target() })
    }

    fn configuration<'a>(&'a self, id: &'a str) -> BoxFuture<'a, ControlResult<serde_json::Value>> {
        Box::pin(async move {
            let spec = self
                .configs
                .fetch(id)
                .map_err(internal)?
                .ok_or_else(|| ControlError::not_found(format!("configuration {id:?}")))?;
            serde_json::to_value(spec).map_err(internal)
        })
    }

    fn framework_id(&self) -> BoxFuture<'_, ControlResult<String>> {
        Box::pin(async move {
            self.snapshot()
                .framework_id
                .ok_or_else(|| ControlError::not_found("framework id"))
        })
    }

    fn health(&self) -> BoxFuture<'_, ControlResult<Health>> {
        Box::pin(async move {
            let snapshot = self.snapshot();
            Ok(Health::from_plans(
                snapshot.framework_id.is_some(),
                &snapshot.plans,
            ))
        })
    }

    fn metrics(&self) -> BoxFuture<'_, ControlResult<MetricsSnapshot>> {
        Box::pin(async move {
            let mut metrics = MetricsSnapshot::default();
            for state in self
                .snapshot()
                .instances
                .into_iter()
                .filter_map(|i| i.state)
            {
                *metrics.tasks.entry(state).or_default() += 1;
            }
            Ok(metrics)
        })
    }

    fn debug_offers(&self) -> BoxFuture<'_, ControlResult<OffersDebug>> {
        Box::pin(async move { Ok(OffersDebug::default()) })
    }
}

/// A running scheduler, its embedded cluster and the API in front of it.
pub struct Live {
    /// The API's base URL.
    pub url: String,
    /// The scheduler.
    pub handle: Arc<ServiceHandle>,
    stop_api: Option<oneshot::Sender<()>>,
    api: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Live {
    /// Starts the scheduler (2 agents) and the API (with `token`), and waits until the
    /// deploy plan is complete.
    pub async fn start(token: Option<&str>) -> Live {
        let persister: Arc<dyn Persister> = Arc::new(MemPersister::new());
        let options = Options {
            agents: 2,
            backoff_base: Duration::from_millis(200),
            local_heartbeat: Duration::from_secs(1),
            ..Options::default()
        };
        let handle = DefaultService::with_options(0, options)
            .persister(persister.clone())
            .start(&OperatorLive::default())
            .await
            .expect("the scheduler starts");
        handle
            .wait_for(Duration::from_secs(120), |s| {
                s.plan("deploy").is_some_and(|p| p.status.is_complete())
            })
            .await
            .expect("deployed within 120 s");
        let handle = Arc::new(handle);
        let control = LiveControl {
            handle: handle.clone(),
            store: StateStore::new(persister.clone()),
            configs: ConfigStore::new(persister),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let (stop_api, stopped) = oneshot::channel();
        let api = tokio::spawn(stead::http::serve_with_shutdown(
            listener,
            Arc::new(control),
            ApiOptions {
                token: token.map(String::from),
            },
            async move {
                let _ = stopped.await;
            },
        ));
        Live {
            url: format!("http://{addr}"),
            handle,
            stop_api: Some(stop_api),
            api: Some(api),
        }
    }

    /// Stops the API, then the scheduler and its cluster (every task process reaped).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop_api.take() {
            let _ = stop.send(());
        }
        if let Some(api) = self.api.take() {
            api.await.unwrap().unwrap();
        }
        let handle = Arc::try_unwrap(self.handle).expect("the API released the scheduler");
        handle.shutdown().await.unwrap();
    }
}
