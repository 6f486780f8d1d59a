//! Test support: a real ZooKeeper server on 127.0.0.1 (Debian's `zookeeperd`), started in
//! its own data directory and stopped on drop.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Debian's start script.
pub const ZK_SERVER_SCRIPT: &str = "/usr/share/zookeeper/bin/zkServer.sh";

/// How long a server may take to answer `ruok`.
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// A ZooKeeper server for tests. `tickTime` is 500 ms, so sessions may be as short as 1 s.
#[derive(Debug)]
pub struct ZkServer {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

/// True when ZooKeeper is installed.
pub fn zookeeper_installed() -> bool {
    Path::new(ZK_SERVER_SCRIPT).exists()
}

impl ZkServer {
    /// Starts a server if ZooKeeper is installed. If it is not, prints a loud notice and
    /// returns `None` so the calling test can pass, except under `CI=true`, where it panics
    /// (CI must run the ZooKeeper tests). Also panics if an installed server fails to start.
    pub fn start_or_skip(test: &str) -> Option<ZkServer> {
        if !zookeeper_installed() {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(
                !ci,
                "{test}: ZooKeeper is not installed ({ZK_SERVER_SCRIPT}) but CI=true"
            );
            eprintln!(
                "\n!!!!!!!! {test}: SKIPPED, ZooKeeper is not installed ({ZK_SERVER_SCRIPT}); \
                 install zookeeperd to run it !!!!!!!!\n"
            );
            return None;
        }
        match ZkServer::start() {
            Ok(server) => Some(server),
            Err(e) => panic!("{test}: cannot start ZooKeeper: {e}"),
        }
    }

    /// Starts a server in a fresh data directory on a free port and waits until it answers.
    pub fn start() -> std::io::Result<ZkServer> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "stead-zk-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(dir.join("data"))?;
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let config = format!(
            "tickTime=500\n\
             initLimit=10\n\
             syncLimit=5\n\
             dataDir={}\n\
             clientPort={port}\n\
             clientPortAddress=127.0.0.1\n\
             admin.enableServer=false\n\
             4lw.commands.whitelist=ruok,srvr,stat,mntr\n\
             maxClientCnxns=0\n",
            dir.join("data").display()
        );
        std::fs::write(dir.join("zoo.cfg"), config)?;
        let mut server = ZkServer {
            dir,
            port,
            child: None,
        };
        server.launch()?;
        Ok(server)
    }

