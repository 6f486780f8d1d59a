use stead::prelude::*;

task_type! {
    Data {
        name: "data",
        count: 3,
        command: "./data",
        cpus: 1.0,
        mem: 1 GiB,
        volume: root(10 GiB, "/var/lib/data"),
    }
}

fn main() {}
