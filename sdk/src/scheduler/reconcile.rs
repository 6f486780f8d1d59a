//! Task reconciliation: explicit until every known task has answered, implicit after.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use stead_proto::scheduler::Call;

use crate::mesos::calls;

/// First resend interval of an unanswered explicit reconciliation.
const FIRST_RESEND: Duration = Duration::from_secs(5);
/// Largest resend interval.
const MAX_RESEND: Duration = Duration::from_secs(60);
/// Most tasks named in one explicit reconciliation call (a service of 50,000 tasks would
/// otherwise send one call of several megabytes).
const TASKS_PER_CALL: usize = 5_000;

/// Tracks which tasks still owe an answer.
#[derive(Debug)]
pub struct Reconciler {
    pending: HashMap<String, Option<String>>,
    next_explicit: Option<Instant>,
    resend: Duration,
    next_implicit: Instant,
    implicit_every: Duration,
}

impl Reconciler {
    /// A reconciler that reconciles implicitly every `implicit_every` once done.
    pub fn new(implicit_every: Duration) -> Reconciler {
        Reconciler {
            pending: HashMap::new(),
            next_explicit: None,
            resend: FIRST_RESEND,
            next_implicit: Instant::now() + implicit_every,
            implicit_every,
        }
    }

    /// Starts an explicit round over `tasks` (task id, agent id) and returns its calls.
    pub fn start(
        &mut self,
        framework_id: &str,
        tasks: impl IntoIterator<Item = (String, Option<String>)>,
    ) -> Vec<Call> {
        self.pending = tasks.into_iter().collect();
        self.resend = FIRST_RESEND;
        self.next_implicit = Instant::now() + self.implicit_every;
        if self.pending.is_empty() {
            self.next_explicit = None;
            return Vec::new();
        }
        self.next_explicit = Some(Instant::now() + self.resend);
        self.explicit(framework_id)
    }

    /// Adds tasks whose fate is uncertain (e.g. their ACCEPT failed).
    pub fn add(&mut self, tasks: impl IntoIterator<Item = (String, Option<String>)>) {
        self.pending.extend(tasks);
        if !self.pending.is_empty() && self.next_explicit.is_none() {
            self.next_explicit = Some(Instant::now());
        }
    }

    /// The calls that ask for every pending task, [`TASKS_PER_CALL`] at a time.
    fn explicit(&self, framework_id: &str) -> Vec<Call> {
        let tasks: Vec<(String, Option<String>)> = self
            .pending
            .iter()
            .map(|(t, a)| (t.clone(), a.clone()))
            .collect();
        ask(framework_id, &tasks)
    }

    /// Records an answer (any status update of the task).
    pub fn answered(&mut self, task_id: &str) {
        self.pending.remove(task_id);
        if self.pending.is_empty() {
            self.next_explicit = None;
        }
    }

    /// Whether every task has answered.
    pub fn is_done(&self) -> bool {
        self.pending.is_empty()
    }

    /// The reconciliation calls due at `now`, if any.
    pub fn due(&mut self, framework_id: &str, now: Instant) -> Vec<Call> {
        if let Some(at) = self.next_explicit {
            if now < at {
                return Vec::new();
            }
            self.resend = (self.resend * 2).min(MAX_RESEND);
            self.next_explicit = Some(now + self.resend);
            return self.explicit(framework_id);
        }
        if now >= self.next_implicit {
            self.next_implicit = now + self.implicit_every;
            return vec![calls::reconcile(framework_id, &[])];
        }
        Vec::new()
    }
}

/// Explicit reconciliation calls asking about `tasks` (task id, agent id), without
/// waiting for their answers.
pub fn ask(framework_id: &str, tasks: &[(String, Option<String>)]) -> Vec<Call> {
    tasks
        .chunks(TASKS_PER_CALL)
        .map(|chunk| calls::reconcile(framework_id, chunk))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_until_answered_then_implicit() {
        let mut r = Reconciler::new(Duration::from_secs(100));
        let first = r.start(
            "fw",
            [
                ("t1".to_string(), None),
                ("t2".to_string(), Some("a".into())),
            ],
        );
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].reconcile.as_ref().unwrap().tasks.len(), 2);
        let now = Instant::now();
        assert!(r.due("fw", now).is_empty());
        let resent = r.due("fw", now + Duration::from_secs(6));
        assert_eq!(resent[0].reconcile.as_ref().unwrap().tasks.len(), 2);
        r.answered("t1");
        assert!(!r.is_done());
        r.answered("t2");
        assert!(r.is_done());
        assert!(r.due("fw", now + Duration::from_secs(50)).is_empty());
        let implicit = r.due("fw", now + Duration::from_secs(101));
        assert_eq!(implicit.len(), 1);
        assert!(implicit[0].reconcile.as_ref().unwrap().tasks.is_empty());
        assert!(
            Reconciler::new(Duration::from_secs(1))
                .start("fw", [])
                .is_empty()
        );
    }

    #[test]
    fn many_tasks_are_asked_for_in_several_calls() {
        let mut r = Reconciler::new(Duration::from_secs(100));
        let tasks = (0..TASKS_PER_CALL * 2 + 1).map(|i| (format!("t{i}"), None));
        let calls = r.start("fw", tasks);
        let sizes: Vec<usize> = calls
            .iter()
            .map(|c| c.reconcile.as_ref().unwrap().tasks.len())
            .collect();
        assert_eq!(sizes, [TASKS_PER_CALL, TASKS_PER_CALL, 1]);
    }
}
