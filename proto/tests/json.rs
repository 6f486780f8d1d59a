//! Mesos's JSON form: the shapes the Mesos scheduler HTTP API docs show,
//! 64-bit integers written as numbers and read from numbers or strings.

use serde_json::{Value, json};
use stead_proto::json::{self, JsonError};
use stead_proto::scheduler::{Call, Event, call, event};
use stead_proto::v1::{self, value};

/// Parses `doc` as `T`, writes it back and checks the JSON is unchanged.
fn assert_json_round_trip<T>(doc: &Value) -> T
where
    T: serde::Serialize + serde::de::DeserializeOwned + prost::Name,
{
    let message: T = json::from_json_value(doc.clone()).expect("reads the documented form");
    let written = json::to_json_value(&message).expect("writes");
    assert_eq!(&written, doc);
    message
}

#[test]
fn subscribe_call_from_the_mesos_docs() {
    let doc = json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "foo", "name": "bar"}}});
    let call: Call = assert_json_round_trip(&doc);
    assert_eq!(call.r#type(), call::Type::Subscribe);
    let info = &call.subscribe.as_ref().expect("subscribe").framework_info;
    assert_eq!((info.user.as_str(), info.name.as_str()), ("foo", "bar"));
    assert_eq!(
        json::to_json_string(&call).expect("writes"),
        r#"{"subscribe":{"framework_info":{"name":"bar","user":"foo"}},"type":"SUBSCRIBE"}"#
    );
}

#[test]
fn resubscribe_call_carries_the_framework_id_twice() {
    let doc = json!({
        "framework_id": {"value": "12220-3440-12532-2345"},
        "type": "SUBSCRIBE",
        "subscribe": {
            "framework_info": {
                "user": "foo",
                "name": "Example HTTP Framework",
                "id": {"value": "12220-3440-12532-2345"},
                "roles": ["test1", "test2"],
                "capabilities": [{"type": "MULTI_ROLE"}],
                "failover_timeout": 604800.0
            }
        }
    });
    let call: Call = assert_json_round_trip(&doc);
    let info = &call.subscribe.as_ref().expect("subscribe").framework_info;
    assert_eq!(
        call.framework_id.as_ref().map(|id| id.value.as_str()),
        Some("12220-3440-12532-2345")
    );
    assert_eq!(
        info.id.as_ref().map(|id| id.value.as_str()),
        Some("12220-3440-12532-2345")
    );
    assert_eq!(
        info.capabilities[0].r#type(),
        v1::framework_info::capability::Type::MultiRole
    );
}

