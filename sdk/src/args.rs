//! The scheduler's command line: [`SchedulerArgs`], every flag also read from its
//! `STEAD_*` environment variable, turned into the builder's [`Options`] and the operator
//! API's [`ApiArgs`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::builder::{BoolishValueParser, NonEmptyStringValueParser};
use clap::{ArgMatches, Args, Command, FromArgMatches, ValueEnum};
use stead_spec::overrides::ENV_PREFIX;

use crate::http::ApiArgs;
use crate::scheduler::{Options, StateLocation};

/// The scheduler's flags, each also an environment variable. Flatten them into a service
/// binary's own command line with `#[command(flatten)]`, or let
/// [`Entry`](crate::entry::Entry) parse them.
#[derive(Debug, Clone, Args)]
pub struct SchedulerArgs {
    /// A Mesos master (`http://host:5050`, or `zk://host:2181/mesos` to follow the
    /// leader); without it the embedded cluster starts in-process.
    #[arg(long, env = "STEAD_MASTER", value_name = "URL",
          value_parser = NonEmptyStringValueParser::new())]
    pub master: Option<String>,
    /// Agents of the embedded cluster.
    #[arg(long, env = "STEAD_AGENTS", value_name = "N",
          default_value_t = Options::default().agents,
          value_parser = at_least_one)]
    pub agents: usize,
    /// Where the redb state file lives (default: `.stead/<service>`).
    #[arg(long, env = "STEAD_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Keep the state in ZooKeeper instead (`zk://host:2181[/path]`), under a lock held by
    /// one scheduler at a time.
    #[arg(long, env = "STEAD_ZK", value_name = "URL",
          value_parser = NonEmptyStringValueParser::new())]
    pub zk: Option<String>,
    /// What a second scheduler does while the ZooKeeper lock is held.
    #[arg(
        long,
        env = "STEAD_ZK_LOCK",
        value_name = "MODE",
        value_enum,
        default_value_t
    )]
    pub zk_lock: ZkLock,
    /// The ZooKeeper session timeout in seconds (the server clamps it to its bounds). A
    /// standby takes over about this long after the active scheduler died; a shorter one
    /// also turns shorter network blips into a renewed session.
    #[arg(long, env = "STEAD_ZK_SESSION_TIMEOUT", value_name = "SECONDS",
          default_value = "10", value_parser = seconds)]
    pub zk_session_timeout: Duration,
    /// Override the spec: `count`, `cpus`, `mem`, `disk`, `command`, `placement`, `goal`,
    /// `allow_decommission` (e.g. `--set data.count=5`; repeatable). The environment's
    /// equivalent is `STEAD_<TASK>_<KEY>` (e.g. `STEAD_DATA_COUNT=5`).
    #[arg(long, value_name = "TASK.KEY=VALUE")]
    pub set: Vec<String>,
    /// The operator API's port (0 picks a free one; default: the service's own).
    #[arg(long, env = "STEAD_API_PORT", value_name = "PORT")]
    pub api_port: Option<u16>,
    /// The operator API's address and token.
    #[command(flatten)]
    pub api: ApiArgs,
    /// The principal the framework authenticates, subscribes and reserves as (default:
    /// the service's own, `<service>-principal` unless it says otherwise).
    #[arg(long, env = "STEAD_PRINCIPAL", value_name = "PRINCIPAL",
          value_parser = NonEmptyStringValueParser::new())]
    pub principal: Option<String>,
    /// A file whose first line is the principal's secret, sent to the master as HTTP
    /// Basic on every request (a master with framework authentication requires it).
    #[arg(long, env = "STEAD_SECRET_FILE", value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
    /// A PEM file of CA certificates to trust, besides the Mozilla roots, for an
    /// `https://` master (e.g. the private CA that signed the master's certificate).
    #[arg(long, env = "STEAD_CA_FILE", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Exit non-zero when the new spec is rejected as an update of the running one.
    #[arg(long, env = "STEAD_FAIL_FAST", value_name = "BOOL", num_args = 0..=1,
          require_equals = true, default_missing_value = "true",
          value_parser = BoolishValueParser::new(), default_value_t = false)]
    pub fail_fast: bool,
    /// Remove the service: kill its tasks, destroy its volumes, unreserve, tear down.
    #[arg(long, env = "STEAD_UNINSTALL", value_name = "BOOL", num_args = 0..=1,
          require_equals = true, default_missing_value = "true",
          value_parser = BoolishValueParser::new(), default_value_t = false)]
    pub uninstall: bool,
    /// With an empty state, take over the service the cluster holds (its tasks killed,
    /// its reservations and volumes released, deployed anew) instead of refusing.
    #[arg(long, env = "STEAD_ADOPT", value_name = "BOOL", num_args = 0..=1,
          require_equals = true, default_missing_value = "true",
          value_parser = BoolishValueParser::new(), default_value_t = false)]
    pub adopt: bool,
}

