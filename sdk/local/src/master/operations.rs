//! ACCEPT: offer validation and the operations RESERVE, UNRESERVE, CREATE, DESTROY and LAUNCH,
//! validated and applied in order as Mesos does. An invalid operation is dropped (with an
//! OPERATION_ERROR update when it carries an id); an invalid task gets TASK_ERROR; tasks of an
//! ACCEPT with invalid offers get TASK_LOST (TASK_DROPPED for partition-aware frameworks).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use stead_proto::scheduler::{Event, call, event};
use stead_proto::v1::offer::{Operation, operation};
use stead_proto::v1::resource::reservation_info;
use stead_proto::v1::task_status::Reason;
use stead_proto::v1::{
    OperationState, OperationStatus, Resource, TaskInfo, TaskState, TaskStatus, Uuid,
};

use super::updates::master_status;
use super::{Master, Task};
use crate::config::ExecutorMode;
use crate::executor::{self, LaunchSpec};
use crate::resources::{self, Resources, describe};

fn resources_of(list: &[Resource]) -> Result<Vec<Resource>, String> {
    list.iter()
        .map(|r| {
            let n = resources::normalize(r.clone());
            resources::validate(&n).map(|_| n)
        })
        .collect()
}

/// Checks a TaskID as Mesos does.
fn validate_task_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("TaskID must not be empty".into());
    }
    if id == "." || id == ".." || id.contains('/') || id.contains('\0') {
        return Err(format!("TaskID '{id}' contains invalid characters"));
    }
    Ok(())
}

/// Checks a persistent volume's container path (relative, no `..`).
fn validate_container_path(p: &str) -> Result<(), String> {
    let path = std::path::Path::new(p);
    if p.is_empty()
        || path.is_absolute()
        || path
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(format!(
            "Persistent volume container path '{p}' must be relative and must not contain '..'"
        ));
    }
    Ok(())
}

impl Master {
    pub(super) fn accept(&mut self, fid: &str, accept: call::Accept) {
        // Offer validation.
        let mut error = None;
        let mut agent_id: Option<String> = None;
        let mut seen = HashSet::new();
        if accept.offer_ids.is_empty() {
            error = Some("No offers specified".to_string());
        }
        for oid in &accept.offer_ids {
            if !seen.insert(oid.value.clone()) {
                error = Some(format!("Duplicate offer {}", oid.value));
                continue;
            }
            match self.offers.get(&oid.value) {
                None => error = Some(format!("Offer {} is no longer valid", oid.value)),
                Some(o) if o.framework_id != fid => {
                    error = Some(format!("Offer {} has invalid framework", oid.value))
                }
                Some(o) => match &agent_id {
                    Some(a) if a != &o.agent_id => {
                        error = Some(format!(
                            "Aggregated offers must belong to one agent; offer {} does not",
                            oid.value
                        ))
                    }
                    _ => agent_id = Some(o.agent_id.clone()),
                },
            }
        }
        let mut offered = Resources::new();
        for oid in &accept.offer_ids {
            if self
                .offers
                .get(&oid.value)
                .is_some_and(|o| o.framework_id == fid)
                && let Some(o) = self.remove_offer(&oid.value, false)
            {
                offered.add_all(&o.resources);
            }
        }
        let partition_aware = self
            .frameworks
            .get(fid)
            .is_some_and(|f| f.partition_aware());
        if let Some(error) = error {
            tracing::warn!(framework = %fid, %error, "ACCEPT with invalid offers");
            let state = if partition_aware {
                TaskState::TaskDropped
            } else {
                TaskState::TaskLost
            };
            for op in &accept.operations {
                for task in launched_tasks(op) {
                    let s = master_status(
                        &task.task_id.value,
                        Some(&task.agent_id.value),
                        state,
                        Reason::InvalidOffers,
                        format!("Task launched with invalid offers: {error}"),
                    );
                    self.send_unreliable(fid, s);
                }
            }
            return;
        }
        let Some(agent_id) = agent_id else {
            return;
        };
        let mut remaining = offered;
        let mut changed = false;
        for op in accept.operations {
            let ty = op.r#type.and_then(|t| operation::Type::try_from(t).ok());
            let op_id = op.id.clone();
            let result = match ty {
                Some(operation::Type::Reserve) => {
                    self.op_reserve(fid, &agent_id, &mut remaining, &op)
                }
                Some(operation::Type::Unreserve) => {
                    self.op_unreserve(fid, &agent_id, &mut remaining, &op)
                }
                Some(operation::Type::Create) => {
                    self.op_create(fid, &agent_id, &mut remaining, &op)
                }
                Some(operation::Type::Destroy) => self.op_destroy(&agent_id, &mut remaining, &op),
                Some(operation::Type::Launch) => {
                    let tasks = op.launch.map(|l| l.task_infos).unwrap_or_default();
                    for task in tasks {
                        self.launch_one(fid, &agent_id, &mut remaining, task);
                    }
                    continue;
                }
                Some(operation::Type::LaunchGroup) => {
                    for task in launched_tasks(&op) {
                        let s = master_status(
                            &task.task_id.value,
                            Some(&agent_id),
                            TaskState::TaskError,
                            Reason::TaskGroupInvalid,
                            "LAUNCH_GROUP is not supported by the local cluster; launch command tasks with LAUNCH",
                        );
                        self.send_unreliable(fid, s);
                    }
                    continue;
                }
                _ => Err(format!(
                    "Unsupported operation type {}",
                    op.r#type.unwrap_or_default()
                )),
            };
            match &result {
                Ok(()) => changed = true,
                Err(e) => {
                    tracing::warn!(framework = %fid, error = %e, "dropping an invalid operation")
                }
            }
            if let Some(id) = op_id {
                let (state, message) = match result {
                    Ok(()) => (OperationState::OperationFinished, None),
                    Err(e) => (OperationState::OperationError, Some(e)),
                };
                if let Some(fw) = self.frameworks.get(fid) {
                    fw.send(&Event {
                        r#type: Some(event::Type::UpdateOperationStatus as i32),
                        update_operation_status: Some(event::UpdateOperationStatus {
                            status: OperationStatus {
                                operation_id: Some(id),
                                state: state as i32,
                                message,
                                uuid: Some(Uuid {
                                    value: uuid::Uuid::new_v4().as_bytes().to_vec(),
                                }),
                                agent_id: Some(stead_proto::v1::AgentId {
                                    value: agent_id.clone(),
                                }),
                                ..Default::default()
                            },
                        }),
                        ..Default::default()
                    });
                }
            }
        }
        if changed {
            self.checkpoint_agent(&agent_id);
        }
        self.add_filter(fid, &agent_id, remaining, accept.filters.as_ref());
    }

