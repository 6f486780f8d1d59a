//! Scheduler options: the values a [`DefaultService`](super::DefaultService) is built
//! with, set by the builder or by the scheduler's flags
//! ([`SchedulerArgs`](crate::args::SchedulerArgs)).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use stead_spec::{Override, ServiceSpec, overrides_from_env};
use stead_state::Persister;

use crate::Result;
use crate::mesos::MasterAccess;
use crate::plan::Strategy;

/// Where the scheduler keeps its state.
#[derive(Debug, Clone)]
pub enum StateLocation {
    /// A redb file `state.redb` in this directory (the default: `.stead/<service>`).
    Dir(PathBuf),
    /// A persister supplied by the caller (e.g. in-memory for tests).
    Persister(Arc<dyn Persister>),
}

/// Everything that tunes a [`DefaultService`](super::DefaultService).
#[derive(Debug, Clone)]
pub struct Options {
    /// The Mesos master (`http://host:port`, or `zk://host:2181/mesos` to follow the
    /// leading master); `None` starts the embedded cluster in-process.
    pub master: Option<String>,
    /// Where state lives; `None` means `.stead/<service>`. With [`Options::zk`], a
    /// directory given here only holds the embedded cluster's files.
    pub state: Option<StateLocation>,
    /// Keep the state in ZooKeeper (`zk://[user:password@]host:2181[,host:2181][/path]`,
    /// root `/stead/<service>` when the URL has no path), guarded by the service lock.
    pub zk: Option<String>,
    /// When another scheduler holds the service's ZooKeeper lock: wait for it (`true`, the
    /// default) or fail at once naming the holder.
    pub zk_lock_wait: bool,
    /// The ZooKeeper session timeout to ask for (the server clamps it to its bounds). It
    /// bounds how long a standby waits after the active scheduler died (its lock goes with
    /// its session), and how long a network blip may last before the session is lost.
    pub zk_session_timeout: Duration,
    /// The operator API port, overriding the one the service was built with
    /// (`--api-port`, `STEAD_API_PORT`; 0 picks a free port).
    pub api_port: Option<u16>,
    /// Spec overrides from the command line, each `task.key=value` (`--set`, repeatable).
    pub set: Vec<String>,
    /// Spec overrides from the environment: the `STEAD_*` variables, read as
    /// `STEAD_<TASK>_<KEY>` once the task types are known.
    pub override_env: Vec<(String, String)>,
    /// The principal the framework authenticates, subscribes and reserves as
    /// (`--principal`, `STEAD_PRINCIPAL`); `None`: the service's own (`<service>-principal`
    /// unless the service says otherwise).
    pub principal: Option<String>,
    /// A file whose first line is the principal's secret, sent as HTTP Basic on every
    /// request to the master (`--secret-file`, `STEAD_SECRET_FILE`).
    pub secret_file: Option<PathBuf>,
    /// A PEM file of CA certificates trusted, besides the Mozilla roots, for an
    /// `https://` master (`--ca-file`, `STEAD_CA_FILE`).
    pub ca_file: Option<PathBuf>,
    /// Number of agents of the embedded cluster.
    pub agents: usize,
    /// How long Mesos keeps the tasks running while the scheduler is away.
    pub failover_timeout: Duration,
    /// How the deploy plan proceeds, first deployments and updates alike.
    pub strategy: Strategy,
    /// Uninstall the service (`--uninstall`, `STEAD_UNINSTALL=true`): kill every task,
    /// destroy every volume, release every reservation, tear the framework down and
    /// wipe the state, then stop. Irreversible once begun.
    pub uninstall: bool,
    /// Stop with an error when the new configuration is rejected (`--fail-fast`,
    /// `STEAD_FAIL_FAST=true`) instead of running the previous target and reporting
    /// the errors in the deploy plan.
    pub fail_fast: bool,
    /// With a state that holds nothing (a new install, or a lost state), take over what
    /// the cluster holds of the service (`--adopt`, `STEAD_ADOPT=true`) instead of
    /// refusing to deploy it a second time: subscribe as its framework, kill the tasks the
    /// state does not know, release its reservations and volumes (their data is lost)
    /// and deploy anew.
    pub adopt: bool,
    /// Replace an instance automatically when its agent has been gone this long.
    pub replace_timeout: Option<Duration>,
    /// First relaunch delay of a crash-looping instance (doubled per failure).
    pub backoff_base: Duration,
    /// Largest relaunch delay.
    pub backoff_max: Duration,
    /// A task running this long before failing resets its backoff.
    pub stable_after: Duration,
    /// Timeout of every call to the master.
    pub call_timeout: Duration,
    /// How long offers are refused when there is nothing to do.
    pub decline_long: Duration,
    /// How long offers are refused when work is pending but the offer did not fit.
    pub decline_short: Duration,
    /// Period of implicit reconciliation once explicit reconciliation has finished.
    pub reconcile_interval: Duration,
    /// Heartbeat interval of the embedded cluster's master.
    pub local_heartbeat: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            master: None,
            state: None,
            zk: None,
            zk_lock_wait: true,
            zk_session_timeout: Duration::from_secs(10),
            api_port: None,
            set: Vec::new(),
            override_env: Vec::new(),
            principal: None,
            secret_file: None,
            ca_file: None,
            agents: 3,
            failover_timeout: Duration::from_secs(7 * 24 * 3600),
            strategy: Strategy::Serial,
            uninstall: false,
            fail_fast: false,
            adopt: false,
            replace_timeout: Some(Duration::from_secs(20 * 60)),
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(60),
            stable_after: Duration::from_secs(30),
            call_timeout: Duration::from_secs(10),
            decline_long: Duration::from_secs(7 * 24 * 3600),
            decline_short: Duration::from_secs(5),
            reconcile_interval: Duration::from_secs(300),
            local_heartbeat: Duration::from_secs(15),
        }
    }
}

