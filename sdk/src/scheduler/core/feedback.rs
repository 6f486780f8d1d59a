//! Operation feedback: the master's answers to the RESERVE operations the scheduler sends
//! with an id. Every update that asks for it is acknowledged; a refused reservation (an
//! ACL that denies `reserve_resources` to the principal, say) is logged at WARN and shown
//! on the instance's waiting step with the master's reason, until a reservation of the
//! instance succeeds. Without this a refusal only shows as a launch that fails again
//! and again.

use stead_proto::v1::{OperationState, OperationStatus};

use super::Core;
use crate::mesos::calls;
use crate::offer::operations::reserving_instance;

impl Core {
    /// Handles an UPDATE_OPERATION_STATUS.
    pub(super) fn on_operation_status(&mut self, status: OperationStatus) {
        if let Some(fw) = &self.framework_id {
            self.pending.ack(calls::acknowledge_operation(fw, &status));
        }
        let Some(instance) = status
            .operation_id
            .as_ref()
            .and_then(|id| reserving_instance(&id.value))
        else {
            return;
        };
        match OperationState::try_from(status.state) {
            Ok(OperationState::OperationFinished) => {
                self.refusals.remove(instance);
            }
            Ok(
                OperationState::OperationError
                | OperationState::OperationFailed
                | OperationState::OperationDropped,
            ) => {
                let reason = status
                    .message
                    .unwrap_or_else(|| "the master gave no reason".to_string());
                tracing::warn!(instance, %reason, "the master refused to reserve the resources of an instance");
                self.refusals.insert(instance.to_string(), reason);
            }
            _ => {}
        }
    }

    /// Shows every refusal on its instance's unfinished step (after the batch's task
    /// updates, which would otherwise say only that the launch failed).
    pub(super) fn show_refusals(&mut self) {
        for (instance, reason) in &self.refusals {
            self.plans.reserve_refused(instance, reason);
        }
    }
}
