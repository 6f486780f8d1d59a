//! Task processes: each runs in its own process group, with its output in sandbox files,
//! and is killed as a group (SIGTERM, then SIGKILL after a grace period).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

/// What to execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// `/bin/sh -c <command>`.
    Shell(String),
    /// Execute `path` directly with `argv` (`argv[0]` included, as in Mesos's `CommandInfo`).
    Exec {
        /// The executable; a relative path containing `/` is taken relative to the working directory.
        path: String,
        /// The full argument vector, `argv[0]` included (may be empty).
        argv: Vec<String>,
    },
}

/// Everything needed to start one process.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// What to run.
    pub program: Program,
    /// Extra environment variables, added to (and overriding) the inherited environment.
    pub env: Vec<(String, String)>,
    /// The working directory (the sandbox).
    pub cwd: PathBuf,
    /// File receiving standard output (appended to).
    pub stdout: PathBuf,
    /// File receiving standard error (appended to).
    pub stderr: PathBuf,
}

/// A spawned process leading its own process group.
#[derive(Debug)]
pub struct GroupProcess {
    child: Child,
    pgid: Pid,
    status: Option<ExitStatus>,
}

fn open_append(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

impl GroupProcess {
    /// Starts the process in a new process group whose id is its pid.
    pub fn spawn(spec: &ProcessSpec) -> std::io::Result<Self> {
        let mut cmd = match &spec.program {
            Program::Shell(command) => {
                let mut c = Command::new("/bin/sh");
                c.arg("-c").arg(command);
                c
            }
            Program::Exec { path, argv } => {
                let program: OsString = if path.contains('/') && !Path::new(path).is_absolute() {
                    spec.cwd.join(path).into_os_string()
                } else {
                    path.into()
                };
                let mut c = Command::new(program);
                if let Some((first, rest)) = argv.split_first() {
                    c.arg0(first);
                    c.args(rest);
                }
                c
            }
        };
        cmd.current_dir(&spec.cwd)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(open_append(&spec.stdout)?))
            .stderr(Stdio::from(open_append(&spec.stderr)?))
            .process_group(0)
            .kill_on_drop(true);
        let child = cmd.spawn()?;
        let pid = child
            .id()
            .ok_or_else(|| std::io::Error::other("spawned process has no pid"))?;
        let pgid = Pid::from_raw(i32::try_from(pid).map_err(std::io::Error::other)?);
        Ok(Self {
            child,
            pgid,
            status: None,
        })
    }

    /// The process id (also the process group id).
    pub fn pid(&self) -> u32 {
        self.pgid.as_raw().unsigned_abs()
    }

    /// Sends `signal` to every process of the group; a group that is already gone is not an error.
    pub fn signal_group(&self, signal: Signal) {
        if let Err(e) = killpg(self.pgid, signal)
            && e != nix::errno::Errno::ESRCH
        {
            tracing::warn!(pgid = self.pgid.as_raw(), %e, "killpg failed");
        }
    }

    /// Waits for the group leader to exit (reaping it), then kills whatever is left of its group,
    /// as a container's destruction would.
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let status = self.child.wait().await?;
        self.status = Some(status);
        self.signal_group(Signal::SIGKILL);
        Ok(status)
    }

    /// Kills the group: SIGTERM to every member, then SIGKILL once `grace` has passed
    /// if the leader is still alive. Returns the leader's exit status once it is reaped.
    pub async fn kill(&mut self, grace: Duration) -> std::io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        self.signal_group(Signal::SIGTERM);
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => {
                let status = status?;
                self.status = Some(status);
                self.signal_group(Signal::SIGKILL);
                Ok(status)
            }
            Err(_) => {
                self.signal_group(Signal::SIGKILL);
                let status = self.child.wait().await?;
                self.status = Some(status);
                Ok(status)
            }
        }
    }
}

