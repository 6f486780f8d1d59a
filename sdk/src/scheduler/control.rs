//! The operator API of a running scheduler: [`SchedulerControl`] implements
//! [`ServiceControl`] over the scheduler's snapshots, its command channel, its state
//! store and its telemetry.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use stead_proto::v1::TaskInfo;
use stead_spec::ServiceSpec;
use stead_state::{ConfigStore, StateStore};
use tokio::sync::{mpsc, oneshot, watch};

use super::core::Command;
use super::publish::ServiceSnapshot;
use super::telemetry::Telemetry;
use crate::api::{
    ControlError, ControlResult, Health, MetricsSnapshot, OffersDebug, PlanCommand, PodCommand,
    PodInfo, PodSummary, ServiceControl,
};
use crate::http::ApiArgs;
use crate::mesos::resources as res;
use crate::offer::operations::task_labels;
use crate::plan::{PlanName, PlanSnapshot};
use crate::{Error, Result};

/// The [`ServiceControl`] of a running scheduler.
pub struct SchedulerControl {
    commands: mpsc::Sender<Command>,
    snapshots: watch::Receiver<ServiceSnapshot>,
    store: StateStore,
    configs: ConfigStore<ServiceSpec>,
    telemetry: Arc<Telemetry>,
    /// Instance name -> (task type, index), from the spec.
    instances: HashMap<String, (String, u32)>,
}

fn internal(e: impl std::fmt::Display) -> ControlError {
    ControlError::internal(e.to_string())
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
    /// The control of the scheduler running `spec`, reached through `commands`.
    pub fn new(
        spec: &ServiceSpec,
        commands: mpsc::Sender<Command>,
        snapshots: watch::Receiver<ServiceSnapshot>,
        store: StateStore,
        configs: ConfigStore<ServiceSpec>,
        telemetry: Arc<Telemetry>,
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

/// The configuration id recorded on a launched task.
fn config_of(task: &TaskInfo) -> Option<String> {
    res::label(task.labels.as_ref(), task_labels::CONFIG_ID).map(String::from)
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
                    })
                })
                .collect())
        })
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
                task.as_ref().and_then(config_of),
            ))
        })
    }

    fn pod_command<'a>(
        &'a self,
        instance: &'a str,
        command: PodCommand,
    ) -> BoxFuture<'a, ControlResult<()>> {
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

/// The API flags of a scheduler process: `STEAD_API_TOKEN` from `env`, then `--bind ADDR`
/// and `--api-token TOKEN` (or `--flag=value`) from `args`; other arguments are left alone.
pub(super) fn api_args(
    env: impl Fn(&str) -> Option<String>,
    args: impl IntoIterator<Item = String>,
) -> Result<ApiArgs> {
    let mut api = ApiArgs {
        api_token: env(crate::http::TOKEN_ENV).filter(|t| !t.is_empty()),
        ..ApiArgs::default()
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if !matches!(flag.as_str(), "--bind" | "--api-token") {
            continue;
        }
        let Some(value) = inline.or_else(|| args.next()) else {
            return Err(Error::Config(format!("{flag} needs a value")));
        };
        if flag == "--bind" {
            api.bind = value.trim().parse().map_err(|_| {
                Error::Config(format!("--bind must be an IP address, got `{value}`"))
            })?;
        } else {
            api.api_token = Some(value).filter(|t| !t.is_empty());
        }
    }
    Ok(api)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn api_flags_and_env() {
        let none = api_args(|_| None, args(&["prog", "--agents", "2"])).unwrap();
        assert_eq!(none.socket_addr(0).ip().to_string(), "127.0.0.1");
        assert!(none.api_token.is_none());
        let env = |k: &str| (k == crate::http::TOKEN_ENV).then(|| "from-env".to_string());
        assert_eq!(
            api_args(env, args(&[])).unwrap().api_token.as_deref(),
            Some("from-env")
        );
        let a = api_args(env, args(&["--bind=0.0.0.0", "--api-token", "s3cret"])).unwrap();
        assert_eq!(a.socket_addr(80).to_string(), "0.0.0.0:80");
        assert_eq!(a.api_token.as_deref(), Some("s3cret"));
        let bad = api_args(|_| None, args(&["--bind", "localhost"])).unwrap_err();
        assert!(bad.to_string().contains("--bind"), "{bad}");
        assert!(api_args(|_| None, args(&["--api-token"])).is_err());
    }
}
