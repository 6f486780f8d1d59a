//! Offer evaluation: pending instances against a batch of offers, producing
//! placements (what to take from which offer) or the reason nothing fits.
//!
//! Offers are consumed as instances are placed. For task types whose rules only get
//! stricter as instances are added (all but GROUP_BY), a per-type cursor skips the
//! offers already known not to fit, so a cycle is linear in offers + instances.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use stead_proto::v1::Offer;
use stead_spec::{PlacementRule, TaskTypeSpec, VolumeType};

use super::placement::{MatchCache, Peers, violated};
use super::view::{Location, OfferView};
use crate::mesos::resources::{fits, names};

/// What an instance needs from the offers.
#[derive(Debug, Clone, Copy)]
pub enum Need<'a> {
    /// A first placement (or a replacement): fresh reservations anywhere the rules allow.
    New,
    /// A relaunch in place: exactly the resources carrying these ids, on this agent.
    InPlace {
        /// The agent holding the reservations.
        agent_id: &'a str,
        /// The `resource_id` labels of every resource the task used.
        resource_ids: &'a [String],
    },
}

/// A pending instance.
#[derive(Debug, Clone, Copy)]
pub struct Requirement<'a> {
    /// The instance name, e.g. `data-2`.
    pub instance: &'a str,
    /// Its task type (resources, volumes, ports, placement).
    pub task_type: &'a TaskTypeSpec,
    /// New placement or relaunch in place.
    pub need: Need<'a>,
}

/// Fresh resources chosen in an offer for a new placement.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFit {
    /// The port chosen for each named port, in the task type's order.
    pub ports: Vec<(String, u64)>,
    /// For each volume of the task type, the offer resource index of its MOUNT disk
    /// (None for ROOT volumes).
    pub mounts: Vec<Option<usize>>,
}

/// What a placement takes from its offer.
#[derive(Debug, Clone, PartialEq)]
pub enum Fit {
    /// Reserve fresh resources.
    New(NewFit),
    /// Reuse these reserved resources (indices into the offer's resources).
    InPlace(Vec<usize>),
}

/// A pending instance matched to an offer.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// Index of the offer in the evaluated batch.
    pub offer: usize,
    /// What to take from it.
    pub fit: Fit,
}

/// Why one offer does not fit one instance.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Mismatch {
    /// Too little of a scalar resource.
    #[error("insufficient {name}: need {need}, offered {have}")]
    Scalar {
        /// The resource (`cpus`, `mem`, `disk`, ...).
        name: String,
        /// What the instance needs.
        need: f64,
        /// What the offer holds unreserved.
        have: f64,
    },
    /// A static port is not in the offer.
    #[error("port {0} unavailable")]
    Port(u16),
    /// Too few ports for the dynamic ones.
    #[error("not enough free ports: need {need}, offered {have}")]
    Ports {
        /// Ports needed.
        need: usize,
        /// Ports offered.
        have: u64,
    },
    /// No MOUNT disk of the volume's size.
    #[error("no free MOUNT disk of {need} MiB")]
    MountDisk {
        /// The volume's size in MiB.
        need: u64,
    },
    /// A placement rule forbids the offer's agent.
    #[error("placement rule {0}")]
    Rule(String),
    /// The offer went out already with other launches of this round.
    #[error("accepted already with other launches")]
    Accepted,
    /// A relaunch in place needs its own agent's offer.
    #[error("agent {offered} does not hold its reservations (they are on {holder})")]
    OtherAgent {
        /// The agent of the offer.
        offered: String,
        /// The agent holding the instance's reservations.
        holder: String,
    },
    /// The offer lacks some of the instance's reservations.
    #[error("reservations {} not offered", .0.join(", "))]
    ReservationsMissing(Vec<String>),
}

