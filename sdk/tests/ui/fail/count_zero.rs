use stead::prelude::*;

task_type! {
    Data {
        name: "data",
        count: 0,
        command: "./data",
        cpus: 1.0,
        mem: 1 GiB,
    }
}

fn main() {}
