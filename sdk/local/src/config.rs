//! Configuration of the local cluster and of its agents.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;

/// How agents run tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutorMode {
    /// Every task is a real process (the default).
    #[default]
    Process,
    /// No process: a task is STARTING and RUNNING at once and ends only when killed
    /// (for benchmarks of the scheduling path). Persistent volumes are kept in the agents'
    /// checkpoints only: no directory is made for them.
    Simulated,
}

/// One agent of the local cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentConfig {
    /// Stable name of the agent in this cluster (e.g. `agent-0`); also names its directory.
    pub id: String,
    /// The hostname the agent reports (all agents run on this host).
    pub hostname: String,
    /// The address the agent reports in its offers and gives its tasks to bind
    /// (`MESOS_CONTAINER_IP`). Agents on one host tell their tasks apart by it.
    pub address: IpAddr,
    /// CPUs offered.
    pub cpus: f64,
    /// Memory offered, in MiB.
    pub mem_mib: f64,
    /// Disk offered, in MiB.
    pub disk_mib: f64,
    /// Port ranges offered, inclusive.
    pub ports: Vec<(u64, u64)>,
    /// Text attributes such as `("zone", "a")`.
    pub attributes: Vec<(String, String)>,
}

impl AgentConfig {
    /// The `index`-th default agent: `agent-<i>`, hostname `agent-<i>.local`, address
    /// [`loopback_address`]`(i)`, 4 cpus, 8192 MiB memory, 65536 MiB disk, a port range of
    /// its own (`31000 + 1000 i` and up, so that tasks binding the wildcard address on
    /// agents sharing this host never get the same port) and zone `a`, `b`, `c`...
    pub fn numbered(index: usize) -> Self {
        let zone = char::from(b'a' + u8::try_from(index % 26).unwrap_or(0)).to_string();
        let base = 31000 + 1000 * index as u64;
        Self {
            id: format!("agent-{index}"),
            hostname: format!("agent-{index}.local"),
            address: loopback_address(index),
            cpus: 4.0,
            mem_mib: 8192.0,
            disk_mib: 65536.0,
            ports: vec![(base, base + 999)],
            attributes: vec![("zone".to_string(), zone)],
        }
    }
}

/// The loopback address of the `index`-th agent: `127.0.1.(index + 1)` for the first 255
/// agents, counting on through `127.0.2.0` and up after them (Linux routes all of
/// `127.0.0.0/8` to the loopback device, so each agent's tasks bind an address of their own
/// and static ports on different agents never collide, as on separate hosts).
pub fn loopback_address(index: usize) -> IpAddr {
    const FIRST: u32 = u32::from_be_bytes([127, 0, 1, 1]);
    const LAST: u32 = u32::from_be_bytes([127, 255, 255, 254]);
    let offset = u32::try_from(index).unwrap_or(u32::MAX);
    IpAddr::V4(Ipv4Addr::from(FIRST.saturating_add(offset).min(LAST)))
}

/// Configuration of a [`LocalCluster`](crate::LocalCluster).
#[derive(Debug, Clone)]
pub struct LocalClusterConfig {
    /// Directory holding the checkpoints, sandboxes and persistent volumes.
    pub work_dir: PathBuf,
    /// The agents.
    pub agents: Vec<AgentConfig>,
    /// Address of the master's HTTP listener (default `127.0.0.1:0`, an ephemeral port).
    pub bind: SocketAddr,
    /// Interval between HEARTBEAT events (default 15 s).
    pub heartbeat_interval: Duration,
    /// How tasks are executed.
    pub executor: ExecutorMode,
    /// First interval before an unacknowledged status update is resent (default 10 s,
    /// doubling up to 10 minutes, as Mesos's agents do).
    pub status_update_retry: Duration,
    /// Kill grace period of tasks without a kill policy (default 3 s).
    pub default_kill_grace: Duration,
    /// The framework credentials the scheduler API requires (HTTP Basic, as Mesos's
    /// `--authenticate_http_frameworks` with `--credentials`); `None` (the default): none.
    pub credentials: Option<Credentials>,
    /// Serve the master over HTTPS with this certificate and key (PEM files); `None`
    /// (the default): plain HTTP.
    pub tls: Option<TlsFiles>,
}

/// The PEM files of a TLS identity: the certificate (then its chain) and the private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, the server's certificate first.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

/// One principal and its secret.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct Credential {
    /// The principal (the user name of HTTP Basic).
    pub principal: String,
    /// The secret (the password of HTTP Basic).
    pub secret: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("principal", &self.principal)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The credentials a master accepts, in Mesos's JSON form:
/// `{"credentials": [{"principal": "...", "secret": "..."}]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Credentials {
    /// The principals and their secrets.
    pub credentials: Vec<Credential>,
}

