//! Scheduler calls: SUBSCRIBE and the calls of a subscribed framework (validated as Mesos does).

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use stead_proto::scheduler::{Call, Event, Response, call, event, response};
use stead_proto::v1::{FrameworkId, FrameworkInfo};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{ApiError, Conn, Framework, Master, Subscription, Wire, now_secs, roles_of};
use crate::executor::Control;
use crate::resources::Resources;

/// Checks a role name as Mesos does.
fn validate_role(role: &str) -> Result<(), String> {
    if role == "*" {
        return Ok(());
    }
    if role.is_empty() {
        return Err("Role names cannot be empty".into());
    }
    if role.starts_with('/') || role.ends_with('/') || role.contains("//") {
        return Err(format!(
            "Role '{role}' cannot start or end with '/' nor contain '//'"
        ));
    }
    for part in role.split('/') {
        if part == "." || part == ".." || part.starts_with('-') {
            return Err(format!("Role '{role}' has an invalid component '{part}'"));
        }
        if part == "*" {
            return Err(format!("Role '{role}' cannot contain '*' as a component"));
        }
    }
    if role.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("Role '{role}' cannot contain whitespace"));
    }
    Ok(())
}

fn validate_framework_info(info: &FrameworkInfo) -> Result<(), String> {
    let multi = info.capabilities.iter().any(|c| {
        c.r#type == Some(stead_proto::v1::framework_info::capability::Type::MultiRole as i32)
    });
    if multi && info.role.is_some() {
        return Err("'FrameworkInfo.role' must not be set for a MULTI_ROLE framework".into());
    }
    if !multi && !info.roles.is_empty() {
        return Err("'FrameworkInfo.roles' needs the MULTI_ROLE capability".into());
    }
    let roles = roles_of(info);
    let mut seen = HashSet::new();
    for r in &roles {
        validate_role(r)?;
        if !seen.insert(r) {
            return Err(format!(
                "'FrameworkInfo.roles' contains duplicate role '{r}'"
            ));
        }
    }
    if info
        .failover_timeout
        .is_some_and(|t| !t.is_finite() || t < 0.0)
    {
        return Err("'FrameworkInfo.failover_timeout' must be a non-negative number".into());
    }
    Ok(())
}

fn refuse_duration(filters: Option<&stead_proto::v1::Filters>) -> Duration {
    let secs = filters.and_then(|f| f.refuse_seconds).unwrap_or(5.0);
    if secs.is_finite() && secs > 0.0 {
        // Mesos caps absurdly long filters at a year.
        Duration::from_secs_f64(secs.min(365.0 * 24.0 * 3600.0))
    } else {
        Duration::ZERO
    }
}

impl Master {
    pub(super) fn subscribe(&mut self, call: Call, wire: Wire) -> Result<Subscription, ApiError> {
        let Some(sub) = call.subscribe else {
            return Err(ApiError::bad_request(
                "Failed to validate scheduler::Call: Expecting 'subscribe' to be present",
            ));
        };
        let mut info = sub.framework_info;
        if let Some(fid) = &call.framework_id
            && info.id.as_ref().map(|i| &i.value) != Some(&fid.value)
        {
            return Err(ApiError::bad_request(
                "Failed to validate scheduler::Call: 'framework_id' differs from 'subscribe.framework_info.id'",
            ));
        }
        validate_framework_info(&info).map_err(|e| {
            ApiError::bad_request(format!("Failed to validate scheduler::Call: {e}"))
        })?;
        let id = match info.id.as_ref().map(|i| i.value.clone()) {
            Some(id) if self.removed_frameworks.contains(&id) => {
                return Err(ApiError::forbidden(format!(
                    "Framework {id} has been removed"
                )));
            }
            Some(id) => id,
            None => {
                let id = format!(
                    "{}-{:04}",
                    self.cluster.cluster_id, self.cluster.next_framework
                );
                self.cluster.next_framework += 1;
                if let Err(e) = crate::checkpoint::write(&self.layout.cluster_file(), &self.cluster)
                {
                    tracing::error!(%e, "cannot checkpoint the cluster");
                }
                id
            }
        };
        info.id = Some(FrameworkId { value: id.clone() });
        let (tx, rx) = mpsc::unbounded_channel();
        let stream_id = uuid::Uuid::new_v4().to_string();
        let conn = Conn {
            stream_id: stream_id.clone(),
            tx,
            wire,
            next_heartbeat: Instant::now() + self.config.heartbeat_interval,
        };
        // A failover: the previous scheduler is told and its offers are recovered.
        self.recover_offers_of(&id, false);
        let fw = self
            .frameworks
            .entry(id.clone())
            .or_insert_with(|| Framework {
                id: id.clone(),
                info: info.clone(),
                placeholder: false,
                conn: None,
                failover_deadline: None,
                suppressed: HashSet::new(),
                filters: Default::default(),
                tasks: Default::default(),
                completed: VecDeque::new(),
                registered_at: now_secs(),
            });
        if let Some(old) = fw.conn.take() {
            let err = Event {
                r#type: Some(event::Type::Error as i32),
                error: Some(event::Error {
                    message: "Framework failed over".into(),
                }),
                ..Default::default()
            };
            let _ = old.tx.send(old.wire.encode(&err));
        }
        fw.info = info;
        fw.placeholder = false;
        fw.failover_deadline = None;
        fw.suppressed = sub.suppressed_roles.into_iter().collect();
        let subscribed = Event {
            r#type: Some(event::Type::Subscribed as i32),
            subscribed: Some(event::Subscribed {
                framework_id: FrameworkId { value: id.clone() },
                heartbeat_interval_seconds: Some(self.config.heartbeat_interval.as_secs_f64()),
                master_info: Some(self.master_info.clone()),
            }),
            ..Default::default()
        };
        let heartbeat = Event {
            r#type: Some(event::Type::Heartbeat as i32),
            ..Default::default()
        };
        let _ = conn.tx.send(wire.encode(&subscribed));
        let _ = conn.tx.send(wire.encode(&heartbeat));
        fw.conn = Some(conn);
        tracing::info!(framework = %id, "framework subscribed");
        self.resend_all_pending(&id);
        Ok(Subscription {
            framework_id: id,
            stream_id,
            events: rx,
        })
    }

