//! The original design's hand-written `meta-data` task type (Java) translated to
//! Rust, with the `data` task type left "as an exercise" written the same way.

use stead::proto::v1::{CommandInfo, command_info};
use stead::spec::{
    Commands, DefaultResourceSpecification, DefaultVolumeSpecification, ResourceSpecification,
    ServiceSpecification, TaskTypeSpecification, VolumeSpecification, VolumeType, build_spec,
    default_principal, default_role,
};

struct MetaData {
    role: String,
    principal: String,
}

impl MetaData {
    fn new() -> Self {
        Self {
            role: default_role("data-store"),
            principal: default_principal("data-store"),
        }
    }
}

impl TaskTypeSpecification for MetaData {
    fn count(&self) -> u32 {
        2
    }

    fn name(&self) -> String {
        "meta-data".to_string()
    }

    fn command(&self, id: u32) -> CommandInfo {
        CommandInfo {
            value: Some(format!("./metadata {id}")),
            uris: vec![command_info::Uri {
                value: "http://storage/meta-data.zip".to_string(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn resources(&self) -> Vec<Box<dyn ResourceSpecification>> {
        vec![
            Box::new(DefaultResourceSpecification::new(
                "cpus",
                1.0,
                &self.role,
                &self.principal,
            )),
            Box::new(DefaultResourceSpecification::new(
                "mem",
                512.0,
                &self.role,
                &self.principal,
            )),
        ]
    }

    fn volumes(&self) -> Vec<Box<dyn VolumeSpecification>> {
        vec![Box::new(DefaultVolumeSpecification::new(
            5000,
            VolumeType::Root,
            "meta-data-container-path",
            &self.role,
            &self.principal,
        ))]
    }
}

struct Data {
    cpus: f64,
}

impl TaskTypeSpecification for Data {
    fn name(&self) -> String {
        "data".to_string()
    }

    fn count(&self) -> u32 {
        3
    }

    fn command(&self, _index: u32) -> CommandInfo {
        CommandInfo {
            value: Some("./data".to_string()),
            uris: vec![command_info::Uri {
                value: "http://storage/data.zip".to_string(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn resources(&self) -> Vec<Box<dyn ResourceSpecification>> {
        vec![
            Box::new(DefaultResourceSpecification::scalar("cpus", self.cpus)),
            Box::new(DefaultResourceSpecification::scalar("mem", 1024.0)),
        ]
    }

    fn volumes(&self) -> Vec<Box<dyn VolumeSpecification>> {
        vec![Box::new(DefaultVolumeSpecification::sized(
            10240,
            VolumeType::Root,
            "data-path",
        ))]
    }
}

struct DataStore {
    data_cpus: f64,
}

impl ServiceSpecification for DataStore {
    fn name(&self) -> String {
        "data-store".to_string()
    }

    fn task_types(&self) -> Vec<Box<dyn TaskTypeSpecification>> {
        vec![
            Box::new(MetaData::new()),
            Box::new(Data {
                cpus: self.data_cpus,
            }),
        ]
    }
}

#[test]
fn hand_written_spec_builds_the_canonical_form() {
    let spec = build_spec(&DataStore { data_cpus: 1.0 }).unwrap();
    assert_eq!(spec.name, "data-store");
    assert_eq!(spec.role, "data-store-role");
    assert_eq!(spec.principal, "data-store-principal");
    let meta = spec.task_type("meta-data").unwrap();
    assert_eq!(meta.count, 2);
    // command(id) differs per instance and no template is declared: one command each.
    let Commands::PerInstance(commands) = &meta.command else {
        panic!("expected per-instance commands, got {:?}", meta.command);
    };
    assert_eq!(commands.len(), 2);
    assert_eq!(commands[1].value, "./metadata 1");
    assert_eq!(commands[0].uris[0].value, "http://storage/meta-data.zip");
    assert!(
        commands[0].uris[0].extract,
        "Mesos' default for extract is true"
    );
    assert_eq!((meta.cpus(), meta.mem()), (1.0, 512.0));
    assert_eq!(meta.volumes[0].size_mib, 5000);
    assert_eq!(meta.volumes[0].container_path, "meta-data-container-path");
    assert_eq!(meta.volumes[0].role, "data-store-role");

    let data = spec.task_type("data").unwrap();
    // Identical commands for every index collapse to one template.
    assert!(matches!(&data.command, Commands::Template(c) if c.value == "./data"));
    assert_eq!(data.render_command(2).unwrap().value, "./data");
    assert_eq!(data.resources[0].principal, "data-store-principal");
    assert_eq!(
        build_spec(&DataStore { data_cpus: 1.0 }).unwrap().id(),
        spec.id()
    );
}

#[test]
fn hand_written_spec_is_checked_with_the_same_rules() {
    let errors = build_spec(&DataStore { data_cpus: 0.0 }).unwrap_err();
    let messages: Vec<String> = errors.errors().iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        vec!["task type `data`: cpus must be a finite number greater than 0, got 0"]
    );
    let errors = build_spec(&DataStore {
        data_cpus: f64::NAN,
    })
    .unwrap_err();
    assert!(
        errors
            .to_string()
            .contains("cpus must be a finite number greater than 0, got NaN")
    );
}

#[test]
fn count_override_asks_every_new_index_for_its_command() {
    let overrides =
        stead::spec::Override::parse_sets(["meta-data.count=4", "data.mem=2 GiB"]).unwrap();
    let spec = stead::spec::build_spec_with(&DataStore { data_cpus: 1.0 }, &overrides).unwrap();
    let meta = spec.task_type("meta-data").unwrap();
    assert_eq!(meta.count, 4);
    assert_eq!(meta.render_command(3).unwrap().value, "./metadata 3");
    assert_eq!(spec.task_type("data").unwrap().mem(), 2048.0);
}
