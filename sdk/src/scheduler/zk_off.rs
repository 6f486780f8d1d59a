//! The scheduler's state in ZooKeeper, in a build without the `zookeeper` feature: `--zk`
//! is refused at start, and there is never a session gate to pause on (the interface of
//! `zk.rs`, which the event loop uses either way).

use std::sync::Arc;

use stead_state::Persister;

use super::options::Options;
use crate::{Error, Result};

/// Stands in for the ZooKeeper session gate: no value of it exists in this build.
#[derive(Debug)]
pub(super) enum SessionGate {}

/// `Ok(None)` without `--zk`; with it, the error saying that this build has no ZooKeeper.
pub(super) async fn open_for(
    opts: &Options,
    _service: &str,
) -> Result<Option<(Arc<dyn Persister>, SessionGate)>> {
    match &opts.zk {
        None => Ok(None),
        Some(_) => Err(Error::Config(
            "--zk (or STEAD_ZK) keeps the state in ZooKeeper, and this scheduler was built \
             without ZooKeeper (the `zookeeper` feature of stead)"
                .into(),
        )),
    }
}

/// At once: without a gate there is nothing to wait for.
pub(super) async fn ready(gate: &mut Option<SessionGate>) -> Result<()> {
    match gate {
        Some(g) => match *g {},
        None => Ok(()),
    }
}

/// Never resolves: without a gate no session can be lost.
pub(super) async fn lost(gate: &mut Option<SessionGate>) -> Result<()> {
    match gate {
        Some(g) => match *g {},
        None => std::future::pending().await,
    }
}

/// A failed step is the error to exit with: without a gate nothing pauses.
pub(super) async fn pause_on(gate: &mut Option<SessionGate>, result: Result<()>) -> Result<bool> {
    match gate {
        Some(g) => match *g {},
        None => result.map(|()| false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn zookeeper_state_is_refused_and_redb_is_not() {
        let mut opts = Options::default();
        assert!(matches!(open_for(&opts, "svc").await, Ok(None)));
        opts.zk = Some("zk://127.0.0.1:2181".into());
        let Err(err) = open_for(&opts, "svc").await else {
            panic!("--zk accepted without ZooKeeper");
        };
        assert!(matches!(err, Error::Config(_)), "{err}");
        assert!(err.to_string().contains("`zookeeper` feature"), "{err}");
    }

    #[tokio::test]
    async fn without_a_gate_failures_stop_and_successes_go_on() {
        let mut gate = None;
        assert!(ready(&mut gate).await.is_ok());
        assert!(!pause_on(&mut gate, Ok(())).await.unwrap());
        let stopped = pause_on(&mut gate, Err(Error::Stopped)).await;
        assert!(matches!(stopped, Err(Error::Stopped)));
    }
}
