//! Unit tests of the scheduler's core against a recording fake master and a manual
//! clock: events in, calls and stored state out.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use stead_proto::scheduler::{Call, Event, call, event};
use stead_proto::v1::offer::{Operation, operation};
use stead_proto::v1::{
    AgentId, FrameworkId, Offer, OfferId, TaskId, TaskInfo, TaskState, TaskStatus,
};
use stead_spec::ServiceSpec;
use stead_state::{ConfigStore, FrameworkStore, MemPersister, Persister, StateStore};
use tokio::sync::watch;

use super::Core;
use crate::mesos::resources as res;
use crate::mesos::{MesosError, MesosResult};
use crate::plan::{PlanCommand, PlanName, Status, StepKind};
use crate::scheduler::clock::{Clock, ManualClock};
use crate::scheduler::master::MasterCalls;
use crate::scheduler::{Options, update};

/// A test service: `count` instances of `data` with 1 cpu, 256 MiB, a port and a volume.
pub(crate) fn spec(count: u32) -> ServiceSpec {
    crate::offer::operations::test_spec(count, 1.0, "./data")
}

/// A master that records every call and fails the kinds it is told to fail.
#[derive(Default)]
struct FakeMaster {
    calls: Mutex<Vec<Call>>,
    failing: Mutex<Vec<call::Type>>,
    changed: tokio::sync::Notify,
}

impl MasterCalls for FakeMaster {
    fn call<'a>(&'a self, call: &'a Call) -> BoxFuture<'a, MesosResult<()>> {
        Box::pin(async move {
            self.calls
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(call.clone());
            self.changed.notify_waiters();
            let kind = call.r#type.and_then(|t| call::Type::try_from(t).ok());
            let failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
            if kind.is_some_and(|k| failing.contains(&k)) {
                return Err(MesosError::Timeout("fake".into()));
            }
            Ok(())
        })
    }
}

impl FakeMaster {
    fn of(&self, kind: call::Type) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|c| c.r#type == Some(kind as i32))
            .cloned()
            .collect()
    }

    fn fail(&self, kind: call::Type) {
        self.failing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(kind);
    }

    /// Waits (5 s at most) until `n` calls of `kind` were received, for calls sent in the
    /// background.
    async fn wait_for(&self, kind: call::Type, n: usize) -> Vec<Call> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let notified = self.changed.notified();
            let calls = self.of(kind);
            if calls.len() >= n {
                return calls;
            }
            assert!(
                tokio::time::timeout_at(deadline, notified).await.is_ok(),
                "{n} {kind:?} calls not received in time; got {}",
                calls.len()
            );
        }
    }
}

/// A core of `spec` with `opts`, started on the state in `persister` (a restart when it
/// holds state already), talking to `master`.
pub(in crate::scheduler) fn core_on(
    opts: Options,
    spec: ServiceSpec,
    persister: Arc<dyn Persister>,
    master: Arc<dyn MasterCalls>,
    clock: Arc<dyn Clock>,
) -> Core {
    let configs: ConfigStore<ServiceSpec> = ConfigStore::new(persister.clone());
    let (spec, config_id, errors) =
        update::accept_target(&configs, spec, false, false).expect("a valid target");
    assert!(errors.is_empty(), "{errors:?}");
    let (tx, _rx) = watch::channel(Default::default());
    Core::new(
        opts,
        spec,
        config_id,
        StateStore::new(persister.clone()),
        FrameworkStore::new(persister),
        master,
        clock,
        tx,
    )
    .expect("the core starts")
}

/// A core, its fake master, clock and state.
struct Harness {
    core: Core,
    master: Arc<FakeMaster>,
    clock: Arc<ManualClock>,
    persister: Arc<dyn Persister>,
}

impl Harness {
    fn new(spec: ServiceSpec) -> Harness {
        Harness::with_state(spec, Arc::new(MemPersister::new()))
    }

    /// A scheduler started on `persister` (a restart when it holds state already).
    fn with_state(spec: ServiceSpec, persister: Arc<dyn Persister>) -> Harness {
        let master = Arc::new(FakeMaster::default());
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        let core = core_on(
            Options::default(),
            spec,
            persister.clone(),
            master.clone(),
            clock.clone(),
        );
        Harness {
            core,
            master,
            clock,
            persister,
        }
    }

    async fn events(&mut self, events: Vec<Event>) {
        self.core
            .handle_batch(events)
            .await
            .expect("events handled");
    }

    fn store(&self) -> StateStore {
        StateStore::new(self.persister.clone())
    }

    /// Waits for the KILL of `task`, then reports it killed.
    async fn killed(&mut self, task: &TaskInfo) {
        let kills = self.master.wait_for(call::Type::Kill, 1).await;
        let killed = kills.iter().filter_map(|c| c.kill.as_ref());
        assert!(killed.map(|k| &k.task_id).any(|id| *id == task.task_id));
        let agent = task.agent_id.value.clone();
        self.events(vec![update(
            &task.task_id.value,
            &agent,
            TaskState::TaskKilled,
            true,
        )])
        .await;
    }

