//! README's "The DSL at a glance", exactly as it stands there (tests/entry.rs keeps the
//! two the same and runs it): `cargo run --example readme`.

use stead::prelude::*;

task_type! {
    /// Meta-data nodes hold the cluster map; never two on one host.
    MetaData {
        name: "meta-data",
        count: 2,
        command: "echo meta-data {{index}} up >> meta/log && while :; do sleep 5; done",
        cpus: 1.0,
        mem: 512 MiB,
        volume: root(5000 MiB, "meta"),
        placement: "hostname:UNIQUE",
    }
}

task_type! {
    /// Data nodes keep a line per launch on their persistent volume.
    Data {
        name: "data",
        count: 3,
        command: "date >> data/launches && while :; do sleep 5; done",
        cpus: 1.0,
        mem: 1024 MiB,
        volume: root(10 GiB, "data"),
    }
}

#[service(name = "tiny-store")]
struct TinyStore {
    meta_data: MetaData,
    data: Data,
}

fn main() -> std::process::ExitCode {
    stead::main(TinyStore::default())
}
