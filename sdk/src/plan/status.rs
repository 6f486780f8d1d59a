//! Step, phase and plan statuses.

use serde::{Deserialize, Serialize};

/// The progress of a step, or the aggregate progress of a phase or plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Nothing has been done yet.
    Pending,
    /// The step is eligible and waits for a suitable offer.
    Prepared,
    /// Operations were sent; the task has not reported RUNNING yet.
    Starting,
    /// The task runs; its readiness check has not passed yet.
    Started,
    /// Done.
    Complete,
    /// Interrupted by an operator.
    Waiting,
    /// Backing off after failures; eligible again later.
    Delayed,
    /// The step cannot make progress (e.g. an invalid requirement).
    Error,
    /// Aggregate only: some children have started, not all are complete.
    InProgress,
}

impl Status {
    /// Whether the status is [`Status::Complete`].
    pub fn is_complete(self) -> bool {
        self == Status::Complete
    }

    /// Whether a step in this status may be offered resources (given its strategy allows it).
    pub fn is_eligible(self) -> bool {
        matches!(self, Status::Pending | Status::Prepared)
    }

    /// Whether work is under way (operations sent, waiting for the task).
    pub fn is_in_flight(self) -> bool {
        matches!(self, Status::Starting | Status::Started)
    }

    /// The aggregate status of a list of child statuses.
    pub fn aggregate<I: IntoIterator<Item = Status>>(children: I, interrupted: bool) -> Status {
        let mut any = false;
        let mut all_complete = true;
        let mut all_pending = true;
        let mut error = false;
        let mut delayed = false;
        for s in children {
            any = true;
            error |= s == Status::Error;
            delayed |= s == Status::Delayed;
            all_complete &= s == Status::Complete;
            all_pending &= s == Status::Pending;
        }
        if !any || all_complete {
            Status::Complete
        } else if error {
            Status::Error
        } else if interrupted {
            Status::Waiting
        } else if all_pending {
            Status::Pending
        } else if delayed {
            Status::Delayed
        } else {
            Status::InProgress
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Status::Pending => "PENDING",
            Status::Prepared => "PREPARED",
            Status::Starting => "STARTING",
            Status::Started => "STARTED",
            Status::Complete => "COMPLETE",
            Status::Waiting => "WAITING",
            Status::Delayed => "DELAYED",
            Status::Error => "ERROR",
            Status::InProgress => "IN_PROGRESS",
        };
        f.write_str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates() {
        use Status::*;
        assert_eq!(Status::aggregate([], false), Complete);
        assert_eq!(Status::aggregate([Complete, Complete], false), Complete);
        assert_eq!(Status::aggregate([Pending, Pending], false), Pending);
        assert_eq!(Status::aggregate([Complete, Pending], false), InProgress);
        assert_eq!(Status::aggregate([Complete, Starting], false), InProgress);
        assert_eq!(Status::aggregate([Complete, Error], false), Error);
        assert_eq!(Status::aggregate([Complete, Pending], true), Waiting);
        assert_eq!(Status::aggregate([Delayed, Pending], false), Delayed);
        assert_eq!(Status::InProgress.to_string(), "IN_PROGRESS");
    }
}
