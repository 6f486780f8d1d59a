//! The standalone cluster (`stead local-cluster`): runs until SIGINT or SIGTERM, then shuts
//! down cleanly with every task process reaped.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{AgentConfig, Credentials, LocalClusterConfig};
use crate::{Error, LocalCluster};

/// Command-line arguments of the standalone local cluster.
#[derive(Debug, Clone, clap::Args)]
pub struct LocalClusterArgs {
    /// Number of agents.
    #[arg(long, default_value_t = 3)]
    pub agents: usize,
    /// Work directory (checkpoints, sandboxes, persistent volumes).
    #[arg(long, default_value = ".stead/local-cluster")]
    pub work_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,
    /// Port of the master (0 picks a free one).
    #[arg(long, default_value_t = 5050)]
    pub port: u16,
    /// Seconds between heartbeats.
    #[arg(long, default_value_t = 15)]
    pub heartbeat_secs: u64,
    /// CPUs per agent.
    #[arg(long, default_value_t = 4.0)]
    pub cpus: f64,
    /// Memory per agent, in MiB.
    #[arg(long, default_value_t = 8192.0)]
    pub mem: f64,
    /// Disk per agent, in MiB.
    #[arg(long, default_value_t = 65536.0)]
    pub disk: f64,
    /// Require framework credentials on the scheduler API (HTTP Basic), from this file in
    /// Mesos's JSON form: `{"credentials": [{"principal": "...", "secret": "..."}]}`.
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// Serve the master over HTTPS with this certificate (PEM, then its chain).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of `--tls-cert`.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl LocalClusterArgs {
    /// The cluster configuration these arguments describe (reading the credentials file).
    pub fn to_config(&self) -> Result<LocalClusterConfig, Error> {
        let mut config = LocalClusterConfig::new(self.work_dir.clone())
            .bind(SocketAddr::new(self.host, self.port))
            .heartbeat_interval(Duration::from_secs(self.heartbeat_secs.max(1)));
        config.agents = (0..self.agents)
            .map(|i| AgentConfig {
                cpus: self.cpus,
                mem_mib: self.mem,
                disk_mib: self.disk,
                ..AgentConfig::numbered(i)
            })
            .collect();
        if let Some(path) = &self.credentials {
            config = config.credentials(Credentials::from_file(path)?);
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            config = config.tls(cert, key);
        }
        Ok(config)
    }
}

/// Runs a standalone local cluster until SIGINT (Ctrl-C) or SIGTERM, then shuts it down.
pub async fn run_standalone(args: LocalClusterArgs) -> Result<(), Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigterm = signal(SignalKind::terminate()).map_err(Error::Signal)?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(Error::Signal)?;
    let cluster = LocalCluster::start(args.to_config()?).await?;
    println!(
        "Local Mesos-compatible cluster with {} agents: master at {} (work dir {}). Ctrl-C stops it.",
        args.agents,
        cluster.master_url(),
        cluster.work_dir().display()
    );
    tokio::select! {
        _ = sigint.recv() => {}
        _ = sigterm.recv() => {}
    }
    println!("Stopping the local cluster...");
    cluster.shutdown().await?;
    println!("Local cluster stopped.");
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: LocalClusterArgs,
    }

    #[test]
    fn credentials_and_tls_flags_reach_the_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("creds.json");
        std::fs::write(
            &creds,
            r#"{"credentials":[{"principal":"p","secret":"s"}]}"#,
        )
        .unwrap();
        let creds = creds.to_str().unwrap();
        let cli = Cli::try_parse_from([
            "c",
            "--credentials",
            creds,
            "--tls-cert",
            "/c.pem",
            "--tls-key",
            "/k.pem",
        ])
        .unwrap();
        let config = cli.args.to_config().unwrap();
        assert_eq!(config.credentials, Some(Credentials::new([("p", "s")])));
        let tls = config.tls.expect("TLS");
        assert_eq!(
            (tls.cert.to_str(), tls.key.to_str()),
            (Some("/c.pem"), Some("/k.pem"))
        );
        assert!(
            Cli::try_parse_from(["c", "--tls-cert", "/c.pem"]).is_err(),
            "a key too"
        );
        std::fs::write(dir.path().join("bad.json"), "principal secret").unwrap();
        let bad = dir.path().join("bad.json");
        let cli = Cli::try_parse_from(["c", "--credentials", bad.to_str().unwrap()]).unwrap();
        let e = cli.args.to_config().unwrap_err().to_string();
        assert!(e.contains("bad.json"), "{e}");
        let plain = Cli::try_parse_from(["c"])
            .unwrap()
            .args
            .to_config()
            .unwrap();
        assert!(plain.credentials.is_none() && plain.tls.is_none());
    }
}
