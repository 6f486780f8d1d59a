//! Arithmetic on inclusive integer ranges, the value of a Mesos `RANGES` resource
//! (`ports: [31000-31005, 31010-31010]`): coalescing, containment, subtraction and
//! [`RangeSet`], a coalesced set values are taken from one by one.
//!
//! A range is a `(begin, end)` pair with both ends included, as in Mesos's
//! `Value.Range`; a pair with `begin > end` holds nothing.

/// Sorts `ranges` and merges the ones that overlap or touch, in place, dropping empty
/// pairs: the result is sorted, disjoint and has no two adjacent ranges.
pub fn coalesce(ranges: &mut Vec<(u64, u64)>) {
    ranges.retain(|(b, e)| b <= e);
    ranges.sort_unstable();
    let mut kept = 0;
    for i in 0..ranges.len() {
        let (b, e) = ranges[i];
        if kept > 0 && b <= ranges[kept - 1].1.saturating_add(1) {
            ranges[kept - 1].1 = ranges[kept - 1].1.max(e);
        } else {
            ranges[kept] = (b, e);
            kept += 1;
        }
    }
    ranges.truncate(kept);
}

/// Whether every range of `inner` lies within a single range of `outer` (both coalesced).
pub fn contains(outer: &[(u64, u64)], inner: &[(u64, u64)]) -> bool {
    inner
        .iter()
        .all(|(b, e)| outer.iter().any(|(ob, oe)| ob <= b && e <= oe))
}

/// The values of `from` that are in no range of `sub`, as ranges in `from`'s order.
pub fn subtract(from: &[(u64, u64)], sub: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = from.to_vec();
    for &(sb, se) in sub {
        let mut next = Vec::with_capacity(out.len() + 1);
        for (b, e) in out {
            if se < b || sb > e {
                next.push((b, e));
                continue;
            }
            if b < sb {
                next.push((b, sb - 1));
            }
            if se < e {
                next.push((se + 1, e));
            }
        }
        out = next;
    }
    out
}

/// Ranges covering exactly `values` (merged where adjacent).
pub fn ranges_from_values(values: &[u64]) -> Vec<(u64, u64)> {
    RangeSet::new(values.iter().map(|&v| (v, v)).collect()).0
}

/// Inclusive integer ranges, kept sorted and disjoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeSet(Vec<(u64, u64)>);

impl RangeSet {
    /// A set from possibly unsorted, overlapping ranges.
    pub fn new(mut ranges: Vec<(u64, u64)>) -> RangeSet {
        coalesce(&mut ranges);
        RangeSet(ranges)
    }

    /// Adds more ranges.
    pub fn extend(&mut self, more: &[(u64, u64)]) {
        self.0.extend_from_slice(more);
        coalesce(&mut self.0);
    }

    /// Whether `v` is in the set.
    #[inline]
    pub fn contains(&self, v: u64) -> bool {
        self.0.iter().any(|&(b, e)| b <= v && v <= e)
    }

    /// Removes `v` and returns whether it was there.
    pub fn take(&mut self, v: u64) -> bool {
        let Some(i) = self.0.iter().position(|&(b, e)| b <= v && v <= e) else {
            return false;
        };
        let (b, e) = self.0[i];
        match (b == v, e == v) {
            (true, true) => {
                self.0.remove(i);
            }
            (true, false) => self.0[i].0 = v + 1,
            (false, true) => self.0[i].1 = v - 1,
            (false, false) => {
                self.0[i].1 = v - 1;
                self.0.insert(i + 1, (v + 1, e));
            }
        }
        true
    }

    /// Removes and returns the lowest value not in `avoid`.
    pub fn take_any(&mut self, avoid: &[u64]) -> Option<u64> {
        let v = self
            .0
            .iter()
            .flat_map(|&(b, e)| (b..=e).take(avoid.len() + 1))
            .find(|v| !avoid.contains(v))?;
        self.take(v);
        Some(v)
    }

