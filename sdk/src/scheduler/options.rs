//! Scheduler options: builder values, with `--master`, `--state-dir`, `--agents`, `--zk`
//! and `--zk-lock` (or `STEAD_MASTER`, `STEAD_STATE_DIR`, `STEAD_AGENTS`, `STEAD_ZK`,
//! `STEAD_ZK_LOCK`) read from the process.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use stead_spec::{Override, ServiceSpec, overrides_from_env};
use stead_state::Persister;

use crate::plan::Strategy;
use crate::{Error, Result};

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
    /// The operator API port, overriding the one the service was built with
    /// (`--api-port`, `STEAD_API_PORT`; 0 picks a free port).
    pub api_port: Option<u16>,
    /// Spec overrides from the command line, each `task.key=value` (`--set`, repeatable).
    pub set: Vec<String>,
    /// Spec overrides from the environment: the `STEAD_*` variables, read as
    /// `STEAD_<TASK>_<KEY>` once the task types are known.
    pub override_env: Vec<(String, String)>,
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
            api_port: None,
            set: Vec::new(),
            override_env: Vec::new(),
            agents: 3,
            failover_timeout: Duration::from_secs(7 * 24 * 3600),
            strategy: Strategy::Serial,
            uninstall: false,
            fail_fast: false,
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
    /// Applies `STEAD_MASTER`, `STEAD_STATE_DIR`, `STEAD_AGENTS`, `STEAD_ZK`,
    /// `STEAD_ZK_LOCK`, `STEAD_API_PORT`, `STEAD_UNINSTALL` and `STEAD_FAIL_FAST` from
    /// `env`, then `--master URL`, `--state-dir DIR`, `--agents N`, `--zk URL`,
    /// `--zk-lock wait|exit`, `--api-port PORT`, `--set task.key=value` (repeatable),
    /// `--uninstall` and `--fail-fast` (or `--flag=value`) from `args`. Other arguments
    /// are left alone.
    pub fn apply_env_and_args(
        &mut self,
        env: impl Fn(&str) -> Option<String>,
        args: impl IntoIterator<Item = String>,
    ) -> Result<()> {
        if let Some(m) = env("STEAD_MASTER").filter(|m| !m.is_empty()) {
            self.master = Some(m);
        }
        if let Some(d) = env("STEAD_STATE_DIR").filter(|d| !d.is_empty()) {
            self.state = Some(StateLocation::Dir(d.into()));
        }
        if let Some(n) = env("STEAD_AGENTS").filter(|n| !n.is_empty()) {
            self.agents = parse_agents(&n)?;
        }
        if let Some(z) = env("STEAD_ZK").filter(|z| !z.is_empty()) {
            self.zk = Some(z);
        }
        if let Some(w) = env("STEAD_ZK_LOCK").filter(|w| !w.is_empty()) {
            self.zk_lock_wait = parse_lock_wait(&w)?;
        }
        if let Some(p) = env("STEAD_API_PORT").filter(|p| !p.is_empty()) {
            self.api_port = Some(parse_port("STEAD_API_PORT", &p)?);
        }
        if let Some(u) = env("STEAD_UNINSTALL").filter(|u| !u.is_empty()) {
            self.uninstall = parse_bool("STEAD_UNINSTALL", &u)?;
        }
        if let Some(f) = env("STEAD_FAIL_FAST").filter(|f| !f.is_empty()) {
            self.fail_fast = parse_bool("STEAD_FAIL_FAST", &f)?;
        }
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            // Switches: `--uninstall` or `--uninstall=false`.
            let switch = inline.as_deref().unwrap_or("true");
            match flag.as_str() {
                "--uninstall" => {
                    self.uninstall = parse_bool(&flag, switch)?;
                    continue;
                }
                "--fail-fast" => {
                    self.fail_fast = parse_bool(&flag, switch)?;
                    continue;
                }
                _ => {}
            }
            if !matches!(
                flag.as_str(),
                "--master"
                    | "--state-dir"
                    | "--agents"
                    | "--zk"
                    | "--zk-lock"
                    | "--api-port"
                    | "--set"
            ) {
                continue;
            }
            let value = match inline.or_else(|| args.next()) {
                Some(v) => v,
                None => return Err(Error::Config(format!("{flag} needs a value"))),
            };
            match flag.as_str() {
                "--master" => self.master = Some(value),
                "--state-dir" => self.state = Some(StateLocation::Dir(value.into())),
                "--zk" => self.zk = Some(value),
                "--zk-lock" => self.zk_lock_wait = parse_lock_wait(&value)?,
                "--api-port" => self.api_port = Some(parse_port(&flag, &value)?),
                "--set" => self.set.push(value),
                _ => self.agents = parse_agents(&value)?,
            }
        }
        Ok(())
    }

    /// The operator's spec overrides for `spec`: `STEAD_<TASK>_<KEY>` variables first,
    /// then `--set task.key=value` (so the command line wins), each naming its origin.
    pub fn overrides_for(&self, spec: &ServiceSpec) -> Result<Vec<Override>> {
        let mut all = overrides_from_env(self.override_env.iter().cloned(), spec)?;
        all.extend(Override::parse_sets(self.set.iter().map(String::as_str))?);
        Ok(all)
    }
}

fn parse_port(name: &str, value: &str) -> Result<u16> {
    value.trim().parse().map_err(|_| {
        Error::Config(format!(
            "{name} must be a port number (0 to 65535), got `{value}`"
        ))
    })
}

fn parse_bool(name: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        other => Err(Error::Config(format!(
            "{name} must be true or false, got `{other}`"
        ))),
    }
}

fn parse_agents(n: &str) -> Result<usize> {
    match n.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(Error::Config(format!(
            "--agents must be a whole number >= 1, got `{n}`"
        ))),
    }
}

