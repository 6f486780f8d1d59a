//! The entry point of a service binary, tested as operators meet it: the examples run as
//! processes with flags and environment variables, `--help`, `--version`, usage errors,
//! errors printed once, and README's DSL snippet deployed as it stands.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use stead::args::SchedulerArgs;
use stead_suite::example_binary;

/// Generous: CI machines are slow and shared.
const LONG: Duration = Duration::from_secs(180);

/// Example `name` with `args` in `dir`, with none of the caller's `STEAD_*` variables nor
/// `RUST_LOG`, plus `env`.
fn example(name: &str, args: &[&str], env: &[(&str, &str)], dir: &Path) -> Result<Command> {
    let mut command = Command::new(example_binary(name)?);
    command.args(args).current_dir(dir).stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("STEAD_") {
            command.env_remove(key);
        }
    }
    command.env_remove("RUST_LOG").envs(env.iter().copied());
    Ok(command)
}

/// Runs `command` to its end (for at most [`LONG`]) and returns what it printed.
fn run_to_end(mut command: Command) -> Result<Output> {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = Pid::from_raw(i32::try_from(child.id())?);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(LONG) {
        Ok(output) => Ok(output?),
        Err(_) => {
            let _ = kill(pid, Signal::SIGKILL);
            bail!("{command:?} still runs after {LONG:?}")
        }
    }
}

/// Fails with `what` when a service run in `dir` has created its default state directory.
fn nothing_started(dir: &Path, what: &str) -> Result<()> {
    ensure!(!dir.join(".stead").exists(), "{what}");
    Ok(())
}

/// The text of a stream.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A long-running example whose stderr is read line by line.
struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(mut command: Command) -> Result<Running> {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = child.stderr.take().context("stderr is piped")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Running {
            child,
            lines,
            seen: Vec::new(),
        })
    }

    /// Waits (for at most [`LONG`]) for a line of stderr that `pred` accepts.
    fn wait_for(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> Result<String> {
        let deadline = Instant::now() + LONG;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return Ok(line);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    bail!(
                        "no {what} within {LONG:?}; stderr:\n{}",
                        self.seen.join("\n")
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    bail!("exited before {what}; stderr:\n{}", self.seen.join("\n"))
                }
            }
        }
    }

    /// Stops it with Ctrl-C (SIGINT) and returns its exit status and all of its stderr.
    fn interrupt(mut self) -> Result<(ExitStatus, Vec<String>)> {
        kill(
            Pid::from_raw(i32::try_from(self.child.id())?),
            Signal::SIGINT,
        )?;
        let deadline = Instant::now() + LONG;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => bail!("still running {LONG:?} after Ctrl-C"),
            }
        }
        let status = self.child.wait()?;
        Ok((status, std::mem::take(&mut self.seen)))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `plan progress` log line of the deploy plan reaching COMPLETE.
fn deploy_complete(line: &str) -> bool {
    ["plan progress", "plan=deploy", "plan_status=COMPLETE"]
        .iter()
        .all(|part| line.contains(part))
}

#[test]
fn help_lists_every_flag_and_exits_0() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let out = run_to_end(example("data-store", &["--help"], &[], dir.path())?)?;
    let help = text(&out.stdout);
    ensure!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        text(&out.stderr)
    );
    ensure!(help.contains("Usage: data-store"), "{help}");
    // Every flag of the scheduler's arguments (their unit tests check README's list).
    let command = SchedulerArgs::command("any");
    let flags = command.get_arguments().filter_map(|a| a.get_long());
    for flag in flags.chain(["version"]) {
        ensure!(
            help.contains(&format!("--{flag}")),
            "--{flag} missing from the help:\n{help}"
        );
    }
    nothing_started(dir.path(), "--help started the service")?;
    Ok(())
}

