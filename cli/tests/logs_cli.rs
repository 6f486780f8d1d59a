//! `stead pod logs` against a live scheduler on the embedded cluster: the whole output,
//! `--stderr`, `--tail`, `--previous`, and `--follow` printing lines as the task writes
//! them; and `stead pod replace` refused off a terminal without `--yes`.

mod cli_support;

// Shared with the `stead` crate's own API tests, which keep it beside them.
#[path = "../../sdk/tests/live_support/mod.rs"]
mod live_support;

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use cli_support::run_stead;
use live_support::{Live, TaskLogs};
use tokio::io::{AsyncBufReadExt, BufReader};

const LONG: Duration = Duration::from_secs(120);

async fn stead(url: &str, args: &[&str]) -> Output {
    run_stead(url, None, args, LONG).await
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The number of a `line N` line.
fn number(line: &str) -> u64 {
    line.strip_prefix("line ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a numbered line: {line:?}"))
}

/// Runs `stead pod logs talker-0` until it has printed `line n` (for at most [`LONG`]).
async fn logs_until(url: &str, n: u64) -> String {
    let deadline = Instant::now() + LONG;
    loop {
        let out = stdout(&stead(url, &["pod", "logs", "talker-0"]).await);
        if out.lines().any(|l| l == format!("line {n}")) {
            return out;
        }
        assert!(Instant::now() < deadline, "no line {n} within {LONG:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// [`TaskLogs`] deployed on a live scheduler.
async fn deployed() -> Live {
    let live = Live::launch(&TaskLogs::default(), None).await;
    live.handle
        .wait_for(LONG, |s| {
            s.plan("deploy").is_some_and(|p| p.status.is_complete())
        })
        .await
        .expect("deployed");
    live
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stead_pod_logs_reads_tails_and_follows() {
    let live = deployed().await;
    let url = live.url.clone();

    let all = logs_until(&url, 5).await;
    let lines: Vec<&str> = all.lines().collect();
    assert_eq!(
        &lines[..5],
        ["line 1", "line 2", "line 3", "line 4", "line 5"]
    );
    let err = stdout(&stead(&url, &["pod", "logs", "talker-0", "--stderr"]).await);
    assert_eq!(err, "starting\n");

    let tail = stdout(&stead(&url, &["pod", "logs", "talker-0", "--tail", "2"]).await);
    let tail: Vec<&str> = tail.lines().collect();
    assert_eq!(tail.len(), 2, "{tail:?}");
    assert_eq!(number(tail[1]), number(tail[0]) + 1, "{tail:?}");
    assert!(number(tail[0]) >= 4, "the last lines: {tail:?}");

    // --follow prints the lines written after it started.
    let mut follow = tokio::process::Command::new(env!("CARGO_BIN_EXE_stead"))
        .args(["pod", "logs", "talker-0", "--follow", "--tail", "1"])
        .env("STEAD_URL", &url)
        .env_remove("STEAD_API_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("stead runs");
    let mut lines = BufReader::new(follow.stdout.take().expect("piped")).lines();
    let first = tokio::time::timeout(LONG, lines.next_line())
        .await
        .expect("a first line")
        .unwrap()
        .expect("a line");
    let first = number(&first);
    let mut last = first;
    while last < first + 10 {
        let line = tokio::time::timeout(LONG, lines.next_line())
            .await
            .expect("--follow prints new lines")
            .unwrap()
            .expect("still following");
        let n = number(&line);
        assert_eq!(n, last + 1, "every line once, in order");
        last = n;
    }
    follow.kill().await.unwrap();

    // The previous run after a restart.
    let restart = stead(&url, &["pod", "restart", "talker-0"]).await;
    stdout(&restart);
    let deadline = Instant::now() + LONG;
    let previous = loop {
        let o = stead(&url, &["pod", "logs", "talker-0", "--previous"]).await;
        if o.status.success() {
            break String::from_utf8_lossy(&o.stdout).into_owned();
        }
        assert!(Instant::now() < deadline, "no previous run within {LONG:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(previous.lines().count() as u64 >= last, "{previous}");

    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stead_pod_replace_needs_yes_off_a_terminal() {
    let live = deployed().await;
    let before = stdout(&stead(&live.url, &["pod", "list", "--json"]).await);
    let refused = stead(&live.url, &["pod", "replace", "talker-0"]).await;
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("--yes") && err.contains("talker-0"), "{err}");
    let after = stdout(&stead(&live.url, &["pod", "list", "--json"]).await);
    assert_eq!(before, after, "nothing replaced");
    live.stop().await;
}
