//! Offer evaluation: the time to match 1,000 pending instances (each with a persistent
//! volume) against 1,000 offers shaped like the embedded cluster's, and to build their
//! RESERVE/CREATE/LAUNCH operations. Pure CPU: no I/O, one thread.

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use stead::mesos::resources::{ranges, scalar};
use stead::offer::{Evaluator, Fit, LaunchContext, Need, Requirement, operations};
use stead::proto::v1::resource::AllocationInfo;
use stead::proto::v1::{AgentId, Attribute, FrameworkId, Offer, OfferId, value};
use stead::spec::{PlacementRule, ServiceSpec};

/// Timings of one case, over several rounds.
#[derive(Debug, Clone)]
pub struct Figures {
    /// The case.
    pub case: &'static str,
    /// Median time to place every instance.
    pub place: Duration,
    /// Median time to place every instance and build its operations.
    pub place_and_build: Duration,
}

fn offer(i: usize, role: &str) -> Offer {
    let alloc = |mut r: stead::proto::v1::Resource| {
        r.allocation_info = Some(AllocationInfo {
            role: Some(role.to_string()),
        });
        r
    };
    let base = 31000 + 1000 * i as u64;
    Offer {
        id: OfferId {
            value: format!("cluster-O{i}"),
        },
        framework_id: FrameworkId {
            value: "cluster-0000".into(),
        },
        agent_id: AgentId {
            value: format!("cluster-S{i}"),
        },
        hostname: format!("agent-{i}.local"),
        resources: vec![
            alloc(scalar("cpus", 4.0)),
            alloc(scalar("mem", 8192.0)),
            alloc(scalar("disk", 65536.0)),
            alloc(ranges("ports", &[(base, base + 999)])),
        ],
        attributes: vec![Attribute {
            name: "zone".into(),
            r#type: value::Type::Text as i32,
            text: Some(value::Text {
                value: ["a", "b", "c"][i % 3].into(),
            }),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// One round: returns (time to place, time to place and build operations).
fn round(spec: &ServiceSpec, offers: &[Offer], names: &[String]) -> Result<(Duration, Duration)> {
    let tt = &spec.task_types[0];
    let start = Instant::now();
    let mut ev = Evaluator::new(offers, &spec.role);
    let mut placed = Vec::with_capacity(names.len());
    for name in names {
        let req = Requirement {
            instance: name,
            task_type: tt,
            need: Need::New,
        };
        placed.push(ev.place(&req).map_err(anyhow::Error::msg)?);
    }
    let place = start.elapsed();
    let ctx = LaunchContext {
        service: spec,
        framework_id: "cluster-0000",
        config_id: "0123456789abcdef",
    };
    let mut operations = 0;
    for (index, p) in placed.iter().enumerate() {
        if let Fit::New(fit) = &p.fit
            && let Some(l) = operations::new_instance(&ctx, &offers[p.offer], tt, index as u32, fit)
        {
            operations += l.operations.len();
        }
    }
    let total = start.elapsed();
    ensure!(operations >= names.len(), "operations missing");
    Ok((place, total))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs both cases (`pack`: instances packed 10 per offer; `hostname:UNIQUE`: one per offer).
pub fn run(instances: usize, offers: usize, rounds: usize) -> Result<Vec<Figures>> {
    let mut out = Vec::new();
    for (case, rule) in [("pack", None), ("hostname:UNIQUE", Some("hostname:UNIQUE"))] {
        let mut spec = crate::spec::spec(instances as u32, "./node");
        if let Some(rule) = rule {
            spec.task_types[0].placement = vec![PlacementRule::parse(rule)?];
        }
        let list: Vec<Offer> = (0..offers).map(|i| offer(i, &spec.role)).collect();
        let names: Vec<String> = (0..instances).map(|i| format!("node-{i}")).collect();
        let mut place = Vec::new();
        let mut total = Vec::new();
        for _ in 0..rounds {
            let (p, t) = round(&spec, &list, &names)?;
            place.push(p);
            total.push(t);
        }
        out.push(Figures {
            case,
            place: median(place),
            place_and_build: median(total),
        });
    }
    Ok(out)
}