#[test]
fn accept_call_with_operations_and_filters() {
    let doc = json!({
        "framework_id": {"value": "12220-3440-12532-2345"},
        "type": "ACCEPT",
        "accept": {
            "offer_ids": [{"value": "12220-3440-12532-O12"}],
            "operations": [
                {
                    "type": "RESERVE",
                    "reserve": {"resources": [{
                        "name": "disk", "type": "SCALAR", "scalar": {"value": 2048.0},
                        "reservations": [{
                            "type": "DYNAMIC", "role": "data-store-role",
                            "principal": "data-store-principal",
                            "labels": {"labels": [{"key": "resource_id", "value": "9b0e"}]}
                        }]
                    }]}
                },
                {
                    "type": "CREATE",
                    "create": {"volumes": [{
                        "name": "disk", "type": "SCALAR", "scalar": {"value": 2048.0},
                        "reservations": [{"type": "DYNAMIC", "role": "data-store-role"}],
                        "disk": {
                            "persistence": {"id": "vol-9b0e", "principal": "data-store-principal"},
                            "volume": {"mode": "RW", "container_path": "data-path"}
                        }
                    }]}
                },
                {
                    "type": "LAUNCH",
                    "launch": {"task_infos": [{
                        "name": "My Task",
                        "task_id": {"value": "12220-3440-12532-my-task"},
                        "agent_id": {"value": "12220-3440-12532-S1233"},
                        "command": {
                            "shell": true,
                            "value": "sleep 1000",
                            "uris": [{"value": "http://storage/data.zip", "extract": true}]
                        },
                        "resources": [
                            {"name": "cpus", "role": "*", "type": "SCALAR", "scalar": {"value": 1.0}},
                            {"name": "mem", "role": "*", "type": "SCALAR", "scalar": {"value": 128.0}},
                            {"name": "ports", "role": "*", "type": "RANGES",
                             "ranges": {"range": [{"begin": 31000, "end": 31000}]}}
                        ],
                        "kill_policy": {"grace_period": {"nanoseconds": 30000000000i64}}
                    }]}
                }
            ],
            "filters": {"refuse_seconds": 5.0}
        }
    });
    let call: Call = assert_json_round_trip(&doc);
    let accept = call.accept.as_ref().expect("accept");
    assert_eq!(accept.operations.len(), 3);
    assert_eq!(
        accept.filters.as_ref().map(|f| f.refuse_seconds()),
        Some(5.0)
    );
    let task = &accept.operations[2]
        .launch
        .as_ref()
        .expect("launch")
        .task_infos[0];
    assert_eq!(
        task.resources[2].ranges.as_ref().expect("ranges").range[0].begin,
        31000
    );
    let volume = accept.operations[1]
        .create
        .as_ref()
        .expect("create")
        .volumes[0]
        .disk
        .as_ref()
        .and_then(|disk| disk.volume.as_ref())
        .expect("volume");
    assert_eq!(volume.mode(), v1::volume::Mode::Rw);
}

fn offers_event_doc() -> Value {
    json!({
        "type": "OFFERS",
        "offers": {"offers": [{
            "id": {"value": "12214-23523-O235235"},
            "framework_id": {"value": "12124-235325-32425"},
            "agent_id": {"value": "12325-23523-S23523"},
            "hostname": "agent.host",
            "resources": [
                {"name": "cpus", "type": "SCALAR", "scalar": {"value": 4.0}, "role": "*"},
                {"name": "ports", "type": "RANGES", "role": "*",
                 "ranges": {"range": [
                     {"begin": 31000, "end": 32000},
                     {"begin": 0, "end": 18446744073709551615u64}
                 ]}}
            ],
            "attributes": [
                {"name": "rack", "type": "TEXT", "text": {"value": "12345"}},
                {"name": "slots", "type": "RANGES", "ranges": {"range": [{"begin": 1, "end": 4}]}}
            ],
            "unavailability": {
                "start": {"nanoseconds": 1700000000123456789i64},
                "duration": {"nanoseconds": -1}
            }
        }]}
    })
}

