//! Scheduler benchmarks: deploy throughput, failover time and scheduler memory on simulated
//! agents, offer evaluation, and recovery latency with real processes. Prints a table.
//!
//! ```text
//! cargo run --release --example bench                       # everything, 1,000 and 10,000 instances
//! cargo run --release --example bench -- --sizes 1000,10000,50000 --only deploy
//! cargo run --release --example bench -- --only offers,recovery --kills 100
//! ```
//!
//! `--dir DIR` chooses where the clusters and states live (default: a temporary directory
//! under the current directory, so that durable writes hit a real disk). Each size is
//! deployed `--runs` times (default 3); the table gives the median and the range.

/// The cluster and the scheduler (the same binary) allocate with mimalloc, as a scheduler
/// binary at this scale should: with the system allocator, threads of the 2-core runs
/// wait on its locks, and a 10,000-instance deploy takes about 40 % longer.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod deploy;
mod offers;
mod recovery;
mod scheduler;
mod spec;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

struct Args {
    sizes: Vec<usize>,
    only: Vec<String>,
    kills: usize,
    runs: usize,
    dir: Option<PathBuf>,
    timeout: Duration,
    keep: bool,
}

fn parse(args: &[String]) -> Result<Args> {
    let mut a = Args {
        sizes: vec![1_000, 10_000],
        only: vec!["offers".into(), "recovery".into(), "deploy".into()],
        kills: 100,
        runs: 3,
        dir: None,
        timeout: Duration::from_secs(300),
        keep: false,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--keep" {
            a.keep = true;
            continue;
        }
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--sizes" => {
                a.sizes = value
                    .split(',')
                    .map(|s| s.trim().parse().context("--sizes"))
                    .collect::<Result<_>>()?
            }
            "--only" => a.only = value.split(',').map(|s| s.trim().to_string()).collect(),
            "--kills" => a.kills = value.parse().context("--kills")?,
            "--runs" => {
                a.runs = value.parse().context("--runs")?;
                ensure!(a.runs > 0, "--runs must be at least 1");
            }
            "--dir" => a.dir = Some(PathBuf::from(value)),
            "--timeout" => a.timeout = Duration::from_secs(value.parse().context("--timeout")?),
            other => bail!(
                "unknown argument {other} (use --sizes, --only deploy,offers,recovery, --kills, --runs, --dir, --timeout, --keep)"
            ),
        }
    }
    Ok(a)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The median and range of one figure over the runs of a size.
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(values: impl Iterator<Item = f64>) -> Spread {
        let mut v: Vec<f64> = values.collect();
        v.sort_by(f64::total_cmp);
        Spread {
            median: v[v.len() / 2],
            min: v[0],
            max: v[v.len() - 1],
        }
    }

    /// `median (min to max)`, or the value alone for one run.
    fn show(&self, decimals: usize) -> String {
        let [median, min, max] =
            [self.median, self.min, self.max].map(|v| format!("{v:.decimals$}"));
        if min == max {
            median
        } else {
            format!("{median} ({min} to {max})")
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn bench(args: Args) -> Result<()> {
    let exe = std::env::current_exe()?;
    let base = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::current_dir()?,
    };
    std::fs::create_dir_all(&base)?;
    let tmp = tempfile::Builder::new()
        .prefix("stead-bench-")
        .tempdir_in(&base)?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("# stead benchmarks");
    println!("machine: {cpus} cpus, load average at start {}", load());
    println!("work dir: {}", tmp.path().display());
    let mut rows: Vec<(String, String, String)> = Vec::new();

    if args.only.iter().any(|o| o == "offers") {
        for f in offers::run(1_000, 1_000, 31)? {
            println!(
                "offers {}: place {:.2} ms, place + build operations {:.2} ms",
                f.case,
                ms(f.place),
                ms(f.place_and_build)
            );
            rows.push((
                format!(
                    "offer evaluation, 1,000 instances x 1,000 offers ({})",
                    f.case
                ),
                format!(
                    "{:.2} ms ({:.2} ms with operations)",
                    ms(f.place),
                    ms(f.place_and_build)
                ),
                "< 5 ms".into(),
            ));
        }
    }
    if args.only.iter().any(|o| o == "recovery") {
        let dir = tmp.path().join("recovery");
        let mut l = recovery::run(&dir, args.kills, args.timeout).await?;
        l.sort();
        let (p50, p99, max) = (percentile(&l, 50.0), percentile(&l, 99.0), l[l.len() - 1]);
        println!(
            "recovery over {} kills: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            l.len(),
            ms(p50),
            ms(p99),
            ms(max)
        );
        rows.push((
            format!("recovery in place, real processes, {} kills", l.len()),
            format!("p50 {:.1} ms, p99 {:.1} ms", ms(p50), ms(p99)),
            "p99 < 50 ms".into(),
        ));
    }
    if args.only.iter().any(|o| o == "deploy") {
        for &n in &args.sizes {
            let mut runs: Vec<deploy::Figures> = Vec::new();
            for run in 0..args.runs {
                let dir = tmp.path().join(format!("deploy-{n}-{run}"));
                std::fs::create_dir_all(&dir)?;
                let started = Instant::now();
                match deploy::run(&exe, &dir, n, args.timeout).await {
                    Ok(f) => {
                        let (d, fo) = (&f.deploy, &f.failover);
                        println!(
                            "{} instances on {} agents: deploy {:.0} ms ({:.0}/s, peak RSS {:.1} MiB, CPU {:.0} ms scheduler + {:.0} ms cluster); failover {:.0} ms (peak RSS {:.1} MiB, CPU {:.0} ms scheduler + {:.0} ms cluster); scenario {:.1} s",
                            f.instances,
                            f.agents,
                            d.ms,
                            f.instances as f64 / (d.ms / 1000.0),
                            d.rss_mib,
                            d.scheduler_cpu_ms,
                            d.cluster_cpu_ms,
                            fo.ms,
                            fo.rss_mib,
                            fo.scheduler_cpu_ms,
                            fo.cluster_cpu_ms,
                            started.elapsed().as_secs_f64()
                        );
                        runs.push(f);
                    }
                    // Keep going: the other runs and sizes still say something.
                    Err(e) => println!("{n} instances: failed: {e:#}"),
                }
            }
            if runs.len() < args.runs {
                rows.push((
                    format!("deploy and failover of {n} instances"),
                    format!("{} of {} runs failed", args.runs - runs.len(), args.runs),
                    String::new(),
                ));
            }
            if runs.is_empty() {
                continue;
            }
            let agents = runs[0].agents;
            let spread = |figure: fn(&deploy::Figures) -> f64| Spread::of(runs.iter().map(figure));
            let per_instance = |cpu_ms: f64| cpu_ms * 1000.0 / n as f64;
            let deploy = spread(|f| f.deploy.ms);
            let rate = spread(|f| f.instances as f64 / (f.deploy.ms / 1000.0));
            let failover = spread(|f| f.failover.ms);
            let rss = spread(|f| f.deploy.rss_mib);
            let rss_failover = spread(|f| f.failover.rss_mib);
            let cpu = |phase: fn(&deploy::Figures) -> &deploy::Phase| {
                let sched =
                    Spread::of(runs.iter().map(|f| per_instance(phase(f).scheduler_cpu_ms)));
                let cluster =
                    Spread::of(runs.iter().map(|f| per_instance(phase(f).cluster_cpu_ms)));
                format!("{} us / {} us", sched.show(0), cluster.show(0))
            };
            rows.push((
                format!("deploy {n} instances with volumes on {agents} agents"),
                format!("{} ms = {} instances/s", deploy.show(0), rate.show(0)),
                ">= 5,000/s".into(),
            ));
            rows.push((
                format!("deploy {n}: CPU per instance (scheduler / cluster)"),
                cpu(|f| &f.deploy),
                String::new(),
            ));
            rows.push((
                format!("failover with {n} running instances, no relaunch"),
                format!("{} ms", failover.show(0)),
                "< 2 s".into(),
            ));
            rows.push((
                format!("failover {n}: CPU per instance (scheduler / cluster)"),
                cpu(|f| &f.failover),
                String::new(),
            ));
            rows.push((
                format!("scheduler peak RSS, {n} instances (deploy / failover)"),
                format!("{} MiB / {} MiB", rss.show(1), rss_failover.show(1)),
                "< 150 MB".into(),
            ));
        }
    }
    println!();
    println!("| benchmark | result | target |");
    println!("|---|---|---|");
    for (what, result, target) in &rows {
        println!("| {what} | {result} | {target} |");
    }
    println!();
    println!("load average at end: {}", load());
    if args.keep {
        let kept = tmp.keep();
        println!(
            "kept {} (clusters, states and scheduler logs)",
            kept.display()
        );
    }
    Ok(())
}

fn main() -> Result<()> {
    let started = Instant::now();
    // No transparent huge pages in this process (the embedded cluster) nor in the
    // scheduler processes it starts (the flag is inherited): mimalloc returns freed
    // memory to the system, and with huge pages each reuse faults in and zeroes 2 MiB.
    // At 50,000 instances that zeroing took a third of the cluster's CPU time.
    nix::sys::prctl::set_thp_disable(true).context("disabling transparent huge pages")?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("scheduler") {
        stead_suite::init_logging();
        let a = scheduler::Args::parse(&args[1..])?;
        let rt = tokio::runtime::Runtime::new()?;
        return rt.block_on(scheduler::run(a, started));
    }
    let a = parse(&args)?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(bench(a))
}
