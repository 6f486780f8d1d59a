//! A service binary's `main`: [`main`] (or [`Entry`] to say more) parses the scheduler's
//! flags, sets up logging, runs the service until Ctrl-C, SIGTERM or a fatal error, and
//! prints that error once, as text, with its causes. `<binary> package --out DIR` writes
//! the files that run it as a service instead (see [`crate::package`]).

use std::process::ExitCode;

use crate::args::{Invocation, PackageArgs, SchedulerArgs, program_name};
use crate::logging;
use crate::package::{self, PackageOptions};
use crate::report::{self, BoxError};
use crate::scheduler::DefaultService;
use crate::spec::{ServiceSpec, ServiceSpecification};

/// The commit Stead was built from (`git rev-parse HEAD` at build time), `None` when it
/// was built outside a git checkout.
pub const COMMIT: Option<&str> = match env!("STEAD_COMMIT").as_bytes() {
    [] => None,
    _ => Some(env!("STEAD_COMMIT")),
};

/// What `--version` says after the binary's version: Stead's version and commit
/// (`stead 0.1.0, commit 8f6d6b8c…`, or that it was built outside a git checkout).
pub fn build_info() -> String {
    describe_build(env!("CARGO_PKG_VERSION"), COMMIT)
}

fn describe_build(stead: &str, commit: Option<&str>) -> String {
    match commit {
        Some(commit) => format!("stead {stead}, commit {commit}"),
        None => format!("stead {stead}, commit unknown: not built from a git checkout"),
    }
}

/// The operator API port of a service unless it says otherwise (the `stead` command's
/// default too).
pub const DEFAULT_API_PORT: u16 = 8080;

/// Runs `spec` as this process's service with [`Entry::new`]'s defaults: returns success
/// after Ctrl-C or SIGTERM, 0 after `--help` or `--version`, 2 after a usage error, and
/// failure after any other error, printed once.
///
/// ```no_run
/// use stead::prelude::*;
///
/// task_type! {
///     Hello { name: "hello", count: 1, command: "sleep 1000", cpus: 0.1, mem: 32 MiB }
/// }
///
/// #[service(name = "hello-world")]
/// struct HelloWorld {
///     hello: Hello,
/// }
///
/// fn main() -> std::process::ExitCode {
///     stead::main(HelloWorld::default())
/// }
/// ```
pub fn main(spec: impl ServiceSpecification) -> ExitCode {
    Entry::new().run(spec)
}

/// What a service binary says about itself and its operator API's default port, and
/// how it runs (see [`main`]).
#[derive(Debug, Clone)]
pub struct Entry {
    version: String,
    about: String,
    api_port: u16,
}

impl Default for Entry {
    fn default() -> Self {
        Entry::new()
    }
}

impl Entry {
    /// Stead's version for `--version`, and [`DEFAULT_API_PORT`].
    pub fn new() -> Entry {
        Entry {
            version: env!("CARGO_PKG_VERSION").to_string(),
            about: "Deploys this service on Apache Mesos or on an embedded cluster and \
                    keeps it running."
                .to_string(),
            api_port: DEFAULT_API_PORT,
        }
    }

    /// The version `--version` prints: the service binary's, e.g.
    /// `env!("CARGO_PKG_VERSION")`.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// The description `--help` starts with.
    pub fn about(mut self, about: impl Into<String>) -> Self {
        self.about = about.into();
        self
    }

    /// The operator API's port when `--api-port` does not say (0: a free port).
    pub fn api_port(mut self, port: u16) -> Self {
        self.api_port = port;
        self
    }

    /// Runs `spec` (see [`main`]), or writes its package (`package --out DIR`).
    pub fn run(self, spec: impl ServiceSpecification) -> ExitCode {
        let (service, package) = match self.parse() {
            Ok(parsed) => parsed,
            Err(code) => return code,
        };
        match package {
            Some((scheduler, args)) => {
                let spec = service
                    .build_with_overrides(&spec)
                    .and_then(|spec| service.resolve_spec(spec));
                self.package(spec.map_err(BoxError::from), &scheduler, &args)
            }
            None => Self::serve(service.register(spec)),
        }
    }

    /// Runs the canonical spec `make_spec` returns (built once the flags are parsed and
    /// logging is on; its error is printed like the scheduler's), or writes its package.
    pub fn run_spec<E>(self, make_spec: impl FnOnce() -> Result<ServiceSpec, E>) -> ExitCode
    where
        E: Into<BoxError>,
    {
        let (service, package) = match self.parse() {
            Ok(parsed) => parsed,
            Err(code) => return code,
        };
        match package {
            Some((scheduler, args)) => {
                let spec = make_spec()
                    .map_err(Into::into)
                    .and_then(|spec| service.resolve_spec(spec).map_err(BoxError::from));
                self.package(spec, &scheduler, &args)
            }
            None => Self::serve(async move {
                let spec = make_spec().map_err(Into::into)?;
                service.register_spec(spec).await.map_err(BoxError::from)
            }),
        }
    }

    /// Parses the flags (printing help, the version or a usage error and returning its
    /// exit code) and sets up logging: the service, and the `package` subcommand's flags
    /// with the scheduler's when it was given.
    fn parse(&self) -> Result<(DefaultService, Option<(SchedulerArgs, PackageArgs)>), ExitCode> {
        let command =
            SchedulerArgs::command_with_package(self.version.clone()).about(self.about.clone());
        let invocation = match SchedulerArgs::try_parse_invocation(command, std::env::args_os()) {
            Ok(invocation) => invocation,
            Err(e) => {
                // Help and version go to stdout, usage errors to stderr.
                let _ = e.print();
                return Err(ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2)));
            }
        };
        logging::init();
        Ok(match invocation {
            Invocation::Run(args) => (DefaultService::from_args(args, self.api_port), None),
            Invocation::Package(args, package) => (
                DefaultService::from_args(args.clone(), self.api_port),
                Some((args, package)),
            ),
        })
    }

    /// Writes the package of `spec` where `args` says, and names each file on stdout.
    fn package(
        &self,
        spec: Result<ServiceSpec, BoxError>,
        scheduler: &SchedulerArgs,
        args: &PackageArgs,
    ) -> ExitCode {
        let options = PackageOptions::from_args(
            program_name(std::env::args_os().next()),
            &self.version,
            self.api_port,
            scheduler,
            args,
        );
        let written = spec.and_then(|spec| {
            let files = package::generate(&spec, &options)?;
            Ok(files.write_to(&args.out)?)
        });
        report::exit_code(written.map(|paths| {
            for path in paths {
                println!("{}", path.display());
            }
        }))
    }

    /// Runs `run` on a new multi-threaded runtime.
    fn serve<Fut, E>(run: Fut) -> ExitCode
    where
        Fut: Future<Output = Result<(), E>>,
        E: Into<BoxError>,
    {
        let runtime = match tokio::runtime::Runtime::new() {
            Ok(runtime) => runtime,
            Err(e) => return report::exit_code(Err(e)),
        };
        report::exit_code(runtime.block_on(run))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_is_described_with_its_commit_or_without_one() {
        assert_eq!(
            describe_build("1.2.3", Some("8f6d6b8")),
            "stead 1.2.3, commit 8f6d6b8"
        );
        assert_eq!(
            describe_build("1.2.3", None),
            "stead 1.2.3, commit unknown: not built from a git checkout"
        );
        // This crate is built from its git checkout.
        let commit = COMMIT.expect("built from a git checkout");
        assert!(commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(build_info().ends_with(commit));
    }
}
