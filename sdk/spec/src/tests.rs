//! Whole-spec tests: validation, canonical ids, overrides and updates.

use crate::*;
use std::time::Duration;

fn task(
    spec: &ServiceSpec,
    name: &str,
    count: u32,
    command: &str,
    cpus: f64,
    mem: f64,
) -> TaskTypeSpec {
    let mut command = CommandSpec::new(command);
    command
        .uris
        .push(UriSpec::new(format!("http://storage/{name}.zip")));
    let mut t = TaskTypeSpec::new(name, count, command);
    t.set_resource("cpus", cpus, &spec.role, &spec.principal);
    t.set_resource("mem", mem, &spec.role, &spec.principal);
    t
}

fn volume(spec: &ServiceSpec, size_mib: u64, path: &str) -> VolumeSpec {
    VolumeSpec {
        size_mib,
        kind: VolumeType::Root,
        container_path: path.into(),
        role: spec.role.clone(),
        principal: spec.principal.clone(),
    }
}

/// The seed's data-store: 2 meta-data nodes and 3 data nodes.
fn data_store() -> ServiceSpec {
    let mut s = ServiceSpec::new("data-store");
    let mut meta = task(&s, "meta-data", 2, "./meta-data {{index}}", 1.0, 512.0);
    meta.volumes
        .push(volume(&s, 5000, "meta-data-container-path"));
    meta.placement = PlacementRule::parse_all("hostname:UNIQUE").unwrap();
    let mut data = task(&s, "data", 3, "./data", 1.0, 1024.0);
    data.volumes.push(volume(&s, 10240, "data-path"));
    s.task_types = vec![meta, data];
    s
}

fn messages(r: Result<(), SpecErrors>) -> Vec<String> {
    r.unwrap_err().into_iter().map(|e| e.to_string()).collect()
}

#[test]
fn valid_spec_passes_and_defaults_roles() {
    let s = data_store();
    assert_eq!(s.role, "data-store-role");
    assert_eq!(s.principal, "data-store-principal");
    s.validate().unwrap();
    let meta = s.task_type("meta-data").unwrap();
    assert_eq!(meta.render_command(1).unwrap().value, "./meta-data 1");
    assert_eq!(meta.instance_name(1), "meta-data-1");
    assert_eq!(meta.cpus(), 1.0);
    assert_eq!(meta.mem(), 512.0);
    assert_eq!(meta.disk(), 0.0);
}

#[test]
fn collects_every_error_with_its_location() {
    let mut s = data_store();
    s.task_types[0].count = 0;
    s.task_types[0].resources[0].value = 0.0;
    let (v1, v2) = (volume(&s, 0, "/abs"), volume(&s, 1, "./data-path/"));
    s.task_types[1].volumes.extend([v1, v2]);
    s.task_types[1].command = Commands::Template(CommandSpec::new(" "));
    let errors = messages(s.validate());
    assert_eq!(
        errors,
        vec![
            "task type `meta-data`: count must be at least 1, got 0 (remove the task type instead)",
            "task type `meta-data`: cpus must be a finite number greater than 0, got 0",
            "task type `data`: command must not be empty",
            "task type `data`: volume size must be greater than 0",
            "task type `data`: volume container path `/abs` must be relative to the sandbox (no leading `/`)",
            "task type `data`: duplicate volume path `./data-path/`",
        ]
    );
}

#[test]
fn service_level_rules() {
    let mut s = data_store();
    s.name = "Data_Store".into();
    let dup = s.task_types[1].clone();
    s.task_types.push(dup);
    let errors = messages(s.validate());
    assert!(
        errors[0].starts_with("service `Data_Store`: service name `Data_Store` contains `D`"),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e == "service `Data_Store`: duplicate task type name `data`"),
        "{errors:?}"
    );
    // Roles are explicit in the spec, so renaming reports only the name itself.
    assert_eq!(errors.len(), 2, "{errors:?}");

    let empty = ServiceSpec::new("empty");
    assert_eq!(
        messages(empty.validate()),
        vec!["service `empty`: a service needs at least one task type"]
    );
}

