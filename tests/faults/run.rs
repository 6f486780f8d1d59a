//! The suite's driver: rounds of operations on the data-store service (deploy, rolling
//! update, scale out, decommission, replace, uninstall), each interrupted by seeded kill
//! points, each followed by the invariant checker.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::time::Instant;

use crate::cluster::StandaloneCluster;
use crate::invariants::{ApiView, Checker, Declared, Violation, names};
use crate::proxy::{Action, CallType, Fault, FaultProxy};
use crate::scheduler::{Api, SchedulerProcess};

/// Agents of each worker's cluster, and their cpus: room for every data node to grow in
/// place on the agent it was packed onto.
const AGENTS: usize = 3;
const AGENT_CPUS: f64 = 8.0;
/// How long an operation may take to complete after its last kill.
const OP_TIMEOUT: Duration = Duration::from_secs(90);
/// How long the invariants may take to hold once the plans are complete.
const SETTLE: Duration = Duration::from_secs(10);
/// How often the driver looks at the scheduler.
const POLL: Duration = Duration::from_millis(25);
/// Kill points planned per operation (not all fire: an operation may end first).
const KILLS_PER_OP: std::ops::RangeInclusive<usize> = 1..=4;
/// The environment variables that set the suite's parameters.
pub const SEED_VAR: &str = "STEAD_FAULTS_SEED";
const KILLS_VAR: &str = "STEAD_FAULTS_KILLS";
const WORKERS_VAR: &str = "STEAD_FAULTS_WORKERS";

/// The suite's parameters.
#[derive(Debug, Clone)]
pub struct Config {
    /// The seed of every random choice.
    pub seed: u64,
    /// Kill points to reach (rounds go on until they are reached).
    pub kills: usize,
    /// Clusters driven at once, each by a worker of its own.
    pub workers: usize,
    /// No new round starts after this long.
    pub budget: Duration,
}

fn env_number<T: std::str::FromStr>(var: &str) -> Result<Option<T>>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    std::env::var(var)
        .ok()
        .map(|v| v.trim().parse().with_context(|| format!("{var}={v:?}")))
        .transpose()
}

impl Config {
    /// The defaults given, each overridden by its environment variable
    /// (`STEAD_FAULTS_SEED`, `STEAD_FAULTS_KILLS`, `STEAD_FAULTS_WORKERS`); a random seed
    /// when none is set.
    pub fn from_env(kills: usize, workers: usize, budget: Duration) -> Result<Config> {
        Ok(Config {
            seed: env_number(SEED_VAR)?.unwrap_or_else(|| fastrand::u64(..)),
            kills: env_number(KILLS_VAR)?.unwrap_or(kills),
            workers: env_number::<usize>(WORKERS_VAR)?.unwrap_or(workers).max(1),
            budget,
        })
    }
}

/// One operation on the service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    /// The first deploy.
    Deploy,
    /// A rolling update of the data nodes' cpus.
    Update(f64),
    /// One more data node.
    ScaleOut,
    /// One data node less (the highest index).
    Decommission,
    /// `POST /v1/pods/data-<n>/replace?confirm=data-<n>`.
    Replace(u32),
    /// `--uninstall`.
    Uninstall,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Deploy => f.write_str("deploy"),
            Op::Update(cpus) => write!(f, "rolling update to data.cpus={cpus}"),
            Op::ScaleOut => f.write_str("scale out"),
            Op::Decommission => f.write_str("decommission"),
            Op::Replace(n) => write!(f, "replace data-{n}"),
            Op::Uninstall => f.write_str("uninstall"),
        }
    }
}

