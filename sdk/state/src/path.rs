//! State paths: `/`-separated node names such as `Tasks/data-0/TaskInfo`.
//!
//! A path is normalised by dropping leading and trailing `/`. Every segment must be
//! non-empty, must not be `.` or `..`, and must not contain control characters. The empty
//! path is the root: it has children but holds no value.

use crate::error::{Result, StateError};

/// Normalises `path`, checking every segment. Returns `""` for the root.
pub fn normalize(path: &str) -> Result<&str> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        return Ok("");
    }
    for segment in trimmed.split('/') {
        check_segment(path, segment)?;
    }
    Ok(trimmed)
}

/// Normalises `path` and refuses the root (for operations that need a node).
pub fn normalize_node(path: &str) -> Result<&str> {
    let normalized = normalize(path)?;
    if normalized.is_empty() {
        return Err(StateError::InvalidPath {
            path: path.to_owned(),
            reason: "the root holds no value",
        });
    }
    Ok(normalized)
}

/// Checks one node name (a single path segment, as used for task names, property keys and
/// configuration ids).
pub fn check_name(name: &str) -> Result<()> {
    if name.contains('/') {
        return Err(StateError::InvalidPath {
            path: name.to_owned(),
            reason: "a name must not contain '/'",
        });
    }
    check_segment(name, name)
}

fn check_segment(path: &str, segment: &str) -> Result<()> {
    let reason = if segment.is_empty() {
        "empty segment"
    } else if segment == "." || segment == ".." {
        "'.' and '..' are not node names"
    } else if segment.chars().any(|c| c.is_control()) {
        "control characters are not allowed"
    } else {
        return Ok(());
    };
    Err(StateError::InvalidPath {
        path: path.to_owned(),
        reason,
    })
}

/// Joins path segments with `/`.
pub fn join(parts: &[&str]) -> String {
    parts.join("/")
}

/// The proper ancestors of a normalised node path, outermost first
/// (`a/b/c` gives `a`, `a/b`).
pub fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

/// The prefix shared by every descendant of a normalised path (`""` for the root).
pub fn descendant_prefix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}/")
    }
}

/// The smallest string greater than every string starting with `prefix/`: `prefix0`
/// (`'0'` follows `'/'`). Used as an exclusive range end over a subtree.
pub fn subtree_end(path: &str) -> String {
    format!("{path}0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_rejects() {
        assert_eq!(normalize("/a/b/").unwrap(), "a/b");
        assert_eq!(normalize("").unwrap(), "");
        assert_eq!(normalize("///").unwrap(), "");
        assert!(normalize("a//b").is_err());
        assert!(normalize("a/../b").is_err());
        assert!(normalize("a/\u{0}b").is_err());
        assert!(normalize_node("/").is_err());
        assert!(check_name("a/b").is_err());
        assert!(check_name("data-0").is_ok());
        assert_eq!(ancestors("a/b/c").collect::<Vec<_>>(), vec!["a", "a/b"]);
    }
}
