//! Mesos's JSON form of the protocol messages.
//!
//! Field names are the proto field names (snake_case), enums are written as
//! their names, bytes as standard base64, unknown fields are ignored on
//! input. 64-bit integers (`int64`, `uint64`, ...) are **written as JSON
//! numbers** (Mesos and third-party clients such as Go decoders of
//! `Value.Range.begin` expect numbers) and **read from numbers or strings**.
//!
//! Which fields are 64-bit is derived from the `.proto` descriptors at build
//! time, so a string field that happens to hold `"123"` stays a string.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Number, Value};

/// Where the 64-bit integers of a message live: one entry per field that is
/// a 64-bit integer or leads to one.
pub(crate) struct WideField {
    /// The field's JSON (proto) name.
    json_name: &'static str,
    /// Whether the field is a map (its JSON is an object of values).
    map: bool,
    /// What the field (or each element / map value) is.
    shape: FieldShape,
}

/// What a [`WideField`] holds.
pub(crate) enum FieldShape {
    /// A 64-bit integer.
    Wide { signed: bool },
    /// A message (by full name) that contains 64-bit integers.
    Message(&'static str),
}

include!(concat!(env!("OUT_DIR"), "/wide_fields.rs"));

/// An error converting a message to or from JSON.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The input is not valid JSON for the expected message.
    #[error("invalid JSON for {message}: {source}")]
    Decode {
        /// The expected message's full proto name.
        message: String,
        /// The underlying parse error (with line and column).
        source: serde_json::Error,
    },
    /// The message cannot be written as JSON (e.g. an enum field holds a
    /// number its enum does not define).
    #[error("cannot write {message} as JSON: {source}")]
    Encode {
        /// The message's full proto name.
        message: String,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// The message holds a NaN or infinite number, which JSON cannot express (it would
    /// otherwise be written as `null`, and read back as a missing field).
    #[error("cannot write {message} as JSON: field {field} is NaN or infinite")]
    NonFinite {
        /// The message's full proto name.
        message: String,
        /// Where the number is, e.g. `resources[0].scalar.value`.
        field: String,
    },
}

/// Converts a message to a JSON value in Mesos's form.
pub fn to_json_value<T: Serialize + prost::Name>(message: &T) -> Result<Value, JsonError> {
    let mut value = serde_json::to_value(message).map_err(|source| JsonError::Encode {
        message: T::full_name(),
        source,
    })?;
    if let Some(field) = null_field(&value) {
        return Err(JsonError::NonFinite {
            message: T::full_name(),
            field,
        });
    }
    widen_numbers(&mut value, &T::full_name());
    Ok(value)
}

/// The path of the first `null` in `value`, if any. The generated serializers leave
/// unset fields out and never write `null` themselves, so a `null` is always a NaN or
/// infinite float that serde_json could not write as a number.
fn null_field(value: &Value) -> Option<String> {
    match value {
        Value::Null => Some(String::new()),
        Value::Array(elements) => elements.iter().enumerate().find_map(|(i, element)| {
            null_field(element).map(|rest| format!("[{i}]{}", dotted(&rest)))
        }),
        Value::Object(fields) => fields.iter().find_map(|(name, field)| {
            null_field(field).map(|rest| format!("{name}{}", dotted(&rest)))
        }),
        Value::Bool(_) | Value::Number(_) | Value::String(_) => None,
    }
}

/// `rest` as the continuation of a path: `.name` for a field, `[i]` as is.
fn dotted(rest: &str) -> String {
    if rest.is_empty() || rest.starts_with('[') {
        rest.to_string()
    } else {
        format!(".{rest}")
    }
}

/// Converts a message to a JSON string in Mesos's form.
pub fn to_json_string<T: Serialize + prost::Name>(message: &T) -> Result<String, JsonError> {
    Ok(to_json_value(message)?.to_string())
}

/// Converts a message to JSON bytes in Mesos's form (e.g. an HTTP body).
pub fn to_json_vec<T: Serialize + prost::Name>(message: &T) -> Result<Vec<u8>, JsonError> {
    Ok(to_json_value(message)?.to_string().into_bytes())
}

/// Parses a message from JSON bytes (64-bit integers as numbers or strings).
pub fn from_json_slice<T: DeserializeOwned + prost::Name>(bytes: &[u8]) -> Result<T, JsonError> {
    serde_json::from_slice(bytes).map_err(|source| JsonError::Decode {
        message: T::full_name(),
        source,
    })
}

/// Parses a message from a JSON string (64-bit integers as numbers or strings).
pub fn from_json_str<T: DeserializeOwned + prost::Name>(text: &str) -> Result<T, JsonError> {
    from_json_slice(text.as_bytes())
}

/// Parses a message from a JSON value (64-bit integers as numbers or strings).
pub fn from_json_value<T: DeserializeOwned + prost::Name>(value: Value) -> Result<T, JsonError> {
    serde_json::from_value(value).map_err(|source| JsonError::Decode {
        message: T::full_name(),
        source,
    })
}

/// Rewrites, in a JSON value holding the message `full_name` (e.g.
/// `"mesos.v1.Offer"`), every 64-bit integer written as a string into a JSON
/// number. Other fields are left untouched.
pub fn widen_numbers(value: &mut Value, full_name: &str) {
    let Some(fields) = wide_fields(full_name) else {
        return;
    };
    let Value::Object(object) = value else {
        return;
    };
    for field in fields {
        let Some(field_value) = object.get_mut(field.json_name) else {
            continue;
        };
        if field.map {
            if let Value::Object(entries) = field_value {
                for entry in entries.values_mut() {
                    widen_element(entry, &field.shape);
                }
            }
        } else if let Value::Array(elements) = field_value {
            for element in elements {
                widen_element(element, &field.shape);
            }
        } else {
            widen_element(field_value, &field.shape);
        }
    }
}

fn widen_element(value: &mut Value, shape: &FieldShape) {
    match shape {
        FieldShape::Message(name) => widen_numbers(value, name),
        FieldShape::Wide { signed } => {
            let Value::String(text) = value else {
                return;
            };
            let number = if *signed {
                text.parse::<i64>().ok().map(Number::from)
            } else {
                text.parse::<u64>().ok().map(Number::from)
            };
            if let Some(number) = number {
                *value = Value::Number(number);
            }
        }
    }
}

fn wide_fields(full_name: &str) -> Option<&'static [WideField]> {
    WIDE_FIELDS
        .binary_search_by(|(name, _)| (*name).cmp(full_name))
        .ok()
        .map(|index| WIDE_FIELDS[index].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(WIDE_FIELDS.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }

    #[test]
    fn table_knows_the_wide_leaves() {
        for name in [
            "mesos.v1.Value.Range",
            "mesos.v1.TimeInfo",
            "mesos.v1.DurationInfo",
        ] {
            assert!(wide_fields(name).is_some(), "{name} missing");
        }
        assert!(wide_fields("mesos.v1.Label").is_none());
        assert!(wide_fields("mesos.v1.scheduler.Event").is_some());
        assert!(wide_fields("mesos.v1.scheduler.Call").is_some());
    }
}