/// What a scheduler does while another one holds the service's ZooKeeper lock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ZkLock {
    /// Wait until the lock is released.
    #[default]
    Wait,
    /// Exit at once, naming the holder.
    Exit,
}

impl SchedulerArgs {
    /// The command line of a service binary: these flags, with `--help` and `--version`,
    /// named after the program (`argv[0]`).
    pub fn command(version: impl Into<String>) -> Command {
        let version = format!("{} ({})", version.into(), crate::entry::build_info());
        SchedulerArgs::augment_args(
            Command::new(program_name(std::env::args_os().next())).version(version),
        )
    }

    /// [`SchedulerArgs::command`] with the `package` subcommand ([`PackageArgs`]).
    pub fn command_with_package(version: impl Into<String>) -> Command {
        SchedulerArgs::command(version)
            .disable_help_subcommand(true)
            .subcommand(PackageArgs::augment_args(Command::new("package").about(
                "Writes the files that run this scheduler as a service: a Universe package, \
                 a Marathon app and a systemd unit (the flags above give their defaults).",
            )))
    }

    /// Parses `args` (the program's name first) with `command` (see
    /// [`SchedulerArgs::command`]); `--help` and `--version` come back as errors whose
    /// [`exit_code`](clap::Error::exit_code) is 0.
    pub fn try_parse_with<I, T>(command: Command, args: I) -> Result<SchedulerArgs, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        match SchedulerArgs::try_parse_invocation(command, args)? {
            Invocation::Run(args) | Invocation::Package(args, _) => Ok(args),
        }
    }

    /// Parses `args` with [`SchedulerArgs::command_with_package`]'s `command`: what the
    /// binary is asked to do (errors as [`SchedulerArgs::try_parse_with`]'s).
    pub fn try_parse_invocation<I, T>(
        mut command: Command,
        args: I,
    ) -> Result<Invocation, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches: ArgMatches = command.try_get_matches_from_mut(args)?;
        let scheduler =
            SchedulerArgs::from_arg_matches(&matches).map_err(|e| e.format(&mut command))?;
        match matches.subcommand() {
            Some(("package", sub)) => {
                let package =
                    PackageArgs::from_arg_matches(sub).map_err(|e| e.format(&mut command))?;
                Ok(Invocation::Package(scheduler, package))
            }
            _ => Ok(Invocation::Run(scheduler)),
        }
    }

    /// The names of the environment variables these flags read.
    pub fn env_names() -> Vec<String> {
        SchedulerArgs::augment_args(Command::new("scheduler"))
            .get_arguments()
            .filter_map(|a| a.get_env())
            .map(|e| e.to_string_lossy().into_owned())
            .collect()
    }

    /// The options these flags describe, on top of [`Options::default`], with the spec
    /// overrides `STEAD_<TASK>_<KEY>` taken from `vars` (pass [`env_vars`]): every
    /// `STEAD_*` variable that is not one of these flags' own.
    pub fn options(&self, vars: impl IntoIterator<Item = (String, String)>) -> Options {
        let own = SchedulerArgs::env_names();
        Options {
            master: self.master.clone(),
            state: self.state_dir.clone().map(StateLocation::Dir),
            zk: self.zk.clone(),
            zk_lock_wait: self.zk_lock == ZkLock::Wait,
            zk_session_timeout: self.zk_session_timeout,
            api_port: self.api_port,
            set: self.set.clone(),
            override_env: vars
                .into_iter()
                .filter(|(k, _)| k.starts_with(ENV_PREFIX) && !own.contains(k))
                .collect(),
            principal: self.principal.clone(),
            secret_file: self.secret_file.clone(),
            ca_file: self.ca_file.clone(),
            agents: self.agents,
            uninstall: self.uninstall,
            fail_fast: self.fail_fast,
            adopt: self.adopt,
            ..Options::default()
        }
    }
}

