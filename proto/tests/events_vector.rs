//! Decodes `events.bin`, the RecordIO protobuf event stream captured from a
//! real Apache Mesos master (see `shared/mesos-vectors/README.md`).

use std::path::PathBuf;

use bytes::Bytes;
use prost::Message;
use stead_proto::recordio::{self, Decoder};
use stead_proto::scheduler::{Event, event};
use stead_proto::{json, v1};

/// Reads the vector; `None` (with a loud warning) when it is absent, unless
/// `CI=true`, where its absence fails the test.
fn events_bin() -> Option<Vec<u8>> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/mesos-vectors/events.bin");
    match std::fs::read(&path) {
        Ok(data) => Some(data),
        Err(error) => {
            let ci = std::env::var("CI").is_ok_and(|value| value == "true");
            assert!(
                !ci,
                "CI=true and the Mesos vector {} is unreadable: {error}",
                path.display()
            );
            eprintln!(
                "\n\n!!!!!! WARNING: Mesos vector {} is unreadable ({error}); \
                 the events.bin checks were SKIPPED !!!!!!\n\n",
                path.display()
            );
            None
        }
    }
}

fn decode_events(records: &[Bytes]) -> Vec<Event> {
    records
        .iter()
        .enumerate()
        .map(|(index, record)| {
            Event::decode(record.clone()).unwrap_or_else(|error| panic!("record {index}: {error}"))
        })
        .collect()
}

#[test]
fn every_record_of_the_real_master_stream_decodes() {
    let Some(data) = events_bin() else { return };
    let records = recordio::decode_all(&data).expect("events.bin is valid RecordIO");
    assert_eq!(records.len(), 42);
    let events = decode_events(&records);

    let count = |kind: event::Type| events.iter().filter(|event| event.r#type() == kind).count();
    assert_eq!(count(event::Type::Subscribed), 1);
    assert_eq!(count(event::Type::Heartbeat), 14);
    assert_eq!(count(event::Type::Offers), 27);

    let subscribed = events[0]
        .subscribed
        .as_ref()
        .expect("first event is SUBSCRIBED");
    assert_eq!(events[0].r#type(), event::Type::Subscribed);
    assert!(!subscribed.framework_id.value.is_empty());

    for event in events
        .iter()
        .filter(|event| event.r#type() == event::Type::Offers)
    {
        let offers = &event.offers.as_ref().expect("OFFERS carries offers").offers;
        assert!(!offers.is_empty());
        for offer in offers {
            assert!(!offer.hostname.is_empty());
            let names: Vec<&str> = offer.resources.iter().map(|r| r.name.as_str()).collect();
            for expected in ["cpus", "mem", "disk", "ports"] {
                assert!(
                    names.contains(&expected),
                    "offer lacks {expected}: {names:?}"
                );
            }
            for resource in &offer.resources {
                assert_eq!(resource.role(), "*", "{resource:?}");
                match resource.name.as_str() {
                    "ports" => {
                        assert_eq!(resource.r#type(), v1::value::Type::Ranges);
                        let ranges = &resource.ranges.as_ref().expect("port ranges").range;
                        assert!(!ranges.is_empty());
                        assert!(ranges.iter().all(|range| range.begin <= range.end));
                    }
                    _ => {
                        assert_eq!(resource.r#type(), v1::value::Type::Scalar);
                        assert!(resource.scalar.as_ref().expect("scalar").value > 0.0);
                    }
                }
            }
        }
    }
}

#[test]
fn real_events_survive_protobuf_and_json_round_trips() {
    let Some(data) = events_bin() else { return };
    let records = recordio::decode_all(&data).expect("events.bin is valid RecordIO");
    for (record, event) in records.iter().zip(decode_events(&records)) {
        // Re-encoding gives back the very bytes Mesos sent.
        assert_eq!(event.encode_to_vec(), record.as_ref());

        let text = json::to_json_string(&event).expect("event as JSON");
        assert!(
            !text.contains("\"begin\":\""),
            "64-bit written as string: {text}"
        );
        let back: Event = json::from_json_str(&text).expect("event from JSON");
        assert_eq!(back, event);
    }
}

#[test]
fn stream_split_at_every_byte_boundary_gives_the_same_records() {
    let Some(data) = events_bin() else { return };
    let expected = recordio::decode_all(&data).expect("events.bin is valid RecordIO");
    for split in 0..=data.len() {
        let mut decoder = Decoder::new();
        let mut records = Vec::new();
        for part in [&data[..split], &data[split..]] {
            decoder.push(part);
            while let Some(record) = decoder.next_record().expect("valid stream") {
                records.push(record);
            }
        }
        decoder.finish().expect("ends on a record boundary");
        assert_eq!(records, expected, "split at byte {split}");
    }
}

#[test]
fn stream_fed_one_byte_at_a_time_gives_the_same_records() {
    let Some(data) = events_bin() else { return };
    let expected = recordio::decode_all(&data).expect("events.bin is valid RecordIO");
    let mut decoder = Decoder::new();
    let mut records = Vec::new();
    for byte in &data {
        decoder.push(std::slice::from_ref(byte));
        while let Some(record) = decoder.next_record().expect("valid stream") {
            records.push(record);
        }
    }
    decoder.finish().expect("ends on a record boundary");
    assert_eq!(records, expected);
}
