//! A small test scheduler speaking the v1 scheduler API over real HTTP.

use std::time::Duration;

use anyhow::{Context, bail};
use futures::StreamExt;
use prost::Message;
use stead_proto::scheduler::{Call, Event, call, event};
use stead_proto::v1::offer::{Operation, operation};
use stead_proto::v1::resource::{DiskInfo, ReservationInfo, disk_info, reservation_info};
use stead_proto::v1::{
    AgentId, CommandInfo, FrameworkId, FrameworkInfo, Label, Labels, Offer, OfferId, Resource,
    TaskId, TaskInfo, TaskState, TaskStatus, Volume, framework_info,
};
use tokio::sync::mpsc;

/// Generous timeout for end-to-end waits.
pub const WAIT: Duration = Duration::from_secs(30);

/// Body encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enc {
    Json,
    Protobuf,
}

impl Enc {
    pub fn content_type(self) -> &'static str {
        match self {
            Enc::Json => "application/json",
            Enc::Protobuf => "application/x-protobuf",
        }
    }
    pub fn encode_call(self, c: &Call) -> Vec<u8> {
        match self {
            Enc::Json => stead_proto::json::to_json_vec(c).unwrap(),
            Enc::Protobuf => c.encode_to_vec(),
        }
    }
    fn decode_event(self, b: &[u8]) -> anyhow::Result<Event> {
        Ok(match self {
            Enc::Json => stead_proto::json::from_json_slice(b)?,
            Enc::Protobuf => Event::decode(b)?,
        })
    }
}

