use stead::prelude::*;

task_type! {
    Data {
        name: "data",
        count: 3,
        command: "./data",
        cpus: 1.0,
        mem: 0 MiB,
    }
}

fn main() {}