impl Credentials {
    /// Credentials of the given principals and secrets.
    pub fn new<P: Into<String>, S: Into<String>>(
        pairs: impl IntoIterator<Item = (P, S)>,
    ) -> Credentials {
        Credentials {
            credentials: pairs
                .into_iter()
                .map(|(principal, secret)| Credential {
                    principal: principal.into(),
                    secret: secret.into(),
                })
                .collect(),
        }
    }

    /// Reads Mesos's JSON credentials file.
    pub fn from_file(path: &Path) -> Result<Credentials, crate::Error> {
        let bytes = std::fs::read(path).map_err(|e| crate::Error::io(path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            crate::Error::Config(format!(
                "{}: expected {{\"credentials\": [{{\"principal\": ..., \"secret\": ...}}]}}: {e}",
                path.display()
            ))
        })
    }

    /// The principal an `Authorization` header value authenticates (`Basic
    /// base64(principal:secret)` with a known principal and its secret), if any.
    pub fn authenticate(&self, authorization: &[u8]) -> Option<&str> {
        let text = std::str::from_utf8(authorization).ok()?;
        let (scheme, encoded) = text.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (principal, secret) = decoded.split_once(':')?;
        self.credentials
            .iter()
            .find(|c| c.principal == principal && c.secret == secret)
            .map(|c| c.principal.as_str())
    }
}

impl LocalClusterConfig {
    /// A configuration with three default agents (see [`AgentConfig::numbered`]).
    pub fn new(work_dir: impl Into<PathBuf>) -> Self {
        Self {
            work_dir: work_dir.into(),
            agents: (0..3).map(AgentConfig::numbered).collect(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            heartbeat_interval: Duration::from_secs(15),
            executor: ExecutorMode::Process,
            status_update_retry: Duration::from_secs(10),
            default_kill_grace: Duration::from_secs(3),
            credentials: None,
            tls: None,
        }
    }

    /// Requires these framework credentials on the scheduler API.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Serves the master over HTTPS with the certificate and key of these PEM files.
    pub fn tls(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.tls = Some(TlsFiles {
            cert: cert.into(),
            key: key.into(),
        });
        self
    }

    /// Replaces the agents with `n` default agents.
    pub fn agents(mut self, n: usize) -> Self {
        self.agents = (0..n).map(AgentConfig::numbered).collect();
        self
    }

    /// Sets the listener address.
    pub fn bind(mut self, bind: SocketAddr) -> Self {
        self.bind = bind;
        self
    }

    /// Sets the heartbeat interval.
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval;
        self
    }

    /// Sets the executor mode.
    pub fn executor(mut self, mode: ExecutorMode) -> Self {
        self.executor = mode;
        self
    }

    /// Sets the first resend interval of unacknowledged status updates.
    pub fn status_update_retry(mut self, interval: Duration) -> Self {
        self.status_update_retry = interval;
        self
    }

    /// Checks the configuration.
    pub(crate) fn validate(&self) -> Result<(), crate::Error> {
        let bad = |m: String| Err(crate::Error::Config(m));
        if self.heartbeat_interval.is_zero() {
            return bad("the heartbeat interval must be positive".into());
        }
        if self.status_update_retry.is_zero() {
            return bad("the status update retry interval must be positive".into());
        }
        let mut seen = std::collections::HashSet::new();
        for a in &self.agents {
            if a.id.is_empty()
                || !a
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
            {
                return bad(format!(
                    "agent id '{}' must be non-empty and use only letters, digits, '-', '_' and '.'",
                    a.id
                ));
            }
            if !seen.insert(a.id.as_str()) {
                return bad(format!("duplicate agent id '{}'", a.id));
            }
            for (what, v) in [("cpus", a.cpus), ("mem", a.mem_mib), ("disk", a.disk_mib)] {
                if !v.is_finite() || v < 0.0 {
                    return bad(format!("agent '{}': {what} must be finite and >= 0", a.id));
                }
            }
            if a.ports.iter().any(|(b, e)| b > e) {
                return bad(format!(
                    "agent '{}': a port range ends before it begins",
                    a.id
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user_pass: &str) -> Vec<u8> {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_pass)
        )
        .into_bytes()
    }

    #[test]
    fn credentials_read_as_mesos_writes_them_and_authenticate_basic() {
        let c: Credentials = serde_json::from_str(
            r#"{"credentials":[{"principal":"p","secret":"s:1"},{"principal":"q","secret":"t"}]}"#,
        )
        .unwrap();
        assert_eq!(c, Credentials::new([("p", "s:1"), ("q", "t")]));
        assert_eq!(c.authenticate(&basic("p:s:1")), Some("p"));
        assert_eq!(c.authenticate(&basic("q:t")), Some("q"));
        assert_eq!(c.authenticate(&basic("p:t")), None);
        assert_eq!(c.authenticate(&basic("r:t")), None);
        assert_eq!(c.authenticate(b"Bearer x"), None);
        assert_eq!(c.authenticate(b"Basic !!!"), None);
        assert!(!format!("{c:?}").contains("s:1"), "{c:?}");
    }
}
