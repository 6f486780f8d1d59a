//! A test double of `ServiceControl` backed by real plans, and a server running it.
//!
//! The `stead` command's tests (`cli/tests`) use it too, by path.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use serde_json::json;
use stead::api::{
    ControlError, ControlResult, Health, Histogram, MetricsSnapshot, OfferOutcome, OfferSummary,
    OffersDebug, PlanCommand, PodCommand, PodInfo, PodSummary, ResourceSummary, ServiceControl,
    StepOffers, VolumeSummary,
};
use stead::http::ApiOptions;
use stead::plan::{Phase, Plan, PlanSnapshot, Status, Step, StepKind, Strategy};
use tokio::net::TcpListener;

/// The fake scheduler's state; tests change it directly.
pub struct FakeState {
    pub subscribed: bool,
    pub plans: Vec<Plan>,
    pub pods: Vec<PodInfo>,
    pub configs: BTreeMap<String, serde_json::Value>,
    pub target: Option<String>,
    pub framework_id: Option<String>,
    pub metrics: MetricsSnapshot,
    pub plan_commands: Vec<(String, PlanCommand)>,
    pub pod_commands: Vec<(String, PodCommand)>,
}

/// The test double.
#[derive(Clone)]
pub struct Fake(pub Arc<Mutex<FakeState>>);

fn pod(instance: &str, task_type: &str, index: u32, agent: &str) -> PodInfo {
    PodInfo {
        instance: instance.into(),
        task_type: task_type.into(),
        index,
        task_info: Some(json!({
            "name": instance,
            "task_id": {"value": format!("{instance}__1234")},
            "agent_id": {"value": agent},
        })),
        last_status: Some(json!({
            "task_id": {"value": format!("{instance}__1234")},
            "state": "TASK_RUNNING",
        })),
        agent_id: Some(agent.into()),
        hostname: Some("localhost".into()),
        resources: vec![
            ResourceSummary {
                name: "cpus".into(),
                role: Some("data-store-role".into()),
                scalar: Some(1.0),
                ranges: vec![],
                resource_id: Some(format!("rid-{instance}-cpus")),
            },
            ResourceSummary {
                name: "ports".into(),
                role: Some("data-store-role".into()),
                scalar: None,
                ranges: vec![[31000, 31001]],
                resource_id: Some(format!("rid-{instance}-ports")),
            },
        ],
        volumes: vec![VolumeSummary {
            container_path: "data-path".into(),
            kind: "ROOT".into(),
            size_mb: 5000.0,
            persistence_id: Some(format!("pid-{instance}")),
            resource_id: Some(format!("rid-{instance}-disk")),
        }],
        config_id: Some("cfg-1".into()),
    }
}

/// A deploy plan with two phases (`meta-data` complete, `data` in progress) and an
/// empty recovery plan.
pub fn sample_state() -> FakeState {
    let step = |instance: &str, status: Status| {
        let mut s = Step::new(instance, StepKind::Launch);
        s.set_status(status);
        s
    };
    let deploy = Plan::new(
        "deploy",
        Strategy::Serial,
        vec![
            Phase::new(
                "meta-data",
                Strategy::Serial,
                vec![
                    step("meta-data-0", Status::Complete),
                    step("meta-data-1", Status::Complete),
                ],
            ),
            Phase::new(
                "data",
                Strategy::Serial,
                vec![
                    step("data-0", Status::Starting),
                    step("data-1", Status::Pending),
                ],
            ),
        ],
    );
    let recovery = Plan::new("recovery", Strategy::Parallel, vec![]);
    let mut metrics = MetricsSnapshot {
        offers_received: 12,
        offers_declined: 9,
        offers_used: 3,
        state_store_write_seconds: Histogram::default(),
        ..Default::default()
    };
    metrics.operations.insert("LAUNCH".into(), 3);
    metrics.operations.insert("RESERVE".into(), 3);
    metrics.tasks.insert("TASK_RUNNING".into(), 2);
    metrics
        .state_store_write_seconds
        .observe(std::time::Duration::from_micros(300));
    let mut configs = BTreeMap::new();
    configs.insert(
        "cfg-1".to_string(),
        json!({"name": "data-store", "task_types": []}),
    );
    FakeState {
        subscribed: true,
        plans: vec![deploy, recovery],
        pods: vec![
            pod("meta-data-0", "meta-data", 0, "agent-1"),
            pod("meta-data-1", "meta-data", 1, "agent-2"),
        ],
        configs,
        target: Some("cfg-1".into()),
        framework_id: Some("fw-42".into()),
        metrics,
        plan_commands: vec![],
        pod_commands: vec![],
    }
}

impl Fake {
    pub fn new(state: FakeState) -> Fake {
        Fake(Arc::new(Mutex::new(state)))
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut FakeState) -> R) -> R {
        f(&mut self.0.lock().unwrap())
    }

    fn snapshots(&self) -> Vec<PlanSnapshot> {
        self.with(|s| s.plans.iter().map(Plan::snapshot).collect())
    }
}

fn ready<'a, T: Send + 'a>(value: ControlResult<T>) -> BoxFuture<'a, ControlResult<T>> {
    Box::pin(async move { value })
}

