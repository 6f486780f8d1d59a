//! The scheduler side of the deploy and failover benchmarks, run as its own process so that
//! its memory is its own: it deploys the benchmark service against `--master` and prints
//! `READY <ms since process start> <launches>` once every task is reconciled and the deploy
//! plan is complete, then keeps scheduling until killed.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use stead::plan::{Status, Strategy};
use stead::scheduler::{DefaultService, Options};

/// The arguments of `bench scheduler`.
#[derive(Debug)]
pub struct Args {
    /// The master's URL.
    pub master: String,
    /// The state directory (kept across a failover).
    pub state_dir: PathBuf,
    /// Number of instances.
    pub count: u32,
}

impl Args {
    /// Parses `--master URL --state-dir DIR --count N`.
    pub fn parse(args: &[String]) -> Result<Args> {
        let mut master = None;
        let mut state_dir = None;
        let mut count = None;
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = it.next().with_context(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--master" => master = Some(value.clone()),
                "--state-dir" => state_dir = Some(PathBuf::from(value)),
                "--count" => count = Some(value.parse().context("--count")?),
                other => bail!("unknown argument {other}"),
            }
        }
        Ok(Args {
            master: master.context("--master is required")?,
            state_dir: state_dir.context("--state-dir is required")?,
            count: count.context("--count is required")?,
        })
    }
}

/// Runs the scheduler until the process is killed.
pub async fn run(args: Args, started: Instant) -> Result<()> {
    let options = Options {
        master: Some(args.master),
        strategy: Strategy::Parallel,
        replace_timeout: None,
        ..Options::default()
    };
    let spec = crate::spec::spec(args.count, "sleep 1000000");
    let handle = DefaultService::with_options(0, options)
        .state_dir(args.state_dir)
        .start_spec(spec)
        .await?;
    let snapshot = handle
        .wait_for(Duration::from_secs(3600), |s| {
            s.reconciled
                && s.plan("deploy")
                    .is_some_and(|p| p.status == Status::Complete)
        })
        .await?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let launches: u64 = snapshot.instances.iter().map(|i| i.launch_count).sum();
    println!("READY {ms:.1} {launches}");
    // Keep scheduling (answering updates, declining offers) until the benchmark kills us.
    std::future::pending::<()>().await;
    Ok(())
}