#[test]
fn task_level_rules() {
    let mut s = data_store();
    let t = &mut s.task_types[1];
    t.resources.retain(|r| r.name != "mem");
    t.resources[0].role = "other".into();
    t.ports = vec![
        PortSpec {
            name: "http".into(),
            port: 0,
        },
        PortSpec {
            name: "HTTP".into(),
            port: 0,
        },
        PortSpec {
            name: "admin".into(),
            port: 8081,
        },
        PortSpec {
            name: "debug".into(),
            port: 8081,
        },
        PortSpec {
            name: "9x".into(),
            port: 1,
        },
    ];
    t.placement = vec![PlacementRule::MaxPer {
        field: "hostname".into(),
        max: 0,
    }];
    let mut check = CheckSpec::new("curl localhost");
    check.interval = Duration::ZERO;
    check.max_consecutive_failures = 0;
    t.health_check = Some(check);
    t.readiness_check = Some(CheckSpec::new(""));
    t.kill_grace_period = Some(Duration::ZERO);
    if let Commands::Template(c) = &mut t.command {
        c.uris.push(UriSpec::new("ftp://x/y"));
        c.env.insert("A=B".into(), "{{port}}".into());
    }
    let errors = messages(s.validate());
    let expected = [
        "task type `data`: URI `ftp://x/y` has unsupported scheme `ftp`; expected http, https or file",
        "task type `data`: environment variable name `A=B` must be non-empty and contain no `=`",
        "task type `data`: environment variable `A=B` uses unknown placeholder `{{port}}`; known placeholders are {{index}}, {{name}}, {{instance}}, {{address}} and {{hostname}}",
        "task type `data`: resource `cpus` is reserved for role `other` but the service registers with role `data-store-role`",
        "task type `data`: `mem` is missing; every task type declares cpus and mem",
        "task type `data`: port name `9x` must be letters, digits and `_`, not start with a digit, and be at most 63 characters",
        "task type `data`: duplicate port name `HTTP`",
        "task type `data`: duplicate port number `8081`",
        "task type `data`: invalid placement rule `hostname:MAX_PER:0`: the maximum must be a whole number >= 1, got `0`",
        "task type `data`: health check interval must be greater than 0",
        "task type `data`: max_failures must be at least 1, got 0",
        "task type `data`: readiness check command must not be empty",
        "task type `data`: kill_grace_period must be greater than 0",
    ];
    assert_eq!(errors, expected);
}

#[test]
fn per_instance_commands() {
    let mut s = data_store();
    let t = &mut s.task_types[1];
    t.command = Commands::PerInstance(vec![
        CommandSpec::new("./a"),
        CommandSpec::new("./b"),
        CommandSpec::new(""),
    ]);
    assert_eq!(t.render_command(1).unwrap().value, "./b");
    assert!(t.render_command(3).is_none());
    assert_eq!(
        messages(s.validate()),
        vec!["task type `data`: instance 2: command must not be empty"]
    );
    s.task_types[1].count = 2;
    assert!(
        messages(s.validate())
            .contains(&"task type `data`: has 3 per-instance commands but count is 2".to_string())
    );
}

