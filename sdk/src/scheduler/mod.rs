//! The scheduler: [`DefaultService`] deploys a service specification on a Mesos master
//! or the embedded cluster and keeps it running; [`ServiceHandle`] operates it.
//!
//! The event loop persists before acting (task infos before the ACCEPT that launches
//! them, statuses before their acknowledgement), reconciles after every subscription,
//! rebuilds its plans from the stored state at every start, relaunches failed tasks in
//! place (with backoff) and replaces instances on request or when their agent is gone.

mod clock;
mod control;
mod core;
mod decommission;
mod event_loop;
mod gone;
mod instance;
mod leftovers;
mod master;
mod options;
mod outbox;
mod properties;
mod publish;
mod reconcile;
mod reconnect;
mod releases;
mod service;
mod stored_task;
mod telemetry;
mod update;
// Without the `zookeeper` feature, `zk_off.rs` refuses `--zk` and never pauses.
#[cfg_attr(not(feature = "zookeeper"), path = "zk_off.rs")]
mod zk;

pub use clock::{Clock, ManualClock, SystemClock};
pub use leftovers::{EmptyStateRefused, Leftovers};
pub use master::MasterCalls;
pub use options::{Options, StateLocation};
pub use publish::{InstanceSnapshot, ServiceSnapshot};
pub use service::{CLUSTER_DIR, DefaultService, STATE_FILE, ServiceHandle};