fn apply(plan: &mut Plan, phase: Option<uuid::Uuid>, step: Option<uuid::Uuid>, to: Status) {
    for pi in 0..plan.phases().len() {
        let Some(p) = plan.phase_mut(pi) else {
            continue;
        };
        if phase.is_some_and(|id| id != p.id) {
            continue;
        }
        for si in 0..p.steps().len() {
            if let Some(mut s) = p.step_mut(si)
                && step.is_none_or(|id| id == s.id)
            {
                s.set_status(to);
            }
        }
    }
}

impl ServiceControl for Fake {
    fn plans(&self) -> BoxFuture<'_, ControlResult<Vec<PlanSnapshot>>> {
        ready(Ok(self.snapshots()))
    }

    fn plan_command<'a>(
        &'a self,
        plan: &'a str,
        command: PlanCommand,
    ) -> BoxFuture<'a, ControlResult<()>> {
        ready(self.with(|s| {
            s.plan_commands.push((plan.to_string(), command));
            let p = s
                .plans
                .iter_mut()
                .find(|p| p.name == plan)
                .ok_or_else(|| ControlError::not_found(format!("plan {plan:?}")))?;
            match command {
                PlanCommand::Interrupt { .. } => p.interrupt(),
                PlanCommand::Continue { .. } => p.proceed(),
                PlanCommand::Restart { phase, step } => apply(p, phase, step, Status::Pending),
                PlanCommand::ForceComplete { phase, step } => {
                    apply(p, phase, step, Status::Complete)
                }
            }
            Ok(())
        }))
    }

    fn pods(&self) -> BoxFuture<'_, ControlResult<Vec<PodSummary>>> {
        ready(Ok(self.with(|s| {
            s.pods
                .iter()
                .map(|p| PodSummary {
                    instance: p.instance.clone(),
                    task_type: p.task_type.clone(),
                    index: p.index,
                    task_id: Some(format!("{}__1234", p.instance)),
                    state: Some("TASK_RUNNING".into()),
                    agent_id: p.agent_id.clone(),
                    hostname: p.hostname.clone(),
                    restarts: 0,
                })
                .collect()
        })))
    }

    fn pod_info<'a>(&'a self, instance: &'a str) -> BoxFuture<'a, ControlResult<PodInfo>> {
        ready(self.with(|s| {
            s.pods
                .iter()
                .find(|p| p.instance == instance)
                .cloned()
                .ok_or_else(|| ControlError::not_found(format!("pod {instance:?}")))
        }))
    }

    fn pod_command<'a>(
        &'a self,
        instance: &'a str,
        command: PodCommand,
    ) -> BoxFuture<'a, ControlResult<()>> {
        ready(self.with(|s| {
            if !s.pods.iter().any(|p| p.instance == instance) {
                return Err(ControlError::not_found(format!("pod {instance:?}")));
            }
            s.pod_commands.push((instance.to_string(), command));
            Ok(())
        }))
    }

    fn configuration_ids(&self) -> BoxFuture<'_, ControlResult<Vec<String>>> {
        ready(Ok(self.with(|s| s.configs.keys().cloned().collect())))
    }

    fn target_configuration_id(&self) -> BoxFuture<'_, ControlResult<String>> {
        ready(self.with(|s| {
            s.target
                .clone()
                .ok_or_else(|| ControlError::not_found("target configuration"))
        }))
    }

    fn configuration<'a>(&'a self, id: &'a str) -> BoxFuture<'a, ControlResult<serde_json::Value>> {
        ready(self.with(|s| {
            s.configs
                .get(id)
                .cloned()
                .ok_or_else(|| ControlError::not_found(format!("configuration {id:?}")))
        }))
    }

    fn framework_id(&self) -> BoxFuture<'_, ControlResult<String>> {
        ready(self.with(|s| {
            s.framework_id
                .clone()
                .ok_or_else(|| ControlError::not_found("framework id"))
        }))
    }

    fn health(&self) -> BoxFuture<'_, ControlResult<Health>> {
        let subscribed = self.with(|s| s.subscribed);
        ready(Ok(Health::from_plans(subscribed, &self.snapshots())))
    }

    fn metrics(&self) -> BoxFuture<'_, ControlResult<MetricsSnapshot>> {
        ready(Ok(self.with(|s| s.metrics.clone())))
    }

    fn debug_offers(&self) -> BoxFuture<'_, ControlResult<OffersDebug>> {
        ready(Ok(OffersDebug {
            offers: vec![OfferSummary {
                offer_id: "offer-1".into(),
                agent_id: "agent-3".into(),
                hostname: "localhost".into(),
                resources: vec![],
            }],
            steps: vec![StepOffers {
                plan: "deploy".into(),
                step: "data-0".into(),
                instance: "data-0".into(),
                outcomes: vec![OfferOutcome {
                    offer_id: "offer-1".into(),
                    used: false,
                    reason: "insufficient mem: 256 < 1024".into(),
                }],
            }],
        }))
    }
}

/// Serves `fake` on an ephemeral loopback port; returns its base URL.
pub async fn start(fake: Fake, token: Option<&str>) -> String {
    let options = ApiOptions {
        token: token.map(String::from),
        ..ApiOptions::default()
    };
    start_with(fake, options).await
}

/// Serves `fake` with `options` on an ephemeral loopback port; returns its base URL.
pub async fn start_with(fake: Fake, options: ApiOptions) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(stead::http::serve(listener, Arc::new(fake), options));
    format!("http://{addr}")
}
