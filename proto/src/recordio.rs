//! RecordIO framing of the Mesos event stream: each record is
//! `<decimal length>\n<length bytes>`.
//!
//! [`encode`] frames one record; [`Decoder`] takes the stream in arbitrary
//! chunks and yields whole records, rejecting garbage with a
//! [`RecordIoError`] rather than panicking or buffering without bound.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Content type of protobuf bodies: `application/x-protobuf`.
pub const APPLICATION_PROTOBUF: &str = "application/x-protobuf";
/// Content type of JSON bodies: `application/json`.
pub const APPLICATION_JSON: &str = "application/json";
/// Content type of a RecordIO stream: `application/recordio`.
pub const RECORDIO: &str = "application/recordio";
/// Header naming the content type of the records inside a RecordIO stream.
pub const MESSAGE_CONTENT_TYPE: &str = "Message-Content-Type";
/// Header naming the Accept type of the records inside a RecordIO stream.
pub const MESSAGE_ACCEPT: &str = "Message-Accept";

/// The most digits a length header may have (`u64::MAX` has 20).
pub const MAX_HEADER_DIGITS: usize = 20;
/// The default largest record a [`Decoder`] accepts: 64 MiB.
pub const DEFAULT_MAX_RECORD_SIZE: usize = 64 * 1024 * 1024;

/// Appends one RecordIO record (`<len>\n<record>`) to `out`.
pub fn encode(record: &[u8], out: &mut impl BufMut) {
    out.put_slice(record.len().to_string().as_bytes());
    out.put_u8(b'\n');
    out.put_slice(record);
}

/// Returns one RecordIO record (`<len>\n<record>`) as a buffer.
pub fn encode_to_bytes(record: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(record.len() + MAX_HEADER_DIGITS + 1);
    encode(record, &mut out);
    out.freeze()
}

/// Appends a protobuf message as one RecordIO record to `out`.
pub fn encode_message(message: &impl prost::Message, out: &mut impl BufMut) {
    encode(&message.encode_to_vec(), out);
}

/// Splits a complete RecordIO byte sequence into its records.
pub fn decode_all(data: &[u8]) -> Result<Vec<Bytes>, RecordIoError> {
    let mut decoder = Decoder::new();
    decoder.push(data);
    let mut records = Vec::new();
    while let Some(record) = decoder.next_record()? {
        records.push(record);
    }
    decoder.finish()?;
    Ok(records)
}

/// A malformed RecordIO stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordIoError {
    /// A length header was empty (a `\n` with no digits before it).
    #[error("RecordIO: empty length header")]
    EmptyHeader,
    /// A length header held a byte other than an ASCII digit.
    #[error("RecordIO: unexpected byte 0x{0:02x} in length header")]
    InvalidHeaderByte(u8),
    /// A length header had more than [`MAX_HEADER_DIGITS`] digits.
    #[error("RecordIO: length header longer than {MAX_HEADER_DIGITS} digits")]
    HeaderTooLong,
    /// A length header does not fit in a machine integer.
    #[error("RecordIO: record length overflows")]
    LengthOverflow,
    /// A record is larger than the decoder's maximum.
    #[error("RecordIO: record of {len} bytes exceeds the maximum of {max} bytes")]
    RecordTooLarge {
        /// The announced record length.
        len: u64,
        /// The decoder's maximum record size.
        max: usize,
    },
    /// The stream ended in the middle of a record.
    #[error("RecordIO: stream ended inside a record ({buffered} bytes buffered)")]
    Truncated {
        /// Bytes of the unfinished record (header included) received.
        buffered: usize,
    },
}

/// Where the decoder is within the current record.
#[derive(Debug, Clone, Copy)]
enum State {
    /// Reading the length header: the value and digit count so far.
    Header { len: u64, digits: usize },
    /// Waiting for `len` body bytes.
    Body { len: usize },
}

/// An incremental RecordIO decoder: [`push`](Self::push) chunks as they
/// arrive, then call [`next_record`](Self::next_record) until it returns
/// `Ok(None)`. After an error the decoder keeps returning that error.
#[derive(Debug)]
pub struct Decoder {
    buffer: BytesMut,
    state: State,
    max_record_size: usize,
    error: Option<RecordIoError>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder accepting records up to [`DEFAULT_MAX_RECORD_SIZE`].
    pub fn new() -> Self {
        Self::with_max_record_size(DEFAULT_MAX_RECORD_SIZE)
    }

    /// A decoder accepting records up to `max_record_size` bytes.
    pub fn with_max_record_size(max_record_size: usize) -> Self {
        Self {
            buffer: BytesMut::new(),
            state: State::Header { len: 0, digits: 0 },
            max_record_size,
            error: None,
        }
    }

    /// The largest record this decoder accepts.
    pub fn max_record_size(&self) -> usize {
        self.max_record_size
    }

    /// Feeds the next chunk of the stream.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.error.is_none() {
            self.buffer.extend_from_slice(chunk);
        }
    }

    /// Returns the next complete record, `Ok(None)` if more input is needed,
    /// or the error that made the stream unreadable.
    pub fn next_record(&mut self) -> Result<Option<Bytes>, RecordIoError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        match self.advance() {
            Ok(record) => Ok(record),
            Err(error) => {
                self.buffer.clear();
                self.error = Some(error.clone());
                Err(error)
            }
        }
    }

    /// Checks that the stream ended on a record boundary (call at EOF).
    pub fn finish(&self) -> Result<(), RecordIoError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        match self.state {
            State::Header { digits: 0, .. } if self.buffer.is_empty() => Ok(()),
            State::Header { digits, .. } => Err(RecordIoError::Truncated {
                buffered: digits + self.buffer.len(),
            }),
            State::Body { .. } => Err(RecordIoError::Truncated {
                buffered: self.buffer.len(),
            }),
        }
    }

    fn advance(&mut self) -> Result<Option<Bytes>, RecordIoError> {
        loop {
            match self.state {
                State::Header { len, digits } => {
                    if !self.buffer.has_remaining() {
                        return Ok(None);
                    }
                    let byte = self.buffer.get_u8();
                    match byte {
                        b'0'..=b'9' => {
                            if digits == MAX_HEADER_DIGITS {
                                return Err(RecordIoError::HeaderTooLong);
                            }
                            let len = len
                                .checked_mul(10)
                                .and_then(|len| len.checked_add(u64::from(byte - b'0')))
                                .ok_or(RecordIoError::LengthOverflow)?;
                            self.state = State::Header {
                                len,
                                digits: digits + 1,
                            };
                        }
                        b'\n' if digits == 0 => return Err(RecordIoError::EmptyHeader),
                        b'\n' => {
                            let max = self.max_record_size;
                            let too_large = RecordIoError::RecordTooLarge { len, max };
                            let len = usize::try_from(len).map_err(|_| too_large.clone())?;
                            if len > max {
                                return Err(too_large);
                            }
                            self.state = State::Body { len };
                        }
                        other => return Err(RecordIoError::InvalidHeaderByte(other)),
                    }
                }
                State::Body { len } => {
                    if self.buffer.len() < len {
                        self.buffer.reserve(len - self.buffer.len());
                        return Ok(None);
                    }
                    let record = self.buffer.split_to(len).freeze();
                    self.state = State::Header { len: 0, digits: 0 };
                    return Ok(Some(record));
                }
            }
        }
    }
}
