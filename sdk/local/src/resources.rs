//! The master's resource bookkeeping: [`Resources`], a multiset with Mesos's semantics
//! (scalars, ranges and sets; reservations identified by their whole `reservations` stack,
//! labels included; persistent volumes identified by their disk info, never split nor
//! merged), the checks and conversions of resources a framework sends or is offered, and
//! the changes RESERVE, UNRESERVE, CREATE and DESTROY make to a resource. The arithmetic
//! underneath (rounding, tolerance, ranges, roles) is [`stead_proto::resources`]' and
//! [`stead_proto::ranges`]'.
//!
//! Internally every resource is kept in the "post-refinement" format: the `reservations`
//! stack only, no deprecated `role`/`reservation`, no `allocation_info`. [`normalize`] brings
//! a framework's resources to that form and [`for_framework`] converts back to what the
//! framework understands.

use std::collections::HashMap;

use prost::Message as _;
use stead_proto::ranges::{self, coalesce};
// The shared helpers the master's modules reach through this one, the builders under the
// names the cluster has always used.
pub use stead_proto::resources::{
    allocatable_to, is_persistent_volume, ranges as ranges_resource, reserved_role, role_may_use,
    scalar as scalar_resource,
};
use stead_proto::resources::{
    fits, names, persistence_id, ranges_of, ranges_value, round, scalar_of,
};
use stead_proto::v1::resource::{AllocationInfo, ReservationInfo, reservation_info};
use stead_proto::v1::value;
use stead_proto::v1::{Resource, Value};

const SCALAR: i32 = value::Type::Scalar as i32;
const RANGES: i32 = value::Type::Ranges as i32;
const SET: i32 = value::Type::Set as i32;

/// A multiset of resources.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources(Vec<Resource>);

/// Whether two resources are of the same kind (everything equal but the value).
fn same_kind(a: &Resource, b: &Resource) -> bool {
    a.name == b.name
        && a.r#type == b.r#type
        && a.reservations == b.reservations
        && a.disk == b.disk
        && a.shared == b.shared
        && a.revocable == b.revocable
        && a.provider_id == b.provider_id
}

/// Sets the ranges of a resource, [`coalesce`]d.
fn set_ranges(r: &mut Resource, mut v: Vec<(u64, u64)>) {
    coalesce(&mut v);
    r.ranges = Some(ranges_value(v));
}

fn set_items(r: &Resource) -> Vec<String> {
    r.set.as_ref().map(|s| s.item.clone()).unwrap_or_default()
}

/// Whether the resource holds nothing.
pub fn is_empty(r: &Resource) -> bool {
    match r.r#type {
        SCALAR => round(scalar_of(r)) <= 0.0,
        RANGES => ranges_of(r).is_empty(),
        SET => set_items(r).is_empty(),
        _ => true,
    }
}

/// Checks a resource's value the way Mesos validates resources; returns the problem.
pub fn validate(r: &Resource) -> Result<(), String> {
    if r.name.is_empty() {
        return Err("Empty resource name".into());
    }
    match r.r#type {
        SCALAR => {
            let v = r
                .scalar
                .as_ref()
                .ok_or_else(|| format!("Resource '{}' has no scalar value", r.name))?
                .value;
            if !v.is_finite() || v < 0.0 {
                return Err(format!("Invalid scalar resource '{}': {v}", r.name));
            }
        }
        RANGES => {
            let rs = r
                .ranges
                .as_ref()
                .ok_or_else(|| format!("Resource '{}' has no ranges", r.name))?;
            if rs.range.iter().any(|x| x.begin > x.end) {
                return Err(format!("Invalid ranges resource '{}'", r.name));
            }
        }
        SET => {
            if r.set.is_none() {
                return Err(format!("Resource '{}' has no set", r.name));
            }
        }
        _ => return Err(format!("Unsupported type of resource '{}'", r.name)),
    }
    for ri in &r.reservations {
        if ri.role.as_deref().is_none_or(str::is_empty) {
            return Err(format!(
                "Resource '{}' has a reservation without a role",
                r.name
            ));
        }
    }
    if let Some(disk) = &r.disk {
        if r.name != names::DISK {
            return Err(format!(
                "Resource '{}' has disk info but is not disk",
                r.name
            ));
        }
        if let Some(p) = &disk.persistence
            && p.id.is_empty()
        {
            return Err("Persistent volume has an empty persistence id".into());
        }
    }
    Ok(())
}

