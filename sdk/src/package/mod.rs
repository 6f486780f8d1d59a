//! Deploying a scheduler as a long-running service: [`generate`] writes, from the service's
//! spec and the scheduler's flags, a DC/OS Universe package (packaging version 4.0), a
//! plain Marathon app with the package's defaults, and a systemd unit with its environment
//! file. A service binary writes them with `<binary> package --out DIR` (see
//! [`Entry`](crate::Entry)).
//!
//! | file | what |
//! |---|---|
//! | `universe/package.json`, `config.json`, `resource.json`, `marathon.json.mustache` | the Universe package ([`universe`]) |
//! | `marathon/<service>.json` | the Marathon app the package installs with its defaults ([`marathon`]) |
//! | `systemd/<service>.service`, `systemd/<service>.env` | a unit that keeps the scheduler running on a host, and its options ([`systemd`]) |

pub mod install;
pub mod marathon;
pub mod systemd;
pub mod universe;

use std::path::{Path, PathBuf};
use std::time::Duration;

use stead_spec::ServiceSpec;

use crate::args::{PackageArgs, SchedulerArgs};

/// The master a packaged scheduler follows unless told otherwise: the leading Mesos master
/// through DC/OS's ZooKeeper.
pub const DEFAULT_MASTER: &str = "zk://master.mesos:2181/mesos";
/// Where a packaged scheduler keeps its state unless told otherwise (DC/OS's ZooKeeper; the
/// state root is `/stead/<service>`).
pub const DEFAULT_ZK: &str = "zk://master.mesos:2181";
/// The probe a supervisor's liveness check asks: 200 while the scheduler serves.
pub const LIVENESS_PATH: &str = "/v1/health/live";
/// The probe of readiness: the plans' status, 200 once the deploy plan is complete and
/// nothing recovers. Like liveness it stays open when the API takes tokens (a supervisor
/// sends none).
pub const READINESS_PATH: &str = "/v1/health";

/// Why the files cannot be generated.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// A value the package format does not accept.
    #[error("{what} `{value}` cannot be used in the package: {rule}")]
    Invalid {
        /// What the value is (`service name`, `package version`).
        what: &'static str,
        /// The value.
        value: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// Writing a file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// What the generated files say beyond the spec: versions, where the binary comes from,
/// and the scheduler's options.
#[derive(Debug, Clone)]
pub struct PackageOptions {
    /// The scheduler binary's file name (`data-store`).
    pub binary: String,
    /// The package's version (`package.json`'s `version`).
    pub version: String,
    /// Where Marathon fetches the scheduler binary from (`resource.json`).
    pub binary_uri: String,
    /// The binary's path on a systemd host (`ExecStart=`).
    pub exec: PathBuf,
    /// Who maintains the package.
    pub maintainer: String,
    /// The Mesos master the scheduler talks to.
    pub master: String,
    /// The ZooKeeper holding the state: always under Marathon (a task's sandbox does not
    /// outlive it); under systemd only when set (else `state.redb` in the state directory).
    pub zk: Option<String>,
    /// The ZooKeeper session timeout.
    pub zk_session_timeout: Duration,
    /// The operator API's port under systemd (Marathon picks one unless the operator sets
    /// it at install).
    pub api_port: u16,
}

impl PackageOptions {
    /// The defaults for `binary` at `version`: DC/OS's master and ZooKeeper, the binary
    /// fetched from `file:///opt/stead/<binary>` and run from `/usr/local/bin/<binary>`.
    pub fn new(binary: impl Into<String>, version: impl Into<String>) -> PackageOptions {
        let binary = binary.into();
        PackageOptions {
            binary_uri: format!("file:///opt/stead/{binary}"),
            exec: PathBuf::from("/usr/local/bin").join(&binary),
            maintainer: format!("the maintainers of {binary}"),
            binary,
            version: version.into(),
            master: DEFAULT_MASTER.to_string(),
            zk: None,
            zk_session_timeout: Duration::from_secs(10),
            api_port: crate::entry::DEFAULT_API_PORT,
        }
    }

    /// The options the `package` subcommand describes: the scheduler's flags (`--master`,
    /// `--zk`, `--zk-session-timeout`, `--api-port`) as the defaults of the generated files.
    pub fn from_args(
        binary: impl Into<String>,
        version: impl Into<String>,
        api_port: u16,
        scheduler: &SchedulerArgs,
        package: &PackageArgs,
    ) -> PackageOptions {
        let mut o = PackageOptions::new(binary, version);
        if let Some(v) = &package.package_version {
            o.version = v.clone();
        }
        if let Some(uri) = &package.binary_uri {
            o.binary_uri = uri.clone();
        }
        if let Some(exec) = &package.exec {
            o.exec = exec.clone();
        }
        if let Some(who) = &package.maintainer {
            o.maintainer = who.clone();
        }
        if let Some(m) = &scheduler.master {
            o.master = m.clone();
        }
        o.zk = scheduler.zk.clone();
        o.zk_session_timeout = scheduler.zk_session_timeout;
        o.api_port = scheduler.api_port.unwrap_or(api_port);
        o
    }

    /// The name of the file Marathon fetches (the last segment of the binary's URI).
    fn fetched_file(&self) -> &str {
        self.binary_uri
            .rsplit('/')
            .find(|s| !s.is_empty())
            .unwrap_or(&self.binary)
    }
}

/// The generated files, by path relative to the output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// `(relative path, contents)`, in a stable order.
    pub files: Vec<(PathBuf, String)>,
}

