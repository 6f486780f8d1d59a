//! The ZooKeeper backend, the one-scheduler-per-service lock, and Mesos master detection.
//!
//! The service's state lives under a root znode (`/stead/<service>` by default) with the
//! same layout as the other backends. A [`crate::Persister::multi`] batch becomes one
//! ZooKeeper `multi` request (all or nothing); a batch too large for one request (ZooKeeper
//! refuses requests over 1 MB) is checked completely first and then written in several
//! atomic requests. With digest credentials in the URL every node is created with the
//! `auth` ACL, so other ZooKeeper users can neither read nor change the state.
//!
//! The persister is synchronous: it runs the async client on its own small runtime and
//! waits for each answer, so it can be called from any thread, async or not.

mod bridge;
pub mod lock;
pub mod master;
mod plan;
pub mod url;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use zookeeper_client as zk;

use crate::error::{Result, StateError};
use crate::path;
use crate::persister::{Op, Persister};

pub use bridge::SessionState;
pub use lock::ZkLock;
pub use url::{DigestAuth, ZkUrl};

use bridge::Bridge;

/// The largest value stored in one znode (ZooKeeper's default request limit is 1 MiB,
/// which also has to hold the path and the request's framing).
pub const MAX_VALUE_BYTES: usize = 1_000_000;

/// The size budget of one `multi` request.
const MAX_REQUEST_BYTES: usize = 900_000;

/// Reads sent together by [`Persister::get_many`].
const READS_IN_FLIGHT: usize = 1_000;

/// Connection settings.
#[derive(Clone, Debug)]
pub struct ZkOptions {
    /// The session timeout to negotiate (the server clamps it to its own bounds). A
    /// scheduler that loses its session for this long loses its lock.
    pub session_timeout: Duration,
    /// How long a single read or write may take before it fails with `NotConnected`.
    pub operation_timeout: Duration,
}

impl Default for ZkOptions {
    fn default() -> Self {
        ZkOptions {
            session_timeout: Duration::from_secs(10),
            operation_timeout: Duration::from_secs(30),
        }
    }
}

/// What the persister and its lock share: the session and the runtime it runs on.
#[derive(Debug)]
pub(crate) struct Session {
    /// Client rooted at the service's root znode.
    pub(crate) client: zk::Client,
    /// Client at the ensemble's root, for the lock next to the state.
    pub(crate) base: zk::Client,
    pub(crate) root: String,
    pub(crate) url: ZkUrl,
    pub(crate) secured: bool,
    pub(crate) options: ZkOptions,
    pub(crate) state: watch::Receiver<SessionState>,
    /// Serialises batches: each is planned against the tree as the previous one left it.
    pub(crate) writes: tokio::sync::Mutex<()>,
    pub(crate) bridge: Bridge,
}

impl Session {
    /// The URL of the state, for messages (no password).
    pub(crate) fn location(&self) -> String {
        self.url.with_path(&self.root).to_string()
    }

    /// The ACLs every node is created with.
    pub(crate) fn acls(&self) -> zk::Acls<'static> {
        if self.secured {
            zk::Acls::creator_all()
        } else {
            zk::Acls::anyone_all()
        }
    }

    /// Fails fast when the session cannot serve requests.
    pub(crate) fn check_ready(&self) -> Result<()> {
        let state = *self.state.borrow();
        if state == SessionState::Connected {
            Ok(())
        } else {
            Err(StateError::NotConnected {
                location: self.location(),
                reason: format!("ZooKeeper session is {state:?}"),
            })
        }
    }

    /// Maps a client error on `path` (relative to the root) to a [`StateError`].
    pub(crate) fn error(&self, path: &str, e: zk::Error) -> StateError {
        match e {
            zk::Error::NoNode => StateError::NotFound {
                path: path.to_owned(),
            },
            zk::Error::NoAuth => StateError::Denied {
                path: path.to_owned(),
                location: self.location(),
            },
            zk::Error::ConnectionLoss
            | zk::Error::SessionExpired
            | zk::Error::ClientClosed
            | zk::Error::Timeout
            | zk::Error::NoHosts
            | zk::Error::AuthFailed
            | zk::Error::SessionMoved => StateError::NotConnected {
                location: self.location(),
                reason: e.to_string(),
            },
            other => StateError::backend(path, other),
        }
    }

    /// Runs `f` on the session's runtime with the operation timeout.
    pub(crate) fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        self.bridge
            .run(f, Some(self.options.operation_timeout))
            .unwrap_or_else(|| {
                Err(StateError::NotConnected {
                    location: self.location(),
                    reason: format!("no answer within {:?}", self.options.operation_timeout),
                })
            })
    }
}