impl Op {
    /// A short name, for timing estimates.
    fn kind(self) -> &'static str {
        match self {
            Op::Deploy => "deploy",
            Op::Update(_) => "update",
            Op::ScaleOut => "scale-out",
            Op::Decommission => "decommission",
            Op::Replace(_) => "replace",
            Op::Uninstall => "uninstall",
        }
    }

    /// The calls the scheduler makes during this operation that a fault may act on
    /// (repeated ones are chosen more often).
    fn calls(self) -> &'static [CallType] {
        use stead::proto::scheduler::call::Type::*;
        match self {
            Op::Deploy => &[Subscribe, Accept, Accept, Accept, Acknowledge, Reconcile],
            Op::Update(_) => &[Subscribe, Accept, Accept, Accept, Kill, Acknowledge],
            Op::ScaleOut => &[Subscribe, Accept, Accept, Acknowledge],
            Op::Decommission => &[Subscribe, Kill, Accept, Accept, Acknowledge],
            Op::Replace(_) => &[Kill, Accept, Accept, Acknowledge],
            Op::Uninstall => &[Subscribe, Kill, Accept, Accept, Teardown, Acknowledge],
        }
    }
}

/// Where the scheduler is killed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KillPoint {
    /// This long after the scheduler (re)started, wherever it is then.
    Timed(Duration),
    /// At a call, by the proxy.
    Call(Fault),
}

impl fmt::Display for KillPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KillPoint::Timed(d) => write!(f, "kill -9 {} ms after start", d.as_millis()),
            KillPoint::Call(fault) => fault.fmt(f),
        }
    }
}

impl KillPoint {
    /// Its kind, for the statistics.
    fn kind(&self) -> String {
        match self {
            KillPoint::Timed(_) => "timed".into(),
            KillPoint::Call(f) => {
                let action = match f.action {
                    Action::PassThenKill => "delivered",
                    Action::DropThenKill => "dropped",
                    Action::DelayThenKill(_) => "delayed",
                    Action::KillThenDeliverLate(_) => "late",
                };
                format!("{} {action}", f.call.as_str_name())
            }
        }
    }

    /// A random kill point of `op`, timed ones within `typical` (how long the operation
    /// takes undisturbed).
    fn choose(rng: &mut fastrand::Rng, op: Op, typical: Duration) -> KillPoint {
        if rng.u8(..100) < 30 {
            let most = u64::try_from(typical.as_millis())
                .unwrap_or(u64::MAX)
                .max(20);
            return KillPoint::Timed(Duration::from_millis(rng.u64(0..=most)));
        }
        let calls = op.calls();
        let call = calls[rng.usize(..calls.len())];
        let nth = if call == CallType::Subscribe {
            1
        } else {
            rng.u32(1..=3)
        };
        let delay = Duration::from_millis(rng.u64(20..=1000));
        let action = match rng.u8(..4) {
            0 => Action::PassThenKill,
            1 => Action::DropThenKill,
            2 => Action::DelayThenKill(delay),
            _ => Action::KillThenDeliverLate(delay),
        };
        KillPoint::Call(Fault { call, nth, action })
    }
}

/// An operation whose invariants did not hold.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Where: worker, round and operation.
    pub at: String,
    /// The kill points that fired during the operation, in order.
    pub kills: Vec<String>,
    /// What the checker saw.
    pub violations: Vec<Violation>,
    /// The scheduler's log.
    pub log: PathBuf,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} after kill points {:?}:", self.at, self.kills)?;
        for v in &self.violations {
            writeln!(f, "  {v}")?;
        }
        write!(f, "  scheduler log: {}", self.log.display())
    }
}

/// What a run of the suite did.
#[derive(Debug, Default)]
pub struct Report {
    /// Kill points that fired.
    pub kills: usize,
    /// Of them, by kind.
    pub by_kind: BTreeMap<String, usize>,
    /// Operations run and checked.
    pub operations: usize,
    /// Rounds run (deploy to uninstall, or to the first failure).
    pub rounds: usize,
    /// The operations whose invariants did not hold.
    pub failures: Vec<Failure>,
}

impl Report {
    fn add(&mut self, other: Report) {
        self.kills += other.kills;
        for (k, n) in other.by_kind {
            *self.by_kind.entry(k).or_default() += n;
        }
        self.operations += other.operations;
        self.rounds += other.rounds;
        self.failures.extend(other.failures);
    }
}

/// Runs the suite: `config.workers` clusters at once, rounds on each until
/// `config.kills` kill points fired in all (or the budget is spent).
pub async fn run(config: &Config) -> Result<Report> {
    let fired = AtomicUsize::new(0);
    let deadline = Instant::now() + config.budget;
    let workers = (0..config.workers).map(|w| worker(w, config, &fired, deadline));
    let mut report = Report::default();
    for result in futures::future::join_all(workers).await {
        report.add(result?);
    }
    Ok(report)
}

