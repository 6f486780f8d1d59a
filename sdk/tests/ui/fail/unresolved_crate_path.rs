use stead::prelude::*;

task_type! {
    Data {
        name: "data",
        count: 1,
        command: "./data",
        cpus: 1.0,
        mem: 1 GiB,
        crate: "crate::nowhere::stead",
    }
}

#[service(name = "data-store", crate = "crate::nowhere::stead")]
struct DataStore {
    data: Data,
}

fn main() {}
