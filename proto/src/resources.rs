//! Mesos resources as the scheduler and the embedded cluster both read and build them:
//! scalar amounts with Mesos's fixed-point precision and the tolerance they are compared
//! with, builders and accessors, reservations and roles, persistent volumes and disks.
//!
//! Every helper reads both resource formats: the post-refinement `reservations` stack and
//! the deprecated pre-refinement `role` + `reservation` pair. Range values are handled by
//! [`crate::ranges`].

use crate::ranges::coalesce;
use crate::v1::resource::{ReservationInfo, disk_info, reservation_info};
use crate::v1::{Label, Labels, Resource, value};

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

/// The slack allowed when comparing two scalar amounts.
///
/// Mesos keeps scalars as fixed-point numbers with three decimal digits (see [`round`]),
/// but sums of `f64` amounts drift below the last digit (`0.1 + 0.2 > 0.3`). Any drift
/// is far below the 0.001 precision, so an amount within this tolerance of another one
/// counts as equal to it.
pub const SCALAR_TOLERANCE: f64 = 1e-9;

/// Rounds an amount to the three decimal digits Mesos keeps (its fixed-point scalars).
#[inline]
pub fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Whether `need` fits in `available`, within [`SCALAR_TOLERANCE`].
#[inline]
pub fn fits(need: f64, available: f64) -> bool {
    need <= available + SCALAR_TOLERANCE
}

/// A scalar resource without reservation; the amount is [`round`]ed.
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

/// A ranges resource without reservation; the ranges are [`coalesce`]d.
pub fn ranges(name: &str, ranges: &[(u64, u64)]) -> Resource {
    let mut ranges = ranges.to_vec();
    coalesce(&mut ranges);
    Resource {
        name: name.to_string(),
        r#type: value::Type::Ranges as i32,
        ranges: Some(ranges_value(ranges)),
        ..Resource::default()
    }
}

/// The `Value.Ranges` message of inclusive `(begin, end)` pairs, in their order.
pub fn ranges_value(ranges: Vec<(u64, u64)>) -> value::Ranges {
    value::Ranges {
        // Same layout: the collect reuses the vector's allocation.
        range: ranges
            .into_iter()
            .map(|(begin, end)| value::Range { begin, end })
            .collect(),
    }
}

/// The scalar amount of a resource (0 if it is not a scalar).
#[inline]
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
#[inline]
pub fn label<'a>(labels: Option<&'a Labels>, key: &str) -> Option<&'a str> {
    labels?
        .labels
        .iter()
        .find(|l| l.key == key)
        .and_then(|l| l.value.as_deref())
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

/// The innermost (most refined) reservation of a resource, in either format.
#[inline]
pub fn reservation(r: &Resource) -> Option<&ReservationInfo> {
    r.reservations.last().or(r.reservation.as_ref())
}

/// Whether the resource is unreserved (post- and pre-refinement formats).
#[inline]
pub fn is_unreserved(r: &Resource) -> bool {
    r.reservations.is_empty()
        && r.reservation.is_none()
        && r.role.as_deref().is_none_or(|role| role == "*")
}

/// The role of the innermost reservation (pre-refinement: the `role` field unless `*`).
#[inline]
pub fn reserved_role(r: &Resource) -> Option<&str> {
    match r.reservations.last() {
        Some(res) => res.role.as_deref(),
        None => r.role.as_deref().filter(|role| *role != "*"),
    }
}