/// Brings a resource to the internal form: the deprecated `role` + `reservation` pair becomes a
/// one-entry `reservations` stack; `allocation_info` is dropped.
pub fn normalize(mut r: Resource) -> Resource {
    r.allocation_info = None;
    if r.reservations.is_empty() {
        let role = r.role.take().unwrap_or_else(|| "*".to_string());
        if role != "*" {
            let old = r.reservation.take();
            let ty = if old.is_some() {
                reservation_info::Type::Dynamic
            } else {
                reservation_info::Type::Static
            };
            let old = old.unwrap_or_default();
            r.reservations.push(ReservationInfo {
                r#type: Some(ty as i32),
                role: Some(role),
                principal: old.principal,
                labels: old.labels,
            });
        }
    } else {
        for ri in &mut r.reservations {
            if ri.r#type.is_none() {
                ri.r#type = Some(reservation_info::Type::Dynamic as i32);
            }
        }
    }
    r.role = None;
    r.reservation = None;
    r
}

/// How a framework wants to see resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format<'a> {
    /// The framework has the RESERVATION_REFINEMENT capability (sees the `reservations` stack).
    pub refinement: bool,
    /// The role to put in `allocation_info` (MULTI_ROLE frameworks).
    pub allocation_role: Option<&'a str>,
}

/// Converts an internal resource to the framework's format.
pub fn for_framework(mut r: Resource, format: Format<'_>) -> Resource {
    if let Some(role) = format.allocation_role {
        r.allocation_info = Some(AllocationInfo {
            role: Some(role.to_string()),
        });
    }
    if !format.refinement {
        match r.reservations.len() {
            0 => r.role = Some("*".to_string()),
            _ => {
                // Pre-refinement frameworks see the top of the stack only.
                let top = r.reservations.pop().unwrap_or_default();
                r.role = top.role.clone();
                if top.r#type == Some(reservation_info::Type::Dynamic as i32) {
                    r.reservation = Some(ReservationInfo {
                        r#type: None,
                        role: None,
                        principal: top.principal,
                        labels: top.labels,
                    });
                }
                r.reservations.clear();
            }
        }
    }
    r
}

/// The resource without its top reservation (what a RESERVE consumed / an UNRESERVE returns).
pub fn pop_reservation(r: &Resource) -> Resource {
    let mut out = r.clone();
    out.reservations.pop();
    out
}

/// The disk resource a persistent volume was made of (persistence and volume removed).
pub fn strip_volume(r: &Resource) -> Resource {
    let mut out = r.clone();
    if let Some(disk) = out.disk.as_mut() {
        disk.persistence = None;
        disk.volume = None;
        if disk.source.is_none() {
            out.disk = None;
        }
    }
    out
}

impl Resources {
    /// No resources.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// The resources as a list.
    pub fn as_slice(&self) -> &[Resource] {
        &self.0
    }

    /// Consumes into a list.
    pub fn into_vec(self) -> Vec<Resource> {
        self.0
    }

