//! The canonical service specification: what the config store stores and compares.
//!
//! Every map is a `BTreeMap` and [`ServiceSpec::normalize`] sorts the order-free
//! lists, so the JSON form (and so the [`ConfigId`]) depends only on the content.

use crate::placement::PlacementRule;
use crate::units::serde_duration;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// The role a service registers with unless it says otherwise: `<service>-role`.
pub fn default_role(service: &str) -> String {
    format!("{service}-role")
}

/// The principal a service uses unless it says otherwise: `<service>-principal`.
pub fn default_principal(service: &str) -> String {
    format!("{service}-principal")
}

/// The content id of a [`ServiceSpec`]: the first 16 bytes of the SHA-256 of its
/// canonical JSON, in hex.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConfigId(pub String);

impl fmt::Display for ConfigId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl ConfigId {
    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A whole service: a name and its task types.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceSpec {
    /// The service name (a DNS-1123 label).
    pub name: String,
    /// The Mesos role the framework registers with and reserves resources for.
    pub role: String,
    /// The Mesos principal the framework authenticates and reserves as.
    pub principal: String,
    /// The task types, in deployment order.
    pub task_types: Vec<TaskTypeSpec>,
}

/// What an instance does once running.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GoalState {
    /// Keep running; relaunch whenever it stops.
    #[default]
    Running,
    /// Run to completion; relaunch when it fails, and after a configuration change.
    Finished,
    /// Run to completion once; never relaunch after success, even on config change.
    Once,
}

impl GoalState {
    /// The names as written in specs.
    pub const NAMES: &[&str] = &["RUNNING", "FINISHED", "ONCE"];

    /// The name as written in specs.
    pub fn as_str(self) -> &'static str {
        match self {
            GoalState::Running => "RUNNING",
            GoalState::Finished => "FINISHED",
            GoalState::Once => "ONCE",
        }
    }
}

/// One kind of task, run as `count` instances named `<name>-<index>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskTypeSpec {
    /// The task type name (a DNS-1123 label).
    pub name: String,
    /// How many instances.
    pub count: u32,
    /// Whether instances run forever or to completion.
    pub goal: GoalState,
    /// The command, as a template or one per instance.
    pub command: Commands,
    /// Scalar resources per instance (`cpus`, `mem`, `disk`, ...).
    pub resources: Vec<ResourceSpec>,
    /// Persistent volumes per instance.
    pub volumes: Vec<VolumeSpec>,
    /// Named ports per instance.
    pub ports: Vec<PortSpec>,
    /// Placement rules, all of which must hold.
    pub placement: Vec<PlacementRule>,
    /// The health check, if any.
    pub health_check: Option<CheckSpec>,
    /// The readiness check, if any.
    pub readiness_check: Option<CheckSpec>,
    /// Whether lowering `count` (or removing the task type) may decommission instances.
    pub allow_decommission: bool,
    /// How long a killed task has between SIGTERM and SIGKILL, if not the default.
    #[serde(with = "serde_duration::option")]
    pub kill_grace_period: Option<Duration>,
}

/// The command of a task type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Commands {
    /// One template for every instance (see [`CommandSpec::render`]).
    Template(CommandSpec),
    /// One command per instance index (`len() == count`), for impls whose
    /// `command(index)` varies without a declared template.
    PerInstance(Vec<CommandSpec>),
}

/// A command: a shell command line, the URIs to fetch first, and environment variables.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandSpec {
    /// The shell command line. In a template, `{{index}}` is the instance index,
    /// `{{name}}` the task type name, `{{instance}}` the instance name, and `{{address}}`
    /// and `{{hostname}}` the address the task binds and its agent's hostname (known at
    /// launch, see [`CommandSpec::render_address`]).
    pub value: String,
    /// Artifacts fetched into the sandbox before the command runs.
    pub uris: Vec<UriSpec>,
    /// Environment variables (values are templates too).
    pub env: BTreeMap<String, String>,
}

/// An artifact to fetch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UriSpec {
    /// The URI (http, https or file).
    pub value: String,
    /// Whether archives are extracted (default true).
    pub extract: bool,
    /// Whether the fetched file is made executable (default false).
    pub executable: bool,
}

impl UriSpec {
    /// A URI with the default flags (extract archives, not executable).
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            extract: true,
            executable: false,
        }
    }
}

