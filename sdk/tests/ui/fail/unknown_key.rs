use stead::prelude::*;

task_type! {
    Data {
        name: "data",
        cout: 3,
        command: "./data",
        cpus: 1.0,
        memory: 1 GiB,
        colour: "blue",
    }
}

fn main() {}
