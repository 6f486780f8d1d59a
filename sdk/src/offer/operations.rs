//! Turns placements into Mesos offer operations: RESERVE, CREATE and LAUNCH for a new
//! instance, LAUNCH on the old reservations for a relaunch in place, DESTROY and
//! UNRESERVE for reservations nobody owns.

use stead_proto::v1::{
    AgentId, CheckInfo, CommandInfo, DiscoveryInfo, DurationInfo, Environment, HealthCheck,
    KillPolicy, Offer, OperationId, Port, Ports, Resource, TaskId, TaskInfo, Volume, check_info,
    discovery_info, environment, health_check,
    offer::{Operation, operation},
    resource::{AllocationInfo, DiskInfo, disk_info},
    volume,
};
use stead_spec::{CheckSpec, CommandSpec, ServiceSpec, TaskTypeSpec, VolumeType};
use uuid::Uuid;

use super::address::TaskAddress;
use super::evaluate::NewFit;
use crate::mesos::resources::{
    self as res, dynamic_reservation, labels, names, ranges_from_values, reservation_labels,
};

/// Separates the instance name from the per-launch suffix in a Mesos task id.
pub const TASK_ID_SEPARATOR: &str = "__";

/// Task label keys.
pub mod task_labels {
    /// The task type name.
    pub const TASK_TYPE: &str = "task_type";
    /// The instance index.
    pub const INDEX: &str = "index";
    /// The id of the configuration the task was launched from.
    pub const CONFIG_ID: &str = "config_id";
}

/// A fresh Mesos task id for `instance`: `<instance>__<uuid>`.
pub fn new_task_id(instance: &str) -> TaskId {
    TaskId {
        value: format!("{instance}{TASK_ID_SEPARATOR}{}", Uuid::new_v4()),
    }
}

/// The id of the configuration `task` was launched from.
pub fn config_id_of(task: &TaskInfo) -> Option<&str> {
    res::label(task.labels.as_ref(), task_labels::CONFIG_ID)
}

/// The instance name a task id belongs to.
pub fn instance_of(task_id: &str) -> Option<&str> {
    task_id.split_once(TASK_ID_SEPARATOR).map(|(i, _)| i)
}

/// The `resource_id` labels of every resource of a task (what a relaunch in place needs).
pub fn resource_ids(task: &TaskInfo) -> Vec<String> {
    task.resources
        .iter()
        .filter_map(|r| res::resource_id(r).map(String::from))
        .collect()
}

/// What every operation of one service needs to know.
#[derive(Debug, Clone, Copy)]
pub struct LaunchContext<'a> {
    /// The service (name, role, principal).
    pub service: &'a ServiceSpec,
    /// The framework id.
    pub framework_id: &'a str,
    /// The target configuration id (recorded on tasks).
    pub config_id: &'a str,
}

/// The operations of one placement and the task they launch.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Operations for the ACCEPT call, in order.
    pub operations: Vec<Operation>,
    /// The task launched (to be stored before the ACCEPT is sent).
    pub task: TaskInfo,
}

/// The start of the id of every RESERVE: `reserve:<instance>:<unique>`.
const RESERVE_ID: &str = "reserve:";

/// A RESERVE operation of `resources` for `instance`. Its id asks the master for
/// feedback: when it refuses the reservation (an ACL denies it, say) it answers why with
/// an OPERATION_ERROR update instead of only dropping it.
pub(crate) fn op_reserve(resources: Vec<Resource>, instance: &str) -> Operation {
    Operation {
        id: Some(OperationId {
            value: format!("{RESERVE_ID}{instance}:{}", Uuid::new_v4()),
        }),
        r#type: Some(operation::Type::Reserve as i32),
        reserve: Some(operation::Reserve {
            source: Vec::new(),
            resources,
        }),
        ..Operation::default()
    }
}

