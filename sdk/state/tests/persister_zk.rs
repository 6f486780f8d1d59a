//! The Persister suite against a real ZooKeeper, plus ZooKeeper-specific behaviour: ACLs,
//! size limits, session loss, the service lock, master detection.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use stead_state::testing::{ZkLink, ZkServer, expire_session, shared_zk_server};
use stead_state::zk::{ZkOptions, ZkUrl};
use stead_state::{Op, Persister, SessionState, StateError, ZkLock, ZkPersister};

static ROOTS: AtomicUsize = AtomicUsize::new(0);

fn unique_root(tag: &str) -> String {
    format!(
        "/stead-test/{tag}-{}-{}",
        std::process::id(),
        ROOTS.fetch_add(1, Ordering::Relaxed)
    )
}

fn connect(server: &ZkServer, url_path: &str, root: &str, timeout: Duration) -> ZkPersister {
    connect_url(&server.url(url_path), root, timeout)
}

fn connect_url(url: &str, root: &str, timeout: Duration) -> ZkPersister {
    let url = ZkUrl::parse(url).unwrap();
    let options = ZkOptions {
        session_timeout: timeout,
        ..ZkOptions::default()
    };
    ZkPersister::connect_with(&url, root, options).expect("connect to ZooKeeper")
}

fn fresh() -> Option<(Box<dyn Persister>, Arc<ZkServer>)> {
    let server = shared_zk_server("zk persister suite")?;
    let p = connect(&server, "", &unique_root("suite"), Duration::from_secs(10));
    Some((Box::new(p), server))
}

persister_suite!(fresh);

/// Waits for `cond`, failing after a generous timeout.
fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_state(p: &ZkPersister, want: SessionState) {
    let rx = p.session_state();
    wait_until(
        &format!("session {want:?}"),
        Duration::from_secs(60),
        || *rx.borrow() == want,
    );
}

#[test]
fn default_root_is_per_service_and_url_path_wins() {
    let Some(server) = shared_zk_server("default_root") else {
        return;
    };
    let p = ZkPersister::connect(&server.url(""), "data-store").unwrap();
    assert_eq!(p.root(), "/stead/data-store");
    assert!(
        p.location().ends_with("/stead/data-store"),
        "{}",
        p.location()
    );
    p.set("FrameworkID", b"x").unwrap();
    let root = unique_root("explicit");
    let q = ZkPersister::connect(&server.url(&root), "ignored").unwrap();
    assert_eq!(q.root(), root);
    assert_eq!(q.get("FrameworkID").unwrap(), None);
    assert!(ZkPersister::connect("zk://127.0.0.1:1/x", "bad/name").is_err());
}

#[test]
fn digest_auth_keeps_other_users_out() {
    let Some(server) = shared_zk_server("digest_auth") else {
        return;
    };
    let root = unique_root("secured");
    let owner_url = server.url(&root).replacen("zk://", "zk://svc:s3cret@", 1);
    let owner = ZkPersister::connect(&owner_url, "svc").unwrap();
    owner.set("Tasks/data-0/TaskInfo", b"secret").unwrap();
    assert_eq!(
        owner.get("Tasks/data-0/TaskInfo").unwrap().as_deref(),
        Some(&b"secret"[..])
    );
    assert!(!owner.location().contains("s3cret"));

    // No credentials: cannot even open the state.
    let err = ZkPersister::connect(&server.url(&root), "svc").unwrap_err();
    assert!(matches!(err, StateError::Denied { .. }), "{err}");
    // Wrong password: same.
    let wrong = server.url(&root).replacen("zk://", "zk://svc:guess@", 1);
    let err = ZkPersister::connect(&wrong, "svc").unwrap_err();
    assert!(err.to_string().contains("denied"), "{err}");
    // Another user of the ensemble cannot read or change any node below the root either.
    let other = connect(&server, "", &unique_root("other"), Duration::from_secs(10));
    let _ = other; // its own root works; the secured one stays closed:
    let outsider = zookeeper_probe(&server, &format!("{root}/Tasks/data-0/TaskInfo"));
    assert!(outsider.contains("not authorized"), "{outsider}");
}

/// Reads a znode as an unauthenticated client, returning the error text or the data.
fn zookeeper_probe(server: &ZkServer, znode: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = zookeeper_client::Client::connect(&server.connect_string())
            .await
            .unwrap();
        let read = match client.get_data(znode).await {
            Ok((data, _)) => String::from_utf8_lossy(&data).into_owned(),
            Err(e) => e.to_string(),
        };
        let write = match client.set_data(znode, b"hacked", None).await {
            Ok(_) => "written".to_owned(),
            Err(e) => e.to_string(),
        };
        format!("read: {read}; write: {write}")
    })
}

#[test]
fn values_over_the_limit_are_refused_and_big_batches_are_split() {
    let Some(server) = shared_zk_server("limits") else {
        return;
    };
    let p = connect(&server, "", &unique_root("limits"), Duration::from_secs(10));
    let err = p.set("big", &vec![0u8; 1_100_000]).unwrap_err();
    assert!(matches!(err, StateError::TooLarge { .. }), "{err}");
    assert_eq!(p.get("big").unwrap(), None);
    // 2,000 values of 2 KB: about 4 MB, far over one request.
    let ops: Vec<Op> = (0..2000)
        .map(|i| {
            Op::set(
                format!("Tasks/t-{i:04}/TaskInfo"),
                vec![(i % 256) as u8; 2048],
            )
        })
        .collect();
    p.multi(&ops).unwrap();
    assert_eq!(p.children("Tasks").unwrap().len(), 2000);
    assert_eq!(
        p.get("Tasks/t-1999/TaskInfo").unwrap(),
        Some(vec![(1999 % 256) as u8; 2048])
    );
    // Updating them all again goes through set-data.
    let ops: Vec<Op> = (0..2000)
        .map(|i| Op::set(format!("Tasks/t-{i:04}/TaskInfo"), vec![1u8; 2048]))
        .collect();
    p.multi(&ops).unwrap();
    assert_eq!(
        p.get("Tasks/t-0007/TaskInfo").unwrap(),
        Some(vec![1u8; 2048])
    );
    p.delete("Tasks").unwrap();
    assert!(p.children("").unwrap().is_empty());
}

