//! The data-store example: `cargo run --example data-store` deploys 2 meta-data and 3 data
//! nodes on the embedded cluster (or on `--master http://host:5050`), then keeps them
//! running. State lives in `--state-dir` (default `.stead/data-store`).

mod spec;

use stead::prelude::*;

/// The operator API port (`stead plan show deploy` talks to it; `--api-port` changes it).
const API_PORT: u16 = 8080;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    stead_suite::init_logging();
    DefaultService::new(API_PORT)
        .register_spec(spec::spec()?)
        .await?;
    Ok(())
}