fn parse_lock_wait(mode: &str) -> Result<bool> {
    match mode.trim() {
        "wait" => Ok(true),
        "exit" => Ok(false),
        other => Err(Error::Config(format!(
            "--zk-lock must be `wait` or `exit`, got `{other}`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uninstall_and_fail_fast_switches() {
        let mut o = Options::default();
        assert!(!o.uninstall && !o.fail_fast);
        let env = |k: &str| (k == "STEAD_UNINSTALL").then(|| "true".to_string());
        o.apply_env_and_args(env, args(&["prog", "--fail-fast"]))
            .unwrap();
        assert!(o.uninstall && o.fail_fast);
        o.apply_env_and_args(|_| None, args(&["--uninstall=false", "--master", "m"]))
            .unwrap();
        assert!(!o.uninstall);
        assert_eq!(o.master.as_deref(), Some("m"));
        let bad = o.apply_env_and_args(|_| None, args(&["--fail-fast=maybe"]));
        assert!(bad.unwrap_err().to_string().contains("--fail-fast"));
    }

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn spec_overrides_from_set_and_env_with_the_command_line_last() {
        let spec = ServiceSpec::from_json(
            &serde_json::json!({
                "name": "svc", "role": "svc-role", "principal": "svc-principal",
                "task_types": [{
                    "name": "data", "count": 3, "goal": "RUNNING",
                    "command": { "template": { "value": "./data", "uris": [], "env": {} } },
                    "resources": [
                        { "name": "cpus", "value": 1.0, "role": "svc-role", "principal": "svc-principal" },
                        { "name": "mem", "value": 256.0, "role": "svc-role", "principal": "svc-principal" }
                    ],
                    "volumes": [], "ports": [], "placement": [],
                    "health_check": null, "readiness_check": null,
                    "allow_decommission": false, "kill_grace_period": null
                }]
            })
            .to_string(),
        )
        .expect("a valid spec");
        let mut o = Options {
            override_env: vec![
                ("STEAD_DATA_COUNT".into(), "4".into()),
                ("STEAD_MASTER".into(), "http://m:5050".into()),
            ],
            ..Options::default()
        };
        o.apply_env_and_args(
            |_| None,
            args(&[
                "--set",
                "data.count=5",
                "--set=data.cpus=0.5",
                "--api-port",
                "0",
            ]),
        )
        .unwrap();
        assert_eq!(o.api_port, Some(0));
        let all = o.overrides_for(&spec).unwrap();
        let seen: Vec<(&str, &str)> = all
            .iter()
            .map(|x| (x.key.as_str(), x.value.as_str()))
            .collect();
        assert_eq!(seen, [("count", "4"), ("count", "5"), ("cpus", "0.5")]);

        let mut applied = spec.clone();
        stead_spec::apply_overrides(&mut applied, &all).unwrap();
        assert_eq!(applied.task_types[0].count, 5);
        assert_eq!(applied.task_types[0].cpus(), 0.5);

        o.set = vec!["data.cout=5".into()];
        let typo = o.overrides_for(&spec).unwrap();
        let err = stead_spec::apply_overrides(&mut spec.clone(), &typo)
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean `count`"), "{err}");
        o.set.clear();
        o.override_env = vec![("STEAD_DAT_COUNT".into(), "5".into())];
        let err = o.overrides_for(&spec).unwrap_err().to_string();
        assert!(err.contains("STEAD_DAT_COUNT"), "{err}");
        let bad = o.apply_env_and_args(|_| None, args(&["--api-port", "http"]));
        assert!(bad.unwrap_err().to_string().contains("--api-port"));
    }

    #[test]
    fn flags_and_env() {
        let mut o = Options::default();
        let env = |k: &str| (k == "STEAD_AGENTS").then(|| "5".to_string());
        o.apply_env_and_args(
            env,
            args(&[
                "prog",
                "--master",
                "http://m:5050",
                "--other",
                "--state-dir=/tmp/x",
            ]),
        )
        .unwrap();
        assert_eq!(o.master.as_deref(), Some("http://m:5050"));
        assert_eq!(o.agents, 5);
        assert!(
            matches!(o.state, Some(StateLocation::Dir(ref d)) if d == &PathBuf::from("/tmp/x"))
        );
        let bad = o.apply_env_and_args(|_| None, args(&["--agents", "zero"]));
        assert!(bad.unwrap_err().to_string().contains("--agents"));
        assert!(o.apply_env_and_args(|_| None, args(&["--master"])).is_err());
    }

    #[test]
    fn zookeeper_flags_and_env() {
        let mut o = Options::default();
        assert!(
            o.zk.is_none() && o.zk_lock_wait,
            "no ZooKeeper, waiting by default"
        );
        let env = |k: &str| match k {
            "STEAD_ZK" => Some("zk://env:2181".to_string()),
            "STEAD_ZK_LOCK" => Some("exit".to_string()),
            _ => None,
        };
        o.apply_env_and_args(env, args(&["prog"])).unwrap();
        assert_eq!(o.zk.as_deref(), Some("zk://env:2181"));
        assert!(!o.zk_lock_wait);
        o.apply_env_and_args(
            |_| None,
            args(&["--zk", "zk://a:2181,b:2181/svc", "--zk-lock=wait"]),
        )
        .unwrap();
        assert_eq!(o.zk.as_deref(), Some("zk://a:2181,b:2181/svc"));
        assert!(o.zk_lock_wait);
        let bad = o.apply_env_and_args(|_| None, args(&["--zk-lock", "maybe"]));
        assert!(bad.unwrap_err().to_string().contains("--zk-lock"));
    }
}
