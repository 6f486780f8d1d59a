use stead::prelude::*;

task_type! {
    Data {
        name: "data",
        count: 3,
        command: "./data",
        cpus: 1.0,
        mem: 512 Mib,
        disk: 10 GB,
        volume: root(1 gigabyte, "data"),
    }
}

fn main() {}