#[test]
fn version_is_the_service_binarys_and_exits_0() -> Result<()> {
    let dir = tempfile::tempdir()?;
    for name in ["data-store", "hello-world"] {
        let out = run_to_end(example(name, &["--version"], &[], dir.path())?)?;
        ensure!(out.status.success(), "{name}: {:?}", out.status);
        // The binary's version, then Stead's and the commit it was built from.
        let stdout = text(&out.stdout);
        let version = env!("CARGO_PKG_VERSION");
        let prefix = format!("{name} {version} (stead {version}, commit ");
        let commit = stdout
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(")\n"))
            .unwrap_or_else(|| panic!("{name} --version printed {stdout:?}"));
        assert!(
            commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()),
            "a commit id: {commit:?}"
        );
    }
    Ok(())
}

#[test]
fn a_mistyped_flag_is_an_error_naming_it() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let out = run_to_end(example(
        "data-store",
        &["--stat-dir", "x"],
        &[],
        dir.path(),
    )?)?;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    ensure!(stderr.contains("'--stat-dir'"), "{stderr}");
    ensure!(
        stderr.contains("--state-dir"),
        "suggests the flag: {stderr}"
    );
    nothing_started(dir.path(), "a usage error started the service")?;
    Ok(())
}

/// Flags, environment variables, and the flag the usage error they make names.
type UsageCase = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
    &'static str,
);

#[test]
fn a_missing_or_bad_value_is_an_error_naming_the_flag() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let cases: [UsageCase; 5] = [
        (&["--agents"], &[], "--agents"),
        (&["--api-port", "http"], &[], "--api-port"),
        (&[], &[("STEAD_AGENTS", "0")], "--agents"),
        (&[], &[("STEAD_FAIL_FAST", "maybe")], "--fail-fast"),
        (&[], &[("STEAD_ZK_LOCK", "later")], "--zk-lock"),
    ];
    for (args, env, flag) in cases {
        let out = run_to_end(example("hello-world", args, env, dir.path())?)?;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {stderr}");
        ensure!(stderr.contains(flag), "{args:?} {env:?}: {stderr}");
    }
    nothing_started(dir.path(), "a usage error started the service")?;
    Ok(())
}

#[test]
fn errors_print_once_as_text() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("state");
    let state = state.to_str().context("UTF-8 temp dir")?;
    let out = run_to_end(example(
        "hello-world",
        &["--state-dir", state, "--set", "hello.count=0"],
        &[],
        dir.path(),
    )?)?;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        "error: invalid service specification: --set hello.count=0: count must be at least 1, \
         got 0 (remove the task type instead)\n"
    );

    // An error with a source whose text it quotes: printed once.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "")?;
    let file = file.to_str().context("UTF-8 temp dir")?;
    let out = run_to_end(example(
        "hello-world",
        &["--state-dir", file],
        &[],
        dir.path(),
    )?)?;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    ensure!(errors[0].contains(file), "{stderr}");
    ensure!(
        stderr.matches("os error").count() == 1 && !stderr.contains("caused by"),
        "the cause is already in the message: {stderr}"
    );
    Ok(())
}

/// A POST to the operator API at `addr` (`host:port`), with `token` if given; the
/// response's status code.
fn post_status(addr: &str, path: &str, token: Option<&str>) -> Result<u16> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(LONG))?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .with_context(|| format!("no status in {response:?}"))?;
    Ok(status.parse()?)
}

