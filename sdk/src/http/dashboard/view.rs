//! The dashboard's view of a service: its plans, its pods with what differs from the
//! target configuration, the target configuration itself and the offer diagnostics, built
//! from a [`ServiceControl`] and with secret-looking environment values hidden.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::api::redact::redact_environment;
use crate::api::{
    ControlError, ControlResult, Health, OffersDebug, PodInfo, PodSummary, ServiceControl,
    VolumeSummary,
};
use crate::plan::PlanSnapshot;

/// The longest value shown in a configuration difference or setting, in characters.
const MAX_VALUE_CHARS: usize = 80;

/// Everything the dashboard shows, as one JSON document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DashboardView {
    /// The service's name, from its target configuration.
    pub service: Option<String>,
    /// The health summary (readiness) of the service.
    pub health: Health,
    /// Every plan with its phases and steps; a step's `message` says why it waits.
    pub plans: Vec<PlanSnapshot>,
    /// The target configuration, once one is stored.
    pub target: Option<TargetView>,
    /// Every pod instance.
    pub pods: Vec<PodView>,
    /// The latest offers and why pending steps did or did not use them.
    pub offers: OffersDebug,
}

/// The target configuration, task type by task type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetView {
    /// The configuration's id.
    pub id: String,
    /// Each task type's name and settings (`key` → compact JSON value).
    pub task_types: Vec<TaskTypeView>,
}

/// One task type of the target configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskTypeView {
    /// The task type's name.
    pub name: String,
    /// Its settings other than the name and those unset (`null` or empty), as compact
    /// JSON (long values shortened).
    pub settings: BTreeMap<String, String>,
}

/// One pod instance as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PodView {
    /// The instance name (e.g. `data-1`).
    pub instance: String,
    /// Its task type.
    pub task_type: String,
    /// The current Mesos task id, once launched.
    pub task_id: Option<String>,
    /// The last known Mesos task state.
    pub state: Option<String>,
    /// Whether the task runs and neither its health nor its readiness check failed.
    pub ready: bool,
    /// How many times it was launched again after its first launch.
    pub restarts: u64,
    /// The agent it lives on.
    pub agent_id: Option<String>,
    /// That agent's hostname.
    pub hostname: Option<String>,
    /// The port ranges it holds (inclusive).
    pub ports: Vec<[u64; 2]>,
    /// When its task's last status was sent, in seconds since the Unix epoch.
    pub status_time: Option<f64>,
    /// Its persistent volumes.
    pub volumes: Vec<VolumeSummary>,
    /// The id of the configuration it was launched with.
    pub config_id: Option<String>,
    /// What differs between that configuration and the target one for its task type
    /// (`key: launched → target`); empty when it runs the target configuration.
    pub differs: Vec<String>,
}

/// Stored configurations fetched once per view, redacted.
struct Configurations<'a> {
    control: &'a dyn ServiceControl,
    fetched: BTreeMap<String, Option<Value>>,
}

impl Configurations<'_> {
    /// Configuration `id` with secret-looking values hidden; `None` when it is gone.
    async fn get(&mut self, id: &str) -> ControlResult<Option<&Value>> {
        if !self.fetched.contains_key(id) {
            let spec = found(self.control.configuration(id).await)?.map(|mut spec| {
                redact_environment(&mut spec);
                spec
            });
            self.fetched.insert(id.to_string(), spec);
        }
        Ok(self.fetched.get(id).and_then(Option::as_ref))
    }
}

/// `result` with a not-found answer as `None`.
fn found<T>(result: ControlResult<T>) -> ControlResult<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(ControlError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Builds the dashboard's view of the service behind `control`.
pub async fn build(control: &dyn ServiceControl) -> ControlResult<DashboardView> {
    let plans = control.plans().await?;
    let health = control.health().await?;
    let offers = control.debug_offers().await?;
    let target_id = found(control.target_configuration_id().await)?;
    let mut configurations = Configurations {
        control,
        fetched: BTreeMap::new(),
    };
    let mut pods = Vec::new();
    for summary in control.pods().await? {
        let info = found(control.pod_info(&summary.instance).await)?;
        let differs = match (&target_id, info.as_ref().and_then(|i| i.config_id.clone())) {
            (Some(target), Some(launched)) if *target != launched => {
                let old = configurations.get(&launched).await?.cloned();
                let new = configurations.get(target).await?;
                differences(
                    old.as_ref().and_then(|s| task_type(s, &summary.task_type)),
                    new.and_then(|s| task_type(s, &summary.task_type)),
                )
            }
            _ => Vec::new(),
        };
        pods.push(pod_view(summary, info, differs));
    }
    let target = match &target_id {
        Some(id) => configurations
            .get(id)
            .await?
            .map(|spec| target_view(id, spec)),
        None => None,
    };
    Ok(DashboardView {
        service: target_id
            .as_ref()
            .and_then(|id| configurations.fetched.get(id))
            .and_then(|spec| spec.as_ref()?.get("name")?.as_str().map(String::from)),
        health,
        plans,
        target,
        pods,
        offers,
    })
}

/// The view of one pod from its summary and, when known, its info.
fn pod_view(summary: PodSummary, info: Option<PodInfo>, differs: Vec<String>) -> PodView {
    let last_status = info.as_ref().and_then(|i| i.last_status.as_ref());
    let ready = is_ready(summary.state.as_deref(), last_status);
    let status_time = last_status.and_then(|s| s.get("timestamp")?.as_f64());
    let (ports, volumes, config_id) = match info {
        Some(info) => (
            info.resources
                .iter()
                .filter(|r| r.name == "ports")
                .flat_map(|r| r.ranges.iter().copied())
                .collect(),
            info.volumes,
            info.config_id,
        ),
        None => (Vec::new(), Vec::new(), None),
    };
    PodView {
        instance: summary.instance,
        task_type: summary.task_type,
        task_id: summary.task_id,
        state: summary.state,
        ready,
        restarts: summary.restarts,
        agent_id: summary.agent_id,
        hostname: summary.hostname,
        ports,
        status_time,
        volumes,
        config_id,
        differs,
    }
}

/// Whether a task in `state` with last status `status` (Mesos JSON) is ready: it runs,
/// its health check (if any) has not failed and its readiness check (if any) passed.
fn is_ready(state: Option<&str>, status: Option<&Value>) -> bool {
    let healthy = status
        .and_then(|s| s.get("healthy")?.as_bool())
        .unwrap_or(true);
    let checked = status
        .and_then(|s| s.pointer("/check_status/command/exit_code")?.as_i64())
        .is_none_or(|code| code == 0);
    state == Some("TASK_RUNNING") && healthy && checked
}

/// The task type called `name` in configuration `spec` (a `ServiceSpec` as JSON).
fn task_type<'a>(spec: &'a Value, name: &str) -> Option<&'a Map<String, Value>> {
    spec.get("task_types")?
        .as_array()?
        .iter()
        .filter_map(Value::as_object)
        .find(|t| t.get("name").and_then(Value::as_str) == Some(name))
}