#[test]
fn session_loss_pauses_and_recovers() {
    let Some(mut server) = ZkServer::start_or_skip("session_loss") else {
        return;
    };
    let p = connect(&server, "", "/stead/session", Duration::from_secs(20));
    p.set("FrameworkID", b"fw").unwrap();
    assert!(p.is_ready());

    server.stop();
    wait_state(&p, SessionState::Disconnected);
    assert!(!p.is_ready());
    let err = p.get("FrameworkID").unwrap_err();
    assert!(matches!(err, StateError::NotConnected { .. }), "{err}");
    let err = p.set("FrameworkID", b"other").unwrap_err();
    assert!(matches!(err, StateError::NotConnected { .. }), "{err}");

    server.restart().unwrap();
    wait_state(&p, SessionState::Connected);
    assert!(p.is_ready());
    assert_eq!(p.get("FrameworkID").unwrap().as_deref(), Some(&b"fw"[..]));
}

#[test]
fn expired_session_is_terminal() {
    let Some(server) = shared_zk_server("expired_session") else {
        return;
    };
    let link = ZkLink::open(&server).unwrap();
    let p = connect_url(
        &link.url(""),
        &unique_root("expire"),
        Duration::from_secs(2),
    );
    p.set("x", b"1").unwrap();
    expire_session(&p, &link).unwrap();
    wait_state(&p, SessionState::Expired);
    assert!(!p.is_ready());
    let err = p.get("x").unwrap_err();
    assert!(matches!(err, StateError::NotConnected { .. }), "{err}");
}

#[test]
fn one_scheduler_per_service() {
    let Some(server) = shared_zk_server("lock") else {
        return;
    };
    let root = unique_root("lock");
    let first = connect(&server, "", &root, Duration::from_secs(10));
    let link = ZkLink::open(&server).unwrap();
    let second = connect_url(&link.url(""), &root, Duration::from_secs(2));
    let third = connect(&server, "", &root, Duration::from_secs(10));

    let lock = first.lock(false).unwrap();
    let err = ZkLock::acquire(&second, false).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StateError::InUse { .. }), "{msg}");
    assert!(
        msg.contains(&format!(
            "is in use by another scheduler (pid {}",
            std::process::id()
        )),
        "{msg}"
    );
    assert!(msg.contains(&root), "{msg}");
    // The lock is not part of the state.
    assert!(first.children("").unwrap().is_empty());

    // A waiting scheduler takes over when the holder releases the lock...
    let waiter = std::thread::spawn(move || {
        let lock = ZkLock::acquire(&second, true).unwrap();
        (second, lock)
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(!waiter.is_finished(), "the lock was granted twice");
    lock.release().unwrap();
    let (second, second_lock) = waiter.join().unwrap();

    // ...and when the holder dies (its session ends).
    let waiter = std::thread::spawn(move || ZkLock::acquire(&third, true).map(|l| (third, l)));
    std::thread::sleep(Duration::from_millis(300));
    assert!(!waiter.is_finished(), "the lock was granted twice");
    expire_session(&second, &link).unwrap();
    let (third, _third_lock) = waiter.join().unwrap().unwrap();
    drop(second_lock);
    assert!(ZkLock::acquire(&first, false).is_err());
    drop(third);
}

#[test]
fn master_detection_follows_the_leader() {
    let Some(server) = shared_zk_server("master detection") else {
        return;
    };
    let root = unique_root("mesos");
    let masters = connect(&server, "", &root, Duration::from_secs(10));
    let info = |id: &str, port: u32| {
        format!(
            r#"{{"id":"{id}","ip":16777343,"port":{port},"pid":"master@127.0.0.1:{port}",
               "hostname":"localhost","address":{{"hostname":"localhost","ip":"127.0.0.1","port":{port}}}}}"#
        )
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let url = server.url(&root);
    let mut rx = rt
        .block_on(stead_state::zk::master::detect_master(&url))
        .unwrap();
    let mut wait_for = |want: Option<&str>| {
        let want = want.map(str::to_owned);
        rt.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(60),
                rx.wait_for(|m| m.as_ref().and_then(|m| m.url()) == want),
            )
            .await
            .unwrap_or_else(|_| panic!("leader never became {want:?}"))
            .map(|_| ())
            .unwrap();
        });
    };
    wait_for(None);
    masters
        .set("json.info_0000000005", info("m5", 5055).as_bytes())
        .unwrap();
    masters.set("log_replicas", b"").unwrap();
    wait_for(Some("http://localhost:5055"));
    masters
        .set("json.info_0000000002", info("m2", 5052).as_bytes())
        .unwrap();
    wait_for(Some("http://localhost:5052"));
    masters.delete("json.info_0000000002").unwrap();
    wait_for(Some("http://localhost:5055"));
    masters.delete("").unwrap();
    wait_for(None);
}

#[test]
fn unreachable_ensemble_fails_with_not_connected() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = ZkUrl::parse(&format!("zk://127.0.0.1:{port}")).unwrap();
    let options = ZkOptions {
        session_timeout: Duration::from_secs(2),
        ..ZkOptions::default()
    };
    let err = ZkPersister::connect_with(&url, "/stead/nowhere", options).unwrap_err();
    assert!(matches!(err, StateError::NotConnected { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}
