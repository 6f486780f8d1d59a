//! Every scheduler Call type and Event type survives protobuf and JSON round
//! trips, and proto2 required zero-valued enums are really on the wire.

use std::collections::BTreeSet;

use prost::Message;
use stead_proto::scheduler::{Call, Event, call, event};
use stead_proto::v1::{self, offer::operation, resource, value};
use stead_proto::{json, recordio};

fn framework_id() -> v1::FrameworkId {
    v1::FrameworkId {
        value: "fw-1".into(),
    }
}

fn agent_id() -> v1::AgentId {
    v1::AgentId {
        value: "agent-1".into(),
    }
}

fn task_id() -> v1::TaskId {
    v1::TaskId {
        value: "data-0__9f1c".into(),
    }
}

fn offer_id(value: &str) -> v1::OfferId {
    v1::OfferId {
        value: value.into(),
    }
}

fn labels(pairs: &[(&str, &str)]) -> v1::Labels {
    v1::Labels {
        labels: pairs
            .iter()
            .map(|(key, value)| v1::Label {
                key: (*key).into(),
                value: Some((*value).into()),
            })
            .collect(),
    }
}

fn scalar(name: &str, amount: f64) -> v1::Resource {
    v1::Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: amount }),
        ..Default::default()
    }
}

fn ports(begin: u64, end: u64) -> v1::Resource {
    v1::Resource {
        name: "ports".into(),
        r#type: value::Type::Ranges as i32,
        ranges: Some(value::Ranges {
            range: vec![value::Range { begin, end }],
        }),
        ..Default::default()
    }
}

fn reserved(mut resource: v1::Resource, resource_id: &str) -> v1::Resource {
    resource.reservations = vec![resource::ReservationInfo {
        r#type: Some(resource::reservation_info::Type::Dynamic as i32),
        role: Some("data-store-role".into()),
        principal: Some("data-store-principal".into()),
        labels: Some(labels(&[("resource_id", resource_id)])),
    }];
    resource.allocation_info = Some(resource::AllocationInfo {
        role: Some("data-store-role".into()),
    });
    resource
}

fn volume(size: f64) -> v1::Resource {
    let mut disk = reserved(scalar("disk", size), "vol-1");
    disk.disk = Some(Box::new(resource::DiskInfo {
        persistence: Some(resource::disk_info::Persistence {
            id: "persistence-1".into(),
            principal: Some("data-store-principal".into()),
        }),
        volume: Some(v1::Volume {
            mode: v1::volume::Mode::Rw as i32,
            container_path: "data-path".into(),
            ..Default::default()
        }),
        source: Some(resource::disk_info::Source {
            r#type: resource::disk_info::source::Type::Mount as i32,
            mount: Some(resource::disk_info::source::Mount {
                root: Some("/mnt/disk0".into()),
            }),
            ..Default::default()
        }),
    }));
    disk
}

fn task_info() -> v1::TaskInfo {
    v1::TaskInfo {
        name: "data-0".into(),
        task_id: task_id(),
        agent_id: agent_id(),
        resources: vec![
            reserved(scalar("cpus", 1.0), "cpus-1"),
            reserved(scalar("mem", 1024.0), "mem-1"),
            volume(10240.0),
        ],
        command: Some(v1::CommandInfo {
            uris: vec![v1::command_info::Uri {
                value: "http://storage/data.zip".into(),
                extract: Some(true),
                ..Default::default()
            }],
            environment: Some(v1::Environment {
                variables: vec![v1::environment::Variable {
                    name: "POD_INSTANCE_INDEX".into(),
                    value: Some("0".into()),
                    ..Default::default()
                }],
            }),
            value: Some("./data".into()),
            ..Default::default()
        }),
        kill_policy: Some(v1::KillPolicy {
            grace_period: Some(v1::DurationInfo {
                nanoseconds: 30_000_000_000,
            }),
        }),
        health_check: Some(Box::new(v1::HealthCheck {
            r#type: Some(v1::health_check::Type::Tcp as i32),
            tcp: Some(v1::health_check::TcpCheckInfo {
                port: 8080,
                ..Default::default()
            }),
            ..Default::default()
        })),
        labels: Some(labels(&[("target_configuration", "4d2c")])),
        data: Some(vec![0, 159, 146, 150]),
        ..Default::default()
    }
}

