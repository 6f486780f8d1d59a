//! Builders for the scheduler calls a framework sends: ACCEPT, DECLINE, REVIVE, SUPPRESS,
//! ACKNOWLEDGE, RECONCILE, KILL and TEARDOWN.

use crate::scheduler::{Call, call};
use crate::v1::{
    AgentId, Filters, FrameworkId, OfferId, OperationStatus, TaskId, TaskStatus, offer::Operation,
};

fn base(framework_id: &str, kind: call::Type) -> Call {
    Call {
        framework_id: Some(FrameworkId {
            value: framework_id.to_string(),
        }),
        r#type: Some(kind as i32),
        ..Call::default()
    }
}

fn offer_ids(ids: &[String]) -> Vec<OfferId> {
    ids.iter()
        .map(|value| OfferId {
            value: value.clone(),
        })
        .collect()
}

/// ACCEPT `offers` with `operations`; unused resources are refused for `refuse_seconds`.
pub fn accept(
    framework_id: &str,
    offers: &[String],
    operations: Vec<Operation>,
    refuse_seconds: f64,
) -> Call {
    Call {
        accept: Some(call::Accept {
            offer_ids: offer_ids(offers),
            operations,
            filters: Some(Filters {
                refuse_seconds: Some(refuse_seconds),
            }),
        }),
        ..base(framework_id, call::Type::Accept)
    }
}

/// DECLINE `offers`, refusing them for `refuse_seconds`.
pub fn decline(framework_id: &str, offers: &[String], refuse_seconds: f64) -> Call {
    Call {
        decline: Some(call::Decline {
            offer_ids: offer_ids(offers),
            filters: Some(Filters {
                refuse_seconds: Some(refuse_seconds),
            }),
        }),
        ..base(framework_id, call::Type::Decline)
    }
}

/// REVIVE offers for `role` (clears offer filters).
pub fn revive(framework_id: &str, role: &str) -> Call {
    Call {
        revive: Some(call::Revive {
            roles: vec![role.to_string()],
        }),
        ..base(framework_id, call::Type::Revive)
    }
}

/// SUPPRESS offers for `role`.
pub fn suppress(framework_id: &str, role: &str) -> Call {
    Call {
        suppress: Some(call::Suppress {
            roles: vec![role.to_string()],
        }),
        ..base(framework_id, call::Type::Suppress)
    }
}

/// ACKNOWLEDGE a status update; `None` if the update needs no acknowledgement.
pub fn acknowledge(framework_id: &str, status: &TaskStatus) -> Option<Call> {
    let uuid = status.uuid.clone().filter(|u| !u.is_empty())?;
    let agent_id = status.agent_id.clone()?;
    Some(Call {
        acknowledge: Some(call::Acknowledge {
            agent_id,
            task_id: status.task_id.clone(),
            uuid,
        }),
        ..base(framework_id, call::Type::Acknowledge)
    })
}

/// ACKNOWLEDGE_OPERATION_STATUS of `status`, if it asks for one (it carries a uuid, an
/// agent and an operation id: an update sent reliably).
pub fn acknowledge_operation(framework_id: &str, status: &OperationStatus) -> Option<Call> {
    let uuid = status.uuid.as_ref().filter(|u| !u.value.is_empty())?;
    Some(Call {
        acknowledge_operation_status: Some(call::AcknowledgeOperationStatus {
            agent_id: Some(status.agent_id.clone()?),
            resource_provider_id: status.resource_provider_id.clone(),
            uuid: uuid.value.clone(),
            operation_id: status.operation_id.clone()?,
        }),
        ..base(framework_id, call::Type::AcknowledgeOperationStatus)
    })
}

/// RECONCILE the given tasks (explicit), or all tasks when empty (implicit).
pub fn reconcile(framework_id: &str, tasks: &[(String, Option<String>)]) -> Call {
    Call {
        reconcile: Some(call::Reconcile {
            tasks: tasks
                .iter()
                .map(|(task, agent)| call::reconcile::Task {
                    task_id: TaskId {
                        value: task.clone(),
                    },
                    agent_id: agent.clone().map(|value| AgentId { value }),
                })
                .collect(),
        }),
        ..base(framework_id, call::Type::Reconcile)
    }
}

/// KILL a task.
pub fn kill(framework_id: &str, task_id: &str, agent_id: Option<&str>) -> Call {
    Call {
        kill: Some(call::Kill {
            task_id: TaskId {
                value: task_id.to_string(),
            },
            agent_id: agent_id.map(|a| AgentId {
                value: a.to_string(),
            }),
            kill_policy: None,
        }),
        ..base(framework_id, call::Type::Kill)
    }
}

/// TEARDOWN the framework (kills every task, releases every resource).
pub fn teardown(framework_id: &str) -> Call {
    base(framework_id, call::Type::Teardown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledge_needs_a_uuid() {
        let mut status = TaskStatus {
            task_id: TaskId { value: "t".into() },
            agent_id: Some(AgentId { value: "a".into() }),
            ..TaskStatus::default()
        };
        assert!(acknowledge("fw", &status).is_none());
        status.uuid = Some(vec![1, 2, 3]);
        let call = acknowledge("fw", &status).unwrap();
        assert_eq!(call.r#type, Some(call::Type::Acknowledge as i32));
        assert_eq!(call.framework_id.unwrap().value, "fw");
        let d = decline("fw", &["o1".into()], 30.0);
        assert_eq!(
            d.decline.unwrap().filters.unwrap().refuse_seconds,
            Some(30.0)
        );
    }
}
