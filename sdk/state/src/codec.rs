//! Value encodings: protobuf for Mesos messages, JSON for the scheduler's own records.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Result, StateError};

/// Encodes a protobuf message.
pub(crate) fn encode_proto<M: prost::Message>(message: &M) -> Vec<u8> {
    message.encode_to_vec()
}

/// Decodes the protobuf value read from `path`.
pub(crate) fn decode_proto<M: prost::Message + Default>(path: &str, bytes: &[u8]) -> Result<M> {
    M::decode(bytes).map_err(|e| StateError::decode(path, e))
}

/// Encodes a value as JSON for `path`.
pub(crate) fn encode_json<T: Serialize + ?Sized>(path: &str, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| StateError::encode(path, e))
}

/// Decodes the JSON value read from `path`.
pub(crate) fn decode_json<T: DeserializeOwned>(path: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StateError::decode(path, e))
}

/// Decodes the UTF-8 value read from `path`.
pub(crate) fn decode_utf8(path: &str, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| StateError::decode(path, e))
}
