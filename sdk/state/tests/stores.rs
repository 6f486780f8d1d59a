//! The stores (framework, tasks, configurations, properties) over every local backend.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use stead_proto::v1::{AgentId, FrameworkId, TaskId, TaskInfo, TaskState, TaskStatus};
use stead_state::{
    ConfigStore, FrameworkStore, GoalOverride, MemPersister, Persister, RedbPersister, StateError,
    StateStore, TaskMeta,
};

fn backends() -> Vec<(Arc<dyn Persister>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let redb = RedbPersister::open(dir.path().join("state.redb")).unwrap();
    vec![
        (Arc::new(MemPersister::new()), None),
        (Arc::new(redb), Some(dir)),
    ]
}

fn task(name: &str, launch: u32) -> TaskInfo {
    TaskInfo {
        name: name.to_owned(),
        task_id: TaskId {
            value: format!("{name}__{launch}"),
        },
        agent_id: AgentId {
            value: "agent-1".to_owned(),
        },
        ..Default::default()
    }
}

fn status(name: &str, state: TaskState) -> TaskStatus {
    TaskStatus {
        task_id: TaskId {
            value: format!("{name}__1"),
        },
        state: state as i32,
        message: Some("ok".to_owned()),
        ..Default::default()
    }
}

#[test]
fn framework_id_round_trip() {
    for (p, _guard) in backends() {
        let store = FrameworkStore::new(p);
        assert_eq!(store.fetch_framework_id().unwrap(), None);
        store.clear_framework_id().unwrap();
        let id = FrameworkId {
            value: "fw-1234-0001".to_owned(),
        };
        store.store_framework_id(&id).unwrap();
        assert_eq!(store.fetch_framework_id().unwrap(), Some(id));
        store.clear_framework_id().unwrap();
        assert_eq!(store.fetch_framework_id().unwrap(), None);
    }
}

#[test]
fn tasks_statuses_and_deletion() {
    for (p, _guard) in backends() {
        let store = StateStore::new(p.clone());
        assert!(store.fetch_tasks().unwrap().is_empty());
        let infos: Vec<TaskInfo> = (0..500).map(|i| task(&format!("data-{i}"), 1)).collect();
        store.store_tasks(&infos).unwrap();
        assert_eq!(store.task_names().unwrap().len(), 500);
        assert_eq!(
            store.fetch_task("data-42").unwrap(),
            Some(infos[42].clone())
        );
        assert_eq!(store.fetch_task("nope").unwrap(), None);
        let all = store.fetch_tasks().unwrap();
        assert_eq!(all.len(), 500);
        // Sorted by name.
        assert_eq!(all[0].name, "data-0");
        assert_eq!(all[1].name, "data-1");
        assert_eq!(all[2].name, "data-10");

        store
            .store_status("data-0", &status("data-0", TaskState::TaskRunning))
            .unwrap();
        let batch: Vec<(String, TaskStatus)> = (1..4)
            .map(|i| {
                let name = format!("data-{i}");
                let st = status(&name, TaskState::TaskFailed);
                (name, st)
            })
            .collect();
        store
            .store_statuses(batch.iter().map(|(n, s)| (n.as_str(), s)))
            .unwrap();
        assert_eq!(
            store.fetch_status("data-0").unwrap().unwrap().state,
            TaskState::TaskRunning as i32
        );
        let statuses = store.fetch_statuses().unwrap();
        assert_eq!(statuses.len(), 4);
        assert_eq!(statuses[1].0, "data-1");
        assert_eq!(statuses[1].1.state, TaskState::TaskFailed as i32);

        store.delete_task("data-0").unwrap();
        store.delete_task("data-0").unwrap();
        assert_eq!(store.fetch_task("data-0").unwrap(), None);
        assert_eq!(store.fetch_status("data-0").unwrap(), None);
        assert_eq!(store.task_names().unwrap().len(), 499);

        // Names are single path segments.
        assert!(matches!(
            store.fetch_task("a/b"),
            Err(StateError::InvalidPath { .. })
        ));
        assert!(store.store_tasks(&[task("x/y", 1)]).is_err());

        // A corrupt value is an error naming the path, not a panic.
        p.set("Tasks/data-1/TaskInfo", b"\xff\xff\xff").unwrap();
        let err = store.fetch_task("data-1").unwrap_err();
        assert!(err.to_string().contains("Tasks/data-1/TaskInfo"), "{err}");
    }
}

