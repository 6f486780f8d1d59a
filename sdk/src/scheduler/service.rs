//! [`DefaultService`]: builds the canonical spec, opens the state, connects to a master
//! (or starts the embedded cluster) and runs the scheduler; [`ServiceHandle`] is the
//! Rust operator API of a running scheduler.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "local")]
use stead_local::{LocalCluster, LocalClusterConfig};
use stead_spec::ServiceSpec;
use stead_state::{ConfigStore, FrameworkStore, Persister, RedbPersister, StateStore};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::clock::SystemClock;
use super::control::SchedulerControl;
use super::core::{Command, Core};
use super::event_loop;
use super::options::{Options, StateLocation};
use super::publish::ServiceSnapshot;
use super::telemetry::{Telemetry, TimedPersister};
use super::zk;
use crate::api::Endpoints;
use crate::args::{SchedulerArgs, env_vars};
use crate::http::{ApiArgs, ApiServer};
use crate::mesos::MesosClient;
use crate::mesos::detect::{self, MasterDetector};
use crate::plan::{PlanSnapshot, Strategy};
use crate::spec::{ServiceSpecification, apply_overrides, build_spec, build_spec_with};
use crate::{Error, Result};

/// The file holding the state inside the state directory.
pub const STATE_FILE: &str = "state.redb";
/// The embedded cluster's work directory inside the state directory.
pub const CLUSTER_DIR: &str = "cluster";

/// Why a scheduler built without the `local` feature refuses to start without a master.
#[cfg(not(feature = "local"))]
const NO_EMBEDDED_CLUSTER: &str = "no --master (or STEAD_MASTER) given, and this scheduler was \
     built without the embedded cluster (the `local` feature of stead)";

/// Stands in for the embedded cluster in a build without the `local` feature: no value
/// of it exists, so such a scheduler always talks to a `--master`.
#[cfg(not(feature = "local"))]
#[derive(Debug)]
enum LocalCluster {}

#[cfg(not(feature = "local"))]
impl LocalCluster {
    fn master_url(&self) -> &str {
        match *self {}
    }

    async fn shutdown(self) -> Result<()> {
        match self {}
    }
}

/// Deploys a service specification and keeps it running.
///
/// ```no_run
/// # use stead::prelude::*;
/// # async fn run(spec: impl ServiceSpecification) -> stead::Result<()> {
/// DefaultService::new(8080).register(spec).await
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct DefaultService {
    api_port: u16,
    api: ApiArgs,
    options: Options,
}

impl DefaultService {
    /// A service whose operator API listens on `api_port` (0: a free port) unless
    /// `--api-port` says otherwise, configured by the process's command line and
    /// environment: the scheduler's flags ([`SchedulerArgs`]) and the spec overrides
    /// `STEAD_<TASK>_<KEY>`. Like clap's `Parser::parse`, it prints the help, the version
    /// or a usage error (an unknown flag, a missing or bad value) and exits. A binary with
    /// flags of its own flattens [`SchedulerArgs`] into them and calls
    /// [`from_args`](Self::from_args); [`stead::main`](crate::main) also sets up logging
    /// and prints the scheduler's error.
    pub fn new(api_port: u16) -> DefaultService {
        let command = SchedulerArgs::command(env!("CARGO_PKG_VERSION"));
        let args = SchedulerArgs::try_parse_with(command, std::env::args_os())
            .unwrap_or_else(|e| e.exit());
        DefaultService::from_args(args, api_port)
    }

    /// A service configured by `args` (parsed by the caller), with the spec overrides
    /// `STEAD_<TASK>_<KEY>` of the process's environment; its operator API listens on
    /// `api_port` (0: a free port) unless `args` says otherwise.
    pub fn from_args(args: SchedulerArgs, api_port: u16) -> DefaultService {
        DefaultService {
            api_port,
            options: args.options(env_vars()),
            api: args.api,
        }
    }

    /// A service with exactly these options (nothing read from the process).
    pub fn with_options(api_port: u16, options: Options) -> DefaultService {
        DefaultService {
            api_port,
            api: ApiArgs::default(),
            options,
        }
    }

    /// The operator API port.
    pub fn api_port(&self) -> u16 {
        self.api_port
    }

    /// The options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The operator API's address and token (loopback, no token by default).
    pub fn api(mut self, api: ApiArgs) -> Self {
        self.api = api;
        self
    }

    /// Uses the Mesos master at `url` instead of the embedded cluster.
    pub fn master(mut self, url: impl Into<String>) -> Self {
        self.options.master = Some(url.into());
        self
    }