/// The instance a RESERVE operation with id `id` was for, if `id` is one of ours.
pub(crate) fn reserving_instance(id: &str) -> Option<&str> {
    let rest = id.strip_prefix(RESERVE_ID)?;
    rest.rsplit_once(':').map(|(instance, _)| instance)
}

/// An UNRESERVE operation of `resources`.
pub(crate) fn op_unreserve(resources: Vec<Resource>) -> Operation {
    Operation {
        r#type: Some(operation::Type::Unreserve as i32),
        unreserve: Some(operation::Unreserve { resources }),
        ..Operation::default()
    }
}

fn op_create(volumes: Vec<Resource>) -> Operation {
    Operation {
        r#type: Some(operation::Type::Create as i32),
        create: Some(operation::Create { volumes }),
        ..Operation::default()
    }
}

fn op_launch(task: TaskInfo) -> Operation {
    Operation {
        r#type: Some(operation::Type::Launch as i32),
        launch: Some(operation::Launch {
            task_infos: vec![task],
        }),
        ..Operation::default()
    }
}

/// The Mesos form of `command` with `extra_env` added to its environment.
fn command_with_env(command: &CommandSpec, extra_env: &[(String, String)]) -> CommandInfo {
    let mut info = crate::spec::command_info(command);
    let env = info.environment.get_or_insert_with(Environment::default);
    env.variables
        .extend(extra_env.iter().map(|(name, value)| environment::Variable {
            name: name.clone(),
            r#type: Some(environment::variable::Type::Value as i32),
            value: Some(value.clone()),
            secret: None,
        }));
    info
}

fn shell(command: &str) -> CommandInfo {
    CommandInfo {
        shell: Some(true),
        value: Some(command.to_string()),
        ..CommandInfo::default()
    }
}

fn readiness(check: &CheckSpec) -> CheckInfo {
    CheckInfo {
        r#type: Some(check_info::Type::Command as i32),
        command: Some(check_info::Command {
            command: shell(&check.command),
        }),
        http: None,
        tcp: None,
        delay_seconds: Some(check.delay.as_secs_f64()),
        interval_seconds: Some(check.interval.as_secs_f64()),
        timeout_seconds: Some(check.timeout.as_secs_f64()),
    }
}

fn health(check: &CheckSpec) -> HealthCheck {
    HealthCheck {
        delay_seconds: Some(check.delay.as_secs_f64()),
        interval_seconds: Some(check.interval.as_secs_f64()),
        timeout_seconds: Some(check.timeout.as_secs_f64()),
        consecutive_failures: Some(check.max_consecutive_failures),
        grace_period_seconds: Some(check.grace_period.as_secs_f64()),
        r#type: Some(health_check::Type::Command as i32),
        command: Some(shell(&check.command)),
        http: None,
        tcp: None,
    }
}

/// The environment variable naming a volume's path: `VOLUME_PATH` for the first,
/// and `VOLUME_PATH_<PATH>` (upper-cased, non-alphanumerics as `_`) for each.
fn volume_env(container_path: &str) -> String {
    let suffix: String = container_path
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("VOLUME_PATH_{suffix}")
}

/// The discovery info of `instance`: its named ports (`ports`: name, number), as Mesos
/// and the endpoints of the operator API read them.
fn discovery(instance: &str, ports: &[(String, u64)]) -> DiscoveryInfo {
    DiscoveryInfo {
        visibility: discovery_info::Visibility::Framework as i32,
        name: Some(instance.to_string()),
        ports: Some(Ports {
            ports: ports
                .iter()
                .filter_map(|(name, number)| {
                    Some(Port {
                        number: u32::try_from(*number).ok()?,
                        name: Some(name.clone()),
                        protocol: Some("tcp".to_string()),
                        visibility: None,
                        labels: None,
                    })
                })
                .collect(),
        }),
        ..DiscoveryInfo::default()
    }
}

