use stead::prelude::*;

task_type! {
    Data {
        name: "data",
        count: 3,
        command: "./data",
        cpus: 1.0,
        mem: 1 GiB,
        crate: "my reexport::stead",
    }

    Web {
        name: "web",
        count: 1,
        command: "./web",
        cpus: 1.0,
        mem: 1 GiB,
        crate: my_reexport::stead,
    }
}

#[service(name = "data-store", crate = "my_reexport::")]
struct DataStore {
    data: Data,
    web: Web,
}

#[service(name = "empty", crate = "")]
struct Empty {
    data: Data,
}

fn main() {}
