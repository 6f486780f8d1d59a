//! The original design's data-store service written with the DSL, and the
//! canonical spec it builds.

use stead::prelude::*;
use stead::spec::{Commands, GoalState, PlacementRule};

task_type! {
    /// Meta-data nodes hold the cluster map.
    MetaData {
        name: "meta-data",
        count: 2,
        command: "./meta-data {{index}}",
        uris: ["http://storage/meta-data.zip"],
        cpus: 1.0,
        mem: 512 MiB,
        volume: root(5000 MiB, "meta-data-container-path"),
        placement: "hostname:UNIQUE",
    }

    /// Data nodes store the data.
    Data {
        name: "data",
        count: 3,
        command: "./data",
        uris: ["http://storage/data.zip"],
        cpus: 1.0,
        mem: 1024 MiB,
        volume: root(10 GiB, "data-path"),
    }
}

#[service(name = "data-store")]
struct DataStore {
    meta_data: MetaData,
    data: Data,
}

task_type! {
    Web {
        name: "web",
        count: 1,
        command: "./web --port $PORT_HTTP --id {{instance}}",
        uris: [{ uri: "https://example.com/web.sh", extract: false, executable: true }],
        env: { MODE: "{{name}}" },
        cpus: 0.5,
        mem: 1.5 GiB,
        disk: 100 MB,
        ports: [http = 0, admin = 8081],
        placement: ["hostname:MAX_PER:2", "zone:GROUP_BY"],
        health_check: { command: "curl -f localhost:$PORT_HTTP", interval: 10s, timeout: 2500ms, max_failures: 5 },
        readiness_check: { command: "test -f ready", interval: 1s },
        goal: RUNNING,
        allow_decommission: true,
        kill_grace_period: 1.5s,
    }
}

#[service(name = "web-app", role = "web", principal = "web-user")]
struct WebApp {
    web: Web,
}

#[test]
fn data_store_builds_the_canonical_spec() {
    let spec = build_spec(&DataStore::default()).unwrap();
    assert_eq!(spec.name, "data-store");
    assert_eq!(DataStore::NAME, "data-store");
    assert_eq!(
        (spec.role.as_str(), spec.principal.as_str()),
        ("data-store-role", "data-store-principal")
    );
    let names: Vec<&str> = spec.task_types.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["meta-data", "data"]);

    let meta = &spec.task_types[0];
    assert_eq!(meta.count, 2);
    assert!(matches!(&meta.command, Commands::Template(c) if c.value == "./meta-data {{index}}"));
    assert_eq!(meta.render_command(1).unwrap().value, "./meta-data 1");
    assert_eq!(
        meta.render_command(0).unwrap().uris[0].value,
        "http://storage/meta-data.zip"
    );
    assert_eq!((meta.cpus(), meta.mem()), (1.0, 512.0));
    assert_eq!(meta.volumes.len(), 1);
    assert_eq!(meta.volumes[0].size_mib, 5000);
    assert_eq!(meta.volumes[0].kind, VolumeType::Root);
    assert_eq!(meta.volumes[0].role, "data-store-role");
    assert_eq!(
        meta.placement,
        vec![PlacementRule::Unique {
            field: "hostname".into()
        }]
    );
    assert_eq!(meta.goal, GoalState::Running);

    let data = &spec.task_types[1];
    assert_eq!(data.count, 3);
    assert_eq!(data.mem(), 1024.0);
    assert_eq!(data.volumes[0].size_mib, 10240);
    assert_eq!(data.volumes[0].container_path, "data-path");

    // The trait impls behave like hand-written ones.
    assert_eq!(MetaData::NAME, "meta-data");
    assert_eq!(MetaData.command(1).value.as_deref(), Some("./meta-data 1"));
    assert_eq!(build_spec(&DataStore::default()).unwrap().id(), spec.id());
}

#[test]
fn every_dsl_key_reaches_the_canonical_spec() {
    let spec = build_spec(&WebApp::default()).unwrap();
    assert_eq!(
        (spec.role.as_str(), spec.principal.as_str()),
        ("web", "web-user")
    );
    let web = &spec.task_types[0];
    let command = web.render_command(0).unwrap();
    assert_eq!(command.value, "./web --port $PORT_HTTP --id web-0");
    assert_eq!(command.env["MODE"], "web");
    assert!(command.uris[0].executable && !command.uris[0].extract);
    assert_eq!(web.cpus(), 0.5);
    assert_eq!(web.mem(), 1536.0);
    assert!((web.disk() - 95.367_431_640_625).abs() < 1e-9);
    assert_eq!(web.resources[0].role, "web");
    let ports: Vec<(&str, u16)> = web
        .ports
        .iter()
        .map(|p| (p.name.as_str(), p.port))
        .collect();
    assert_eq!(ports, [("admin", 8081), ("http", 0)]);
    assert_eq!(web.placement.len(), 2);
    let health = web.health_check.as_ref().unwrap();
    assert_eq!(health.timeout, std::time::Duration::from_millis(2500));
    assert_eq!(health.max_consecutive_failures, 5);
    assert_eq!(
        web.readiness_check.as_ref().unwrap().interval,
        std::time::Duration::from_secs(1)
    );
    assert!(web.allow_decommission);
    assert_eq!(
        web.kill_grace_period,
        Some(std::time::Duration::from_millis(1500))
    );
}

#[test]
fn overrides_apply_to_dsl_specs() {
    let spec = DataStore::default();
    let env = [("STEAD_DATA_COUNT", "5"), ("STEAD_META_DATA_CPUS", "2")];
    let canonical = build_spec(&spec).unwrap();
    let overrides = stead::spec::overrides_from_env(env, &canonical).unwrap();
    let changed = stead::spec::build_spec_with(&spec, &overrides).unwrap();
    assert_eq!(changed.task_type("data").unwrap().count, 5);
    assert_eq!(changed.task_type("meta-data").unwrap().cpus(), 2.0);
    assert_ne!(changed.id(), canonical.id());
    canonical.validate_update(&changed).unwrap();
}