fn offer() -> v1::Offer {
    v1::Offer {
        id: offer_id("offer-1"),
        framework_id: framework_id(),
        agent_id: agent_id(),
        hostname: "agent-1.local".into(),
        resources: vec![
            scalar("cpus", 4.0),
            scalar("mem", 8192.0),
            volume(10240.0),
            ports(31000, 32000),
        ],
        attributes: vec![v1::Attribute {
            name: "rack".into(),
            r#type: value::Type::Text as i32,
            text: Some(value::Text { value: "r1".into() }),
            ..Default::default()
        }],
        allocation_info: Some(resource::AllocationInfo {
            role: Some("data-store-role".into()),
        }),
        ..Default::default()
    }
}

fn operation(kind: operation::Type) -> v1::offer::Operation {
    v1::offer::Operation {
        r#type: Some(kind as i32),
        id: Some(v1::OperationId {
            value: format!("op-{}", kind.as_str_name()),
        }),
        ..Default::default()
    }
}

fn call(kind: call::Type) -> Call {
    Call {
        framework_id: Some(framework_id()),
        r#type: Some(kind as i32),
        ..Default::default()
    }
}

fn filters() -> v1::Filters {
    v1::Filters {
        refuse_seconds: Some(30.0),
    }
}

fn framework_info() -> v1::FrameworkInfo {
    v1::FrameworkInfo {
        user: "nobody".into(),
        name: "data-store".into(),
        id: Some(framework_id()),
        failover_timeout: Some(604_800.0),
        checkpoint: Some(true),
        roles: vec!["data-store-role".into()],
        principal: Some("data-store-principal".into()),
        capabilities: [
            v1::framework_info::capability::Type::MultiRole,
            v1::framework_info::capability::Type::ReservationRefinement,
            v1::framework_info::capability::Type::PartitionAware,
            v1::framework_info::capability::Type::TaskKillingState,
        ]
        .into_iter()
        .map(|kind| v1::framework_info::Capability {
            r#type: Some(kind as i32),
        })
        .collect(),
        ..Default::default()
    }
}

