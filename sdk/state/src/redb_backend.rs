//! The embedded default backend: one redb file, durable and crash-safe.
//!
//! Every node is one row of a single table keyed by its full path. Each `multi` is one
//! redb write transaction committed with immediate durability, so a batch of thousands of
//! writes costs one commit. A sidecar lock file (`<file>.lock`, holding the owner's pid)
//! keeps a second scheduler from opening the same state.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Bound;
use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::error::{Result, StateError};
use crate::persister::{Op, Persister};
use crate::tree::{self, ReadTree, WriteTree, empty_range};

const NODES: TableDefinition<&str, &[u8]> = TableDefinition::new("nodes");

/// redb's page cache. Its default (1 GiB) lets a scheduler that writes tens of thousands of
/// task records grow to about that size; the state of a large service fits in far less.
const CACHE_BYTES: usize = 4 * 1024 * 1024;

/// A [`Persister`] stored in one redb database file.
#[derive(Debug)]
pub struct RedbPersister {
    db: Database,
    path: PathBuf,
    /// Holds the exclusive lock on `<file>.lock` for as long as the persister lives.
    _lock: File,
}

impl RedbPersister {
    /// Opens (creating if needed, parent directories included) the state file at `path`.
    ///
    /// Fails with [`StateError::InUse`] ("state at <path> is in use by another scheduler
    /// (pid N)") when another process, or another persister in this one, has it open.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StateError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let lock = acquire_lock(&path)?;
        let empty = std::fs::metadata(&path).map_or(true, |m| m.len() == 0);
        if empty {
            // A new file is made whole beside the path, then moved there: a process
            // killed while creating it leaves no half-written state file behind.
            let fresh = path.with_extension("redb.new");
            // What an earlier creation killed midway left there is not a state.
            let _ = std::fs::remove_file(&fresh);
            let fresh_db = Self::create(&fresh, &path)?;
            drop(fresh_db);
            std::fs::rename(&fresh, &path).map_err(|source| StateError::Io {
                path: path.clone(),
                source,
            })?;
        }
        let db = Self::create(&path, &path)?;
        Ok(RedbPersister {
            db,
            path,
            _lock: lock,
        })
    }

    /// Opens or creates the database file `file` (for the state at `path`), with its
    /// table created up front so that readers never meet a missing table.
    fn create(file: &Path, path: &Path) -> Result<Database> {
        let err = |e: redb::Error| StateError::backend(path.display().to_string(), e);
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(file)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => StateError::InUse {
                    location: path.display().to_string(),
                    owner: None,
                },
                other => StateError::backend(path.display().to_string(), other),
            })?;
        let txn = db.begin_write().map_err(|e| err(e.into()))?;
        txn.open_table(NODES).map_err(|e| err(e.into()))?;
        txn.commit().map_err(|e| err(e.into()))?;
        Ok(db)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: impl Into<redb::Error>) -> StateError {
        StateError::backend(self.path.display().to_string(), e.into())
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&RedbTree<redb::ReadOnlyTable<&str, &[u8]>>) -> Result<T>,
    ) -> Result<T> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let table = txn.open_table(NODES).map_err(|e| self.err(e))?;
        f(&RedbTree(table))
    }
}

/// Takes the exclusive lock on `<path>.lock` and records our pid in it.
fn acquire_lock(db_path: &Path) -> Result<File> {
    let mut lock_path = db_path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let io_err = |source| StateError::Io {
        path: lock_path.clone(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(io_err)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut owner = String::new();
            // Best effort: the owner may be rewriting the note right now.
            let _ = file.read_to_string(&mut owner);
            let owner = owner.trim();
            return Err(StateError::InUse {
                location: db_path.display().to_string(),
                owner: (!owner.is_empty()).then(|| owner.to_owned()),
            });
        }
        Err(TryLockError::Error(e)) => return Err(io_err(e)),
    }
    let note = format!("pid {}", std::process::id());
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(note.as_bytes()))
        .and_then(|()| file.flush())
        .map_err(io_err)?;
    Ok(file)
}

/// Adapts a redb table to the shared node semantics.
struct RedbTree<T>(T);

impl<T: ReadableTable<&'static str, &'static [u8]>> ReadTree for RedbTree<T> {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let guard = self.0.get(key).map_err(|e| StateError::backend(key, e))?;
        Ok(guard.map(|g| g.value().to_vec()))
    }

    fn contains(&self, key: &str) -> Result<bool> {
        Ok(self
            .0
            .get(key)
            .map_err(|e| StateError::backend(key, e))?
            .is_some())
    }

    fn first_key(&self, from: Bound<&str>, to: Bound<&str>) -> Result<Option<String>> {
        if empty_range(from, to) {
            return Ok(None);
        }
        let what = || match from {
            Bound::Included(k) | Bound::Excluded(k) => k.to_owned(),
            Bound::Unbounded => String::new(),
        };
        let mut range = self
            .0
            .range::<&str>((from, to))
            .map_err(|e| StateError::backend(what(), e))?;
        match range.next() {
            None => Ok(None),
            Some(Ok((k, _))) => Ok(Some(k.value().to_owned())),
            Some(Err(e)) => Err(StateError::backend(what(), e)),
        }
    }
}

impl WriteTree for RedbTree<redb::Table<'_, &'static str, &'static [u8]>> {
    fn write(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.0
            .insert(key, value)
            .map_err(|e| StateError::backend(key, e))?;
        Ok(())
    }

    fn remove_subtree(&mut self, key: &str, from: Bound<&str>, to: Bound<&str>) -> Result<()> {
        if !empty_range(from, to) {
            self.0
                .retain_in::<&str, _>((from, to), |_, _| false)
                .map_err(|e| StateError::backend(key, e))?;
        }
        self.0
            .remove(key)
            .map_err(|e| StateError::backend(key, e))?;
        Ok(())
    }
}

impl Persister for RedbPersister {
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>> {
        self.read(|t| tree::get(t, path))
    }

    fn get_many(&self, paths: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        // Looked up in key order, so that consecutive lookups mostly find their pages in
        // the cache, then put back in the order asked for.
        let mut order: Vec<usize> = (0..paths.len()).collect();
        order.sort_unstable_by_key(|&i| paths[i].as_str());
        let mut values = vec![None; paths.len()];
        self.read(|t| {
            for i in order {
                values[i] = tree::get(t, &paths[i])?;
            }
            Ok(())
        })?;
        Ok(values)
    }

    fn children(&self, path: &str) -> Result<Vec<String>> {
        self.read(|t| tree::children(t, path))
    }

    fn multi(&self, ops: &[Op]) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        let outcome = {
            let table = txn.open_table(NODES).map_err(|e| self.err(e))?;
            let mut tree = RedbTree(table);
            tree::apply_all(&mut tree, ops)
        };
        match outcome {
            Ok(()) => txn.commit().map_err(|e| self.err(e)),
            Err(e) => {
                txn.abort().map_err(|abort| self.err(abort))?;
                Err(e)
            }
        }
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
}