    pub(super) fn disconnected(&mut self, framework_id: &str, stream_id: &str) {
        let Some(fw) = self.frameworks.get_mut(framework_id) else {
            return;
        };
        if fw.conn.as_ref().is_none_or(|c| c.stream_id != stream_id) {
            return;
        }
        fw.conn = None;
        let timeout = fw.info.failover_timeout.unwrap_or(0.0);
        tracing::info!(framework = %framework_id, timeout, "framework disconnected");
        self.recover_offers_of(framework_id, false);
        if timeout <= 0.0 {
            self.remove_framework(framework_id);
        } else if let Some(fw) = self.frameworks.get_mut(framework_id) {
            let d = Duration::from_secs_f64(timeout.min(10.0 * 365.0 * 24.0 * 3600.0));
            fw.failover_deadline = Some(Instant::now() + d);
        }
    }

    /// A call of a subscribed framework.
    pub(super) fn call(
        &mut self,
        call: Call,
        stream_id: &str,
    ) -> Result<Option<Response>, ApiError> {
        use call::Type;
        let Some(fid) = call.framework_id.as_ref().map(|f| f.value.clone()) else {
            return Err(ApiError::bad_request(
                "Failed to validate scheduler::Call: Expecting 'framework_id' to be present",
            ));
        };
        let Some(fw) = self.frameworks.get(&fid) else {
            return Err(ApiError::forbidden(format!(
                "Framework {fid} is not subscribed"
            )));
        };
        match &fw.conn {
            None => {
                return Err(ApiError::forbidden(format!(
                    "Framework {fid} is not subscribed"
                )));
            }
            Some(c) if c.stream_id != stream_id => {
                return Err(ApiError::bad_request(format!(
                    "The stream ID '{stream_id}' included in this request didn't match the stream ID currently associated with framework ID {fid}"
                )));
            }
            Some(_) => {}
        }
        let ty = call.r#type.and_then(|t| Type::try_from(t).ok());
        let missing = |f: &str| {
            ApiError::bad_request(format!(
                "Failed to validate scheduler::Call: Expecting '{f}' to be present"
            ))
        };
        match ty {
            Some(Type::Teardown) => {
                tracing::info!(framework = %fid, "framework teardown");
                self.remove_framework(&fid);
            }
            Some(Type::Accept) => {
                let a = call.accept.ok_or_else(|| missing("accept"))?;
                self.accept(&fid, a);
            }
            Some(Type::Decline) => {
                let d = call.decline.ok_or_else(|| missing("decline"))?;
                for oid in d.offer_ids {
                    if self
                        .offers
                        .get(&oid.value)
                        .is_some_and(|o| o.framework_id == fid)
                        && let Some(offer) = self.remove_offer(&oid.value, false)
                    {
                        self.add_filter(&fid, &offer.agent_id, offer.resources, d.filters.as_ref());
                    }
                }
            }
            Some(Type::Revive) => {
                self.realloc_all = true;
                let roles = call.revive.map(|r| r.roles).unwrap_or_default();
                if let Some(fw) = self.frameworks.get_mut(&fid) {
                    fw.filters.clear();
                    if roles.is_empty() {
                        fw.suppressed.clear();
                    } else {
                        for r in roles {
                            fw.suppressed.remove(&r);
                        }
                    }
                }
            }
            Some(Type::Suppress) => {
                let roles = call.suppress.map(|r| r.roles).unwrap_or_default();
                if let Some(fw) = self.frameworks.get_mut(&fid) {
                    if roles.is_empty() {
                        fw.suppressed = fw.roles().into_iter().collect();
                    } else {
                        fw.suppressed.extend(roles);
                    }
                }
            }
            Some(Type::Kill) => {
                let k = call.kill.ok_or_else(|| missing("kill"))?;
                let grace = k
                    .kill_policy
                    .as_ref()
                    .and_then(|p| p.grace_period.as_ref())
                    .map(|d| Duration::from_nanos(d.nanoseconds.max(0).unsigned_abs()));
                self.kill_task(&fid, &k.task_id.value, grace);
            }
            Some(Type::Shutdown) => {
                // Command tasks: the executor id is the task id.
                let s = call.shutdown.ok_or_else(|| missing("shutdown"))?;
                self.kill_task(&fid, &s.executor_id.value, None);
            }
            Some(Type::Acknowledge) => {
                let a = call.acknowledge.ok_or_else(|| missing("acknowledge"))?;
                if uuid::Uuid::from_slice(&a.uuid).is_err() {
                    return Err(ApiError::bad_request(
                        "Failed to validate scheduler::Call: 'uuid' is not a valid UUID",
                    ));
                }
                self.acknowledge(&fid, &a.task_id.value, &a.uuid);
            }
            Some(Type::Reconcile) => {
                let r = call.reconcile.unwrap_or_default();
                self.reconcile(&fid, r.tasks);
            }
            Some(Type::UpdateFramework) => {
                let u = call
                    .update_framework
                    .ok_or_else(|| missing("update_framework"))?;
                if u.framework_info.id.as_ref().map(|i| &i.value) != Some(&fid) {
                    return Err(ApiError::bad_request(
                        "Failed to validate scheduler::Call: 'framework_info.id' differs from 'framework_id'",
                    ));
                }
                validate_framework_info(&u.framework_info).map_err(|e| {
                    ApiError::bad_request(format!("Failed to validate scheduler::Call: {e}"))
                })?;
                self.recover_offers_of(&fid, true);
                self.realloc_all = true;
                if let Some(fw) = self.frameworks.get_mut(&fid) {
                    fw.info = u.framework_info;
                    fw.suppressed = u.suppressed_roles.into_iter().collect();
                }
            }
            Some(Type::ReconcileOperations) => {
                return Ok(Some(Response {
                    r#type: Some(response::Type::ReconcileOperations as i32),
                    reconcile_operations: Some(response::ReconcileOperations {
                        operation_statuses: vec![],
                    }),
                }));
            }
            Some(
                Type::Message
                | Type::Request
                | Type::AcceptInverseOffers
                | Type::DeclineInverseOffers
                | Type::AcknowledgeOperationStatus,
            ) => {}
            Some(Type::Subscribe) => unreachable_subscribe(),
            Some(Type::Unknown) | None => {
                return Err(ApiError::bad_request(
                    "Failed to validate scheduler::Call: Expecting 'type' to be present",
                ));
            }
        }
        Ok(None)
    }