impl Drop for GroupProcess {
    fn drop(&mut self) {
        if self.status.is_none() {
            // The leader is killed by kill_on_drop; the rest of its group must not outlive it.
            self.signal_group(Signal::SIGKILL);
        }
    }
}

/// Describes an exit status as Mesos's command executor does ("Command exited with status 1",
/// "Command terminated with signal Killed").
pub fn describe_exit(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        format!("Command exited with status {code}")
    } else if let Some(sig) = status.signal() {
        let name = Signal::try_from(sig)
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|_| sig.to_string());
        format!("Command terminated with signal {name}")
    } else {
        "Command exited".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn spec(dir: &Path, program: Program) -> ProcessSpec {
        ProcessSpec {
            program,
            env: vec![("STEAD_TEST_VAR".into(), "hello".into())],
            cwd: dir.to_path_buf(),
            stdout: dir.join("stdout"),
            stderr: dir.join("stderr"),
        }
    }

    #[tokio::test]
    async fn shell_output_and_env_go_to_sandbox_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = GroupProcess::spawn(&spec(
            dir.path(),
            Program::Shell("echo $STEAD_TEST_VAR; pwd; echo oops >&2; exit 3".into()),
        ))
        .unwrap();
        let status = p.wait().await.unwrap();
        assert_eq!(status.code(), Some(3));
        let out = std::fs::read_to_string(dir.path().join("stdout")).unwrap();
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("hello"));
        assert_eq!(
            std::fs::canonicalize(lines.next().unwrap()).unwrap(),
            std::fs::canonicalize(dir.path()).unwrap()
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("stderr")).unwrap(),
            "oops\n"
        );
        assert_eq!(describe_exit(&status), "Command exited with status 3");
    }

    #[tokio::test]
    async fn exec_passes_argv() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = GroupProcess::spawn(&spec(
            dir.path(),
            Program::Exec {
                path: "/bin/sh".into(),
                argv: vec![
                    "sh".into(),
                    "-c".into(),
                    "echo \"$0 $1\"".into(),
                    "x".into(),
                ],
            },
        ))
        .unwrap();
        assert!(p.wait().await.unwrap().success());
        let out = std::fs::read_to_string(dir.path().join("stdout")).unwrap();
        assert_eq!(out, "x \n");
    }

    #[tokio::test]
    async fn kill_escalates_to_sigkill_for_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        // The leader and a background child both ignore SIGTERM.
        let mut p = GroupProcess::spawn(&spec(
            dir.path(),
            Program::Shell(
                "trap '' TERM; (trap '' TERM; sleep 1000) & echo $! > child.pid; echo ready; while true; do sleep 0.05; done"
                    .into(),
            ),
        ))
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !std::fs::read_to_string(dir.path().join("stdout"))
            .unwrap_or_default()
            .contains("ready")
        {
            assert!(Instant::now() < deadline, "process never became ready");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let child_pid: i32 = std::fs::read_to_string(dir.path().join("child.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let started = Instant::now();
        let status = p.kill(Duration::from_millis(300)).await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(describe_exit(&status).contains("KILL"), "{status:?}");
        // The background child got SIGKILL too; it is reaped by init, so poll until it is gone.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let stat = std::fs::read_to_string(format!("/proc/{child_pid}/stat"));
            match stat {
                Err(_) => break,
                // A zombie ("Z") is dead already.
                Ok(s)
                    if s.rsplit(')')
                        .next()
                        .is_some_and(|r| r.trim_start().starts_with('Z')) =>
                {
                    break;
                }
                Ok(_) => {}
            }
            assert!(Instant::now() < deadline, "group member survived the kill");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn sigterm_is_enough_for_a_cooperative_process() {
        let dir = tempfile::tempdir().unwrap();
        let mut p =
            GroupProcess::spawn(&spec(dir.path(), Program::Shell("exec sleep 1000".into())))
                .unwrap();
        let status = p.kill(Duration::from_secs(30)).await.unwrap();
        assert_eq!(
            describe_exit(&status),
            "Command terminated with signal SIGTERM"
        );
    }
}
