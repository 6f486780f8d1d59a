//! `zk://` URLs: `zk://[user:password@]host[:port][,host[:port]...][/path]`.

use std::fmt;
use std::str::FromStr;

use crate::error::{Result, StateError};

/// The port ZooKeeper listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 2181;

/// Digest credentials (`user:password`) for ZooKeeper's `digest` scheme.
#[derive(Clone, PartialEq, Eq)]
pub struct DigestAuth {
    /// The user name.
    pub user: String,
    /// The password.
    pub password: String,
}

impl fmt::Debug for DigestAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DigestAuth({}:***)", self.user)
    }
}

/// A parsed `zk://` URL. Its `Display` and `Debug` forms never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ZkUrl {
    /// The ensemble as a connect string: `host:port,host:port`.
    pub hosts: String,
    /// The absolute znode path given in the URL (`/mesos`), or `None` for none or `/`.
    pub path: Option<String>,
    /// Digest credentials from the URL's user info.
    pub auth: Option<DigestAuth>,
}

impl ZkUrl {
    /// Parses a `zk://` URL.
    pub fn parse(url: &str) -> Result<Self> {
        let invalid = |reason: &str| StateError::InvalidUrl {
            url: redact(url),
            reason: reason.to_owned(),
        };
        let rest = url
            .strip_prefix("zk://")
            .ok_or_else(|| invalid("expected zk://host:port[,host:port]/path"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (auth, hosts) = match authority.rfind('@') {
            Some(i) => {
                let (user, password) = authority[..i]
                    .split_once(':')
                    .ok_or_else(|| invalid("credentials must be user:password"))?;
                if user.is_empty() {
                    return Err(invalid("empty user name"));
                }
                let auth = DigestAuth {
                    user: user.to_owned(),
                    password: password.to_owned(),
                };
                (Some(auth), &authority[i + 1..])
            }
            None => (None, authority),
        };
        let mut endpoints = Vec::new();
        for host in hosts.split(',') {
            let host = host.trim();
            if host.is_empty() {
                return Err(invalid("empty host"));
            }
            let with_port = match host.rsplit_once(':') {
                Some((name, port)) if !name.is_empty() && !name.ends_with(':') => {
                    port.parse::<u16>()
                        .map_err(|_| invalid(&format!("bad port in {host:?}")))?;
                    host.to_owned()
                }
                _ => format!("{host}:{DEFAULT_PORT}"),
            };
            endpoints.push(with_port);
        }
        let path = path.trim_end_matches('/');
        let path = if path.is_empty() {
            None
        } else {
            if path
                .split('/')
                .skip(1)
                .any(|s| s.is_empty() || s == "." || s == "..")
            {
                return Err(invalid("bad znode path"));
            }
            Some(path.to_owned())
        };
        Ok(ZkUrl {
            hosts: endpoints.join(","),
            path,
            auth,
        })
    }

    /// The URL's path, or `default` when it has none.
    pub fn path_or(&self, default: &str) -> String {
        self.path.clone().unwrap_or_else(|| default.to_owned())
    }

    /// The same URL with another path.
    pub fn with_path(&self, path: &str) -> ZkUrl {
        ZkUrl {
            path: Some(path.to_owned()),
            ..self.clone()
        }
    }
}

impl FromStr for ZkUrl {
    type Err = StateError;
    fn from_str(s: &str) -> Result<Self> {
        ZkUrl::parse(s)
    }
}

impl fmt::Display for ZkUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "zk://")?;
        if let Some(auth) = &self.auth {
            write!(f, "{}:***@", auth.user)?;
        }
        write!(f, "{}{}", self.hosts, self.path.as_deref().unwrap_or(""))
    }
}

impl fmt::Debug for ZkUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ZkUrl({self})")
    }
}

/// Removes the password from a URL for messages.
fn redact(url: &str) -> String {
    let Some(rest) = url.strip_prefix("zk://") else {
        return url.to_owned();
    };
    let end = rest.find('/').unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or("");
            format!("zk://{user}:***@{}", &rest[at + 1..])
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_paths_and_credentials() {
        let u = ZkUrl::parse("zk://a:1,b/mesos/").unwrap();
        assert_eq!(u.hosts, "a:1,b:2181");
        assert_eq!(u.path.as_deref(), Some("/mesos"));
        assert_eq!(u.auth, None);
        let u = ZkUrl::parse("zk://svc:s3cret@h:2181").unwrap();
        assert_eq!(u.path, None);
        assert_eq!(u.path_or("/stead/x"), "/stead/x");
        assert_eq!(u.auth.as_ref().unwrap().password, "s3cret");
        assert_eq!(u.to_string(), "zk://svc:***@h:2181");
        assert!(!format!("{u:?}").contains("s3cret"));
        assert!(ZkUrl::parse("http://h").is_err());
        assert!(ZkUrl::parse("zk://").is_err());
        assert!(ZkUrl::parse("zk://h:notaport").is_err());
        assert!(ZkUrl::parse("zk://h//x").is_err());
        let err = ZkUrl::parse("zk://u:pw@h:x/").unwrap_err().to_string();
        assert!(!err.contains("pw"), "{err}");
    }
}
