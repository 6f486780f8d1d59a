//! The agents' own endpoints, shaped like a Mesos agent's: `GET /slave(<name>)/state`
//! (the agent's executors with their sandbox `directory`) and the files API,
//! `GET /files/read?path=&offset=&length=` and `GET /files/browse?path=`, limited to the
//! cluster's work directory. The embedded agents answer on the master's address, each
//! under the process id of its `pid` in the master's state (`slave(<name>)@ip:port`).

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::{State, TaskView};

/// The most `/files/read` returns at once, as a Mesos agent does (16 pages): a client
/// reads on from `offset + data.len()`.
pub const MAX_READ_BYTES: u64 = 16 * 4096;

/// The directory whose files the files API serves (the cluster's work directory).
#[derive(Clone)]
struct Files {
    root: Arc<Path>,
}

/// The files API's routes, serving files under `root` only.
pub(crate) fn files_router(root: PathBuf) -> Router {
    Router::new()
        .route("/files/read", get(read))
        .route("/files/read.json", get(read))
        .route("/files/browse", get(browse))
        .route("/files/browse.json", get(browse))
        .with_state(Files {
            root: Arc::from(root),
        })
}

/// A refused request: its status and the reason, answered as text (as Mesos does).
#[derive(Debug)]
struct Refusal(StatusCode, String);

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Refusal {
        Refusal(status, message.into())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

/// The query of `/files/read`.
#[derive(Debug, Deserialize)]
struct ReadQuery {
    path: String,
    offset: Option<i64>,
    length: Option<i64>,
}

/// The query of `/files/browse`.
#[derive(Debug, Deserialize)]
struct BrowseQuery {
    path: String,
}

impl Files {
    /// `path` resolved, if it exists and lies under the root (after following links:
    /// a sandbox's volume links lead into the work directory too).
    fn resolve(&self, path: &str) -> Result<PathBuf, Refusal> {
        let not_found = || Refusal::new(StatusCode::NOT_FOUND, format!("No such file {path:?}"));
        let resolved = std::fs::canonicalize(path).map_err(|_| not_found())?;
        let root = std::fs::canonicalize(&self.root).map_err(|_| not_found())?;
        if resolved.starts_with(&root) {
            Ok(resolved)
        } else {
            Err(Refusal::new(
                StatusCode::FORBIDDEN,
                format!("{path:?} is outside the agents' work directory"),
            ))
        }
    }
}

async fn read(
    AxState(files): AxState<Files>,
    query: Result<Query<ReadQuery>, QueryRejection>,
) -> Result<Response, Refusal> {
    let Ok(Query(query)) = query else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "Expecting 'path', and optionally 'offset' and 'length'",
        ));
    };
    let path = files.resolve(&query.path)?;
    let answer = tokio::task::spawn_blocking(move || read_chunk(&path, query.offset, query.length))
        .await
        .map_err(|e| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    Ok(axum::Json(answer).into_response())
}

/// Reads at most `length` bytes (and [`MAX_READ_BYTES`]) of `path` from `offset`, as
/// Mesos's `/files/read` answers: `{"data", "offset"}`, where offset -1 (or none) asks
/// for the file's size only (`data` empty, `offset` the size). A chunk that would end
/// within a UTF-8 character ends before it (the next read starts there).
fn read_chunk(path: &Path, offset: Option<i64>, length: Option<i64>) -> Result<Value, Refusal> {
    let io = |e: std::io::Error| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    let mut file = std::fs::File::open(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    if metadata.is_dir() {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "Cannot read a directory (use /files/browse)",
        ));
    }
    let size = metadata.len();
    let offset = match offset {
        None | Some(-1) => return Ok(json!({ "data": "", "offset": size })),
        Some(o) => u64::try_from(o)
            .map_err(|_| Refusal::new(StatusCode::BAD_REQUEST, "Negative offset provided"))?,
    };
    let length = match length {
        None | Some(-1) => MAX_READ_BYTES,
        Some(l) => u64::try_from(l)
            .map_err(|_| Refusal::new(StatusCode::BAD_REQUEST, "Negative length provided"))?
            .min(MAX_READ_BYTES),
    };
    if offset >= size {
        return Ok(json!({ "data": "", "offset": offset }));
    }
    file.seek(SeekFrom::Start(offset)).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(length.min(size - offset))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let data = match std::str::from_utf8(&bytes) {
        Ok(text) => text.to_string(),
        // A character cut at the end of the chunk: end before it.
        Err(e) if e.error_len().is_none() && e.valid_up_to() > 0 => {
            String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned()
        }
        Err(_) => String::from_utf8_lossy(&bytes).into_owned(),
    };
    Ok(json!({ "data": data, "offset": offset }))
}

