//! One scheduler per service: a lock made of ephemeral sequential znodes.
//!
//! Candidates create `<root>.lock/lock-<seq>` (ephemeral, holding `pid N on HOST`); the
//! lowest sequence holds the lock. Others either give up at once with a message naming the
//! holder, or each watch the candidate just before them and take over when it goes (its
//! scheduler released the lock, exited, or lost its session).

use std::sync::Arc;

use zookeeper_client as zk;

use super::{Session, SessionState, ZkPersister};
use crate::error::{Result, StateError};

const PREFIX: &str = "lock-";

/// The held lock of a service. It is released by [`ZkLock::release`], on drop, or when
/// the session ends; after a session loss ([`super::SessionState::Expired`]) it is no
/// longer held and the scheduler must take it again with a new session.
#[derive(Debug)]
pub struct ZkLock {
    session: Arc<Session>,
    node: Option<String>,
}

/// The lock directory of a state root: a sibling of the root, so the lock never shows up in
/// the state itself (exports, recursive deletes).
fn lock_dir(root: &str) -> String {
    format!("{root}.lock")
}

fn owner_note() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    if host.is_empty() {
        format!("pid {}", std::process::id())
    } else {
        format!("pid {} on {host}", std::process::id())
    }
}

impl ZkLock {
    /// Takes the lock of `zk`'s service. With `wait`, blocks until it is ours (call it from
    /// a blocking thread in async code); without, fails at once with
    /// [`StateError::InUse`] naming the holder ("state at zk://... is in use by another
    /// scheduler (pid N on HOST)").
    pub fn acquire(zk: &ZkPersister, wait: bool) -> Result<ZkLock> {
        let session = zk.session.clone();
        session.check_ready()?;
        let inner = session.clone();
        let node = session
            .bridge
            .run(async move { contend(&inner, wait).await }, None)
            .unwrap_or_else(|| {
                Err(StateError::NotConnected {
                    location: session.location(),
                    reason: "the client runtime stopped".to_owned(),
                })
            })?;
        Ok(ZkLock {
            session,
            node: Some(node),
        })
    }

    /// The lock's znode.
    pub fn node(&self) -> &str {
        self.node.as_deref().unwrap_or("")
    }

    /// Releases the lock now.
    pub fn release(mut self) -> Result<()> {
        let Some(node) = self.node.take() else {
            return Ok(());
        };
        let session = self.session.clone();
        let client = session.base.clone();
        let target = node.clone();
        let result = session.run(async move { Ok(client.delete(&target, None).await) })?;
        match result {
            Ok(()) | Err(zk::Error::NoNode) => Ok(()),
            Err(e) => Err(session.error(&node, e)),
        }
    }
}

impl Drop for ZkLock {
    fn drop(&mut self) {
        if let Some(node) = self.node.take() {
            let client = self.session.base.clone();
            self.session.bridge.spawn(async move {
                let _ = client.delete(&node, None).await;
            });
        }
    }
}

/// Creates our candidate node and waits (or not) to be first. Returns its path.
async fn contend(session: &Session, wait: bool) -> Result<String> {
    let client = &session.base;
    let dir = lock_dir(&session.root);
    let err = |path: &str, e| session.error(path, e);
    match client
        .create(
            &dir,
            &[],
            &zk::CreateMode::Persistent.with_acls(session.acls()),
        )
        .await
    {
        Ok(_) | Err(zk::Error::NodeExists) => {}
        Err(e) => return Err(err(&dir, e)),
    }
    let prefix = format!("{dir}/{PREFIX}");
    let (_, sequence) = client
        .create(
            &prefix,
            owner_note().as_bytes(),
            &zk::CreateMode::EphemeralSequential.with_acls(session.acls()),
        )
        .await
        .map_err(|e| err(&prefix, e))?;
    let ours = format!("{PREFIX}{sequence}");
    let ours_path = format!("{dir}/{ours}");
    loop {
        let mut candidates: Vec<String> = client
            .list_children(&dir)
            .await
            .map_err(|e| err(&dir, e))?
            .into_iter()
            .filter(|c| c.starts_with(PREFIX))
            .collect();
        // Sequence numbers are zero-padded to the same width, so names sort by sequence.
        candidates.sort_unstable();
        let Some(position) = candidates.iter().position(|c| *c == ours) else {
            return Err(StateError::NotConnected {
                location: session.location(),
                reason: "our lock node vanished (session lost)".to_owned(),
            });
        };
        if position == 0 {
            return Ok(ours_path);
        }
        if !wait {
            let holder = format!("{dir}/{}", candidates[0]);
            let owner = client
                .get_data(&holder)
                .await
                .ok()
                .and_then(|(data, _)| String::from_utf8(data).ok())
                .filter(|o| !o.is_empty());
            let _ = client.delete(&ours_path, None).await;
            return Err(StateError::InUse {
                location: session.location(),
                owner,
            });
        }
        let before = format!("{dir}/{}", candidates[position - 1]);
        tracing::info!(holder = %before, "waiting for the service lock");
        match client.check_and_watch_stat(&before).await {
            Ok((Some(_), watcher)) => {
                let event = watcher.changed().await;
                if event.event_type == zk::EventType::Session
                    && SessionState::from(event.session_state).is_terminal()
                {
                    return Err(StateError::NotConnected {
                        location: session.location(),
                        reason: format!(
                            "session {:?} while waiting for the lock",
                            event.session_state
                        ),
                    });
                }
            }
            Ok((None, _)) => {}
            Err(e) => return Err(err(&before, e)),
        }
    }
}