/// One call of every call type (UNKNOWN aside), with its sub-message filled.
fn every_call() -> Vec<Call> {
    let uuid = vec![
        0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8,
    ];
    vec![
        Call {
            subscribe: Some(call::Subscribe {
                framework_info: framework_info(),
                suppressed_roles: vec![],
            }),
            ..call(call::Type::Subscribe)
        },
        call(call::Type::Teardown),
        Call {
            accept: Some(call::Accept {
                offer_ids: vec![offer_id("offer-1")],
                operations: vec![
                    v1::offer::Operation {
                        reserve: Some(operation::Reserve {
                            source: vec![],
                            resources: vec![reserved(scalar("cpus", 1.0), "cpus-1")],
                        }),
                        ..operation(operation::Type::Reserve)
                    },
                    v1::offer::Operation {
                        create: Some(operation::Create {
                            volumes: vec![volume(10240.0)],
                        }),
                        ..operation(operation::Type::Create)
                    },
                    v1::offer::Operation {
                        launch: Some(operation::Launch {
                            task_infos: vec![task_info()],
                        }),
                        ..operation(operation::Type::Launch)
                    },
                    v1::offer::Operation {
                        launch_group: Some(Box::new(operation::LaunchGroup {
                            executor: v1::ExecutorInfo {
                                r#type: Some(v1::executor_info::Type::Default as i32),
                                executor_id: v1::ExecutorId {
                                    value: "exec-1".into(),
                                },
                                ..Default::default()
                            },
                            task_group: v1::TaskGroupInfo {
                                tasks: vec![task_info()],
                            },
                        })),
                        ..operation(operation::Type::LaunchGroup)
                    },
                    v1::offer::Operation {
                        unreserve: Some(operation::Unreserve {
                            resources: vec![reserved(scalar("mem", 512.0), "mem-2")],
                        }),
                        ..operation(operation::Type::Unreserve)
                    },
                    v1::offer::Operation {
                        destroy: Some(operation::Destroy {
                            volumes: vec![volume(5000.0)],
                        }),
                        ..operation(operation::Type::Destroy)
                    },
                ],
                filters: Some(filters()),
            }),
            ..call(call::Type::Accept)
        },
        Call {
            decline: Some(call::Decline {
                offer_ids: vec![offer_id("offer-2"), offer_id("offer-3")],
                filters: Some(filters()),
            }),
            ..call(call::Type::Decline)
        },
        Call {
            accept_inverse_offers: Some(call::AcceptInverseOffers {
                inverse_offer_ids: vec![offer_id("inverse-1")],
                filters: None,
            }),
            ..call(call::Type::AcceptInverseOffers)
        },
        Call {
            decline_inverse_offers: Some(call::DeclineInverseOffers {
                inverse_offer_ids: vec![offer_id("inverse-2")],
                filters: Some(filters()),
            }),
            ..call(call::Type::DeclineInverseOffers)
        },
        Call {
            revive: Some(call::Revive {
                roles: vec!["data-store-role".into()],
            }),
            ..call(call::Type::Revive)
        },
        Call {
            kill: Some(call::Kill {
                task_id: task_id(),
                agent_id: Some(agent_id()),
                kill_policy: Some(v1::KillPolicy {
                    grace_period: Some(v1::DurationInfo { nanoseconds: 0 }),
                }),
            }),
            ..call(call::Type::Kill)
        },
        Call {
            shutdown: Some(call::Shutdown {
                executor_id: v1::ExecutorId {
                    value: "exec-1".into(),
                },
                agent_id: agent_id(),
            }),
            ..call(call::Type::Shutdown)
        },
        Call {
            acknowledge: Some(call::Acknowledge {
                agent_id: agent_id(),
                task_id: task_id(),
                uuid: uuid.clone(),
            }),
            ..call(call::Type::Acknowledge)
        },
        Call {
            acknowledge_operation_status: Some(call::AcknowledgeOperationStatus {
                agent_id: Some(agent_id()),
                resource_provider_id: None,
                uuid,
                operation_id: v1::OperationId {
                    value: "op-1".into(),
                },
            }),
            ..call(call::Type::AcknowledgeOperationStatus)
        },
        Call {
            reconcile: Some(call::Reconcile {
                tasks: vec![call::reconcile::Task {
                    task_id: task_id(),
                    agent_id: Some(agent_id()),
                }],
            }),
            ..call(call::Type::Reconcile)
        },
        Call {
            reconcile_operations: Some(call::ReconcileOperations {
                operations: vec![call::reconcile_operations::Operation {
                    operation_id: v1::OperationId {
                        value: "op-1".into(),
                    },
                    agent_id: Some(agent_id()),
                    resource_provider_id: None,
                }],
            }),
            ..call(call::Type::ReconcileOperations)
        },
        Call {
            message: Some(call::Message {
                agent_id: agent_id(),
                executor_id: v1::ExecutorId {
                    value: "exec-1".into(),
                },
                data: b"hello executor".to_vec(),
            }),
            ..call(call::Type::Message)
        },
        Call {
            request: Some(call::Request {
                requests: vec![v1::Request {
                    agent_id: Some(agent_id()),
                    resources: vec![scalar("cpus", 2.0)],
                }],
            }),
            ..call(call::Type::Request)
        },
        Call {
            suppress: Some(call::Suppress {
                roles: vec!["data-store-role".into()],
            }),
            ..call(call::Type::Suppress)
        },
        Call {
            update_framework: Some(call::UpdateFramework {
                framework_info: framework_info(),
                suppressed_roles: vec!["data-store-role".into()],
            }),
            ..call(call::Type::UpdateFramework)
        },
    ]
}

fn task_status(state: v1::TaskState) -> v1::TaskStatus {
    v1::TaskStatus {
        task_id: task_id(),
        state: state as i32,
        message: Some("Command exited with status 1".into()),
        source: Some(v1::task_status::Source::Executor as i32),
        reason: Some(v1::task_status::Reason::ContainerLimitationMemory as i32),
        agent_id: Some(agent_id()),
        timestamp: Some(1_700_000_000.25),
        uuid: Some(vec![9; 16]),
        healthy: Some(false),
        unreachable_time: Some(v1::TimeInfo {
            nanoseconds: 1_700_000_000_123_456_789,
        }),
        ..Default::default()
    }
}

