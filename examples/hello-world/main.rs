//! The smallest service: one task that says hello and stays up.
//! `cargo run --example hello-world`

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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    stead_suite::init_logging();
    DefaultService::new(0)
        .register(HelloWorld::default())
        .await?;
    Ok(())
}
