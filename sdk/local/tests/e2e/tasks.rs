//! Tasks: kill policy, fetching, invalid launches, reliable updates, reconciliation, checks.

use std::time::{Duration, Instant};

use stead_proto::scheduler::{Call, call};
use stead_proto::v1::task_status::Reason;
use stead_proto::v1::{
    CheckInfo, CommandInfo, DurationInfo, Environment, HealthCheck, KillPolicy, TaskState,
    check_info, command_info, environment,
};

use crate::client::*;

/// Whether the process is gone (or a zombie).
pub fn process_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z')),
    }
}

/// The pid a task wrote to `path`, once it did.
pub fn read_pid(path: &std::path::Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// KILL of `task_id`, with a grace period or the task's own.
pub fn kill_call(task_id: &str, grace: Option<Duration>) -> Call {
    Call {
        r#type: Some(call::Type::Kill as i32),
        kill: Some(call::Kill {
            task_id: stead_proto::v1::TaskId {
                value: task_id.into(),
            },
            agent_id: None,
            kill_policy: grace.map(|g| KillPolicy {
                grace_period: Some(DurationInfo {
                    nanoseconds: g.as_nanos() as i64,
                }),
            }),
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn kill_policy_escalates_on_a_process_ignoring_sigterm() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 1).await;
    let mut s = Sched::subscribe(
        cluster.master_url(),
        framework("k", "r", 0.0, &[]),
        Enc::Json,
    )
    .await?;
    let o = s.offers().await?.remove(0);
    let pidfile = dir.path().join("stubborn.pid");
    let mut t = task(
        "stubborn",
        &o.agent_id,
        &format!(
            "trap '' TERM; echo $$ > {}; while true; do sleep 0.05; done",
            pidfile.display()
        ),
        vec![scalar("cpus", 0.5), scalar("mem", 64.0)],
    );
    t.kill_policy = Some(KillPolicy {
        grace_period: Some(DurationInfo {
            nanoseconds: 800_000_000,
        }),
    });
    s.accept(&o, vec![launch_op(vec![t])], 0.0).await?;
    s.update("stubborn", TaskState::TaskRunning).await?;
    eventually("the pid file", || async { read_pid(&pidfile).is_some() }).await?;
    let pid = read_pid(&pidfile).unwrap();
    let started = Instant::now();
    s.send(kill_call("stubborn", None)).await?;
    let killed = s.update("stubborn", TaskState::TaskKilled).await?;
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "SIGKILL came before the grace period"
    );
    assert!(killed.message.unwrap().contains("SIGKILL"));
    assert!(process_gone(pid));
    // Killing an unknown task: reconciliation answers TASK_LOST.
    s.send(kill_call("never-was", None)).await?;
    let lost = s.update("never-was", TaskState::TaskLost).await?;
    assert_eq!(lost.reason, Some(Reason::Reconciliation as i32));
    assert!(lost.uuid.is_none());
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn uris_are_fetched_and_extracted_and_a_failed_fetch_fails_the_task() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let src = dir.path().join("artifacts");
    std::fs::create_dir_all(src.join("pkg"))?;
    std::fs::write(
        src.join("pkg/run.sh"),
        "#!/bin/sh\necho \"run $1\" > out.txt\n",
    )?;
    let tgz = dir.path().join("pkg.tar.gz");
    let status = std::process::Command::new("tar")
        .arg("czf")
        .arg(&tgz)
        .arg("-C")
        .arg(&src)
        .arg("pkg")
        .status()?;
    assert!(status.success());
    let cluster = crate::cluster(&dir.path().join("work"), 1).await;
    let mut s = Sched::subscribe(
        cluster.master_url(),
        framework("fetch", "r", 0.0, &[]),
        Enc::Json,
    )
    .await?;
    let o = s.offers().await?.remove(0);
    let mut t = task(
        "fetched",
        &o.agent_id,
        "",
        vec![scalar("cpus", 0.1), scalar("mem", 32.0)],
    );
    t.command = Some(CommandInfo {
        uris: vec![command_info::Uri {
            value: format!("file://{}", tgz.display()),
            ..Default::default()
        }],
        shell: Some(false),
        value: Some("/bin/sh".into()),
        arguments: vec!["sh".into(), "pkg/run.sh".into(), "$GREETING".into()],
        environment: Some(Environment {
            variables: vec![environment::Variable {
                name: "GREETING".into(),
                value: Some("hi".into()),
                ..Default::default()
            }],
        }),
        ..Default::default()
    });
    let mut bad = task(
        "bad-fetch",
        &o.agent_id,
        "true",
        vec![scalar("cpus", 0.1), scalar("mem", 32.0)],
    );
    bad.command.as_mut().unwrap().uris.push(command_info::Uri {
        value: "file:///nonexistent/stead-artifact.zip".into(),
        ..Default::default()
    });
    s.accept(&o, vec![launch_op(vec![t, bad])], 0.0).await?;
    s.update("fetched", TaskState::TaskFinished).await?;
    let failed = s.update("bad-fetch", TaskState::TaskFailed).await?;
    assert_eq!(failed.reason, Some(Reason::ContainerLaunchFailed as i32));
    let msg = failed.message.unwrap();
    assert!(msg.contains("/nonexistent/stead-artifact.zip"), "{msg}");
    let st = cluster.state().await?;
    let sandbox = st.frameworks[0]
        .tasks
        .iter()
        .chain(&st.frameworks[0].completed_tasks)
        .find_map(|t| (t.id == "fetched").then(|| t.sandbox.clone()))
        .flatten();
    // Completed tasks do not keep their sandbox path in the view: find it on disk.
    let sandbox = match sandbox {
        Some(p) => p,
        None => find_file(&dir.path().join("work"), "out.txt")
            .unwrap()
            .parent()
            .unwrap()
            .to_path_buf(),
    };
    // Exec form: no shell expansion of "$GREETING" in arguments.
    assert_eq!(
        std::fs::read_to_string(sandbox.join("out.txt"))?,
        "run $GREETING\n"
    );
    assert!(sandbox.join("pkg.tar.gz").exists());
    cluster.shutdown().await?;
    Ok(())
}

fn find_file(root: &std::path::Path, name: &str) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(root).ok()? {
        let p = e.ok()?.path();
        if p.is_dir() {
            if let Some(f) = find_file(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

#[tokio::test]
async fn invalid_launches_get_task_error() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 1).await;
    let mut s = Sched::subscribe(
        cluster.master_url(),
        framework("inv", "r", 0.0, &[]),
        Enc::Protobuf,
    )
    .await?;
    let o = s.offers().await?.remove(0);
    let greedy = task("greedy", &o.agent_id, "true", vec![scalar("cpus", 100.0)]);
    let first = task(
        "dup",
        &o.agent_id,
        "sleep 30",
        vec![scalar("cpus", 0.1), scalar("mem", 32.0)],
    );
    let second = task(
        "dup",
        &o.agent_id,
        "true",
        vec![scalar("cpus", 0.1), scalar("mem", 32.0)],
    );
    let mut no_cmd = task("nocmd", &o.agent_id, "true", vec![scalar("cpus", 0.1)]);
    no_cmd.command = None;
    let mut foreign = task("foreign", &o.agent_id, "true", vec![scalar("cpus", 0.1)]);
    foreign.agent_id.value = "elsewhere".into();
    s.accept(
        &o,
        vec![launch_op(vec![greedy, first, second, no_cmd, foreign])],
        0.0,
    )
    .await?;
    let mut errors = std::collections::HashMap::new();
    while errors.len() < 4 {
        let ev = s.next_event(WAIT).await?;
        if let Some(u) = ev.update
            && u.status.state == TaskState::TaskError as i32
        {
            assert!(u.status.uuid.is_none());
            assert_eq!(u.status.reason, Some(Reason::TaskInvalid as i32));
            errors.insert(
                u.status.task_id.value.clone(),
                u.status.message.unwrap_or_default(),
            );
        }
    }
    for (id, needle) in [
        ("greedy", "more resources"),
        ("nocmd", "CommandInfo"),
        ("foreign", "invalid agent"),
        ("dup", "duplicate"),
    ] {
        assert!(errors[id].contains(needle), "{id}: {}", errors[id]);
    }
    s.update("dup", TaskState::TaskRunning).await?;
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn updates_are_resent_until_acknowledged_and_reconciled() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 1).await;
    let mut s = Sched::subscribe(
        cluster.master_url(),
        framework("rel", "r", 0.0, &[]),
        Enc::Json,
    )
    .await?;
    let o = s.offers().await?.remove(0);
    let t = task(
        "sleeper",
        &o.agent_id,
        "sleep 60",
        vec![scalar("cpus", 0.1), scalar("mem", 32.0)],
    );
    s.accept(&o, vec![launch_op(vec![t])], 0.0).await?;
    // STARTING, not acknowledged: resent (retry 500 ms), and RUNNING waits behind it.
    let ev = s
        .wait_for("STARTING", |e| {
            e.update
                .as_ref()
                .is_some_and(|u| u.status.task_id.value == "sleeper")
        })
        .await?;
    let starting = ev.update.unwrap().status;
    assert_eq!(starting.state, TaskState::TaskStarting as i32);
    let again = s
        .wait_for("the resend", |e| {
            e.update
                .as_ref()
                .is_some_and(|u| u.status.task_id.value == "sleeper")
        })
        .await?
        .update
        .unwrap()
        .status;
    assert_eq!(again.uuid, starting.uuid);
    s.ack(&starting).await?;
    let running = s.update("sleeper", TaskState::TaskRunning).await?;
    assert_eq!(
        running.source,
        Some(stead_proto::v1::task_status::Source::Executor as i32)
    );

    // Implicit reconciliation: every task; explicit: the listed ones (unknown ones are LOST).
    s.send(Call {
        r#type: Some(call::Type::Reconcile as i32),
        reconcile: Some(call::Reconcile { tasks: vec![] }),
        ..Default::default()
    })
    .await?;
    let r = s.update("sleeper", TaskState::TaskRunning).await?;
    assert_eq!(r.reason, Some(Reason::Reconciliation as i32));
    assert!(r.uuid.is_none());
    s.send(Call {
        r#type: Some(call::Type::Reconcile as i32),
        reconcile: Some(call::Reconcile {
            tasks: vec![call::reconcile::Task {
                task_id: stead_proto::v1::TaskId {
                    value: "ghost".into(),
                },
                agent_id: None,
            }],
        }),
        ..Default::default()
    })
    .await?;
    s.update("ghost", TaskState::TaskLost).await?;
    // SHUTDOWN of the command executor kills the task.
    s.send(Call {
        r#type: Some(call::Type::Shutdown as i32),
        shutdown: Some(call::Shutdown {
            executor_id: stead_proto::v1::ExecutorId {
                value: "sleeper".into(),
            },
            agent_id: o.agent_id.clone(),
        }),
        ..Default::default()
    })
    .await?;
    s.update("sleeper", TaskState::TaskKilled).await?;
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn health_and_readiness_checks_are_reported() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = crate::cluster(dir.path(), 1).await;
    let mut s = Sched::subscribe(
        cluster.master_url(),
        framework("hc", "r", 0.0, &[]),
        Enc::Json,
    )
    .await?;
    let o = s.offers().await?.remove(0);
    let mut t = task(
        "checked",
        &o.agent_id,
        "sleep 1; touch ready; sleep 60",
        vec![scalar("cpus", 0.1), scalar("mem", 32.0)],
    );
    t.health_check = Some(Box::new(HealthCheck {
        r#type: Some(stead_proto::v1::health_check::Type::Command as i32),
        command: Some(CommandInfo {
            value: Some("true".into()),
            ..Default::default()
        }),
        delay_seconds: Some(0.0),
        interval_seconds: Some(0.2),
        grace_period_seconds: Some(0.0),
        ..Default::default()
    }));
    t.check = Some(Box::new(CheckInfo {
        r#type: Some(check_info::Type::Command as i32),
        command: Some(check_info::Command {
            command: CommandInfo {
                value: Some("test -f ready".into()),
                ..Default::default()
            },
        }),
        delay_seconds: Some(0.0),
        interval_seconds: Some(0.2),
        ..Default::default()
    }));
    let mut failing = task(
        "unhealthy",
        &o.agent_id,
        "sleep 60",
        vec![scalar("cpus", 0.1), scalar("mem", 32.0)],
    );
    failing.health_check = Some(Box::new(HealthCheck {
        r#type: Some(stead_proto::v1::health_check::Type::Command as i32),
        command: Some(CommandInfo {
            value: Some("false".into()),
            ..Default::default()
        }),
        delay_seconds: Some(0.0),
        interval_seconds: Some(0.1),
        grace_period_seconds: Some(0.0),
        consecutive_failures: Some(2),
        ..Default::default()
    }));
    s.accept(&o, vec![launch_op(vec![t, failing])], 0.0).await?;
    let deadline = Instant::now() + WAIT;
    let (mut healthy, mut ready, mut killed) = (false, false, false);
    while !(healthy && ready && killed) {
        anyhow::ensure!(
            Instant::now() < deadline,
            "checks not reported: {healthy} {ready} {killed}"
        );
        let ev = s.next_event(WAIT).await?;
        let Some(u) = ev.update else { continue };
        let st = u.status;
        if st.uuid.is_some() {
            s.ack(&st).await?;
        }
        match st.task_id.value.as_str() {
            "checked" => {
                healthy |= st.healthy == Some(true);
                ready |= st
                    .check_status
                    .and_then(|c| c.command)
                    .and_then(|c| c.exit_code)
                    == Some(0);
            }
            "unhealthy" if st.state == TaskState::TaskKilled as i32 => {
                assert_eq!(st.healthy, Some(false));
                killed = true;
            }
            _ => {}
        }
    }
    cluster.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn simulated_tasks_run_until_killed() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cluster = stead_local::LocalCluster::start(
        stead_local::LocalClusterConfig::new(dir.path())
            .agents(1)
            .executor(stead_local::ExecutorMode::Simulated),
    )
    .await?;
    let mut s = Sched::subscribe(
        cluster.master_url(),
        framework("sim", "r", 0.0, &[]),
        Enc::Protobuf,
    )
    .await?;
    let o = s.offers().await?.remove(0);
    let t = task(
        "sim-1",
        &o.agent_id,
        "this command never runs",
        vec![scalar("cpus", 1.0)],
    );
    s.accept(&o, vec![launch_op(vec![t])], 0.0).await?;
    s.update("sim-1", TaskState::TaskStarting).await?;
    s.update("sim-1", TaskState::TaskRunning).await?;
    s.send(kill_call("sim-1", None)).await?;
    s.update("sim-1", TaskState::TaskKilled).await?;
    cluster.shutdown().await?;
    Ok(())
}