/// `r` reserved for the service with a new `resource_id` label (and allocated to its role).
pub fn fresh_reservation(ctx: &LaunchContext<'_>, mut r: Resource) -> Resource {
    let service = ctx.service;
    let id = Uuid::new_v4().to_string();
    r.allocation_info = Some(AllocationInfo {
        role: Some(service.role.clone()),
    });
    r.reservations.push(dynamic_reservation(
        &service.role,
        &service.principal,
        reservation_labels(&id, ctx.framework_id, &service.name),
    ));
    r
}

/// RESERVE + CREATE + LAUNCH for instance `index` of `task_type` placed in `offer`.
///
/// Returns `None` if the task type has no command for `index` (the spec validation
/// rejects such specs before anything is launched).
pub fn new_instance(
    ctx: &LaunchContext<'_>,
    offer: &Offer,
    task_type: &TaskTypeSpec,
    index: u32,
    fit: &NewFit,
) -> Option<Launch> {
    // No command for `index`: nothing to launch.
    task_type.render_command(index)?;
    let reserve = |r: Resource| fresh_reservation(ctx, r);

    let mut reserved = Vec::new();
    for r in &task_type.resources {
        reserved.push(reserve(res::scalar(&r.name, r.value)));
    }
    if !fit.ports.is_empty() {
        let values: Vec<u64> = fit.ports.iter().map(|(_, p)| *p).collect();
        reserved.push(reserve(res::ranges(
            names::PORTS,
            &ranges_from_values(&values),
        )));
    }
    let mut volumes = Vec::new();
    for (v, mount) in task_type.volumes.iter().zip(&fit.mounts) {
        let disk = match (v.kind, mount) {
            (VolumeType::Mount, Some(ri)) => match offer.resources.get(*ri) {
                Some(r) => r.clone(),
                None => continue,
            },
            _ => res::scalar(names::DISK, v.size_mib as f64),
        };
        let disk = reserve(disk);
        reserved.push(disk.clone());
        let mut volume = disk;
        let source = volume.disk.take().and_then(|d| d.source);
        volume.disk = Some(Box::new(DiskInfo {
            persistence: Some(disk_info::Persistence {
                id: Uuid::new_v4().to_string(),
                principal: Some(ctx.service.principal.clone()),
            }),
            volume: Some(Volume {
                mode: volume::Mode::Rw as i32,
                container_path: v.container_path.clone(),
                ..Volume::default()
            }),
            source,
        }));
        volumes.push(volume);
    }

    let mut task_resources: Vec<Resource> = reserved
        .iter()
        .filter(|r| r.name != names::DISK || task_type.resource(names::DISK).is_some())
        .filter(|r| {
            // Volume disks are launched as volumes, not as plain disk.
            !(r.name == names::DISK
                && volumes
                    .iter()
                    .any(|v| res::resource_id(v) == res::resource_id(r)))
        })
        .cloned()
        .collect();
    task_resources.extend(volumes.iter().cloned());
    let task = task_info(
        ctx,
        task_type,
        index,
        &offer.agent_id.value,
        &TaskAddress::of_offer(offer),
        task_resources,
        &fit.ports,
    )?;
    let instance = stead_spec::instance_name(&task_type.name, index);
    let mut operations = vec![op_reserve(reserved, &instance)];
    if !volumes.is_empty() {
        operations.push(op_create(volumes));
    }
    operations.push(op_launch(task.clone()));
    Some(Launch { operations, task })
}

