//! A compact view of one offer: its location and the resources still free in it.
//!
//! Views are built once per offer cycle and consumed as instances are placed, so that
//! evaluating many instances against many offers stays linear.

use std::collections::{BTreeMap, HashMap};

use stead_proto::v1::{Offer, Resource, value};

use crate::mesos::resources::{self as res, RangeSet, names};

/// Where an instance runs: the fields placement rules look at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// The agent's hostname.
    pub hostname: String,
    /// Agent attributes (text form), plus `zone` and `region` from the fault domain.
    pub attributes: BTreeMap<String, String>,
}

impl Location {
    /// The value of a placement field: `hostname` or an attribute name.
    pub fn field(&self, name: &str) -> Option<&str> {
        if name == stead_spec::placement::HOSTNAME {
            Some(&self.hostname)
        } else {
            self.attributes.get(name).map(String::as_str)
        }
    }

    /// The location of an offer's agent.
    pub fn of_offer(offer: &Offer) -> Location {
        let mut attributes: BTreeMap<String, String> = offer
            .attributes
            .iter()
            .map(|a| (a.name.clone(), attribute_text(a)))
            .collect();
        if let Some(fd) = offer.domain.as_ref().and_then(|d| d.fault_domain.as_ref()) {
            attributes
                .entry("zone".into())
                .or_insert_with(|| fd.zone.name.clone());
            attributes
                .entry("region".into())
                .or_insert_with(|| fd.region.name.clone());
        }
        Location {
            hostname: offer.hostname.clone(),
            attributes,
        }
    }
}

fn attribute_text(a: &stead_proto::v1::Attribute) -> String {
    if let Some(t) = &a.text {
        return t.value.clone();
    }
    if let Some(s) = &a.scalar {
        return format!("{}", s.value);
    }
    if let Some(set) = &a.set {
        return set.item.join(",");
    }
    if let Some(r) = &a.ranges {
        return r
            .range
            .iter()
            .map(|r| format!("[{}-{}]", r.begin, r.end))
            .collect::<Vec<_>>()
            .join(",");
    }
    String::new()
}

/// The free resources of one offer, consumed as instances are placed in it.
#[derive(Debug, Clone)]
pub struct OfferView {
    /// The agent id.
    pub agent_id: String,
    /// Where the agent is.
    pub location: Location,
    /// Unreserved scalar resources by name (root disk only for `disk`).
    pub scalars: Vec<(String, f64)>,
    /// Unreserved ports.
    pub ports: RangeSet,
    /// Unreserved whole MOUNT disks: (resource index, size in MiB), unused so far.
    pub mount_disks: Vec<(usize, f64)>,
    /// Resources reserved for `role` with a `resource_id` label: id -> resource index.
    pub reserved: HashMap<String, usize>,
    /// Resource indices already used by an operation in this cycle.
    pub used: Vec<usize>,
    /// The offer was accepted already in this cycle: nothing more can go on it.
    pub accepted: bool,
}

impl OfferView {
    /// Builds the view of `offer` for a framework reserving for `role`.
    pub fn new(offer: &Offer, role: &str) -> OfferView {
        let mut scalars: Vec<(String, f64)> = Vec::new();
        let mut ports = Vec::new();
        let mut mount_disks = Vec::new();
        let mut reserved = HashMap::new();
        for (i, r) in offer.resources.iter().enumerate() {
            if r.revocable.is_some() || r.shared.is_some() || r.provider_id.is_some() {
                continue;
            }
            if res::is_unreserved(r) {
                if r.name == names::DISK && res::is_mount_disk(r) {
                    mount_disks.push((i, res::scalar_of(r)));
                } else if r.name == names::DISK && res::has_disk_source(r) {
                    // Other disk sources (PATH, BLOCK, RAW) are not used.
                } else if r.r#type == value::Type::Scalar as i32 {
                    add_scalar(&mut scalars, &r.name, res::scalar_of(r));
                } else if r.name == names::PORTS {
                    ports.extend(res::ranges_of(r));
                }
            } else if res::reserved_role(r) == Some(role)
                && let Some(id) = res::resource_id(r)
            {
                reserved.insert(id.to_string(), i);
            }
        }
        OfferView {
            agent_id: offer.agent_id.value.clone(),
            location: Location::of_offer(offer),
            scalars,
            ports: RangeSet::new(ports),
            mount_disks,
            reserved,
            used: Vec::new(),
            accepted: false,
        }
    }

    /// The free amount of scalar `name`.
    pub fn scalar(&self, name: &str) -> f64 {
        self.scalars
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0.0, |(_, v)| *v)
    }

    /// Takes `amount` of scalar `name` (the caller checked it is there).
    pub fn take_scalar(&mut self, name: &str, amount: f64) {
        if let Some((_, v)) = self.scalars.iter_mut().find(|(n, _)| n == name) {
            *v = res::round(*v - amount);
        }
    }

    /// Whether resource `index` was already used in this cycle.
    pub fn is_used(&self, index: usize) -> bool {
        self.used.contains(&index)
    }
}

fn add_scalar(scalars: &mut Vec<(String, f64)>, name: &str, amount: f64) {
    match scalars.iter_mut().find(|(n, _)| n == name) {
        Some((_, v)) => *v = res::round(*v + amount),
        None => scalars.push((name.to_string(), amount)),
    }
}

/// True when `r` is a reservation of `service` for `role` that carries a resource id.
pub fn is_service_reservation(r: &Resource, role: &str, service: &str) -> bool {
    res::reserved_role(r) == Some(role)
        && res::service_of(r) == Some(service)
        && res::resource_id(r).is_some()
}

/// Reserved resources of `service` (for `role`) in `offer` whose resource id is not in
/// `owned` and which `view` has not used: what nobody owns any more.
pub fn orphans<'a>(
    offer: &'a Offer,
    view: &OfferView,
    role: &str,
    service: &str,
    owned: &dyn Fn(&str) -> bool,
) -> Vec<(usize, &'a Resource)> {
    offer
        .resources
        .iter()
        .enumerate()
        .filter(|(i, r)| {
            !view.is_used(*i)
                && is_service_reservation(r, role, service)
                && res::resource_id(r).is_some_and(|id| !owned(id))
        })
        .collect()
}
