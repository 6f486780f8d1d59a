use stead::prelude::*;

task_type! {
    Data {
        name: "data",
        count: 3,
        command: "./data",
        cpus: 1.0,
        mem: 1 GiB,
        volumes: [root(10 GiB, "data"), mount(100 GiB, "./data/")],
    }
}

fn main() {}