    /// The number of values in the set.
    #[inline]
    pub fn len(&self) -> u64 {
        self.0.iter().map(|&(b, e)| e - b + 1).sum()
    }

    /// Whether the set is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ranges.
    #[inline]
    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coalesced(mut v: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
        coalesce(&mut v);
        v
    }

    #[test]
    fn coalescing_sorts_merges_overlapping_and_adjacent_and_drops_empty() {
        assert_eq!(coalesced(vec![]), vec![]);
        assert_eq!(
            coalesced(vec![(10, 12), (1, 3), (4, 5), (20, 20), (11, 15), (9, 8)]),
            vec![(1, 5), (10, 15), (20, 20)]
        );
        // A range inside another one disappears into it.
        assert_eq!(coalesced(vec![(1, 10), (3, 4), (2, 2)]), vec![(1, 10)]);
        // Ranges with a gap of one value stay apart.
        assert_eq!(coalesced(vec![(5, 6), (1, 3)]), vec![(1, 3), (5, 6)]);
        // The top of the value space does not overflow.
        assert_eq!(
            coalesced(vec![(u64::MAX, u64::MAX), (0, u64::MAX - 1)]),
            vec![(0, u64::MAX)]
        );
    }

    #[test]
    fn subtraction_splits_trims_and_removes() {
        let from = [(31000, 31010), (31020, 31030)];
        assert_eq!(
            subtract(&from, &[(31003, 31004)]),
            vec![(31000, 31002), (31005, 31010), (31020, 31030)]
        );
        assert_eq!(
            subtract(&from, &[(30000, 31000), (31030, 40000)]),
            vec![(31001, 31010), (31020, 31029)]
        );
        assert_eq!(
            subtract(&from, &[(31005, 31025)]),
            vec![(31000, 31004), (31026, 31030)]
        );
        assert_eq!(subtract(&from, &[(0, u64::MAX)]), vec![]);
        assert_eq!(subtract(&from, &[]), from.to_vec());
        assert_eq!(subtract(&[], &[(1, 2)]), vec![]);
        // Subtracting what is not there changes nothing.
        assert_eq!(subtract(&from, &[(31011, 31019)]), from.to_vec());
    }

    #[test]
    fn containment_needs_each_range_inside_one() {
        let outer = [(1, 5), (10, 12)];
        assert!(contains(&outer, &[(1, 5), (11, 12)]));
        assert!(contains(&outer, &[]));
        assert!(!contains(&outer, &[(4, 6)]));
        assert!(!contains(&outer, &[(5, 10)]));
        assert!(!contains(&[], &[(1, 1)]));
    }

    #[test]
    fn range_set_arithmetic() {
        let mut s = RangeSet::new(vec![(10, 12), (1, 3), (4, 5), (20, 20)]);
        assert_eq!(s.ranges(), &[(1, 5), (10, 12), (20, 20)]);
        assert_eq!(s.len(), 9);
        assert!(s.take(11));
        assert_eq!(s.ranges(), &[(1, 5), (10, 10), (12, 12), (20, 20)]);
        assert!(!s.take(11));
        assert_eq!(s.take_any(&[1, 2]), Some(3));
        assert!(s.take(20));
        assert_eq!(s.ranges(), &[(1, 2), (4, 5), (10, 10), (12, 12)]);
        assert_eq!(ranges_from_values(&[5, 3, 4, 9]), vec![(3, 5), (9, 9)]);
    }

    #[test]
    fn range_set_extends_contains_and_empties() {
        let mut s = RangeSet::default();
        assert!(s.is_empty());
        assert_eq!(s.take_any(&[]), None);
        s.extend(&[(5, 6), (1, 3)]);
        s.extend(&[(4, 4)]);
        assert_eq!(s.ranges(), &[(1, 6)]);
        assert!(s.contains(1) && s.contains(6) && !s.contains(7));
        assert_eq!(s.take_any(&[1, 2, 3, 4, 5]), Some(6));
        for v in 1..=5 {
            assert!(s.take(v));
        }
        assert!(s.is_empty());
        assert_eq!(s.len(), 0);
    }
}
