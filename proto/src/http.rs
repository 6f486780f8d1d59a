//! The HTTP side of the v1 scheduler API: where calls are posted and how a subscription's
//! stream is named. Content types are in [`crate::recordio`].

/// The path every scheduler call is posted to (`POST /api/v1/scheduler`).
pub const SCHEDULER_PATH: &str = "/api/v1/scheduler";

/// The header carrying the stream id of a subscription: set by the master on the answer
/// to SUBSCRIBE, required by it on every later call of that framework.
pub const STREAM_ID_HEADER: &str = "Mesos-Stream-Id";
