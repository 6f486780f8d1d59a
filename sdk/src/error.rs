//! The runtime's error type.

/// Everything that can stop the runtime.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The service specification breaks the rules (nothing was launched).
    #[error("invalid service specification:\n{0}")]
    Spec(#[from] stead_spec::SpecErrors),
    /// The persistent state could not be read or written (or is held by another scheduler).
    #[error("scheduler state: {0}")]
    State(#[from] stead_state::StateError),
    /// Talking to the Mesos master failed for good.
    #[error("mesos: {0}")]
    Mesos(#[from] crate::mesos::MesosError),
    /// The embedded cluster failed.
    #[cfg(feature = "local")]
    #[error("local cluster: {0}")]
    Local(#[from] stead_local::Error),
    /// A bad option (command line, environment or builder).
    #[error("configuration: {0}")]
    Config(String),
    /// An operator request could not be carried out.
    #[error("{0}")]
    Request(String),
    /// The scheduler has stopped.
    #[error("the scheduler has stopped")]
    Stopped,
    /// An I/O error.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// The runtime's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