    /// Keeps the state in `dir` (file `state.redb`).
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.options.state = Some(StateLocation::Dir(dir.into()));
        self
    }

    /// Keeps the state in `persister`.
    pub fn persister(mut self, persister: Arc<dyn Persister>) -> Self {
        self.options.state = Some(StateLocation::Persister(persister));
        self
    }

    /// Keeps the state in ZooKeeper (`zk://host:2181[,host:2181][/path]`, root
    /// `/stead/<service>` without a path) under the service's lock; see [`Options::zk`].
    pub fn zookeeper(mut self, url: impl Into<String>) -> Self {
        self.options.zk = Some(url.into());
        self
    }

    /// Number of agents of the embedded cluster.
    pub fn agents(mut self, n: usize) -> Self {
        self.options.agents = n;
        self
    }

    /// How long Mesos keeps the tasks while the scheduler is away.
    pub fn failover_timeout(mut self, d: Duration) -> Self {
        self.options.failover_timeout = d;
        self
    }

    /// Deploy strategy (serial by default).
    pub fn strategy(mut self, s: Strategy) -> Self {
        self.options.strategy = s;
        self
    }

    /// Automatic replacement after an agent is gone this long (`None`: operator only).
    pub fn replace_timeout(mut self, d: Option<Duration>) -> Self {
        self.options.replace_timeout = d;
        self
    }

    /// Changes any option.
    pub fn configure(mut self, f: impl FnOnce(&mut Options)) -> Self {
        f(&mut self.options);
        self
    }

    /// Deploys `spec` and runs until Ctrl-C (SIGINT) or SIGTERM, or a fatal error.
    pub async fn register<S: ServiceSpecification>(self, spec: S) -> Result<()> {
        let spec = self.build_with_overrides(&spec)?;
        self.register_spec(spec).await
    }

    /// Like [`register`](Self::register), from a canonical spec (validated here too).
    pub async fn register_spec(self, spec: ServiceSpec) -> Result<()> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut sigterm = signal(SignalKind::terminate())?;
        // A scheduler waiting for the service lock or a leading master can be stopped too.
        let mut handle = tokio::select! {
            h = self.start_spec(spec) => h?,
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("interrupted before the scheduler started");
                return Ok(());
            }
            _ = sigterm.recv() => return Ok(()),
        };
        tokio::select! {
            r = handle.wait() => {
                handle.shutdown().await?;
                r
            }
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("interrupted: stopping the scheduler (tasks keep running on a real master)");
                handle.shutdown().await
            }
            _ = sigterm.recv() => handle.shutdown().await,
        }
    }

    /// Validates `spec`, opens the state, connects and starts scheduling in the
    /// background. Nothing is launched when the spec is invalid.
    pub async fn start(self, spec: &dyn ServiceSpecification) -> Result<ServiceHandle> {
        let spec = self.build_with_overrides(spec)?;
        self.start_spec(spec).await
    }

    /// Builds the canonical spec with the operator's overrides (`--set`,
    /// `STEAD_<TASK>_<KEY>`) applied, so that a raised count asks the task type for the
    /// commands of its new instances.
    pub(crate) fn build_with_overrides(
        &self,
        spec: &dyn ServiceSpecification,
    ) -> Result<ServiceSpec> {
        let built = build_spec(spec)?;
        let overrides = self.options.overrides_for(&built)?;
        if overrides.is_empty() {
            return Ok(built);
        }
        Ok(build_spec_with(spec, &overrides)?)
    }

    /// The canonical spec this service runs: normalized, with the operator's overrides,
    /// validated.
    pub(crate) fn resolve_spec(&self, mut spec: ServiceSpec) -> Result<ServiceSpec> {
        spec.normalize();
        // Overrides set absolute values: applying them again to a spec built with them
        // changes nothing.
        let overrides = self.options.overrides_for(&spec)?;
        apply_overrides(&mut spec, &overrides)?;
        self.options.apply_principal(&mut spec);
        spec.validate()?;
        Ok(spec)
    }

    /// Like [`start`](Self::start), from a canonical spec (validated here too).
    pub async fn start_spec(self, spec: ServiceSpec) -> Result<ServiceHandle> {
        let spec = self.resolve_spec(spec)?;
        let opts = self.options;
        #[cfg(not(feature = "local"))]
        if opts.master.is_none() {
            return Err(Error::Config(NO_EMBEDDED_CLUSTER.into()));
        }
        let state_dir = opts.state_dir(&spec.name);
        // With --zk, the state is in ZooKeeper and this scheduler holds the service's lock.
        let (zk_state, gate) = zk::open_for(&opts, &spec.name).await?.unzip();
        let persister: Arc<dyn Persister> = match (&opts.state, zk_state) {
            (_, Some(zk_state)) => zk_state,
            (Some(StateLocation::Persister(p)), None) => p.clone(),
            _ => {
                // Invariant: state_dir is Some unless a persister was given.
                let dir = state_dir.clone().unwrap_or_default();
                Arc::new(RedbPersister::open(dir.join(STATE_FILE))?)
            }
        };
        let telemetry = Arc::new(Telemetry::default());
        let persister: Arc<dyn Persister> =
            Arc::new(TimedPersister::new(persister, telemetry.clone()));
        let api_port = opts.api_port.unwrap_or(self.api_port);
        let listener = ApiServer::bind(&self.api, api_port).await?;
        let configs: ConfigStore<ServiceSpec> = ConfigStore::new(persister.clone());
        // A rejected configuration leaves the current target running (or, fail-fast, stops).
        let (spec, config_id, config_errors) =
            super::update::accept_target(&configs, spec, opts.fail_fast, opts.uninstall)?;

        // Read before anything starts: a missing secret file or a bad CA file stops here.
        let access = opts.master_access(&spec.principal)?;
        let cluster: Option<LocalCluster> = match &opts.master {
            Some(_) => None,
            // Refused above: there is no embedded cluster in this build.
            #[cfg(not(feature = "local"))]
            None => None,
            #[cfg(feature = "local")]
            None => {
                let work_dir = match &state_dir {
                    Some(d) => d.join(CLUSTER_DIR),
                    None => std::env::temp_dir().join(format!(
                        "stead-{}-{}",
                        spec.name,
                        uuid::Uuid::new_v4()
                    )),
                };
                // Absolute, so that paths the agents derive from it stay valid in sandboxes.
                let work_dir = std::path::absolute(&work_dir)?;
                let config = LocalClusterConfig::new(work_dir)
                    .agents(opts.agents)
                    .heartbeat_interval(opts.local_heartbeat);
                Some(LocalCluster::start(config).await?)
            }
        };
        let mut detector = match &opts.master {
            Some(m) if detect::is_zk_url(m) => {
                Some(MasterDetector::start(m, opts.call_timeout, access.clone()).await?)
            }
            _ => None,
        };
        let master_url = match (&opts.master, &cluster, detector.as_mut()) {
            (_, _, Some(d)) => d.leader().await,
            (Some(m), _, None) => m.clone(),
            (None, Some(c), None) => c.master_url().to_string(),
            // Invariant: a cluster is started whenever no master is given.
            (None, None, None) => return Err(Error::Config("no master".into())),
        };
        tracing::info!(service = %spec.name, master = %master_url, config = %config_id, "starting the scheduler");
        let client = Arc::new(MesosClient::with_access(
            &master_url,
            opts.call_timeout,
            access,
        )?);
        let (snap_tx, snap_rx) = watch::channel(ServiceSnapshot::default());
        let (cmd_tx, cmd_rx) = mpsc::channel(16);
        let control = SchedulerControl::new(
            &spec,
            cmd_tx.clone(),
            snap_rx.clone(),
            StateStore::new(persister.clone()),
            configs,
            telemetry.clone(),
            client.clone(),
        );
        let mut core = Core::new(
            opts,
            spec,
            config_id,
            StateStore::new(persister.clone()),
            FrameworkStore::new(persister),
            client.clone(),
            Arc::new(SystemClock),
            snap_tx,
        )?
        .with_telemetry(telemetry);
        if !config_errors.is_empty() {
            core.set_config_errors(config_errors);
        }
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = tokio::spawn(event_loop::run(
            core, client, cmd_rx, stop_rx, gate, detector,
        ));
        let api = ApiServer::start(listener, &self.api, Arc::new(control))?;
        Ok(ServiceHandle {
            api_port: self.api_port,
            api_addr: api.addr(),
            api: Some(api),
            master_url,
            commands: cmd_tx,
            snapshots: snap_rx,
            stop: Some(stop_tx),
            task: Some(task),
            cluster,
        })
    }
}

