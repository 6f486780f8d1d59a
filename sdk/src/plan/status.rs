//! Step, phase and plan statuses.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The progress of a step, or the aggregate progress of a phase or plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
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

    /// Every status, in declaration order.
    pub const ALL: [Status; 9] = [
        Status::Pending,
        Status::Prepared,
        Status::Starting,
        Status::Started,
        Status::Complete,
        Status::Waiting,
        Status::Delayed,
        Status::Error,
        Status::InProgress,
    ];

    /// The position of the status in [`Status::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The aggregate status of a list of child statuses.
    pub fn aggregate<I: IntoIterator<Item = Status>>(children: I, interrupted: bool) -> Status {
        let mut counts = [0; Status::ALL.len()];
        for s in children {
            counts[s.index()] += 1;
        }
        Status::aggregate_counts(&counts, interrupted)
    }

    /// The aggregate status of children counted by status (`counts[s.index()]` children
    /// in status `s`).
    pub fn aggregate_counts(counts: &[usize; Status::ALL.len()], interrupted: bool) -> Status {
        let total: usize = counts.iter().sum();
        let count = |s: Status| counts[s.index()];
        if total == count(Status::Complete) {
            Status::Complete
        } else if count(Status::Error) > 0 {
            Status::Error
        } else if interrupted {
            Status::Waiting
        } else if total == count(Status::Pending) {
            Status::Pending
        } else if count(Status::Delayed) > 0 {
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
        assert!(Status::ALL.iter().enumerate().all(|(i, s)| s.index() == i));
    }
}
