//! Decoding protobuf [`Call`]s as strictly as Mesos does.
//!
//! Prost reads a proto2 `required` message field that is absent as its default value, so
//! a SUBSCRIBE without `framework_info` would decode into one with an empty
//! `FrameworkInfo`. Mesos refuses such a body ("Failed to parse body into Call
//! protobuf"), as the JSON decoding here does. [`decode_call`] decodes the call and
//! checks, on the wire, that the required `framework_info` of a `subscribe` or
//! `update_framework` is present, with its required `user` and `name`.

use prost::Message;

use crate::scheduler::Call;

/// Why a protobuf body is not a valid [`Call`].
#[derive(Debug, thiserror::Error)]
pub enum CallDecodeError {
    /// The bytes are not a protobuf `Call`.
    #[error("{0}")]
    Protobuf(#[from] prost::DecodeError),
    /// A required field is missing.
    #[error("missing required field '{0}'")]
    MissingRequired(&'static str),
}

/// Decodes a protobuf `Call`, refusing one that lacks a required field prost would
/// fill with a default (see the module documentation).
pub fn decode_call(bytes: &[u8]) -> Result<Call, CallDecodeError> {
    let call = Call::decode(bytes)?;
    let presence = CallPresence::decode(bytes)?;
    if let Some(subscribe) = &presence.subscribe {
        subscribe.check("subscribe.framework_info")?;
    }
    if let Some(update) = &presence.update_framework {
        update.check("update_framework.framework_info")?;
    }
    Ok(call)
}

/// Which fields of a `Call` are on the wire, for the required fields checked.
#[derive(Clone, PartialEq, Message)]
struct CallPresence {
    #[prost(message, optional, tag = "3")]
    subscribe: Option<FrameworkInfoHolder>,
    #[prost(message, optional, tag = "19")]
    update_framework: Option<FrameworkInfoHolder>,
}

/// `Call.Subscribe` and `Call.UpdateFramework`: both hold `framework_info` as field 1.
#[derive(Clone, PartialEq, Message)]
struct FrameworkInfoHolder {
    #[prost(message, optional, tag = "1")]
    framework_info: Option<FrameworkInfoPresence>,
}

/// The required fields of a `FrameworkInfo`, as raw bytes (their content is checked by
/// the real decoding).
#[derive(Clone, PartialEq, Message)]
struct FrameworkInfoPresence {
    #[prost(bytes = "vec", optional, tag = "1")]
    user: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "2")]
    name: Option<Vec<u8>>,
}

impl FrameworkInfoHolder {
    /// Checks that `framework_info` (named `field` in errors) and its required fields
    /// are present.
    fn check(&self, field: &'static str) -> Result<(), CallDecodeError> {
        let Some(info) = &self.framework_info else {
            return Err(CallDecodeError::MissingRequired(field));
        };
        if info.user.is_none() {
            return Err(CallDecodeError::MissingRequired("framework_info.user"));
        }
        if info.name.is_none() {
            return Err(CallDecodeError::MissingRequired("framework_info.name"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::call;
    use crate::v1;

    fn subscribe(info: Option<v1::FrameworkInfo>) -> Vec<u8> {
        let mut bytes = Call {
            r#type: Some(call::Type::Subscribe as i32),
            ..Default::default()
        }
        .encode_to_vec();
        // Call.subscribe (field 3, length-delimited) holding the given framework_info.
        let inner = info.map(|i| {
            let mut inner = vec![0x0a];
            let body = i.encode_to_vec();
            prost::encoding::encode_varint(body.len() as u64, &mut inner);
            inner.extend(body);
            inner
        });
        let inner = inner.unwrap_or_default();
        bytes.push(0x1a);
        prost::encoding::encode_varint(inner.len() as u64, &mut bytes);
        bytes.extend(inner);
        bytes
    }

    #[test]
    fn subscribe_needs_framework_info() {
        let missing = subscribe(None);
        // Plain prost takes it, with a default FrameworkInfo.
        assert!(Call::decode(missing.as_slice()).is_ok());
        assert!(matches!(
            decode_call(&missing),
            Err(CallDecodeError::MissingRequired("subscribe.framework_info"))
        ));
        let info = v1::FrameworkInfo {
            user: "u".into(),
            name: "n".into(),
            ..Default::default()
        };
        let call = decode_call(&subscribe(Some(info.clone()))).unwrap();
        assert_eq!(call.subscribe.unwrap().framework_info, info);
    }

    #[test]
    fn json_refuses_it_too() {
        let missing = r#"{"type": "SUBSCRIBE", "subscribe": {}}"#;
        assert!(crate::json::from_json_str::<Call>(missing).is_err());
    }

    #[test]
    fn framework_info_needs_user_and_name() {
        // Empty strings are present on the wire (proto2 writes set optional fields).
        let empty = v1::FrameworkInfo::default();
        assert!(decode_call(&subscribe(Some(empty))).is_ok());
        let mut bytes = Call::default().encode_to_vec();
        // subscribe { framework_info { name: "n" } }: no user.
        bytes.extend([0x1a, 0x05, 0x0a, 0x03, 0x12, 0x01, b'n']);
        assert!(matches!(
            decode_call(&bytes),
            Err(CallDecodeError::MissingRequired("framework_info.user"))
        ));
    }

    #[test]
    fn other_calls_decode_as_before() {
        let call = Call {
            r#type: Some(call::Type::Revive as i32),
            ..Default::default()
        };
        assert_eq!(decode_call(&call.encode_to_vec()).unwrap(), call);
        assert!(decode_call(&[0xff]).is_err());
    }
}