/// The TaskInfo of instance `index` of `task_type` under the target configuration, on
/// agent `agent_id` at `address` with `resources` (reserved, volumes included) and `ports`
/// (name, number, in the task type's order): command, environment, checks, kill policy and
/// the labels naming its type, index and configuration. A fresh task id.
///
/// Returns `None` if the task type has no command for `index`.
pub fn task_info(
    ctx: &LaunchContext<'_>,
    task_type: &TaskTypeSpec,
    index: u32,
    agent_id: &str,
    address: &TaskAddress,
    resources: Vec<Resource>,
    ports: &[(String, u64)],
) -> Option<TaskInfo> {
    let command = task_type
        .render_command(index)?
        .render_address(&address.address, &address.hostname);
    let instance = task_type.instance_name(index);
    let mut env = vec![
        ("TASK_NAME".to_string(), instance.clone()),
        ("POD_INSTANCE_INDEX".to_string(), index.to_string()),
        ("FRAMEWORK_NAME".to_string(), ctx.service.name.clone()),
    ];
    env.extend(address.env());
    for (p, (_, port)) in task_type.ports.iter().zip(ports) {
        env.push((p.env_name(), port.to_string()));
    }
    for (i, v) in task_type.volumes.iter().enumerate() {
        if i == 0 {
            env.push(("VOLUME_PATH".to_string(), v.container_path.clone()));
        }
        env.push((volume_env(&v.container_path), v.container_path.clone()));
    }
    Some(TaskInfo {
        name: instance.clone(),
        task_id: new_task_id(&instance),
        agent_id: AgentId {
            value: agent_id.to_string(),
        },
        resources,
        command: Some(command_with_env(&command, &env)),
        discovery: Some(Box::new(discovery(&instance, ports))),
        check: task_type
            .readiness_check
            .as_ref()
            .map(readiness)
            .map(Box::new),
        health_check: task_type.health_check.as_ref().map(health).map(Box::new),
        kill_policy: task_type.kill_grace_period.map(|d| KillPolicy {
            grace_period: Some(DurationInfo {
                nanoseconds: i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            }),
        }),
        labels: Some(labels([
            (task_labels::TASK_TYPE, task_type.name.as_str()),
            (task_labels::INDEX, index.to_string().as_str()),
            (task_labels::CONFIG_ID, ctx.config_id),
        ])),
        ..TaskInfo::default()
    })
}

/// LAUNCH of `previous` again, in place, on the reserved `resources` (offer indices).
pub fn relaunch(offer: &Offer, previous: &TaskInfo, resources: &[usize]) -> Launch {
    let mut task = previous.clone();
    task.task_id = new_task_id(&previous.name);
    task.agent_id = AgentId {
        value: offer.agent_id.value.clone(),
    };
    task.resources = resources
        .iter()
        .filter_map(|&i| offer.resources.get(i).cloned())
        .collect();
    Launch {
        operations: vec![op_launch(task.clone())],
        task,
    }
}

/// DESTROY (for volumes) then UNRESERVE of reservations nobody owns.
pub fn cleanup(resources: &[&Resource]) -> Vec<Operation> {
    let volumes: Vec<Resource> = resources
        .iter()
        .filter(|r| res::persistence_id(r).is_some())
        .map(|r| (*r).clone())
        .collect();
    let unreserve: Vec<Resource> = resources
        .iter()
        .map(|r| {
            let mut r = (*r).clone();
            if let Some(disk) = r.disk.as_mut()
                && disk.persistence.is_some()
            {
                disk.persistence = None;
                disk.volume = None;
                if disk.source.is_none() {
                    r.disk = None;
                }
            }
            r
        })
        .collect();
    let mut ops = Vec::new();
    if !volumes.is_empty() {
        ops.push(Operation {
            r#type: Some(operation::Type::Destroy as i32),
            destroy: Some(operation::Destroy { volumes }),
            ..Operation::default()
        });
    }
    if !unreserve.is_empty() {
        ops.push(op_unreserve(unreserve));
    }
    ops
}

