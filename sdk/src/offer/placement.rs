//! Placement rules evaluated against an offer's location and the locations of the
//! other instances of the same task type.

use std::collections::{BTreeSet, HashMap};

use stead_spec::PlacementRule;

use super::view::Location;

/// Memoizes regular-expression matches (rules are compiled by the spec crate on each
/// call; hostnames and attribute values repeat a lot).
#[derive(Debug, Default)]
pub struct MatchCache(HashMap<(String, String), bool>);

impl MatchCache {
    /// Whether `value` matches the anchored `pattern`.
    pub fn matches(&mut self, pattern: &str, value: &str) -> bool {
        if let Some(&hit) = self.0.get(&(pattern.to_string(), value.to_string())) {
            return hit;
        }
        let hit = PlacementRule::pattern_matches(pattern, value);
        self.0.insert((pattern.to_string(), value.to_string()), hit);
        hit
    }
}

/// The locations of the instances of one task type, with per-field counts so that
/// rules are checked in constant time per offer.
#[derive(Debug, Clone, Default)]
pub struct Peers {
    by_instance: HashMap<String, Location>,
    counts: HashMap<String, HashMap<String, usize>>,
}

impl Peers {
    /// Peers counting the fields used by `rules`.
    pub fn new(rules: &[PlacementRule]) -> Peers {
        Peers {
            by_instance: HashMap::new(),
            counts: rules
                .iter()
                .map(|r| (r.field().to_string(), HashMap::new()))
                .collect(),
        }
    }

    /// Records (or moves) `instance` to `location`.
    pub fn insert(&mut self, instance: &str, location: Location) {
        self.remove(instance);
        for (field, counts) in &mut self.counts {
            if let Some(v) = location.field(field) {
                *counts.entry(v.to_string()).or_default() += 1;
            }
        }
        self.by_instance.insert(instance.to_string(), location);
    }

    /// Whether `instance` has a recorded location.
    pub fn contains(&self, instance: &str) -> bool {
        self.by_instance.contains_key(instance)
    }

    /// Forgets `instance`.
    pub fn remove(&mut self, instance: &str) {
        if let Some(old) = self.by_instance.remove(instance) {
            for (field, counts) in &mut self.counts {
                if let Some(v) = old.field(field)
                    && let Some(c) = counts.get_mut(v)
                {
                    *c = c.saturating_sub(1);
                }
            }
        }
    }

    /// How many instances other than `exclude` have `field` = `value`.
    pub fn count(&self, field: &str, value: &str, exclude: &str) -> usize {
        let total = self
            .counts
            .get(field)
            .and_then(|c| c.get(value))
            .copied()
            .unwrap_or(0);
        let own = self
            .by_instance
            .get(exclude)
            .is_some_and(|l| l.field(field) == Some(value));
        total - usize::from(own)
    }

    /// The values of `field` that instances have (the groups of GROUP_BY).
    pub fn values(&self, field: &str) -> impl Iterator<Item = &str> {
        self.counts
            .get(field)
            .into_iter()
            .flat_map(|c| c.iter().filter(|(_, n)| **n > 0).map(|(v, _)| v.as_str()))
    }
}

/// Checks every rule for placing `instance` at `candidate`; returns the first rule violated.
///
/// `known_groups` gives the values of a GROUP_BY field seen in the current offers.
pub fn violated<'r>(
    rules: &'r [PlacementRule],
    instance: &str,
    candidate: &Location,
    peers: &Peers,
    known_groups: &dyn Fn(&str) -> BTreeSet<String>,
    cache: &mut MatchCache,
) -> Option<&'r PlacementRule> {
    rules
        .iter()
        .find(|rule| !holds(rule, instance, candidate, peers, known_groups, cache))
}

