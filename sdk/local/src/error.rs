//! The crate's error type.

use std::path::PathBuf;

/// Errors of the local cluster's public API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The master's HTTP listener could not be bound.
    #[error("cannot bind the master to {addr}: {source}")]
    Bind {
        /// The requested address.
        addr: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// A file or directory of the work directory could not be used.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A checkpoint file exists but cannot be understood.
    #[error("invalid checkpoint {}: {message}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The configuration is not usable.
    #[error("invalid local cluster configuration: {0}")]
    Config(String),
    /// No agent has this name or agent id.
    #[error("unknown agent '{0}'")]
    UnknownAgent(String),
    /// The agent was removed for good.
    #[error("agent '{0}' has been removed")]
    AgentRemoved(String),
    /// The cluster has shut down (or its master task ended).
    #[error("the local cluster has shut down")]
    ShutDown,
    /// Installing the signal handlers of the standalone cluster failed.
    #[error("cannot install signal handlers: {0}")]
    Signal(std::io::Error),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
