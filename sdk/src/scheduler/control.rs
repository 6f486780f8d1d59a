//! The operator API of a running scheduler: [`SchedulerControl`] implements
//! [`ServiceControl`] over the scheduler's snapshots, its command channel, its state
//! store and its telemetry.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use stead_spec::ServiceSpec;
use stead_state::{ConfigStore, StateStore};
use tokio::sync::{mpsc, oneshot, watch};

use super::core::Command;
use super::publish::ServiceSnapshot;
use super::telemetry::Telemetry;
use crate::Error;
use crate::api::{
    ControlError, ControlResult, Endpoints, Health, LogChunk, LogRequest, MetricsSnapshot,
    OffersDebug, PlanCommand, PodCommand, PodInfo, PodSummary, ServiceControl, Started,
};
use crate::mesos::sandbox::{self, Run, SandboxError};
use crate::mesos::{MesosClient, MesosError};
use crate::offer::operations::config_id_of;
use crate::plan::{PlanName, PlanSnapshot};

/// The [`ServiceControl`] of a running scheduler.
pub struct SchedulerControl {
    commands: mpsc::Sender<Command>,
    snapshots: watch::Receiver<ServiceSnapshot>,
    store: StateStore,
    configs: ConfigStore<ServiceSpec>,
    telemetry: Arc<Telemetry>,
    /// Instance name -> (task type, index), from the spec.
    instances: HashMap<String, (String, u32)>,
    /// The service's name.
    service: String,
    /// The master, for the agents' sandboxes.
    master: Arc<MesosClient>,
}

fn internal(e: impl std::fmt::Display) -> ControlError {
    ControlError::internal(e.to_string())
}

/// A failure to read a sandbox as an API error: what is not there is not found, an
/// unreachable master or agent is unavailable.
fn from_sandbox_error(e: SandboxError) -> ControlError {
    match e {
        SandboxError::NoSandbox { .. } | SandboxError::UnknownAgent(_) => {
            ControlError::not_found(e.to_string())
        }
        SandboxError::Mesos(MesosError::Status { status, .. })
            if status == hyper::StatusCode::NOT_FOUND =>
        {
            ControlError::not_found(e.to_string())
        }
        SandboxError::Mesos(m) if m.is_unreachable() => ControlError::unavailable(m.to_string()),
        other => internal(other),
    }
}

/// A scheduler error as an API error.
fn from_error(e: Error) -> ControlError {
    match e {
        Error::Stopped => ControlError::unavailable("the scheduler has stopped"),
        Error::UnknownInstance(name) => ControlError::not_found(format!("pod {name:?}")),
        Error::UnknownPlan(name) => ControlError::not_found(format!("plan {name:?}")),
        e @ Error::PlanCommand(_) => ControlError::not_found(e.to_string()),
        other => internal(other),
    }
}

impl SchedulerControl {
    /// The control of the scheduler running `spec`, reached through `commands`, reading
    /// sandboxes through `master`.
    pub fn new(
        spec: &ServiceSpec,
        commands: mpsc::Sender<Command>,
        snapshots: watch::Receiver<ServiceSnapshot>,
        store: StateStore,
        configs: ConfigStore<ServiceSpec>,
        telemetry: Arc<Telemetry>,
        master: Arc<MesosClient>,
    ) -> SchedulerControl {
        let instances = spec
            .task_types
            .iter()
            .flat_map(|tt| (0..tt.count).map(move |i| (tt.instance_name(i), (tt.name.clone(), i))))
            .collect();
        SchedulerControl {
            commands,
            snapshots,
            store,
            configs,
            telemetry,
            instances,
            service: spec.name.clone(),
            master,
        }
    }

    fn snapshot(&self) -> ServiceSnapshot {
        self.snapshots.borrow().clone()
    }

    /// The task type and index of `instance`: from the spec, or from the name of an
    /// instance the scheduler still knows (e.g. one being decommissioned).
    fn type_of(&self, instance: &str, snapshot: &ServiceSnapshot) -> Option<(String, u32)> {
        if let Some(known) = self.instances.get(instance) {
            return Some(known.clone());
        }
        snapshot.instance(instance)?;
        let (task_type, index) = instance.rsplit_once('-')?;
        Some((task_type.to_string(), index.parse().ok()?))
    }

    /// The task type and index of `instance`, or NotFound.
    fn known(&self, instance: &str) -> ControlResult<(String, u32)> {
        self.type_of(instance, &self.snapshot())
            .ok_or_else(|| ControlError::not_found(format!("pod {instance:?}")))
    }

    async fn request<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> ControlResult<T> {
        let (tx, rx) = oneshot::channel();
        let stopped = || ControlError::unavailable("the scheduler has stopped");
        self.commands.send(make(tx)).await.map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())
    }

    fn target(&self) -> ControlResult<String> {
        self.configs
            .target()
            .map_err(internal)?
            .ok_or_else(|| ControlError::not_found("target configuration"))
    }
}