/// A subscribed test framework.
pub struct Sched {
    pub http: reqwest::Client,
    pub url: String,
    pub enc: Enc,
    pub framework_id: String,
    pub stream_id: String,
    pub info: FrameworkInfo,
    pub heartbeat_interval: f64,
    events: mpsc::UnboundedReceiver<anyhow::Result<Event>>,
    /// OFFERS events skipped while waiting for something else.
    stashed_offers: std::collections::VecDeque<Event>,
    /// Updates seen (and acknowledged) while waiting for another one.
    stashed_updates: Vec<TaskStatus>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Sched {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// A framework info with a role, a principal and the given capabilities.
pub fn framework(
    name: &str,
    role: &str,
    failover: f64,
    caps: &[framework_info::capability::Type],
) -> FrameworkInfo {
    FrameworkInfo {
        user: "nobody".into(),
        name: name.into(),
        role: Some(role.into()),
        principal: Some(format!("{name}-principal")),
        failover_timeout: Some(failover),
        capabilities: caps
            .iter()
            .map(|c| framework_info::Capability {
                r#type: Some(*c as i32),
            })
            .collect(),
        ..Default::default()
    }
}

pub fn subscribe_call(info: &FrameworkInfo) -> Call {
    Call {
        framework_id: info.id.clone(),
        r#type: Some(call::Type::Subscribe as i32),
        subscribe: Some(call::Subscribe {
            framework_info: info.clone(),
            suppressed_roles: vec![],
        }),
        ..Default::default()
    }
}

impl Sched {
    /// Subscribes and waits for SUBSCRIBED.
    pub async fn subscribe(url: &str, info: FrameworkInfo, enc: Enc) -> anyhow::Result<Self> {
        let http = reqwest::Client::new();
        let resp = http
            .post(format!("{url}/api/v1/scheduler"))
            .header("Content-Type", enc.content_type())
            .header("Accept", enc.content_type())
            .body(enc.encode_call(&subscribe_call(&info)))
            .send()
            .await?;
        if resp.status() != 200 {
            bail!(
                "SUBSCRIBE answered {}: {}",
                resp.status(),
                resp.text().await.unwrap_or_default()
            );
        }
        let stream_id = resp
            .headers()
            .get("Mesos-Stream-Id")
            .context("no Mesos-Stream-Id")?
            .to_str()?
            .to_string();
        let (tx, mut events) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            let mut body = resp.bytes_stream();
            let mut dec = stead_proto::recordio::Decoder::new();
            while let Some(chunk) = body.next().await {
                let Ok(chunk) = chunk else { break };
                dec.push(&chunk);
                loop {
                    match dec.next_record() {
                        Ok(Some(rec)) => {
                            if tx.send(enc.decode_event(&rec)).is_err() {
                                return;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            let _ = tx.send(Err(e.into()));
                            return;
                        }
                    }
                }
            }
        });
        let first = tokio::time::timeout(WAIT, events.recv())
            .await?
            .context("stream ended")??;
        let sub = first.subscribed.context("first event is not SUBSCRIBED")?;
        let mut info = info;
        info.id = Some(sub.framework_id.clone());
        Ok(Self {
            http,
            url: url.to_string(),
            enc,
            framework_id: sub.framework_id.value,
            stream_id,
            info,
            heartbeat_interval: sub.heartbeat_interval_seconds.unwrap_or(0.0),
            events,
            stashed_offers: Default::default(),
            stashed_updates: Vec::new(),
            reader,
        })
    }

    /// Sends a call; returns the HTTP status and body.
    pub async fn call(&self, mut c: Call) -> anyhow::Result<(u16, String)> {
        c.framework_id = Some(FrameworkId {
            value: self.framework_id.clone(),
        });
        let resp = self
            .http
            .post(format!("{}/api/v1/scheduler", self.url))
            .header("Content-Type", self.enc.content_type())
            .header("Mesos-Stream-Id", &self.stream_id)
            .body(self.enc.encode_call(&c))
            .send()
            .await?;
        Ok((
            resp.status().as_u16(),
            resp.text().await.unwrap_or_default(),
        ))
    }

    /// Sends a call and expects 202.
    pub async fn send(&self, c: Call) -> anyhow::Result<()> {
        let (status, body) = self.call(c).await?;
        if status != 202 {
            bail!("call answered {status}: {body}");
        }
        Ok(())
    }

    /// The next event (of any type).
    pub async fn next_event(&mut self, timeout: Duration) -> anyhow::Result<Event> {
        tokio::time::timeout(timeout, self.events.recv())
            .await
            .context("timed out waiting for an event")?
            .context("the event stream ended")?
    }

    /// Waits for an event satisfying `pred`, skipping others.
    pub async fn wait_for(
        &mut self,
        what: &str,
        mut pred: impl FnMut(&Event) -> bool,
    ) -> anyhow::Result<Event> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let ev = self
                .next_event(left)
                .await
                .with_context(|| format!("waiting for {what}"))?;
            if pred(&ev) {
                return Ok(ev);
            }
            self.stash(ev);
        }
    }

    fn stash(&mut self, ev: Event) {
        if ev.r#type == Some(event::Type::Offers as i32) {
            self.stashed_offers.push_back(ev);
        }
    }

    /// Forgets offers received earlier and not yet consumed.
    pub fn clear_stash(&mut self) {
        self.stashed_offers.clear();
    }

    /// Waits for the next OFFERS event.
    pub async fn offers(&mut self) -> anyhow::Result<Vec<Offer>> {
        if let Some(ev) = self.stashed_offers.pop_front() {
            return Ok(ev.offers.map(|o| o.offers).unwrap_or_default());
        }
        let ev = self
            .wait_for("offers", |e| e.r#type == Some(event::Type::Offers as i32))
            .await?;
        Ok(ev.offers.map(|o| o.offers).unwrap_or_default())
    }

    /// Waits for an offer matching `pred`, declining (with no filter) the others.
    pub async fn offer_where(
        &mut self,
        mut pred: impl FnMut(&Offer) -> bool,
    ) -> anyhow::Result<Offer> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if tokio::time::Instant::now() > deadline {
                bail!("no matching offer");
            }
            let offers = self.offers().await?;
            let mut found = None;
            let mut others = vec![];
            for o in offers {
                if found.is_none() && pred(&o) {
                    found = Some(o);
                } else {
                    others.push(o.id.clone());
                }
            }
            if !others.is_empty() {
                self.send(decline(others, 0.0)).await?;
            }
            if let Some(o) = found {
                return Ok(o);
            }
        }
    }

    /// Waits for an update of `task_id` in `state` (acknowledging every update with a uuid;
    /// updates of other tasks seen meanwhile are kept for later calls).
    pub async fn update(&mut self, task_id: &str, state: TaskState) -> anyhow::Result<TaskStatus> {
        if let Some(i) = self
            .stashed_updates
            .iter()
            .position(|s| s.task_id.value == task_id && s.state == state as i32)
        {
            return Ok(self.stashed_updates.remove(i));
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let ev = self
                .next_event(left)
                .await
                .with_context(|| format!("waiting for {task_id} to be {state:?}"))?;
            if let Some(u) = ev.update.clone() {
                let s = u.status;
                if s.uuid.is_some() {
                    self.ack(&s).await?;
                }
                if s.task_id.value == task_id && s.state == state as i32 {
                    return Ok(s);
                }
                self.stashed_updates.push(s);
            } else {
                self.stash(ev);
            }
        }
    }

    /// Acknowledges an update.
    pub async fn ack(&self, s: &TaskStatus) -> anyhow::Result<()> {
        self.send(Call {
            r#type: Some(call::Type::Acknowledge as i32),
            acknowledge: Some(call::Acknowledge {
                agent_id: s.agent_id.clone().context("update without agent id")?,
                task_id: s.task_id.clone(),
                uuid: s.uuid.clone().context("update without uuid")?,
            }),
            ..Default::default()
        })
        .await
    }

    /// ACCEPT with operations.
    pub async fn accept(
        &self,
        offer: &Offer,
        ops: Vec<Operation>,
        refuse: f64,
    ) -> anyhow::Result<()> {
        self.send(Call {
            r#type: Some(call::Type::Accept as i32),
            accept: Some(call::Accept {
                offer_ids: vec![offer.id.clone()],
                operations: ops,
                filters: Some(stead_proto::v1::Filters {
                    refuse_seconds: Some(refuse),
                }),
            }),
            ..Default::default()
        })
        .await
    }

    pub fn role(&self) -> String {
        self.info.role.clone().unwrap_or_else(|| "*".into())
    }
    pub fn principal(&self) -> String {
        self.info.principal.clone().unwrap_or_default()
    }
}

