//! `export`/`import`: copying a service's state between redb, ZooKeeper and memory.

use std::sync::Arc;
use std::time::Duration;

use stead_proto::v1::{FrameworkId, TaskId, TaskInfo};
use stead_state::testing::shared_zk_server;
use stead_state::zk::{ZkOptions, ZkUrl};
use stead_state::{
    FrameworkStore, ImportMode, MemPersister, Persister, RedbPersister, StateDump, StateError,
    StateStore, ZkPersister, export, import,
};

fn populate(p: Arc<dyn Persister>) {
    FrameworkStore::new(p.clone())
        .store_framework_id(&FrameworkId {
            value: "fw-1".into(),
        })
        .unwrap();
    let tasks: Vec<TaskInfo> = (0..50)
        .map(|i| TaskInfo {
            name: format!("data-{i}"),
            task_id: TaskId {
                value: format!("data-{i}__1"),
            },
            ..Default::default()
        })
        .collect();
    let store = StateStore::new(p.clone());
    store.store_tasks(&tasks).unwrap();
    store.store_property("deploy-complete", b"true").unwrap();
    p.set("Configurations/abc", br#"{"name":"data-store"}"#)
        .unwrap();
    p.set("ConfigTarget", b"abc").unwrap();
    p.set("Binary", &[0u8, 255, 1, 254]).unwrap();
}

#[test]
fn round_trip_through_json_between_local_backends() {
    let dir = tempfile::tempdir().unwrap();
    let redb: Arc<dyn Persister> =
        Arc::new(RedbPersister::open(dir.path().join("s.redb")).unwrap());
    populate(redb.clone());
    let dump = export(&*redb).unwrap();
    assert_eq!(dump.nodes[0].path, "Binary");
    assert!(dump.nodes.iter().any(|n| n.path == "Tasks/data-7/TaskInfo"));
    // Parents come before their children.
    let tasks = dump.nodes.iter().position(|n| n.path == "Tasks").unwrap();
    let child = dump
        .nodes
        .iter()
        .position(|n| n.path == "Tasks/data-0")
        .unwrap();
    assert!(tasks < child);

    let json = serde_json::to_string(&dump).unwrap();
    assert!(
        json.contains(r#""value":"AP8B/g==""#),
        "binary values are base64"
    );
    let back: StateDump = serde_json::from_str(&json).unwrap();
    assert_eq!(back, dump);

    let mem = MemPersister::new();
    assert_eq!(
        import(&mem, &back, ImportMode::RequireEmpty).unwrap(),
        dump.nodes.len()
    );
    assert_eq!(export(&mem).unwrap(), dump);
    let err = import(&mem, &back, ImportMode::RequireEmpty).unwrap_err();
    assert!(matches!(err, StateError::NotEmpty { .. }), "{err}");
    mem.set("Stale/node", b"x").unwrap();
    import(&mem, &back, ImportMode::Replace).unwrap();
    assert_eq!(export(&mem).unwrap(), dump);

    let mut bad = dump.clone();
    bad.format = "something-else".into();
    assert!(import(&MemPersister::new(), &bad, ImportMode::Replace).is_err());
}

#[test]
fn redb_to_zookeeper_and_back() {
    let Some(server) = shared_zk_server("dump to ZooKeeper") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let redb: Arc<dyn Persister> =
        Arc::new(RedbPersister::open(dir.path().join("s.redb")).unwrap());
    populate(redb.clone());
    let dump = export(&*redb).unwrap();

    let url = ZkUrl::parse(&server.url("")).unwrap();
    let root = format!("/stead-test/dump-{}", std::process::id());
    let options = ZkOptions {
        session_timeout: Duration::from_secs(10),
        ..ZkOptions::default()
    };
    let zk = ZkPersister::connect_with(&url, &root, options).unwrap();
    zk.set("Old/stuff", b"x").unwrap();
    import(&zk, &dump, ImportMode::Replace).unwrap();
    assert_eq!(export(&zk).unwrap(), dump);
    let store = StateStore::new(Arc::new(zk.clone()));
    assert_eq!(store.task_names().unwrap().len(), 50);

    let dir2 = tempfile::tempdir().unwrap();
    let copy = RedbPersister::open(dir2.path().join("copy.redb")).unwrap();
    import(&copy, &export(&zk).unwrap(), ImportMode::RequireEmpty).unwrap();
    assert_eq!(export(&copy).unwrap(), dump);
}