/// The `package` subcommand's flags (see [`crate::package`]).
#[derive(Debug, Clone, Args)]
pub struct PackageArgs {
    /// The directory to write the files into (created when missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The package's version (default: the binary's).
    #[arg(long = "version", value_name = "VERSION")]
    pub package_version: Option<String>,
    /// Where Marathon fetches the scheduler binary from (default:
    /// `file:///opt/stead/<binary>` on the agent).
    #[arg(long, value_name = "URI", value_parser = NonEmptyStringValueParser::new())]
    pub binary_uri: Option<String>,
    /// The binary's path on a systemd host (default: `/usr/local/bin/<binary>`).
    #[arg(long, value_name = "PATH")]
    pub exec: Option<PathBuf>,
    /// Who maintains the package (`package.json`).
    #[arg(long, value_name = "WHO", value_parser = NonEmptyStringValueParser::new())]
    pub maintainer: Option<String>,
}

/// What a service binary's command line asks for.
#[derive(Debug, Clone)]
pub enum Invocation {
    /// Run the scheduler.
    Run(SchedulerArgs),
    /// Write the files that run the scheduler as a service, with the scheduler's flags as
    /// their defaults (`package --out DIR`).
    Package(SchedulerArgs, PackageArgs),
}

/// A whole number of seconds >= 1 (`--zk-session-timeout`).
fn seconds(value: &str) -> Result<Duration, String> {
    match value.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(Duration::from_secs(n)),
        _ => Err("expected a whole number of seconds >= 1".to_string()),
    }
}

/// A count of at least one (`--agents`).
fn at_least_one(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("expected a whole number >= 1".to_string()),
    }
}

/// The process's environment variables, leaving out those whose name or value is not
/// UTF-8 (they are neither flags nor spec overrides).
pub fn env_vars() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
}