/// Whether `role` may use resources reserved to `reserved`: the same role or one of its
/// descendants in the role hierarchy (`a/b` may use what is reserved to `a`).
#[inline]
pub fn role_may_use(role: &str, reserved: &str) -> bool {
    role == reserved
        || role
            .strip_prefix(reserved)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Whether the resource may be offered to a framework acting as `role`: it is unreserved
/// or reserved to `role` or one of its ancestors.
#[inline]
pub fn allocatable_to(r: &Resource, role: &str) -> bool {
    reserved_role(r).is_none_or(|reserved| role_may_use(role, reserved))
}

/// The persistence id if the resource is a persistent volume.
#[inline]
pub fn persistence_id(r: &Resource) -> Option<&str> {
    r.disk.as_ref()?.persistence.as_ref().map(|p| p.id.as_str())
}

/// Whether the resource is a persistent volume.
#[inline]
pub fn is_persistent_volume(r: &Resource) -> bool {
    r.disk.as_ref().is_some_and(|d| d.persistence.is_some())
}

/// Whether the disk resource is a whole MOUNT disk.
#[inline]
pub fn is_mount_disk(r: &Resource) -> bool {
    r.disk
        .as_ref()
        .and_then(|d| d.source.as_ref())
        .is_some_and(|s| s.r#type == disk_info::source::Type::Mount as i32)
}

/// Whether the disk resource has a source other than the agent's root disk.
#[inline]
pub fn has_disk_source(r: &Resource) -> bool {
    r.disk.as_ref().is_some_and(|d| d.source.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::resource::{DiskInfo, disk_info::Persistence, disk_info::Source};

    fn reserved_to(role: &str) -> Resource {
        let mut r = scalar(names::CPUS, 1.0);
        r.reservations.push(dynamic_reservation(
            role,
            "principal",
            labels([("resource_id", "rid-1")]),
        ));
        r
    }

    #[test]
    fn amounts_round_to_mesos_fixed_point() {
        assert_eq!(round(1.23456), 1.235);
        assert_eq!(round(1.2344), 1.234);
        assert_eq!(round(0.0004), 0.0);
        assert_eq!(round(0.1 + 0.2), 0.3);
        assert_eq!(round(-0.0016), -0.002);
        assert_eq!(round(4096.0), 4096.0);
        assert_eq!(scalar_of(&scalar(names::MEM, 511.9996)), 512.0);
    }

    #[test]
    fn fits_within_the_tolerance_only() {
        assert!(fits(0.3, 0.1 + 0.2));
        assert!(fits(0.1 + 0.2, 0.3));
        assert!(fits(1.0, 1.0));
        assert!(fits(0.0, 0.0));
        assert!(!fits(1.001, 1.0));
        assert!(!fits(1.0 + 10.0 * SCALAR_TOLERANCE, 1.0));
        assert!(fits(1.0 + SCALAR_TOLERANCE / 2.0, 1.0));
    }

    #[test]
    fn builders_and_accessors() {
        let cpus = scalar(names::CPUS, 1.5);
        assert_eq!(cpus.r#type(), value::Type::Scalar);
        assert_eq!(scalar_of(&cpus), 1.5);
        assert!(ranges_of(&cpus).is_empty());
        let ports = ranges(
            names::PORTS,
            &[(31005, 31010), (31000, 31004), (31020, 31020)],
        );
        assert_eq!(ports.r#type(), value::Type::Ranges);
        assert_eq!(ranges_of(&ports), vec![(31000, 31010), (31020, 31020)]);
        assert_eq!(scalar_of(&ports), 0.0);
        let l = labels([("a", "1"), ("b", "2")]);
        assert_eq!(label(Some(&l), "b"), Some("2"));
        assert_eq!(label(Some(&l), "c"), None);
        assert_eq!(label(None, "a"), None);
    }

    #[test]
    fn reservation_helpers() {
        let mut r = scalar(names::CPUS, 1.23456);
        assert_eq!(scalar_of(&r), 1.235);
        assert!(is_unreserved(&r));
        assert_eq!(reserved_role(&r), None);
        r.reservations.push(dynamic_reservation(
            "svc-role",
            "svc-principal",
            labels([("k", "v")]),
        ));
        assert!(!is_unreserved(&r));
        assert_eq!(reserved_role(&r), Some("svc-role"));
        assert_eq!(
            label(reservation(&r).and_then(|ri| ri.labels.as_ref()), "k"),
            Some("v")
        );
        assert_eq!(persistence_id(&r), None);
        assert!(!is_persistent_volume(&r));
    }

    #[test]
    fn pre_refinement_reservations_are_read_too() {
        let mut r = scalar(names::CPUS, 1.0);
        r.role = Some("*".into());
        assert!(is_unreserved(&r));
        assert_eq!(reserved_role(&r), None);
        r.role = Some("old".into());
        r.reservation = Some(dynamic_reservation("", "p", labels([("k", "v")])));
        assert!(!is_unreserved(&r));
        assert_eq!(reserved_role(&r), Some("old"));
        assert_eq!(
            reservation(&r).and_then(|ri| ri.principal.as_deref()),
            Some("p")
        );
    }

    #[test]
    fn roles_use_their_own_and_their_ancestors_reservations() {
        assert!(role_may_use("r", "r"));
        assert!(role_may_use("r/child", "r"));
        assert!(role_may_use("r/child/grand", "r"));
        assert!(!role_may_use("rx", "r"));
        assert!(!role_may_use("r", "r/child"));
        let a = reserved_to("r");
        assert!(allocatable_to(&a, "r"));
        assert!(allocatable_to(&a, "r/child"));
        assert!(!allocatable_to(&a, "rx"));
        assert!(allocatable_to(&scalar(names::MEM, 1.0), "other"));
    }

    #[test]
    fn volumes_and_disk_sources() {
        let mut disk = reserved_to("r");
        disk.name = names::DISK.into();
        assert!(!has_disk_source(&disk) && !is_mount_disk(&disk));
        disk.disk = Some(Box::new(DiskInfo {
            persistence: Some(Persistence {
                id: "vol-1".into(),
                principal: None,
            }),
            volume: None,
            source: None,
        }));
        assert_eq!(persistence_id(&disk), Some("vol-1"));
        assert!(is_persistent_volume(&disk));
        assert!(!has_disk_source(&disk));
        if let Some(d) = disk.disk.as_mut() {
            d.source = Some(Source {
                r#type: disk_info::source::Type::Mount as i32,
                ..Source::default()
            });
        }
        assert!(has_disk_source(&disk) && is_mount_disk(&disk));
    }
}
