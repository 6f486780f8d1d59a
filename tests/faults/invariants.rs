//! What must hold once an operation is over, however often the scheduler was killed on
//! the way, checked from the cluster's state (the master's `/master/state`: tasks,
//! frameworks, and each agent's reservations and volumes) and the operator API only.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use anyhow::{Context, Result};
use stead::api::{Health, PodInfo, PodSummary};
use stead::local::State;
use stead::local::state::TaskView;
use stead::plan::Status;
use stead::spec::{ServiceSpec, TaskTypeSpec};
use stead_suite::{live_tasks, persistence_ids, reserved_for, resource_id, scalar_sum};

use crate::scheduler::TargetConfig;

/// The service's framework name.
pub const SERVICE: &str = "data-store";
/// The task type whose count and cpus the suite changes.
const DATA: &str = "data";
/// The file the suite leaves on every volume it has seen, holding the instance's name.
const MARKER: &str = "fault-suite-marker";
/// The counter the data program keeps on its volume.
const LAUNCH_COUNT: &str = "launch-count";
/// Tolerance when comparing sums of scalar resources.
const EPSILON: f64 = 1e-6;

/// The service as currently declared: the data-store spec with the data nodes' count and
/// cpus set by the suite.
#[derive(Debug, Clone)]
pub struct Declared {
    base: ServiceSpec,
    /// How many data nodes.
    pub data_count: u32,
    /// Each data node's cpus.
    pub data_cpus: f64,
}

/// What one instance must hold.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Expected {
    cpus: f64,
    mem: f64,
    volume_mib: f64,
}

impl Declared {
    /// The data-store spec as it comes.
    pub fn initial() -> Result<Declared> {
        let base = crate::spec::spec()?;
        let data = data_type(&base)?;
        Ok(Declared {
            data_count: data.count,
            data_cpus: data.resource("cpus").context("data cpus")?,
            base,
        })
    }

    /// The role the service reserves for.
    pub fn role(&self) -> &str {
        &self.base.role
    }

    /// The scheduler's flags declaring this.
    pub fn args(&self) -> Vec<String> {
        [
            format!("data.count={}", self.data_count),
            format!("data.cpus={}", self.data_cpus),
            "data.allow_decommission=true".to_string(),
        ]
        .into_iter()
        .flat_map(|set| ["--set".to_string(), set])
        .collect()
    }

    /// Every declared instance and what it must hold.
    fn instances(&self) -> Result<BTreeMap<String, Expected>> {
        let mut out = BTreeMap::new();
        for tt in &self.base.task_types {
            let data = tt.name == DATA;
            let count = if data { self.data_count } else { tt.count };
            let expected = Expected {
                cpus: if data {
                    self.data_cpus
                } else {
                    tt.resource("cpus").context("cpus")?
                },
                mem: tt.resource("mem").context("mem")?,
                volume_mib: tt.volumes.iter().map(|v| v.size_mib as f64).sum(),
            };
            for i in 0..count {
                out.insert(format!("{}-{i}", tt.name), expected);
            }
        }
        Ok(out)
    }

    /// The declared instance names.
    pub fn names(&self) -> Result<BTreeSet<String>> {
        Ok(self.instances()?.into_keys().collect())
    }
}

fn data_type(spec: &ServiceSpec) -> Result<&TaskTypeSpec> {
    spec.task_types
        .iter()
        .find(|t| t.name == DATA)
        .context("the data-store spec has a data task type")
}

/// One invariant that did not hold, and what was seen.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// The invariant's name.
    pub invariant: &'static str,
    /// What broke it.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invariant `{}` failed: {}", self.invariant, self.detail)
    }
}

