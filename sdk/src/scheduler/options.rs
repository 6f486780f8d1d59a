//! Scheduler options: builder values, with `--master`, `--state-dir` and `--agents`
//! (or `STEAD_MASTER`, `STEAD_STATE_DIR`, `STEAD_AGENTS`) read from the process.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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
    /// The Mesos master (`http://host:port`); `None` starts the embedded cluster in-process.
    pub master: Option<String>,
    /// Where state lives; `None` means `.stead/<service>`.
    pub state: Option<StateLocation>,
    /// Number of agents of the embedded cluster.
    pub agents: usize,
    /// How long Mesos keeps the tasks running while the scheduler is away.
    pub failover_timeout: Duration,
    /// How the deploy plan proceeds.
    pub strategy: Strategy,
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
            agents: 3,
            failover_timeout: Duration::from_secs(7 * 24 * 3600),
            strategy: Strategy::Serial,
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
    /// Applies `STEAD_MASTER`, `STEAD_STATE_DIR` and `STEAD_AGENTS` from `env`, then
    /// `--master URL`, `--state-dir DIR` and `--agents N` (or `--flag=value`) from `args`.
    /// Other arguments are left alone.
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
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            if !matches!(flag.as_str(), "--master" | "--state-dir" | "--agents") {
                continue;
            }
            let value = match inline.or_else(|| args.next()) {
                Some(v) => v,
                None => return Err(Error::Config(format!("{flag} needs a value"))),
            };
            match flag.as_str() {
                "--master" => self.master = Some(value),
                "--state-dir" => self.state = Some(StateLocation::Dir(value.into())),
                _ => self.agents = parse_agents(&value)?,
            }
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
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
}
