use stead::prelude::*;

task_type! {
    /// Several mistakes at once: every one is reported, and nothing else.
    Data {
        name: "Data",
        count: 0,
        command: "./data",
        cpus: 0.0,
        mem: 512 Mb,
        volume: root(10 GiB, "/data"),
        goal: RUN,
    }
}

#[service(name = "data-store")]
struct DataStore {
    data: Data,
}

fn use_it() -> Box<dyn TaskTypeSpecification> {
    Box::new(Data)
}

fn main() {}
