//! Following the leading Mesos master through ZooKeeper (`--master zk://host:2181/mesos`).
//!
//! The masters publish themselves as `json.info_<seq>` znodes (see
//! [`stead_state::zk::master`]); [`MasterDetector`] turns the detected leader into a
//! [`MesosClient`] and tells the event loop when leadership moves, so that it subscribes
//! again with the new leader.

use std::sync::Arc;
use std::time::Duration;

use stead_state::zk::master::{MasterInfo, detect_master};
use stead_state::zk::url::ZkUrl;
use tokio::sync::watch;

use super::{MasterAccess, MesosClient};
use crate::{Error, Result};

/// How often the wait for a leading master is logged.
const LOG_EVERY: Duration = Duration::from_secs(5);

pub use super::is_zk_url;

/// Follows the leading Mesos master published in ZooKeeper.
#[derive(Debug)]
pub struct MasterDetector {
    /// The masters' znode URL, for messages (no password).
    url: String,
    leaders: watch::Receiver<Option<MasterInfo>>,
    /// The leader last handed out by [`MasterDetector::leader`].
    current: Option<String>,
    call_timeout: Duration,
    /// The credentials and trust of the clients it makes.
    access: MasterAccess,
}

impl MasterDetector {
    /// Starts following the masters under `zk_url` (`zk://host:2181[,host:2181]/mesos`);
    /// clients it makes use `call_timeout` and `access`. Fails only on a malformed URL.
    pub async fn start(
        zk_url: &str,
        call_timeout: Duration,
        access: MasterAccess,
    ) -> Result<MasterDetector> {
        let url = ZkUrl::parse(zk_url)
            .map_err(|e| Error::Config(format!("--master: {e}")))?
            .to_string();
        let leaders = detect_master(zk_url)
            .await
            .map_err(|e| Error::Config(format!("--master: {e}")))?;
        Ok(MasterDetector {
            url,
            leaders,
            current: None,
            call_timeout,
            access,
        })
    }

    /// The detected leader's URL right now, if any, marking the value as seen.
    fn detected(&mut self) -> Option<String> {
        self.leaders
            .borrow_and_update()
            .as_ref()
            .and_then(MasterInfo::url)
    }

    /// Waits until a leading master is known (logging while there is none) and returns
    /// its URL (`http://host:port`); it becomes the current leader.
    pub async fn leader(&mut self) -> String {
        let mut logged = false;
        loop {
            if let Some(url) = self.detected() {
                if self.current.as_deref() != Some(url.as_str()) {
                    tracing::info!(leader = %url, detector = %self.url, "leading Mesos master detected");
                }
                self.current = Some(url.clone());
                return url;
            }
            if !logged {
                tracing::info!(detector = %self.url, "waiting for a leading Mesos master");
            }
            logged = true;
            tokio::select! {
                changed = self.leaders.changed() => {
                    if changed.is_err() {
                        // The follower only stops when this receiver is dropped.
                        std::future::pending::<()>().await;
                    }
                }
                _ = tokio::time::sleep(LOG_EVERY) => {
                    tracing::info!(detector = %self.url, "still no leading Mesos master in ZooKeeper");
                }
            }
        }
    }

    /// Waits for a leader and returns a client for it when it differs from the current
    /// one (`None` when the leader is unchanged).
    pub async fn next_client(&mut self) -> Result<Option<Arc<MesosClient>>> {
        let before = self.current.clone();
        let url = self.leader().await;
        if before.as_deref() == Some(url.as_str()) {
            return Ok(None);
        }
        Ok(Some(Arc::new(MesosClient::with_access(
            &url,
            self.call_timeout,
            self.access.clone(),
        )?)))
    }

    /// Resolves when another master than the current one is detected as the leader.
    /// A moment without any leader is not a change: the current subscription decides.
    pub async fn changed(&mut self) {
        loop {
            if let Some(url) = self.detected()
                && self.current.as_deref() != Some(url.as_str())
            {
                tracing::warn!(from = ?self.current, to = %url, "the leading Mesos master changed");
                return;
            }
            if self.leaders.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// [`MasterDetector::changed`] of an optional detector; never resolves without one.
pub async fn leader_changed(detector: &mut Option<MasterDetector>) {
    match detector {
        Some(d) => d.changed().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_zookeeper_master_urls() {
        assert!(is_zk_url("zk://10.0.0.1:2181,10.0.0.2:2181/mesos"));
        assert!(!is_zk_url("http://10.0.0.1:5050"));
    }

    #[tokio::test]
    async fn a_master_url_needs_the_masters_znode() {
        let err = MasterDetector::start(
            "zk://127.0.0.1:2181",
            Duration::from_secs(1),
            MasterAccess::default(),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("masters' znode"), "{err}");
        let err = MasterDetector::start(
            "http://m:5050",
            Duration::from_secs(1),
            MasterAccess::default(),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("--master"), "{err}");
    }
}