impl ServiceControl for SchedulerControl {
    fn plans(&self) -> BoxFuture<'_, ControlResult<Vec<PlanSnapshot>>> {
        Box::pin(async move { Ok(self.snapshot().plans) })
    }

    fn plan_command<'a>(
        &'a self,
        plan: &'a str,
        command: PlanCommand,
    ) -> BoxFuture<'a, ControlResult<()>> {
        Box::pin(async move {
            let name = PlanName::parse(plan);
            self.request(|tx| Command::Plan(name, command, tx))
                .await?
                .map_err(from_error)
        })
    }

    fn pods(&self) -> BoxFuture<'_, ControlResult<Vec<PodSummary>>> {
        Box::pin(async move {
            let snapshot = self.snapshot();
            Ok(snapshot
                .instances
                .iter()
                .cloned()
                .filter_map(|i| {
                    let (task_type, index) = self.type_of(&i.name, &snapshot)?;
                    Some(PodSummary {
                        instance: i.name,
                        task_type,
                        index,
                        task_id: i.task_id,
                        state: i.state,
                        agent_id: i.agent_id,
                        hostname: i.hostname,
                        ready: i.ready,
                        restarts: i.launch_count.saturating_sub(1),
                        running_since_ms: i.running_since_ms,
                    })
                })
                .collect())
        })
    }

    fn endpoints(&self) -> BoxFuture<'_, ControlResult<Endpoints>> {
        Box::pin(async move { Ok(self.snapshot().endpoints()) })
    }

    fn pod_info<'a>(&'a self, instance: &'a str) -> BoxFuture<'a, ControlResult<PodInfo>> {
        Box::pin(async move {
            let (task_type, index) = self.known(instance)?;
            let hostname = self
                .snapshot()
                .instance(instance)
                .and_then(|i| i.hostname.clone());
            let task = self.store.fetch_task(instance).map_err(internal)?;
            let status = self
                .store
                .fetch_status(instance)
                .map_err(internal)?
                // A status of an older launch says nothing about the current task.
                .filter(|s| task.as_ref().is_some_and(|t| t.task_id == s.task_id));
            Ok(PodInfo::from_task(
                instance,
                &task_type,
                index,
                task.as_ref(),
                status.as_ref(),
                hostname,
                task.as_ref().and_then(config_id_of).map(String::from),
            ))
        })
    }

    fn pod_command<'a>(
        &'a self,
        instance: &'a str,
        command: PodCommand,
    ) -> BoxFuture<'a, ControlResult<Started>> {
        Box::pin(async move {
            self.known(instance)?;
            let name = instance.to_string();
            let result = match command {
                PodCommand::Restart => self.request(|tx| Command::Restart(name, tx)).await?,
                PodCommand::Replace => self.request(|tx| Command::Replace(name, tx)).await?,
            };
            result.map_err(from_error)
        })
    }

    fn service_name(&self) -> BoxFuture<'_, ControlResult<String>> {
        Box::pin(async move { Ok(self.service.clone()) })
    }

    fn logs<'a>(
        &'a self,
        instance: &'a str,
        request: LogRequest,
    ) -> BoxFuture<'a, ControlResult<LogChunk>> {
        Box::pin(async move {
            self.known(instance)?;
            let task = self
                .store
                .fetch_task(instance)
                .map_err(internal)?
                .ok_or_else(|| ControlError::not_found(format!("a launched task of {instance}")))?;
            let framework = self
                .snapshot()
                .framework_id
                .ok_or_else(|| ControlError::unavailable("no framework id yet"))?;
            let current = task.task_id.value.as_str();
            let run = if request.previous {
                Run::Previous {
                    instance,
                    current: Some(current),
                }
            } else {
                Run::Current(current)
            };
            let agent = task.agent_id.value.as_str();
            let found = sandbox::locate(&self.master, agent, &framework, run)
                .await
                .map_err(from_sandbox_error)?;
            let stream = request.stream;
            let chunk = sandbox::read(
                &self.master,
                &found,
                stream.as_str(),
                request.offset,
                request.length,
            )
            .await
            .map_err(from_sandbox_error)?;
            Ok(LogChunk {
                instance: instance.to_string(),
                task_id: found.task_id,
                stream,
                offset: chunk.offset,
                data: chunk.data,
            })
        })
    }

    fn changes(&self) -> BoxStream<'static, ()> {
        let snapshots = self.snapshots.clone();
        Box::pin(futures::stream::unfold(
            snapshots,
            |mut snapshots| async move {
                snapshots.changed().await.ok()?;
                Some(((), snapshots))
            },
        ))
    }

    fn uninstall(&self) -> BoxFuture<'_, ControlResult<()>> {
        Box::pin(async move { self.request(Command::Uninstall).await?.map_err(from_error) })
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
            let s = self.snapshot();
            Ok(Health::from_plans(s.reconciled, &s.plans))
        })
    }

    fn metrics(&self) -> BoxFuture<'_, ControlResult<MetricsSnapshot>> {
        Box::pin(async move {
            let mut metrics = self.telemetry.metrics();
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
        Box::pin(async move { Ok(self.telemetry.offers()) })
    }
}
