//! Configuration updates: the target a starting scheduler runs ([`accept_target`]),
//! which instances run an older configuration, relabeling those the target does not
//! change, and dropping configurations no task uses. The relaunch in place of the others
//! is built by [`crate::offer::resize`].
//!
//! An instance is up to date when its stored TaskInfo carries the target's config id.
//! At start, a task whose config id differs but which would launch exactly as it runs
//! (e.g. only another task type's count changed) is relabeled, persisted, not restarted.

use std::collections::BTreeSet;

use stead_proto::v1::TaskInfo;
use stead_spec::ServiceSpec;
use stead_state::{ConfigStore, StateStore};

use crate::offer::operations::{LaunchContext, config_id_of, task_labels};
use crate::offer::resize::{target_task, unchanged};

/// `task` with its config id label set to `config_id`.
pub fn relabeled(task: &TaskInfo, config_id: &str) -> TaskInfo {
    let mut task = task.clone();
    let labels = task.labels.get_or_insert_with(Default::default);
    match labels
        .labels
        .iter_mut()
        .find(|l| l.key == task_labels::CONFIG_ID)
    {
        Some(l) => l.value = Some(config_id.to_string()),
        None => labels.labels.push(stead_proto::v1::Label {
            key: task_labels::CONFIG_ID.to_string(),
            value: Some(config_id.to_string()),
        }),
    }
    task
}

/// Relabels (and persists, in one batch) every stored task of `spec`'s instances that
/// runs an older configuration but would launch unchanged under `ctx.config_id`.
/// `tasks` maps instance names to (type index, index, stored task); relabeled tasks
/// are replaced in it. Returns the relabeled instance names.
pub fn relabel_unchanged(
    store: &StateStore,
    ctx: &LaunchContext<'_>,
    tasks: &mut [(usize, u32, &mut TaskInfo)],
) -> crate::Result<Vec<String>> {
    let mut batch = store.batch();
    let mut changed = Vec::new();
    let mut names = Vec::new();
    for (i, (ti, index, task)) in tasks.iter().enumerate() {
        if config_id_of(task) == Some(ctx.config_id) {
            continue;
        }
        let Some(tt) = ctx.service.task_types.get(*ti) else {
            continue;
        };
        if let Ok(target) = target_task(ctx, tt, *index, task)
            && unchanged(task, &target)
        {
            let new = relabeled(task, ctx.config_id);
            batch.task(&new)?;
            names.push(new.name.clone());
            changed.push((i, new));
        }
    }
    if !changed.is_empty() {
        batch.commit()?;
        tracing::info!(instances = ?names, config = %ctx.config_id, "the new configuration leaves these instances unchanged: relabeled, not restarted");
    }
    for (i, new) in changed {
        *tasks[i].2 = new;
    }
    Ok(names)
}

/// Deletes every stored configuration that is neither the target nor used by one of
/// `tasks`. Returns the deleted ids.
pub fn retain_configs<'t>(
    configs: &ConfigStore<ServiceSpec>,
    used: impl IntoIterator<Item = &'t str>,
) -> crate::Result<Vec<String>> {
    let used: BTreeSet<&str> = used.into_iter().collect();
    let deleted = configs.retain(used)?;
    if !deleted.is_empty() {
        tracing::info!(configs = ?deleted, "removed configurations no task uses any more");
    }
    Ok(deleted)
}