#[test]
fn offers_event_with_ranges_writes_64_bit_numbers_as_numbers() {
    let doc = offers_event_doc();
    let event: Event = assert_json_round_trip(&doc);
    assert_eq!(event.r#type(), event::Type::Offers);
    let offer = &event.offers.as_ref().expect("offers").offers[0];
    let ranges = &offer.resources[1].ranges.as_ref().expect("ranges").range;
    assert_eq!((ranges[0].begin, ranges[0].end), (31000, 32000));
    assert_eq!((ranges[1].begin, ranges[1].end), (0, u64::MAX));
    let unavailability = offer.unavailability.as_ref().expect("unavailability");
    assert_eq!(unavailability.start.nanoseconds, 1_700_000_000_123_456_789);

    let text = json::to_json_string(&event).expect("writes");
    assert!(text.contains(r#"{"begin":31000,"end":32000}"#), "{text}");
    assert!(
        text.contains(r#"{"begin":0,"end":18446744073709551615}"#),
        "{text}"
    );
    assert!(
        text.contains(r#""nanoseconds":1700000000123456789"#),
        "{text}"
    );
    assert!(text.contains(r#""nanoseconds":-1"#), "{text}");
}

#[test]
fn wide_integers_are_read_from_strings_too() {
    let mut doc = offers_event_doc();
    let offer = &mut doc["offers"]["offers"][0];
    offer["resources"][1]["ranges"]["range"][0] = json!({"begin": "31000", "end": "32000"});
    offer["unavailability"]["start"]["nanoseconds"] = json!("1700000000123456789");
    let from_strings: Event = json::from_json_value(doc).expect("reads strings");
    let from_numbers: Event = json::from_json_value(offers_event_doc()).expect("reads numbers");
    assert_eq!(from_strings, from_numbers);
}

#[test]
fn numeric_looking_strings_stay_strings() {
    let status = v1::TaskStatus {
        task_id: v1::TaskId {
            value: "9007199254740993".into(),
        },
        state: v1::TaskState::TaskRunning as i32,
        message: Some("123".into()),
        labels: Some(v1::Labels {
            labels: vec![v1::Label {
                key: "42".into(),
                value: Some("18446744073709551615".into()),
            }],
        }),
        ..Default::default()
    };
    let written = json::to_json_value(&status).expect("writes");
    assert_eq!(written["task_id"]["value"], json!("9007199254740993"));
    assert_eq!(written["message"], json!("123"));
    assert_eq!(
        written["labels"]["labels"][0],
        json!({"key": "42", "value": "18446744073709551615"})
    );

    // Inside an offer too: the TEXT attribute "12345" and the hostname stay strings.
    let mut doc = offers_event_doc();
    doc["offers"]["offers"][0]["hostname"] = json!("12345");
    let event: Event = json::from_json_value(doc.clone()).expect("reads");
    let written = json::to_json_value(&event).expect("writes");
    assert_eq!(written["offers"]["offers"][0]["hostname"], json!("12345"));
    assert_eq!(
        written["offers"]["offers"][0]["attributes"][0]["text"]["value"],
        json!("12345")
    );
    assert_eq!(written, doc);
}

#[test]
fn wide_values_nested_in_messages_become_numbers_and_maps_stay_objects() {
    let info = v1::TaskInfo {
        name: "t".into(),
        task_id: v1::TaskId { value: "t".into() },
        agent_id: v1::AgentId { value: "a".into() },
        max_completion_time: Some(v1::DurationInfo {
            nanoseconds: 5_000_000_000,
        }),
        limits: [("cpus".to_string(), value::Scalar { value: 2.0 })].into(),
        ..Default::default()
    };
    let written = json::to_json_value(&info).expect("writes");
    assert_eq!(
        written["max_completion_time"]["nanoseconds"],
        json!(5_000_000_000i64)
    );
    assert_eq!(written["limits"], json!({"cpus": {"value": 2.0}}));
}

#[test]
fn required_zero_enums_are_written_in_json() {
    let cpus = v1::Resource {
        name: "cpus".into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: 0.5 }),
        ..Default::default()
    };
    assert_eq!(
        json::to_json_value(&cpus).expect("writes"),
        json!({"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}})
    );
    let status = v1::TaskStatus {
        task_id: v1::TaskId { value: "t".into() },
        state: v1::TaskState::TaskStarting as i32,
        ..Default::default()
    };
    assert_eq!(
        json::to_json_value(&status).expect("writes"),
        json!({"task_id": {"value": "t"}, "state": "TASK_STARTING"})
    );
    let range = value::Range { begin: 0, end: 0 };
    assert_eq!(
        json::to_json_value(&range).expect("writes"),
        json!({"begin": 0, "end": 0})
    );
}

#[test]
fn bytes_are_base64() {
    let call = Call {
        r#type: Some(call::Type::Acknowledge as i32),
        acknowledge: Some(call::Acknowledge {
            agent_id: v1::AgentId { value: "a".into() },
            task_id: v1::TaskId { value: "t".into() },
            uuid: vec![0, 1, 2, 3, 0xfb, 0xff],
        }),
        ..Default::default()
    };
    let written = json::to_json_value(&call).expect("writes");
    assert_eq!(written["acknowledge"]["uuid"], json!("AAECA/v/"));
    let back: Call = json::from_json_value(written).expect("reads");
    assert_eq!(back, call);
}

#[test]
fn unknown_fields_are_ignored_on_input() {
    let doc = json!({
        "type": "SUBSCRIBE",
        "some_future_field": {"nested": [1, 2, 3]},
        "subscribe": {
            "framework_info": {"user": "foo", "name": "bar", "future": true},
            "offer_constraints": {"role_constraints": {}}
        }
    });
    let call: Call = json::from_json_value(doc).expect("ignores unknown fields");
    assert_eq!(
        call.subscribe.expect("subscribe").framework_info.name,
        "bar"
    );
}

#[test]
fn malformed_json_is_a_decode_error_naming_the_message() {
    let error = json::from_json_str::<Call>("{\"type\": ").expect_err("truncated JSON");
    assert!(matches!(error, JsonError::Decode { .. }));
    assert!(
        error.to_string().contains("mesos.v1.scheduler.Call"),
        "{error}"
    );

    // A required field missing.
    let error = json::from_json_str::<v1::TaskId>("{}").expect_err("value is required");
    assert!(error.to_string().contains("value"), "{error}");

    // An enum name Stead does not know.
    let error =
        json::from_json_str::<Call>(r#"{"type": "NO_SUCH_CALL"}"#).expect_err("unknown enum");
    assert!(matches!(error, JsonError::Decode { .. }));

    // A 64-bit field holding text.
    let error = json::from_json_str::<v1::TimeInfo>(r#"{"nanoseconds": "soon"}"#)
        .expect_err("not a number");
    assert!(matches!(error, JsonError::Decode { .. }));
}

#[test]
fn an_undefined_enum_number_is_an_encode_error() {
    // Protobuf decoding keeps enum numbers it does not know; JSON needs a name.
    let call = Call {
        r#type: Some(999),
        ..Default::default()
    };
    let error = json::to_json_string(&call).expect_err("no name for 999");
    assert!(matches!(error, JsonError::Encode { .. }));
}

#[test]
fn doubles_round_trip_exactly() {
    // Every double read back from JSON is the one written, to the last bit: 100,000
    // finite doubles of every magnitude (a fixed seed, so a failure repeats).
    let mut rng = fastrand::Rng::with_seed(19);
    let mut changed = Vec::new();
    for _ in 0..100_000 {
        let value = f64::from_bits(rng.u64(..));
        if !value.is_finite() {
            continue;
        }
        let scalar = v1::value::Scalar { value };
        let text = json::to_json_string(&scalar).expect("writes");
        let back: v1::value::Scalar = json::from_json_str(&text).expect("reads");
        if back.value.to_bits() != value.to_bits() {
            changed.push((value, text));
        }
    }
    assert!(
        changed.is_empty(),
        "{} changed, e.g. {:?}",
        changed.len(),
        changed.first()
    );
}

#[test]
fn nan_and_infinity_are_refused_naming_the_field() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let offer = v1::Resource {
            name: "cpus".into(),
            r#type: value::Type::Scalar as i32,
            scalar: Some(value::Scalar { value: bad }),
            ..Default::default()
        };
        let call = Call {
            r#type: Some(call::Type::Request as i32),
            request: Some(call::Request {
                requests: vec![v1::Request {
                    resources: vec![offer],
                    ..Default::default()
                }],
            }),
            ..Default::default()
        };
        let error = json::to_json_string(&call).expect_err("no JSON for a non-finite number");
        match &error {
            JsonError::NonFinite { message, field } => {
                assert_eq!(message, "mesos.v1.scheduler.Call");
                assert_eq!(field, "request.requests[0].resources[0].scalar.value");
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert!(error.to_string().contains("NaN or infinite"), "{error}");
    }
}
