//! The FrameworkID the Mesos master assigned to this service.

use std::sync::Arc;

use stead_proto::v1::FrameworkId;

use crate::codec;
use crate::error::{Result, ignore_missing};
use crate::layout;
use crate::persister::Persister;

/// Reads and writes the service's FrameworkID (`FrameworkID`, protobuf-encoded).
#[derive(Clone, Debug)]
pub struct FrameworkStore {
    persister: Arc<dyn Persister>,
}

impl FrameworkStore {
    /// A store over `persister`.
    pub fn new(persister: Arc<dyn Persister>) -> Self {
        FrameworkStore { persister }
    }

    /// The stored FrameworkID, if the framework has registered before.
    pub fn fetch_framework_id(&self) -> Result<Option<FrameworkId>> {
        self.persister
            .get(layout::FRAMEWORK_ID)?
            .map(|bytes| codec::decode_proto(layout::FRAMEWORK_ID, &bytes))
            .transpose()
    }

    /// Records the FrameworkID (call as soon as the master assigns it).
    pub fn store_framework_id(&self, id: &FrameworkId) -> Result<()> {
        self.persister
            .set(layout::FRAMEWORK_ID, &codec::encode_proto(id))
    }

    /// Forgets the FrameworkID (after teardown); fine if none is stored.
    pub fn clear_framework_id(&self) -> Result<()> {
        ignore_missing(self.persister.delete(layout::FRAMEWORK_ID))
    }
}