/// A cluster with the proxy in front of its master.
struct Bench {
    cluster: StandaloneCluster,
    proxy: FaultProxy,
}

impl Bench {
    /// A new cluster, and a proxy in front of it, under `dir` (numbered `round`).
    async fn start(dir: &Path, round: usize) -> Result<Bench> {
        let cluster = StandaloneCluster::start(
            &dir.join(format!("cluster-{round}")),
            AGENTS,
            AGENT_CPUS,
            &dir.join(format!("cluster-{round}.log")),
        )?;
        let proxy = FaultProxy::start(cluster.url()).await?;
        Ok(Bench { cluster, proxy })
    }
}

/// Runs `ops` once on a new cluster, each with the kill points given (random ones where
/// `None`).
pub async fn scripted(name: &str, ops: Vec<(Op, Option<Vec<KillPoint>>)>) -> Result<Report> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("stead-faults-{name}-"))
        .tempdir()?;
    let bench = Bench::start(dir.path(), 0).await?;
    let mut rng = fastrand::Rng::with_seed(0);
    let mut typical = BTreeMap::new();
    let fired = AtomicUsize::new(0);
    let mut round = Round::new(
        name.to_string(),
        &mut rng,
        &bench,
        dir.path(),
        0,
        &mut typical,
        &fired,
    )?;
    round.run(ops).await?;
    if let Some(s) = round.scheduler.take() {
        s.kill9()?;
    }
    let report = std::mem::take(&mut round.report);
    bench.cluster.stop()?;
    if !report.failures.is_empty() {
        eprintln!("{name}: logs kept in {}", dir.keep().display());
    }
    Ok(report)
}

async fn worker(
    id: usize,
    config: &Config,
    fired: &AtomicUsize,
    deadline: Instant,
) -> Result<Report> {
    let mut rng = fastrand::Rng::with_seed(config.seed.wrapping_add(id as u64));
    let dir = tempfile::Builder::new()
        .prefix(&format!("stead-faults-{id}-"))
        .tempdir()?;
    let mut report = Report::default();
    let mut bench: Option<Bench> = None;
    let mut typical = BTreeMap::new();
    let mut round = 0;
    while fired.load(Ordering::SeqCst) < config.kills && Instant::now() < deadline {
        let b = match bench.take() {
            Some(b) => b,
            None => Bench::start(dir.path(), round).await?,
        };
        let at = format!("seed {} worker {id} round {round}", config.seed);
        let mut r = Round::new(at, &mut rng, &b, dir.path(), round, &mut typical, fired)?;
        let ops = r.random_ops();
        let clean = r.run(ops).await?;
        report.add(std::mem::take(&mut r.report));
        report.rounds += 1;
        round += 1;
        if clean {
            // Uninstalled: the cluster is as new, the next round can use it.
            bench = Some(b);
        } else {
            b.cluster.stop()?;
        }
    }
    if !report.failures.is_empty() {
        // Keep the logs of the failures.
        let kept = dir.keep();
        eprintln!("worker {id}: logs kept in {}", kept.display());
    }
    Ok(report)
}

/// One round on one cluster: deploy, then each operation, until uninstalled or until an
/// operation's invariants do not hold.
struct Round<'a> {
    at: String,
    rng: &'a mut fastrand::Rng,
    bench: &'a Bench,
    state_dir: PathBuf,
    log: PathBuf,
    declared: Declared,
    checker: Checker,
    scheduler: Option<SchedulerProcess>,
    /// How long each kind of operation took undisturbed, lately.
    typical: &'a mut BTreeMap<&'static str, Duration>,
    report: Report,
    fired: &'a AtomicUsize,
}

/// How an operation ended before the check.
enum Driven {
    /// Completed (plans COMPLETE, or the uninstall exited 0) after these kills.
    Done(Vec<KillPoint>),
    /// It broke an invariant on the way (the scheduler exited, or never completed).
    Broken(Vec<KillPoint>, Violation),
}

