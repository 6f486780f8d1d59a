//! Apache Mesos v1 scheduler API messages (protobuf and JSON), the RecordIO codec, and the
//! Mesos knowledge the scheduler and the embedded cluster share: resource arithmetic
//! ([`resources`], [`ranges`]), scheduler call builders ([`calls`]) and the API's HTTP
//! constants ([`http`]). [`decode::decode_call`] decodes a protobuf call as strictly as
//! Mesos; with the `server` feature, `server` serves an axum router with bounds on slow
//! clients (the operator API and the embedded master use it).
//!
//! The message types are generated from Stead's own subset of the Mesos v1
//! `.proto` files (names, field numbers, labels and defaults identical to
//! Apache Mesos 1.11). Every message implements [`prost::Message`]
//! (protobuf), [`prost::Name`] and serde's `Serialize`/`Deserialize`; use
//! [`json`] for Mesos's exact JSON form (64-bit integers as numbers).
//!
//! Generated naming, for readers of the Mesos docs:
//! * `FrameworkID`, `AgentID`, `URL`, `UUID` become `FrameworkId`,
//!   `AgentId`, `Url`, `Uuid`; nested types live in snake_case modules
//!   (`Resource.ReservationInfo` is `v1::resource::ReservationInfo`).
//! * Enum variants lose the enum's name as prefix: `TaskStatus.Reason`
//!   `REASON_TASK_KILLED_DURING_LAUNCH` is `Reason::TaskKilledDuringLaunch`,
//!   `TaskStatus.Source` `SOURCE_AGENT` is `Source::Agent`; others keep
//!   theirs (`TaskState::TaskRunning`).
//! * Enum fields hold `i32` with typed accessors (`status.state()`,
//!   `status.set_state(..)`); proto2 `required` message fields are plain
//!   values, `optional` ones are `Option`s whose getters apply the proto2
//!   defaults (`resource.role()` is `"*"` when unset).
//!
//! ```
//! use stead_proto::scheduler::{call, Call};
//! use stead_proto::{json, v1, Message};
//!
//! let call = Call {
//!     r#type: Some(call::Type::Subscribe as i32),
//!     subscribe: Some(call::Subscribe {
//!         framework_info: v1::FrameworkInfo {
//!             user: "foo".into(),
//!             name: "bar".into(),
//!             ..Default::default()
//!         },
//!         suppressed_roles: vec![],
//!     }),
//!     ..Default::default()
//! };
//! let bytes = call.encode_to_vec();
//! assert_eq!(Call::decode(bytes.as_slice()).unwrap(), call);
//! let text = json::to_json_string(&call).unwrap();
//! assert_eq!(text, r#"{"subscribe":{"framework_info":{"name":"bar","user":"foo"}},"type":"SUBSCRIBE"}"#);
//! ```

/// The generated `mesos.*` packages.
pub mod mesos {
    /// Package `mesos.v1`: the Mesos v1 protocol messages.
    pub mod v1 {
        #![allow(missing_docs, clippy::all, clippy::pedantic)]
        include!(concat!(env!("OUT_DIR"), "/mesos.v1.rs"));
        include!(concat!(env!("OUT_DIR"), "/mesos.v1.serde.rs"));

        /// Package `mesos.v1.scheduler`: scheduler calls and events.
        pub mod scheduler {
            #![allow(missing_docs, clippy::all, clippy::pedantic)]
            include!(concat!(env!("OUT_DIR"), "/mesos.v1.scheduler.rs"));
            include!(concat!(env!("OUT_DIR"), "/mesos.v1.scheduler.serde.rs"));
        }
    }
}

pub mod calls;
pub mod decode;
pub mod http;
pub mod json;
pub mod ranges;
pub mod recordio;
pub mod resources;
#[cfg(feature = "server")]
pub mod server;

pub use decode::CallDecodeError;
pub use json::JsonError;
pub use mesos::v1;
pub use mesos::v1::scheduler;
pub use prost::{Message, Name};
pub use recordio::RecordIoError;