/// A running scheduler: its state, and the operator actions (the Rust operator API).
#[derive(Debug)]
pub struct ServiceHandle {
    api_port: u16,
    api_addr: SocketAddr,
    api: Option<ApiServer>,
    master_url: String,
    commands: mpsc::Sender<Command>,
    snapshots: watch::Receiver<ServiceSnapshot>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<()>>>,
    cluster: Option<LocalCluster>,
}

impl ServiceHandle {
    /// The operator API port this service was built with.
    pub fn api_port(&self) -> u16 {
        self.api_port
    }

    /// The address the operator API listens on (the actual port when built with 0).
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// The master this scheduler talks to.
    pub fn master_url(&self) -> &str {
        &self.master_url
    }

    /// The embedded cluster, when the scheduler started one.
    #[cfg(feature = "local")]
    pub fn cluster(&self) -> Option<&LocalCluster> {
        self.cluster.as_ref()
    }

    /// The current state of the service.
    pub fn snapshot(&self) -> ServiceSnapshot {
        self.snapshots.borrow().clone()
    }

    /// A receiver of every new snapshot.
    pub fn watch(&self) -> watch::Receiver<ServiceSnapshot> {
        self.snapshots.clone()
    }

    /// Where every launched instance can be reached: addresses, hostnames and named
    /// ports (what `GET /v1/endpoints` serves).
    pub fn endpoints(&self) -> Endpoints {
        self.snapshots.borrow().endpoints()
    }

