//! Which steps of a phase are in which status, kept up to date as steps change, so that a
//! phase's status and the steps its strategy lets proceed are known without scanning its
//! steps: a deploy of 50,000 instances asks after every batch of events.

use std::collections::BTreeSet;

use super::Status;

/// The positions of a phase's steps, grouped by status.
#[derive(Debug, Clone, Default)]
pub(super) struct Census {
    by_status: [BTreeSet<usize>; Status::ALL.len()],
}

impl Census {
    /// The census of `statuses` (in step order).
    pub(super) fn of(statuses: impl IntoIterator<Item = Status>) -> Census {
        let mut c = Census::default();
        for (i, s) in statuses.into_iter().enumerate() {
            c.by_status[s.index()].insert(i);
        }
        c
    }

    /// Notes that the step at `index` went from `from` to `to`.
    pub(super) fn moved(&mut self, index: usize, from: Status, to: Status) {
        self.by_status[from.index()].remove(&index);
        self.by_status[to.index()].insert(index);
    }

    /// The positions of the steps in `status`, in order.
    pub(super) fn with(&self, status: Status) -> impl Iterator<Item = usize> + '_ {
        self.by_status[status.index()].iter().copied()
    }

    /// The aggregate status of the steps (see [`Status::aggregate_counts`]).
    pub(super) fn status(&self, interrupted: bool) -> Status {
        Status::aggregate_counts(&self.by_status.each_ref().map(BTreeSet::len), interrupted)
    }

    /// The position of the first step that is not complete.
    pub(super) fn first_incomplete(&self) -> Option<usize> {
        Status::ALL
            .iter()
            .filter(|s| !s.is_complete())
            .filter_map(|s| self.by_status[s.index()].first().copied())
            .min()
    }

    /// The positions of the eligible steps (pending or prepared), in order.
    pub(super) fn eligible(&self) -> Vec<usize> {
        let mut out: Vec<usize> = Status::ALL
            .iter()
            .filter(|s| s.is_eligible())
            .flat_map(|s| self.with(*s))
            .collect();
        out.sort_unstable();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_moves() {
        use Status::*;
        let mut c = Census::of([Complete, Pending, Starting, Prepared]);
        assert_eq!(c.first_incomplete(), Some(1));
        assert_eq!(c.eligible(), vec![1, 3]);
        assert_eq!(c.status(false), InProgress);
        c.moved(1, Pending, Complete);
        c.moved(2, Starting, Complete);
        assert_eq!(c.first_incomplete(), Some(3));
        assert_eq!(c.eligible(), vec![3]);
        c.moved(3, Prepared, Delayed);
        assert_eq!(c.with(Delayed).collect::<Vec<_>>(), vec![3]);
        assert_eq!(c.status(false), Delayed);
        c.moved(3, Delayed, Complete);
        assert_eq!(c.first_incomplete(), None);
        assert_eq!(c.status(false), Complete);
        assert_eq!(Census::default().status(false), Complete);
    }
}
