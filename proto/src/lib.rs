//! Apache Mesos v1 scheduler API messages (protobuf and JSON) and the RecordIO codec.
//!
//! The message types are generated from Stead's own subset of the Mesos v1
//! `.proto` files (field numbers identical to Apache Mesos). Every message
//! implements [`prost::Message`] (protobuf), [`prost::Name`] and serde's
//! `Serialize`/`Deserialize` (Mesos's JSON form; use [`json`] for the exact
//! wire form).

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

pub use mesos::v1;
pub use mesos::v1::scheduler;
pub use prost::{Message, Name};

pub mod json;
pub mod recordio;

pub use json::JsonError;
pub use recordio::RecordIoError;