/// The invariants' names, as reported.
pub mod names {
    /// Every plan of the operator API is COMPLETE, without errors.
    pub const PLANS: &str = "plans COMPLETE";
    /// The live tasks, and the API's pods, are exactly the declared instances.
    pub const INSTANCES: &str = "exactly the declared instances";
    /// Each instance has one live task, and it runs.
    pub const ONE_TASK: &str = "one task each";
    /// The API's target is the declared spec, and every pod was launched with it.
    pub const CONFIG: &str = "target config on each";
    /// Each task holds the declared cpus, mem and volume size.
    pub const RESOURCES: &str = "target resources on each";
    /// What is reserved for the role is what the tasks hold, and sums to the spec.
    pub const RESERVATIONS: &str = "reservations equal to the spec";
    /// One volume per instance, the same one as before with its data.
    pub const VOLUMES: &str = "volumes and their data kept";
    /// One framework of the service, subscribed, the one the scheduler stores.
    pub const FRAMEWORK: &str = "no leftover framework";
    /// The operator API answers.
    pub const API: &str = "operator API answers";
    /// The scheduler runs until it is killed (or an uninstall is over).
    pub const RUNS: &str = "scheduler keeps running";
    /// Nothing of the service is left on the cluster after an uninstall.
    pub const UNINSTALLED: &str = "nothing left after uninstall";
}

/// What the operator API said, read right after the cluster's state.
#[derive(Debug, Clone)]
pub struct ApiView {
    /// `GET /v1/health`.
    pub health: Health,
    /// `GET /v1/configurations/target`.
    pub target: TargetConfig,
    /// `GET /v1/pods`.
    pub pods: Vec<PodSummary>,
    /// `GET /v1/pods/<instance>/info` of every declared instance that has one.
    pub infos: BTreeMap<String, PodInfo>,
    /// `GET /v1/state/frameworkId`.
    pub framework_id: Option<String>,
}

/// A volume seen on an earlier check.
#[derive(Debug, Clone)]
struct KnownVolume {
    persistence_id: String,
    host_path: PathBuf,
    launches: Option<u32>,
}

/// The checker, with what it saw on earlier checks of the same service.
#[derive(Debug, Default)]
pub struct Checker {
    volumes: BTreeMap<String, KnownVolume>,
}

/// Collects violations of one invariant.
fn fail(out: &mut Vec<Violation>, invariant: &'static str, detail: String) {
    out.push(Violation { invariant, detail });
}

fn volume_host_path(st: &State, persistence_id: &str) -> Option<PathBuf> {
    st.agents
        .iter()
        .flat_map(|a| a.volumes.iter())
        .find(|v| v.persistence_id == persistence_id)
        .map(|v| v.host_path.clone())
}

fn read_trimmed(path: PathBuf) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

impl Checker {
    /// Checks a deployed service against `declared`. `replaced` is an instance the
    /// operator replaced: it must be on a new volume, its old one destroyed.
    pub fn check_deployed(
        &self,
        st: &State,
        api: &ApiView,
        declared: &Declared,
        replaced: Option<&str>,
    ) -> Result<Vec<Violation>> {
        use names::*;
        let mut out = Vec::new();
        let expected = declared.instances()?;
        let live = live_tasks(st, SERVICE);

        for plan in &api.health.plans {
            if plan.status != Status::Complete || !plan.errors.is_empty() {
                fail(
                    &mut out,
                    PLANS,
                    format!("plan {} is {:?} {:?}", plan.name, plan.status, plan.errors),
                );
            }
        }

        let mut by_name: BTreeMap<&str, Vec<&TaskView>> = BTreeMap::new();
        for t in &live {
            by_name.entry(t.name.as_str()).or_default().push(t);
        }
        let live_names: BTreeSet<&str> = by_name.keys().copied().collect();
        let declared_names: BTreeSet<&str> = expected.keys().map(String::as_str).collect();
        if live_names != declared_names {
            fail(
                &mut out,
                INSTANCES,
                format!("live tasks {live_names:?}, declared {declared_names:?}"),
            );
        }
        let pod_names: BTreeSet<&str> = api.pods.iter().map(|p| p.instance.as_str()).collect();
        if pod_names != declared_names {
            fail(
                &mut out,
                INSTANCES,
                format!("the API's pods {pod_names:?}, declared {declared_names:?}"),
            );
        }
        let mut one: BTreeMap<&str, &TaskView> = BTreeMap::new();
        for (name, tasks) in &by_name {
            match tasks.as_slice() {
                [t] if t.state == "TASK_RUNNING" => {
                    one.insert(name, t);
                }
                [t] => fail(
                    &mut out,
                    ONE_TASK,
                    format!("{name}'s task {} is {}", t.id, t.state),
                ),
                many => {
                    let ids: Vec<String> = many
                        .iter()
                        .map(|t| format!("{} {}", t.id, t.state))
                        .collect();
                    fail(
                        &mut out,
                        ONE_TASK,
                        format!("{name} has {} live tasks: {ids:?}", many.len()),
                    );
                }
            }
        }

        self.check_config(&mut out, api, declared, &one);
        self.check_resources(&mut out, &expected, &one);
        check_reservations(&mut out, st, declared.role(), &expected, &live);
        self.check_volumes(&mut out, st, declared.role(), &one, replaced);

        check_framework(&mut out, st, api.framework_id.as_deref());
        Ok(out)
    }

