//! What the cluster holds of a service whose state is empty: its framework, its
//! reservations and its persistent volumes, read from the master's `/master/state` and
//! `/master/slaves` (Apache Mesos lists the agents' reservations in the latter only).
//!
//! A state that holds no framework id and no task is a new install, or a state that was
//! lost (a deleted or 0-byte file, a state directory on a volume that failed to mount).
//! Before such a scheduler subscribes for the first time, the cluster is asked: when it
//! holds the service already, deploying would launch it a second time next to the
//! first, so the scheduler refuses ([`EmptyStateRefused`]) unless told to adopt it.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;
use stead_proto::v1::Resource;

use crate::mesos::resources as res;
use crate::offer::is_service_reservation;

/// What the cluster holds of a service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Leftovers {
    /// Registered frameworks of the service's name and role (connected or not).
    pub frameworks: Vec<String>,
    /// Reservations labelled with the service's name, volumes included.
    pub reservations: usize,
    /// Persistent volumes among them.
    pub volumes: usize,
    /// The agents holding them.
    pub agents: BTreeSet<String>,
}

impl Leftovers {
    /// Reads what the master's `state` (its `/master/state` JSON) holds of `service`,
    /// which reserves for `role`: its frameworks, and the reservations of the agents
    /// listed in `agents` (`/master/slaves`, when the master serves it) or else in `state`.
    pub fn find(state: &Value, agents: Option<&Value>, service: &str, role: &str) -> Leftovers {
        let mut found = Leftovers::default();
        for fw in list(state, "frameworks") {
            let named = fw.get("name").and_then(Value::as_str) == Some(service);
            let roles: Vec<&str> = list(fw, "roles")
                .filter_map(Value::as_str)
                .chain(fw.get("role").and_then(Value::as_str))
                .collect();
            if named
                && (roles.is_empty() || roles.contains(&role))
                && let Some(id) = fw.get("id").and_then(Value::as_str)
            {
                found.frameworks.push(id.to_string());
            }
        }
        for agent in list(agents.unwrap_or(state), "slaves") {
            let reserved = agent
                .get("reserved_resources_full")
                .and_then(|r| r.get(role))
                .and_then(Value::as_array);
            for value in reserved.into_iter().flatten() {
                let Ok(r) = stead_proto::json::from_json_value::<Resource>(value.clone()) else {
                    continue;
                };
                if !is_service_reservation(&r, role, service) {
                    continue;
                }
                found.reservations += 1;
                if res::persistence_id(&r).is_some() {
                    found.volumes += 1;
                }
                if let Some(id) = agent.get("id").and_then(Value::as_str) {
                    found.agents.insert(id.to_string());
                }
            }
        }
        found
    }

    /// Whether the cluster holds nothing of the service.
    pub fn is_empty(&self) -> bool {
        self.frameworks.is_empty() && self.reservations == 0
    }
}

fn list<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

impl fmt::Display for Leftovers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if !self.frameworks.is_empty() {
            parts.push(format!("framework {}", self.frameworks.join(", ")));
        }
        if self.reservations > 0 {
            parts.push(format!(
                "{} reserved resources ({} of them persistent volumes) on {} agents",
                self.reservations,
                self.volumes,
                self.agents.len()
            ));
        }
        f.write_str(&parts.join(" and "))
    }
}

/// A scheduler with an empty state refused to deploy a service the cluster holds.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "the state of service `{service}` ({state}) holds nothing, but the cluster holds the \
     service: {found}. Deploying it would launch it a second time, so nothing is done. If \
     the state was lost, restore it from a state export (`stead state import --replace`), \
     then start again; to take the service over without its state instead, start with --adopt \
     (STEAD_ADOPT=true): its tasks are then killed, its reservations and volumes released \
     (their data lost) and it is deployed anew"
)]
pub struct EmptyStateRefused {
    /// The service.
    pub service: String,
    /// Where its state is kept.
    pub state: String,
    /// What the cluster holds of it.
    pub found: Leftovers,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos::resources::{dynamic_reservation, reservation_labels};

