//! Mesos master detection: the leading master from the znodes the masters write.
//!
//! Each Mesos master contending for leadership owns an ephemeral sequential znode
//! `<path>/json.info_<seq>` holding its `MasterInfo` as JSON; the lowest sequence is the
//! leader. [`detect_master`] follows that set and publishes the leader on a watch channel,
//! reconnecting (and publishing `None`) when the ZooKeeper session is lost.

use std::time::Duration;

use serde::Deserialize;
use tokio::sync::watch;
use zookeeper_client as zk;

use super::url::ZkUrl;
use crate::error::{Result, StateError};

/// The prefix of the znodes holding a master's JSON `MasterInfo`.
pub const JSON_INFO_PREFIX: &str = "json.info_";

/// A master's network address, as in Mesos's `Address`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct MasterAddress {
    /// Host name, if the master knows it.
    #[serde(default)]
    pub hostname: Option<String>,
    /// IP address in dotted form.
    #[serde(default)]
    pub ip: Option<String>,
    /// Port.
    #[serde(default)]
    pub port: Option<u32>,
}

/// The parts of a Mesos `MasterInfo` needed to reach the master.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct MasterInfo {
    /// The master's id.
    #[serde(default)]
    pub id: String,
    /// Host name (older masters).
    #[serde(default)]
    pub hostname: Option<String>,
    /// Port (older masters).
    #[serde(default)]
    pub port: Option<u32>,
    /// libprocess pid, `master@ip:port`.
    #[serde(default)]
    pub pid: Option<String>,
    /// The address (current masters).
    #[serde(default)]
    pub address: Option<MasterAddress>,
    /// Mesos version.
    #[serde(default)]
    pub version: Option<String>,
}

impl MasterInfo {
    /// `host:port` of the master's HTTP API, from the address, the host name or the pid.
    pub fn endpoint(&self) -> Option<String> {
        let from_address = self.address.as_ref().and_then(|a| {
            let host = a
                .hostname
                .clone()
                .filter(|h| !h.is_empty())
                .or(a.ip.clone())?;
            Some(format!("{host}:{}", a.port.or(self.port)?))
        });
        let from_fields = || {
            let host = self.hostname.clone().filter(|h| !h.is_empty())?;
            Some(format!("{host}:{}", self.port?))
        };
        let from_pid = || {
            let (_, addr) = self.pid.as_deref()?.split_once('@')?;
            Some(addr.to_owned())
        };
        from_address.or_else(from_fields).or_else(from_pid)
    }

    /// `http://host:port`, the base URL of the master's API.
    pub fn url(&self) -> Option<String> {
        self.endpoint().map(|e| format!("http://{e}"))
    }
}

/// Picks the leader among the children of the masters' znode: the lowest `json.info_`
/// sequence.
pub fn leader_node(children: &[String]) -> Option<&str> {
    children
        .iter()
        .filter_map(|c| {
            let seq = c.strip_prefix(JSON_INFO_PREFIX)?.parse::<u64>().ok()?;
            Some((seq, c.as_str()))
        })
        .min()
        .map(|(_, c)| c)
}

/// Follows the leading Mesos master under `zk_url` (`zk://host:2181/mesos`). Returns at
/// once; the channel holds `None` until a leader is known, and again whenever there is none
/// or ZooKeeper is unreachable. Must be called within a Tokio runtime; the follower stops
/// when every receiver is dropped.
pub async fn detect_master(zk_url: &str) -> Result<watch::Receiver<Option<MasterInfo>>> {
    let url = ZkUrl::parse(zk_url)?;
    let Some(path) = url.path.clone() else {
        return Err(StateError::InvalidUrl {
            url: url.to_string(),
            reason: "a master URL needs the masters' znode, e.g. zk://host:2181/mesos".into(),
        });
    };
    let (tx, rx) = watch::channel(None);
    tokio::spawn(async move {
        tokio::select! {
            _ = tx.closed() => {}
            _ = follow(&url, &path, &tx) => {}
        }
    });
    Ok(rx)
}

/// Reconnects forever, following the leader while a session lasts.
async fn follow(url: &ZkUrl, path: &str, tx: &watch::Sender<Option<MasterInfo>>) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let mut connector = zk::Client::connector().with_session_timeout(Duration::from_secs(10));
        if let Some(auth) = &url.auth {
            let creds = format!("{}:{}", auth.user, auth.password);
            connector = connector.with_auth("digest", creds.as_bytes());
        }
        match connector.connect(&url.hosts).await {
            Ok(client) => {
                backoff = Duration::from_millis(200);
                if let Err(e) = follow_session(&client, path, tx).await {
                    tracing::warn!(error = %e, url = %url, "lost the Mesos master detector's session");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, url = %url, "cannot reach ZooKeeper for master detection")
            }
        }
        publish(tx, None);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

fn publish(tx: &watch::Sender<Option<MasterInfo>>, leader: Option<MasterInfo>) {
    tx.send_if_modified(|current| {
        if *current == leader {
            false
        } else {
            tracing::info!(leader = ?leader.as_ref().and_then(MasterInfo::url), "Mesos leading master");
            *current = leader;
            true
        }
    });
}

/// Follows the leader until the session fails.
async fn follow_session(
    client: &zk::Client,
    path: &str,
    tx: &watch::Sender<Option<MasterInfo>>,
) -> std::result::Result<(), zk::Error> {
    loop {
        let watcher = match client.list_and_watch_children(path).await {
            Ok((children, watcher)) => {
                let leader = match leader_node(&children) {
                    Some(node) => match client.get_data(&format!("{path}/{node}")).await {
                        Ok((data, _)) => parse(&data, node),
                        // The leader left between the two reads: list again.
                        Err(zk::Error::NoNode) => continue,
                        Err(e) => return Err(e),
                    },
                    None => None,
                };
                publish(tx, leader);
                watcher
            }
            Err(zk::Error::NoNode) => {
                publish(tx, None);
                let (stat, watcher) = client.check_and_watch_stat(path).await?;
                if stat.is_some() {
                    continue;
                }
                watcher
            }
            Err(e) => return Err(e),
        };
        let event = watcher.changed().await;
        if event.event_type == zk::EventType::Session {
            return Err(zk::Error::SessionExpired);
        }
    }
}

fn parse(data: &[u8], node: &str) -> Option<MasterInfo> {
    match serde_json::from_slice::<MasterInfo>(data) {
        Ok(info) => Some(info),
        Err(e) => {
            tracing::warn!(node, error = %e, "unreadable Mesos MasterInfo");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leader_is_lowest_json_sequence() {
        let children: Vec<String> = [
            "info_0000000001",
            "json.info_0000000012",
            "json.info_0000000003",
            "log_replicas",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(leader_node(&children), Some("json.info_0000000003"));
        assert_eq!(leader_node(&[]), None);
    }

    #[test]
    fn endpoint_from_address_fields_or_pid() {
        let info: MasterInfo = serde_json::from_str(
            r#"{"id":"m1","ip":16777343,"port":5050,"pid":"master@127.0.0.1:5050",
                "hostname":"m1.local","address":{"hostname":"m1.example","ip":"10.0.0.1","port":5051},
                "version":"1.11.0"}"#,
        )
        .unwrap();
        assert_eq!(info.url().as_deref(), Some("http://m1.example:5051"));
        let info: MasterInfo =
            serde_json::from_str(r#"{"id":"m2","pid":"master@10.0.0.2:5050"}"#).unwrap();
        assert_eq!(info.endpoint().as_deref(), Some("10.0.0.2:5050"));
    }
}
