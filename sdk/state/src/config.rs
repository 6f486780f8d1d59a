//! Stored service configurations and the target configuration.

use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec;
use crate::error::{Result, StateError, ignore_missing};
use crate::layout;
use crate::path;
use crate::persister::{Op, Persister};

/// Stores configurations of type `T` (JSON, `Configurations/<id>`) and the id of the target
/// one (`ConfigTarget`). Ids are chosen by the caller (for a `ServiceSpec`, its `id()`) and
/// must be valid node names.
pub struct ConfigStore<T> {
    persister: Arc<dyn Persister>,
    _config: PhantomData<fn() -> T>,
}

impl<T> Clone for ConfigStore<T> {
    fn clone(&self) -> Self {
        ConfigStore {
            persister: self.persister.clone(),
            _config: PhantomData,
        }
    }
}

impl<T> fmt::Debug for ConfigStore<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigStore")
            .field("persister", &self.persister)
            .finish()
    }
}

impl<T: Serialize + DeserializeOwned> ConfigStore<T> {
    /// A store over `persister`.
    pub fn new(persister: Arc<dyn Persister>) -> Self {
        ConfigStore {
            persister,
            _config: PhantomData,
        }
    }

    /// Stores `config` under `id` (replacing any config with that id).
    pub fn store(&self, id: &str, config: &T) -> Result<()> {
        let op = self.store_op(id, config)?;
        self.persister.multi(&[op])
    }

    /// Stores `config` under `id` and makes it the target, atomically.
    pub fn store_target(&self, id: &str, config: &T) -> Result<()> {
        let op = self.store_op(id, config)?;
        self.persister
            .multi(&[op, Op::set(layout::CONFIG_TARGET, id.as_bytes())])
    }

    /// The configuration stored under `id`.
    pub fn fetch(&self, id: &str) -> Result<Option<T>> {
        path::check_name(id)?;
        let key = layout::configuration(id);
        self.persister
            .get(&key)?
            .map(|bytes| codec::decode_json(&key, &bytes))
            .transpose()
    }

    /// The ids of every stored configuration, sorted.
    pub fn list(&self) -> Result<Vec<String>> {
        self.persister.children(layout::CONFIGURATIONS)
    }

    /// Makes the stored configuration `id` the target; `NotFound` if it is not stored.
    pub fn set_target(&self, id: &str) -> Result<()> {
        path::check_name(id)?;
        let key = layout::configuration(id);
        if self.persister.get(&key)?.is_none() {
            return Err(StateError::NotFound { path: key });
        }
        self.persister.set(layout::CONFIG_TARGET, id.as_bytes())
    }

    /// The id of the target configuration, if one was set.
    pub fn target(&self) -> Result<Option<String>> {
        self.persister
            .get(layout::CONFIG_TARGET)?
            .map(|bytes| codec::decode_utf8(layout::CONFIG_TARGET, bytes))
            .transpose()
    }

    /// The target configuration's id and value, if a target is set and stored.
    pub fn fetch_target(&self) -> Result<Option<(String, T)>> {
        let Some(id) = self.target()? else {
            return Ok(None);
        };
        Ok(self.fetch(&id)?.map(|config| (id, config)))
    }

    /// Deletes configuration `id`; fine if it is not stored.
    pub fn delete(&self, id: &str) -> Result<()> {
        path::check_name(id)?;
        ignore_missing(self.persister.delete(&layout::configuration(id)))
    }

    /// Deletes, atomically, every configuration whose id is neither in `used` nor the
    /// target. Returns the deleted ids.
    pub fn retain<'u>(&self, used: impl IntoIterator<Item = &'u str>) -> Result<Vec<String>> {
        let mut keep: BTreeSet<String> = used.into_iter().map(str::to_owned).collect();
        keep.extend(self.target()?);
        let doomed: Vec<String> = self
            .list()?
            .into_iter()
            .filter(|id| !keep.contains(id))
            .collect();
        let ops: Vec<Op> = doomed
            .iter()
            .map(|id| Op::delete(layout::configuration(id)))
            .collect();
        self.persister.multi(&ops)?;
        Ok(doomed)
    }

    fn store_op(&self, id: &str, config: &T) -> Result<Op> {
        path::check_name(id)?;
        let key = layout::configuration(id);
        let value = codec::encode_json(&key, config)?;
        Ok(Op::set(key, value))
    }
}