    /// Checks that offers are wanted (revived, never suppressed), then offers the
    /// reservations and volume of `task` (no longer stored) and checks that the ACCEPT
    /// releases exactly them.
    async fn releases_when_offered(&mut self, task: &TaskInfo) {
        self.master.wait_for(call::Type::Revive, 1).await;
        assert!(
            self.master.of(call::Type::Suppress).is_empty(),
            "offers are wanted to release what {} left on {}",
            task.name,
            task.agent_id.value
        );
        let accepted = self.master.of(call::Type::Accept).len();
        self.events(vec![offer_holding(task, 1.0)]).await;
        let accepts = self.master.wait_for(call::Type::Accept, accepted + 1).await;
        let mut ids = crate::offer::operations::resource_ids(task);
        ids.sort();
        assert_eq!(released_ids(&accepts[accepted]), ids);
    }

    /// The stored TaskInfo of `instance`.
    fn info(&self, instance: &str) -> TaskInfo {
        self.core.instances[instance]
            .task
            .as_ref()
            .expect("launched")
            .info()
    }

    fn task_id(&self, instance: &str) -> String {
        self.core.instances[instance]
            .task_id()
            .expect("launched")
            .to_string()
    }

    fn step(&self, plan: &str, instance: &str) -> (StepKind, Status, String) {
        let plan = match plan {
            "deploy" => self.core.plans.deploy(),
            _ => self.core.plans.recovery(),
        };
        let step = plan
            .find(instance)
            .and_then(|at| plan.step(at))
            .expect("a step");
        (step.kind, step.status(), step.message.clone())
    }

    /// Subscribes, deploys every instance on offers from `agent`, and reports them running.
    async fn deploy_running(&mut self, agent: &str) {
        self.events(vec![subscribed()]).await;
        let count = self.core.instances.len();
        for _ in 0..count {
            self.events(vec![offers(&[agent])]).await;
        }
        self.master.wait_for(call::Type::Accept, count).await;
        let names: Vec<String> = self.core.instances.keys().cloned().collect();
        for name in names {
            let task = self.task_id(&name);
            self.events(vec![update(&task, agent, TaskState::TaskRunning, true)])
                .await;
        }
        assert_eq!(self.core.plans.deploy().status(), Status::Complete);
    }
}

fn subscribed() -> Event {
    Event {
        r#type: Some(event::Type::Subscribed as i32),
        subscribed: Some(event::Subscribed {
            framework_id: FrameworkId { value: "fw".into() },
            ..Default::default()
        }),
        ..Event::default()
    }
}

fn offer(agent: &str, cpus: f64) -> Offer {
    Offer {
        id: OfferId {
            value: format!("offer-{agent}-{}", uuid::Uuid::new_v4()),
        },
        framework_id: FrameworkId { value: "fw".into() },
        agent_id: AgentId {
            value: agent.into(),
        },
        hostname: format!("host-{agent}"),
        resources: vec![
            res::scalar("cpus", cpus),
            res::scalar("mem", 4096.0),
            res::scalar("disk", 4096.0),
            res::ranges("ports", &[(31000, 31100)]),
        ],
        ..Offer::default()
    }
}

fn offers(agents: &[&str]) -> Event {
    Event {
        r#type: Some(event::Type::Offers as i32),
        offers: Some(event::Offers {
            offers: agents.iter().map(|a| offer(a, 4.0)).collect(),
        }),
        ..Event::default()
    }
}

/// An offer from the agent of `task` holding the task's reservations and volume as
/// `task` has them, plus `free_cpus` unreserved cpus.
fn offer_holding(task: &TaskInfo, free_cpus: f64) -> Event {
    let mut offer = offer(&task.agent_id.value, free_cpus);
    offer.resources.extend(task.resources.iter().cloned());
    Event {
        r#type: Some(event::Type::Offers as i32),
        offers: Some(event::Offers {
            offers: vec![offer],
        }),
        ..Event::default()
    }
}

