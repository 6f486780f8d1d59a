use stead::prelude::*;

task_type! {
    Data {
        name: "data",
        count: 3,
        command: "./data",
        cpus: 1.0,
        mem: 1 GiB,
        placement: ["hostname:UNIQ", "rack:LIKE:rack-[", "hostname:MAX_PER:0"],
    }
}

fn main() {}