pub fn simple(ty: call::Type) -> Call {
    Call {
        r#type: Some(ty as i32),
        ..Default::default()
    }
}

pub fn decline(ids: Vec<OfferId>, refuse: f64) -> Call {
    Call {
        r#type: Some(call::Type::Decline as i32),
        decline: Some(call::Decline {
            offer_ids: ids,
            filters: Some(stead_proto::v1::Filters {
                refuse_seconds: Some(refuse),
            }),
        }),
        ..Default::default()
    }
}

pub fn scalar(name: &str, v: f64) -> Resource {
    stead_local::resources::scalar_resource(name, v)
}

/// Sum of a scalar in an offer.
pub fn offered(o: &Offer, name: &str) -> f64 {
    o.resources
        .iter()
        .filter(|r| r.name == name)
        .filter_map(|r| r.scalar.as_ref())
        .map(|s| s.value)
        .sum()
}

/// A resource reserved (refinement format) to `role` with a `resource_id` label.
pub fn reserved(mut r: Resource, role: &str, principal: &str, id: &str) -> Resource {
    r.reservations.push(ReservationInfo {
        r#type: Some(reservation_info::Type::Dynamic as i32),
        role: Some(role.into()),
        principal: Some(principal.into()),
        labels: Some(Labels {
            labels: vec![Label {
                key: "resource_id".into(),
                value: Some(id.into()),
            }],
        }),
    });
    r
}

/// A persistent volume on reserved disk.
pub fn volume(disk: Resource, persistence_id: &str, principal: &str, path: &str) -> Resource {
    let mut v = disk;
    v.disk = Some(Box::new(DiskInfo {
        persistence: Some(disk_info::Persistence {
            id: persistence_id.into(),
            principal: Some(principal.into()),
        }),
        volume: Some(Volume {
            mode: stead_proto::v1::volume::Mode::Rw as i32,
            container_path: path.into(),
            ..Default::default()
        }),
        source: None,
    }));
    v
}

pub fn reserve_op(resources: Vec<Resource>) -> Operation {
    Operation {
        r#type: Some(operation::Type::Reserve as i32),
        reserve: Some(operation::Reserve {
            source: vec![],
            resources,
        }),
        ..Default::default()
    }
}

pub fn unreserve_op(resources: Vec<Resource>) -> Operation {
    Operation {
        r#type: Some(operation::Type::Unreserve as i32),
        unreserve: Some(operation::Unreserve { resources }),
        ..Default::default()
    }
}

pub fn create_op(volumes: Vec<Resource>) -> Operation {
    Operation {
        r#type: Some(operation::Type::Create as i32),
        create: Some(operation::Create { volumes }),
        ..Default::default()
    }
}

pub fn destroy_op(volumes: Vec<Resource>) -> Operation {
    Operation {
        r#type: Some(operation::Type::Destroy as i32),
        destroy: Some(operation::Destroy { volumes }),
        ..Default::default()
    }
}

pub fn launch_op(tasks: Vec<TaskInfo>) -> Operation {
    Operation {
        r#type: Some(operation::Type::Launch as i32),
        launch: Some(operation::Launch { task_infos: tasks }),
        ..Default::default()
    }
}

/// A shell command task.
pub fn task(id: &str, agent: &AgentId, cmd: &str, resources: Vec<Resource>) -> TaskInfo {
    TaskInfo {
        name: id.into(),
        task_id: TaskId { value: id.into() },
        agent_id: agent.clone(),
        resources,
        command: Some(CommandInfo {
            value: Some(cmd.into()),
            shell: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Waits until `f` returns true, polling.
pub async fn eventually<F, Fut>(what: &str, mut f: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !f().await {
        if tokio::time::Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}