impl Package {
    /// The contents of the file at `path` (relative), if generated.
    pub fn file(&self, path: impl AsRef<Path>) -> Option<&str> {
        self.files
            .iter()
            .find(|(p, _)| p == path.as_ref())
            .map(|(_, c)| c.as_str())
    }

    /// Writes every file under `dir` (created when missing), replacing older versions.
    /// Returns the paths written.
    pub fn write_to(&self, dir: &Path) -> Result<Vec<PathBuf>, PackageError> {
        let mut written = Vec::new();
        for (relative, contents) in &self.files {
            let path = dir.join(relative);
            let write = |path: &Path| -> std::io::Result<()> {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(path, contents)
            };
            write(&path).map_err(|source| PackageError::Write {
                path: path.clone(),
                source,
            })?;
            written.push(path);
        }
        Ok(written)
    }
}

/// Generates the files for `spec` (with the operator's overrides already applied).
pub fn generate(spec: &ServiceSpec, options: &PackageOptions) -> Result<Package, PackageError> {
    check(
        "service name",
        &spec.name,
        universe::is_package_name,
        "Universe and Marathon names are lower-case letters, digits and `-`, starting with a letter",
    )?;
    check(
        "package version",
        &options.version,
        universe::is_package_version,
        "letters, digits, `.` and `-` only",
    )?;
    let installs = install::InstallOptions::new(spec, options);
    let name = &spec.name;
    let json = |v: &serde_json::Value| format!("{v:#}\n");
    let files = vec![
        (
            PathBuf::from("universe/package.json"),
            json(&universe::package_json(spec, options)),
        ),
        (
            PathBuf::from("universe/config.json"),
            json(&installs.config_schema()),
        ),
        (
            PathBuf::from("universe/resource.json"),
            json(&universe::resource_json(options)),
        ),
        (
            PathBuf::from("universe/marathon.json.mustache"),
            marathon::template(spec, options, &installs),
        ),
        (
            PathBuf::from(format!("marathon/{name}.json")),
            json(&marathon::app(spec, options, &installs)),
        ),
        (
            PathBuf::from(format!("systemd/{name}.service")),
            systemd::unit(spec, options),
        ),
        (
            PathBuf::from(format!("systemd/{name}.env")),
            systemd::env_file(spec, options, &installs),
        ),
    ];
    Ok(Package { files })
}

fn check(
    what: &'static str,
    value: &str,
    valid: fn(&str) -> bool,
    rule: &'static str,
) -> Result<(), PackageError> {
    if valid(value) {
        Ok(())
    } else {
        Err(PackageError::Invalid {
            what,
            value: value.to_string(),
            rule,
        })
    }
}
