//! Resource arithmetic and the reservation labels that tie Mesos resources to a
//! service, a framework and one resource of one pod instance.

use stead_proto::v1::{
    self, Label, Labels, Resource, resource::ReservationInfo, resource::reservation_info, value,
};

/// Label key carrying the unique id of one reserved resource (or volume).
pub const RESOURCE_ID: &str = "resource_id";
/// Label key carrying the id of the framework that made the reservation.
pub const FRAMEWORK_ID: &str = "framework_id";
/// Label key carrying the name of the service that made the reservation.
pub const SERVICE_NAME: &str = "service_name";

/// Well-known resource names.
pub mod names {
    /// CPU shares.
    pub const CPUS: &str = "cpus";
    /// Memory in MiB.
    pub const MEM: &str = "mem";
    /// Disk in MiB.
    pub const DISK: &str = "disk";
    /// Port ranges.
    pub const PORTS: &str = "ports";
}

/// Builds a [`Labels`] message from key/value pairs.
pub fn labels<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Labels {
    Labels {
        labels: pairs
            .into_iter()
            .map(|(k, v)| Label {
                key: k.to_string(),
                value: Some(v.to_string()),
            })
            .collect(),
    }
}

/// The value of label `key`, if present.
pub fn label<'a>(labels: Option<&'a Labels>, key: &str) -> Option<&'a str> {
    labels?
        .labels
        .iter()
        .find(|l| l.key == key)
        .and_then(|l| l.value.as_deref())
}

/// A scalar resource without reservation.
pub fn scalar(name: &str, amount: f64) -> Resource {
    Resource {
        name: name.to_string(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar {
            value: round(amount),
        }),
        ..Resource::default()
    }
}

/// A ranges resource without reservation.
pub fn ranges(name: &str, ranges: &[(u64, u64)]) -> Resource {
    Resource {
        name: name.to_string(),
        r#type: value::Type::Ranges as i32,
        ranges: Some(value::Ranges {
            range: ranges
                .iter()
                .map(|&(begin, end)| value::Range { begin, end })
                .collect(),
        }),
        ..Resource::default()
    }
}

/// Rounds to the three decimal digits Mesos keeps.
pub fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// The scalar amount of a resource (0 if it is not a scalar).
pub fn scalar_of(r: &Resource) -> f64 {
    r.scalar.map_or(0.0, |s| s.value)
}

/// The inclusive ranges of a resource (empty if it has none).
pub fn ranges_of(r: &Resource) -> Vec<(u64, u64)> {
    r.ranges
        .as_ref()
        .map(|rs| rs.range.iter().map(|x| (x.begin, x.end)).collect())
        .unwrap_or_default()
}

/// A dynamic reservation for `role` by `principal` with `labels`.
pub fn dynamic_reservation(role: &str, principal: &str, labels: Labels) -> ReservationInfo {
    ReservationInfo {
        r#type: Some(reservation_info::Type::Dynamic as i32),
        role: Some(role.to_string()),
        principal: Some(principal.to_string()),
        labels: Some(labels),
    }
}

/// The labels identifying a reservation of this service: resource id, framework id, service name.
pub fn reservation_labels(resource_id: &str, framework_id: &str, service: &str) -> Labels {
    labels([
        (RESOURCE_ID, resource_id),
        (FRAMEWORK_ID, framework_id),
        (SERVICE_NAME, service),
    ])
}

/// The innermost (most refined) reservation of a resource, in either format.
pub fn reservation(r: &Resource) -> Option<&ReservationInfo> {
    r.reservations.last().or(r.reservation.as_ref())
}

/// Whether the resource is unreserved (post- and pre-refinement formats).
pub fn is_unreserved(r: &Resource) -> bool {
    r.reservations.is_empty()
        && r.reservation.is_none()
        && r.role.as_deref().is_none_or(|role| role == "*")
}

/// The role of the innermost reservation (pre-refinement: the `role` field).
pub fn reserved_role(r: &Resource) -> Option<&str> {
    match r.reservations.last() {
        Some(res) => res.role.as_deref(),
        None => r.role.as_deref().filter(|role| *role != "*"),
    }
}

/// The `resource_id` label of the innermost reservation, if any.
pub fn resource_id(r: &Resource) -> Option<&str> {
    label(reservation(r)?.labels.as_ref(), RESOURCE_ID)
}

/// The `service_name` label of the innermost reservation, if any.
pub fn service_of(r: &Resource) -> Option<&str> {
    label(reservation(r)?.labels.as_ref(), SERVICE_NAME)
}

/// The persistence id if the resource is a persistent volume.
pub fn persistence_id(r: &Resource) -> Option<&str> {
    r.disk.as_ref()?.persistence.as_ref().map(|p| p.id.as_str())
}

/// Whether the disk resource is a whole MOUNT disk.
pub fn is_mount_disk(r: &Resource) -> bool {
    r.disk
        .as_ref()
        .and_then(|d| d.source.as_ref())
        .is_some_and(|s| s.r#type == v1::resource::disk_info::source::Type::Mount as i32)
}

/// Whether the disk resource has a source other than the agent's root disk.
pub fn has_disk_source(r: &Resource) -> bool {
    r.disk.as_ref().is_some_and(|d| d.source.is_some())
}

/// Inclusive integer ranges, kept sorted and disjoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeSet(Vec<(u64, u64)>);

impl RangeSet {
    /// A set from possibly unsorted, overlapping ranges.
    pub fn new(mut ranges: Vec<(u64, u64)>) -> RangeSet {
        ranges.retain(|(b, e)| b <= e);
        ranges.sort_unstable();
        let mut out: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
        for (b, e) in ranges {
            match out.last_mut() {
                Some(last) if b <= last.1.saturating_add(1) => last.1 = last.1.max(e),
                _ => out.push((b, e)),
            }
        }
        RangeSet(out)
    }

    /// Adds more ranges.
    pub fn extend(&mut self, more: &[(u64, u64)]) {
        let mut all = std::mem::take(&mut self.0);
        all.extend_from_slice(more);
        *self = RangeSet::new(all);
    }

    /// Whether `v` is in the set.
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
    pub fn len(&self) -> u64 {
        self.0.iter().map(|&(b, e)| e - b + 1).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ranges.
    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.0
    }
}

/// Ranges covering exactly `values` (merged where adjacent).
pub fn ranges_from_values(values: &[u64]) -> Vec<(u64, u64)> {
    RangeSet::new(values.iter().map(|&v| (v, v)).collect()).0
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn reservation_helpers() {
        let mut r = scalar(names::CPUS, 1.23456);
        assert_eq!(scalar_of(&r), 1.235);
        assert!(is_unreserved(&r));
        r.reservations.push(dynamic_reservation(
            "svc-role",
            "svc-principal",
            reservation_labels("rid-1", "fw-1", "svc"),
        ));
        assert!(!is_unreserved(&r));
        assert_eq!(reserved_role(&r), Some("svc-role"));
        assert_eq!(resource_id(&r), Some("rid-1"));
        assert_eq!(service_of(&r), Some("svc"));
        assert_eq!(persistence_id(&r), None);
        let p = ranges(names::PORTS, &[(1, 2)]);
        assert_eq!(ranges_of(&p), vec![(1, 2)]);
    }
}