/// A scalar resource such as `cpus` = 1.0 or `mem` = 512 (MiB).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceSpec {
    /// The Mesos resource name.
    pub name: String,
    /// The amount (MiB for `mem` and `disk`).
    pub value: f64,
    /// The role reserved for.
    pub role: String,
    /// The principal reserving.
    pub principal: String,
}

/// The kind of disk a volume lives on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VolumeType {
    /// A slice of the agent's root disk.
    Root,
    /// A whole dedicated mount disk.
    Mount,
}

impl VolumeType {
    /// The names as written in specs.
    pub const NAMES: &[&str] = &["ROOT", "MOUNT"];

    /// The name as written in specs.
    pub fn as_str(self) -> &'static str {
        match self {
            VolumeType::Root => "ROOT",
            VolumeType::Mount => "MOUNT",
        }
    }
}

/// A persistent volume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeSpec {
    /// The size in MiB.
    pub size_mib: u64,
    /// ROOT or MOUNT.
    #[serde(rename = "type")]
    pub kind: VolumeType,
    /// Where the volume appears, relative to the sandbox.
    pub container_path: String,
    /// The role reserved for.
    pub role: String,
    /// The principal reserving.
    pub principal: String,
}

/// A named port; the task sees it as `PORT_<NAME>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    /// The port name (letters, digits and `_`, not starting with a digit).
    pub name: String,
    /// The port number, or 0 for any free port.
    pub port: u16,
}

impl PortSpec {
    /// The environment variable carrying the port: `PORT_<NAME>` upper-cased.
    pub fn env_name(&self) -> String {
        format!("PORT_{}", self.name.to_ascii_uppercase().replace('-', "_"))
    }
}

/// A health or readiness check: a shell command run periodically in the task's sandbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckSpec {
    /// The shell command; exit code 0 means healthy/ready.
    pub command: String,
    /// Time between two checks (> 0).
    #[serde(with = "serde_duration")]
    pub interval: Duration,
    /// How long one check may take (> 0).
    #[serde(with = "serde_duration")]
    pub timeout: Duration,
    /// Failures during this time after start do not count.
    #[serde(with = "serde_duration")]
    pub grace_period: Duration,
    /// Time before the first check.
    #[serde(with = "serde_duration")]
    pub delay: Duration,
    /// Consecutive failures after which the task is killed (health checks; >= 1).
    pub max_consecutive_failures: u32,
}

impl CheckSpec {
    /// Default interval between checks.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
    /// Default check timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default grace period.
    pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(30);
    /// Default delay before the first check.
    pub const DEFAULT_DELAY: Duration = Duration::ZERO;
    /// Default consecutive failures before the task is killed.
    pub const DEFAULT_MAX_FAILURES: u32 = 3;

    /// A check running `command` with the default timings.
    pub fn new(command: impl Into<String>) -> Self {
        Self {
            command: command.into(),
            interval: Self::DEFAULT_INTERVAL,
            timeout: Self::DEFAULT_TIMEOUT,
            grace_period: Self::DEFAULT_GRACE_PERIOD,
            delay: Self::DEFAULT_DELAY,
            max_consecutive_failures: Self::DEFAULT_MAX_FAILURES,
        }
    }
}

/// Template placeholders: those of [`CommandSpec::render`], then those of
/// [`CommandSpec::render_address`].
pub const PLACEHOLDERS: &[&str] = &["index", "name", "instance", "address", "hostname"];

/// Replaces `{{address}}` and `{{hostname}}` in `template`.
pub fn render_address_template(template: &str, address: &str, hostname: &str) -> String {
    template
        .replace("{{address}}", address)
        .replace("{{hostname}}", hostname)
}

/// Replaces the placeholders of `template`. Unknown placeholders are left as written
/// (validation rejects them).
pub fn render_template(template: &str, task_type: &str, index: u32) -> String {
    template
        .replace("{{index}}", &index.to_string())
        .replace("{{name}}", task_type)
        .replace("{{instance}}", &instance_name(task_type, index))
}

/// The stable name of an instance: `<task type>-<index>`, e.g. `data-2`.
pub fn instance_name(task_type: &str, index: u32) -> String {
    format!("{task_type}-{index}")
}

