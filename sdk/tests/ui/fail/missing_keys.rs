use stead::prelude::*;

task_type! {
    Data {
        name: "data",
        command: "./data",
    }
}

fn main() {}