    fn reserved(service: &str, volume: bool) -> Value {
        let mut r = res::scalar("disk", 100.0);
        r.reservations.push(dynamic_reservation(
            "svc-role",
            "svc-principal",
            reservation_labels("r-1", "fw-1", service),
        ));
        if volume {
            crate::offer::resize::testing::make_volume(&mut r, "v1", "data");
        }
        stead_proto::json::to_json_value(&r).expect("a resource has a JSON form")
    }

    #[test]
    fn finds_the_services_framework_reservations_and_volumes_only() {
        let state = serde_json::json!({
            "frameworks": [
                {"id": "f-1", "name": "svc", "roles": ["svc-role"]},
                {"id": "f-2", "name": "other", "roles": ["svc-role"]},
                {"id": "f-3", "name": "svc", "roles": ["elsewhere"]},
            ],
            "slaves": [
                {"id": "a-1", "reserved_resources_full": {
                    "svc-role": [reserved("svc", true), reserved("svc", false), reserved("other", true)],
                }},
                {"id": "a-2", "reserved_resources_full": {"elsewhere": [reserved("svc", true)]}},
                {"id": "a-3"},
            ],
        });
        let found = Leftovers::find(&state, None, "svc", "svc-role");
        assert_eq!(found.frameworks, vec!["f-1".to_string()]);
        assert_eq!((found.reservations, found.volumes), (2, 1));
        assert_eq!(found.agents, BTreeSet::from(["a-1".to_string()]));
        assert!(!found.is_empty());
        let text = found.to_string();
        assert!(text.contains("framework f-1"), "{text}");
        assert!(
            text.contains("2 reserved resources (1 of them persistent volumes) on 1 agents"),
            "{text}"
        );
    }

    #[test]
    fn reads_the_reservations_apache_mesos_lists_in_master_slaves() {
        // As Apache Mesos 1.11 writes them (with the deprecated `role` and `reservation`).
        let agents = serde_json::json!({"slaves": [{"id": "a-1", "reserved_resources_full": {"svc-role": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0}, "role": "svc-role",
             "reservation": {"principal": "p", "labels": {"labels": [
                {"key": "resource_id", "value": "r-1"}, {"key": "framework_id", "value": "f-1"},
                {"key": "service_name", "value": "svc"}]}},
             "reservations": [{"type": "DYNAMIC", "role": "svc-role", "principal": "p", "labels": {"labels": [
                {"key": "resource_id", "value": "r-1"}, {"key": "framework_id", "value": "f-1"},
                {"key": "service_name", "value": "svc"}]}}]},
            {"name": "disk", "type": "SCALAR", "scalar": {"value": 100.0}, "role": "svc-role",
             "disk": {"persistence": {"id": "v-1", "principal": "p"}, "volume": {"mode": "RW", "container_path": "data"}},
             "reservations": [{"type": "DYNAMIC", "role": "svc-role", "principal": "p", "labels": {"labels": [
                {"key": "resource_id", "value": "r-2"}, {"key": "framework_id", "value": "f-1"},
                {"key": "service_name", "value": "svc"}]}}]},
        ]}}]});
        // `/master/state` of Apache Mesos has no reservations.
        let state = serde_json::json!({"frameworks": [], "slaves": [{"id": "a-1"}]});
        let found = Leftovers::find(&state, Some(&agents), "svc", "svc-role");
        assert_eq!((found.reservations, found.volumes), (2, 1));
    }

    #[test]
    fn a_new_cluster_holds_nothing() {
        let state = serde_json::json!({"frameworks": [], "slaves": [{"id": "a-1", "reserved_resources_full": {}}]});
        assert!(Leftovers::find(&state, None, "svc", "svc-role").is_empty());
        assert!(Leftovers::find(&serde_json::json!({}), None, "svc", "svc-role").is_empty());
    }
}