    fn check_config(
        &self,
        out: &mut Vec<Violation>,
        api: &ApiView,
        declared: &Declared,
        one: &BTreeMap<&str, &TaskView>,
    ) {
        use names::CONFIG;
        let target = &api.target;
        match data_type(&target.spec) {
            Ok(data) => {
                let cpus = data.resource("cpus");
                if data.count != declared.data_count
                    || cpus.is_none_or(|c| differs(c, declared.data_cpus))
                {
                    fail(
                        out,
                        CONFIG,
                        format!(
                            "target {} has data count {} cpus {cpus:?}, declared {} and {}",
                            target.id, data.count, declared.data_count, declared.data_cpus
                        ),
                    );
                }
            }
            Err(e) => fail(out, CONFIG, format!("target {}: {e}", target.id)),
        }
        for (name, task) in one {
            let Some(info) = api.infos.get(*name) else {
                fail(out, CONFIG, format!("no pod info for {name}"));
                continue;
            };
            if info.config_id.as_deref() != Some(target.id.as_str()) {
                fail(
                    out,
                    CONFIG,
                    format!(
                        "{name} runs configuration {:?}, the target is {}",
                        info.config_id, target.id
                    ),
                );
            }
            let stored = info
                .task_info
                .as_ref()
                .and_then(|t| t.pointer("/task_id/value"))
                .and_then(|v| v.as_str());
            if stored != Some(task.id.as_str()) {
                fail(
                    out,
                    CONFIG,
                    format!(
                        "{name} runs task {}, the scheduler stores {stored:?}",
                        task.id
                    ),
                );
            }
        }
    }

    fn check_resources(
        &self,
        out: &mut Vec<Violation>,
        expected: &BTreeMap<String, Expected>,
        one: &BTreeMap<&str, &TaskView>,
    ) {
        for (name, task) in one {
            let Some(want) = expected.get(*name) else {
                continue;
            };
            let volume: f64 = task
                .resources
                .iter()
                .filter(|r| r.pointer("/disk/persistence/id").is_some())
                .filter_map(|r| r.pointer("/scalar/value")?.as_f64())
                .sum();
            let got = Expected {
                cpus: scalar_sum(&task.resources, "cpus"),
                mem: scalar_sum(&task.resources, "mem"),
                volume_mib: volume,
            };
            if differs(got.cpus, want.cpus)
                || differs(got.mem, want.mem)
                || differs(got.volume_mib, want.volume_mib)
            {
                fail(
                    out,
                    names::RESOURCES,
                    format!("{name} ({}) holds {got:?}, declared {want:?}", task.id),
                );
            }
        }
    }

