//! The node semantics shared by the ordered-map backends (memory and redb).
//!
//! Such a backend stores every node, implicit parents included, under its full normalised
//! path in one ordered map. The direct children of `p` are the keys in `[p/, p0)` with no
//! further `/`; they are found by skipping over each child's subtree, so listing costs one
//! seek per child, not one step per descendant.

use std::collections::HashSet;
use std::ops::Bound;

use crate::error::{Result, StateError};
use crate::path;
use crate::persister::Op;

/// Read access to an ordered map from full paths to values.
pub(crate) trait ReadTree {
    /// The value stored under `key`.
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Whether `key` is stored.
    fn contains(&self, key: &str) -> Result<bool>;
    /// The first stored key within the bounds.
    fn first_key(&self, from: Bound<&str>, to: Bound<&str>) -> Result<Option<String>>;
}

/// Write access to an ordered map from full paths to values.
pub(crate) trait WriteTree: ReadTree {
    /// Stores `value` under `key`.
    fn write(&mut self, key: &str, value: &[u8]) -> Result<()>;
    /// Removes `key` and every key within the bounds.
    fn remove_subtree(&mut self, key: &str, from: Bound<&str>, to: Bound<&str>) -> Result<()>;
}

/// True when the bounds select nothing (range APIs panic on such bounds).
pub(crate) fn empty_range(from: Bound<&str>, to: Bound<&str>) -> bool {
    match (from, to) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b)) => a >= b,
        _ => false,
    }
}

/// Reads a node's value.
pub(crate) fn get<T: ReadTree>(tree: &T, raw: &str) -> Result<Option<Vec<u8>>> {
    let key = path::normalize_node(raw)?;
    tree.read(key)
}

/// Lists a node's direct children, sorted.
pub(crate) fn children<T: ReadTree>(tree: &T, raw: &str) -> Result<Vec<String>> {
    let node = path::normalize(raw)?;
    if !node.is_empty() && !tree.contains(node)? {
        return Ok(Vec::new());
    }
    let prefix = path::descendant_prefix(node);
    let end = path::subtree_end(node);
    let upper = if node.is_empty() {
        Bound::Unbounded
    } else {
        Bound::Excluded(end.as_str())
    };
    let mut names: Vec<String> = Vec::new();
    let mut cursor = prefix.clone();
    let mut inclusive = true;
    loop {
        let lower = if inclusive {
            Bound::Included(cursor.as_str())
        } else {
            Bound::Excluded(cursor.as_str())
        };
        let Some(key) = tree.first_key(lower, upper)? else {
            break;
        };
        let Some(rest) = key.strip_prefix(prefix.as_str()) else {
            break;
        };
        match rest.find('/') {
            None => {
                names.push(rest.to_owned());
                cursor = key;
                inclusive = false;
            }
            Some(i) => {
                let name = &rest[..i];
                // The child itself sorts before its subtree, so it is normally listed
                // already; `names` is sorted, which keeps this check cheap.
                if let Err(at) = names.binary_search_by(|n| n.as_str().cmp(name)) {
                    names.insert(at, name.to_owned());
                }
                cursor = path::subtree_end(&format!("{prefix}{name}"));
                inclusive = true;
            }
        }
    }
    Ok(names)
}

/// Applies `ops` in order (callers make a batch atomic by discarding a failed transaction).
/// A parent found or made once is not looked up again for later writes, until a delete.
pub(crate) fn apply_all<T: WriteTree>(tree: &mut T, ops: &[Op]) -> Result<()> {
    let mut parents: HashSet<String> = HashSet::new();
    ops.iter().try_for_each(|op| apply(tree, op, &mut parents))
}

/// Applies one operation; `parents` holds nodes known to exist.
fn apply<T: WriteTree>(tree: &mut T, op: &Op, parents: &mut HashSet<String>) -> Result<()> {
    match op {
        Op::Set { path: raw, value } => {
            let key = path::normalize_node(raw)?;
            for parent in path::ancestors(key) {
                if parents.contains(parent) {
                    continue;
                }
                if !tree.contains(parent)? {
                    tree.write(parent, &[])?;
                }
                parents.insert(parent.to_owned());
            }
            tree.write(key, value)
        }
        Op::Delete { path: raw } => {
            // What is deleted may be a known parent.
            parents.clear();
            let key = path::normalize(raw)?;
            if key.is_empty() {
                return tree.remove_subtree("", Bound::Unbounded, Bound::Unbounded);
            }
            if !tree.contains(key)? {
                return Err(StateError::NotFound { path: raw.clone() });
            }
            let prefix = path::descendant_prefix(key);
            let end = path::subtree_end(key);
            tree.remove_subtree(
                key,
                Bound::Included(prefix.as_str()),
                Bound::Excluded(end.as_str()),
            )
        }
    }
}