fn event(kind: event::Type) -> Event {
    Event {
        r#type: Some(kind as i32),
        ..Default::default()
    }
}

/// One event of every event type (UNKNOWN aside), with its sub-message filled.
fn every_event() -> Vec<Event> {
    let unavailability = v1::Unavailability {
        start: v1::TimeInfo {
            nanoseconds: 1_700_000_000_000_000_000,
        },
        duration: Some(v1::DurationInfo {
            nanoseconds: 3_600_000_000_000,
        }),
    };
    vec![
        Event {
            subscribed: Some(event::Subscribed {
                framework_id: framework_id(),
                heartbeat_interval_seconds: Some(15.0),
                master_info: Some(v1::MasterInfo {
                    id: "master-1".into(),
                    ip: 16_777_343,
                    port: 5050,
                    hostname: Some("localhost".into()),
                    version: Some("1.11.0".into()),
                    address: Some(v1::Address {
                        hostname: Some("localhost".into()),
                        ip: Some("127.0.0.1".into()),
                        port: 5050,
                    }),
                    ..Default::default()
                }),
            }),
            ..event(event::Type::Subscribed)
        },
        Event {
            offers: Some(event::Offers {
                offers: vec![offer()],
            }),
            ..event(event::Type::Offers)
        },
        Event {
            inverse_offers: Some(event::InverseOffers {
                inverse_offers: vec![v1::InverseOffer {
                    id: offer_id("inverse-1"),
                    framework_id: framework_id(),
                    agent_id: Some(agent_id()),
                    unavailability,
                    ..Default::default()
                }],
            }),
            ..event(event::Type::InverseOffers)
        },
        Event {
            rescind: Some(event::Rescind {
                offer_id: offer_id("offer-1"),
            }),
            ..event(event::Type::Rescind)
        },
        Event {
            rescind_inverse_offer: Some(event::RescindInverseOffer {
                inverse_offer_id: offer_id("inverse-1"),
            }),
            ..event(event::Type::RescindInverseOffer)
        },
        Event {
            update: Some(event::Update {
                status: task_status(v1::TaskState::TaskFailed),
            }),
            ..event(event::Type::Update)
        },
        Event {
            update_operation_status: Some(event::UpdateOperationStatus {
                status: v1::OperationStatus {
                    operation_id: Some(v1::OperationId {
                        value: "op-1".into(),
                    }),
                    state: v1::OperationState::OperationFinished as i32,
                    converted_resources: vec![reserved(scalar("cpus", 1.0), "cpus-1")],
                    uuid: Some(v1::Uuid { value: vec![7; 16] }),
                    agent_id: Some(agent_id()),
                    ..Default::default()
                },
            }),
            ..event(event::Type::UpdateOperationStatus)
        },
        Event {
            message: Some(event::Message {
                agent_id: agent_id(),
                executor_id: v1::ExecutorId {
                    value: "exec-1".into(),
                },
                data: vec![0, 1, 2, 255],
            }),
            ..event(event::Type::Message)
        },
        Event {
            failure: Some(event::Failure {
                agent_id: Some(agent_id()),
                executor_id: None,
                status: Some(9),
            }),
            ..event(event::Type::Failure)
        },
        Event {
            error: Some(event::Error {
                message: "Framework has been removed".into(),
            }),
            ..event(event::Type::Error)
        },
        event(event::Type::Heartbeat),
    ]
}