/// The configuration a starting scheduler runs: `spec` when there is no target yet or
/// when moving from the stored target to it is allowed (then it is stored and made the
/// target), or else the stored target, with every reason `spec` was rejected (logged;
/// with `fail_fast`, returned as the error instead). An uninstall runs the stored target
/// (whose role and principal hold the reservations) and stores nothing.
///
/// Returns (the spec to run, its id, the rejection errors).
pub fn accept_target(
    configs: &ConfigStore<ServiceSpec>,
    spec: ServiceSpec,
    fail_fast: bool,
    uninstall: bool,
) -> crate::Result<(ServiceSpec, String, Vec<String>)> {
    let id = spec.id().to_string();
    let current = configs.fetch_target()?;
    if uninstall {
        return Ok(match current {
            Some((old_id, old)) => (old, old_id, Vec::new()),
            None => (spec, id, Vec::new()),
        });
    }
    let Some((old_id, old)) = current else {
        configs.store_target(&id, &spec)?;
        return Ok((spec, id, Vec::new()));
    };
    if old_id == id {
        return Ok((spec, id, Vec::new()));
    }
    match old.validate_update(&spec) {
        Ok(()) => {
            for change in old.changes(&spec) {
                tracing::info!(change = ?change, "configuration change");
            }
            configs.store_target(&id, &spec)?;
            tracing::info!(from = %old_id, to = %id, "the configuration changed: the deploy plan updates the service");
            Ok((spec, id, Vec::new()))
        }
        Err(errors) => {
            let messages: Vec<String> = errors
                .errors()
                .iter()
                .map(|e| format!("configuration {id} rejected: {e}"))
                .collect();
            for m in &messages {
                tracing::error!("{m}");
            }
            if fail_fast {
                return Err(errors.into());
            }
            tracing::error!(target = %old_id, "the new configuration is rejected: the service keeps running its current target, nothing changes on the cluster");
            Ok((old, old_id, messages))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use crate::offer::resize::growth;
    use crate::offer::resize::testing::{ctx, launched, spec};

    #[test]
    fn count_only_changes_relabel_and_others_do_not() {
        let old = spec(1.0, "./data");
        let (task, _) = launched(&old, 0.0);
        let mut more = old.clone();
        more.task_types[0].count = 5;
        let id = more.id().to_string();
        let target = target_task(&ctx(&more, &id), &more.task_types[0], 0, &task).unwrap();
        assert!(unchanged(&task, &target));
        assert_eq!(config_id_of(&relabeled(&task, &id)), Some(id.as_str()));

        let bigger = spec(2.0, "./data");
        let id = bigger.id().to_string();
        let target = target_task(&ctx(&bigger, &id), &bigger.task_types[0], 0, &task).unwrap();
        assert!(!unchanged(&task, &target), "cpus changed");
        assert_eq!(
            growth(&task, &target),
            BTreeMap::from([("cpus".to_string(), 1.0)])
        );
        let other = spec(1.0, "./data --fast");
        let id = other.id().to_string();
        let target = target_task(&ctx(&other, &id), &other.task_types[0], 0, &task).unwrap();
        assert!(!unchanged(&task, &target), "command changed");

        let mut placed = old.clone();
        placed.task_types[0].placement =
            vec![stead_spec::PlacementRule::parse("hostname:UNIQUE").unwrap()];
        let id = placed.id().to_string();
        let target = target_task(&ctx(&placed, &id), &placed.task_types[0], 0, &task).unwrap();
        assert!(
            unchanged(&task, &target),
            "placement applies to new or replaced instances only"
        );
    }

    #[test]
    fn relabel_persists_unchanged_tasks_only() {
        let old = spec(1.0, "./data");
        let (mut task, _) = launched(&old, 0.0);
        let mut more = old.clone();
        more.task_types[0].count = 3;
        let id = more.id().to_string();
        let store = StateStore::new(std::sync::Arc::new(stead_state::MemPersister::new()));
        let mut tasks = vec![(0usize, 0u32, &mut task)];
        let names = relabel_unchanged(&store, &ctx(&more, &id), &mut tasks).unwrap();
        assert_eq!(names, vec!["data-0".to_string()]);
        assert_eq!(config_id_of(&task), Some(id.as_str()));
        let stored = store.fetch_task("data-0").unwrap().unwrap();
        assert_eq!(config_id_of(&stored), Some(id.as_str()));
    }

    #[test]
    fn rejected_configs_keep_the_target() {
        let configs: ConfigStore<ServiceSpec> =
            ConfigStore::new(std::sync::Arc::new(stead_state::MemPersister::new()));
        let first = spec(1.0, "./data");
        let (_, id, errors) = accept_target(&configs, first.clone(), false, false).unwrap();
        assert!(errors.is_empty());
        assert_eq!(configs.target().unwrap(), Some(id.clone()));
        let mut bigger_volume = first.clone();
        bigger_volume.task_types[0].volumes[0].size_mib = 200;
        let (run, run_id, errors) =
            accept_target(&configs, bigger_volume.clone(), false, false).unwrap();
        assert_eq!(run, first, "the old target keeps running");
        assert_eq!(run_id, id);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("volumes cannot change"), "{errors:?}");
        assert_eq!(configs.list().unwrap(), vec![id.clone()], "nothing stored");
        assert!(accept_target(&configs, bigger_volume, true, false).is_err());
        let mut fewer = first.clone();
        fewer.task_types[0].count = 1;
        let (_, _, errors) = accept_target(&configs, fewer.clone(), false, false).unwrap();
        assert!(errors[0].contains("allow_decommission"), "{errors:?}");
        fewer.task_types[0].allow_decommission = true;
        let (_, new_id, errors) = accept_target(&configs, fewer, false, false).unwrap();
        assert!(errors.is_empty());
        assert_eq!(configs.target().unwrap(), Some(new_id));
    }
}
