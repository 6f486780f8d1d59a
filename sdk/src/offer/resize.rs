//! Relaunching an instance in place under a new configuration: the TaskInfo it becomes
//! under the target ([`target_task`]: the target's command and amounts on the same agent,
//! with the same volumes, ports and reservation ids), how much it grows, and the relaunch
//! that RESERVEs the difference from the offer and UNRESERVEs the surplus ([`relaunch`]).

use std::collections::{BTreeMap, BTreeSet};

use stead_proto::v1::{Offer, Resource, TaskInfo, offer::Operation, offer::operation, value};
use stead_spec::TaskTypeSpec;

use super::address::{TaskAddress, task_env};
use super::operations::{self, Launch, LaunchContext, op_reserve, op_unreserve};
use super::{Evaluator, Fit, Unplaced};
use crate::mesos::resources as res;

fn is_volume(r: &Resource) -> bool {
    res::persistence_id(r).is_some()
}

fn is_plain_scalar(r: &Resource) -> bool {
    r.r#type == value::Type::Scalar as i32 && !is_volume(r)
}

/// Why an instance cannot be relaunched in place under the target configuration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpdateError {
    /// A port of the instance changed; ports are kept by an update in place.
    #[error(
        "port `{0}` changed: an instance keeps its ports when updated in place (replace it to get new ports)"
    )]
    PortChanged(String),
    /// The target gives the instance no command.
    #[error("no command for instance {index} of `{task_type}`")]
    NoCommand {
        /// The instance's index.
        index: u32,
        /// Its task type.
        task_type: String,
    },
    /// The placement was not in place.
    #[error("an update relaunches in place only")]
    NotInPlace,
    /// The agent's offer lacks one of the instance's reservations.
    #[error("agent {agent} did not offer reservation {resource_id} of {task}")]
    ReservationNotOffered {
        /// The agent.
        agent: String,
        /// The reservation's `resource_id`.
        resource_id: String,
        /// The task's name.
        task: String,
    },
    /// The offer does not hold what the instance grows by.
    #[error(transparent)]
    Unplaced(#[from] Unplaced),
}

/// The ports `previous` was given, as the target's named ports need them: each port
/// keeps its number when the target still declares it (a static port only if unchanged).
fn carried_ports(
    tt: &TaskTypeSpec,
    previous: &TaskInfo,
) -> Result<Vec<(String, u64)>, UpdateError> {
    let env = task_env(previous);
    tt.ports
        .iter()
        .map(|p| {
            let old = env
                .get(p.env_name().as_str())
                .and_then(|v| v.parse::<u64>().ok());
            match old {
                Some(n) if p.port == 0 || u64::from(p.port) == n => Ok((p.name.clone(), n)),
                _ => Err(UpdateError::PortChanged(p.name.clone())),
            }
        })
        .collect()
}

/// The TaskInfo `previous` becomes under the target: the target's command, checks,
/// kill policy and labels, on the same agent with the same volumes and ports, and its
/// scalar resources at the target's amounts (same `resource_id`s; a resource the target
/// adds gets a fresh reservation, one it drops is left out).
///
/// Errors when the instance cannot be updated in place (its ports changed, or it has no
/// command under the target).
pub fn target_task(
    ctx: &LaunchContext<'_>,
    tt: &TaskTypeSpec,
    index: u32,
    previous: &TaskInfo,
) -> Result<TaskInfo, UpdateError> {
    let ports = carried_ports(tt, previous)?;
    let mut resources = Vec::with_capacity(previous.resources.len() + 1);
    let mut seen = BTreeSet::new();
    for r in &previous.resources {
        if !is_plain_scalar(r) {
            resources.push(r.clone());
            continue;
        }
        if let Some(amount) = tt.resource(&r.name)
            && seen.insert(r.name.clone())
        {
            let mut r = r.clone();
            r.scalar = Some(value::Scalar {
                value: res::round(amount),
            });
            resources.push(r);
        }
    }
    for spec in &tt.resources {
        if !seen.contains(&spec.name) {
            resources.push(operations::fresh_reservation(
                ctx,
                res::scalar(&spec.name, spec.value),
            ));
        }
    }
    operations::task_info(
        ctx,
        tt,
        index,
        &previous.agent_id.value,
        &TaskAddress::of_task(previous),
        resources,
        &ports,
    )
    .ok_or_else(|| UpdateError::NoCommand {
        index,
        task_type: tt.name.clone(),
    })
}

/// Plain scalar amounts of `resources` by resource name.
fn plain_amounts<'a>(resources: impl IntoIterator<Item = &'a Resource>) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for r in resources.into_iter().filter(|r| is_plain_scalar(r)) {
        *out.entry(r.name.clone()).or_insert(0.0) += res::scalar_of(r);
    }
    out.values_mut().for_each(|v| *v = res::round(*v));
    out
}

