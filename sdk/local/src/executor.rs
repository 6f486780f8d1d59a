//! The agents' command executor: prepares a task's sandbox (fetched URIs, persistent volumes
//! linked at their `container_path`), runs its command as a process group, runs its health
//! check and its check (readiness), honours the kill policy and reports every state change.
//!
//! Health checks (`TaskInfo.health_check`, COMMAND) are reported as TASK_RUNNING updates with
//! `healthy` set, whenever health changes; after `consecutive_failures` failures past the grace
//! period the task is killed (TASK_KILLED, `healthy=false`), as Mesos's command executor does.
//! Checks (`TaskInfo.check`, COMMAND; used for readiness) are reported as TASK_RUNNING updates
//! with `check_status.command.exit_code`, whenever the exit code changes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use stead_proto::v1::task_status::{Reason, Source};
use stead_proto::v1::{CheckStatusInfo, CommandInfo, TaskInfo, TaskState, check_status_info};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::ExecutorMode;
use crate::fetcher::{FetchUri, fetch_all};
use crate::process::{GroupProcess, ProcessSpec, Program, describe_exit};

/// A state change reported by an executor.
#[derive(Debug, Clone)]
pub(crate) struct ExecutorUpdate {
    /// Identifies the executor run (stale runs are ignored by the master).
    pub seq: u64,
    pub framework_id: String,
    pub task_id: String,
    pub state: TaskState,
    pub source: Source,
    pub reason: Option<Reason>,
    pub message: Option<String>,
    pub healthy: Option<bool>,
    pub check_status: Option<CheckStatusInfo>,
}

/// Instructions to a running executor.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Control {
    /// Kill the task (reported as TASK_KILLED) with this grace period (None: the task's policy).
    Kill(Option<Duration>),
    /// Kill the task at once and report nothing (the agent went away or the cluster stops).
    Abort,
}

/// Everything an executor needs to run one task.
#[derive(Debug, Clone)]
pub(crate) struct LaunchSpec {
    pub seq: u64,
    pub agent_id: String,
    /// The agent's address, given to the task as `MESOS_CONTAINER_IP`.
    pub address: std::net::IpAddr,
    pub framework_id: String,
    pub task: Arc<TaskInfo>,
    pub container_id: String,
    pub sandbox: PathBuf,
    /// (volume directory, container path) pairs.
    pub volumes: Vec<(PathBuf, String)>,
    pub mode: ExecutorMode,
    pub default_grace: Duration,
    /// The framework understands TASK_KILLING.
    pub killing_state: bool,
    pub http: crate::fetcher::HttpClient,
}

/// A running executor.
#[derive(Debug)]
pub(crate) struct ExecutorHandle {
    pub seq: u64,
    control: mpsc::UnboundedSender<Control>,
    join: JoinHandle<()>,
}

impl ExecutorHandle {
    /// Sends an instruction (ignored if the executor already ended).
    pub fn send(&self, c: Control) {
        let _ = self.control.send(c);
    }

    /// Aborts the task and waits until its processes are reaped.
    pub async fn abort_and_wait(self) {
        let _ = self.control.send(Control::Abort);
        if let Err(e) = self.join.await {
            tracing::warn!(%e, "executor task ended abnormally");
        }
    }
}

/// Starts an executor for `spec`; its updates go to `updates`.
pub(crate) fn launch(
    spec: LaunchSpec,
    updates: mpsc::UnboundedSender<ExecutorUpdate>,
) -> ExecutorHandle {
    let (control_tx, control_rx) = mpsc::unbounded_channel();
    let seq = spec.seq;
    let join = tokio::spawn(async move {
        let mut run = Run {
            spec,
            updates,
            healthy: None,
            check_status: None,
        };
        match run.spec.mode {
            ExecutorMode::Simulated => run.simulated(control_rx).await,
            ExecutorMode::Process => run.process(control_rx).await,
        }
    });
    ExecutorHandle {
        seq,
        control: control_tx,
        join,
    }
}

/// The program described by a `CommandInfo`.
pub(crate) fn program_of(cmd: &CommandInfo) -> Result<Program, String> {
    let value = cmd.value.clone().unwrap_or_default();
    if cmd.shell.unwrap_or(true) {
        if value.trim().is_empty() {
            return Err("Command value is empty".into());
        }
        Ok(Program::Shell(value))
    } else if value.is_empty() {
        Err("Command value (the executable) is empty".into())
    } else {
        Ok(Program::Exec {
            path: value,
            argv: cmd.arguments.clone(),
        })
    }
}

