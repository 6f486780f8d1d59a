//! Operator views of Mesos messages: resources, volumes, offers and pod information.

use stead_proto::v1::{Offer, Resource, TaskInfo, TaskStatus};

use super::{OfferSummary, PodInfo, ResourceSummary, VolumeSummary};
use crate::mesos::resources as res;

impl ResourceSummary {
    /// The operator view of one Mesos resource.
    pub fn of(r: &Resource) -> ResourceSummary {
        let ranges = res::ranges_of(r);
        ResourceSummary {
            name: r.name.clone(),
            role: res::reserved_role(r).map(String::from),
            scalar: r.scalar.map(|s| s.value),
            ranges: ranges.into_iter().map(|(a, b)| [a, b]).collect(),
            resource_id: res::resource_id(r).map(String::from),
        }
    }
}

impl VolumeSummary {
    /// The operator view of a persistent volume; `None` for any other resource.
    pub fn of(r: &Resource) -> Option<VolumeSummary> {
        let disk = r.disk.as_ref()?;
        let persistence = disk.persistence.as_ref()?;
        Some(VolumeSummary {
            container_path: disk
                .volume
                .as_ref()
                .map(|v| v.container_path.clone())
                .unwrap_or_default(),
            kind: if res::is_mount_disk(r) {
                "MOUNT"
            } else {
                "ROOT"
            }
            .into(),
            size_mb: res::scalar_of(r),
            persistence_id: Some(persistence.id.clone()),
            resource_id: res::resource_id(r).map(String::from),
        })
    }
}

impl OfferSummary {
    /// The operator view of an offer.
    pub fn of(offer: &Offer) -> OfferSummary {
        OfferSummary {
            offer_id: offer.id.value.clone(),
            agent_id: offer.agent_id.value.clone(),
            hostname: offer.hostname.clone(),
            resources: offer.resources.iter().map(ResourceSummary::of).collect(),
        }
    }
}

impl PodInfo {
    /// The operator view of instance `instance` (task type `task_type`, index `index`)
    /// from its stored task info and last status.
    ///
    /// `hostname` is the agent's, when known; `config_id` is the configuration the task
    /// was launched with.
    pub fn from_task(
        instance: &str,
        task_type: &str,
        index: u32,
        task: Option<&TaskInfo>,
        status: Option<&TaskStatus>,
        hostname: Option<String>,
        config_id: Option<String>,
    ) -> PodInfo {
        let resources: Vec<&Resource> = task
            .map(|t| t.resources.iter().collect())
            .unwrap_or_default();
        PodInfo {
            instance: instance.to_string(),
            task_type: task_type.to_string(),
            index,
            task_info: task.and_then(|t| stead_proto::json::to_json_value(t).ok()),
            last_status: status.and_then(|s| stead_proto::json::to_json_value(s).ok()),
            agent_id: task.map(|t| t.agent_id.value.clone()),
            hostname,
            resources: resources
                .iter()
                .filter(|r| VolumeSummary::of(r).is_none())
                .map(|r| ResourceSummary::of(r))
                .collect(),
            volumes: resources
                .iter()
                .filter_map(|r| VolumeSummary::of(r))
                .collect(),
            config_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use stead_proto::v1::{self, resource};

    use super::*;

    fn volume() -> Resource {
        let mut r = res::scalar("disk", 5000.0);
        r.reservations = vec![res::dynamic_reservation(
            "svc-role",
            "svc",
            res::reservation_labels("rid-1", "fw", "svc"),
        )];
        r.disk = Some(Box::new(resource::DiskInfo {
            persistence: Some(resource::disk_info::Persistence {
                id: "pid-1".into(),
                ..Default::default()
            }),
            volume: Some(v1::Volume {
                container_path: "data-path".into(),
                mode: v1::volume::Mode::Rw as i32,
                ..Default::default()
            }),
            ..Default::default()
        }));
        r
    }

    #[test]
    fn pod_info_separates_volumes_from_resources() {
        let task = TaskInfo {
            name: "data-0".into(),
            task_id: v1::TaskId {
                value: "data-0__x".into(),
            },
            agent_id: v1::AgentId {
                value: "agent-1".into(),
            },
            resources: vec![
                res::scalar("cpus", 1.0),
                res::ranges("ports", &[(31000, 31001)]),
                volume(),
            ],
            ..Default::default()
        };
        let info = PodInfo::from_task(
            "data-0",
            "data",
            0,
            Some(&task),
            None,
            None,
            Some("c".into()),
        );
        assert_eq!(info.agent_id.as_deref(), Some("agent-1"));
        assert_eq!(
            info.task_info.as_ref().unwrap()["task_id"]["value"],
            "data-0__x"
        );
        assert_eq!(info.resources.len(), 2);
        assert_eq!(info.resources[0].scalar, Some(1.0));
        assert_eq!(info.resources[1].ranges, vec![[31000, 31001]]);
        assert_eq!(
            info.volumes,
            vec![VolumeSummary {
                container_path: "data-path".into(),
                kind: "ROOT".into(),
                size_mb: 5000.0,
                persistence_id: Some("pid-1".into()),
                resource_id: Some("rid-1".into()),
            }]
        );
        let summary = ResourceSummary::of(&volume());
        assert_eq!(summary.role.as_deref(), Some("svc-role"));
    }
}