async fn browse(
    AxState(files): AxState<Files>,
    query: Result<Query<BrowseQuery>, QueryRejection>,
) -> Result<Response, Refusal> {
    let Ok(Query(query)) = query else {
        return Err(Refusal::new(StatusCode::BAD_REQUEST, "Expecting 'path'"));
    };
    let dir = files.resolve(&query.path)?;
    let shown = PathBuf::from(&query.path);
    let entries = tokio::task::spawn_blocking(move || list(&dir, &shown))
        .await
        .map_err(|e| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| Refusal::new(StatusCode::NOT_FOUND, e.to_string()))?;
    Ok(axum::Json(entries).into_response())
}

/// The entries of `dir`, named under `shown` (the path asked for), as Mesos lists them.
fn list(dir: &Path, shown: &Path) -> std::io::Result<Vec<Value>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let metadata = entry.metadata()?;
        let kind = if metadata.is_dir() { 'd' } else { '-' };
        entries.push(json!({
            "path": shown.join(entry.file_name()).display().to_string(),
            "size": metadata.len(),
            "mode": format!("{kind}{:o}", metadata.permissions().mode() & 0o7777),
            "mtime": metadata.mtime(),
            "nlink": metadata.nlink(),
            "uid": metadata.uid().to_string(),
            "gid": metadata.gid().to_string(),
        }));
    }
    entries.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    Ok(entries)
}

/// The agent named `name` in the process id `slave(<name>)`.
pub(crate) fn agent_of_process(process: &str) -> Option<&str> {
    process.strip_prefix("slave(")?.strip_suffix(')')
}

/// The `/state` of the agent named `name`, as a Mesos agent answers it (the fields a
/// client of its sandboxes needs): per framework, the executors of its live tasks and
/// the completed executors of its finished ones (oldest first), each with the
/// `directory` of its sandbox. None for an unknown agent.
pub(crate) fn agent_state(state: &State, name: &str) -> Option<Value> {
    let agent = state.agents.iter().find(|a| a.name == name)?;
    let executor = |t: &TaskView, list: &str| {
        let task = json!({
            "id": t.id,
            "name": t.name,
            "framework_id": t.framework_id,
            "slave_id": t.slave_id,
            "state": t.state,
        });
        let directory = t.sandbox.as_ref()?.display().to_string();
        Some(json!({
            "id": t.id,
            "framework_id": t.framework_id,
            "directory": directory,
            list: [task],
        }))
    };
    let frameworks: Vec<Value> = state
        .frameworks
        .iter()
        .map(|f| {
            let on_agent = |t: &&TaskView| t.slave_id == agent.id;
            let executors: Vec<Value> = f
                .tasks
                .iter()
                .filter(on_agent)
                .filter_map(|t| executor(t, "tasks"))
                .collect();
            let completed: Vec<Value> = f
                .completed_tasks
                .iter()
                .filter(on_agent)
                .filter_map(|t| executor(t, "completed_tasks"))
                .collect();
            json!({
                "id": f.id,
                "name": f.name,
                "executors": executors,
                "completed_executors": completed,
            })
        })
        .collect();
    Some(json!({
        "id": agent.id,
        "pid": agent.pid,
        "hostname": agent.hostname,
        "frameworks": frameworks,
        "completed_frameworks": [],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_chunks_sizes_and_cut_characters() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stdout");
        std::fs::write(&path, "one\ntwo\nthré\n").unwrap();
        let read = |offset, length| read_chunk(&path, offset, length).unwrap();
        assert_eq!(read(Some(-1), None), json!({"data": "", "offset": 14}));
        assert_eq!(read(None, None), json!({"data": "", "offset": 14}));
        assert_eq!(read(Some(0), None)["data"], "one\ntwo\nthré\n");
        assert_eq!(read(Some(4), Some(3)), json!({"data": "two", "offset": 4}));
        // "é" is bytes 11 and 12: a chunk ending at 12 stops before it.
        assert_eq!(read(Some(8), Some(4)), json!({"data": "thr", "offset": 8}));
        assert_eq!(read(Some(100), None), json!({"data": "", "offset": 100}));
        assert!(read_chunk(&path, Some(-2), None).is_err());
        assert!(read_chunk(dir.path(), Some(0), None).is_err());
    }

    #[test]
    fn paths_outside_the_root_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("in"), "x").unwrap();
        std::fs::write(outside.path().join("out"), "x").unwrap();
        let files = Files {
            root: Arc::from(root.path()),
        };
        assert!(
            files
                .resolve(&root.path().join("in").display().to_string())
                .is_ok()
        );
        let escape = outside.path().join("out");
        let refused = files.resolve(&escape.display().to_string()).unwrap_err();
        assert_eq!(refused.0, StatusCode::FORBIDDEN);
        let missing = files.resolve("/nonexistent/stead/file").unwrap_err();
        assert_eq!(missing.0, StatusCode::NOT_FOUND);
    }

    #[test]
    fn agent_process_ids() {
        assert_eq!(agent_of_process("slave(agent-0)"), Some("agent-0"));
        assert_eq!(agent_of_process("master"), None);
        assert_eq!(agent_of_process("slave(agent-0"), None);
    }
}