/// The result of one run of a check command: its exit code, None on timeout or failure to run.
type CheckResult = Option<i32>;

enum CheckKind {
    Health,
    Readiness,
}

struct Run {
    spec: LaunchSpec,
    updates: mpsc::UnboundedSender<ExecutorUpdate>,
    healthy: Option<bool>,
    check_status: Option<CheckStatusInfo>,
}

impl Run {
    fn send(
        &self,
        state: TaskState,
        source: Source,
        reason: Option<Reason>,
        message: Option<String>,
    ) {
        let _ = self.updates.send(ExecutorUpdate {
            seq: self.spec.seq,
            framework_id: self.spec.framework_id.clone(),
            task_id: self.spec.task.task_id.value.clone(),
            state,
            source,
            reason,
            message,
            healthy: self.healthy,
            check_status: self.check_status,
        });
    }

    fn grace(&self, requested: Option<Duration>) -> Duration {
        requested
            .or_else(|| {
                self.spec
                    .task
                    .kill_policy
                    .as_ref()
                    .and_then(|k| k.grace_period.as_ref())
                    .map(|d| Duration::from_nanos(d.nanoseconds.max(0).unsigned_abs()))
            })
            .unwrap_or(self.spec.default_grace)
    }

    fn empty_check_status(&self) -> Option<CheckStatusInfo> {
        self.spec.task.check.as_ref().map(|c| CheckStatusInfo {
            r#type: c.r#type,
            command: Some(check_status_info::Command { exit_code: None }),
            ..Default::default()
        })
    }

