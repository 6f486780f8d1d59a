//! The allocator: whatever is free on an active agent is offered at once to the subscribed
//! frameworks, per role, honouring suppression, offer filters and reservations (a framework
//! sees unreserved resources and those reserved to its roles, never another role's).

use std::collections::BTreeMap;

use stead_proto::scheduler::{Event, event};
use stead_proto::v1::resource::AllocationInfo;
use stead_proto::v1::{AgentId, Attribute, FrameworkId, Offer, OfferId};

use super::{AgentStatus, Master, OfferRec};
use crate::resources::{self, Format, Resources};

/// Whether resources are worth offering (Mesos's default minimum allocatable resources).
fn allocatable(rs: &Resources) -> bool {
    rs.scalar_sum("cpus") >= 0.01 || rs.scalar_sum("mem") >= 32.0 || rs.scalar_sum("disk") >= 32.0
}

impl Master {
    /// Offers every free resource that some framework may receive. Only agents whose free
    /// resources changed since the last allocation are looked at, unless something
    /// framework-wide changed (a subscription, a revive, an agent action).
    pub(super) fn allocate(&mut self) {
        let everything = std::mem::take(&mut self.realloc_all);
        let dirty = std::mem::take(&mut self.dirty_agents);
        let mut framework_ids: Vec<String> = self
            .frameworks
            .values()
            .filter(|f| f.conn.is_some() && !f.placeholder)
            .map(|f| f.id.clone())
            .collect();
        tracing::trace!(
            frameworks = framework_ids.len(),
            agents = self.agents.len(),
            "allocating"
        );
        if framework_ids.is_empty() {
            return;
        }
        // Rotate the order so that no framework always comes first.
        self.alloc_round = self.alloc_round.wrapping_add(1);
        let n = framework_ids.len();
        framework_ids.rotate_left(self.alloc_round % n);

        let mut new_offers: BTreeMap<String, Vec<Offer>> = BTreeMap::new();
        let agent_ids: Vec<String> = if everything {
            self.agents
                .values()
                .filter(|a| a.status == AgentStatus::Active)
                .map(|a| a.id.clone())
                .collect()
        } else {
            let mut ids: Vec<String> = dirty
                .into_iter()
                .filter(|id| {
                    self.agents
                        .get(id)
                        .is_some_and(|a| a.status == AgentStatus::Active)
                })
                .collect();
            // Agents in id order, as a full pass would visit them.
            ids.sort();
            ids
        };
        for agent_id in agent_ids {
            for fid in &framework_ids {
                let Some(fw) = self.frameworks.get(fid) else {
                    continue;
                };
                let roles: Vec<String> = fw.roles();
                for role in roles {
                    if fw.suppressed.contains(&role) {
                        continue;
                    }
                    let Some(agent) = self.agents.get_mut(&agent_id) else {
                        continue;
                    };
                    let offerable = agent
                        .available()
                        .filter(|r| resources::allocatable_to(r, &role));
                    if !allocatable(&offerable) {
                        continue;
                    }
                    if fw.filters.refuses(&agent_id, &offerable) {
                        continue;
                    }
                    let multi = fw.multi_role();
                    let format = Format {
                        refinement: fw.has_capability(
                            stead_proto::v1::framework_info::capability::Type::ReservationRefinement,
                        ),
                        allocation_role: multi.then_some(role.as_str()),
                    };
                    self.next_offer += 1;
                    let offer_id = format!("{}-O{}", self.cluster.cluster_id, self.next_offer);
                    let offer = Offer {
                        id: OfferId {
                            value: offer_id.clone(),
                        },
                        framework_id: FrameworkId { value: fid.clone() },
                        agent_id: AgentId {
                            value: agent_id.clone(),
                        },
                        hostname: agent.config.hostname.clone(),
                        url: Some(super::view::agent_url(
                            &self.master_info,
                            &agent.name,
                            agent.config.address,
                        )),
                        resources: offerable
                            .as_slice()
                            .iter()
                            .map(|r| resources::for_framework(r.clone(), format))
                            .collect(),
                        attributes: agent
                            .config
                            .attributes
                            .iter()
                            .map(|(k, v)| {
                                let tv = resources::text_value(v);
                                Attribute {
                                    name: k.clone(),
                                    r#type: tv.r#type,
                                    text: tv.text,
                                    ..Default::default()
                                }
                            })
                            .collect(),
                        allocation_info: multi.then(|| AllocationInfo {
                            role: Some(role.clone()),
                        }),
                        ..Default::default()
                    };
                    if let Some(agent) = self.agents.get_mut(&agent_id) {
                        agent.offered.add_all(&offerable);
                        agent.changed();
                    }
                    self.offers.insert(
                        offer_id,
                        OfferRec {
                            framework_id: fid.clone(),
                            agent_id: agent_id.clone(),
                            resources: offerable,
                        },
                    );
                    tracing::debug!(framework = %fid, agent = %agent_id, "offer");
                    new_offers.entry(fid.clone()).or_default().push(offer);
                }
            }
        }
        for (fid, offers) in new_offers {
            if let Some(fw) = self.frameworks.get(&fid) {
                fw.send(&Event {
                    r#type: Some(event::Type::Offers as i32),
                    offers: Some(event::Offers { offers }),
                    ..Default::default()
                });
            }
        }
    }
}
