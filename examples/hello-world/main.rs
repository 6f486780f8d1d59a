//! The smallest service: one task that says hello and stays up.
//! `cargo run --example hello-world` (`-- --help` lists the scheduler's flags).

use stead::prelude::*;

task_type! {
    /// Says hello, then idles.
    Hello {
        name: "hello",
        count: 1,
        command: "echo \"hello from $TASK_NAME\" && while :; do sleep 5; done",
        cpus: 0.1,
        mem: 32 MiB,
    }
}

/// The service.
#[service(name = "hello-world")]
struct HelloWorld {
    hello: Hello,
}

fn main() -> std::process::ExitCode {
    stead::Entry::new()
        .version(env!("CARGO_PKG_VERSION"))
        .about("The hello-world example: one task that says hello and stays up.")
        .api_port(0)
        .run(HelloWorld::default())
}