    async fn simulated(&mut self, mut control: mpsc::UnboundedReceiver<Control>) {
        if self.spec.task.health_check.is_some() {
            self.healthy = Some(true);
        }
        self.check_status = self.empty_check_status().map(|mut c| {
            c.command = Some(check_status_info::Command { exit_code: Some(0) });
            c
        });
        self.send(TaskState::TaskStarting, Source::Executor, None, None);
        self.send(TaskState::TaskRunning, Source::Executor, None, None);
        match control.recv().await {
            Some(Control::Kill(_)) => self.send(
                TaskState::TaskKilled,
                Source::Executor,
                None,
                Some("Simulated task killed".into()),
            ),
            Some(Control::Abort) | None => {}
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        let sandbox = self.spec.sandbox.display().to_string();
        let task_id = self.spec.task.task_id.value.clone();
        let mut env = vec![
            ("MESOS_SANDBOX".to_string(), sandbox.clone()),
            ("MESOS_DIRECTORY".to_string(), sandbox),
            ("MESOS_TASK_ID".to_string(), task_id.clone()),
            ("MESOS_EXECUTOR_ID".to_string(), task_id),
            ("MESOS_AGENT_ID".to_string(), self.spec.agent_id.clone()),
            ("MESOS_SLAVE_ID".to_string(), self.spec.agent_id.clone()),
            (
                "MESOS_FRAMEWORK_ID".to_string(),
                self.spec.framework_id.clone(),
            ),
            (
                "MESOS_CONTAINER_ID".to_string(),
                self.spec.container_id.clone(),
            ),
            (
                "MESOS_CONTAINER_IP".to_string(),
                self.spec.address.to_string(),
            ),
        ];
        if let Some(vars) = self
            .spec
            .task
            .command
            .as_ref()
            .and_then(|c| c.environment.as_ref())
        {
            for v in &vars.variables {
                let value = v.value.clone().or_else(|| {
                    v.secret
                        .as_ref()
                        .and_then(|s| s.value.as_ref())
                        .map(|sv| String::from_utf8_lossy(&sv.data).into_owned())
                });
                env.push((v.name.clone(), value.unwrap_or_default()));
            }
        }
        env
    }

    /// Creates the sandbox and links the persistent volumes into it.
    async fn prepare(&self) -> Result<(), String> {
        let sandbox = &self.spec.sandbox;
        tokio::fs::create_dir_all(sandbox)
            .await
            .map_err(|e| format!("Failed to create sandbox {}: {e}", sandbox.display()))?;
        for (volume_dir, container_path) in &self.spec.volumes {
            tokio::fs::create_dir_all(volume_dir)
                .await
                .map_err(|e| format!("Failed to create volume {}: {e}", volume_dir.display()))?;
            let link = sandbox.join(container_path);
            if let Some(parent) = link.parent() {
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(|e| format!("Failed to create {}: {e}", parent.display()))?;
            }
            tokio::fs::symlink(volume_dir, &link).await.map_err(|e| {
                format!(
                    "Failed to make volume {} visible at '{container_path}': {e}",
                    volume_dir.display()
                )
            })?;
        }
        Ok(())
    }

    fn process_spec(&self, program: Program, out: &str, err: &str) -> ProcessSpec {
        ProcessSpec {
            program,
            env: self.env(),
            cwd: self.spec.sandbox.clone(),
            stdout: self.spec.sandbox.join(out),
            stderr: self.spec.sandbox.join(err),
        }
    }

    fn launch_failed(&self, message: String) {
        self.send(
            TaskState::TaskFailed,
            Source::Agent,
            Some(Reason::ContainerLaunchFailed),
            Some(message),
        );
    }

    async fn process(&mut self, mut control: mpsc::UnboundedReceiver<Control>) {
        let Some(command) = self.spec.task.command.clone() else {
            self.launch_failed("Task has no command".into());
            return;
        };
        let program = match program_of(&command) {
            Ok(p) => p,
            Err(e) => return self.launch_failed(e),
        };
        if let Err(e) = self.prepare().await {
            return self.launch_failed(format!("Failed to launch container: {e}"));
        }
        let uris: Vec<FetchUri> = command
            .uris
            .iter()
            .map(|u| FetchUri {
                value: u.value.clone(),
                executable: u.executable.unwrap_or(false),
                extract: u.extract.unwrap_or(true),
                output_file: u.output_file.clone(),
            })
            .collect();
        let fetch = fetch_all(&self.spec.http, &uris, &self.spec.sandbox);
        tokio::select! {
            result = fetch => {
                if let Err(e) = result {
                    return self.launch_failed(format!("Failed to launch container: {e}"));
                }
            }
            c = control.recv() => {
                if let Some(Control::Kill(_)) = c {
                    self.send(
                        TaskState::TaskKilled,
                        Source::Agent,
                        Some(Reason::TaskKilledDuringLaunch),
                        Some("Task killed while its URIs were fetched".into()),
                    );
                }
                return;
            }
        }
        self.send(TaskState::TaskStarting, Source::Executor, None, None);
        let mut process = match GroupProcess::spawn(&self.process_spec(program, "stdout", "stderr"))
        {
            Ok(p) => p,
            Err(e) => {
                return self.launch_failed(format!("Failed to launch command: {e}"));
            }
        };
        self.check_status = self.empty_check_status();
        self.send(TaskState::TaskRunning, Source::Executor, None, None);

        let (check_tx, mut check_rx) = mpsc::unbounded_channel::<(bool, CheckResult)>();
        let mut checkers = Vec::new();
        if let Some(hc) = &self.spec.task.health_check
            && let Some(cmd) = &hc.command
            && let Ok(program) = program_of(cmd)
        {
            checkers.push(self.spawn_checker(
                CheckKind::Health,
                program,
                secs(hc.delay_seconds, 15.0),
                secs(hc.interval_seconds, 10.0),
                secs(hc.timeout_seconds, 20.0),
                check_tx.clone(),
            ));
        }
        if let Some(c) = &self.spec.task.check
            && let Some(cmd) = c.command.as_ref().map(|c| &c.command)
            && let Ok(program) = program_of(cmd)
        {
            checkers.push(self.spawn_checker(
                CheckKind::Readiness,
                program,
                secs(c.delay_seconds, 15.0),
                secs(c.interval_seconds, 10.0),
                secs(c.timeout_seconds, 20.0),
                check_tx.clone(),
            ));
        }
        drop(check_tx);

        let started = Instant::now();
        let (grace_period, max_failures) = self
            .spec
            .task
            .health_check
            .as_ref()
            .map(|hc| {
                (
                    secs(hc.grace_period_seconds, 10.0),
                    hc.consecutive_failures.unwrap_or(3).max(1),
                )
            })
            .unwrap_or((Duration::ZERO, 3));
        let mut failures = 0u32;
        let mut ever_healthy = false;

        let outcome = loop {
            tokio::select! {
                status = process.wait() => {
                    break match status {
                        Ok(s) if s.success() => (TaskState::TaskFinished, describe_exit(&s), None),
                        Ok(s) => (TaskState::TaskFailed, describe_exit(&s), None),
                        Err(e) => (TaskState::TaskFailed, format!("Failed to wait for the command: {e}"), Some(Reason::CommandExecutorFailed)),
                    };
                }
                c = control.recv() => {
                    match c {
                        Some(Control::Kill(grace)) => {
                            let grace = self.grace(grace);
                            break self.kill(&mut process, grace, None).await;
                        }
                        Some(Control::Abort) | None => {
                            let _ = process.kill(Duration::ZERO).await;
                            for c in checkers { c.abort(); }
                            return;
                        }
                    }
                }
                Some((is_health, result)) = check_rx.recv() => {
                    if is_health {
                        let ok = result == Some(0);
                        if ok {
                            failures = 0;
                            ever_healthy = true;
                        } else if ever_healthy || started.elapsed() >= grace_period {
                            failures += 1;
                        }
                        let report = if ok { Some(true) } else if failures > 0 { Some(false) } else { self.healthy };
                        if report != self.healthy {
                            self.healthy = report;
                            self.send(TaskState::TaskRunning, Source::Executor, Some(Reason::TaskHealthCheckStatusUpdated), None);
                        }
                        if failures >= max_failures {
                            let grace = self.grace(None);
                            break self.kill(&mut process, grace, Some(format!("Task killed after failing {failures} consecutive health checks"))).await;
                        }
                    } else {
                        let new = self.check_status.map(|mut c| {
                            c.command = Some(check_status_info::Command { exit_code: result });
                            c
                        });
                        if new != self.check_status {
                            self.check_status = new;
                            self.send(TaskState::TaskRunning, Source::Executor, Some(Reason::TaskCheckStatusUpdated), None);
                        }
                    }
                }
            }
        };
        for c in checkers {
            c.abort();
        }
        let (state, message, reason) = outcome;
        self.send(state, Source::Executor, reason, Some(message));
    }

    async fn kill(
        &mut self,
        process: &mut GroupProcess,
        grace: Duration,
        why: Option<String>,
    ) -> (TaskState, String, Option<Reason>) {
        let by_health = why.is_some();
        if self.spec.killing_state {
            self.send(TaskState::TaskKilling, Source::Executor, None, why.clone());
        }
        let message = match process.kill(grace).await {
            Ok(s) => describe_exit(&s),
            Err(e) => format!("Failed to reap the killed command: {e}"),
        };
        let message = why.map_or(message.clone(), |w| format!("{w}; {message}"));
        let reason = by_health.then_some(Reason::TaskHealthCheckStatusUpdated);
        if by_health {
            self.healthy = Some(false);
        }
        (TaskState::TaskKilled, message, reason)
    }

    fn spawn_checker(
        &self,
        kind: CheckKind,
        program: Program,
        delay: Duration,
        interval: Duration,
        timeout: Duration,
        results: mpsc::UnboundedSender<(bool, CheckResult)>,
    ) -> JoinHandle<()> {
        let spec = self.process_spec(program, "checks.stdout", "checks.stderr");
        let is_health = matches!(kind, CheckKind::Health);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            loop {
                let result = match GroupProcess::spawn(&spec) {
                    Ok(mut p) => match tokio::time::timeout(timeout, p.wait()).await {
                        Ok(Ok(status)) => status.code(),
                        Ok(Err(_)) => None,
                        Err(_) => {
                            let _ = p.kill(Duration::ZERO).await;
                            None
                        }
                    },
                    Err(e) => {
                        tracing::warn!(%e, "cannot run a check command");
                        None
                    }
                };
                if results.send((is_health, result)).is_err() {
                    return;
                }
                tokio::time::sleep(interval).await;
            }
        })
    }
}

fn secs(v: Option<f64>, default: f64) -> Duration {
    let v = v.unwrap_or(default);
    if v.is_finite() && v >= 0.0 {
        Duration::from_secs_f64(v)
    } else {
        Duration::from_secs_f64(default)
    }
}
