//! Reservations and volumes the service still has to release, kept in the state store
//! until an offer shows them released.
//!
//! Persist before acting: a resource id is added here, and stored, before the task
//! that owned it is erased (a decommission) or overwritten by a task elsewhere (a
//! replace), so a scheduler killed before the master applied the release still knows
//! the id is the service's to release: it keeps asking for offers, and the cleanup of
//! the offer round releases the id (DESTROY, UNRESERVE) when its agent offers it.
//!
//! A sent release is not taken as done: its ACCEPT can be lost, or reach the master
//! after the offer it names is gone. An id is released once an offer of its agent no
//! longer holds it, after its release was sent, or [`UNSEEN_GRACE`] after it was added
//! (an id that long not offered was never reserved: its launch never reached the
//! master). Ids loaded from the store count as sent: a previous run may have sent them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use stead_proto::v1::Offer;
use stead_state::{StateBatch, StateStore};

use super::properties;
use crate::Result;
use crate::mesos::resources as res;

/// How long an id added in this run waits to be seen in an offer before its absence
/// from an offer of its agent counts as released.
pub const UNSEEN_GRACE: Duration = Duration::from_secs(30);

/// The stored form: owner (an instance) -> resource id -> agent id.
type Stored = BTreeMap<String, BTreeMap<String, String>>;

/// One resource id to release.
#[derive(Debug, Clone)]
struct Pending {
    agent: String,
    /// When it was added in this run (`None`: loaded from the store).
    added: Option<Instant>,
    /// Whether its release may have been sent.
    sent: bool,
}

/// The resource ids to release, by owner, stored as the state property `property`.
#[derive(Debug)]
pub struct ReleaseBook {
    property: &'static str,
    owners: BTreeMap<String, BTreeMap<String, Pending>>,
}

impl ReleaseBook {
    /// An empty book, stored as `property`.
    #[cfg(test)]
    pub fn new(property: &'static str) -> ReleaseBook {
        ReleaseBook {
            property,
            owners: BTreeMap::new(),
        }
    }