impl<'a> Round<'a> {
    /// A round on `bench`, its state and log under `dir` (numbered `index`).
    fn new(
        at: String,
        rng: &'a mut fastrand::Rng,
        bench: &'a Bench,
        dir: &Path,
        index: usize,
        typical: &'a mut BTreeMap<&'static str, Duration>,
        fired: &'a AtomicUsize,
    ) -> Result<Round<'a>> {
        Ok(Round {
            at,
            rng,
            bench,
            state_dir: dir.join(format!("state-{index}")),
            log: dir.join(format!("scheduler-{index}.log")),
            declared: Declared::initial()?,
            checker: Checker::default(),
            scheduler: None,
            typical,
            report: Report::default(),
            fired,
        })
    }

    /// The operations of a random round: deploy to uninstall, kill points to be chosen.
    fn random_ops(&mut self) -> Vec<(Op, Option<Vec<KillPoint>>)> {
        let update_cpus = if self.rng.bool() { 1.5 } else { 2.0 };
        let replaced = self.rng.u32(0..self.declared.data_count);
        [
            Op::Deploy,
            Op::Update(update_cpus),
            Op::ScaleOut,
            Op::Decommission,
            Op::Replace(replaced),
            Op::Uninstall,
        ]
        .into_iter()
        .map(|op| (op, None))
        .collect()
    }

    /// Runs `ops`, each with its kill points (chosen at random where not given); true
    /// when every invariant held after each.
    async fn run(&mut self, ops: Vec<(Op, Option<Vec<KillPoint>>)>) -> Result<bool> {
        for (op, points) in ops {
            if !self.operation(op, points).await? {
                if let Some(s) = self.scheduler.take() {
                    s.kill9()?;
                }
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn args(&self, uninstall: bool) -> Vec<String> {
        let mut args = vec![
            "--master".to_string(),
            self.bench.proxy.url().to_string(),
            "--state-dir".to_string(),
            self.state_dir.display().to_string(),
        ];
        args.extend(self.declared.args());
        if uninstall {
            args.push("--uninstall".into());
        }
        args
    }

    /// Starts the scheduler with `args`, stopping the running one.
    fn restart(&mut self, args: &[String]) -> Result<()> {
        if let Some(s) = self.scheduler.take() {
            s.kill9()?;
        }
        let s = SchedulerProcess::spawn(args, &self.log)?;
        self.bench.proxy.set_victim(s.pid());
        self.scheduler = Some(s);
        Ok(())
    }

    fn scheduler(&mut self) -> Result<&mut SchedulerProcess> {
        self.scheduler.as_mut().context("a scheduler runs")
    }

    /// Runs `op` with `points` (random ones if `None`) and checks the invariants; true
    /// when they held.
    async fn operation(&mut self, op: Op, points: Option<Vec<KillPoint>>) -> Result<bool> {
        match op {
            Op::Deploy | Op::Replace(_) | Op::Uninstall => {}
            Op::Update(cpus) => self.declared.data_cpus = cpus,
            Op::ScaleOut => self.declared.data_count += 1,
            Op::Decommission => self.declared.data_count -= 1,
        }
        let args = self.args(op == Op::Uninstall);
        self.restart(&args)?;
        let mut old_volume = None;
        if let Op::Replace(n) = op {
            let instance = format!("data-{n}");
            // Replace a settled service: the request is stored before it is answered.
            match self.drive(op, &args, Vec::new(), None).await? {
                Driven::Done(_) => {}
                Driven::Broken(_, v) => return self.failed(op, Vec::new(), vec![v]),
            }
            let api = self.api().await?;
            match replace(&api, &instance).await {
                Ok(old) => old_volume = old,
                Err(e) => {
                    let v = violation(names::API, format!("replace {instance}: {e:#}"));
                    return self.failed(op, Vec::new(), vec![v]);
                }
            }
        }
        let typical = self
            .typical
            .get(op.kind())
            .copied()
            .unwrap_or(Duration::from_millis(500));
        let points = points.unwrap_or_else(|| {
            let count = self.rng.usize(KILLS_PER_OP);
            (0..count)
                .map(|_| KillPoint::choose(self.rng, op, typical))
                .collect()
        });
        let started = Instant::now();
        let (kills, broken) = match self.drive(op, &args, points, old_volume.as_deref()).await? {
            Driven::Done(kills) => (kills, None),
            Driven::Broken(kills, v) => (kills, Some(v)),
        };
        if kills.is_empty() {
            self.typical.insert(op.kind(), started.elapsed());
        }
        self.report.kills += kills.len();
        self.report.operations += 1;
        for k in &kills {
            *self.report.by_kind.entry(k.kind()).or_default() += 1;
        }
        self.fired.fetch_add(kills.len(), Ordering::SeqCst);
        if let Some(v) = broken {
            return self.failed(op, kills, vec![v]);
        }
        let replaced = match op {
            Op::Replace(n) => Some(format!("data-{n}")),
            _ => None,
        };
        let violations = self.settled(op, replaced.as_deref()).await?;
        if violations.is_empty() {
            if op != Op::Uninstall {
                let st = self.bench.cluster.state().await?;
                self.checker.remember(&st)?;
            }
            Ok(true)
        } else {
            self.failed(op, kills, violations)
        }
    }

    fn failed(
        &mut self,
        op: Op,
        kills: Vec<KillPoint>,
        violations: Vec<Violation>,
    ) -> Result<bool> {
        self.report.failures.push(Failure {
            at: format!("{}: {op}", self.at),
            kills: kills.iter().map(ToString::to_string).collect(),
            violations,
            log: self.log.clone(),
        });
        Ok(false)
    }

    /// The running scheduler's operator API, waiting for it to listen.
    async fn api(&mut self) -> Result<Api> {
        let deadline = Instant::now() + OP_TIMEOUT;
        loop {
            let scheduler = self.scheduler()?;
            if let Some(api) = scheduler.api()? {
                return Ok(api.clone());
            }
            if let Some(status) = scheduler.exited()? {
                anyhow::bail!(
                    "the scheduler exited ({status}) before its API listened; see {}",
                    self.log.display()
                );
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the operator API did not listen; see {}",
                self.log.display()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Arms `point`; returns when a timed one is due.
    fn arm(&self, point: Option<&KillPoint>) -> Option<Instant> {
        match point? {
            KillPoint::Timed(after) => Some(Instant::now() + *after),
            KillPoint::Call(fault) => {
                self.bench.proxy.arm(*fault);
                None
            }
        }
    }

    /// Runs the scheduler through `op` until it completes, firing `points` one after the
    /// other (restarting the scheduler after each).
    async fn drive(
        &mut self,
        op: Op,
        args: &[String],
        points: Vec<KillPoint>,
        old_volume: Option<&str>,
    ) -> Result<Driven> {
        let mut points: VecDeque<KillPoint> = points.into();
        let mut kills = Vec::new();
        let mut due = self.arm(points.front());
        let mut timer_fired = false;
        let mut deadline = Instant::now() + OP_TIMEOUT;
        loop {
            let log = self.log.clone();
            if let Some(status) = self.scheduler()?.exited()? {
                let killed = status.signal() == Some(Signal::SIGKILL as i32);
                let by_fault = self.bench.proxy.take_fired().is_some();
                if killed && (by_fault || timer_fired) {
                    timer_fired = false;
                    kills.extend(points.pop_front());
                    self.restart(args)?;
                    due = self.arm(points.front());
                    deadline = Instant::now() + OP_TIMEOUT;
                    continue;
                }
                if op == Op::Uninstall && status.success() {
                    return Ok(Driven::Done(kills));
                }
                let detail = format!("it exited ({status}); see {}", log.display());
                return Ok(Driven::Broken(kills, violation(names::RUNS, detail)));
            }
            if let Some(at) = due
                && Instant::now() >= at
            {
                due = None;
                timer_fired = true;
                let pid = i32::try_from(self.scheduler()?.pid())?;
                // It may have exited just now; the next look tells.
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                continue;
            }
            if op != Op::Uninstall && !timer_fired && self.done(old_volume).await {
                let nothing_pending = self.bench.proxy.disarm();
                if nothing_pending && self.scheduler()?.exited()?.is_none() {
                    return Ok(Driven::Done(kills));
                }
                // A kill is under way: let it land.
                due = None;
            }
            if Instant::now() > deadline {
                let detail = self.incomplete().await;
                self.bench.proxy.disarm();
                return Ok(Driven::Broken(kills, violation(names::PLANS, detail)));
            }
            let wake = due.map_or(Instant::now() + POLL, |at| at.min(Instant::now() + POLL));
            tokio::time::sleep_until(wake).await;
        }
    }

    /// Whether the running scheduler reports every plan complete (and, after a replace,
    /// the instance on a volume other than `old_volume`).
    async fn done(&mut self, old_volume: Option<&str>) -> bool {
        let Ok(Some(api)) = self.scheduler().and_then(|s| s.api()).map(|a| a.cloned()) else {
            return false;
        };
        let Ok(health) = api.health().await else {
            return false;
        };
        let complete = health.state == stead::api::HealthState::Running
            && health.plans.iter().all(|p| p.status.is_complete());
        if !complete {
            return false;
        }
        let Some(old) = old_volume else {
            return true;
        };
        let Ok(pods) = api.pods().await else {
            return false;
        };
        for pod in pods.iter().filter(|p| p.task_type == "data") {
            let Ok(info) = api.pod_info(&pod.instance).await else {
                return false;
            };
            if info
                .volumes
                .iter()
                .any(|v| v.persistence_id.as_deref() == Some(old))
            {
                return false;
            }
        }
        true
    }

    /// What the scheduler says about its plans, for a timeout.
    async fn incomplete(&mut self) -> String {
        let api = match self.scheduler().and_then(|s| s.api()) {
            Ok(Some(api)) => api.clone(),
            _ => return format!("not complete within {OP_TIMEOUT:?}; the API never listened"),
        };
        match api.health().await {
            Ok(h) => format!("not complete within {OP_TIMEOUT:?}: {h:?}"),
            Err(e) => format!("not complete within {OP_TIMEOUT:?}; health: {e:#}"),
        }
    }

    /// Checks the invariants until they hold, for at most [`SETTLE`]; the violations of
    /// the last check.
    async fn settled(&mut self, op: Op, replaced: Option<&str>) -> Result<Vec<Violation>> {
        let deadline = Instant::now() + SETTLE;
        loop {
            let violations = self.check(op, replaced).await?;
            if violations.is_empty() || Instant::now() > deadline {
                return Ok(violations);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn check(&mut self, op: Op, replaced: Option<&str>) -> Result<Vec<Violation>> {
        let st = self.bench.cluster.state().await?;
        if op == Op::Uninstall {
            return Ok(self.checker.check_uninstalled(&st, self.declared.role()));
        }
        if let Some(status) = self.scheduler()?.exited()? {
            let detail = format!("it exited ({status}); see {}", self.log.display());
            return Ok(vec![violation(names::RUNS, detail)]);
        }
        let api = self.api().await?;
        let view = match observe(&api, &self.declared).await {
            Ok(view) => view,
            Err(e) => return Ok(vec![violation(names::API, format!("{e:#}"))]),
        };
        self.checker
            .check_deployed(&st, &view, &self.declared, replaced)
    }
}

fn violation(invariant: &'static str, detail: String) -> Violation {
    Violation { invariant, detail }
}

/// Replaces `instance` through the operator API; returns its volume before.
async fn replace(api: &Api, instance: &str) -> Result<Option<String>> {
    let old = api
        .pod_info(instance)
        .await?
        .volumes
        .first()
        .and_then(|v| v.persistence_id.clone());
    api.replace(instance).await?;
    Ok(old)
}

/// Reads what the checker needs from the operator API.
async fn observe(api: &Api, declared: &Declared) -> Result<ApiView> {
    let pods = api.pods().await?;
    let mut infos = BTreeMap::new();
    for name in declared.names()? {
        if pods.iter().any(|p| p.instance == name) {
            let info = api.pod_info(&name).await?;
            infos.insert(name, info);
        }
    }
    Ok(ApiView {
        health: api.health().await?,
        target: api.target().await?,
        pods,
        infos,
        framework_id: api.framework_id().await?,
    })
}
