//! A service binary's `main`: [`main`] (or [`Entry`] to say more) parses the scheduler's
//! flags, sets up logging, runs the service until Ctrl-C, SIGTERM or a fatal error, and
//! prints that error once, as text, with its causes.

use std::process::ExitCode;

use crate::args::SchedulerArgs;
use crate::logging;
use crate::report::{self, BoxError};
use crate::scheduler::DefaultService;
use crate::spec::{ServiceSpec, ServiceSpecification};

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

    /// Runs `spec` (see [`main`]).
    pub fn run(self, spec: impl ServiceSpecification) -> ExitCode {
        self.run_service(|service| async move { service.register(spec).await })
    }

    /// Runs the canonical spec `make_spec` returns (built once the flags are parsed and
    /// logging is on; its error is printed like the scheduler's).
    pub fn run_spec<E>(self, make_spec: impl FnOnce() -> Result<ServiceSpec, E>) -> ExitCode
    where
        E: Into<BoxError>,
    {
        self.run_service(|service| async move {
            let spec = make_spec().map_err(Into::into)?;
            service.register_spec(spec).await.map_err(BoxError::from)
        })
    }

    /// Parses the flags (printing help, the version or a usage error and returning its
    /// exit code), sets up logging, and runs `run` on a new multi-threaded runtime.
    fn run_service<F, Fut, E>(self, run: F) -> ExitCode
    where
        F: FnOnce(DefaultService) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Into<BoxError>,
    {
        let command = SchedulerArgs::command(self.version).about(self.about);
        let args = match SchedulerArgs::try_parse_with(command, std::env::args_os()) {
            Ok(args) => args,
            Err(e) => {
                // Help and version go to stdout, usage errors to stderr.
                let _ = e.print();
                return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
            }
        };
        logging::init();
        let service = DefaultService::from_args(args, self.api_port);
        let runtime = match tokio::runtime::Runtime::new() {
            Ok(runtime) => runtime,
            Err(e) => return report::exit_code(Err(e)),
        };
        report::exit_code(runtime.block_on(run(service)))
    }
}