/// Plain scalar amounts of a task by resource name.
fn scalar_amounts(task: &TaskInfo) -> BTreeMap<String, f64> {
    plain_amounts(&task.resources)
}

/// Whether the reserved resources at `indices` of `offer` (matched in place for
/// `previous`) hold the amounts `previous` was stored with. They do not when a stored
/// relaunch that resized the reservations (RESERVE, UNRESERVE) never reached the master:
/// a relaunch of `previous` must then resize them again ([`relaunch`]).
pub fn holds_amounts(previous: &TaskInfo, offer: &Offer, indices: &[usize]) -> bool {
    plain_amounts(indices.iter().filter_map(|&i| offer.resources.get(i)))
        == scalar_amounts(previous)
}

/// How much more of each plain scalar resource `target` needs than `previous` holds.
pub fn growth(previous: &TaskInfo, target: &TaskInfo) -> BTreeMap<String, f64> {
    let now = scalar_amounts(previous);
    scalar_amounts(target)
        .into_iter()
        .filter_map(|(name, want)| {
            let more = res::round(want - now.get(&name).copied().unwrap_or(0.0));
            (more > 0.0).then_some((name, more))
        })
        .collect()
}

/// Whether `target` would run exactly as `previous` does (same command, environment,
/// URIs, checks, kill policy and resource amounts): then the instance is relabeled,
/// not restarted.
pub fn unchanged(previous: &TaskInfo, target: &TaskInfo) -> bool {
    previous.command == target.command
        && previous.check == target.check
        && previous.health_check == target.health_check
        && previous.kill_policy == target.kill_policy
        && scalar_amounts(previous) == scalar_amounts(target)
}

fn with_amount(r: &Resource, amount: f64) -> Resource {
    let mut r = r.clone();
    r.scalar = Some(value::Scalar {
        value: res::round(amount),
    });
    r
}

/// The relaunch in place of `previous` under the target, on the reserved resources the
/// evaluator matched in offer `offer` (`fit`): RESERVE what grows (taken from the same
/// offer's unreserved resources), UNRESERVE what shrinks or is dropped, LAUNCH the
/// target task on the resized reservations and the same volumes.
///
/// Errors (nothing consumed) when the offer lacks what the instance must grow by.
pub fn relaunch(
    ctx: &LaunchContext<'_>,
    ev: &mut Evaluator<'_>,
    offer: usize,
    fit: &Fit,
    tt: &TaskTypeSpec,
    index: u32,
    previous: &TaskInfo,
) -> Result<Launch, UpdateError> {
    let Fit::InPlace(indices) = fit else {
        return Err(UpdateError::NotInPlace);
    };
    let offered: Vec<Resource> = {
        let o = ev
            .offers()
            .get(offer)
            .ok_or(Unplaced::UnknownOffer(offer))?;
        indices
            .iter()
            .filter_map(|&i| o.resources.get(i).cloned())
            .collect()
    };
    let target = target_task(ctx, tt, index, previous)?;
    let by_id: BTreeMap<&str, &Resource> = offered
        .iter()
        .filter_map(|r| Some((res::resource_id(r)?, r)))
        .collect();
    let mut launch_resources = Vec::with_capacity(target.resources.len());
    let mut grow: Vec<Resource> = Vec::new();
    let mut shrink: Vec<Resource> = Vec::new();
    let mut kept_ids = BTreeSet::new();
    for want in &target.resources {
        let id = res::resource_id(want);
        let have = id.and_then(|id| by_id.get(id).copied());
        if let Some(id) = id {
            kept_ids.insert(id.to_string());
        }
        match have {
            // Volumes, ports and anything not resized: exactly as offered.
            Some(have) if !is_plain_scalar(have) => launch_resources.push(have.clone()),
            Some(have) => {
                let (now, then) = (res::scalar_of(have), res::scalar_of(want));
                let delta = res::round(then - now);
                if delta > 0.0 {
                    grow.push(with_amount(have, delta));
                } else if delta < 0.0 {
                    shrink.push(with_amount(have, -delta));
                }
                launch_resources.push(with_amount(have, then));
            }
            // A resource the target adds: a fresh reservation from this offer.
            None if is_plain_scalar(want) => {
                grow.push(want.clone());
                launch_resources.push(want.clone());
            }
            None => {
                return Err(UpdateError::ReservationNotOffered {
                    agent: previous.agent_id.value.clone(),
                    resource_id: id.unwrap_or("(unlabeled)").to_string(),
                    task: previous.name.clone(),
                });
            }
        }
    }
    // Reserved resources the target no longer declares are released.
    for r in &offered {
        if res::resource_id(r).is_some_and(|id| !kept_ids.contains(id)) && !is_volume(r) {
            shrink.push(r.clone());
        }
    }
    // Check everything first, then take: nothing is consumed on error.
    let mut need: BTreeMap<&str, f64> = BTreeMap::new();
    for r in &grow {
        *need.entry(r.name.as_str()).or_insert(0.0) += res::scalar_of(r);
    }
    if let Some(view) = ev.views().get(offer) {
        for (name, amount) in &need {
            let have = view.scalar(name);
            if !res::fits(*amount, have) {
                return Err(Unplaced::CannotGrow {
                    name: name.to_string(),
                    agent: view.agent_id.clone(),
                    instance: previous.name.clone(),
                    need: *amount,
                    have,
                }
                .into());
            }
        }
    }
    for (name, amount) in &need {
        ev.take_unreserved(offer, name, *amount, &previous.name)?;
    }
    let mut task = target;
    task.resources = launch_resources;
    if let Some(o) = ev.offers().get(offer) {
        task.agent_id = o.agent_id.clone();
    }
    let mut ops = Vec::with_capacity(3);
    if !grow.is_empty() {
        ops.push(op_reserve(grow, &previous.name));
    }
    if !shrink.is_empty() {
        ops.push(op_unreserve(shrink));
    }
    ops.push(Operation {
        r#type: Some(operation::Type::Launch as i32),
        launch: Some(operation::Launch {
            task_infos: vec![task.clone()],
        }),
        ..Operation::default()
    });
    Ok(Launch {
        operations: ops,
        task,
    })
}

