//! The data-store example: `cargo run --example data-store` deploys 2 meta-data and 3 data
//! nodes on the embedded cluster (or on `--master http://host:5050`), then keeps them
//! running. State lives in `--state-dir` (default `.stead/data-store`); the operator API
//! listens on port 8080 (`--api-port` changes it); `--help` lists every flag.

mod spec;

fn main() -> std::process::ExitCode {
    stead::Entry::new()
        .version(env!("CARGO_PKG_VERSION"))
        .about("The data-store example: 2 meta-data nodes and 3 data nodes.")
        .run_spec(spec::spec)
}