/// A [`Persister`] kept in ZooKeeper.
#[derive(Clone, Debug)]
pub struct ZkPersister {
    pub(crate) session: Arc<Session>,
}

/// The znode path of a normalised state path.
pub(crate) fn znode(path: &str) -> String {
    format!("/{path}")
}

impl ZkPersister {
    /// Connects to `url` (`zk://[user:password@]host:port[,...][/path]`); the state lives
    /// at the URL's path, or `/stead/<service>` when it has none. Credentials turn on digest
    /// authentication and owner-only ACLs.
    pub fn connect(url: &str, service: &str) -> Result<Self> {
        let url = ZkUrl::parse(url)?;
        path::check_name(service)?;
        let root = url.path_or(&format!("/stead/{service}"));
        Self::connect_with(&url, &root, ZkOptions::default())
    }

    /// Connects with explicit settings; `root` is the absolute znode holding the state.
    pub fn connect_with(url: &ZkUrl, root: &str, options: ZkOptions) -> Result<Self> {
        let root = format!("/{}", root.trim_matches('/'));
        if root == "/" {
            return Err(StateError::InvalidUrl {
                url: url.to_string(),
                reason: "the state root must not be the ZooKeeper root".to_owned(),
            });
        }
        path::normalize(&root)?;
        let location = url.with_path(&root).to_string();
        let bridge = Bridge::new().map_err(|source| StateError::Io {
            path: "ZooKeeper client runtime".into(),
            source,
        })?;
        let connect = {
            let url = url.clone();
            let root = root.clone();
            let timeout = options.session_timeout;
            let location = location.clone();
            async move { open_session(&url, &root, timeout, &location).await }
        };
        let (base, client, state) = bridge
            .run(connect, Some(options.session_timeout * 3))
            .unwrap_or_else(|| {
                Err(StateError::NotConnected {
                    location: location.clone(),
                    reason: "no session established in time".to_owned(),
                })
            })?;
        let state = bridge.follow_state(&client, state);
        Ok(ZkPersister {
            session: Arc::new(Session {
                client,
                base,
                root,
                url: url.clone(),
                secured: url.auth.is_some(),
                options,
                state,
                writes: tokio::sync::Mutex::new(()),
                bridge,
            }),
        })
    }

    /// The session's state; the scheduler pauses while it is not `Connected`, replaces a
    /// session that ended (`Expired`, `Closed`) and exits on `AuthFailed`.
    pub fn session_state(&self) -> watch::Receiver<SessionState> {
        self.session.state.clone()
    }

    /// The absolute znode holding the state.
    pub fn root(&self) -> &str {
        &self.session.root
    }

    /// The URL connected to (without password).
    pub fn url(&self) -> &ZkUrl {
        &self.session.url
    }

    /// Takes the service's lock (see [`ZkLock::acquire`]).
    pub fn lock(&self, wait: bool) -> Result<ZkLock> {
        ZkLock::acquire(self, wait)
    }
}

