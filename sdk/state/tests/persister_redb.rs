//! The Persister suite against the redb backend, plus redb-specific behaviour.

mod common;

use stead_state::{Persister, RedbPersister, StateError};

fn fresh() -> Option<(Box<dyn Persister>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let p = RedbPersister::open(dir.path().join("state.redb")).expect("open redb state");
    Some((Box::new(p), dir))
}

persister_suite!(fresh);

#[test]
fn survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nested/dir/state.redb");
    {
        let p = RedbPersister::open(&file).unwrap();
        p.set("Tasks/data-0/TaskInfo", b"info").unwrap();
        p.set("FrameworkID", b"fw").unwrap();
        p.delete("FrameworkID").unwrap();
    }
    let p = RedbPersister::open(&file).unwrap();
    assert_eq!(
        p.get("Tasks/data-0/TaskInfo").unwrap().as_deref(),
        Some(&b"info"[..])
    );
    assert_eq!(p.get("FrameworkID").unwrap(), None);
    assert_eq!(p.children("").unwrap(), vec!["Tasks"]);
}

#[test]
fn second_open_in_process_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.redb");
    let first = RedbPersister::open(&file).unwrap();
    let err = RedbPersister::open(&file).unwrap_err();
    assert!(matches!(err, StateError::InUse { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "state at {} is in use by another scheduler",
            file.display()
        )),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
    drop(first);
    // Released on drop.
    RedbPersister::open(&file).unwrap();
}

/// Holds the state open in a child process (this test binary re-run as a helper) and checks
/// that this process is refused with the child's pid.
#[test]
fn second_open_from_another_process_is_refused() {
    if let Ok(path) = std::env::var("STEAD_STATE_HOLD") {
        let _p = RedbPersister::open(&path).unwrap();
        println!("held");
        let mut line = String::new();
        // Hold the file until the parent closes our stdin.
        let _ = std::io::stdin().read_line(&mut line);
        return;
    }
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.redb");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "second_open_from_another_process_is_refused",
            "--nocapture",
        ])
        .env("STEAD_STATE_HOLD", &file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "helper exited early");
        if line.trim() == "held" {
            break;
        }
    }
    let err = RedbPersister::open(&file).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "state at {} is in use by another scheduler (pid {})",
            file.display(),
            child.id()
        )),
        "{msg}"
    );
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    RedbPersister::open(&file).unwrap();
}

#[test]
fn a_creation_killed_midway_leaves_no_half_written_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.redb");
    // What a process killed while creating the state leaves: a partial new file beside
    // the path, and no file (or an empty one) at the path.
    let partial = dir.path().join("state.redb.new");
    std::fs::write(&partial, b"redb\x1a\x0a\xa9").unwrap();
    std::fs::write(&file, b"").unwrap();
    {
        let p = RedbPersister::open(&file).expect("a new state over an empty file");
        p.set("FrameworkID", b"fw").unwrap();
    }
    assert!(!partial.exists(), "the new file was moved to the path");
    let p = RedbPersister::open(&file).unwrap();
    assert_eq!(p.get("FrameworkID").unwrap().as_deref(), Some(&b"fw"[..]));
}