impl CommandSpec {
    /// A command line without URIs or environment.
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            ..Self::default()
        }
    }

    /// The command of instance `index` of `task_type`: placeholders replaced in the
    /// command line and the environment values.
    pub fn render(&self, task_type: &str, index: u32) -> CommandSpec {
        self.map_templates(|t| render_template(t, task_type, index))
    }

    /// The command placed on an agent: `{{address}}` (the address the task binds) and
    /// `{{hostname}}` (its agent's hostname) replaced in the command line and the
    /// environment values. [`render`](Self::render) leaves them for this step, so that a
    /// configuration does not depend on where its instances run.
    pub fn render_address(&self, address: &str, hostname: &str) -> CommandSpec {
        self.map_templates(|t| render_address_template(t, address, hostname))
    }

    /// This command with `render` applied to the command line and the environment values.
    fn map_templates(&self, render: impl Fn(&str) -> String) -> CommandSpec {
        CommandSpec {
            value: render(&self.value),
            uris: self.uris.clone(),
            env: self
                .env
                .iter()
                .map(|(k, v)| (k.clone(), render(v)))
                .collect(),
        }
    }
}

impl TaskTypeSpec {
    /// A task type running `count` instances of `command`, with no resources yet.
    pub fn new(name: impl Into<String>, count: u32, command: CommandSpec) -> Self {
        Self {
            name: name.into(),
            count,
            goal: GoalState::Running,
            command: Commands::Template(command),
            resources: Vec::new(),
            volumes: Vec::new(),
            ports: Vec::new(),
            placement: Vec::new(),
            health_check: None,
            readiness_check: None,
            allow_decommission: false,
            kill_grace_period: None,
        }
    }

    /// The command of instance `index`, rendered; `None` if `index` has none
    /// (beyond a per-instance list).
    pub fn render_command(&self, index: u32) -> Option<CommandSpec> {
        match &self.command {
            Commands::Template(t) => Some(t.render(&self.name, index)),
            Commands::PerInstance(list) => list.get(usize::try_from(index).ok()?).cloned(),
        }
    }

    /// The name of instance `index`, e.g. `data-2`.
    pub fn instance_name(&self, index: u32) -> String {
        instance_name(&self.name, index)
    }

    /// The amount of resource `name`, if declared.
    pub fn resource(&self, name: &str) -> Option<f64> {
        self.resources
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.value)
    }

    /// Declared cpus (0 if absent).
    pub fn cpus(&self) -> f64 {
        self.resource("cpus").unwrap_or(0.0)
    }

    /// Declared mem in MiB (0 if absent).
    pub fn mem(&self) -> f64 {
        self.resource("mem").unwrap_or(0.0)
    }

    /// Declared disk in MiB (0 if absent).
    pub fn disk(&self) -> f64 {
        self.resource("disk").unwrap_or(0.0)
    }

    /// Sets resource `name` to `value`, adding it with `role`/`principal` if absent.
    pub fn set_resource(&mut self, name: &str, value: f64, role: &str, principal: &str) {
        match self.resources.iter_mut().find(|r| r.name == name) {
            Some(r) => r.value = value,
            None => self.resources.push(ResourceSpec {
                name: name.to_string(),
                value,
                role: role.to_string(),
                principal: principal.to_string(),
            }),
        }
    }

    /// Sorts the order-free lists (resources, volumes, ports) into canonical order.
    pub fn normalize(&mut self) {
        self.resources.sort_by(|a, b| a.name.cmp(&b.name));
        self.volumes
            .sort_by(|a, b| a.container_path.cmp(&b.container_path));
        self.ports.sort_by(|a, b| a.name.cmp(&b.name));
    }
}

impl ServiceSpec {
    /// An empty service named `name` with the default role and principal.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        Self {
            role: default_role(&name),
            principal: default_principal(&name),
            name,
            task_types: Vec::new(),
        }
    }

    /// The task type called `name`.
    pub fn task_type(&self, name: &str) -> Option<&TaskTypeSpec> {
        self.task_types.iter().find(|t| t.name == name)
    }

    /// Puts every task type's order-free lists into canonical order.
    pub fn normalize(&mut self) {
        self.task_types.iter_mut().for_each(TaskTypeSpec::normalize);
    }

    /// The canonical JSON form (normalized, deterministic).
    pub fn canonical_json(&self) -> String {
        let mut spec = self.clone();
        spec.normalize();
        // Invariant: the model has only string map keys and serializable fields, so
        // serde_json cannot fail (non-finite floats become `null`).
        serde_json::to_string(&spec).expect("a ServiceSpec always serializes to JSON")
    }

    /// The content id: equal specs have equal ids, any change gives a new one.
    pub fn id(&self) -> ConfigId {
        let digest = Sha256::digest(self.canonical_json().as_bytes());
        ConfigId(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Reads a spec from its JSON form.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}
