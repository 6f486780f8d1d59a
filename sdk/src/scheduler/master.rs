//! The seam between the scheduler and a Mesos master: [`MasterCalls`] sends one call.
//! [`MesosClient`] implements it over HTTP; tests implement it with a recording fake.

use futures::future::BoxFuture;
use stead_proto::scheduler::Call;

use crate::mesos::{MesosClient, MesosResult};

/// Sends calls to the master the scheduler is subscribed to.
pub trait MasterCalls: Send + Sync + 'static {
    /// Sends `call`; `Ok` once the master accepted it (202).
    fn call<'a>(&'a self, call: &'a Call) -> BoxFuture<'a, MesosResult<()>>;
}

impl MasterCalls for MesosClient {
    fn call<'a>(&'a self, call: &'a Call) -> BoxFuture<'a, MesosResult<()>> {
        Box::pin(MesosClient::call(self, call))
    }
}
