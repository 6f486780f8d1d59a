//! The runtime's error type.

/// Everything that can stop the runtime.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The service specification breaks the rules (nothing was launched).
    #[error(transparent)]
    Spec(#[from] stead_spec::SpecErrors),
    /// The persistent state could not be read or written (or is held by another scheduler).
    #[error(transparent)]
    State(#[from] stead_state::StateError),
    /// Talking to the Mesos master failed for good.
    #[error(transparent)]
    Mesos(#[from] crate::mesos::MesosError),
    /// The principal's secret or the CA file cannot be used.
    #[error(transparent)]
    Access(#[from] crate::mesos::access::AccessError),
    /// The embedded cluster failed.
    #[cfg(feature = "local")]
    #[error(transparent)]
    Local(#[from] stead_local::Error),
    /// The state holds nothing, but the cluster holds the service: deploying would
    /// launch it a second time.
    #[error(transparent)]
    EmptyState(#[from] crate::scheduler::EmptyStateRefused),
    /// A bad option (command line, environment or builder).
    #[error("configuration: {0}")]
    Config(String),
    /// An operator request named an instance the service does not have.
    #[error("unknown instance `{0}`")]
    UnknownInstance(String),
    /// An operator request named a plan the service does not have.
    #[error("unknown plan `{0}`")]
    UnknownPlan(String),
    /// An operator command named a phase or step the plan does not have.
    #[error(transparent)]
    PlanCommand(#[from] crate::plan::PlanCommandError),
    /// A condition was not reached in time.
    #[error("condition not reached within {0:?}")]
    Timeout(std::time::Duration),
    /// A task of the runtime (the event loop, a blocking call) failed to run to its end.
    #[error("a runtime task failed: {0}")]
    TaskFailed(String),
    /// The scheduler has stopped.
    #[error("the scheduler has stopped")]
    Stopped,
    /// An I/O error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The runtime's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