    /// The book stored as `property`.
    pub fn load(store: &StateStore, property: &'static str) -> Result<ReleaseBook> {
        let stored = properties::load::<Stored>(store, property)?.unwrap_or_default();
        let owners = stored
            .into_iter()
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(owner, ids)| {
                let ids = ids
                    .into_iter()
                    .map(|(id, agent)| {
                        let pending = Pending {
                            agent,
                            added: None,
                            sent: true,
                        };
                        (id, pending)
                    })
                    .collect();
                (owner, ids)
            })
            .collect();
        Ok(ReleaseBook { property, owners })
    }

    /// The owners with ids left to release.
    pub fn owners(&self) -> impl Iterator<Item = (&str, usize)> {
        self.owners.iter().map(|(o, ids)| (o.as_str(), ids.len()))
    }

    /// The agent holding an id `owner` has left to release.
    pub fn agent_of(&self, owner: &str) -> Option<&str> {
        let ids = self.owners.get(owner)?;
        ids.values().next().map(|p| p.agent.as_str())
    }

    /// How many ids `owner` has left to release.
    pub fn left(&self, owner: &str) -> usize {
        self.owners.get(owner).map_or(0, BTreeMap::len)
    }

    /// Whether nothing is left to release.
    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }

    /// Adds the resource ids `ids` of `owner`, held by `agent` (not stored yet: see
    /// [`stage`](Self::stage) and [`store`](Self::store)).
    pub fn add(&mut self, owner: &str, agent: &str, ids: Vec<String>, now: Instant) {
        if ids.is_empty() {
            return;
        }
        let entry = self.owners.entry(owner.to_string()).or_default();
        for id in ids {
            entry.entry(id).or_insert_with(|| Pending {
                agent: agent.to_string(),
                added: Some(now),
                sent: false,
            });
        }
    }

    /// Records that the release of these ids was sent.
    pub fn sent(&mut self, ids: &BTreeSet<&str>) {
        for pending in self.owners.values_mut() {
            for (id, p) in pending.iter_mut() {
                if ids.contains(id.as_str()) {
                    p.sent = true;
                }
            }
        }
    }

    /// The ids that `offers` show released (see the module doc).
    pub fn done_in(&self, offers: &[Offer], now: Instant) -> BTreeSet<String> {
        // Only the agents of the book matter: most rounds offer none of them.
        let agents: BTreeSet<&str> = self
            .owners
            .values()
            .flatten()
            .map(|(_, p)| p.agent.as_str())
            .collect();
        let mut held: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for offer in offers {
            let agent = offer.agent_id.value.as_str();
            if agents.contains(agent) {
                held.entry(agent)
                    .or_default()
                    .extend(offer.resources.iter().filter_map(res::resource_id));
            }
        }
        self.owners
            .values()
            .flatten()
            .filter(|(id, p)| {
                let absent = held
                    .get(p.agent.as_str())
                    .is_some_and(|ids| !ids.contains(id.as_str()));
                let due = p.sent
                    || p.added
                        .is_none_or(|t| now.saturating_duration_since(t) >= UNSEEN_GRACE);
                absent && due
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Forgets the ids `offers` show released and stores what is left; returns the
    /// owners left with none.
    pub fn offered(
        &mut self,
        store: &StateStore,
        offers: &[Offer],
        now: Instant,
    ) -> Result<Vec<String>> {
        if self.owners.is_empty() {
            return Ok(Vec::new());
        }
        let done = self.done_in(offers, now);
        if done.is_empty() {
            return Ok(Vec::new());
        }
        let emptied = self.remove(&done.iter().map(String::as_str).collect());
        self.store(store)?;
        Ok(emptied)
    }

    /// Forgets these ids (released); returns the owners left with none.
    pub fn remove(&mut self, ids: &BTreeSet<&str>) -> Vec<String> {
        let mut emptied = Vec::new();
        self.owners.retain(|owner, pending| {
            let before = pending.len();
            pending.retain(|id, _| !ids.contains(id.as_str()));
            if pending.is_empty() && before > 0 {
                emptied.push(owner.clone());
            }
            !pending.is_empty()
        });
        emptied
    }

    /// Adds the write of the book to `batch`.
    pub fn stage(&self, batch: &mut StateBatch<'_>) -> Result<()> {
        let bytes = properties::encode(self.property, &self.stored())?;
        batch.property(self.property, &bytes)?;
        Ok(())
    }

    /// Stores the book (removes the property when nothing is left).
    pub fn store(&self, store: &StateStore) -> Result<()> {
        if self.owners.is_empty() {
            store.delete_property(self.property)?;
        } else {
            properties::store(store, self.property, &self.stored())?;
        }
        Ok(())
    }

    fn stored(&self) -> Stored {
        self.owners
            .iter()
            .map(|(owner, ids)| {
                let ids = ids
                    .iter()
                    .map(|(id, p)| (id.clone(), p.agent.clone()))
                    .collect();
                (owner.clone(), ids)
            })
            .collect()
    }
}

/// Test resources.
#[cfg(test)]
pub(super) mod testing {
    use stead_proto::v1::Resource;

    use crate::mesos::resources as res;

    /// One cpu reserved for `role` of service `svc` per resource id of `ids`.
    pub fn reserved_cpus(role: &str, ids: &[&str]) -> Vec<Resource> {
        ids.iter()
            .map(|id| {
                let mut r = res::scalar("cpus", 1.0);
                r.reservations.push(res::dynamic_reservation(
                    role,
                    "p",
                    res::reservation_labels(id, "fw", "svc"),
                ));
                r
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use stead_proto::v1::AgentId;
    use stead_state::MemPersister;

    fn offer(agent: &str, ids: &[&str]) -> Offer {
        Offer {
            agent_id: AgentId {
                value: agent.into(),
            },
            resources: testing::reserved_cpus("role", ids),
            ..Offer::default()
        }
    }

    #[test]
    fn an_id_is_released_once_an_offer_of_its_agent_no_longer_holds_it_after_its_release() {
        let now = Instant::now();
        let mut book = ReleaseBook::new("releases");
        book.add("data-1", "a1", vec!["r1".into(), "r2".into()], now);
        let none = BTreeSet::new();
        assert_eq!(book.done_in(&[offer("a1", &[])], now), none, "not sent yet");
        assert_eq!(book.done_in(&[offer("a1", &["r1", "r2"])], now), none);
        book.sent(&BTreeSet::from(["r1", "r2"]));
        assert_eq!(
            book.done_in(&[offer("a2", &[])], now),
            none,
            "another agent"
        );
        let done = book.done_in(&[offer("a1", &["r2"])], now);
        assert_eq!(done, BTreeSet::from(["r1".to_string()]));
        assert!(book.remove(&BTreeSet::from(["r1"])).is_empty());
        assert_eq!(book.left("data-1"), 1);
        let later = now + UNSEEN_GRACE;
        book.add("data-2", "a1", vec!["never-reserved".into()], now);
        assert_eq!(
            book.done_in(&[offer("a1", &["r2"])], later),
            BTreeSet::from(["never-reserved".to_string()]),
            "never offered within the grace"
        );
    }

    #[test]
    fn a_stored_book_counts_its_ids_as_sent() {
        let store = StateStore::new(Arc::new(MemPersister::new()));
        let now = Instant::now();
        let mut book = ReleaseBook::new("releases");
        book.add("data-1", "a1", vec!["r1".into()], now);
        book.store(&store).unwrap();
        let mut loaded = ReleaseBook::load(&store, "releases").unwrap();
        assert_eq!(loaded.owners().collect::<Vec<_>>(), [("data-1", 1)]);
        let done = loaded.done_in(&[offer("a1", &[])], now);
        assert_eq!(done, BTreeSet::from(["r1".to_string()]));
        assert_eq!(loaded.remove(&BTreeSet::from(["r1"])), ["data-1"]);
        loaded.store(&store).unwrap();
        assert!(store.fetch_property("releases").unwrap().is_none());
    }
}
