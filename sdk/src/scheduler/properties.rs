//! Scheduler records kept as JSON properties of the state store.

use serde::Serialize;
use serde::de::DeserializeOwned;
use stead_state::{StateError, StateStore};

/// The property `key`, decoded from JSON; `None` when it is not set.
pub fn load<T: DeserializeOwned>(store: &StateStore, key: &str) -> Result<Option<T>, StateError> {
    let Some(bytes) = store.fetch_property(key)? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| StateError::Decode {
            path: format!("property {key}"),
            source: Box::new(e),
        })
}

/// `value` encoded as the JSON of the property `key`.
pub fn encode<T: Serialize>(key: &str, value: &T) -> Result<Vec<u8>, StateError> {
    serde_json::to_vec(value).map_err(|e| StateError::Encode {
        path: format!("property {key}"),
        source: Box::new(e),
    })
}

/// Stores `value` as the JSON property `key`.
pub fn store<T: Serialize>(store: &StateStore, key: &str, value: &T) -> Result<(), StateError> {
    store.store_property(key, &encode(key, value)?)
}
