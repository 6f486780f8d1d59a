use stead::prelude::*;

task_type! {
    MetaData {
        name: "Meta_Data",
        count: 2,
        command: "./meta-data",
        cpus: 1.0,
        mem: 512 MiB,
    }
}

fn main() {}
