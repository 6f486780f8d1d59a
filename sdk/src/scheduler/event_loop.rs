//! The event loop of a running scheduler: subscribe, hand every batch of events, tick and
//! operator command to the [`Core`], reconnect (see [`reconnect`](super::reconnect)).
//! With a ZooKeeper session gate it pauses while the session is away; with a detector it
//! follows the leading master. Before the first SUBSCRIBE of a state that holds nothing
//! it asks the cluster whether it holds the service already (see [`Leftovers`]), and
//! stores the framework id it subscribes with. A refusal that trying again cannot change
//! (the master refuses the credentials, or its certificate is not trusted) stops the
//! loop with that error.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::core::{Command, Core, batch};
use super::leftovers::{EmptyStateRefused, Leftovers};
use super::reconnect::{Attempt, Reconnect};
use super::zk::{self, SessionGate};
use crate::Result;
use crate::mesos::detect::{self, MasterDetector};
use crate::mesos::{MesosClient, MesosError};

/// Before the first SUBSCRIBE, chooses and stores the framework id, after asking the
/// cluster what it holds of the service when the state holds nothing. `Err(attempt)`:
/// the master could not tell; try again after the delay for `attempt`.
async fn before_first_subscribe(
    core: &mut Core,
    client: &MesosClient,
) -> Result<std::result::Result<(), Attempt>> {
    if core.has_framework_id() {
        return Ok(Ok(()));
    }
    let mut adopted = None;
    if core.state_is_empty() {
        let not_read = |e: MesosError| {
            if e.is_permanent() {
                return Err(e.into());
            }
            tracing::warn!(error = %e, "cannot read the master's state to check that the service is not deployed already");
            Ok(Err(if e.is_unreachable() {
                Attempt::Unreachable
            } else {
                Attempt::Refused
            }))
        };
        let state = match client.master_json("/master/state").await {
            Ok(state) => state,
            Err(e) => return not_read(e),
        };
        // Apache Mesos lists the agents' reservations in /master/slaves only; the
        // embedded master has them in /master/state and serves no /master/slaves.
        let agents = match client.master_json("/master/slaves").await {
            Ok(agents) => Some(agents),
            Err(MesosError::Status { status, .. }) if status == http::StatusCode::NOT_FOUND => None,
            Err(e) => return not_read(e),
        };
        let (service, role) = core.service();
        let found = Leftovers::find(&state, agents.as_ref(), service, role);
        if !found.is_empty() {
            if !core.options().adopt {
                return Err(EmptyStateRefused {
                    service: service.to_string(),
                    state: core.options().describe_state(service),
                    found,
                }
                .into());
            }
            tracing::warn!(service, %found, "the state holds nothing: adopting what the cluster holds of the service (--adopt)");
            adopted = found.frameworks.first().cloned();
        }
    }
    core.choose_framework_id(adopted)?;
    Ok(Ok(()))
}

/// The event loop: subscribe, handle events, reconnect with backoff. With a `gate` it
/// pauses while the ZooKeeper session is away; with a `detector` it follows the leader.
pub(super) async fn run(
    mut core: Core,
    mut client: Arc<MesosClient>,
    mut commands: mpsc::Receiver<Command>,
    mut stop: oneshot::Receiver<()>,
    mut gate: Option<SessionGate>,
    mut detector: Option<MasterDetector>,
) -> Result<()> {
    let mut reconnect = Reconnect::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // Act only on a live ZooKeeper session, and only with the leading master.
        tokio::select! {
            r = zk::ready(&mut gate) => r?,
            _ = &mut stop => return Ok(()),
        }
        if let Some(d) = detector.as_mut() {
            tokio::select! {
                c = d.next_client() => if let Some(c) = c? {
                    client = c;
                    core.set_master(client.clone());
                },
                _ = &mut stop => return Ok(()),
            }
        }
        let ready = tokio::select! {
            r = before_first_subscribe(&mut core, &client) => r?,
            _ = &mut stop => return Ok(()),
        };
        if let Err(attempt) = ready {
            let delay = reconnect.delay(attempt);
            tokio::select! {
                _ = tokio::time::sleep(delay) => continue,
                _ = &mut stop => return Ok(()),
            }
        }
        let subscribe = client.subscribe(core.framework_info());
        let stream = tokio::select! {
            r = subscribe => r,
            _ = &mut stop => return Ok(()),
        };
        // When the subscription was confirmed (SUBSCRIBED), if it was.
        let mut subscribed_at: Option<Instant> = None;
        let attempt = match stream {
            Ok(mut events) => loop {
                tokio::select! {
                    ev = events.next() => {
                        // Every event already received is handled as one batch (group commit).
                        let (batch, failure) = batch::drain(ev, &mut events);
                        if !batch.is_empty() {
                            if subscribed_at.is_none() && batch.iter().any(|e| e.r#type == Some(stead_proto::scheduler::event::Type::Subscribed as i32)) {
                                subscribed_at = Some(Instant::now());
                            }
                            if zk::pause_on(&mut gate, core.handle_batch(batch).await).await? {
                                break lost(subscribed_at);
                            }
                            if core.is_finished() {
                                return Ok(());
                            }
                        }
                        match failure {
                            None => {}
                            Some(MesosError::FrameworkRemoved(m)) => {
                                tracing::error!(error = %m, "the master no longer knows this framework: subscribing anew");
                                core.forget_framework()?;
                                break lost(subscribed_at);
                            }
                            Some(e) => {
                                tracing::warn!(error = %e, "subscription lost; reconnecting");
                                break lost(subscribed_at);
                            }
                        }
                    }
                    cmd = commands.recv() => match cmd {
                        Some(c) => core.command(c).await,
                        None => return Ok(()),
                    },
                    _ = tick.tick() => {
                        if zk::pause_on(&mut gate, core.tick().await).await? {
                            break lost(subscribed_at);
                        }
                        if core.is_finished() {
                            return Ok(());
                        }
                    },
                    r = zk::lost(&mut gate) => {
                        r?;
                        break lost(subscribed_at);
                    }
                    _ = detect::leader_changed(&mut detector) => break lost(subscribed_at),
                    _ = &mut stop => return Ok(()),
                }
            },
            Err(MesosError::FrameworkRemoved(why)) => {
                tracing::error!(%why, "the master refused the framework id: subscribing anew");
                core.forget_framework()?;
                Attempt::Refused
            }
            // Refused credentials or an untrusted certificate: stop, with this error.
            Err(e) if e.is_permanent() => return Err(e.into()),
            Err(e) => {
                tracing::warn!(error = %e, "cannot subscribe");
                if e.is_unreachable() {
                    Attempt::Unreachable
                } else {
                    Attempt::Refused
                }
            }
        };
        core.disconnected();
        let delay = reconnect.delay(attempt);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = &mut stop => return Ok(()),
        }
    }
}

/// How a subscription confirmed at `subscribed_at` (if it was) ended now.
fn lost(subscribed_at: Option<Instant>) -> Attempt {
    match subscribed_at {
        Some(at) => Attempt::Lost(at.elapsed()),
        None => Attempt::Refused,
    }
}

#[cfg(test)]
mod tests;
