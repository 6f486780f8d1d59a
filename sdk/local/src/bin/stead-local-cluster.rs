//! `stead-local-cluster`: the standalone local cluster (the same as `stead local-cluster`).

use clap::Parser;

/// Runs a local Mesos-compatible cluster until Ctrl-C.
#[derive(Debug, Parser)]
#[command(name = "stead-local-cluster", version)]
struct Cli {
    #[command(flatten)]
    args: stead_local::LocalClusterArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match stead_local::run_standalone(cli.args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stead-local-cluster: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