    fn check_volumes(
        &self,
        out: &mut Vec<Violation>,
        st: &State,
        role: &str,
        one: &BTreeMap<&str, &TaskView>,
        replaced: Option<&str>,
    ) {
        use names::VOLUMES;
        let on_agents: BTreeSet<String> = st
            .agents
            .iter()
            .flat_map(|a| a.volumes.iter())
            .filter(|v| v.role == role)
            .map(|v| v.persistence_id.clone())
            .collect();
        let in_tasks: BTreeSet<String> = one.values().flat_map(|t| persistence_ids(t)).collect();
        if on_agents != in_tasks {
            fail(
                out,
                VOLUMES,
                format!(
                    "volumes of role {role} on the agents {on_agents:?}, used by the tasks {in_tasks:?}"
                ),
            );
        }
        for (name, task) in one {
            let ids = persistence_ids(task);
            let [id] = ids.as_slice() else {
                fail(
                    out,
                    VOLUMES,
                    format!("{name} has volumes {ids:?}, declared one"),
                );
                continue;
            };
            let Some(known) = self.volumes.get(*name) else {
                continue;
            };
            if Some(*name) == replaced {
                if *id == known.persistence_id || on_agents.contains(&known.persistence_id) {
                    fail(
                        out,
                        VOLUMES,
                        format!(
                            "replaced {name} runs on volume {id}; its old volume {} is {}",
                            known.persistence_id,
                            if on_agents.contains(&known.persistence_id) {
                                "still there"
                            } else {
                                "gone"
                            }
                        ),
                    );
                }
                continue;
            }
            if *id != known.persistence_id {
                fail(
                    out,
                    VOLUMES,
                    format!("{name} moved from volume {} to {id}", known.persistence_id),
                );
                continue;
            }
            if read_trimmed(known.host_path.join(MARKER)).as_deref() != Some(*name) {
                fail(
                    out,
                    VOLUMES,
                    format!("{name}'s volume {id} lost its data ({MARKER})"),
                );
            }
            let launches =
                read_trimmed(known.host_path.join(LAUNCH_COUNT)).and_then(|s| s.parse().ok());
            if launches < known.launches {
                fail(
                    out,
                    VOLUMES,
                    format!(
                        "{name}'s volume {id} counts {launches:?} launches, {:?} before",
                        known.launches
                    ),
                );
            }
        }
    }

    /// Checks that nothing of the service is left on the cluster.
    pub fn check_uninstalled(&self, st: &State, role: &str) -> Vec<Violation> {
        let mut out = Vec::new();
        let live: Vec<String> = live_tasks(st, SERVICE)
            .iter()
            .map(|t| t.id.clone())
            .collect();
        if !live.is_empty() {
            fail(&mut out, names::UNINSTALLED, format!("live tasks {live:?}"));
        }
        let reserved: Vec<String> = reserved_for(st, role)
            .map(|r| {
                format!(
                    "{} {}",
                    r["name"],
                    r.pointer("/scalar/value").unwrap_or(&r["name"])
                )
            })
            .collect();
        if !reserved.is_empty() {
            fail(
                &mut out,
                names::UNINSTALLED,
                format!("still reserved for {role}: {reserved:?}"),
            );
        }
        let volumes: Vec<&str> = st
            .agents
            .iter()
            .flat_map(|a| a.volumes.iter())
            .filter(|v| v.role == role)
            .map(|v| v.persistence_id.as_str())
            .collect();
        if !volumes.is_empty() {
            fail(
                &mut out,
                names::UNINSTALLED,
                format!("volumes left: {volumes:?}"),
            );
        }
        let frameworks = frameworks_of_the_service(st);
        if !frameworks.is_empty() {
            fail(
                &mut out,
                names::FRAMEWORK,
                format!("after uninstall: {frameworks:?}"),
            );
        }
        out
    }

