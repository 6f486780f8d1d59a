//! The in-memory backend, for tests and throwaway runs.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::error::Result;
use crate::persister::{Op, Persister};
use crate::tree::{self, ReadTree, WriteTree, empty_range};

/// A [`Persister`] that keeps everything in memory and loses it on drop.
#[derive(Debug, Default)]
pub struct MemPersister {
    nodes: RwLock<BTreeMap<String, Vec<u8>>>,
}

impl MemPersister {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read_lock(&self) -> RwLockReadGuard<'_, BTreeMap<String, Vec<u8>>> {
        // A poisoned lock still guards a consistent map: writers roll back before returning.
        self.nodes.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_lock(&self) -> RwLockWriteGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.nodes.write().unwrap_or_else(|e| e.into_inner())
    }
}

fn first_key(
    map: &BTreeMap<String, Vec<u8>>,
    from: Bound<&str>,
    to: Bound<&str>,
) -> Option<String> {
    if empty_range(from, to) {
        return None;
    }
    map.range::<str, _>((from, to))
        .next()
        .map(|(k, _)| k.clone())
}

impl ReadTree for BTreeMap<String, Vec<u8>> {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.get(key).cloned())
    }
    fn contains(&self, key: &str) -> Result<bool> {
        Ok(self.contains_key(key))
    }
    fn first_key(&self, from: Bound<&str>, to: Bound<&str>) -> Result<Option<String>> {
        Ok(first_key(self, from, to))
    }
}

/// A map under modification that remembers how to undo every change.
struct Undoable<'a> {
    map: &'a mut BTreeMap<String, Vec<u8>>,
    undo: Vec<(String, Option<Vec<u8>>)>,
}

impl Undoable<'_> {
    fn rollback(self) {
        for (key, old) in self.undo.into_iter().rev() {
            match old {
                Some(value) => self.map.insert(key, value),
                None => self.map.remove(&key),
            };
        }
    }
}

impl ReadTree for Undoable<'_> {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.map.read(key)
    }
    fn contains(&self, key: &str) -> Result<bool> {
        Ok(self.map.contains_key(key))
    }
    fn first_key(&self, from: Bound<&str>, to: Bound<&str>) -> Result<Option<String>> {
        Ok(first_key(self.map, from, to))
    }
}

impl WriteTree for Undoable<'_> {
    fn write(&mut self, key: &str, value: &[u8]) -> Result<()> {
        let old = self.map.insert(key.to_owned(), value.to_vec());
        self.undo.push((key.to_owned(), old));
        Ok(())
    }

    fn remove_subtree(&mut self, key: &str, from: Bound<&str>, to: Bound<&str>) -> Result<()> {
        let mut doomed: Vec<String> = if empty_range(from, to) {
            Vec::new()
        } else {
            self.map
                .range::<str, _>((from, to))
                .map(|(k, _)| k.clone())
                .collect()
        };
        doomed.push(key.to_owned());
        for k in doomed {
            if let Some(old) = self.map.remove(&k) {
                self.undo.push((k, Some(old)));
            }
        }
        Ok(())
    }
}

impl Persister for MemPersister {
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>> {
        tree::get(&*self.read_lock(), path)
    }

    fn get_many(&self, paths: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        let map = self.read_lock();
        paths.iter().map(|p| tree::get(&*map, p)).collect()
    }

    fn children(&self, path: &str) -> Result<Vec<String>> {
        tree::children(&*self.read_lock(), path)
    }

    fn multi(&self, ops: &[Op]) -> Result<()> {
        let mut map = self.write_lock();
        let mut txn = Undoable {
            map: &mut map,
            undo: Vec::new(),
        };
        let applied = tree::apply_all(&mut txn, ops);
        if applied.is_err() {
            txn.rollback();
        }
        applied
    }

    fn location(&self) -> String {
        "memory".to_owned()
    }
}
