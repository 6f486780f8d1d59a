use stead::prelude::*;

task_type! {
    NotANumber {
        name: "nan",
        count: 1,
        command: "./data",
        cpus: f64::NAN,
        mem: 1 GiB,
    }

    Negative {
        name: "negative",
        count: 1,
        command: "./data",
        cpus: -0.5,
        mem: 1 GiB,
    }
}

fn main() {}