#[test]
fn records_of_many_tasks_are_read_at_once() {
    for (p, _guard) in backends() {
        let store = StateStore::new(p.clone());
        let infos: Vec<TaskInfo> = (0..300).map(|i| task(&format!("data-{i}"), 1)).collect();
        store.store_tasks(&infos).unwrap();
        store
            .store_status("data-1", &status("data-1", TaskState::TaskRunning))
            .unwrap();
        let meta = TaskMeta {
            launch_count: 3,
            ..TaskMeta::default()
        };
        store.store_task_meta("data-2", &meta).unwrap();
        let names: Vec<String> = ["data-2", "data-1", "gone", "data-299"]
            .map(String::from)
            .into();
        let records = store.fetch_records(&names).unwrap();
        assert_eq!(records.len(), 4);
        assert_eq!(records[0].meta.as_ref(), Some(&meta));
        assert_eq!(records[0].status, None);
        assert_eq!(
            records[1].status.as_ref().map(|s| s.state),
            Some(TaskState::TaskRunning as i32)
        );
        assert_eq!(records[2], stead_state::TaskRecord::default());
        let (info, encoded) = records[3].info.clone().unwrap();
        assert_eq!(info, infos[299]);
        assert_eq!(
            Some(encoded),
            p.get("Tasks/data-299/TaskInfo").unwrap(),
            "the encoding as stored"
        );
        // A corrupt record is an error naming its path.
        p.set("Tasks/data-1/TaskStatus", b"\xff\xff").unwrap();
        let err = store.fetch_records(&names).unwrap_err();
        assert!(err.to_string().contains("Tasks/data-1/TaskStatus"), "{err}");
    }
}

