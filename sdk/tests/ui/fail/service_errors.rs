use stead::prelude::*;

task_type! {
    Data {
        name: "data",
        count: 3,
        command: "./data",
        cpus: 1.0,
        mem: 1 GiB,
    }
}

#[service(name = "Data Store", rol = "x")]
struct DataStore {
    data: Data,
}

#[service]
struct Nameless {
    data: Data,
}

#[service(name = "tuple")]
struct Tuple(Data);

fn main() {}
