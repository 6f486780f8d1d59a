//! Following the leading Mesos master through ZooKeeper, in a build without the
//! `zookeeper` feature: `--master zk://...` is refused at start (the interface of
//! `detect.rs`, which the scheduler uses either way).

use std::sync::Arc;
use std::time::Duration;

use super::MesosClient;
use crate::{Error, Result};

pub use super::is_zk_url;

/// Stands in for the ZooKeeper master detector: no value of it exists in this build.
#[derive(Debug)]
pub enum MasterDetector {}

impl MasterDetector {
    /// Fails: this build cannot follow masters through ZooKeeper.
    pub async fn start(
        _zk_url: &str,
        _call_timeout: Duration,
        _access: super::MasterAccess,
    ) -> Result<MasterDetector> {
        Err(Error::Config(
            "--master zk://... follows the leading master through ZooKeeper, and this \
             scheduler was built without ZooKeeper (the `zookeeper` feature of stead): give \
             the master's http:// URL"
                .into(),
        ))
    }

    /// Never called: no detector exists.
    pub async fn leader(&mut self) -> String {
        match *self {}
    }

    /// Never called: no detector exists.
    pub async fn next_client(&mut self) -> Result<Option<Arc<MesosClient>>> {
        match *self {}
    }

    /// Never called: no detector exists.
    pub async fn changed(&mut self) {
        match *self {}
    }
}

/// Never resolves: without a detector the leader never changes.
pub async fn leader_changed(detector: &mut Option<MasterDetector>) {
    match detector {
        Some(d) => match *d {},
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn zookeeper_masters_are_refused() {
        assert!(is_zk_url("zk://10.0.0.1:2181/mesos"));
        let err = MasterDetector::start(
            "zk://10.0.0.1:2181/mesos",
            Duration::from_secs(1),
            super::super::MasterAccess::default(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
        assert!(err.to_string().contains("`zookeeper` feature"), "{err}");
    }
}