#[test]
fn batch_is_atomic_and_meta_round_trips() {
    for (p, _guard) in backends() {
        let store = StateStore::new(p);
        let mut meta = TaskMeta {
            goal_override: Some(GoalOverride::PermanentlyFailed),
            launch_count: 3,
            last_launch_ms: Some(1_700_000_000_000),
            consecutive_failures: 2,
            backoff_until_ms: Some(1_700_000_010_000),
            agent_id: Some("agent-1".into()),
            hostname: Some("agent-1.local".into()),
            attributes: [("zone".to_string(), "b".to_string())].into(),
            reserved: true,
            extra: BTreeMap::new(),
        };
        meta.extra
            .insert("note".into(), serde_json::json!({"k": 1}));
        let mut batch = store.batch();
        batch
            .task(&task("meta-data-0", 3))
            .unwrap()
            .meta("meta-data-0", &meta)
            .unwrap()
            .status(
                "meta-data-0",
                &status("meta-data-0", TaskState::TaskStaging),
            )
            .unwrap()
            .property("deploy-complete", b"false")
            .unwrap();
        assert_eq!(batch.len(), 4);
        batch.commit().unwrap();
        assert_eq!(store.fetch_task_meta("meta-data-0").unwrap(), Some(meta));
        assert_eq!(store.fetch_task_meta("other").unwrap(), None);
        assert!(store.fetch_task("meta-data-0").unwrap().is_some());
        assert_eq!(
            store.fetch_property("deploy-complete").unwrap().as_deref(),
            Some(&b"false"[..])
        );

        // The JSON form is stable and readable.
        let raw = store
            .persister()
            .get("Tasks/meta-data-0/Meta")
            .unwrap()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(json["goal_override"], "PERMANENTLY_FAILED");
        assert_eq!(json["launch_count"], 3);
        assert_eq!(json["note"]["k"], 1);
        // Old or partial records decode with defaults.
        store
            .persister()
            .set("Tasks/old-0/Meta", br#"{"launch_count": 7}"#)
            .unwrap();
        let old = store.fetch_task_meta("old-0").unwrap().unwrap();
        assert_eq!(old.launch_count, 7);
        assert_eq!(old.goal_override, None);
    }
}

#[test]
fn properties() {
    for (p, _guard) in backends() {
        let store = StateStore::new(p);
        assert_eq!(store.fetch_property("uninstall").unwrap(), None);
        store.delete_property("uninstall").unwrap();
        store.store_property("uninstall", b"true").unwrap();
        store.store_property("deploy-complete", b"").unwrap();
        assert_eq!(
            store.property_keys().unwrap(),
            vec!["deploy-complete", "uninstall"]
        );
        assert_eq!(
            store.fetch_property("uninstall").unwrap().as_deref(),
            Some(&b"true"[..])
        );
        store.delete_property("uninstall").unwrap();
        assert_eq!(store.property_keys().unwrap(), vec!["deploy-complete"]);
        assert!(store.store_property("a/b", b"x").is_err());
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Spec {
    name: String,
    count: u32,
}

#[test]
fn configurations_target_and_cleanup() {
    for (p, _guard) in backends() {
        let configs: ConfigStore<Spec> = ConfigStore::new(p);
        assert_eq!(configs.target().unwrap(), None);
        assert!(configs.fetch_target().unwrap().is_none());
        let v1 = Spec {
            name: "data-store".into(),
            count: 3,
        };
        let v2 = Spec {
            name: "data-store".into(),
            count: 4,
        };
        configs.store("id-1", &v1).unwrap();
        assert!(configs.set_target("missing").unwrap_err().is_not_found());
        configs.set_target("id-1").unwrap();
        assert_eq!(
            configs.fetch_target().unwrap(),
            Some(("id-1".into(), v1.clone()))
        );
        configs.store_target("id-2", &v2).unwrap();
        configs.store("id-3", &v1).unwrap();
        configs.store("id-4", &v1).unwrap();
        assert_eq!(configs.target().unwrap().as_deref(), Some("id-2"));
        assert_eq!(
            configs.list().unwrap(),
            vec!["id-1", "id-2", "id-3", "id-4"]
        );
        assert_eq!(configs.fetch("id-2").unwrap(), Some(v2.clone()));
        assert_eq!(configs.fetch("zzz").unwrap(), None);

        // id-3 is used by a running task; the target is always kept.
        let deleted = configs.retain(["id-3"]).unwrap();
        assert_eq!(deleted, vec!["id-1", "id-4"]);
        assert_eq!(configs.list().unwrap(), vec!["id-2", "id-3"]);
        configs.delete("id-3").unwrap();
        configs.delete("id-3").unwrap();
        assert_eq!(configs.list().unwrap(), vec!["id-2"]);
        assert!(configs.store("bad/id", &v1).is_err());
    }
}

#[test]
fn redb_state_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.redb");
    {
        let p: Arc<dyn Persister> = Arc::new(RedbPersister::open(&file).unwrap());
        FrameworkStore::new(p.clone())
            .store_framework_id(&FrameworkId { value: "fw".into() })
            .unwrap();
        StateStore::new(p)
            .store_tasks(&[task("data-0", 1)])
            .unwrap();
    }
    let p: Arc<dyn Persister> = Arc::new(RedbPersister::open(&file).unwrap());
    assert_eq!(
        FrameworkStore::new(p.clone())
            .fetch_framework_id()
            .unwrap()
            .unwrap()
            .value,
        "fw"
    );
    assert_eq!(StateStore::new(p).task_names().unwrap(), vec!["data-0"]);
}

#[test]
fn a_meta_record_with_its_placement_in_untyped_fields_reads_into_the_typed_ones() {
    for (p, _guard) in backends() {
        let record = br#"{"launch_count":2,"agent_id":"a-S1","hostname":"h1","attributes":{"zone":"c"},"reserved":true,"note":7}"#;
        p.multi(&[stead_state::Op::set("Tasks/old-0/Meta", record.to_vec())])
            .unwrap();
        let meta = StateStore::new(p)
            .fetch_task_meta("old-0")
            .unwrap()
            .unwrap();
        assert_eq!(meta.launch_count, 2);
        assert_eq!(meta.agent_id.as_deref(), Some("a-S1"));
        assert_eq!(meta.hostname.as_deref(), Some("h1"));
        assert_eq!(meta.attributes.get("zone").map(String::as_str), Some("c"));
        assert!(meta.reserved);
        assert_eq!(meta.extra.get("note"), Some(&serde_json::json!(7)));
    }
}

#[test]
fn a_write_after_a_delete_in_one_batch_makes_its_parents_again() {
    use stead_state::Op;
    for (p, _guard) in backends() {
        p.multi(&[
            Op::set("a/b/c", b"1".to_vec()),
            Op::delete("a"),
            Op::set("a/b/d", b"2".to_vec()),
        ])
        .unwrap();
        assert_eq!(p.children("a").unwrap(), ["b"]);
        assert_eq!(p.children("a/b").unwrap(), ["d"]);
        assert_eq!(p.get("a/b/d").unwrap().as_deref(), Some(&b"2"[..]));
    }
}