    fn check_role(&self, fid: &str, role: &str) -> Result<(), String> {
        let fw = self.frameworks.get(fid).ok_or("Unknown framework")?;
        if fw.roles().iter().any(|r| r == role) {
            Ok(())
        } else {
            Err(format!(
                "A reservation for role '{role}' cannot be made by a framework with roles {:?}",
                fw.roles()
            ))
        }
    }

    fn check_principal(
        &self,
        fid: &str,
        principal: Option<&str>,
        what: &str,
    ) -> Result<(), String> {
        let fw_principal = self.frameworks.get(fid).and_then(|f| f.principal());
        match (fw_principal, principal) {
            (Some(f), Some(p)) if f != p => Err(format!(
                "The {what} principal '{p}' does not match the framework's principal '{f}'"
            )),
            (Some(f), None) => Err(format!(
                "A {what} has no principal, but the framework's principal is '{f}'"
            )),
            _ => Ok(()),
        }
    }

    fn op_reserve(
        &mut self,
        fid: &str,
        agent_id: &str,
        remaining: &mut Resources,
        op: &Operation,
    ) -> Result<(), String> {
        let reserve = op
            .reserve
            .as_ref()
            .ok_or("Invalid RESERVE: 'reserve' missing")?;
        let list = resources_of(&reserve.resources).map_err(|e| format!("Invalid RESERVE: {e}"))?;
        if list.is_empty() {
            return Err("Invalid RESERVE: no resources".into());
        }
        let mut sources = Vec::with_capacity(list.len());
        for r in &list {
            let top = r.reservations.last().ok_or_else(|| {
                format!("Invalid RESERVE: resource {} has no reservation", r.name)
            })?;
            if top.r#type != Some(reservation_info::Type::Dynamic as i32) {
                return Err("Invalid RESERVE: only dynamic reservations can be made".into());
            }
            if resources::is_persistent_volume(r) {
                return Err("Invalid RESERVE: a persistent volume cannot be reserved".into());
            }
            let role = top.role.as_deref().unwrap_or_default();
            self.check_role(fid, role)
                .map_err(|e| format!("Invalid RESERVE: {e}"))?;
            self.check_principal(fid, top.principal.as_deref(), "reservation")
                .map_err(|e| format!("Invalid RESERVE: {e}"))?;
            if r.reservations.len() > 1 {
                let parent = r.reservations[r.reservations.len() - 2]
                    .role
                    .as_deref()
                    .unwrap_or_default();
                if !(role.len() > parent.len() && resources::role_may_use(role, parent)) {
                    return Err(format!(
                        "Invalid RESERVE: a refined reservation's role '{role}' must be a child of '{parent}'"
                    ));
                }
            }
            sources.push(resources::pop_reservation(r));
        }
        let pairs: Vec<_> = sources.iter().zip(list.iter().map(Some)).collect();
        self.exchange(agent_id, remaining, &pairs)
            .map_err(|e| format!("Invalid RESERVE: {e}"))
    }

    /// Exchanges `pairs` in the offered resources `remaining` (all or nothing), then in the
    /// agent's resources.
    fn exchange(
        &mut self,
        agent_id: &str,
        remaining: &mut Resources,
        pairs: &[(&Resource, Option<&Resource>)],
    ) -> Result<(), String> {
        remaining.exchange(pairs.iter().copied())?;
        let agent = self.agents.get_mut(agent_id).ok_or("Unknown agent")?;
        for (out, put) in pairs {
            agent.total.subtract(out);
            if let Some(put) = put {
                agent.total.add(put);
            }
        }
        agent.changed();
        Ok(())
    }

    fn op_unreserve(
        &mut self,
        fid: &str,
        agent_id: &str,
        remaining: &mut Resources,
        op: &Operation,
    ) -> Result<(), String> {
        let unreserve = op
            .unreserve
            .as_ref()
            .ok_or("Invalid UNRESERVE: 'unreserve' missing")?;
        let list =
            resources_of(&unreserve.resources).map_err(|e| format!("Invalid UNRESERVE: {e}"))?;
        let mut released = Vec::with_capacity(list.len());
        for r in &list {
            let top = r
                .reservations
                .last()
                .ok_or_else(|| format!("Invalid UNRESERVE: resource {} is not reserved", r.name))?;
            if top.r#type != Some(reservation_info::Type::Dynamic as i32) {
                return Err("Invalid UNRESERVE: static reservations cannot be unreserved".into());
            }
            if resources::is_persistent_volume(r) {
                return Err(
                    "Invalid UNRESERVE: a persistent volume cannot be unreserved; DESTROY it first"
                        .into(),
                );
            }
            let role = top.role.as_deref().unwrap_or_default();
            let fw = self.frameworks.get(fid).ok_or("Unknown framework")?;
            if !fw
                .roles()
                .iter()
                .any(|fr| resources::role_may_use(fr, role))
            {
                return Err(format!(
                    "Invalid UNRESERVE: role '{role}' is not a role of the framework"
                ));
            }
            released.push(resources::pop_reservation(r));
        }
        let pairs: Vec<_> = list.iter().zip(released.iter().map(Some)).collect();
        self.exchange(agent_id, remaining, &pairs)
            .map_err(|e| format!("Invalid UNRESERVE: {e}"))
    }

    fn op_create(
        &mut self,
        fid: &str,
        agent_id: &str,
        remaining: &mut Resources,
        op: &Operation,
    ) -> Result<(), String> {
        let create = op
            .create
            .as_ref()
            .ok_or("Invalid CREATE: 'create' missing")?;
        let list = resources_of(&create.volumes).map_err(|e| format!("Invalid CREATE: {e}"))?;
        if list.is_empty() {
            return Err("Invalid CREATE: no volumes".into());
        }
        let agent = self.agents.get(agent_id).ok_or("Unknown agent")?;
        let mut ids = HashSet::new();
        let mut sources = Vec::with_capacity(list.len());
        for v in &list {
            let disk = v.disk.as_ref().filter(|_| v.name == "disk").ok_or(
                "Invalid CREATE: a persistent volume must be a disk resource with disk info",
            )?;
            let persistence = disk
                .persistence
                .as_ref()
                .ok_or("Invalid CREATE: the volume has no persistence id")?;
            let volume = disk
                .volume
                .as_ref()
                .ok_or("Invalid CREATE: the volume has no 'volume' (container path)")?;
            validate_container_path(&volume.container_path)
                .map_err(|e| format!("Invalid CREATE: {e}"))?;
            let role = resources::reserved_role(v).ok_or(
                "Invalid CREATE: persistent volumes cannot be created from unreserved resources",
            )?;
            let fw = self.frameworks.get(fid).ok_or("Unknown framework")?;
            if !fw
                .roles()
                .iter()
                .any(|fr| resources::role_may_use(fr, role))
            {
                return Err(format!(
                    "Invalid CREATE: role '{role}' is not a role of the framework"
                ));
            }
            self.check_principal(fid, persistence.principal.as_deref(), "persistent volume")
                .map_err(|e| format!("Invalid CREATE: {e}"))?;
            let key = (role.to_string(), persistence.id.clone());
            let exists = agent.total.as_slice().iter().any(|r| {
                resources::reserved_role(r) == Some(role)
                    && r.disk
                        .as_ref()
                        .and_then(|d| d.persistence.as_ref())
                        .is_some_and(|p| p.id == persistence.id)
            });
            if exists || !ids.insert(key) {
                return Err(format!(
                    "Invalid CREATE: persistence ID '{}' already exists",
                    persistence.id
                ));
            }
            sources.push(resources::strip_volume(v));
        }
        let pairs: Vec<_> = sources.iter().zip(list.iter().map(Some)).collect();
        let name = agent.name.clone();
        self.exchange(agent_id, remaining, &pairs)
            .map_err(|e| format!("Invalid CREATE: {e}"))?;
        // The directories are made off the loop; a task using a volume makes sure of its
        // directory again before it starts (and fails to launch if it cannot). Simulated
        // tasks write nothing, so their agents keep volumes in their checkpoints only.
        if self.config.executor == ExecutorMode::Process {
            for v in &list {
                let (role, id) = volume_key(v);
                self.disk
                    .create_dir(self.layout.volume_dir(&name, &role, &id));
            }
        }
        Ok(())
    }

    fn op_destroy(
        &mut self,
        agent_id: &str,
        remaining: &mut Resources,
        op: &Operation,
    ) -> Result<(), String> {
        let destroy = op
            .destroy
            .as_ref()
            .ok_or("Invalid DESTROY: 'destroy' missing")?;
        let list = resources_of(&destroy.volumes).map_err(|e| format!("Invalid DESTROY: {e}"))?;
        let agent = self.agents.get(agent_id).ok_or("Unknown agent")?;
        let mut sources = Vec::with_capacity(list.len());
        for v in &list {
            if !resources::is_persistent_volume(v) {
                return Err("Invalid DESTROY: not a persistent volume".into());
            }
            if agent.used.contains_one(v) {
                return Err("Invalid DESTROY: the volume is in use by a task".into());
            }
            sources.push(resources::strip_volume(v));
        }
        let name = agent.name.clone();
        let pairs: Vec<_> = list.iter().zip(sources.iter().map(Some)).collect();
        self.exchange(agent_id, remaining, &pairs)
            .map_err(|e| format!("Invalid DESTROY: {e}"))?;
        for v in &list {
            let (role, id) = volume_key(v);
            self.disk
                .remove_dir(self.layout.volume_dir(&name, &role, &id));
        }
        Ok(())
    }

    /// The resources of a valid task.
    fn validate_task(
        &self,
        fid: &str,
        agent_id: &str,
        task: &TaskInfo,
    ) -> Result<Resources, String> {
        validate_task_id(&task.task_id.value)?;
        let fw = self.frameworks.get(fid).ok_or("Unknown framework")?;
        if fw.tasks.contains_key(&task.task_id.value) {
            return Err(format!("Task has duplicate ID: {}", task.task_id.value));
        }
        if task.agent_id.value != agent_id {
            return Err(format!(
                "Task uses invalid agent: {} (the offer is for {agent_id})",
                task.agent_id.value
            ));
        }
        if task.executor.is_some() {
            return Err(
                "Custom executors are not supported by the local cluster; launch a command task"
                    .into(),
            );
        }
        let command = task.command.as_ref().ok_or(
            "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present",
        )?;
        executor::program_of(command)?;
        let list = resources_of(&task.resources)?;
        if list.is_empty() {
            return Err("Task uses no resources".into());
        }
        for r in &list {
            if let Some(v) = r.disk.as_ref().and_then(|d| d.volume.as_ref()) {
                validate_container_path(&v.container_path)?;
            }
        }
        Ok(list.into_iter().collect())
    }

    fn launch_one(
        &mut self,
        fid: &str,
        agent_id: &str,
        remaining: &mut Resources,
        mut task: TaskInfo,
    ) {
        let taken = self.validate_task(fid, agent_id, &task).and_then(|needed| {
            match remaining.exchange(needed.as_slice().iter().map(|r| (r, None))) {
                Ok(()) => Ok(needed),
                Err(_) => Err(format!(
                    "Task uses more resources {} than available {}",
                    describe(&needed),
                    describe(remaining)
                )),
            }
        });
        let needed = match taken {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(framework = %fid, task = %task.task_id.value, error = %e, "invalid task");
                let s = master_status(
                    &task.task_id.value,
                    Some(agent_id),
                    TaskState::TaskError,
                    Reason::TaskInvalid,
                    e,
                );
                self.send_unreliable(fid, s);
                return;
            }
        };
        task.resources = needed.as_slice().to_vec();
        let Some(agent) = self.agents.get(agent_id) else {
            return;
        };
        let name = agent.name.clone();
        let address = agent.config.address;
        let volumes: Vec<_> = task
            .resources
            .iter()
            .filter(|r| resources::is_persistent_volume(r))
            .filter_map(|r| {
                let cp = r.disk.as_ref()?.volume.as_ref()?.container_path.clone();
                let (role, id) = volume_key(r);
                Some((self.layout.volume_dir(&name, &role, &id), cp))
            })
            .collect();
        let container_id = uuid::Uuid::new_v4().to_string();
        let sandbox = self
            .layout
            .sandbox_dir(&name, fid, &task.task_id.value, &container_id);
        self.next_executor_seq += 1;
        let seq = self.next_executor_seq;
        let fw = self.frameworks.get(fid);
        let killing_state = fw.is_some_and(|f| {
            f.has_capability(stead_proto::v1::framework_info::capability::Type::TaskKillingState)
        });
        let task = Arc::new(task);
        let spec = LaunchSpec {
            seq,
            agent_id: agent_id.to_string(),
            address,
            framework_id: fid.to_string(),
            task: task.clone(),
            container_id,
            sandbox: sandbox.clone(),
            volumes,
            mode: self.config.executor,
            default_grace: self.config.default_kill_grace,
            killing_state,
            http: self.http.clone(),
        };
        let staging = TaskStatus {
            task_id: task.task_id.clone(),
            state: TaskState::TaskStaging as i32,
            agent_id: Some(task.agent_id.clone()),
            timestamp: Some(super::now_secs()),
            source: Some(stead_proto::v1::task_status::Source::Master as i32),
            ..Default::default()
        };
        let task_id = task.task_id.value.clone();
        if let Some(fw) = self.frameworks.get_mut(fid) {
            fw.tasks.insert(
                task_id.clone(),
                Task {
                    info: task,
                    agent_id: agent_id.to_string(),
                    latest: staging,
                    pending: VecDeque::new(),
                    resend_at: None,
                    backoff: Duration::ZERO,
                    live: true,
                    executor_seq: seq,
                    sandbox: Some(sandbox),
                },
            );
        }
        let handle = executor::launch(spec, self.exec_tx.clone());
        if let Some(agent) = self.agents.get_mut(agent_id) {
            agent.used.add_all(&needed);
            agent.changed();
            agent.tasks.insert((fid.to_string(), task_id.clone()));
            agent.executors.insert((fid.to_string(), task_id), handle);
        }
        self.checkpoint_agent(agent_id);
    }
}

/// (role, persistence id) of a persistent volume.
fn volume_key(r: &Resource) -> (String, String) {
    (
        resources::reserved_role(r).unwrap_or("*").to_string(),
        r.disk
            .as_ref()
            .and_then(|d| d.persistence.as_ref())
            .map(|p| p.id.clone())
            .unwrap_or_default(),
    )
}

/// The tasks an operation would launch.
fn launched_tasks(op: &Operation) -> Vec<TaskInfo> {
    let mut out = Vec::new();
    if let Some(l) = &op.launch {
        out.extend(l.task_infos.iter().cloned());
    }
    if let Some(g) = &op.launch_group {
        out.extend(g.task_group.tasks.iter().cloned());
    }
    out
}