    /// Whether there is nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds one resource, merging it with one of the same kind (persistent volumes stay apart).
    pub fn add(&mut self, r: &Resource) {
        if is_empty(r) {
            return;
        }
        if !is_persistent_volume(r)
            && let Some(existing) = self.0.iter_mut().find(|e| same_kind(e, r))
        {
            match r.r#type {
                SCALAR => {
                    existing.scalar = Some(value::Scalar {
                        value: round(scalar_of(existing) + scalar_of(r)),
                    })
                }
                RANGES => {
                    let mut all = ranges_of(existing);
                    all.extend(ranges_of(r));
                    set_ranges(existing, all);
                }
                _ => {
                    let mut items = set_items(existing);
                    for i in set_items(r) {
                        if !items.contains(&i) {
                            items.push(i);
                        }
                    }
                    existing.set = Some(value::Set { item: items });
                }
            }
            return;
        }
        let mut r = r.clone();
        if r.r#type == SCALAR {
            r.scalar = Some(value::Scalar {
                value: round(scalar_of(&r)),
            });
        } else if r.r#type == RANGES {
            let v = ranges_of(&r);
            set_ranges(&mut r, v);
        }
        self.0.push(r);
    }

    /// Adds all of `other`.
    pub fn add_all(&mut self, other: &Resources) {
        for r in &other.0 {
            self.add(r);
        }
    }

    /// Whether one resource is contained.
    pub fn contains_one(&self, r: &Resource) -> bool {
        if is_empty(r) {
            return true;
        }
        self.0.iter().any(|e| {
            if !same_kind(e, r) {
                return false;
            }
            if is_persistent_volume(r) {
                return e == r;
            }
            match r.r#type {
                SCALAR => fits(round(scalar_of(r)), round(scalar_of(e))),
                RANGES => ranges::contains(&ranges_of(e), &ranges_of(r)),
                _ => {
                    let items = set_items(e);
                    set_items(r).iter().all(|i| items.contains(i))
                }
            }
        })
    }

    /// Whether every resource of `other` is contained (with multiplicity).
    pub fn contains(&self, other: &Resources) -> bool {
        let mut left = self.clone();
        for r in &other.0 {
            if !left.contains_one(r) {
                return false;
            }
            left.subtract(r);
        }
        true
    }

    /// Takes each pair's first resource out and puts its second (if any) in, in order, all
    /// or nothing: when one is not held, the pairs exchanged so far are undone and the
    /// error says what was held then. Unlike [`contains`](Self::contains) followed by a
    /// subtraction, nothing is copied: an agent's offer holds hundreds of reservations.
    pub fn exchange<'a>(
        &mut self,
        pairs: impl IntoIterator<Item = (&'a Resource, Option<&'a Resource>)>,
    ) -> Result<(), String> {
        let mut done: Vec<(&Resource, Option<&Resource>)> = Vec::new();
        for (out, put) in pairs {
            if !self.contains_one(out) {
                let error = format!(
                    "{} does not contain {}",
                    describe(self),
                    describe(&Resources(vec![out.clone()]))
                );
                for (out, put) in done.into_iter().rev() {
                    if let Some(put) = put {
                        self.subtract(put);
                    }
                    self.add(out);
                }
                return Err(error);
            }
            self.subtract(out);
            if let Some(put) = put {
                self.add(put);
            }
            done.push((out, put));
        }
        Ok(())
    }

    /// Removes one resource (as much of it as is there).
    pub fn subtract(&mut self, r: &Resource) {
        if is_empty(r) {
            return;
        }
        let Some(pos) = self
            .0
            .iter()
            .position(|e| same_kind(e, r) && (!is_persistent_volume(r) || e == r))
        else {
            return;
        };
        let e = &mut self.0[pos];
        match r.r#type {
            SCALAR if !is_persistent_volume(r) => {
                e.scalar = Some(value::Scalar {
                    value: round(scalar_of(e) - scalar_of(r)).max(0.0),
                })
            }
            RANGES => {
                let v = ranges::subtract(&ranges_of(e), &ranges_of(r));
                e.ranges = Some(ranges_value(v));
            }
            SET => {
                let remove = set_items(r);
                let items = set_items(e)
                    .into_iter()
                    .filter(|i| !remove.contains(i))
                    .collect();
                e.set = Some(value::Set { item: items });
            }
            _ => {
                self.0.remove(pos);
                return;
            }
        }
        if is_empty(&self.0[pos]) {
            self.0.remove(pos);
        }
    }

    /// Removes all of `other`.
    ///
    /// Resources equal to one held (a task's reservations against an agent's, typically)
    /// are paired off through an index of their encodings, so that subtracting many
    /// reservations stays linear; the rest are subtracted one by one.
    pub fn subtract_all(&mut self, other: &Resources) {
        const INDEXED_FROM: usize = 8;
        if other.0.len() < INDEXED_FROM || self.0.len() < INDEXED_FROM {
            for r in &other.0 {
                self.subtract(r);
            }
            return;
        }
        let mut index: HashMap<Vec<u8>, Vec<usize>> = HashMap::with_capacity(self.0.len());
        for (i, e) in self.0.iter().enumerate() {
            index.entry(e.encode_to_vec()).or_default().push(i);
        }
        let mut removed = vec![false; self.0.len()];
        let mut rest = Vec::new();
        for r in &other.0 {
            if is_empty(r) {
                continue;
            }
            // Equal encodings mean equal resources: subtracting one empties its twin.
            match index.get_mut(&r.encode_to_vec()).and_then(Vec::pop) {
                Some(i) => removed[i] = true,
                None => rest.push(r),
            }
        }
        let mut i = 0;
        self.0.retain(|_| {
            let keep = !removed[i];
            i += 1;
            keep
        });
        for r in rest {
            self.subtract(r);
        }
    }

    /// The resources matching a predicate.
    pub fn filter(&self, mut keep: impl FnMut(&Resource) -> bool) -> Resources {
        Resources(self.0.iter().filter(|r| keep(r)).cloned().collect())
    }

    /// The sum of the scalar resources named `name`.
    pub fn scalar_sum(&self, name: &str) -> f64 {
        round(
            self.0
                .iter()
                .filter(|r| r.name == name && r.r#type == SCALAR)
                .map(scalar_of)
                .sum(),
        )
    }

    /// The union of the ranges resources named `name`.
    pub fn ranges_union(&self, name: &str) -> Vec<(u64, u64)> {
        let mut union: Vec<(u64, u64)> = self
            .0
            .iter()
            .filter(|r| r.name == name && r.r#type == RANGES)
            .flat_map(ranges_of)
            .collect();
        coalesce(&mut union);
        union
    }

    /// The same resources with every reservation and disk info removed.
    pub fn flattened(&self) -> Resources {
        let mut out = Resources::new();
        for r in &self.0 {
            let mut plain = strip_volume(r);
            plain.reservations.clear();
            plain.disk = None;
            out.add(&plain);
        }
        out
    }
}

impl FromIterator<Resource> for Resources {
    fn from_iter<I: IntoIterator<Item = Resource>>(iter: I) -> Self {
        let mut out = Resources::new();
        for r in iter {
            out.add(&r);
        }
        out
    }
}

/// The resource `Value` of a text attribute.
pub fn text_value(s: &str) -> Value {
    Value {
        r#type: value::Type::Text as i32,
        text: Some(value::Text {
            value: s.to_string(),
        }),
        ..Default::default()
    }
}

/// A short human description of resources, e.g. `cpus(role):1; mem:512; ports:[31000-31001]`.
pub fn describe(rs: &Resources) -> String {
    rs.as_slice()
        .iter()
        .map(|r| {
            let roles: Vec<&str> = r
                .reservations
                .iter()
                .filter_map(|ri| ri.role.as_deref())
                .collect();
            let mut s = r.name.clone();
            if !roles.is_empty() {
                s.push_str(&format!("(reservations: [{}])", roles.join(",")));
            }
            if let Some(id) = persistence_id(r) {
                s.push_str(&format!("[{id}]"));
            }
            match r.r#type {
                SCALAR => format!("{s}:{}", round(scalar_of(r))),
                RANGES => format!(
                    "{s}:[{}]",
                    ranges_of(r)
                        .iter()
                        .map(|(b, e)| format!("{b}-{e}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => format!("{s}:{{{}}}", set_items(r).join(",")),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use stead_proto::v1::resource::{DiskInfo, disk_info::Persistence};

    fn reserved(mut r: Resource, role: &str, label: &str) -> Resource {
        r.reservations.push(ReservationInfo {
            r#type: Some(reservation_info::Type::Dynamic as i32),
            role: Some(role.into()),
            principal: Some("p".into()),
            labels: Some(stead_proto::v1::Labels {
                labels: vec![stead_proto::v1::Label {
                    key: "resource_id".into(),
                    value: Some(label.into()),
                }],
            }),
        });
        r
    }

    #[test]
    fn subtracting_many_reservations_matches_one_by_one() {
        let mut total = Resources::new();
        total.add(&scalar_resource("cpus", 8.0));
        total.add(&ranges_resource("ports", &[(31000, 31999)]));
        let mut used = Resources::new();
        for i in 0..20 {
            let cpu = reserved(scalar_resource("cpus", 0.5), "r", &format!("c{i}"));
            total.add(&cpu);
            if i % 3 != 0 {
                used.add(&cpu);
            }
        }
        // Partial amounts and unreserved resources take the one-by-one path.
        used.add(&scalar_resource("cpus", 2.0));
        used.add(&ranges_resource("ports", &[(31000, 31009)]));
        used.add(&reserved(scalar_resource("cpus", 0.25), "r", "c0"));
        let mut expected = total.clone();
        for r in used.as_slice() {
            expected.subtract(r);
        }
        let mut fast = total.clone();
        fast.subtract_all(&used);
        assert_eq!(fast, expected);
        assert_eq!(fast.as_slice().len(), 2 + 7);
    }

    #[test]
    fn an_exchange_is_all_or_nothing() {
        let pool: Resources = [
            scalar_resource("cpus", 1.0),
            ranges_resource("ports", &[(31000, 31010)]),
        ]
        .into_iter()
        .collect();
        let cpu = scalar_resource("cpus", 0.75);
        let reserved_cpu = reserved(cpu.clone(), "r", "a");
        let ports = ranges_resource("ports", &[(31000, 31001)]);

        let mut rs = pool.clone();
        rs.exchange([(&cpu, Some(&reserved_cpu)), (&ports, None)])
            .unwrap();
        assert_eq!(rs.scalar_sum("cpus"), 1.0, "0.25 unreserved, 0.75 reserved");
        assert!(rs.contains_one(&reserved_cpu));
        assert_eq!(rs.ranges_union("ports"), vec![(31002, 31010)]);

        // The second 0.75 cpus is not there: the first exchange is undone.
        let mut rs = pool.clone();
        let err = rs
            .exchange([
                (&cpu, Some(&reserved_cpu)),
                (&ports, None),
                (&cpu, Some(&reserved_cpu)),
            ])
            .unwrap_err();
        assert!(err.contains("does not contain cpus"), "{err}");
        assert!(rs.contains(&pool) && pool.contains(&rs), "{rs:?}");
    }

    #[test]
    fn scalar_and_range_arithmetic() {
        let mut rs: Resources = [
            scalar_resource("cpus", 1.5),
            scalar_resource("cpus", 0.25),
            ranges_resource("ports", &[(31000, 31010)]),
        ]
        .into_iter()
        .collect();
        assert_eq!(rs.scalar_sum("cpus"), 1.75);
        assert!(rs.contains_one(&scalar_resource("cpus", 1.75)));
        assert!(!rs.contains_one(&scalar_resource("cpus", 1.751)));
        rs.subtract(&ranges_resource("ports", &[(31003, 31004)]));
        assert_eq!(
            rs.ranges_union("ports"),
            vec![(31000, 31002), (31005, 31010)]
        );
        rs.add(&ranges_resource("ports", &[(31003, 31004)]));
        assert_eq!(rs.ranges_union("ports"), vec![(31000, 31010)]);
        rs.subtract(&scalar_resource("cpus", 1.75));
        assert_eq!(rs.scalar_sum("cpus"), 0.0);
        assert_eq!(rs.as_slice().len(), 1);
        // 0.1 + 0.2 style errors do not leak.
        let mut x = Resources::new();
        x.add(&scalar_resource("cpus", 0.1));
        x.add(&scalar_resource("cpus", 0.2));
        assert!(x.contains_one(&scalar_resource("cpus", 0.3)));
    }

    #[test]
    fn reservations_are_distinct_by_stack_and_labels() {
        let a = reserved(scalar_resource("cpus", 1.0), "r", "x");
        let b = reserved(scalar_resource("cpus", 1.0), "r", "y");
        let rs: Resources = [a.clone(), b.clone(), scalar_resource("cpus", 2.0)]
            .into_iter()
            .collect();
        assert_eq!(rs.as_slice().len(), 3);
        let mut two_a = a.clone();
        two_a.scalar = Some(value::Scalar { value: 2.0 });
        assert!(!rs.contains_one(&two_a));
        assert_eq!(pop_reservation(&a), scalar_resource("cpus", 1.0));
        assert!(allocatable_to(&a, "r"));
        assert!(allocatable_to(&a, "r/child"));
        assert!(!allocatable_to(&a, "rx"));
        assert!(allocatable_to(&scalar_resource("mem", 1.0), "other"));
    }

    #[test]
    fn volumes_never_merge_or_split() {
        let mut disk = reserved(scalar_resource("disk", 100.0), "r", "v");
        disk.disk = Some(Box::new(DiskInfo {
            persistence: Some(Persistence {
                id: "vol-1".into(),
                principal: Some("p".into()),
            }),
            volume: None,
            source: None,
        }));
        let mut rs = Resources::new();
        rs.add(&disk);
        let mut half = disk.clone();
        half.scalar = Some(value::Scalar { value: 50.0 });
        assert!(!rs.contains_one(&half));
        assert!(rs.contains_one(&disk));
        let plain = strip_volume(&disk);
        assert!(plain.disk.is_none());
        rs.subtract(&disk);
        assert!(rs.is_empty());
    }

    #[test]
    fn pre_refinement_format_round_trips() {
        let mut old = scalar_resource("cpus", 1.0);
        old.role = Some("r".into());
        old.reservation = Some(ReservationInfo {
            principal: Some("p".into()),
            ..Default::default()
        });
        let n = normalize(old.clone());
        assert_eq!(reserved_role(&n), Some("r"));
        assert!(n.role.is_none());
        let back = for_framework(
            n.clone(),
            Format {
                refinement: false,
                allocation_role: None,
            },
        );
        assert_eq!(back.role.as_deref(), Some("r"));
        assert_eq!(
            back.reservation
                .as_ref()
                .and_then(|r| r.principal.as_deref()),
            Some("p")
        );
        let unreserved = for_framework(
            scalar_resource("mem", 1.0),
            Format {
                refinement: false,
                allocation_role: None,
            },
        );
        assert_eq!(unreserved.role.as_deref(), Some("*"));
        let refined = for_framework(
            n,
            Format {
                refinement: true,
                allocation_role: Some("r"),
            },
        );
        assert_eq!(refined.reservations.len(), 1);
        assert_eq!(
            refined.allocation_info.and_then(|a| a.role).as_deref(),
            Some("r")
        );
    }
}