#[test]
fn every_call_type_is_covered() {
    let covered: BTreeSet<i32> = every_call()
        .iter()
        .map(|call| call.r#type.unwrap_or(0))
        .collect();
    let all: BTreeSet<i32> = (1..64)
        .filter(|n| call::Type::try_from(*n).is_ok())
        .collect();
    assert_eq!(covered, all);
    assert_eq!(all.len(), 17);
}

#[test]
fn every_event_type_is_covered() {
    let covered: BTreeSet<i32> = every_event()
        .iter()
        .map(|event| event.r#type.unwrap_or(0))
        .collect();
    let all: BTreeSet<i32> = (1..64)
        .filter(|n| event::Type::try_from(*n).is_ok())
        .collect();
    assert_eq!(covered, all);
    assert_eq!(all.len(), 11);
}

#[test]
fn calls_round_trip_through_protobuf() {
    for call in every_call() {
        let bytes = call.encode_to_vec();
        let back = Call::decode(bytes.as_slice()).expect("decodes");
        assert_eq!(back, call, "{:?}", call.r#type());
    }
}

#[test]
fn events_round_trip_through_protobuf_inside_recordio() {
    let events = every_event();
    let mut stream = Vec::new();
    for event in &events {
        recordio::encode_message(event, &mut stream);
    }
    let records = recordio::decode_all(&stream).expect("valid RecordIO");
    let back: Vec<Event> = records
        .iter()
        .map(|record| Event::decode(record.clone()).expect("decodes"))
        .collect();
    assert_eq!(back, events);
}

#[test]
fn calls_round_trip_through_json() {
    for call in every_call() {
        let text = json::to_json_string(&call).expect("writes");
        let back: Call = json::from_json_str(&text).expect("reads");
        assert_eq!(back, call, "{text}");
        let type_name = call.r#type().as_str_name();
        assert!(
            text.contains(&format!("\"type\":\"{type_name}\"")),
            "{text}"
        );
    }
}

#[test]
fn events_round_trip_through_json() {
    for event in every_event() {
        let text = json::to_json_string(&event).expect("writes");
        let back: Event = json::from_json_str(&text).expect("reads");
        assert_eq!(back, event, "{text}");
        let type_name = event.r#type().as_str_name();
        assert!(
            text.contains(&format!("\"type\":\"{type_name}\"")),
            "{text}"
        );
    }
}

#[test]
fn required_zero_enums_are_encoded_in_protobuf() {
    // Value.type = SCALAR (0) is field 1, varint: bytes 0x08 0x00.
    let value = v1::Value {
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: 1.0 }),
        ..Default::default()
    };
    assert!(value.encode_to_vec().starts_with(&[0x08, 0x00]));

    // Resource.type = SCALAR (0) is field 2, varint: bytes 0x10 0x00 after
    // the name (field 1).
    let cpus = scalar("cpus", 1.0);
    let bytes = cpus.encode_to_vec();
    assert_eq!(&bytes[..8], &[0x0a, 4, b'c', b'p', b'u', b's', 0x10, 0x00]);

    // TaskStatus.state = TASK_STARTING (0) is field 2, varint: 0x10 0x00
    // right after the task id (field 1).
    let status = v1::TaskStatus {
        task_id: v1::TaskId { value: "t".into() },
        state: v1::TaskState::TaskStarting as i32,
        ..Default::default()
    };
    assert_eq!(
        status.encode_to_vec(),
        vec![0x0a, 3, 0x0a, 1, b't', 0x10, 0x00]
    );
    assert_eq!(
        v1::TaskStatus::decode([0x0a, 3, 0x0a, 1, b't', 0x10, 0x00].as_slice())
            .expect("decodes")
            .state(),
        v1::TaskState::TaskStarting
    );

    // Value.Range with begin = 0 keeps both required fields.
    let range = value::Range { begin: 0, end: 0 };
    assert_eq!(range.encode_to_vec(), vec![0x08, 0x00, 0x10, 0x00]);
}

#[test]
fn proto2_defaults_apply_to_unset_optional_fields() {
    let resource = v1::Resource::default();
    assert_eq!(resource.role(), "*");
    assert_eq!(v1::Filters::default().refuse_seconds(), 5.0);
    assert!(v1::CommandInfo::default().shell());
    assert!(v1::command_info::Uri::default().extract());
    assert_eq!(v1::MasterInfo::default().port, 5050);
    assert_eq!(v1::HealthCheck::default().consecutive_failures(), 3);
    assert_eq!(
        v1::environment::Variable::default().r#type(),
        v1::environment::variable::Type::Value
    );
}
