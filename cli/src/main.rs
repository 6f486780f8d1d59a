//! The `stead` command-line tool: operate a running Stead service over its HTTP API, or
//! run the embedded local cluster.

use std::process::ExitCode;

use clap::Parser;
use stead_cli::{Cli, Command, run};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::LocalCluster(_)) {
        // Operator commands keep stderr for their one-line errors; the cluster logs.
        stead::logging::init();
    }
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
