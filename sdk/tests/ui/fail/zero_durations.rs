use stead::prelude::*;

task_type! {
    Data {
        name: "data",
        count: 3,
        command: "./data",
        cpus: 1.0,
        mem: 1 GiB,
        health_check: { command: "./check", interval: 0s, timeout: 0ms, max_failures: 0 },
        readiness_check: { command: "./ready", interval: 10 },
        kill_grace_period: 0s,
    }
}

fn main() {}
