//! The `crate` override: a crate that reaches Stead only through paths of its own (a
//! re-export, a renamed `extern crate`, a path relative to the calling module) gets
//! the same spec as one that uses `::stead`, and the expansions raise no warning.

#![deny(warnings)]

extern crate stead as renamed;

mod reexport {
    pub use stead;
}

use crate::reexport::stead::spec::build_spec;
use crate::reexport::stead::{service, task_type};

task_type! {
    /// Declared through the re-export.
    Data {
        name: "data",
        count: 3,
        command: "./data {{index}}",
        uris: ["http://storage/data.zip"],
        cpus: 1.0,
        mem: 1 GiB,
        volume: root(10 GiB, "data"),
        health_check: { command: "test -f data/ok", interval: 5s },
        goal: RUNNING,
        crate: "crate::reexport::stead",
    }

    /// Declared through the renamed crate.
    Web {
        name: "web",
        count: 1,
        command: "./web",
        cpus: 0.5,
        mem: 256 MiB,
        ports: [http = 0],
        crate: "renamed",
    }
}

#[service(name = "app", role = "app", crate = "crate::reexport::stead")]
struct App {
    data: Data,
    web: Web,
}

mod nested {
    use super::{Data, Web};

    /// A path relative to the module that invokes the macro.
    #[renamed::service(name = "app", role = "app", crate = "super::reexport::stead")]
    pub struct Nested {
        data: Data,
        web: Web,
    }
}

mod plain {
    use stead::prelude::*;

    task_type! {
        pub Data {
            name: "data",
            count: 3,
            command: "./data {{index}}",
            uris: ["http://storage/data.zip"],
            cpus: 1.0,
            mem: 1 GiB,
            volume: root(10 GiB, "data"),
            health_check: { command: "test -f data/ok", interval: 5s },
            goal: RUNNING,
        }

        pub Web {
            name: "web",
            count: 1,
            command: "./web",
            cpus: 0.5,
            mem: 256 MiB,
            ports: [http = 0],
        }
    }

    /// The same service through the default `::stead`.
    #[service(name = "app", role = "app")]
    pub struct App {
        data: Data,
        web: Web,
    }
}

fn main() {
    let expected = build_spec(&plain::App::default()).expect("the plain spec is valid");
    let through_reexport = build_spec(&App::default()).expect("the re-exported spec is valid");
    let nested = build_spec(&nested::Nested::default()).expect("the nested spec is valid");
    assert_eq!(through_reexport, expected);
    assert_eq!(nested, expected);
    assert_eq!((App::NAME, Data::NAME, Web::COUNT), ("app", "data", 1));
}
