//! The agents the master reported gone, and since when (wall-clock time, stored, so
//! that a restarted scheduler keeps counting towards automatic replacement).

use std::collections::BTreeMap;
use std::time::Duration;

use stead_state::{StateError, StateStore};

use super::properties;

/// The state property holding the gone agents.
const PROPERTY: &str = "gone-agents";

/// Agent id -> milliseconds since the Unix epoch when it was first reported gone.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GoneAgents {
    since: BTreeMap<String, u64>,
}

impl GoneAgents {
    /// The gone agents stored in `store`.
    pub fn load(store: &StateStore) -> Result<GoneAgents, StateError> {
        Ok(GoneAgents {
            since: properties::load(store, PROPERTY)?.unwrap_or_default(),
        })
    }

    /// Records that `agent` is gone as of `now_ms`, unless it already was; stored first.
    pub fn lost(&mut self, store: &StateStore, agent: &str, now_ms: u64) -> Result<(), StateError> {
        if self.since.contains_key(agent) {
            return Ok(());
        }
        let mut next = self.since.clone();
        next.insert(agent.to_string(), now_ms);
        properties::store(store, PROPERTY, &next)?;
        self.since = next;
        Ok(())
    }

    /// Forgets the agents that are back (they sent offers); stored first.
    pub fn back<'a>(
        &mut self,
        store: &StateStore,
        agents: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), StateError> {
        if self.since.is_empty() {
            return Ok(());
        }
        let mut next = self.since.clone();
        for agent in agents {
            next.remove(agent);
        }
        if next.len() != self.since.len() {
            properties::store(store, PROPERTY, &next)?;
            self.since = next;
        }
        Ok(())
    }

    /// How long `agent` has been gone at `now_ms`, if it is.
    pub fn gone_for(&self, agent: &str, now_ms: u64) -> Option<Duration> {
        self.since
            .get(agent)
            .map(|since| Duration::from_millis(now_ms.saturating_sub(*since)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gone_clock_survives_a_reload() {
        let store = StateStore::new(std::sync::Arc::new(stead_state::MemPersister::default()));
        let mut gone = GoneAgents::load(&store).unwrap();
        gone.lost(&store, "a1", 1_000).unwrap();
        gone.lost(&store, "a1", 5_000).unwrap();
        gone.lost(&store, "a2", 2_000).unwrap();
        let reloaded = GoneAgents::load(&store).unwrap();
        assert_eq!(reloaded, gone);
        assert_eq!(
            reloaded.gone_for("a1", 61_000),
            Some(Duration::from_secs(60))
        );
        gone.back(&store, ["a1"]).unwrap();
        let reloaded = GoneAgents::load(&store).unwrap();
        assert_eq!(reloaded.gone_for("a1", 61_000), None);
        assert_eq!(reloaded.gone_for("a2", 3_000), Some(Duration::from_secs(1)));
    }
}