#[test]
fn environment_variables_configure_the_scheduler() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("state");
    let env = [
        ("STEAD_STATE_DIR", state.to_str().context("UTF-8 temp dir")?),
        ("STEAD_AGENTS", "1"),
        ("STEAD_API_PORT", "0"),
        ("STEAD_BIND", "127.0.0.1"),
        ("STEAD_API_TOKEN", "s3cret"),
        ("STEAD_HELLO_COUNT", "2"),
    ];
    let mut running = Running::start(example("hello-world", &[], &env, dir.path())?)?;
    let listening = running.wait_for("operator API line", |l| {
        l.contains("operator API listening")
    })?;
    ensure!(listening.contains("token=true"), "{listening}");
    let addr = listening
        .split_whitespace()
        .find_map(|w| w.strip_prefix("addr="))
        .context("the API's address")?
        .to_string();
    // A second instance (STEAD_HELLO_COUNT=2), whose step completes the deploy.
    running.wait_for("hello-1's step COMPLETE", |l| {
        l.contains("plan progress") && l.contains("step=hello-1 status=COMPLETE")
    })?;

    ensure!(
        state.join("state.redb").exists(),
        "state in STEAD_STATE_DIR"
    );
    let agents = std::fs::read_dir(state.join("cluster").join("agents"))?.count();
    assert_eq!(agents, 1, "STEAD_AGENTS");
    assert_eq!(post_status(&addr, "/v1/plans/nope/continue", None)?, 401);
    assert_eq!(
        post_status(&addr, "/v1/plans/nope/continue", Some("s3cret"))?,
        404,
        "the token lets the request through to the unknown plan"
    );
    let (status, _) = running.interrupt()?;
    ensure!(status.success(), "Ctrl-C: {status:?}");
    Ok(())
}

#[test]
fn the_log_has_no_colour_codes_off_a_terminal() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let env = [("STEAD_AGENTS", "1"), ("STEAD_API_PORT", "0")];
    let mut running = Running::start(example("hello-world", &[], &env, dir.path())?)?;
    running.wait_for("the deploy plan COMPLETE", deploy_complete)?;
    let (status, lines) = running.interrupt()?;
    ensure!(status.success(), "Ctrl-C: {status:?}");
    ensure!(
        lines.iter().any(|l| l.contains(" INFO ")),
        "levels are written: {lines:#?}"
    );
    let coloured: Vec<&String> = lines.iter().filter(|l| l.contains('\x1b')).collect();
    ensure!(
        coloured.is_empty(),
        "stderr is a pipe, yet the log has escape codes: {coloured:#?}"
    );
    Ok(())
}

/// README's snippet: the block of Rust under "## The DSL at a glance".
fn readme_snippet(readme: &str) -> Option<&str> {
    let section = &readme[readme.find("## The DSL at a glance")?..];
    let start = section.find("```rust\n")? + "```rust\n".len();
    let len = section[start..].find("```\n")?;
    Some(&section[start..start + len])
}

#[test]
fn readme_snippet_is_the_readme_example() -> Result<()> {
    let readme = include_str!("../README.md");
    let example = include_str!("../examples/readme.rs");
    let snippet = readme_snippet(readme).context("no Rust block in the DSL section")?;
    // The example is its doc comment, a blank line, then the snippet.
    let (_, body) = example
        .split_once("\n\n")
        .context("no blank line after the doc comment")?;
    assert_eq!(
        snippet, body,
        "README's snippet and examples/readme.rs differ"
    );
    Ok(())
}

#[test]
fn readme_example_deploys_on_the_embedded_cluster() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("state");
    let state = state.to_str().context("UTF-8 temp dir")?;
    let mut running = Running::start(example(
        "readme",
        &["--state-dir", state, "--api-port", "0"],
        &[],
        dir.path(),
    )?)?;
    running.wait_for("deploy plan COMPLETE", deploy_complete)?;
    let (status, stderr) = running.interrupt()?;
    ensure!(status.success(), "Ctrl-C: {status:?}");
    let progress = stderr
        .iter()
        .filter(|l| l.contains("plan progress"))
        .count();
    ensure!(
        progress >= 5,
        "a line per step at least:\n{}",
        stderr.join("\n")
    );
    ensure!(
        !stderr.iter().any(|l| l.contains('\x1b')),
        "colour codes on a stderr that is not a terminal"
    );
    ensure!(
        !stderr.iter().any(|l| l.starts_with("error")),
        "{}",
        stderr.join("\n")
    );
    Ok(())
}