    /// The snapshots of every plan.
    pub fn plans(&self) -> Vec<PlanSnapshot> {
        self.snapshots.borrow().plans.clone()
    }

    /// The snapshot of plan `name` (`deploy`, `recovery`).
    pub fn plan(&self, name: &str) -> Option<PlanSnapshot> {
        self.snapshots.borrow().plan(name).cloned()
    }

    /// Waits until `pred` holds for the snapshot, up to `timeout`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&ServiceSnapshot) -> bool,
    ) -> Result<ServiceSnapshot> {
        let mut rx = self.snapshots.clone();
        let wait = async {
            loop {
                {
                    let snap = rx.borrow_and_update();
                    if pred(&snap) {
                        return Ok(snap.clone());
                    }
                }
                if rx.changed().await.is_err() {
                    return Err(Error::Stopped);
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| Error::Timeout(timeout))?
    }

    async fn request<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T>>) -> Command,
    ) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)?
    }

    /// Replaces `instance` (e.g. `data-1`): it is placed anew and its old reservation and
    /// volume are destroyed once offered.
    pub async fn replace(&self, instance: &str) -> Result<()> {
        let name = instance.to_string();
        self.request(|tx| Command::Replace(name, tx)).await?;
        Ok(())
    }

    /// Uninstalls the service (irreversible): every task is killed, every volume
    /// destroyed and every reservation released, then the framework is torn down, the
    /// state wiped and the scheduler stops ([`wait`](Self::wait) returns). Returns once
    /// the decision is stored.
    pub async fn uninstall(&self) -> Result<()> {
        self.request(Command::Uninstall).await
    }

    /// Restarts `instance` in place (same agent, same volume).
    pub async fn restart(&self, instance: &str) -> Result<()> {
        let name = instance.to_string();
        self.request(|tx| Command::Restart(name, tx)).await?;
        Ok(())
    }

    /// Waits until the scheduler stops by itself (a fatal error).
    pub async fn wait(&mut self) -> Result<()> {
        match self.task.as_mut() {
            Some(t) => {
                let r = t.await;
                self.task = None;
                r.map_err(|e| Error::TaskFailed(format!("the scheduler: {e}")))?
            }
            None => Ok(()),
        }
    }

    /// Stops the scheduler (tasks keep running on a real master) and the embedded
    /// cluster, if this scheduler started one.
    pub async fn shutdown(mut self) -> Result<()> {
        if let Some(api) = self.api.take() {
            api.stop().await;
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = self.wait().await;
        if let Some(cluster) = self.cluster.take() {
            cluster.shutdown().await?;
        }
        result
    }
}

#[cfg(all(test, not(feature = "local")))]
mod tests {
    use super::*;
    use crate::offer::operations::test_spec;

    #[tokio::test]
    async fn without_the_embedded_cluster_a_master_is_required() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let options = Options {
            state: Some(StateLocation::Dir(dir.path().join("state"))),
            ..Options::default()
        };
        let Err(err) = DefaultService::with_options(0, options)
            .start_spec(test_spec(1, 0.1, "sleep 1"))
            .await
        else {
            panic!("started without --master");
        };
        assert!(matches!(err, Error::Config(_)), "{err}");
        assert!(err.to_string().contains("`local` feature"), "{err}");
        assert!(
            !dir.path().join("state").exists(),
            "refused before the state is opened"
        );
    }
}