fn holds(
    rule: &PlacementRule,
    instance: &str,
    candidate: &Location,
    peers: &Peers,
    known_groups: &dyn Fn(&str) -> BTreeSet<String>,
    cache: &mut MatchCache,
) -> bool {
    let value = candidate.field(rule.field());
    match rule {
        PlacementRule::Unique { field } => {
            value.is_some_and(|v| peers.count(field, v, instance) == 0)
        }
        PlacementRule::MaxPer { field, max } => {
            value.is_some_and(|v| peers.count(field, v, instance) < *max as usize)
        }
        PlacementRule::Like { pattern, .. } => value.is_some_and(|v| cache.matches(pattern, v)),
        PlacementRule::Unlike { pattern, .. } => value.is_none_or(|v| !cache.matches(pattern, v)),
        PlacementRule::Is { value: want, .. } => value == Some(want.as_str()),
        PlacementRule::GroupBy { field, groups } => {
            let Some(v) = value else { return false };
            let mut known = known_groups(field);
            known.extend(peers.values(field).map(String::from));
            known.insert(v.to_string());
            let min = if groups.is_some_and(|n| known.len() < n as usize) {
                0
            } else {
                known
                    .iter()
                    .map(|g| peers.count(field, g, instance))
                    .min()
                    .unwrap_or(0)
            };
            peers.count(field, v, instance) <= min
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(host: &str, zone: &str) -> Location {
        Location {
            hostname: host.into(),
            attributes: [("zone".to_string(), zone.to_string())].into(),
        }
    }

    fn check(rule: &str, candidate: &Location, peers: &[Location]) -> bool {
        let rules = vec![PlacementRule::parse(rule).unwrap()];
        let mut index = Peers::new(&rules);
        for (i, p) in peers.iter().enumerate() {
            index.insert(&format!("peer-{i}"), p.clone());
        }
        let zones =
            |_: &str| -> BTreeSet<String> { ["a", "b"].iter().map(|s| s.to_string()).collect() };
        let cache = &mut MatchCache::default();
        violated(&rules, "me", candidate, &index, &zones, cache).is_none()
    }

    #[test]
    fn hostname_rules() {
        let peers = [loc("h1", "a"), loc("h2", "a")];
        assert!(!check("hostname:UNIQUE", &loc("h1", "a"), &peers));
        assert!(check("hostname:UNIQUE", &loc("h3", "a"), &peers));
        assert!(check("hostname:MAX_PER:2", &loc("h1", "a"), &peers));
        let more = [loc("h1", "a"), loc("h1", "b")];
        assert!(!check("hostname:MAX_PER:2", &loc("h1", "a"), &more));
    }

    #[test]
    fn attribute_rules() {
        assert!(check("zone:LIKE:a|c", &loc("h", "a"), &[]));
        assert!(!check("zone:LIKE:a|c", &loc("h", "b"), &[]));
        assert!(check("zone:UNLIKE:a", &loc("h", "b"), &[]));
        assert!(!check("zone:UNLIKE:a", &loc("h", "a"), &[]));
        assert!(
            check("rack:UNLIKE:a", &loc("h", "a"), &[]),
            "absent attribute is unlike"
        );
        assert!(check("zone:IS:b", &loc("h", "b"), &[]));
        assert!(!check("zone:IS:b", &loc("h", "a"), &[]));
        assert!(!check("rack:IS:b", &loc("h", "a"), &[]));
        assert!(check("hostname:LIKE:h[0-9]", &loc("h7", "a"), &[]));
    }

    #[test]
    fn group_by_spreads_evenly() {
        let one_in_a = [loc("h1", "a")];
        assert!(!check("zone:GROUP_BY", &loc("h2", "a"), &one_in_a));
        assert!(check("zone:GROUP_BY", &loc("h2", "b"), &one_in_a));
        let balanced = [loc("h1", "a"), loc("h2", "b")];
        assert!(check("zone:GROUP_BY", &loc("h3", "a"), &balanced));
        // With 3 declared groups and only 2 known, the unseen group has 0 instances.
        assert!(!check("zone:GROUP_BY:3", &loc("h3", "a"), &balanced));
    }

    #[test]
    fn an_instance_is_not_its_own_peer() {
        let rules = vec![PlacementRule::parse("hostname:UNIQUE").unwrap()];
        let mut peers = Peers::new(&rules);
        peers.insert("data-0", loc("h1", "a"));
        let none = |_: &str| BTreeSet::new();
        let cache = &mut MatchCache::default();
        assert!(violated(&rules, "data-0", &loc("h1", "a"), &peers, &none, cache).is_none());
        assert!(violated(&rules, "data-1", &loc("h1", "a"), &peers, &none, cache).is_some());
        peers.insert("data-0", loc("h2", "a"));
        assert!(violated(&rules, "data-1", &loc("h1", "a"), &peers, &none, cache).is_none());
        assert_eq!(peers.count("hostname", "h2", "x"), 1);
    }
}