    /// KILL: a live task is killed with its (or the call's) kill policy; an unknown one is
    /// reconciled, as Mesos does.
    fn kill_task(&mut self, fid: &str, task_id: &str, grace: Option<Duration>) {
        let live_agent = self
            .frameworks
            .get(fid)
            .and_then(|f| f.tasks.get(task_id))
            .filter(|t| t.live)
            .map(|t| t.agent_id.clone());
        match live_agent {
            Some(agent_id) => {
                if let Some(h) = self
                    .agents
                    .get(&agent_id)
                    .and_then(|a| a.executors.get(&(fid.to_string(), task_id.to_string())))
                {
                    h.send(Control::Kill(grace));
                }
            }
            None => self.reconcile(
                fid,
                vec![call::reconcile::Task {
                    task_id: stead_proto::v1::TaskId {
                        value: task_id.to_string(),
                    },
                    agent_id: None,
                }],
            ),
        }
    }

    /// Adds an offer filter for a framework.
    pub(super) fn add_filter(
        &mut self,
        fid: &str,
        agent_id: &str,
        resources: Resources,
        refuse: Option<&stead_proto::v1::Filters>,
    ) {
        let refuse = refuse_duration(refuse);
        if refuse.is_zero() || resources.is_empty() {
            return;
        }
        if let Some(fw) = self.frameworks.get_mut(fid) {
            fw.filters.add(agent_id, resources, Instant::now() + refuse);
        }
    }
}

/// SUBSCRIBE never reaches `call` (the HTTP layer routes it to `subscribe`).
fn unreachable_subscribe() {
    tracing::warn!("SUBSCRIBE routed as a plain call; ignored");
}

#[cfg(test)]
mod tests {
    use super::validate_role;

    #[test]
    fn roles() {
        assert!(validate_role("*").is_ok());
        assert!(validate_role("a/b").is_ok());
        assert!(validate_role("").is_err());
        assert!(validate_role("a//b").is_err());
        assert!(validate_role("a/..").is_err());
        assert!(validate_role("a b").is_err());
    }
}