    fn launch(&mut self) -> std::io::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))?;
        let child = Command::new(ZK_SERVER_SCRIPT)
            .arg("start-foreground")
            .arg(self.dir.join("zoo.cfg"))
            .env("JMXDISABLE", "true")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if self.ruok() {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                return Err(std::io::Error::other(format!(
                    "ZooKeeper exited with {status}; log: {}",
                    self.log_tail()
                )));
            }
            if Instant::now() > deadline {
                self.stop();
                return Err(std::io::Error::other(format!(
                    "ZooKeeper did not answer ruok within {READY_TIMEOUT:?}; log: {}",
                    self.log_tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn ruok(&self) -> bool {
        let answer = (|| -> std::io::Result<String> {
            let mut stream = TcpStream::connect_timeout(
                &(Ipv4Addr::LOCALHOST, self.port).into(),
                Duration::from_secs(1),
            )?;
            stream.set_read_timeout(Some(Duration::from_secs(2)))?;
            stream.write_all(b"ruok")?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer)?;
            Ok(answer)
        })();
        answer.is_ok_and(|a| a == "imok")
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let start = log.len().saturating_sub(2000);
        log.get(start..).unwrap_or("").to_owned()
    }

    /// The client port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`.
    pub fn connect_string(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `zk://127.0.0.1:<port><path>` (`path` absolute, or empty).
    pub fn url(&self, path: &str) -> String {
        format!("zk://127.0.0.1:{}{path}", self.port)
    }

    /// True while the server process runs.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server (as a crash would); its data directory stays.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and data directory.
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.stop();
        self.launch()
    }
}

impl Drop for ZkServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A server shared by the tests of one binary that run at the same time; it stops when the
/// last of them drops its handle. Same skip rules as [`ZkServer::start_or_skip`].
pub fn shared_zk_server(test: &str) -> Option<std::sync::Arc<ZkServer>> {
    use std::sync::{Arc, Mutex, Weak};
    static SHARED: Mutex<Weak<ZkServer>> = Mutex::new(Weak::new());
    // A test that panicked while holding the mutex leaves a valid Weak behind.
    let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(server) = shared.upgrade() {
        return Some(server);
    }
    let server = Arc::new(ZkServer::start_or_skip(test)?);
    *shared = Arc::downgrade(&server);
    Some(server)
}

/// A TCP link from a loopback port to a ZooKeeper server that a test can cut, as a
/// network partition would: clients connected through [`ZkLink::url`] lose their
/// connection and cannot reconnect until [`ZkLink::heal`].
#[derive(Debug)]
pub struct ZkLink {
    port: u16,
    shared: std::sync::Arc<LinkShared>,
}

#[derive(Debug, Default)]
struct LinkShared {
    cut: std::sync::atomic::AtomicBool,
    /// Both ends of every connection made through the link, to shut them at a cut.
    streams: std::sync::Mutex<Vec<TcpStream>>,
}

impl LinkShared {
    fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }

    fn streams(&self) -> std::sync::MutexGuard<'_, Vec<TcpStream>> {
        // A panicking copy thread leaves a valid list behind.
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ZkLink {
    /// Opens a link to `server` on a free loopback port.
    pub fn open(server: &ZkServer) -> std::io::Result<ZkLink> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let target = (Ipv4Addr::LOCALHOST, server.port());
        let shared = std::sync::Arc::new(LinkShared::default());
        let weak = std::sync::Arc::downgrade(&shared);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                // The link is gone once its owner dropped it.
                let Some(shared) = weak.upgrade() else { return };
                let Ok(client) = client else { continue };
                if shared.is_cut() {
                    continue;
                }
                let Ok(upstream) = TcpStream::connect(target) else {
                    continue;
                };
                let _ = Self::join(&shared, client, upstream);
            }
        });
        Ok(ZkLink { port, shared })
    }

    /// Copies both ways between `client` and `upstream` on two threads.
    fn join(shared: &LinkShared, client: TcpStream, upstream: TcpStream) -> std::io::Result<()> {
        let mut streams = shared.streams();
        streams.push(client.try_clone()?);
        streams.push(upstream.try_clone()?);
        let pipe = |mut from: TcpStream, mut to: TcpStream| {
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from, &mut to);
                let _ = to.shutdown(std::net::Shutdown::Both);
                let _ = from.shutdown(std::net::Shutdown::Both);
            });
        };
        pipe(client.try_clone()?, upstream.try_clone()?);
        pipe(upstream, client);
        Ok(())
    }

    /// `zk://127.0.0.1:<link port><path>` (`path` absolute, or empty).
    pub fn url(&self, path: &str) -> String {
        format!("zk://127.0.0.1:{}{path}", self.port)
    }

    /// Drops every connection through the link and refuses new ones until healed.
    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::SeqCst);
        for stream in self.shared.streams().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Lets connections through again.
    pub fn heal(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for ZkLink {
    fn drop(&mut self) {
        self.cut();
        // Wake the accept loop so it sees the link is gone.
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
    }
}

/// Ends `zk`'s session as a long partition does: cuts `link` (which `zk` must be
/// connected through) until the session has expired, then heals it. The server has
/// dropped the session (and its ephemeral nodes) by then, since the client gives up
/// only after 7/5 of the session timeout. Fails when that does not happen within two
/// minutes.
pub fn expire_session(zk: &crate::ZkPersister, link: &ZkLink) -> crate::Result<()> {
    let mut state = zk.session_state();
    link.cut();
    let limit = Duration::from_secs(120);
    let deadline = Instant::now() + limit;
    let expired = loop {
        if *state.borrow_and_update() == crate::SessionState::Expired {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    link.heal();
    if expired {
        return Ok(());
    }
    Err(crate::StateError::NotConnected {
        location: zk.session.location(),
        reason: format!("the session did not expire within {limit:?} of the link being cut"),
    })
}