/// Why a pending instance was placed on none of the offers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unplaced {
    /// No offer came from the agent holding its reservations.
    #[error("waiting for an offer from agent {0}, which holds its reserved resources")]
    NoOfferFromAgent(String),
    /// Every offer of its agent went out already with other launches.
    #[error(
        "waiting for the next offer from agent {0} (this one is accepted already with other launches)"
    )]
    AgentOffersTaken(String),
    /// Its agent offered resources, but not these reservations.
    #[error("agent {agent} offered resources, but not its reservations {}", .missing.join(", "))]
    ReservationsMissing {
        /// The agent.
        agent: String,
        /// The `resource_id`s not offered.
        missing: Vec<String>,
    },
    /// No offer fits a new placement: the rejections, counted by kind.
    #[error("{0}")]
    NoneFits(Rejections),
    /// Its agent does not offer what it must grow by to be updated in place.
    #[error(
        "insufficient {name} on agent {agent} to grow {instance} in place: need {need} more, offered {have}"
    )]
    CannotGrow {
        /// The resource.
        name: String,
        /// The agent.
        agent: String,
        /// The instance (or its task).
        instance: String,
        /// How much more it needs.
        need: f64,
        /// What the agent offers unreserved.
        have: f64,
    },
    /// The offer is not part of the evaluated batch.
    #[error("no offer {0} in this batch")]
    UnknownOffer(usize),
}

impl Mismatch {
    /// The kind of rejection, without the numbers (offers are counted by it).
    fn key(&self) -> String {
        match self {
            Mismatch::Scalar { name, .. } => format!("insufficient {name}"),
            Mismatch::Ports { .. } => "not enough free ports".into(),
            other => other.to_string(),
        }
    }
}

/// Reasons offers were rejected for one task type, counted per kind; shown as a summary
/// (`no offer fits: insufficient cpus in 2 offers (need 1, at most 0.5 offered)`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rejections {
    offers: usize,
    kinds: BTreeMap<String, (usize, Option<(f64, f64)>)>,
}

impl std::fmt::Display for Rejections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary())
    }
}

impl Rejections {
    /// Whether an offer was rejected for `kind` (e.g. `insufficient cpus`).
    pub fn counts(&self, kind: &str) -> Option<usize> {
        self.kinds.get(kind).map(|(n, _)| *n)
    }

    /// How many offers were rejected.
    pub fn offers(&self) -> usize {
        self.offers
    }

    fn add(&mut self, why: Mismatch) {
        self.offers += 1;
        let entry = self.kinds.entry(why.key()).or_insert((0, None));
        entry.0 += 1;
        let detail = match why {
            Mismatch::Scalar { need, have, .. } => Some((need, have)),
            Mismatch::Ports { need, have } => Some((need as f64, have as f64)),
            _ => None,
        };
        if let Some((need, have)) = detail {
            let best = entry.1.map_or(have, |(_, h)| h.max(have));
            entry.1 = Some((need, best));
        }
    }

    fn summary(&self) -> String {
        if self.offers == 0 {
            return "no offers received yet".into();
        }
        let parts: Vec<String> = self
            .kinds
            .iter()
            .map(|(kind, (n, detail))| {
                let offers = if *n == 1 { "offer" } else { "offers" };
                match detail {
                    Some((need, have)) => {
                        format!("{kind} in {n} {offers} (need {need}, at most {have} offered)")
                    }
                    None => format!("{kind} rejects {n} {offers}"),
                }
            })
            .collect();
        format!("no offer fits: {}", parts.join("; "))
    }
}

#[derive(Debug, Default)]
struct TypeCursor {
    next: usize,
    tally: Rejections,
}

/// Evaluates pending instances against one batch of offers.
#[derive(Debug)]
pub struct Evaluator<'o> {
    offers: &'o [Offer],
    views: Vec<OfferView>,
    by_agent: HashMap<String, Vec<usize>>,
    peers: HashMap<String, Peers>,
    cursors: HashMap<String, TypeCursor>,
    groups: HashMap<String, BTreeSet<String>>,
    cache: MatchCache,
}

impl<'o> Evaluator<'o> {
    /// An evaluator over `offers` for a framework reserving for `role`.
    pub fn new(offers: &'o [Offer], role: &str) -> Evaluator<'o> {
        let views: Vec<OfferView> = offers.iter().map(|o| OfferView::new(o, role)).collect();
        let mut by_agent: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, v) in views.iter().enumerate() {
            by_agent.entry(v.agent_id.clone()).or_default().push(i);
        }
        Evaluator {
            offers,
            views,
            by_agent,
            peers: HashMap::new(),
            cursors: HashMap::new(),
            groups: HashMap::new(),
            cache: MatchCache::default(),
        }
    }

