use stead::prelude::*;

task_type! {
    Data {
        name: "data",
        count: 3,
        command: "./data",
        uris: ["storage/data.zip", "http://storage:99999/data.zip", "http:///data.zip"],
        cpus: 1.0,
        mem: 1 GiB,
    }
}

fn main() {}
