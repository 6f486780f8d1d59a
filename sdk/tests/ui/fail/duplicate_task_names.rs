use stead::prelude::*;

task_type! {
    Data {
        name: "data",
        count: 3,
        command: "./data",
        cpus: 1.0,
        mem: 1 GiB,
    }

    MoreData {
        name: "data",
        count: 1,
        command: "./more-data",
        cpus: 1.0,
        mem: 1 GiB,
    }
}

#[service(name = "data-store")]
struct DataStore {
    data: Data,
    more_data: MoreData,
}

fn main() {}