    /// Remembers every running instance's volume after a passing check, leaving the
    /// marker on the ones seen for the first time.
    pub fn remember(&mut self, st: &State) -> Result<()> {
        self.volumes.clear();
        for task in live_tasks(st, SERVICE) {
            let [id] = persistence_ids(task)
                .try_into()
                .map_err(|ids| anyhow::anyhow!("{} has volumes {ids:?}", task.name))?;
            let host_path = volume_host_path(st, &id)
                .with_context(|| format!("{}'s volume {id} on no agent", task.name))?;
            let marker = host_path.join(MARKER);
            if !marker.exists() {
                std::fs::write(&marker, &task.name)?;
            }
            let launches = read_trimmed(host_path.join(LAUNCH_COUNT)).and_then(|s| s.parse().ok());
            self.volumes.insert(
                task.name.clone(),
                KnownVolume {
                    persistence_id: id,
                    host_path,
                    launches,
                },
            );
        }
        Ok(())
    }
}

/// The frameworks named after the service, as `<id> active=<bool>`.
fn frameworks_of_the_service(st: &State) -> Vec<String> {
    st.frameworks
        .iter()
        .filter(|f| f.name == SERVICE)
        .map(|f| format!("{} active={}", f.id, f.active))
        .collect()
}

/// Checks that the service has one framework, subscribed, the one the scheduler stores.
fn check_framework(out: &mut Vec<Violation>, st: &State, stored: Option<&str>) {
    let ours: Vec<_> = st.frameworks.iter().filter(|f| f.name == SERVICE).collect();
    if let [f] = ours.as_slice()
        && f.active
        && stored == Some(f.id.as_str())
    {
        return;
    }
    fail(
        out,
        names::FRAMEWORK,
        format!(
            "frameworks named {SERVICE}: {:?}; the scheduler stores {stored:?}",
            frameworks_of_the_service(st)
        ),
    );
}

/// Whether two sums of scalar resources differ.
fn differs(a: f64, b: f64) -> bool {
    (a - b).abs() > EPSILON
}

/// Checks that the role's reservations are exactly what the live tasks hold, and that
/// they sum to the declared instances' resources.
fn check_reservations(
    out: &mut Vec<Violation>,
    st: &State,
    role: &str,
    expected: &BTreeMap<String, Expected>,
    live: &[&TaskView],
) {
    let reserved: Vec<&serde_json::Value> = reserved_for(st, role).collect();
    let want_cpus: f64 = expected.values().map(|e| e.cpus).sum();
    let want_mem: f64 = expected.values().map(|e| e.mem).sum();
    let want_disk: f64 = expected.values().map(|e| e.volume_mib).sum();
    let got = (
        scalar_sum(reserved.iter().copied(), "cpus"),
        scalar_sum(reserved.iter().copied(), "mem"),
        scalar_sum(reserved.iter().copied(), "disk"),
    );
    if differs(got.0, want_cpus) || differs(got.1, want_mem) || differs(got.2, want_disk) {
        fail(
            out,
            names::RESERVATIONS,
            format!(
                "reserved for {role}: cpus {}, mem {}, disk {}; declared cpus {want_cpus}, mem {want_mem}, disk {want_disk}",
                got.0, got.1, got.2
            ),
        );
    }
    let reserved_ids: BTreeSet<String> = reserved.iter().filter_map(|r| resource_id(r)).collect();
    let held_ids: BTreeSet<String> = live
        .iter()
        .flat_map(|t| t.resources.iter().filter_map(resource_id))
        .collect();
    if reserved_ids != held_ids {
        let unused: Vec<&String> = reserved_ids.difference(&held_ids).collect();
        let unreserved: Vec<&String> = held_ids.difference(&reserved_ids).collect();
        fail(
            out,
            names::RESERVATIONS,
            format!(
                "reserved but held by no task: {unused:?}; held but not reserved: {unreserved:?}"
            ),
        );
    }
}
