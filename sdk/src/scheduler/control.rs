//! The operator API of a running scheduler: [`SchedulerControl`] implements
//! [`ServiceControl`] over the scheduler's snapshots, its command channel, its state
//! store and its telemetry; [`ApiServer`] serves it on the API port.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use futures::future::BoxFuture;
use stead_proto::v1::TaskInfo;
use stead_spec::ServiceSpec;
use stead_state::{ConfigStore, StateStore};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::core::{Command, ServiceSnapshot};
use super::telemetry::Telemetry;
use crate::http::{
    ApiArgs, ControlError, ControlResult, Health, MetricsSnapshot, OffersDebug, PlanCommand,
    PodCommand, PodInfo, PodSummary, ServiceControl,
};
use crate::mesos::resources as res;
use crate::offer::operations::task_labels;
use crate::plan::{Phase, Plan, PlanSnapshot, Status};
use crate::{Error, Result};

/// Applies an operator command to `plan`.
///
/// `redo` holds the instances whose (running) task must be restarted when their reset
/// step is next handed out: a restart adds the instances of the reset steps, a forced
/// completion removes them.
pub(super) fn apply(
    plan: &mut Plan,
    command: PlanCommand,
    redo: &mut BTreeSet<String>,
) -> ControlResult<()> {
    let plan_name = plan.name.clone();
    let phase_index = |plan: &Plan, id: Option<Uuid>| -> ControlResult<Option<usize>> {
        match id {
            None => Ok(None),
            Some(id) => plan
                .phases()
                .iter()
                .position(|p| p.id == id)
                .map(Some)
                .ok_or_else(|| {
                    ControlError::not_found(format!("phase {id} in plan {plan_name:?}"))
                }),
        }
    };
    match command {
        PlanCommand::Interrupt { phase } => match phase_index(plan, phase)? {
            Some(pi) => plan.phase_mut(pi).into_iter().for_each(Phase::interrupt),
            None => plan.interrupt(),
        },
        PlanCommand::Continue { phase } => match phase_index(plan, phase)? {
            Some(pi) => plan.phase_mut(pi).into_iter().for_each(Phase::proceed),
            None => {
                plan.proceed();
                for pi in 0..plan.phases().len() {
                    plan.phase_mut(pi).into_iter().for_each(Phase::proceed);
                }
            }
        },
        PlanCommand::Restart { phase, step } | PlanCommand::ForceComplete { phase, step } => {
            let restart = matches!(command, PlanCommand::Restart { .. });
            let pi = phase_index(plan, phase)?;
            let mut touched = 0usize;
            for i in 0..plan.phases().len() {
                if pi.is_some_and(|pi| pi != i) {
                    continue;
                }
                let Some(p) = plan.phase_mut(i) else { continue };
                for si in 0..p.steps().len() {
                    let Some(mut s) = p.step_mut(si) else {
                        continue;
                    };
                    if step.is_some_and(|id| id != s.id) {
                        continue;
                    }
                    touched += 1;
                    if restart {
                        s.errors.clear();
                        s.set_status(Status::Pending);
                        s.message = "restarted by the operator".into();
                        redo.insert(s.instance.clone());
                    } else {
                        s.set_status(Status::Complete);
                        s.message = "completed by the operator".into();
                        redo.remove(&s.instance);
                    }
                }
            }
            if let (Some(id), 0) = (step, touched) {
                return Err(ControlError::not_found(format!(
                    "step {id} in plan {:?}",
                    plan.name
                )));
            }
        }
    }
    Ok(())
}

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
        Error::Request(m) if m.starts_with("unknown instance") => ControlError::not_found(m),
        Error::Request(m) => ControlError::conflict(m),
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
            let name = plan.to_string();
            self.request(|tx| Command::Plan(name, command, tx)).await?
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