/// The operations of `kind` in an ACCEPT.
fn operations_of(accept: &Call, kind: operation::Type) -> Vec<Operation> {
    accept
        .accept
        .iter()
        .flat_map(|a| a.operations.iter())
        .filter(|o| o.r#type == Some(kind as i32))
        .cloned()
        .collect()
}

/// The total of resource `name` in `resources`.
fn amount(resources: &[stead_proto::v1::Resource], name: &str) -> f64 {
    resources
        .iter()
        .filter(|r| r.name == name)
        .map(res::scalar_of)
        .sum()
}

fn update(task: &str, agent: &str, state: TaskState, uuid: bool) -> Event {
    Event {
        r#type: Some(event::Type::Update as i32),
        update: Some(event::Update {
            status: TaskStatus {
                task_id: TaskId { value: task.into() },
                agent_id: Some(AgentId {
                    value: agent.into(),
                }),
                state: state as i32,
                uuid: uuid.then(|| uuid::Uuid::new_v4().as_bytes().to_vec()),
                ..TaskStatus::default()
            },
        }),
        ..Event::default()
    }
}

#[tokio::test]
async fn a_status_of_an_unknown_task_kills_it_acknowledges_it_and_stores_nothing() {
    let mut h = Harness::new(spec(1));
    h.events(vec![subscribed()]).await;
    h.events(vec![update(
        "stranger__1",
        "a1",
        TaskState::TaskRunning,
        true,
    )])
    .await;
    let kills = h.master.of(call::Type::Kill);
    assert_eq!(kills.len(), 1);
    let kill = kills[0].kill.as_ref().expect("a KILL");
    assert_eq!(kill.task_id.value, "stranger__1");
    let acks = h.master.wait_for(call::Type::Acknowledge, 1).await;
    assert_eq!(
        acks[0]
            .acknowledge
            .as_ref()
            .map(|a| a.task_id.value.as_str()),
        Some("stranger__1")
    );
    assert!(h.store().fetch_status("stranger").unwrap().is_none());
    assert!(h.store().task_names().unwrap().is_empty());
}

#[tokio::test]
async fn a_duplicate_status_is_stored_once_per_delivery_and_acknowledged_each_time() {
    let mut h = Harness::new(spec(1));
    h.deploy_running("a1").await;
    let task = h.task_id("data-0");
    let launches = h.core.instances["data-0"].meta.launch_count;
    // The master resends a status whose acknowledgement it did not get.
    let failed = update(&task, "a1", TaskState::TaskFailed, true);
    h.events(vec![failed.clone(), failed]).await;
    h.master.wait_for(call::Type::Acknowledge, 3).await;
    let stored = h.store().fetch_status("data-0").unwrap().expect("stored");
    assert_eq!(stored.state(), TaskState::TaskFailed);
    // One failure counted, one recovery step: the duplicate changed nothing more.
    assert_eq!(h.core.instances["data-0"].meta.consecutive_failures, 1);
    let (kind, status, _) = h.step("recovery", "data-0");
    assert_eq!((kind, status), (StepKind::Recover, Status::Pending));
    assert_eq!(h.core.plans.recovery().steps().count(), 1);
    assert_eq!(h.core.instances["data-0"].meta.launch_count, launches);
}

#[tokio::test]
async fn a_failed_acknowledgement_loses_nothing_and_the_resent_status_is_acknowledged() {
    let mut h = Harness::new(spec(1));
    h.master.fail(call::Type::Acknowledge);
    h.deploy_running("a1").await;
    let task = h.task_id("data-0");
    // Durable before the acknowledgement was even tried.
    let stored = h.store().fetch_status("data-0").unwrap().expect("stored");
    assert_eq!(stored.state(), TaskState::TaskRunning);
    let acks = h.master.wait_for(call::Type::Acknowledge, 1).await.len();
    // The master resends the update; the scheduler goes on and acknowledges it again.
    h.events(vec![update(&task, "a1", TaskState::TaskRunning, true)])
        .await;
    h.master.wait_for(call::Type::Acknowledge, acks + 1).await;
    assert_eq!(h.core.plans.deploy().status(), Status::Complete);
    assert!(h.master.of(call::Type::Kill).is_empty());
}

#[tokio::test]
async fn an_update_that_grows_sees_the_free_resources_of_every_agent_among_many() {
    let persister: Arc<dyn Persister> = Arc::new(MemPersister::new());
    let agents: Vec<String> = (0..150).map(|i| format!("agent-{i:03}")).collect();
    let home = agents.last().expect("150 agents").clone();
    {
        let mut first = Harness::with_state(spec(1), persister.clone());
        first.deploy_running(&home).await;
    }
    // Restarted with twice the cpus: an update that grows data-0 in place.
    let grown = crate::offer::operations::test_spec(1, 2.0, "./data");
    let mut h = Harness::with_state(grown, persister);
    let (kind, ..) = h.step("deploy", "data-0");
    assert_eq!(kind, StepKind::Update);
    let task = h.task_id("data-0");
    h.events(vec![subscribed()]).await;
    // Reconciliation: the task still runs.
    h.events(vec![update(&task, &home, TaskState::TaskRunning, false)])
        .await;
    // One round of offers from 150 agents, the instance's own last.
    let names: Vec<&str> = agents.iter().map(String::as_str).collect();
    h.events(vec![offers(&names)]).await;
    let kills = h.master.of(call::Type::Kill);
    assert_eq!(kills.len(), 1, "the task is killed to be relaunched grown");
    assert_eq!(
        kills[0].kill.as_ref().map(|k| k.task_id.value.as_str()),
        Some(task.as_str())
    );
    let (_, status, message) = h.step("deploy", "data-0");
    assert_eq!(status, Status::Starting, "{message}");
}

#[tokio::test]
async fn an_update_waits_while_the_agent_lacks_the_growth() {
    let persister: Arc<dyn Persister> = Arc::new(MemPersister::new());
    {
        let mut first = Harness::with_state(spec(1), persister.clone());
        first.deploy_running("a1").await;
    }
    let grown = crate::offer::operations::test_spec(1, 8.0, "./data");
    let mut h = Harness::with_state(grown, persister);
    let task = h.task_id("data-0");
    h.events(vec![subscribed()]).await;
    h.events(vec![update(&task, "a1", TaskState::TaskRunning, false)])
        .await;
    h.events(vec![offers(&["a1"])]).await;
    assert!(h.master.of(call::Type::Kill).is_empty());
    let (_, status, message) = h.step("deploy", "data-0");
    assert_eq!(status, Status::Prepared);
    assert!(message.contains("7 more cpus"), "{message}");
}

#[tokio::test]
async fn an_interrupted_deploy_stays_interrupted_after_a_restart() {
    let persister: Arc<dyn Persister> = Arc::new(MemPersister::new());
    {
        let mut h = Harness::with_state(spec(2), persister.clone());
        h.events(vec![subscribed()]).await;
        h.core
            .plan_command(&PlanName::Deploy, PlanCommand::Interrupt { phase: None })
            .expect("interrupted");
        assert!(h.core.plans.deploy().is_interrupted());
    }
    let mut h = Harness::with_state(spec(2), persister);
    assert!(h.core.plans.deploy().is_interrupted());
    h.events(vec![subscribed()]).await;
    h.events(vec![offers(&["a1"])]).await;
    assert!(
        h.master.of(call::Type::Accept).is_empty(),
        "nothing launched"
    );
    h.core
        .plan_command(&PlanName::Deploy, PlanCommand::Continue { phase: None })
        .expect("continued");
    h.events(vec![offers(&["a1"])]).await;
    h.master.wait_for(call::Type::Accept, 1).await;
}

#[tokio::test]
async fn a_force_completed_step_stays_complete_after_a_restart() {
    let persister: Arc<dyn Persister> = Arc::new(MemPersister::new());
    {
        let mut h = Harness::with_state(spec(2), persister.clone());
        h.events(vec![subscribed()]).await;
        let step = h.core.plans.deploy().phases()[0].steps()[1].id;
        h.core
            .plan_command(
                &PlanName::Deploy,
                PlanCommand::ForceComplete {
                    phase: None,
                    step: Some(step),
                },
            )
            .expect("completed");
    }
    let h = Harness::with_state(spec(2), persister);
    assert_eq!(h.step("deploy", "data-1").1, Status::Complete);
    assert_eq!(h.step("deploy", "data-0").1, Status::Pending);
}

#[tokio::test]
async fn the_agent_gone_clock_survives_a_restart() {
    let persister: Arc<dyn Persister> = Arc::new(MemPersister::new());
    let gone_since;
    {
        let mut h = Harness::with_state(spec(1), persister.clone());
        h.deploy_running("a1").await;
        let task = h.task_id("data-0");
        h.events(vec![update(&task, "a1", TaskState::TaskGone, true)])
            .await;
        gone_since = h.clock.epoch_ms();
        assert_eq!(
            h.core.gone.gone_for("a1", gone_since + 1_000),
            Some(Duration::from_secs(1))
        );
    }
    let mut h = Harness::with_state(spec(1), persister);
    assert_eq!(
        h.core.gone.gone_for("a1", gone_since + 60_000),
        Some(Duration::from_secs(60))
    );
    // Twenty minutes after the agent went away, counted across the restart, the
    // instance is replaced.
    h.events(vec![subscribed()]).await;
    let task = h.task_id("data-0");
    h.events(vec![update(&task, "a1", TaskState::TaskGone, false)])
        .await;
    h.clock.advance(Duration::from_secs(20 * 60));
    h.core.tick().await.expect("tick");
    let (kind, status, _) = h.step("recovery", "data-0");
    assert_eq!((kind, status), (StepKind::Replace, Status::Pending));
}

#[tokio::test]
async fn a_plan_command_on_an_unknown_plan_or_phase_is_a_typed_error() {
    let mut h = Harness::new(spec(1));
    let err = h
        .core
        .plan_command(
            &PlanName::parse("backup"),
            PlanCommand::Interrupt { phase: None },
        )
        .unwrap_err();
    assert!(
        matches!(err, crate::Error::UnknownPlan(ref p) if p == "backup"),
        "{err}"
    );
    let err = h
        .core
        .plan_command(
            &PlanName::Deploy,
            PlanCommand::Interrupt {
                phase: Some(uuid::Uuid::new_v4()),
            },
        )
        .unwrap_err();
    assert!(matches!(err, crate::Error::PlanCommand(_)), "{err}");
    let err = h.core.restart("data-7").await.unwrap_err();
    assert!(matches!(err, crate::Error::UnknownInstance(ref i) if i == "data-7"));
}

#[tokio::test]
async fn an_update_whose_accept_was_lost_relaunches_with_the_target_amounts_after_a_restart() {
    let persister: Arc<dyn Persister> = Arc::new(MemPersister::new());
    let first: TaskInfo;
    {
        let mut h = Harness::with_state(spec(1), persister.clone());
        h.deploy_running("a1").await;
        first = h.core.instances["data-0"]
            .task
            .as_ref()
            .expect("launched")
            .info();
    }
    // Restarted with twice the cpus: data-0 is killed, then relaunched in place grown.
    let grown = crate::offer::operations::test_spec(1, 2.0, "./data");
    {
        let mut h = Harness::with_state(grown.clone(), persister.clone());
        let task = h.task_id("data-0");
        h.events(vec![subscribed()]).await;
        h.events(vec![update(&task, "a1", TaskState::TaskRunning, false)])
            .await;
        h.events(vec![offer_holding(&first, 4.0)]).await;
        h.master.wait_for(call::Type::Kill, 1).await;
        h.events(vec![update(&task, "a1", TaskState::TaskKilled, true)])
            .await;
        // The relaunch is stored, and its ACCEPT never reaches the master: the scheduler
        // dies right after sending it.
        h.master.fail(call::Type::Accept);
        h.events(vec![offer_holding(&first, 4.0)]).await;
        let accepts = h.master.wait_for(call::Type::Accept, 1).await;
        let reserved = operations_of(&accepts[0], operation::Type::Reserve);
        assert_eq!(reserved.len(), 1, "the growth is reserved");
    }
    let mut h = Harness::with_state(grown, persister);
    let task = h.task_id("data-0");
    h.events(vec![subscribed()]).await;
    // The master never heard of the stored relaunch.
    h.events(vec![update(&task, "a1", TaskState::TaskLost, false)])
        .await;
    // The agent still holds the old reservations (1 cpu).
    h.events(vec![offer_holding(&first, 4.0)]).await;
    let accepts = h.master.wait_for(call::Type::Accept, 1).await;
    let launches = operations_of(&accepts[0], operation::Type::Launch);
    let launched = &launches[0].launch.as_ref().expect("a LAUNCH").task_infos[0];
    assert_eq!(
        amount(&launched.resources, "cpus"),
        2.0,
        "the target's cpus"
    );
    let reserve = operations_of(&accepts[0], operation::Type::Reserve);
    let grown_by: Vec<f64> = reserve
        .iter()
        .flat_map(|o| o.reserve.iter().flat_map(|r| r.resources.iter()))
        .filter(|r| r.name == "cpus")
        .map(res::scalar_of)
        .collect();
    assert_eq!(grown_by, vec![1.0], "the missing cpu is reserved again");
    assert_eq!(
        crate::offer::operations::config_id_of(launched),
        Some(h.core.config_id.as_str())
    );
}

#[tokio::test]
async fn restarts_requested_while_one_is_under_way_are_merged_into_it() {
    let mut h = Harness::new(spec(1));
    h.deploy_running("a1").await;
    let first = h.core.instances["data-0"]
        .task
        .as_ref()
        .expect("launched")
        .info();
    let old = h.task_id("data-0");
    let launches = h.core.instances["data-0"].meta.launch_count;
    let accepts = h.master.of(call::Type::Accept).len();
    // Fifty requests at once, arriving while the task is killed, relaunched and started.
    for _ in 0..20 {
        h.core.restart("data-0").await.expect("restarted");
    }
    h.events(vec![update(&old, "a1", TaskState::TaskKilled, true)])
        .await;
    for _ in 0..20 {
        h.core.restart("data-0").await.expect("restarted");
    }
    h.events(vec![offer_holding(&first, 4.0)]).await;
    h.master.wait_for(call::Type::Accept, accepts + 1).await;
    let new = h.task_id("data-0");
    assert_ne!(new, old);
    for _ in 0..10 {
        h.core.restart("data-0").await.expect("restarted");
    }
    h.events(vec![update(&new, "a1", TaskState::TaskRunning, true)])
        .await;
    assert_eq!(
        h.core.instances["data-0"].meta.launch_count,
        launches + 1,
        "one relaunch"
    );
    assert_eq!(h.master.of(call::Type::Accept).len(), accepts + 1);
    let killed: Vec<String> = h
        .master
        .of(call::Type::Kill)
        .iter()
        .filter_map(|c| c.kill.as_ref().map(|k| k.task_id.value.clone()))
        .collect();
    assert!(
        !killed.is_empty() && killed.iter().all(|t| *t == old),
        "only the restarted task is killed: {killed:?}"
    );
    // Once the new task runs, a restart is a new one.
    h.core.restart("data-0").await.expect("restarted");
    let kills = h.master.of(call::Type::Kill);
    assert_eq!(
        kills
            .last()
            .and_then(|c| c.kill.as_ref())
            .map(|k| k.task_id.value.as_str()),
        Some(new.as_str())
    );
}

/// `count` instances of `data` that a lower count may decommission.
fn decommissionable(count: u32) -> ServiceSpec {
    let mut s = spec(count);
    s.task_types[0].allow_decommission = true;
    s
}

/// The resource ids that the DESTROY and UNRESERVE operations of `accept` release.
fn released_ids(accept: &Call) -> Vec<String> {
    let mut ids: Vec<String> = operations_of(accept, operation::Type::Unreserve)
        .iter()
        .flat_map(|o| o.unreserve.iter().flat_map(|u| u.resources.iter()))
        .filter_map(|r| res::resource_id(r).map(String::from))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[tokio::test]
async fn a_decommission_killed_after_the_erase_releases_the_reservations_after_a_restart() {
    let persister: Arc<dyn Persister> = Arc::new(MemPersister::new());
    let retired: TaskInfo;
    {
        let mut h = Harness::with_state(decommissionable(2), persister.clone());
        h.events(vec![subscribed()]).await;
        for (n, name) in ["data-0", "data-1"].into_iter().enumerate() {
            h.events(vec![offers(&["a1"])]).await;
            h.master.wait_for(call::Type::Accept, n + 1).await;
            let task = h.task_id(name);
            h.events(vec![update(&task, "a1", TaskState::TaskRunning, true)])
                .await;
        }
        assert_eq!(h.core.plans.deploy().status(), Status::Complete);
        retired = h.info("data-1");
    }
    let mut ids = crate::offer::operations::resource_ids(&retired);
    ids.sort();
    assert!(!ids.is_empty(), "data-1 holds reservations");
    {
        // Restarted with one instance: data-1 is killed, erased, and its release sent
        // from the next offer; the scheduler dies before the master applied it.
        let mut h = Harness::with_state(decommissionable(1), persister.clone());
        let kept = h.task_id("data-0");
        h.events(vec![subscribed()]).await;
        h.events(vec![
            update(&kept, "a1", TaskState::TaskRunning, false),
            update(&retired.task_id.value, "a1", TaskState::TaskRunning, false),
        ])
        .await;
        h.killed(&retired).await;
        assert!(h.store().fetch_task("data-1").unwrap().is_none(), "erased");
        h.master.fail(call::Type::Accept);
        h.events(vec![offer_holding(&retired, 1.0)]).await;
        let accepts = h.master.wait_for(call::Type::Accept, 1).await;
        assert_eq!(released_ids(&accepts[0]), ids, "the release is sent");
        assert_ne!(
            h.core.lifecycle_status(),
            Some(Status::Complete),
            "a release sent is not a release done"
        );
    }
    // The restarted scheduler knows what is left to release: it wants offers, releases
    // the reservations when offered, and completes once an offer shows them gone.
    let mut h = Harness::with_state(decommissionable(1), persister);
    let kept = h.task_id("data-0");
    h.events(vec![subscribed()]).await;
    h.events(vec![update(&kept, "a1", TaskState::TaskRunning, false)])
        .await;
    assert_eq!(h.core.lifecycle_status(), Some(Status::InProgress));
    h.releases_when_offered(&retired).await;
    assert_eq!(h.core.lifecycle_status(), Some(Status::InProgress));
    // The master applied it: the agent's next offer no longer holds them.
    h.events(vec![offers(&["a1"])]).await;
    assert_eq!(h.core.lifecycle_status(), Some(Status::Complete));
    assert!(
        h.store()
            .fetch_property(crate::scheduler::decommission::RELEASES_PROPERTY)
            .unwrap()
            .is_none(),
        "nothing is left to release"
    );
}

#[tokio::test]
async fn a_replace_killed_before_the_old_reservations_were_released_releases_them_after_a_restart()
{
    let persister: Arc<dyn Persister> = Arc::new(MemPersister::new());
    let old: TaskInfo;
    {
        let mut h = Harness::with_state(spec(1), persister.clone());
        h.deploy_running("a1").await;
        old = h.info("data-0");
        h.core.replace("data-0").await.expect("replaced");
        h.killed(&old).await;
        // Placed anew on a2; the scheduler dies before a1 offered the old resources.
        h.events(vec![offers(&["a2"])]).await;
        let accepts = h.master.wait_for(call::Type::Accept, 2).await;
        assert!(released_ids(&accepts[1]).is_empty());
        assert_eq!(h.core.instances["data-0"].agent_id(), Some("a2"));
    }
    let mut h = Harness::with_state(spec(1), persister);
    let task = h.task_id("data-0");
    h.events(vec![subscribed()]).await;
    h.events(vec![update(&task, "a2", TaskState::TaskRunning, false)])
        .await;
    h.releases_when_offered(&old).await;
    // The master applied it: a1's next offer no longer holds them.
    h.events(vec![offers(&["a1"])]).await;
    assert!(
        h.store()
            .fetch_property(super::MOVED_PROPERTY)
            .unwrap()
            .is_none(),
        "nothing is left to release"
    );
    assert!(!h.core.releases_want_offers());
}

/// An UPDATE_OPERATION_STATUS of operation `id` in `state`, sent reliably by agent `a1`.
fn operation_update(
    id: &stead_proto::v1::OperationId,
    state: stead_proto::v1::OperationState,
    message: Option<&str>,
) -> Event {
    Event {
        r#type: Some(event::Type::UpdateOperationStatus as i32),
        update_operation_status: Some(event::UpdateOperationStatus {
            status: stead_proto::v1::OperationStatus {
                operation_id: Some(id.clone()),
                state: state as i32,
                message: message.map(str::to_string),
                uuid: Some(stead_proto::v1::Uuid {
                    value: uuid::Uuid::new_v4().as_bytes().to_vec(),
                }),
                agent_id: Some(AgentId { value: "a1".into() }),
                ..Default::default()
            },
        }),
        ..Event::default()
    }
}

#[tokio::test]
async fn a_refused_reservation_is_acknowledged_and_shown_on_the_step_until_one_succeeds() {
    use stead_proto::v1::OperationState;
    let mut h = Harness::new(spec(1));
    h.events(vec![subscribed(), offers(&["a1"])]).await;
    let accept = h.master.wait_for(call::Type::Accept, 1).await.remove(0);
    let reserve = operations_of(&accept, operation::Type::Reserve).remove(0);
    let id = reserve
        .id
        .expect("a RESERVE asks for the master's feedback");
    let denied = "Principal 'p' no authorized to perform action RESERVE_RESOURCES";
    h.events(vec![operation_update(
        &id,
        OperationState::OperationError,
        Some(denied),
    )])
    .await;
    let acks = h
        .master
        .wait_for(call::Type::AcknowledgeOperationStatus, 1)
        .await;
    let ack = acks[0]
        .acknowledge_operation_status
        .as_ref()
        .expect("an ack");
    assert_eq!(ack.operation_id, id);
    // The launch of the same ACCEPT fails; the step still says why.
    let task = h.task_id("data-0");
    h.events(vec![update(&task, "a1", TaskState::TaskError, true)])
        .await;
    let (_, _, message) = h.step("deploy", "data-0");
    assert!(
        message.contains("refused to reserve") && message.contains(denied),
        "{message}"
    );
    // A reservation that succeeds ends it.
    h.events(vec![operation_update(
        &id,
        OperationState::OperationFinished,
        None,
    )])
    .await;
    assert!(h.core.refusals.is_empty());
}

/// The LAUNCHes of the ACCEPTs the master received after the first `skip` ACCEPTs.
fn launched_after(master: &FakeMaster, skip: usize) -> Vec<TaskInfo> {
    master
        .of(call::Type::Accept)
        .iter()
        .skip(skip)
        .flat_map(|a| operations_of(a, operation::Type::Launch))
        .flat_map(|op| op.launch.map(|l| l.task_infos).unwrap_or_default())
        .collect()
}

/// `data-0` deployed and running on a1, then its task reported in `state`; with the task
/// id and the number of ACCEPTs before the report.
async fn deployed_then(state: TaskState) -> (Harness, String, usize) {
    let mut h = Harness::new(spec(1));
    h.deploy_running("a1").await;
    let task = h.task_id("data-0");
    let accepts = h.master.of(call::Type::Accept).len();
    h.events(vec![update(&task, "a1", state, true)]).await;
    (h, task, accepts)
}

#[tokio::test]
async fn the_framework_is_partition_aware_and_takes_task_killing() {
    use stead_proto::v1::framework_info::capability::Type as Cap;
    let h = Harness::new(spec(1));
    let caps: Vec<Option<i32>> = h
        .core
        .framework_info()
        .capabilities
        .iter()
        .map(|c| c.r#type)
        .collect();
    for cap in [Cap::PartitionAware, Cap::TaskKillingState] {
        assert!(caps.contains(&Some(cap as i32)), "{cap:?} in {caps:?}");
    }
}

#[tokio::test]
async fn an_unreachable_task_is_waited_for_and_keeps_its_task_id_when_it_runs_again() {
    let (mut h, task, accepts) = deployed_then(TaskState::TaskUnreachable).await;
    let (kind, status, message) = h.step("recovery", "data-0");
    assert_eq!((kind, status), (StepKind::Recover, Status::Prepared));
    assert!(message.contains("TASK_UNREACHABLE"), "{message}");
    assert!(message.contains("agent is unreachable"), "{message}");
    assert_eq!(
        h.core.instances["data-0"]
            .status
            .as_ref()
            .map(|s| s.state()),
        Some(TaskState::TaskUnreachable)
    );
    assert_eq!(h.core.gone.gone_for("a1", h.clock.epoch_ms()), None);
    // Offers from elsewhere are declined, and no replacement comes of it in time.
    let declines = h.master.of(call::Type::Decline).len();
    h.events(vec![offers(&["a2"])]).await;
    let reconciles = h.master.of(call::Type::Reconcile).len();
    h.clock.advance(Duration::from_secs(2 * 3600));
    h.core.tick().await.expect("tick");
    // The periodic reconciliation asks about the task by name (the master may have forgotten it).
    let asked = h.master.of(call::Type::Reconcile);
    assert!(
        asked[reconciles..]
            .iter()
            .filter_map(|c| c.reconcile.as_ref())
            .any(|r| r.tasks.iter().any(|t| t.task_id.value == task)),
        "{asked:?}"
    );
    h.events(vec![offers(&["a2"])]).await;
    h.master.wait_for(call::Type::Decline, declines + 2).await;
    assert!(launched_after(&h.master, accepts).is_empty());
    assert_eq!(h.step("recovery", "data-0").0, StepKind::Recover);
    assert!(!h.core.instances["data-0"].replacing());
    // Back: the same task runs on, nothing relaunched or killed.
    h.events(vec![update(&task, "a1", TaskState::TaskRunning, true)])
        .await;
    assert_eq!(h.task_id("data-0"), task);
    assert_eq!(h.step("recovery", "data-0").1, Status::Complete);
    assert!(h.master.of(call::Type::Kill).is_empty());
    assert!(launched_after(&h.master, accepts).is_empty());
}

#[tokio::test]
async fn an_unreachable_instance_is_replaced_when_the_operator_asks() {
    let (mut h, task, accepts) = deployed_then(TaskState::TaskUnreachable).await;
    h.core.replace("data-0").await.expect("replaced");
    let kills = h.master.wait_for(call::Type::Kill, 1).await.len();
    // The old task turns up before the replacement is placed: it is killed again.
    h.events(vec![update(&task, "a1", TaskState::TaskRunning, true)])
        .await;
    let again = h.master.wait_for(call::Type::Kill, kills + 1).await;
    assert_eq!(
        again[kills].kill.as_ref().map(|k| k.task_id.value.as_str()),
        Some(task.as_str())
    );
    h.events(vec![update(&task, "a1", TaskState::TaskKilled, true)])
        .await;
    h.events(vec![offers(&["a2"])]).await;
    h.master.wait_for(call::Type::Accept, accepts + 1).await;
    let launched = launched_after(&h.master, accepts);
    assert_eq!(launched.len(), 1);
    assert_eq!(launched[0].agent_id.value, "a2");
}

#[tokio::test]
async fn a_task_gone_by_operator_is_replaced_elsewhere_at_once() {
    let (mut h, task, accepts) = deployed_then(TaskState::TaskGoneByOperator).await;
    assert_eq!(
        h.core.instances["data-0"].meta.goal_override,
        Some(stead_state::GoalOverride::PermanentlyFailed)
    );
    let (kind, status, _) = h.step("recovery", "data-0");
    assert_eq!((kind, status), (StepKind::Replace, Status::Pending));
    // Stored: a restarted scheduler replaces it too.
    let stored = h.store().fetch_task_meta("data-0").unwrap().expect("meta");
    assert_eq!(
        stored.goal_override,
        Some(stead_state::GoalOverride::PermanentlyFailed)
    );
    h.events(vec![offers(&["a2"])]).await;
    h.master.wait_for(call::Type::Accept, accepts + 1).await;
    let launched = launched_after(&h.master, accepts);
    assert_eq!(launched.len(), 1);
    assert_eq!(launched[0].agent_id.value, "a2");
    assert_ne!(launched[0].task_id.value, task);
}

#[tokio::test]
async fn a_task_gone_dropped_or_unknown_is_relaunched_in_place() {
    for state in [
        TaskState::TaskGone,
        TaskState::TaskDropped,
        TaskState::TaskUnknown,
    ] {
        let mut h = Harness::new(spec(1));
        h.deploy_running("a1").await;
        let old = h.info("data-0");
        let accepts = h.master.of(call::Type::Accept).len();
        // TASK_UNKNOWN is a reconciliation answer: no uuid.
        let reliable = state != TaskState::TaskUnknown;
        h.events(vec![update(&old.task_id.value, "a1", state, reliable)])
            .await;
        let (kind, status, _) = h.step("recovery", "data-0");
        assert_eq!(
            (kind, status),
            (StepKind::Recover, Status::Pending),
            "{state:?}"
        );
        h.events(vec![offer_holding(&old, 1.0)]).await;
        h.master.wait_for(call::Type::Accept, accepts + 1).await;
        let launched = launched_after(&h.master, accepts);
        assert_eq!(launched.len(), 1, "{state:?}");
        assert_eq!(launched[0].agent_id.value, "a1", "{state:?}");
        let mut ids = crate::offer::operations::resource_ids(&launched[0]);
        let mut old_ids = crate::offer::operations::resource_ids(&old);
        ids.sort();
        old_ids.sort();
        assert_eq!(ids, old_ids, "{state:?}: the same reservations and volume");
    }
}

#[tokio::test]
async fn task_killing_is_only_a_state() {
    let (mut h, _, accepts) = deployed_then(TaskState::TaskKilling).await;
    assert_eq!(
        h.core.instances["data-0"]
            .status
            .as_ref()
            .map(|s| s.state()),
        Some(TaskState::TaskKilling)
    );
    let declines = h.master.of(call::Type::Decline).len();
    h.events(vec![offers(&["a1", "a2"])]).await;
    h.master.wait_for(call::Type::Decline, declines + 1).await;
    assert!(launched_after(&h.master, accepts).is_empty());
    assert!(h.core.plans.recovery().steps().next().is_none());
}

#[tokio::test]
async fn the_kill_of_a_restart_refused_during_a_failover_is_sent_again_after_subscribing() {
    let mut h = Harness::new(spec(1));
    h.deploy_running("a1").await;
    let task = h.task_id("data-0");
    h.master.fail(call::Type::Kill);
    h.core.restart("data-0").await.expect("restart requested");
    let kills = h.master.wait_for(call::Type::Kill, 1).await.len();
    h.events(vec![subscribed()]).await;
    let again = h.master.wait_for(call::Type::Kill, kills + 1).await;
    assert_eq!(
        again[kills].kill.as_ref().map(|k| k.task_id.value.as_str()),
        Some(task.as_str())
    );
}
