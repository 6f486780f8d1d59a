//! A hand-written task type (without `NamedTaskType`) beside a DSL one, combined
//! in a hand-written service; all optional DSL keys.

use stead::prelude::*;
use stead::proto::v1::CommandInfo;

task_type! {
    pub(crate) Web {
        name: "web",
        count: 2,
        command: "./web --id {{instance}}",
        uris: [{ uri: "file:///opt/web.sh", executable: true, extract: false }],
        env: { MODE: "{{name}}", "LOG-LEVEL": "info" },
        cpus: 0.25,
        mem: 256MiB,
        disk: 1 GiB,
        volumes: [root(1 GiB, "cache"), mount(20 GiB, "data")],
        ports: [http = 0, admin = 9090],
        placement: "hostname:MAX_PER:1; zone:GROUP_BY:3",
        health_check: { command: "curl -f localhost:$PORT_HTTP", interval: 5s, timeout: 1s, grace_period: 1m, delay: 250ms, max_failures: 2 },
        readiness_check: { command: "test -f ready" },
        goal: ONCE,
        allow_decommission: true,
        kill_grace_period: 30s,
    }
}

struct Batch;

impl TaskTypeSpecification for Batch {
    fn name(&self) -> String {
        "batch".into()
    }
    fn count(&self) -> u32 {
        1
    }
    fn command(&self, index: u32) -> CommandInfo {
        CommandInfo {
            value: Some(format!("./batch {index}")),
            ..Default::default()
        }
    }
    fn resources(&self) -> Vec<Box<dyn ResourceSpecification>> {
        vec![
            Box::new(DefaultResourceSpecification::scalar("cpus", 1.0)),
            Box::new(DefaultResourceSpecification::scalar("mem", 64.0)),
        ]
    }
}

struct Mixed;

impl ServiceSpecification for Mixed {
    fn name(&self) -> String {
        "mixed".into()
    }
    fn task_types(&self) -> Vec<Box<dyn TaskTypeSpecification>> {
        vec![Box::new(Web), Box::new(Batch)]
    }
}

fn main() {
    let spec = build_spec(&Mixed).expect("valid");
    let web = spec.task_type("web").unwrap();
    assert_eq!(web.goal, GoalState::Once);
    assert_eq!(web.volumes.len(), 2);
    assert_eq!(web.render_command(1).unwrap().env["MODE"], "web");
    assert_eq!(web.render_command(1).unwrap().env["LOG-LEVEL"], "info");
    assert_eq!(
        web.health_check.as_ref().unwrap().grace_period.as_secs(),
        60
    );
    assert_eq!(
        spec.task_type("batch")
            .unwrap()
            .render_command(0)
            .unwrap()
            .value,
        "./batch 0"
    );
    assert_eq!(<Web as NamedTaskType>::NAME, "web");
}