/// The file name of the program's path, `service` when there is none.
pub(crate) fn program_name(argv0: Option<OsString>) -> String {
    argv0
        .as_deref()
        .and_then(|p| Path::new(p).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "service".to_string())
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use clap::error::ErrorKind;
    use stead_spec::ServiceSpec;

    use super::*;

    /// The command line without environment variables, so that the caller's
    /// environment cannot change what a test sees (tests/entry.rs covers them).
    fn parse(args: &[&str]) -> Result<SchedulerArgs, clap::Error> {
        let command = SchedulerArgs::command("1.2.3").mut_args(|a| a.env(None::<&str>));
        SchedulerArgs::try_parse_with(command, std::iter::once("prog").chain(args.iter().copied()))
    }

    fn options(args: &[&str]) -> Options {
        parse(args).expect("valid flags").options([])
    }

    /// The rendered error of `args`, which must be refused.
    fn refused(args: &[&str]) -> (ErrorKind, String) {
        let e = parse(args).expect_err("refused flags");
        (e.kind(), e.render().to_string())
    }

    /// The kinds of error clap reports for a flag's missing or unparsable value.
    fn is_bad_value(kind: ErrorKind) -> bool {
        matches!(kind, ErrorKind::InvalidValue | ErrorKind::ValueValidation)
    }

    #[test]
    fn defaults_match_the_builder_defaults() {
        let o = options(&[]);
        let d = Options::default();
        assert_eq!(o.master, None);
        assert!(o.state.is_none() && o.zk.is_none() && o.api_port.is_none());
        assert_eq!(o.agents, d.agents);
        assert_eq!(o.zk_lock_wait, d.zk_lock_wait);
        assert!(!o.uninstall && !o.fail_fast && o.set.is_empty());
        let api = parse(&[]).unwrap().api;
        assert_eq!(api.socket_addr(0).ip().to_string(), "127.0.0.1");
        assert!(api.api_token.is_none());
    }

    #[test]
    fn uninstall_and_fail_fast_switches() {
        let o = options(&["--fail-fast", "--uninstall"]);
        assert!(o.uninstall && o.fail_fast);
        let o = options(&["--uninstall=false", "--master", "m"]);
        assert!(!o.uninstall);
        assert_eq!(o.master.as_deref(), Some("m"));
        assert!(options(&["--uninstall=yes"]).uninstall);
        let (kind, text) = refused(&["--fail-fast=maybe"]);
        assert!(is_bad_value(kind), "{kind:?}");
        assert!(text.contains("--fail-fast"), "{text}");
    }

    #[test]
    fn flags_with_values_inline_or_apart() {
        let o = options(&[
            "--master",
            "http://m:5050",
            "--state-dir=/tmp/x",
            "--agents=5",
        ]);
        assert_eq!(o.master.as_deref(), Some("http://m:5050"));
        assert_eq!(o.agents, 5);
        assert!(
            matches!(o.state, Some(StateLocation::Dir(ref d)) if d == &PathBuf::from("/tmp/x"))
        );
        assert_eq!(options(&["--api-port", "0"]).api_port, Some(0));
        assert_eq!(options(&["--api-port=9090"]).api_port, Some(9090));
    }

    #[test]
    fn principal_secret_file_and_ca_file() {
        let o = options(&[
            "--principal",
            "ops",
            "--secret-file=/etc/stead/secret",
            "--ca-file",
            "/etc/stead/ca.pem",
        ]);
        assert_eq!(o.principal.as_deref(), Some("ops"));
        assert_eq!(o.secret_file, Some(PathBuf::from("/etc/stead/secret")));
        assert_eq!(o.ca_file, Some(PathBuf::from("/etc/stead/ca.pem")));
        let o = options(&[]);
        assert!(o.principal.is_none() && o.secret_file.is_none() && o.ca_file.is_none());
        let (kind, text) = refused(&["--principal="]);
        assert!(is_bad_value(kind), "{kind:?}");
        assert!(text.contains("--principal"), "{text}");
    }

    #[test]
    fn an_unknown_flag_is_an_error_naming_it() {
        let (kind, text) = refused(&["--stat-dir", "/x"]);
        assert_eq!(kind, ErrorKind::UnknownArgument);
        assert!(text.contains("--stat-dir"), "{text}");
        assert!(
            text.contains("--state-dir"),
            "suggests the flag meant: {text}"
        );
        let (kind, text) = refused(&["--master", "m", "--other"]);
        assert_eq!(kind, ErrorKind::UnknownArgument);
        assert!(text.contains("--other"), "{text}");
        let (kind, _) = refused(&["stray"]);
        assert_eq!(kind, ErrorKind::UnknownArgument);
    }

    #[test]
    fn a_missing_value_is_an_error_naming_the_flag() {
        for flag in [
            "--master",
            "--agents",
            "--state-dir",
            "--zk",
            "--set",
            "--api-port",
        ] {
            let (kind, text) = refused(&[flag]);
            assert!(is_bad_value(kind), "{flag}: {kind:?}");
            assert!(text.contains(flag), "{flag}: {text}");
        }
        let (_, text) = refused(&["--api-token"]);
        assert!(text.contains("--api-token"), "{text}");
    }

    #[test]
    fn bad_values_are_errors_naming_the_flag() {
        for (flag, value) in [
            ("--agents", "zero"),
            ("--agents", "0"),
            ("--api-port", "http"),
            ("--api-port", "65536"),
            ("--zk-lock", "maybe"),
            ("--bind", "localhost"),
        ] {
            let (kind, text) = refused(&[flag, value]);
            assert!(is_bad_value(kind), "{flag} {value}: {kind:?}");
            assert!(text.contains(flag), "{flag} {value}: {text}");
        }
    }

    #[test]
    fn zookeeper_flags() {
        let o = options(&[]);
        assert!(
            o.zk.is_none() && o.zk_lock_wait,
            "no ZooKeeper, waiting by default"
        );
        let o = options(&["--zk", "zk://a:2181,b:2181/svc", "--zk-lock=wait"]);
        assert_eq!(o.zk.as_deref(), Some("zk://a:2181,b:2181/svc"));
        assert!(o.zk_lock_wait);
        assert!(!options(&["--zk-lock", "exit"]).zk_lock_wait);
    }

    #[test]
    fn api_flags() {
        let a = parse(&["--bind=0.0.0.0", "--api-token", "s3cret"])
            .unwrap()
            .api;
        assert_eq!(a.socket_addr(80).to_string(), "0.0.0.0:80");
        assert_eq!(a.api_token.as_deref(), Some("s3cret"));
        let a = parse(&["--bind", "::1"]).unwrap().api;
        assert_eq!(a.bind, "::1".parse::<IpAddr>().unwrap());
        let a = parse(&["--api-token="]).unwrap().api;
        assert!(a.options().token.is_none(), "an empty token is none");
    }

    #[test]
    fn an_empty_value_is_an_error_naming_the_flag() {
        for flag in ["--master=", "--zk=", "--state-dir=", "--agents="] {
            let (kind, text) = refused(&[flag]);
            assert!(is_bad_value(kind), "{flag}: {kind:?}");
            assert!(text.contains(flag.trim_end_matches('=')), "{flag}: {text}");
        }
    }

    #[test]
    fn help_and_version_are_not_usage_errors() {
        let help = parse(&["--help"]).unwrap_err();
        assert_eq!(help.kind(), ErrorKind::DisplayHelp);
        assert_eq!(help.exit_code(), 0);
        let text = help.render().to_string();
        for flag in [
            "--master",
            "--agents",
            "--state-dir",
            "--zk",
            "--zk-lock",
            "--set",
            "--api-port",
            "--bind",
            "--api-token",
            "--fail-fast",
            "--uninstall",
            "--version",
        ] {
            assert!(text.contains(flag), "{flag} missing from the help:\n{text}");
        }
        let version = parse(&["--version"]).unwrap_err();
        assert_eq!(version.kind(), ErrorKind::DisplayVersion);
        assert_eq!(version.exit_code(), 0);
        assert!(version.render().to_string().contains("1.2.3"));
        assert_eq!(parse(&["--nope"]).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn the_zookeeper_session_timeout_is_whole_seconds() {
        assert_eq!(options(&[]).zk_session_timeout, Duration::from_secs(10));
        let o = options(&["--zk-session-timeout", "4"]);
        assert_eq!(o.zk_session_timeout, Duration::from_secs(4));
        for bad in ["0", "1.5", "ten"] {
            let (kind, text) = refused(&["--zk-session-timeout", bad]);
            assert!(is_bad_value(kind), "{bad}: {kind:?}");
            assert!(text.contains("--zk-session-timeout"), "{text}");
        }
    }

    /// The command line with the `package` subcommand, without environment variables.
    fn invocation(args: &[&str]) -> Result<Invocation, clap::Error> {
        let command =
            SchedulerArgs::command_with_package("1.2.3").mut_args(|a| a.env(None::<&str>));
        SchedulerArgs::try_parse_invocation(
            command,
            std::iter::once("prog").chain(args.iter().copied()),
        )
    }

    #[test]
    fn package_is_a_subcommand_after_the_schedulers_flags() {
        let Ok(Invocation::Package(scheduler, package)) = invocation(&[
            "--master",
            "http://m:5050",
            "package",
            "--out",
            "/tmp/p",
            "--version",
            "2.0.0",
            "--binary-uri",
            "https://example.org/x",
        ]) else {
            panic!("not the package subcommand");
        };
        assert_eq!(scheduler.master.as_deref(), Some("http://m:5050"));
        assert_eq!(package.out, PathBuf::from("/tmp/p"));
        assert_eq!(package.package_version.as_deref(), Some("2.0.0"));
        assert_eq!(package.binary_uri.as_deref(), Some("https://example.org/x"));
        assert!(matches!(invocation(&[]), Ok(Invocation::Run(_))));
        let e = invocation(&["package"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MissingRequiredArgument);
        assert!(e.render().to_string().contains("--out"));
        // Without the subcommand in the command, `package` is a stray argument.
        assert_eq!(refused(&["package"]).0, ErrorKind::UnknownArgument);
    }

    #[test]
    fn every_flag_has_its_variable() {
        let names = SchedulerArgs::env_names();
        for var in [
            "STEAD_MASTER",
            "STEAD_AGENTS",
            "STEAD_STATE_DIR",
            "STEAD_ZK",
            "STEAD_ZK_LOCK",
            "STEAD_ZK_SESSION_TIMEOUT",
            "STEAD_API_PORT",
            "STEAD_BIND",
            "STEAD_API_TOKEN",
            "STEAD_FAIL_FAST",
            "STEAD_UNINSTALL",
        ] {
            assert!(names.iter().any(|n| n == var), "{var} not read: {names:?}");
        }
    }

    #[test]
    fn the_program_is_named_after_its_file() {
        assert_eq!(
            program_name(Some("/x/target/debug/data-store".into())),
            "data-store"
        );
        assert_eq!(program_name(None), "service");
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
        let vars = [
            ("STEAD_DATA_COUNT", "4"),
            ("STEAD_MASTER", "http://m:5050"),
            ("STEAD_API_TOKEN", "t"),
            ("HOME", "/root"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let mut o = parse(&["--set", "data.count=5", "--set=data.cpus=0.5"])
            .unwrap()
            .options(vars);
        assert_eq!(
            o.override_env,
            [("STEAD_DATA_COUNT".to_string(), "4".to_string())],
            "the scheduler's own variables and others' are not spec overrides"
        );
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
    }
}