#[cfg(test)]
pub(crate) mod testing {
    //! A launched test instance and its offer, shared by the update tests.

    use super::*;
    use crate::mesos::resources::{dynamic_reservation, reservation_labels};
    use stead_proto::v1::{AgentId, FrameworkId, Offer, OfferId};
    use stead_spec::ServiceSpec;

    pub(crate) fn spec(cpus: f64, command: &str) -> ServiceSpec {
        crate::offer::operations::test_spec(2, cpus, command)
    }

    fn reserved(r: Resource, id: &str) -> Resource {
        let mut r = r;
        r.reservations.push(dynamic_reservation(
            "svc-role",
            "svc-principal",
            reservation_labels(id, "fw", "svc"),
        ));
        r
    }

    /// A first launch of data-0 under `s`, and an offer of its reservations plus
    /// `free_cpus` unreserved cpus.
    pub(crate) fn launched(s: &ServiceSpec, free_cpus: f64) -> (TaskInfo, Offer) {
        let tt = &s.task_types[0];
        let id = s.id().to_string();
        let ctx = LaunchContext {
            service: s,
            framework_id: "fw",
            config_id: &id,
        };
        let mut ports = reserved(res::ranges("ports", &[(31000, 31000)]), "r-ports");
        ports.allocation_info = None;
        let mut vol = reserved(res::scalar("disk", 100.0), "r-vol");
        make_volume(&mut vol, "v1", "data-path");
        let resources = vec![
            reserved(res::scalar("cpus", tt.cpus()), "r-cpus"),
            reserved(res::scalar("mem", 256.0), "r-mem"),
            ports,
            vol,
        ];
        let task = operations::task_info(
            &ctx,
            tt,
            0,
            "a1",
            &TaskAddress {
                address: "127.0.1.1".into(),
                hostname: "h1".into(),
            },
            resources.clone(),
            &[("http".into(), 31000)],
        )
        .unwrap();
        let mut offer_resources = resources;
        offer_resources.push(res::scalar("cpus", free_cpus));
        offer_resources.push(res::scalar("mem", 4096.0));
        let offer = Offer {
            id: OfferId { value: "o1".into() },
            framework_id: FrameworkId { value: "fw".into() },
            agent_id: AgentId { value: "a1".into() },
            hostname: "h1".into(),
            resources: offer_resources,
            ..Offer::default()
        };
        (task, offer)
    }

    /// Makes `r` (reserved disk) persistent volume `id` at `container_path`.
    pub(crate) fn make_volume(r: &mut Resource, id: &str, container_path: &str) {
        r.disk = Some(Box::new(stead_proto::v1::resource::DiskInfo {
            persistence: Some(stead_proto::v1::resource::disk_info::Persistence {
                id: id.into(),
                principal: None,
            }),
            volume: Some(stead_proto::v1::Volume {
                container_path: container_path.into(),
                ..Default::default()
            }),
            source: None,
        }));
    }

