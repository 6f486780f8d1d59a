//! Fuzz targets of the Mesos decoders: RecordIO framing, and `Call` and `Event` from
//! protobuf and from JSON. Each checks, besides "no panic", that what decodes encodes
//! back to something that decodes to the same message.

use bytes::Bytes;
use prost::Message;
use stead_fuzz::fuzz;
use stead_proto::recordio::{self, Decoder};
use stead_proto::scheduler::{Call, Event, call, event};
use stead_proto::{json, v1};

/// Generated inputs per target: each target takes 3 to 6 s in a debug build on one core.
const ITERATIONS: usize = 1_000_000;

fn framework_info() -> v1::FrameworkInfo {
    v1::FrameworkInfo {
        user: "root".into(),
        name: "data-store".into(),
        id: Some(v1::FrameworkId {
            value: "c0ffee-0001".into(),
        }),
        failover_timeout: Some(604_800.0),
        roles: vec!["data-store-role".into()],
        ..Default::default()
    }
}

fn sample_calls() -> Vec<Call> {
    let resources = vec![v1::Resource {
        name: "cpus".into(),
        r#type: v1::value::Type::Scalar as i32,
        scalar: Some(v1::value::Scalar { value: 0.1 }),
        ..Default::default()
    }];
    vec![
        Call {
            r#type: Some(call::Type::Subscribe as i32),
            subscribe: Some(call::Subscribe {
                framework_info: framework_info(),
                suppressed_roles: vec![],
            }),
            ..Default::default()
        },
        Call {
            framework_id: framework_info().id,
            r#type: Some(call::Type::Decline as i32),
            decline: Some(call::Decline {
                offer_ids: vec![v1::OfferId {
                    value: "o-1".into(),
                }],
                filters: Some(v1::Filters {
                    refuse_seconds: Some(5.0),
                }),
            }),
            ..Default::default()
        },
        Call {
            r#type: Some(call::Type::Request as i32),
            request: Some(call::Request {
                requests: vec![v1::Request {
                    resources,
                    ..Default::default()
                }],
            }),
            ..Default::default()
        },
    ]
}

fn sample_events() -> Vec<Event> {
    vec![
        Event {
            r#type: Some(event::Type::Subscribed as i32),
            subscribed: Some(event::Subscribed {
                framework_id: v1::FrameworkId {
                    value: "c0ffee-0001".into(),
                },
                heartbeat_interval_seconds: Some(15.0),
                ..Default::default()
            }),
            ..Default::default()
        },
        Event {
            r#type: Some(event::Type::Heartbeat as i32),
            ..Default::default()
        },
    ]
}

fn protobuf_samples<M: Message>(messages: &[M]) -> Vec<Vec<u8>> {
    messages.iter().map(Message::encode_to_vec).collect()
}

fn json_samples<M: serde::Serialize + prost::Name>(messages: &[M]) -> Vec<Vec<u8>> {
    messages
        .iter()
        .map(|m| json::to_json_vec(m).expect("samples are finite"))
        .collect()
}

/// Decoded protobuf `M` re-encodes to bytes that decode to the same message (compared
/// by their encoding, so that a NaN equals itself).
fn protobuf_round_trip<M: Message + Default + PartialEq + std::fmt::Debug>(
    input: &[u8],
    decode: impl Fn(&[u8]) -> Option<M>,
) -> Result<(), String> {
    let Some(message) = decode(input) else {
        return Ok(());
    };
    let again = decode(&message.encode_to_vec())
        .ok_or_else(|| format!("{message:?} re-encoded does not decode"))?;
    if again.encode_to_vec() != message.encode_to_vec() {
        return Err(format!("{message:?} became {again:?}"));
    }
    Ok(())
}

/// Decoded JSON `M` is written back (or refused as non-finite) and read back the same.
fn json_round_trip<M>(input: &[u8]) -> Result<(), String>
where
    M: serde::Serialize + serde::de::DeserializeOwned + prost::Name + PartialEq + std::fmt::Debug,
{
    let Ok(message) = json::from_json_slice::<M>(input) else {
        return Ok(());
    };
    let written = match json::to_json_vec(&message) {
        Ok(written) => written,
        // NaN and infinity (read from "NaN" or "Infinity") are refused, never `null`.
        Err(json::JsonError::NonFinite { .. }) => return Ok(()),
        // A number for an enum the message does not define has no JSON name.
        Err(json::JsonError::Encode { .. }) => return Ok(()),
        Err(e) => return Err(format!("{message:?}: {e}")),
    };
    let again = json::from_json_slice::<M>(&written).map_err(|e| {
        format!(
            "{} does not read back: {e}",
            String::from_utf8_lossy(&written)
        )
    })?;
    if again != message {
        return Err(format!("{message:?} became {again:?}"));
    }
    Ok(())
}

#[test]
fn fuzz_recordio_decoder() {
    let mut stream = Vec::new();
    for event in sample_events() {
        recordio::encode_message(&event, &mut stream);
    }
    let samples = vec![stream, b"0\n".to_vec(), b"5\nhello3\nabc".to_vec()];
    fuzz("recordio", ITERATIONS, &samples, |input| {
        let whole = recordio::decode_all(input);
        // The same bytes in chunks of every size give the same records or error.
        let chunk = 1 + input.len() % 7;
        let mut decoder = Decoder::new();
        let mut records: Vec<Bytes> = Vec::new();
        let mut chunked = Ok(());
        'feed: for piece in input.chunks(chunk) {
            decoder.push(piece);
            loop {
                match decoder.next_record() {
                    Ok(Some(record)) => records.push(record),
                    Ok(None) => break,
                    Err(e) => {
                        chunked = Err(e);
                        break 'feed;
                    }
                }
            }
        }
        let chunked = chunked.and_then(|()| decoder.finish()).map(|()| records);
        match (&whole, &chunked) {
            (Ok(a), Ok(b)) if a == b => {}
            (Err(_), Err(_)) => {}
            _ => {
                return Err(format!(
                    "whole {whole:?} but in chunks of {chunk} {chunked:?}"
                ));
            }
        }
        // Records re-framed decode to themselves.
        if let Ok(records) = whole {
            let mut framed = Vec::new();
            for record in &records {
                recordio::encode(record, &mut framed);
            }
            if recordio::decode_all(&framed).as_ref() != Ok(&records) {
                return Err("re-framed records differ".into());
            }
        }
        Ok(())
    });
}

#[test]
fn fuzz_call_protobuf() {
    fuzz(
        "call-protobuf",
        ITERATIONS,
        &protobuf_samples(&sample_calls()),
        |input| protobuf_round_trip(input, |b| stead_proto::decode::decode_call(b).ok()),
    );
}

#[test]
fn fuzz_event_protobuf() {
    fuzz(
        "event-protobuf",
        ITERATIONS,
        &protobuf_samples(&sample_events()),
        |input| protobuf_round_trip(input, |b| Event::decode(b).ok()),
    );
}

#[test]
fn fuzz_call_json() {
    fuzz(
        "call-json",
        ITERATIONS,
        &json_samples(&sample_calls()),
        json_round_trip::<Call>,
    );
}

#[test]
fn fuzz_event_json() {
    fuzz(
        "event-json",
        ITERATIONS,
        &json_samples(&sample_events()),
        json_round_trip::<Event>,
    );
}
