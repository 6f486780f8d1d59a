//! The error type shared by every backend and store.

use std::path::PathBuf;

/// A boxed error from a backend library, kept as the source of a [`StateError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Shorthand for results whose error is a [`StateError`].
pub type Result<T, E = StateError> = std::result::Result<T, E>;

/// Everything that can go wrong reading or writing persistent state.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A path is malformed (empty segment, `.`/`..`, control characters, or the root where a
    /// node is required).
    #[error("invalid state path {path:?}: {reason}")]
    InvalidPath {
        /// The offending path, as given.
        path: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The node does not exist.
    #[error("state path {path:?} not found")]
    NotFound {
        /// The missing path.
        path: String,
    },
    /// Another scheduler holds the state (a redb file open elsewhere, or the ZooKeeper lock).
    #[error("state at {location} is in use by another scheduler ({})", owner_text(.owner))]
    InUse {
        /// Where the state lives (a file path or a ZooKeeper URL).
        location: String,
        /// Who holds it, when known (for example `pid 1234`).
        owner: Option<String>,
    },
    /// An import target already holds state.
    #[error(
        "state at {location} is not empty (it holds {top}); import with replace to overwrite it"
    )]
    NotEmpty {
        /// The target's location.
        location: String,
        /// The target's top-level nodes, comma-separated.
        top: String,
    },
    /// A value exceeds what the backend can store in one node.
    #[error("value at {path:?} is {size} bytes, over the backend's limit of {limit} bytes")]
    TooLarge {
        /// The node being written.
        path: String,
        /// Size of the value.
        size: usize,
        /// The backend's limit.
        limit: usize,
    },
    /// The backend is not connected (for example a ZooKeeper session is lost); nothing was
    /// read or written.
    #[error("state backend at {location} is not connected: {reason}")]
    NotConnected {
        /// The backend's location.
        location: String,
        /// What is known about the disconnection.
        reason: String,
    },
    /// A backend URL (for example `zk://host:2181/path`) is malformed.
    #[error("invalid state URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL, with any password removed.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The backend refused access (for example wrong or missing ZooKeeper credentials).
    #[error("access to state path {path:?} at {location} denied: wrong or missing credentials")]
    Denied {
        /// The path refused.
        path: String,
        /// The backend's location.
        location: String,
    },
    /// The storage itself failed.
    #[error("state backend failure at {path:?}: {source}")]
    Backend {
        /// The path (or file) being accessed.
        path: String,
        /// The backend library's error.
        #[source]
        source: BoxError,
    },
    /// A stored value could not be decoded.
    #[error("cannot decode the value at {path:?}: {source}")]
    Decode {
        /// The node whose value is corrupt or of an unexpected format.
        path: String,
        /// The decoder's error.
        #[source]
        source: BoxError,
    },
    /// A value could not be encoded.
    #[error("cannot encode the value for {path:?}: {source}")]
    Encode {
        /// The node being written.
        path: String,
        /// The encoder's error.
        #[source]
        source: BoxError,
    },
    /// A local file needed by a backend (lock file, database directory) could not be used.
    #[error("cannot use {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn owner_text(owner: &Option<String>) -> String {
    owner.clone().unwrap_or_else(|| "owner unknown".to_owned())
}

impl StateError {
    /// True when the error says the node does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, StateError::NotFound { .. })
    }

    /// Builds a [`StateError::Backend`] for `path` from any backend error.
    pub fn backend(path: impl Into<String>, source: impl Into<BoxError>) -> Self {
        StateError::Backend {
            path: path.into(),
            source: source.into(),
        }
    }

    /// Builds a [`StateError::Decode`] for `path`.
    pub fn decode(path: impl Into<String>, source: impl Into<BoxError>) -> Self {
        StateError::Decode {
            path: path.into(),
            source: source.into(),
        }
    }

    /// Builds a [`StateError::Encode`] for `path`.
    pub fn encode(path: impl Into<String>, source: impl Into<BoxError>) -> Self {
        StateError::Encode {
            path: path.into(),
            source: source.into(),
        }
    }
}

/// Treats `NotFound` as success (for idempotent deletes).
pub(crate) fn ignore_missing(result: Result<()>) -> Result<()> {
    match result {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}