    pub(crate) fn ctx<'a>(s: &'a ServiceSpec, id: &'a str) -> LaunchContext<'a> {
        LaunchContext {
            service: s,
            framework_id: "fw",
            config_id: id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{ctx, launched, spec};
    use super::*;
    use crate::offer::{Need, Requirement};

    /// Launches data-0 with `old_cpus`, offers its reservations plus `free_cpus` unreserved
    /// cpus, places it in place under a spec of `new_cpus` and relaunches it there. Returns
    /// the relaunch, the new configuration id and the cpus the offer has left afterwards.
    fn resize(
        old_cpus: f64,
        free_cpus: f64,
        new_cpus: f64,
    ) -> (Result<Launch, UpdateError>, String, f64) {
        let old = spec(old_cpus, "./data");
        let (task, offer) = launched(&old, free_cpus);
        let new = spec(new_cpus, "./data");
        let id = new.id().to_string();
        let offers = vec![offer];
        let mut ev = Evaluator::new(&offers, "svc-role");
        let tt = &new.task_types[0];
        let ids = operations::resource_ids(&task);
        let p = ev
            .place(&Requirement {
                instance: "data-0",
                task_type: tt,
                need: Need::InPlace {
                    agent_id: "a1",
                    resource_ids: &ids,
                },
            })
            .unwrap();
        let l = relaunch(&ctx(&new, &id), &mut ev, p.offer, &p.fit, tt, 0, &task);
        let left = ev.views()[0].scalar("cpus");
        (l, id, left)
    }

    #[test]
    fn growing_reserves_the_difference_with_the_same_resource_id() {
        let (l, id, left) = resize(1.0, 4.0, 2.5);
        let l = l.unwrap();
        let types: Vec<i32> = l.operations.iter().filter_map(|o| o.r#type).collect();
        assert_eq!(
            types,
            vec![
                operation::Type::Reserve as i32,
                operation::Type::Launch as i32
            ]
        );
        let grown = &l.operations[0].reserve.as_ref().unwrap().resources;
        assert_eq!(grown.len(), 1);
        assert_eq!(res::scalar_of(&grown[0]), 1.5);
        assert_eq!(res::resource_id(&grown[0]), Some("r-cpus"));
        let cpus = l.task.resources.iter().find(|r| r.name == "cpus").unwrap();
        assert_eq!(res::scalar_of(cpus), 2.5);
        assert_eq!(res::resource_id(cpus), Some("r-cpus"));
        assert_eq!(operations::config_id_of(&l.task), Some(id.as_str()));
        assert_eq!(
            operations::resource_ids(&l.task).len(),
            4,
            "same reservations and volume"
        );
        assert_eq!(left, 2.5, "the growth was taken");
    }

    #[test]
    fn shrinking_unreserves_the_surplus() {
        let (l, _, _) = resize(2.0, 0.0, 0.5);
        let l = l.unwrap();
        let un = &l.operations[0].unreserve.as_ref().unwrap().resources;
        assert_eq!(res::scalar_of(&un[0]), 1.5);
        assert_eq!(res::resource_id(&un[0]), Some("r-cpus"));
        let cpus = l.task.resources.iter().find(|r| r.name == "cpus").unwrap();
        assert_eq!(res::scalar_of(cpus), 0.5);
    }

    #[test]
    fn growth_that_does_not_fit_consumes_nothing() {
        let (l, _, left) = resize(1.0, 0.5, 3.0);
        let err = l.unwrap_err();
        assert!(
            matches!(&err, UpdateError::Unplaced(Unplaced::CannotGrow { name, need, have, .. })
                if name == "cpus" && *need == 2.0 && *have == 0.5),
            "{err:?}"
        );
        assert!(err.to_string().contains("insufficient cpus"), "{err}");
        assert_eq!(left, 0.5);
    }

    #[test]
    fn changed_static_port_cannot_update_in_place() {
        let old = spec(1.0, "./data");
        let (task, _) = launched(&old, 0.0);
        let mut new = old.clone();
        new.task_types[0].ports[0].port = 8080;
        let id = new.id().to_string();
        let err = target_task(&ctx(&new, &id), &new.task_types[0], 0, &task).unwrap_err();
        assert_eq!(err, UpdateError::PortChanged("http".into()));
        assert!(err.to_string().contains("port `http` changed"), "{err}");
    }

    #[test]
    fn an_update_in_place_keeps_the_address_and_renders_it_anew() {
        let old = spec(1.0, "./data");
        let (task, _) = launched(&old, 0.0);
        let new = spec(1.0, "./data --bind {{address}}");
        let id = new.id().to_string();
        let target = target_task(&ctx(&new, &id), &new.task_types[0], 0, &task).unwrap();
        assert_eq!(TaskAddress::of_task(&target), TaskAddress::of_task(&task));
        assert_eq!(
            target.command.as_ref().unwrap().value.as_deref(),
            Some("./data --bind 127.0.1.1")
        );
    }
}
