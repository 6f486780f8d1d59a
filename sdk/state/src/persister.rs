//! The `Persister` interface: a small hierarchical key/value store like ZooKeeper's.

use std::fmt;

use crate::error::Result;

/// One write of an atomic batch (see [`Persister::multi`]).
#[derive(Clone, PartialEq, Eq)]
pub enum Op {
    /// Set the value of a node, creating it and its missing parents (with empty values).
    Set {
        /// The node's path.
        path: String,
        /// The new value.
        value: Vec<u8>,
    },
    /// Delete a node and everything below it. Fails with `NotFound` if the node is missing.
    Delete {
        /// The node's path.
        path: String,
    },
}

impl Op {
    /// A [`Op::Set`].
    pub fn set(path: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Op::Set {
            path: path.into(),
            value: value.into(),
        }
    }

    /// A [`Op::Delete`].
    pub fn delete(path: impl Into<String>) -> Self {
        Op::Delete { path: path.into() }
    }

    /// The path the operation touches.
    pub fn path(&self) -> &str {
        match self {
            Op::Set { path, .. } | Op::Delete { path } => path,
        }
    }
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Set { path, value } => write!(f, "Set({path:?}, {} bytes)", value.len()),
            Op::Delete { path } => write!(f, "Delete({path:?})"),
        }
    }
}

/// A hierarchical key/value store holding a scheduler's state.
///
/// Paths are `/`-separated node names (`Tasks/data-0/TaskInfo`, see [`crate::path`]); the
/// empty path is the root. A node exists once it or any descendant has been set; parents
/// created implicitly hold an empty value. Every method is synchronous and every write is
/// durable when it returns. Implementations are `Send + Sync` and are shared as
/// `Arc<dyn Persister>`.
pub trait Persister: Send + Sync + fmt::Debug {
    /// The value of the node at `path`, or `None` if the node does not exist.
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>>;

    /// The values of the nodes at `paths`, in order, as [`get`](Persister::get) reads each
    /// one, but in one read (one transaction where the backend has them): loading the state
    /// of thousands of tasks must not cost a transaction per record.
    fn get_many(&self, paths: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        paths.iter().map(|p| self.get(p)).collect()
    }

    /// The names of the direct children of `path`, sorted; empty if the node does not exist.
    fn children(&self, path: &str) -> Result<Vec<String>>;

    /// Applies every operation in order, all or nothing: if one fails (for example deleting a
    /// missing node), none is applied and that operation's error is returned. An empty batch
    /// is a no-op. A batch is one transaction; ZooKeeper, whose requests are limited to
    /// 1 MB, checks a larger batch completely before writing it as several transactions.
    fn multi(&self, ops: &[Op]) -> Result<()>;

    /// Sets the value at `path`, creating missing parents.
    fn set(&self, path: &str, value: &[u8]) -> Result<()> {
        self.multi(&[Op::set(path, value)])
    }

    /// Deletes the node at `path` and everything below it; `NotFound` if it is missing.
    /// Deleting the root removes everything and never fails with `NotFound`.
    fn delete(&self, path: &str) -> Result<()> {
        self.multi(&[Op::delete(path)])
    }

    /// True while the backend can serve requests. A scheduler must not act (accept offers,
    /// kill tasks) while this is false. Always true for local backends.
    fn is_ready(&self) -> bool {
        true
    }

    /// Flushes and releases the backend; later calls may fail.
    fn close(&self) -> Result<()> {
        Ok(())
    }

    /// Where the state lives, for messages (a file path, a ZooKeeper URL, `memory`).
    fn location(&self) -> String;
}