/// A test service `svc` with one task type `data` (`count` instances of `cpus` cpus,
/// 256 MiB, a dynamic port `http` and a 100 MiB volume at `data-path`).
#[cfg(test)]
pub(crate) fn test_spec(count: u32, cpus: f64, command: &str) -> ServiceSpec {
    use stead_spec::{CommandSpec, PortSpec, VolumeSpec, VolumeType};
    let mut s = ServiceSpec::new("svc");
    let mut t = stead_spec::TaskTypeSpec::new("data", count, CommandSpec::new(command));
    t.set_resource("cpus", cpus, "svc-role", "svc-principal");
    t.set_resource("mem", 256.0, "svc-role", "svc-principal");
    t.ports = vec![PortSpec {
        name: "http".into(),
        port: 0,
    }];
    t.volumes = vec![VolumeSpec {
        size_mib: 100,
        kind: VolumeType::Root,
        container_path: "data-path".into(),
        role: "svc-role".into(),
        principal: "svc-principal".into(),
    }];
    s.task_types.push(t);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offer::evaluate::{Evaluator, Fit, Need, Requirement};

    fn spec() -> ServiceSpec {
        test_spec(1, 1.0, "./data {{index}}")
    }

    fn offer() -> Offer {
        Offer {
            id: stead_proto::v1::OfferId { value: "o1".into() },
            framework_id: stead_proto::v1::FrameworkId { value: "fw".into() },
            agent_id: AgentId { value: "a1".into() },
            hostname: "h1".into(),
            resources: vec![
                res::scalar("cpus", 4.0),
                res::scalar("mem", 4096.0),
                res::scalar("disk", 4096.0),
                res::ranges("ports", &[(31000, 31100)]),
            ],
            ..Offer::default()
        }
    }

    fn env(task: &TaskInfo, name: &str) -> Option<String> {
        task.command
            .as_ref()?
            .environment
            .as_ref()?
            .variables
            .iter()
            .find(|v| v.name == name)
            .and_then(|v| v.value.clone())
    }

    /// The launch of `data-0` of `spec` placed in `offer`.
    fn launch_in(spec: &ServiceSpec, offer: Offer) -> Launch {
        let offers = vec![offer];
        let tt = &spec.task_types[0];
        let mut ev = Evaluator::new(&offers, &spec.role);
        let p = ev
            .place(&Requirement {
                instance: "data-0",
                task_type: tt,
                need: Need::New,
            })
            .unwrap();
        let Fit::New(fit) = p.fit else { panic!("new") };
        let ctx = LaunchContext {
            service: spec,
            framework_id: "fw-1",
            config_id: "cfg",
        };
        new_instance(&ctx, &offers[0], tt, 0, &fit).unwrap()
    }

    #[test]
    fn new_instance_reserves_creates_and_launches() {
        let launch = launch_in(&spec(), offer());
        let types: Vec<i32> = launch.operations.iter().filter_map(|o| o.r#type).collect();
        assert_eq!(
            types,
            vec![
                operation::Type::Reserve as i32,
                operation::Type::Create as i32,
                operation::Type::Launch as i32
            ]
        );
        let reserved = &launch.operations[0].reserve.as_ref().unwrap().resources;
        assert_eq!(reserved.len(), 4, "cpus, mem, ports, volume disk");
        for r in reserved {
            let rv = res::reservation(r).unwrap();
            assert_eq!(rv.role.as_deref(), Some("svc-role"));
            assert_eq!(res::service_of(r), Some("svc"));
            assert_eq!(
                res::label(rv.labels.as_ref(), res::FRAMEWORK_ID),
                Some("fw-1")
            );
            assert!(res::resource_id(r).is_some());
            assert_eq!(
                r.allocation_info.as_ref().and_then(|a| a.role.as_deref()),
                Some("svc-role")
            );
        }
        let task = &launch.task;
        assert_eq!(task.name, "data-0");
        assert_eq!(instance_of(&task.task_id.value), Some("data-0"));
        assert_eq!(task.agent_id.value, "a1");
        assert_eq!(resource_ids(task).len(), 4);
        assert_eq!(
            task.command.as_ref().unwrap().value.as_deref(),
            Some("./data 0")
        );
        assert_eq!(env(task, "TASK_NAME").as_deref(), Some("data-0"));
        assert_eq!(env(task, "POD_INSTANCE_INDEX").as_deref(), Some("0"));
        assert_eq!(env(task, "FRAMEWORK_NAME").as_deref(), Some("svc"));
        assert_eq!(env(task, "PORT_HTTP").as_deref(), Some("31000"));
        assert_eq!(env(task, "VOLUME_PATH").as_deref(), Some("data-path"));
        let vol = task
            .resources
            .iter()
            .find(|r| res::persistence_id(r).is_some());
        assert!(vol.is_some(), "the task mounts its volume");
        assert_eq!(task.resources.len(), 4);
    }

    #[test]
    fn a_task_learns_its_agents_address_and_declares_its_named_ports() {
        let mut spec = test_spec(1, 1.0, "./data --bind {{address}} --host {{hostname}}");
        let tt = &mut spec.task_types[0];
        if let stead_spec::Commands::Template(c) = &mut tt.command {
            c.env
                .insert("LISTEN".into(), "{{address}}:$PORT_HTTP".into());
        }
        let mut o = offer();
        o.url = Some(stead_proto::v1::Url {
            scheme: "http".into(),
            address: stead_proto::v1::Address {
                hostname: None,
                ip: Some("127.0.1.2".into()),
                port: 5051,
            },
            ..stead_proto::v1::Url::default()
        });
        let task = launch_in(&spec, o).task;
        assert_eq!(
            task.command.as_ref().unwrap().value.as_deref(),
            Some("./data --bind 127.0.1.2 --host h1")
        );
        assert_eq!(env(&task, "TASK_ADDRESS").as_deref(), Some("127.0.1.2"));
        assert_eq!(env(&task, "TASK_HOSTNAME").as_deref(), Some("h1"));
        assert_eq!(
            env(&task, "LISTEN").as_deref(),
            Some("127.0.1.2:$PORT_HTTP")
        );
        let endpoints = crate::api::InstanceEndpoints::of_task(&task).unwrap();
        assert_eq!(endpoints.instance, "data-0");
        assert_eq!(endpoints.task_type, "data");
        assert_eq!(endpoints.index, 0);
        assert_eq!(endpoints.address, "127.0.1.2");
        assert_eq!(endpoints.hostname, "h1");
        assert_eq!(endpoints.ports.get("http"), Some(&31000));
    }

    #[test]
    fn cleanup_destroys_then_unreserves() {
        let mut vol = res::scalar("disk", 100.0);
        vol.reservations.push(dynamic_reservation(
            "svc-role",
            "p",
            reservation_labels("r1", "fw", "svc"),
        ));
        vol.disk = Some(Box::new(DiskInfo {
            persistence: Some(disk_info::Persistence {
                id: "v1".into(),
                principal: None,
            }),
            volume: Some(Volume {
                mode: volume::Mode::Rw as i32,
                container_path: "data".into(),
                ..Volume::default()
            }),
            source: None,
        }));
        let cpu = res::scalar("cpus", 1.0);
        let ops = cleanup(&[&vol, &cpu]);
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0].destroy.as_ref().unwrap().volumes.len(), 1);
        let un = &ops[1].unreserve.as_ref().unwrap().resources;
        assert_eq!(un.len(), 2);
        assert!(
            un[0].disk.is_none(),
            "the unreserved disk no longer carries the volume"
        );
    }

    #[test]
    fn relaunch_reuses_the_offered_reservations() {
        let mut o = offer();
        let mut r = res::scalar("cpus", 1.0);
        r.reservations.push(dynamic_reservation(
            "svc-role",
            "p",
            reservation_labels("r1", "fw", "svc"),
        ));
        o.resources.push(r);
        let previous = TaskInfo {
            name: "data-0".into(),
            task_id: new_task_id("data-0"),
            agent_id: AgentId { value: "a1".into() },
            command: Some(shell("./data")),
            ..TaskInfo::default()
        };
        let launch = relaunch(&o, &previous, &[4]);
        assert_ne!(launch.task.task_id, previous.task_id);
        assert_eq!(launch.task.resources, vec![o.resources[4].clone()]);
        assert_eq!(launch.task.command, previous.command);
        assert_eq!(launch.operations.len(), 1);
    }
}