#[test]
fn canonical_id_is_stable_and_content_based() {
    let a = data_store();
    let b = data_store();
    assert_eq!(a.id(), b.id());
    assert_eq!(a.id().as_str().len(), 32);

    // Order of order-free lists does not matter.
    let mut c = data_store();
    c.task_types[0].resources.reverse();
    assert_eq!(a.id(), c.id());

    let mut d = data_store();
    d.task_types[0].set_resource("cpus", 2.0, "data-store-role", "data-store-principal");
    assert_ne!(a.id(), d.id());

    // JSON round trip keeps the id and the content.
    let json = a.canonical_json();
    let back = ServiceSpec::from_json(&json).unwrap();
    assert_eq!(back, a);
    assert_eq!(back.id(), a.id());
    assert!(
        json.contains(r#""placement":["hostname:UNIQUE"]"#),
        "{json}"
    );
    assert!(json.contains(r#""type":"ROOT""#), "{json}");
    assert!(json.contains(r#""goal":"RUNNING""#), "{json}");
}

#[test]
fn durations_serialize_readably() {
    let mut s = data_store();
    s.task_types[0].health_check = Some(CheckSpec::new("true"));
    s.task_types[0].kill_grace_period = Some(Duration::from_millis(1500));
    let json = s.canonical_json();
    assert!(json.contains(r#""interval":"10s""#), "{json}");
    assert!(json.contains(r#""kill_grace_period":"1500ms""#), "{json}");
    assert_eq!(ServiceSpec::from_json(&json).unwrap(), s);
}

#[test]
fn set_overrides_apply_and_validate() {
    let mut s = data_store();
    let sets = Override::parse_sets([
        "data.count=5",
        "data.cpus=2.5",
        "data.mem=2 GiB",
        "data.disk=100 MB",
        "meta-data.command=./meta-data --fast {{index}}",
        "meta-data.allow_decommission=true",
        "meta-data.placement=hostname:MAX_PER:2;zone:GROUP_BY",
        "meta-data.goal=FINISHED",
    ])
    .unwrap();
    apply_overrides(&mut s, &sets).unwrap();
    let data = s.task_type("data").unwrap();
    assert_eq!(data.count, 5);
    assert_eq!(data.cpus(), 2.5);
    assert_eq!(data.mem(), 2048.0);
    assert!((data.disk() - 95.367_431_640_625).abs() < 1e-9);
    let meta = s.task_type("meta-data").unwrap();
    assert_eq!(
        meta.render_command(0).unwrap().value,
        "./meta-data --fast 0"
    );
    assert_eq!(meta.render_command(0).unwrap().uris.len(), 1);
    assert!(meta.allow_decommission);
    assert_eq!(meta.placement.len(), 2);
    assert_eq!(meta.goal, GoalState::Finished);
}

#[test]
fn override_errors_are_clear_and_all_reported() {
    let mut s = data_store();
    let sets = Override::parse_sets([
        "dat.count=5",
        "data.cont=5",
        "data.count=0",
        "data.mem=512",
        "data.cpus=x",
    ])
    .unwrap();
    let errors = messages(apply_overrides(&mut s, &sets));
    assert_eq!(
        errors,
        vec![
            "--set dat.count=5: no task type `dat` (did you mean `data`?) in service `data-store`; task types are: meta-data, data",
            "--set data.cont=5: `cont` cannot be overridden (did you mean `count`?); keys are: count, cpus, mem, disk, command, allow_decommission, placement, goal",
            "--set data.count=0: count must be at least 1, got 0 (remove the task type instead)",
            "--set data.mem=512: size `512` needs a unit: KiB, MiB, GiB, TiB (binary) or KB, MB, GB, TB (decimal), e.g. `512 MiB`",
            "--set data.cpus=x: cpus must be a number, got `x`",
        ]
    );
    let bad = Override::parse_sets(["nodot=1", "x.y=1", "novalue"]).unwrap_err();
    assert_eq!(bad.errors().len(), 2);
    assert_eq!(
        bad.errors()[0].to_string(),
        "--set nodot=1: expected `<task type>.<key>=<value>`, e.g. `data.count=5`"
    );
}

#[test]
fn env_overrides() {
    let s = data_store();
    let vars = [
        ("STEAD_DATA_COUNT", "5"),
        ("STEAD_META_DATA_ALLOW_DECOMMISSION", "true"),
        ("STEAD_MASTER", "http://localhost:5050"),
        ("PATH", "/bin"),
    ];
    let o = overrides_from_env(vars, &s).unwrap();
    assert_eq!(
        o,
        vec![
            Override {
                task_type: "data".into(),
                key: "count".into(),
                value: "5".into(),
                origin: "STEAD_DATA_COUNT".into()
            },
            Override {
                task_type: "meta-data".into(),
                key: "allow_decommission".into(),
                value: "true".into(),
                origin: "STEAD_META_DATA_ALLOW_DECOMMISSION".into()
            },
        ]
    );
    assert_eq!(
        overrides::env_var_name("meta-data", "count"),
        "STEAD_META_DATA_COUNT"
    );
    let mut applied = s.clone();
    apply_overrides(&mut applied, &o).unwrap();
    assert_eq!(applied.task_type("data").unwrap().count, 5);

    let errors: Vec<String> =
        overrides_from_env([("STEAD_DATA_CONT", "5"), ("STEAD_DAT_COUNT", "1")], &s)
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
    assert_eq!(errors.len(), 2);
    assert!(
        errors[0]
            .starts_with("STEAD_DATA_CONT: `cont` cannot be overridden (did you mean `count`?)"),
        "{errors:?}"
    );
    assert!(
        errors[1].starts_with(
            "STEAD_DAT_COUNT: no task type `dat` (did you mean `data`?) in service `data-store`"
        ),
        "{errors:?}"
    );
}

#[test]
fn per_instance_count_override() {
    let mut s = data_store();
    s.task_types[1].command = Commands::PerInstance(vec![
        CommandSpec::new("./a"),
        CommandSpec::new("./b"),
        CommandSpec::new("./c"),
    ]);
    let mut lower = s.clone();
    apply_overrides(&mut lower, &[Override::new("data", "count", "2")]).unwrap();
    assert_eq!(lower.task_types[1].count, 2);
    let errors = messages(apply_overrides(
        &mut s,
        &[Override::new("data", "count", "4")],
    ));
    assert!(
        errors[0].contains("has one command per instance (3 of them)"),
        "{errors:?}"
    );
    assert_eq!(
        overrides::count_override(&[Override::new("data", "count", "4")], "data"),
        Some(4)
    );
    assert_eq!(
        overrides::count_override(&[Override::new("data", "count", "x")], "data"),
        None
    );
}

#[test]
fn changes_and_update_rules() {
    let current = data_store();
    let mut target = data_store();
    target.task_types[1].count = 4;
    target.task_types[0].set_resource("cpus", 2.0, "data-store-role", "data-store-principal");
    assert_eq!(
        current.changes(&target),
        vec![
            Change::TaskConfigChanged("meta-data".into()),
            Change::CountChanged {
                task_type: "data".into(),
                from: 3,
                to: 4
            },
        ]
    );
    current.validate_update(&target).unwrap();
    assert!(current.changes(&current).is_empty());

    let mut bad = data_store();
    bad.task_types[1].volumes[0].size_mib = 1;
    bad.task_types[0].count = 1;
    bad.role = "x".into();
    let errors = messages(current.validate_update(&bad));
    assert_eq!(
        errors,
        vec![
            "service `data-store`: the role cannot change from `data-store-role` to `x`",
            "task type `meta-data`: count cannot go down from 2 to 1: set allow_decommission to remove instances",
            "task type `data`: volumes cannot change once deployed (size, type and path are fixed)",
        ]
    );

    let mut removed = data_store();
    removed.task_types.pop();
    assert_eq!(
        current.changes(&removed),
        vec![Change::TaskTypeRemoved("data".into())]
    );
    assert!(current.validate_update(&removed).is_err());
    let mut allowing = data_store();
    allowing.task_types[1].allow_decommission = true;
    allowing.validate_update(&removed).unwrap();
    assert_eq!(
        removed.changes(&current),
        vec![Change::TaskTypeAdded("data".into())]
    );
}
