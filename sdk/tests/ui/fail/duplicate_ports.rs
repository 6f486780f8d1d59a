use stead::prelude::*;

task_type! {
    Web {
        name: "web",
        count: 1,
        command: "./web",
        cpus: 1.0,
        mem: 1 GiB,
        ports: [http = 8080, admin = 0, http = 0, debug = 8080],
    }
}

fn main() {}
