//! A framework's offer filters (from DECLINE or ACCEPT `refuse_seconds`), indexed by agent
//! and by expiry, so that neither an allocation nor the master's timers scan every filter:
//! with thousands of agents a framework holds thousands of filters.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use tokio::time::Instant;

use crate::resources::Resources;

/// The offer filters of one framework.
#[derive(Debug, Default)]
pub(super) struct Filters {
    /// Live filters by agent id: (resources refused, expiry).
    by_agent: HashMap<String, Vec<(Resources, Instant)>>,
    /// Every filter's expiry with its agent; entries whose filters are gone are skipped.
    expiries: BinaryHeap<Reverse<(Instant, String)>>,
}

impl Filters {
    /// Refuses `resources` of `agent_id` until `expires`.
    pub(super) fn add(&mut self, agent_id: &str, resources: Resources, expires: Instant) {
        self.by_agent
            .entry(agent_id.to_string())
            .or_default()
            .push((resources, expires));
        self.expiries.push(Reverse((expires, agent_id.to_string())));
    }

    /// Whether a filter of `agent_id` refuses an offer of `offerable`.
    pub(super) fn refuses(&self, agent_id: &str, offerable: &Resources) -> bool {
        self.by_agent
            .get(agent_id)
            .is_some_and(|fs| fs.iter().any(|(r, _)| r.contains(offerable)))
    }

    /// Drops every filter (REVIVE).
    pub(super) fn clear(&mut self) {
        self.by_agent.clear();
        self.expiries.clear();
    }

    /// The earliest expiry of a filter, if any.
    pub(super) fn next_expiry(&self) -> Option<Instant> {
        self.expiries.peek().map(|Reverse((at, _))| *at)
    }

    /// Drops the filters expired at `now`; returns the agents that lost one (their
    /// resources may be offered again).
    pub(super) fn expire(&mut self, now: Instant) -> Vec<String> {
        let mut agents = Vec::new();
        while let Some(Reverse((at, _))) = self.expiries.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, agent))) = self.expiries.pop() else {
                break;
            };
            let Some(fs) = self.by_agent.get_mut(&agent) else {
                continue;
            };
            fs.retain(|(_, expires)| *expires > now);
            if fs.is_empty() {
                self.by_agent.remove(&agent);
            }
            agents.push(agent);
        }
        agents
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::resources::scalar_resource;

    fn cpus(n: f64) -> Resources {
        [scalar_resource("cpus", n)].into_iter().collect()
    }

    #[test]
    fn a_filter_refuses_what_it_contains_on_its_agent_until_it_expires() {
        let now = Instant::now();
        let mut f = Filters::default();
        f.add("a1", cpus(2.0), now + Duration::from_secs(5));
        f.add("a2", cpus(1.0), now + Duration::from_secs(1));
        assert!(f.refuses("a1", &cpus(2.0)));
        assert!(f.refuses("a1", &cpus(1.0)));
        assert!(!f.refuses("a1", &cpus(3.0)), "more than refused is offered");
        assert!(
            !f.refuses("a3", &cpus(1.0)),
            "another agent is not filtered"
        );
        assert_eq!(f.next_expiry(), Some(now + Duration::from_secs(1)));

        assert!(f.expire(now).is_empty());
        assert_eq!(
            f.expire(now + Duration::from_secs(1)),
            vec!["a2".to_string()]
        );
        assert!(!f.refuses("a2", &cpus(1.0)));
        assert!(f.refuses("a1", &cpus(1.0)));
        assert_eq!(f.next_expiry(), Some(now + Duration::from_secs(5)));

        f.clear();
        assert!(!f.refuses("a1", &cpus(1.0)));
        assert_eq!(f.next_expiry(), None);
    }
}