    /// Records where an existing instance of `task_type` runs (for placement rules).
    pub fn add_peer(&mut self, task_type: &TaskTypeSpec, instance: &str, location: Location) {
        self.peers_of(task_type).insert(instance, location);
    }

    fn peers_of(&mut self, task_type: &TaskTypeSpec) -> &mut Peers {
        self.peers
            .entry(task_type.name.clone())
            .or_insert_with(|| Peers::new(&task_type.placement))
    }

    /// The offer views, with what placements consumed.
    pub fn views(&self) -> &[OfferView] {
        &self.views
    }

    /// The evaluated offers.
    pub fn offers(&self) -> &'o [Offer] {
        self.offers
    }

    /// Marks offer `offer` accepted: later placements in this batch skip it.
    pub fn close(&mut self, offer: usize) {
        if let Some(view) = self.views.get_mut(offer) {
            view.accepted = true;
        }
    }

    /// Takes `amount` more of unreserved scalar `name` from offer `offer` (e.g. to grow
    /// a reservation in place), or says how much is missing. Nothing is taken on error.
    /// `instance` names what grows, for the error.
    pub fn take_unreserved(
        &mut self,
        offer: usize,
        name: &str,
        amount: f64,
        instance: &str,
    ) -> Result<(), Unplaced> {
        let Some(view) = self.views.get_mut(offer) else {
            return Err(Unplaced::UnknownOffer(offer));
        };
        let have = view.scalar(name);
        if !fits(amount, have) {
            return Err(Unplaced::CannotGrow {
                name: name.to_string(),
                agent: view.agent_id.clone(),
                instance: instance.to_string(),
                need: amount,
                have,
            });
        }
        view.take_scalar(name, amount);
        Ok(())
    }

    /// Finds an offer for `req` and consumes what it takes, or explains why none fits.
    pub fn place(&mut self, req: &Requirement<'_>) -> Result<Placement, Unplaced> {
        match req.need {
            Need::InPlace {
                agent_id,
                resource_ids,
            } => self.place_in_place(agent_id, resource_ids),
            Need::New => self.place_new(req),
        }
    }

    fn place_in_place(
        &mut self,
        agent_id: &str,
        resource_ids: &[String],
    ) -> Result<Placement, Unplaced> {
        let Some(candidates) = self.by_agent.get(agent_id) else {
            return Err(Unplaced::NoOfferFromAgent(agent_id.to_string()));
        };
        let mut missing = Vec::new();
        for &oi in candidates.iter().filter(|&&oi| !self.views[oi].accepted) {
            let view = &self.views[oi];
            missing.clear();
            let mut indices = Vec::with_capacity(resource_ids.len());
            for id in resource_ids {
                match view.reserved.get(id) {
                    Some(&ri) if !view.is_used(ri) => indices.push(ri),
                    _ => missing.push(id.as_str()),
                }
            }
            if missing.is_empty() {
                self.views[oi].used.extend_from_slice(&indices);
                return Ok(Placement {
                    offer: oi,
                    fit: Fit::InPlace(indices),
                });
            }
        }
        if missing.is_empty() {
            // Every offer of the agent went out already with other launches.
            return Err(Unplaced::AgentOffersTaken(agent_id.to_string()));
        }
        Err(Unplaced::ReservationsMissing {
            agent: agent_id.to_string(),
            missing: missing.iter().map(|m| m.to_string()).collect(),
        })
    }

    /// Explains, offer by offer, whether `req` fits each of the first `limit` offers as
    /// they stand now (after the placements made so far); nothing is consumed. For
    /// diagnostics only: it costs one check per explained offer.
    pub fn explain(&mut self, req: &Requirement<'_>, limit: usize) -> Vec<Result<(), Mismatch>> {
        let n = self.views.len().min(limit);
        match req.need {
            Need::InPlace {
                agent_id,
                resource_ids,
            } => self.views[..n]
                .iter()
                .map(|view| {
                    if view.accepted {
                        return Err(Mismatch::Accepted);
                    }
                    if view.agent_id != agent_id {
                        return Err(Mismatch::OtherAgent {
                            offered: view.agent_id.clone(),
                            holder: agent_id.to_string(),
                        });
                    }
                    let missing: Vec<String> = resource_ids
                        .iter()
                        .filter(|id| view.reserved.get(*id).is_none_or(|&ri| view.is_used(ri)))
                        .cloned()
                        .collect();
                    if missing.is_empty() {
                        Ok(())
                    } else {
                        Err(Mismatch::ReservationsMissing(missing))
                    }
                })
                .collect(),
            Need::New => {
                self.prepare(req.task_type);
                (0..n)
                    .map(|oi| self.fits_new(oi, req).map(|_| ()))
                    .collect()
            }
        }
    }

    /// Creates the peers entry of `tt` and the value sets of its GROUP_BY fields.
    fn prepare(&mut self, tt: &TaskTypeSpec) {
        let group_fields: Vec<String> = tt
            .placement
            .iter()
            .filter(|r| matches!(r, PlacementRule::GroupBy { .. }))
            .map(|r| r.field().to_string())
            .collect();
        for field in group_fields {
            if !self.groups.contains_key(&field) {
                let values = self
                    .views
                    .iter()
                    .filter_map(|v| v.location.field(&field).map(String::from))
                    .collect();
                self.groups.insert(field, values);
            }
        }
        self.peers_of(tt);
    }

    fn place_new(&mut self, req: &Requirement<'_>) -> Result<Placement, Unplaced> {
        let tt = req.task_type;
        // An instance that already has a location (a replacement) is judged without
        // its own old place, so offers skipped for its peers may fit it: no cursor.
        let monotone = !tt
            .placement
            .iter()
            .any(|r| matches!(r, PlacementRule::GroupBy { .. }))
            && !self
                .peers
                .get(&tt.name)
                .is_some_and(|p| p.contains(req.instance));
        self.prepare(tt);
        let start = if monotone {
            self.cursors.get(&tt.name).map_or(0, |c| c.next)
        } else {
            0
        };
        let mut local = Rejections::default();
        for oi in start..self.views.len() {
            match self.fits_new(oi, req) {
                Ok(fit) => {
                    if monotone {
                        self.cursors.entry(tt.name.clone()).or_default().next = oi;
                    }
                    self.consume(oi, req, &fit);
                    return Ok(Placement {
                        offer: oi,
                        fit: Fit::New(fit),
                    });
                }
                Err(why) => {
                    if monotone {
                        let c = self.cursors.entry(tt.name.clone()).or_default();
                        c.tally.add(why);
                        c.next = oi + 1;
                    } else {
                        local.add(why);
                    }
                }
            }
        }
        Err(Unplaced::NoneFits(if monotone {
            self.cursors
                .get(&tt.name)
                .map(|c| c.tally.clone())
                .unwrap_or_default()
        } else {
            local
        }))
    }

    fn fits_new(&mut self, oi: usize, req: &Requirement<'_>) -> Result<NewFit, Mismatch> {
        let tt = req.task_type;
        let view = &self.views[oi];
        if view.accepted {
            return Err(Mismatch::Accepted);
        }
        let root_volumes: f64 = tt
            .volumes
            .iter()
            .filter(|v| v.kind == VolumeType::Root)
            .map(|v| v.size_mib as f64)
            .sum();
        for r in &tt.resources {
            let need = if r.name == names::DISK {
                r.value + root_volumes
            } else {
                r.value
            };
            let have = view.scalar(&r.name);
            if !fits(need, have) {
                return Err(Mismatch::Scalar {
                    name: r.name.clone(),
                    need,
                    have,
                });
            }
        }
        if root_volumes > 0.0 && tt.resource(names::DISK).is_none() {
            let have = view.scalar(names::DISK);
            if !fits(root_volumes, have) {
                return Err(Mismatch::Scalar {
                    name: names::DISK.into(),
                    need: root_volumes,
                    have,
                });
            }
        }
        let mut ports = Vec::with_capacity(tt.ports.len());
        let mut dynamic = 0usize;
        for p in &tt.ports {
            if p.port == 0 {
                dynamic += 1;
            } else if view.ports.contains(u64::from(p.port)) {
                ports.push((p.name.clone(), u64::from(p.port)));
            } else {
                return Err(Mismatch::Port(p.port));
            }
        }
        if dynamic > 0 {
            let mut free = view.ports.clone();
            let statics: Vec<u64> = ports.iter().map(|(_, p)| *p).collect();
            for p in &statics {
                free.take(*p);
            }
            if (free.len() as usize) < dynamic {
                return Err(Mismatch::Ports {
                    need: dynamic,
                    have: free.len(),
                });
            }
            ports.clear();
            for p in &tt.ports {
                let port = if p.port == 0 {
                    // Invariant: `free` holds at least `dynamic` values (checked above).
                    free.take_any(&[]).unwrap_or_default()
                } else {
                    u64::from(p.port)
                };
                ports.push((p.name.clone(), port));
            }
        }
        let mut mounts = Vec::with_capacity(tt.volumes.len());
        let mut taken: Vec<usize> = Vec::new();
        for v in &tt.volumes {
            if v.kind == VolumeType::Mount {
                let found = view
                    .mount_disks
                    .iter()
                    .find(|(ri, size)| fits(v.size_mib as f64, *size) && !taken.contains(ri))
                    .map(|(ri, _)| *ri);
                match found {
                    Some(ri) => {
                        taken.push(ri);
                        mounts.push(Some(ri));
                    }
                    None => return Err(Mismatch::MountDisk { need: v.size_mib }),
                }
            } else {
                mounts.push(None);
            }
        }
        if !tt.placement.is_empty() {
            let groups = &self.groups;
            let known = |field: &str| groups.get(field).cloned().unwrap_or_default();
            // Invariant: `place_new` created the peers entry of this task type.
            let peers = self
                .peers
                .get(&tt.name)
                .expect("peers created by place_new");
            if let Some(rule) = violated(
                &tt.placement,
                req.instance,
                &view.location,
                peers,
                &known,
                &mut self.cache,
            ) {
                return Err(Mismatch::Rule(rule.to_string()));
            }
        }
        Ok(NewFit { ports, mounts })
    }

    fn consume(&mut self, oi: usize, req: &Requirement<'_>, fit: &NewFit) {
        let tt = req.task_type;
        let view = &mut self.views[oi];
        let mut disk_taken = false;
        let root_volumes: f64 = tt
            .volumes
            .iter()
            .filter(|v| v.kind == VolumeType::Root)
            .map(|v| v.size_mib as f64)
            .sum();
        for r in &tt.resources {
            if r.name == names::DISK {
                view.take_scalar(names::DISK, r.value + root_volumes);
                disk_taken = true;
            } else {
                view.take_scalar(&r.name, r.value);
            }
        }
        if !disk_taken && root_volumes > 0.0 {
            view.take_scalar(names::DISK, root_volumes);
        }
        for (_, port) in &fit.ports {
            view.ports.take(*port);
        }
        for ri in fit.mounts.iter().flatten() {
            view.mount_disks.retain(|(i, _)| i != ri);
            view.used.push(*ri);
        }
        let location = view.location.clone();
        self.peers_of(tt).insert(req.instance, location);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos::resources::{dynamic_reservation, ranges, reservation_labels, scalar};
    use stead_proto::v1::{AgentId, FrameworkId, OfferId, Resource};
    use stead_spec::{CommandSpec, PortSpec, VolumeSpec};

    pub(crate) fn offer(i: usize, host: &str, cpus: f64, mem: f64) -> Offer {
        Offer {
            id: OfferId {
                value: format!("o{i}"),
            },
            framework_id: FrameworkId { value: "fw".into() },
            agent_id: AgentId {
                value: format!("agent-{host}"),
            },
            hostname: host.into(),
            resources: vec![
                scalar("cpus", cpus),
                scalar("mem", mem),
                scalar("disk", 10_000.0),
                ranges("ports", &[(31000, 31009)]),
            ],
            ..Offer::default()
        }
    }

    pub(crate) fn task_type(name: &str, cpus: f64, mem: f64) -> TaskTypeSpec {
        let mut t = TaskTypeSpec::new(name, 3, CommandSpec::new("./run"));
        t.set_resource("cpus", cpus, "svc-role", "svc");
        t.set_resource("mem", mem, "svc-role", "svc");
        t
    }

    fn req<'a>(instance: &'a str, tt: &'a TaskTypeSpec) -> Requirement<'a> {
        Requirement {
            instance,
            task_type: tt,
            need: Need::New,
        }
    }

    #[test]
    fn consumes_offers_as_it_places() {
        let offers = vec![offer(0, "h0", 2.0, 2048.0), offer(1, "h1", 1.0, 1024.0)];
        let tt = task_type("data", 1.0, 1024.0);
        let mut ev = Evaluator::new(&offers, "svc-role");
        assert_eq!(ev.place(&req("data-0", &tt)).unwrap().offer, 0);
        assert_eq!(ev.place(&req("data-1", &tt)).unwrap().offer, 0);
        assert_eq!(ev.place(&req("data-2", &tt)).unwrap().offer, 1);
        let err = ev.place(&req("data-3", &tt)).unwrap_err();
        assert!(
            matches!(&err, Unplaced::NoneFits(r) if r.counts("insufficient cpus") == Some(2)),
            "{err:?}"
        );
        let err = err.to_string();
        assert!(err.contains("insufficient cpus"), "{err}");
        assert!(err.contains("2 offers"), "{err}");
    }

    #[test]
    fn explains_each_offer() {
        let offers = vec![offer(0, "h0", 0.5, 2048.0), offer(1, "h1", 2.0, 2048.0)];
        let tt = task_type("data", 1.0, 1024.0);
        let mut ev = Evaluator::new(&offers, "svc-role");
        let why = ev.explain(&req("data-0", &tt), 10);
        assert_eq!(
            why,
            vec![
                Err(Mismatch::Scalar {
                    name: "cpus".into(),
                    need: 1.0,
                    have: 0.5
                }),
                Ok(())
            ]
        );
        assert_eq!(
            why[0].as_ref().unwrap_err().to_string(),
            "insufficient cpus: need 1, offered 0.5"
        );
        assert_eq!(ev.place(&req("data-0", &tt)).unwrap().offer, 1);
        assert_eq!(ev.explain(&req("data-1", &tt), 1).len(), 1, "bounded");
        let ids = vec!["r-1".to_string()];
        let in_place = Requirement {
            instance: "data-0",
            task_type: &tt,
            need: Need::InPlace {
                agent_id: "agent-h1",
                resource_ids: &ids,
            },
        };
        let why = ev.explain(&in_place, 10);
        assert!(
            why[0]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("agent-h0 does not hold")
        );
        assert_eq!(
            why[1],
            Err(Mismatch::ReservationsMissing(vec!["r-1".to_string()]))
        );
        assert_eq!(
            why[1].as_ref().unwrap_err().to_string(),
            "reservations r-1 not offered"
        );
    }

    #[test]
    fn unique_hostnames() {
        let offers = vec![offer(0, "h0", 8.0, 8192.0), offer(1, "h1", 8.0, 8192.0)];
        let mut tt = task_type("meta", 1.0, 512.0);
        tt.placement = vec![PlacementRule::parse("hostname:UNIQUE").unwrap()];
        let mut ev = Evaluator::new(&offers, "svc-role");
        ev.add_peer(
            &tt,
            "meta-0",
            Location {
                hostname: "h0".into(),
                ..Location::default()
            },
        );
        assert_eq!(ev.place(&req("meta-1", &tt)).unwrap().offer, 1);
        let err = ev.place(&req("meta-2", &tt)).unwrap_err().to_string();
        assert!(err.contains("hostname:UNIQUE"), "{err}");
        // The instance's own old location does not count against it.
        assert_eq!(ev.place(&req("meta-0", &tt)).unwrap().offer, 0);
    }

    #[test]
    fn group_by_zone_alternates() {
        let mut offers: Vec<Offer> = (0..4)
            .map(|i| offer(i, &format!("h{i}"), 8.0, 8192.0))
            .collect();
        for (i, o) in offers.iter_mut().enumerate() {
            o.attributes.push(stead_proto::v1::Attribute {
                name: "zone".into(),
                r#type: stead_proto::v1::value::Type::Text as i32,
                text: Some(stead_proto::v1::value::Text {
                    value: if i < 2 { "a".into() } else { "b".into() },
                }),
                ..Default::default()
            });
        }
        let mut tt = task_type("data", 1.0, 512.0);
        tt.placement = vec![PlacementRule::parse("zone:GROUP_BY").unwrap()];
        let mut ev = Evaluator::new(&offers, "svc-role");
        let zones: Vec<String> = (0..4)
            .map(|i| {
                let p = ev.place(&req(&format!("data-{i}"), &tt)).unwrap();
                ev.views()[p.offer].location.attributes["zone"].clone()
            })
            .collect();
        assert_eq!(zones, vec!["a", "b", "a", "b"]);
    }

    #[test]
    fn ports_static_and_dynamic() {
        let offers = vec![offer(0, "h0", 8.0, 8192.0)];
        let mut tt = task_type("web", 0.1, 32.0);
        tt.ports = vec![
            PortSpec {
                name: "http".into(),
                port: 31005,
            },
            PortSpec {
                name: "admin".into(),
                port: 0,
            },
        ];
        let mut ev = Evaluator::new(&offers, "svc-role");
        let p = ev.place(&req("web-0", &tt)).unwrap();
        let Fit::New(fit) = p.fit else {
            panic!("new fit")
        };
        assert_eq!(
            fit.ports,
            vec![("http".to_string(), 31005), ("admin".to_string(), 31000)]
        );
        let err = ev.place(&req("web-1", &tt)).unwrap_err().to_string();
        assert!(err.contains("port 31005 unavailable"), "{err}");
    }

    #[test]
    fn volumes_need_disk() {
        let offers = vec![offer(0, "h0", 8.0, 8192.0)];
        let mut tt = task_type("data", 1.0, 512.0);
        tt.volumes = vec![VolumeSpec {
            size_mib: 6000,
            kind: VolumeType::Root,
            container_path: "data".into(),
            role: "svc-role".into(),
            principal: "svc".into(),
        }];
        let mut ev = Evaluator::new(&offers, "svc-role");
        assert!(ev.place(&req("data-0", &tt)).is_ok());
        let err = ev.place(&req("data-1", &tt)).unwrap_err().to_string();
        assert!(err.contains("insufficient disk"), "{err}");
        assert!(err.contains("need 6000"), "{err}");
    }

    fn reserved(name: &str, amount: f64, id: &str) -> Resource {
        let mut r = scalar(name, amount);
        r.reservations.push(dynamic_reservation(
            "svc-role",
            "svc",
            reservation_labels(id, "fw", "svc"),
        ));
        r
    }

    #[test]
    fn in_place_takes_only_its_own_reservations() {
        let mut o = offer(0, "h0", 1.0, 1024.0);
        o.resources.push(reserved("cpus", 1.0, "r-cpu"));
        o.resources.push(reserved("mem", 512.0, "r-mem"));
        o.resources.push(reserved("mem", 512.0, "r-other"));
        let offers = vec![o];
        let tt = task_type("data", 1.0, 512.0);
        let ids = vec!["r-cpu".to_string(), "r-mem".to_string()];
        let mut ev = Evaluator::new(&offers, "svc-role");
        let r = Requirement {
            instance: "data-0",
            task_type: &tt,
            need: Need::InPlace {
                agent_id: "agent-h0",
                resource_ids: &ids,
            },
        };
        assert_eq!(
            ev.place(&r).unwrap(),
            Placement {
                offer: 0,
                fit: Fit::InPlace(vec![4, 5])
            }
        );
        // Already used in this cycle: a second relaunch cannot take them again.
        assert!(ev.place(&r).is_err());
        let elsewhere = Requirement {
            need: Need::InPlace {
                agent_id: "agent-h9",
                resource_ids: &ids,
            },
            ..r
        };
        assert_eq!(
            ev.place(&elsewhere).unwrap_err(),
            Unplaced::NoOfferFromAgent("agent-h9".into())
        );
    }

    #[test]
    fn many_instances_many_offers_stays_linear() {
        let offers: Vec<Offer> = (0..1000)
            .map(|i| offer(i, &format!("h{i}"), 1.0, 1024.0))
            .collect();
        let tt = task_type("data", 1.0, 1024.0);
        let names: Vec<String> = (0..1001).map(|i| format!("data-{i}")).collect();
        let mut ev = Evaluator::new(&offers, "svc-role");
        for (i, n) in names.iter().enumerate().take(1000) {
            assert_eq!(ev.place(&req(n, &tt)).unwrap().offer, i);
        }
        assert!(ev.place(&req(&names[1000], &tt)).is_err());
    }
}
