//! The agents' disk work (persistent volume directories, agent checkpoints) done in order on
//! a thread of its own, so that the master's loop never waits for the file system.
//!
//! Operations run in the order they were queued; [`Disk::sync`] waits until everything
//! queued before it is done (the cluster does so before it reports itself stopped).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc;

use tokio::sync::oneshot;

use crate::checkpoint::AgentCheckpoint;

enum Op {
    CreateDir(PathBuf),
    RemoveDir(PathBuf),
    Checkpoint(PathBuf, AgentCheckpoint),
    Sync(oneshot::Sender<()>),
}

/// The queue of disk operations and the thread that performs them.
#[derive(Debug)]
pub(crate) struct Disk {
    tx: mpsc::Sender<Op>,
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::CreateDir(p) => write!(f, "CreateDir({})", p.display()),
            Op::RemoveDir(p) => write!(f, "RemoveDir({})", p.display()),
            Op::Checkpoint(p, _) => write!(f, "Checkpoint({})", p.display()),
            Op::Sync(_) => write!(f, "Sync"),
        }
    }
}

impl Disk {
    /// Starts the disk thread.
    pub(crate) fn start(work_dir: &std::path::Path) -> Result<Disk, crate::Error> {
        let (tx, rx) = mpsc::channel::<Op>();
        std::thread::Builder::new()
            .name("stead-local-disk".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    // Everything queued meanwhile is taken at once, so that a checkpoint
                    // superseded by a later one of the same agent is never written.
                    let queued: Vec<Op> = std::iter::once(first).chain(rx.try_iter()).collect();
                    for op in coalesce(queued) {
                        run(op);
                    }
                }
            })
            .map_err(|e| crate::Error::io(work_dir, e))?;
        Ok(Disk { tx })
    }

    fn queue(&self, op: Op) {
        if let Err(mpsc::SendError(op)) = self.tx.send(op) {
            // The thread is gone (it only ends when the queue closes): do it here.
            run(op);
        }
    }

    /// Creates a directory (with its parents).
    pub(crate) fn create_dir(&self, dir: PathBuf) {
        self.queue(Op::CreateDir(dir));
    }

    /// Deletes a directory and everything in it (fine if it does not exist).
    pub(crate) fn remove_dir(&self, dir: PathBuf) {
        self.queue(Op::RemoveDir(dir));
    }

    /// Writes an agent checkpoint atomically.
    pub(crate) fn checkpoint(&self, path: PathBuf, checkpoint: AgentCheckpoint) {
        self.queue(Op::Checkpoint(path, checkpoint));
    }

    /// Waits until every operation queued so far is done.
    pub(crate) async fn sync(&self) {
        let (done, wait) = oneshot::channel();
        self.queue(Op::Sync(done));
        let _ = wait.await;
    }
}

/// `ops` in order, less every checkpoint followed by another of the same file.
fn coalesce(ops: Vec<Op>) -> Vec<Op> {
    let mut last: HashMap<PathBuf, usize> = HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        if let Op::Checkpoint(path, _) = op {
            last.insert(path.clone(), i);
        }
    }
    ops.into_iter()
        .enumerate()
        .filter(|(i, op)| match op {
            Op::Checkpoint(path, _) => last.get(path) == Some(i),
            _ => true,
        })
        .map(|(_, op)| op)
        .collect()
}

fn run(op: Op) {
    match op {
        Op::CreateDir(dir) => {
            if let Err(e) = std::fs::create_dir_all(&dir) {
                tracing::error!(dir = %dir.display(), %e, "cannot create a persistent volume");
            }
        }
        Op::RemoveDir(dir) => {
            if let Err(e) = std::fs::remove_dir_all(&dir)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(dir = %dir.display(), %e, "cannot delete a destroyed volume");
            }
        }
        Op::Checkpoint(path, cp) => {
            if let Err(e) = crate::checkpoint::write(&path, &cp) {
                tracing::error!(%e, path = %path.display(), "cannot checkpoint the agent");
            }
        }
        Op::Sync(done) => {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn operations_run_in_order_and_sync_waits_for_them() {
        let tmp = tempfile::tempdir().unwrap();
        let disk = Disk::start(tmp.path()).unwrap();
        let dir = tmp.path().join("a/b");
        disk.create_dir(dir.clone());
        disk.remove_dir(dir.clone());
        disk.create_dir(dir.clone());
        let path = tmp.path().join("agent.json");
        let cp = AgentCheckpoint {
            agent_id: "c-S0".into(),
            hostname: "h".into(),
            reserved: vec![],
            tasks: vec![],
        };
        disk.checkpoint(path.clone(), cp.clone());
        disk.sync().await;
        assert!(dir.is_dir());
        let back: AgentCheckpoint = crate::checkpoint::read(&path).unwrap().unwrap();
        assert_eq!(back, cp);
    }

    fn checkpoint(agent: &str) -> AgentCheckpoint {
        AgentCheckpoint {
            agent_id: agent.into(),
            hostname: "h".into(),
            reserved: vec![],
            tasks: vec![],
        }
    }

    #[test]
    fn only_the_last_checkpoint_of_a_file_is_kept() {
        let (a, b) = (PathBuf::from("a.json"), PathBuf::from("b.json"));
        let ops = vec![
            Op::Checkpoint(a.clone(), checkpoint("a1")),
            Op::CreateDir(PathBuf::from("d")),
            Op::Checkpoint(b.clone(), checkpoint("b1")),
            Op::Checkpoint(a.clone(), checkpoint("a2")),
            Op::RemoveDir(PathBuf::from("d")),
        ];
        let kept: Vec<String> = coalesce(ops)
            .iter()
            .map(|op| match op {
                Op::Checkpoint(p, cp) => format!("{}={}", p.display(), cp.agent_id),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            kept,
            ["CreateDir(d)", "b.json=b1", "a.json=a2", "RemoveDir(d)"]
        );
    }
}