/// The settings in which task type `old` differs from `new`, as `key: old → new`; the
/// count is a setting of the task type, not of a pod, and is left out.
fn differences(old: Option<&Map<String, Value>>, new: Option<&Map<String, Value>>) -> Vec<String> {
    let keys: BTreeSet<&String> = old.into_iter().chain(new).flat_map(Map::keys).collect();
    keys.into_iter()
        .filter(|key| key.as_str() != "count")
        .filter_map(|key| {
            let before = old.and_then(|m| m.get(key));
            let after = new.and_then(|m| m.get(key));
            (before != after).then(|| {
                let show = |v: Option<&Value>| v.map_or_else(|| "none".to_string(), compact);
                format!("{key}: {} → {}", show(before), show(after))
            })
        })
        .collect()
}

/// The target configuration `id` (`spec`) as the dashboard shows it.
fn target_view(id: &str, spec: &Value) -> TargetView {
    let task_types = spec
        .get("task_types")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|t| TaskTypeView {
            name: t
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            settings: t
                .iter()
                .filter(|(key, value)| key.as_str() != "name" && !is_unset(value))
                .map(|(key, value)| (key.clone(), compact(value)))
                .collect(),
        })
        .collect();
    TargetView {
        id: id.to_string(),
        task_types,
    }
}

/// Whether a setting is unset: `null`, or an empty list or map.
fn is_unset(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => fields.is_empty(),
        Value::Bool(_) | Value::Number(_) | Value::String(_) => false,
    }
}

/// `value` as one line of JSON (a string without its quotes), at most
/// [`MAX_VALUE_CHARS`] characters.
fn compact(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() <= MAX_VALUE_CHARS {
        return text;
    }
    let mut short: String = text.chars().take(MAX_VALUE_CHARS - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn differences_name_each_changed_setting_but_the_count() {
        let old = json!({"name": "data", "count": 3, "cpus": 1.0, "env": {"A": "1"}});
        let new =
            json!({"name": "data", "count": 5, "cpus": 2.0, "uris": ["u"], "env": {"A": "1"}});
        assert_eq!(
            differences(old.as_object(), new.as_object()),
            vec!["cpus: 1.0 → 2.0", "uris: none → [\"u\"]"]
        );
        assert!(differences(old.as_object(), old.as_object()).is_empty());
    }

    #[test]
    fn readiness_needs_running_and_no_failed_check() {
        assert!(is_ready(Some("TASK_RUNNING"), None));
        assert!(!is_ready(Some("TASK_STAGING"), None));
        assert!(!is_ready(None, None));
        assert!(!is_ready(
            Some("TASK_RUNNING"),
            Some(&json!({"healthy": false}))
        ));
        let failing = json!({"check_status": {"command": {"exit_code": 1}}});
        assert!(!is_ready(Some("TASK_RUNNING"), Some(&failing)));
        let passing = json!({"healthy": true, "check_status": {"command": {"exit_code": 0}}});
        assert!(is_ready(Some("TASK_RUNNING"), Some(&passing)));
    }

    #[test]
    fn long_values_are_shortened() {
        let long = Value::String("x".repeat(200));
        let shown = compact(&long);
        assert_eq!(shown.chars().count(), MAX_VALUE_CHARS);
        assert!(shown.ends_with('…'));
        assert_eq!(compact(&json!({"a": 1})), "{\"a\":1}");
    }

    #[test]
    fn the_target_lists_each_task_type_without_its_name() {
        let spec = json!({"name": "s", "task_types": [
            {"name": "data", "count": 3, "health_check": null, "ports": []}
        ]});
        let view = target_view("c1", &spec);
        assert_eq!(view.id, "c1");
        assert_eq!(view.task_types[0].name, "data");
        assert_eq!(
            view.task_types[0].settings,
            BTreeMap::from([("count".to_string(), "3".to_string())])
        );
    }
}