/// The operator API server of one scheduler; stops when stopped or dropped.
#[derive(Debug)]
pub(super) struct ApiServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl ApiServer {
    /// Binds the API's address (`args.bind`, `port`; 0 picks a free port).
    pub async fn bind(args: &ApiArgs, port: u16) -> Result<TcpListener> {
        let addr = args.socket_addr(port);
        TcpListener::bind(addr)
            .await
            .map_err(|e| Error::Config(format!("the operator API cannot listen on {addr}: {e}")))
    }

    /// Serves `control` on `listener` in the background.
    pub fn start(
        listener: TcpListener,
        args: &ApiArgs,
        control: Arc<SchedulerControl>,
    ) -> Result<ApiServer> {
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(crate::http::serve_with_shutdown(
            listener,
            control,
            args.options(),
            async move {
                let _ = stopped.await;
            },
        ));
        tracing::info!(%addr, token = args.options().token.is_some(), "operator API listening");
        Ok(ApiServer {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address the API listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting requests and waits for open ones to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "the operator API failed"),
                Err(e) => tracing::warn!(error = %e, "the operator API task failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Phase, Step, StepKind, Strategy};

    fn plan() -> Plan {
        let phase = |name: &str| {
            Phase::new(
                name,
                Strategy::Serial,
                (0..2)
                    .map(|i| Step::new(format!("{name}-{i}"), StepKind::Launch))
                    .collect(),
            )
        };
        Plan::new("deploy", Strategy::Serial, vec![phase("a"), phase("b")])
    }

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

    #[test]
    fn interrupt_and_continue_phases() {
        let mut p = plan();
        let mut redo = BTreeSet::new();
        let b = p.phases()[1].id;
        apply(&mut p, PlanCommand::Interrupt { phase: Some(b) }, &mut redo).unwrap();
        assert!(p.phases()[1].is_interrupted() && !p.is_interrupted());
        apply(&mut p, PlanCommand::Interrupt { phase: None }, &mut redo).unwrap();
        assert!(p.candidates().is_empty());
        apply(&mut p, PlanCommand::Continue { phase: None }, &mut redo).unwrap();
        assert!(!p.phases()[1].is_interrupted() && !p.is_interrupted());
        assert_eq!(p.candidates(), vec![(0, 0)]);
        let err = apply(
            &mut p,
            PlanCommand::Continue {
                phase: Some(Uuid::new_v4()),
            },
            &mut redo,
        )
        .unwrap_err();
        assert_eq!(err.status_code(), 404);
    }

    #[test]
    fn force_complete_then_restart() {
        let mut p = plan();
        let mut redo = BTreeSet::new();
        let a = p.phases()[0].id;
        let b1 = p.phases()[1].steps()[1].id;
        apply(
            &mut p,
            PlanCommand::ForceComplete {
                phase: Some(a),
                step: None,
            },
            &mut redo,
        )
        .unwrap();
        assert_eq!(p.candidates(), vec![(1, 0)]);
        apply(
            &mut p,
            PlanCommand::ForceComplete {
                phase: None,
                step: Some(b1),
            },
            &mut redo,
        )
        .unwrap();
        assert_eq!(p.phases()[1].steps()[1].status(), Status::Complete);
        apply(
            &mut p,
            PlanCommand::Restart {
                phase: None,
                step: None,
            },
            &mut redo,
        )
        .unwrap();
        assert!(p.steps().all(|s| s.status() == Status::Pending));
        assert_eq!(redo.len(), 4);
        let a0 = p.phases()[0].steps()[0].id;
        apply(
            &mut p,
            PlanCommand::ForceComplete {
                phase: Some(a),
                step: Some(a0),
            },
            &mut redo,
        )
        .unwrap();
        assert!(!redo.contains("a-0"));
        let err = apply(
            &mut p,
            PlanCommand::Restart {
                phase: Some(a),
                step: Some(b1),
            },
            &mut redo,
        )
        .unwrap_err();
        assert_eq!(err.status_code(), 404, "step b-1 is not in phase a");
    }
}