/// Connects, authenticates, creates the root (ancestors open, the root itself with the
/// service's ACL) and returns the base and rooted clients.
async fn open_session(
    url: &ZkUrl,
    root: &str,
    timeout: Duration,
    location: &str,
) -> Result<(zk::Client, zk::Client, SessionState)> {
    let not_connected = |e: zk::Error| StateError::NotConnected {
        location: location.to_owned(),
        reason: e.to_string(),
    };
    let mut connector = zk::Client::connector().with_session_timeout(timeout);
    if let Some(auth) = &url.auth {
        let creds = format!("{}:{}", auth.user, auth.password);
        connector = connector.with_auth("digest", creds.as_bytes());
    }
    let base = connector.connect(&url.hosts).await.map_err(not_connected)?;
    let acls = if url.auth.is_some() {
        zk::Acls::creator_all()
    } else {
        zk::Acls::anyone_all()
    };
    let backend = |e: zk::Error| match e {
        zk::Error::NoAuth => StateError::Denied {
            path: root.to_owned(),
            location: location.to_owned(),
        },
        other => StateError::backend(root, other),
    };
    if let Some((parent, _)) = root.rsplit_once('/').filter(|(p, _)| !p.is_empty()) {
        base.mkdir(
            parent,
            &zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all()),
        )
        .await
        .map_err(backend)?;
    }
    match base
        .create(root, &[], &zk::CreateMode::Persistent.with_acls(acls))
        .await
    {
        Ok(_) | Err(zk::Error::NodeExists) => {}
        Err(e) => return Err(backend(e)),
    }
    // Reading the root proves the credentials fit its ACL.
    base.get_data(root).await.map_err(backend)?;
    let state = SessionState::from(base.state());
    let client = base
        .clone()
        .chroot(root.to_owned())
        .map_err(|_| StateError::InvalidUrl {
            url: location.to_owned(),
            reason: "bad state root".to_owned(),
        })?;
    Ok((base, client, state))
}

impl Persister for ZkPersister {
    fn get(&self, raw: &str) -> Result<Option<Vec<u8>>> {
        let mut values = self.get_many(&[raw.to_owned()])?;
        Ok(values.pop().flatten())
    }

    fn get_many(&self, raws: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        let s = &self.session;
        let mut out = Vec::with_capacity(raws.len());
        // The reads of a chunk are sent at once (pipelined on the session): a chunk costs
        // about one round trip, and bounds what waits for the answers.
        for chunk in raws.chunks(READS_IN_FLIGHT) {
            let keys = chunk
                .iter()
                .map(|raw| path::normalize_node(raw).map(str::to_owned))
                .collect::<Result<Vec<String>>>()?;
            s.check_ready()?;
            let client = s.client.clone();
            let znodes: Vec<String> = keys.iter().map(|k| znode(k)).collect();
            let results = s.run(async move {
                Ok(futures::future::join_all(znodes.iter().map(|z| client.get_data(z))).await)
            })?;
            for (key, result) in keys.iter().zip(results) {
                match result {
                    Ok((data, _)) => out.push(Some(data)),
                    Err(zk::Error::NoNode) => out.push(None),
                    Err(e) => return Err(s.error(key, e)),
                }
            }
        }
        Ok(out)
    }

    fn children(&self, raw: &str) -> Result<Vec<String>> {
        let key = path::normalize(raw)?.to_owned();
        let s = &self.session;
        s.check_ready()?;
        let client = s.client.clone();
        let znode = znode(&key);
        let result = s.run(async move { Ok(client.list_children(&znode).await) })?;
        match result {
            Ok(mut names) => {
                names.sort_unstable();
                Ok(names)
            }
            Err(zk::Error::NoNode) => Ok(Vec::new()),
            Err(e) => Err(s.error(&key, e)),
        }
    }

    fn multi(&self, ops: &[Op]) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        let s = &self.session;
        // Check everything that can be checked locally before touching the server.
        let mut owned = Vec::with_capacity(ops.len());
        for op in ops {
            owned.push(match op {
                Op::Set { path: raw, value } => {
                    let key = path::normalize_node(raw)?;
                    if value.len() > MAX_VALUE_BYTES {
                        return Err(StateError::TooLarge {
                            path: raw.clone(),
                            size: value.len(),
                            limit: MAX_VALUE_BYTES,
                        });
                    }
                    Op::set(key, value.clone())
                }
                Op::Delete { path: raw } => Op::delete(path::normalize(raw)?),
            });
        }
        s.check_ready()?;
        let session = self.session.clone();
        s.run(async move {
            let _serial = session.writes.lock().await;
            plan::apply(&session, owned, MAX_REQUEST_BYTES).await
        })
    }

    fn is_ready(&self) -> bool {
        *self.session.state.borrow() == SessionState::Connected
    }

    fn location(&self) -> String {
        self.session.location()
    }
}
