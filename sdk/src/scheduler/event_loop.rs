//! The event loop of a running scheduler: subscribe, hand every batch of events, tick and
//! operator command to the [`Core`], reconnect with backoff. With a ZooKeeper session
//! gate it pauses while the session is away; with a detector it follows the leading master.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::core::{Command, Core, batch};
use super::zk::{self, SessionGate};
use crate::Result;
use crate::mesos::detect::{self, MasterDetector};
use crate::mesos::{Backoff, MesosClient, MesosError};

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
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
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
        let subscribe = client.subscribe(core.framework_info());
        let stream = tokio::select! {
            r = subscribe => r,
            _ = &mut stop => return Ok(()),
        };
        match stream {
            Ok(mut events) => loop {
                tokio::select! {
                    ev = events.next() => {
                        // Every event already received is handled as one batch (group commit).
                        let (batch, failure) = batch::drain(ev, &mut events);
                        if !batch.is_empty() {
                            if batch.iter().any(|e| e.r#type == Some(stead_proto::scheduler::event::Type::Subscribed as i32)) {
                                backoff.reset();
                            }
                            if zk::pause_on(&mut gate, core.handle_batch(batch).await).await? {
                                break;
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
                                break;
                            }
                            Some(e) => {
                                tracing::warn!(error = %e, "subscription lost; reconnecting");
                                break;
                            }
                        }
                    }
                    cmd = commands.recv() => match cmd {
                        Some(c) => core.command(c).await,
                        None => return Ok(()),
                    },
                    _ = tick.tick() => {
                        if zk::pause_on(&mut gate, core.tick().await).await? {
                            break;
                        }
                        if core.is_finished() {
                            return Ok(());
                        }
                    },
                    r = zk::lost(&mut gate) => {
                        r?;
                        break;
                    }
                    _ = detect::leader_changed(&mut detector) => break,
                    _ = &mut stop => return Ok(()),
                }
            },
            Err(MesosError::FrameworkRemoved(why)) => {
                tracing::error!(%why, "the master refused the framework id: subscribing anew");
                core.forget_framework()?;
            }
            Err(e) => tracing::warn!(error = %e, "cannot subscribe"),
        }
        core.disconnected();
        let delay = backoff.next_delay();
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = &mut stop => return Ok(()),
        }
    }
}
