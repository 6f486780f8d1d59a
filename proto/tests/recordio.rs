//! The RecordIO codec: framing, incremental decoding across arbitrary chunk
//! boundaries, and a clear error for every kind of malformed input.

use bytes::Bytes;
use stead_proto::recordio::{self, DEFAULT_MAX_RECORD_SIZE, Decoder, RecordIoError};

fn sample_records() -> Vec<Vec<u8>> {
    vec![
        b"hello".to_vec(),
        Vec::new(),
        b"\n\n1\n".to_vec(),
        (0..=255u8).collect(),
        vec![b'x'; 1234],
    ]
}

fn sample_stream() -> Vec<u8> {
    let mut stream = Vec::new();
    for record in sample_records() {
        recordio::encode(&record, &mut stream);
    }
    stream
}

/// Feeds `input` in the given pieces and collects records until the first error.
fn feed(decoder: &mut Decoder, pieces: &[&[u8]]) -> Result<Vec<Bytes>, RecordIoError> {
    let mut records = Vec::new();
    for piece in pieces {
        decoder.push(piece);
        while let Some(record) = decoder.next_record()? {
            records.push(record);
        }
    }
    Ok(records)
}

#[test]
fn encode_writes_decimal_length_newline_bytes() {
    let mut out = Vec::new();
    recordio::encode(b"hello", &mut out);
    recordio::encode(b"", &mut out);
    assert_eq!(out, b"5\nhello0\n");
    assert_eq!(recordio::encode_to_bytes(b"abc").as_ref(), b"3\nabc");
}

#[test]
fn content_types_are_the_mesos_ones() {
    assert_eq!(recordio::APPLICATION_PROTOBUF, "application/x-protobuf");
    assert_eq!(recordio::APPLICATION_JSON, "application/json");
    assert_eq!(recordio::RECORDIO, "application/recordio");
}

#[test]
fn decode_all_returns_every_record() {
    let records = recordio::decode_all(&sample_stream()).expect("valid stream");
    let expected: Vec<Bytes> = sample_records().into_iter().map(Bytes::from).collect();
    assert_eq!(records, expected);
}

#[test]
fn every_split_point_and_every_pair_of_split_points_gives_the_same_records() {
    let stream = sample_stream();
    let expected = recordio::decode_all(&stream).expect("valid stream");
    for first in 0..=stream.len() {
        let mut decoder = Decoder::new();
        let records = feed(&mut decoder, &[&stream[..first], &stream[first..]]).expect("valid");
        decoder.finish().expect("ends on a record boundary");
        assert_eq!(records, expected, "split at {first}");
    }
    // Three pieces around the short records at the front of the stream.
    for first in 0..40.min(stream.len()) {
        for second in first..=60.min(stream.len()) {
            let mut decoder = Decoder::new();
            let pieces = [&stream[..first], &stream[first..second], &stream[second..]];
            let records = feed(&mut decoder, &pieces).expect("valid");
            assert_eq!(records, expected, "split at {first} and {second}");
        }
    }
}

#[test]
fn a_partial_record_waits_for_more_input() {
    let mut decoder = Decoder::new();
    decoder.push(b"10\nhello");
    assert_eq!(decoder.next_record(), Ok(None));
    assert_eq!(
        decoder.finish(),
        Err(RecordIoError::Truncated { buffered: 5 })
    );
    decoder.push(b"world");
    assert_eq!(
        decoder.next_record(),
        Ok(Some(Bytes::from_static(b"helloworld")))
    );
    assert_eq!(decoder.next_record(), Ok(None));
    assert_eq!(decoder.finish(), Ok(()));

    let mut decoder = Decoder::new();
    decoder.push(b"12");
    assert_eq!(decoder.next_record(), Ok(None));
    assert_eq!(
        decoder.finish(),
        Err(RecordIoError::Truncated { buffered: 2 })
    );
}

#[test]
fn malformed_inputs_each_give_their_error() {
    let cases: &[(&[u8], RecordIoError)] = &[
        (b"\nabc", RecordIoError::EmptyHeader),
        (b"3\nabc\nabc", RecordIoError::EmptyHeader),
        (b"x\nabc", RecordIoError::InvalidHeaderByte(b'x')),
        (b"-1\n", RecordIoError::InvalidHeaderByte(b'-')),
        (b" 3\nabc", RecordIoError::InvalidHeaderByte(b' ')),
        (b"3 \nabc", RecordIoError::InvalidHeaderByte(b' ')),
        (b"3\r\nabc", RecordIoError::InvalidHeaderByte(b'\r')),
        (
            b"{\"type\":\"HEARTBEAT\"}",
            RecordIoError::InvalidHeaderByte(b'{'),
        ),
        (b"000000000000000000001\n", RecordIoError::HeaderTooLong),
        (b"99999999999999999999\n", RecordIoError::LengthOverflow),
        (
            b"18446744073709551615\n",
            RecordIoError::RecordTooLarge {
                len: u64::MAX,
                max: DEFAULT_MAX_RECORD_SIZE,
            },
        ),
        (
            b"67108865\n",
            RecordIoError::RecordTooLarge {
                len: 67_108_865,
                max: DEFAULT_MAX_RECORD_SIZE,
            },
        ),
    ];
    for (input, expected) in cases {
        let mut decoder = Decoder::new();
        let result = feed(&mut decoder, &[input]);
        assert_eq!(
            result.as_ref().err(),
            Some(expected),
            "{:?}",
            String::from_utf8_lossy(input)
        );
        assert!(!expected.to_string().is_empty());
        assert_eq!(recordio::decode_all(input).err().as_ref(), Some(expected));
    }
}

#[test]
fn the_error_is_sticky_and_input_after_it_is_dropped() {
    let mut decoder = Decoder::new();
    decoder.push(b"2\nokz\n");
    assert_eq!(decoder.next_record(), Ok(Some(Bytes::from_static(b"ok"))));
    assert_eq!(
        decoder.next_record(),
        Err(RecordIoError::InvalidHeaderByte(b'z'))
    );
    decoder.push(b"2\nok");
    assert_eq!(
        decoder.next_record(),
        Err(RecordIoError::InvalidHeaderByte(b'z'))
    );
    assert_eq!(
        decoder.finish(),
        Err(RecordIoError::InvalidHeaderByte(b'z'))
    );
}

#[test]
fn the_maximum_record_size_is_configurable() {
    let mut decoder = Decoder::with_max_record_size(4);
    assert_eq!(decoder.max_record_size(), 4);
    decoder.push(b"4\nabcd5\nabcde");
    assert_eq!(decoder.next_record(), Ok(Some(Bytes::from_static(b"abcd"))));
    assert_eq!(
        decoder.next_record(),
        Err(RecordIoError::RecordTooLarge { len: 5, max: 4 })
    );
}

#[test]
fn a_too_large_header_is_rejected_before_its_body_arrives() {
    let mut decoder = Decoder::with_max_record_size(1024);
    decoder.push(b"1025\n");
    assert_eq!(
        decoder.next_record(),
        Err(RecordIoError::RecordTooLarge {
            len: 1025,
            max: 1024
        })
    );
}

#[test]
fn a_twenty_digit_header_within_the_maximum_is_accepted() {
    let mut decoder = Decoder::new();
    decoder.push(b"00000000000000000003\nabc");
    assert_eq!(decoder.next_record(), Ok(Some(Bytes::from_static(b"abc"))));
}