impl Options {
    /// The directory of the redb state file (and of the embedded cluster's files) of
    /// `service`: the one given, `.stead/<service>` by default, none with a persister.
    pub fn state_dir(&self, service: &str) -> Option<PathBuf> {
        match &self.state {
            Some(StateLocation::Dir(d)) => Some(d.clone()),
            Some(StateLocation::Persister(_)) => None,
            None => Some(PathBuf::from(".stead").join(service)),
        }
    }

    /// Where the state of `service` is kept, for messages.
    pub fn describe_state(&self, service: &str) -> String {
        match (&self.zk, self.state_dir(service)) {
            (Some(zk), _) => {
                // Without the credentials a URL may carry (`zk://user:password@host`).
                let (scheme, rest) = zk.split_once("://").unwrap_or(("zk", zk));
                let hosts = rest.rsplit_once('@').map_or(rest, |(_, hosts)| hosts);
                format!("in ZooKeeper at {scheme}://{hosts}")
            }
            (None, Some(dir)) => dir.join(super::STATE_FILE).display().to_string(),
            (None, None) => "in the persister given".to_string(),
        }
    }

    /// Makes [`Options::principal`], when set, the principal of `spec`: of the framework
    /// and of every reservation and volume made as the service's principal (Mesos
    /// requires an authenticated framework to reserve as itself).
    pub fn apply_principal(&self, spec: &mut ServiceSpec) {
        let Some(principal) = &self.principal else {
            return;
        };
        let previous = std::mem::replace(&mut spec.principal, principal.clone());
        for task in &mut spec.task_types {
            let resources = task.resources.iter_mut().map(|r| &mut r.principal);
            let volumes = task.volumes.iter_mut().map(|v| &mut v.principal);
            for p in resources.chain(volumes) {
                if *p == previous {
                    p.clone_from(principal);
                }
            }
        }
    }

    /// How the scheduler reaches the master as `principal` (the spec's, after
    /// [`Options::apply_principal`]): the secret of [`Options::secret_file`] and the CA
    /// certificates of [`Options::ca_file`], read now.
    pub fn master_access(&self, principal: &str) -> Result<MasterAccess> {
        Ok(MasterAccess::from_files(
            Some(principal.to_string()),
            self.secret_file.as_deref(),
            self.ca_file.as_deref(),
        )?)
    }

    /// The operator's spec overrides for `spec`: `STEAD_<TASK>_<KEY>` variables first,
    /// then `--set task.key=value` (so the command line wins), each naming its origin.
    pub fn overrides_for(&self, spec: &ServiceSpec) -> Result<Vec<Override>> {
        let mut all = overrides_from_env(self.override_env.iter().cloned(), spec)?;
        all.extend(Override::parse_sets(self.set.iter().map(String::as_str))?);
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn the_principal_given_replaces_the_services_own_everywhere() {
        let mut spec = ServiceSpec::from_json(
            &serde_json::json!({
                "name": "svc", "role": "svc-role", "principal": "svc-principal",
                "task_types": [{
                    "name": "data", "count": 1, "goal": "RUNNING",
                    "command": { "template": { "value": "./data", "uris": [], "env": {} } },
                    "resources": [
                        { "name": "cpus", "value": 1.0, "role": "svc-role", "principal": "svc-principal" },
                        { "name": "mem", "value": 256.0, "role": "svc-role", "principal": "other" }
                    ],
                    "volumes": [{ "size_mib": 10, "type": "ROOT", "container_path": "d",
                                  "role": "svc-role", "principal": "svc-principal" }],
                    "ports": [], "placement": [],
                    "health_check": null, "readiness_check": null,
                    "allow_decommission": false, "kill_grace_period": null
                }]
            })
            .to_string(),
        )
        .expect("a valid spec");
        let unchanged = spec.clone();
        Options::default().apply_principal(&mut spec);
        assert_eq!(spec, unchanged);
        let o = Options {
            principal: Some("ops".into()),
            ..Options::default()
        };
        o.apply_principal(&mut spec);
        assert_eq!(spec.principal, "ops");
        let t = &spec.task_types[0];
        assert_eq!(t.resources[0].principal, "ops");
        assert_eq!(
            t.resources[1].principal, "other",
            "an explicit principal stays"
        );
        assert_eq!(t.volumes[0].principal, "ops");
    }

    #[test]
    fn the_state_is_described_without_credentials() {
        let zk = Options {
            zk: Some("zk://user:secret@zk1:2181,zk2:2181/stead".into()),
            ..Options::default()
        };
        assert_eq!(
            zk.describe_state("svc"),
            "in ZooKeeper at zk://zk1:2181,zk2:2181/stead"
        );
        let dir = Options::default().describe_state("svc");
        assert_eq!(
            dir,
            Path::new(".stead/svc/state.redb").display().to_string()
        );
    }
}
