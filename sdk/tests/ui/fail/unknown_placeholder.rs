use stead::prelude::*;

task_type! {
    Data {
        name: "data",
        count: 3,
        command: "./data --id {{idx}}",
        cpus: 1.0,
        mem: 1 GiB,
    }
}

fn main() {}
