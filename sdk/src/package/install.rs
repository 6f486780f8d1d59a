//! The options an operator may set when installing the package: `config.json`'s JSON
//! schema (types, bounds, defaults), and how each reaches the scheduler (the `STEAD_*`
//! variable it sets). The Marathon template, the plain Marathon app and the systemd
//! environment file are all written from this one list.

use serde_json::{Map, Value, json};
use stead_spec::overrides::env_var_name;
use stead_spec::{Commands, GoalState, ServiceSpec, TaskTypeSpec};

use super::PackageOptions;

/// A pattern for text options: no `"`, `\` or control characters, so that a value can be
/// written verbatim into a JSON string of the Marathon template.
pub const TEXT_PATTERN: &str = r#"^[^"\\\u0000-\u001f]*$"#;
/// The longest ZooKeeper session an install may ask for, in seconds: a scheduler restarted
/// by Marathon waits up to one session for its predecessor's lock before it serves its
/// health check, whose grace period is 300 s (ZooKeeper itself allows at most 40 s by
/// default).
const MAX_SESSION_SECS: u64 = 120;
/// A Marathon app id segment.
const NAME_PATTERN: &str = "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$";

/// How an option's value is written where it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A JSON number, written as is.
    Number,
    /// A size in MiB: the variable takes `<n> MiB`.
    Size,
    /// Text.
    Text,
    /// `true` or `false`.
    Flag,
}

/// One install option.
#[derive(Debug, Clone)]
pub struct InstallOption {
    /// Its path in the options: `service.master`, `tasks.data.count`.
    pub path: String,
    /// Its schema in `config.json`, with its `default`.
    pub schema: Value,
    /// How its value is written.
    pub kind: Kind,
    /// The scheduler's variable it sets, if one (some shape the Marathon app instead).
    pub env: Option<String>,
}

impl InstallOption {
    fn new(path: String, kind: Kind, env: Option<String>, schema: Value) -> InstallOption {
        InstallOption {
            path,
            schema,
            kind,
            env,
        }
    }

    /// The default value.
    pub fn default_value(&self) -> &Value {
        &self.schema["default"]
    }

    /// The default as the text of its variable (`512 MiB`, `true`, `3`), numbers written
    /// as a template engine writes them (`1` for 1.0).
    pub fn default_text(&self) -> String {
        let text = match self.default_value() {
            Value::Number(n) => match n.as_u64() {
                Some(u) => u.to_string(),
                None => n.as_f64().unwrap_or_default().to_string(),
            },
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match self.kind {
            Kind::Size => format!("{text} MiB"),
            _ => text,
        }
    }
}

/// Every install option of a service, the scheduler's (`service.*`) first, then each task
/// type's (`tasks.<task type>.*`).
#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// The options, in order.
    pub options: Vec<InstallOption>,
}

impl InstallOptions {
    /// The options of `spec` with `package`'s values as the scheduler's defaults.
    pub fn new(spec: &ServiceSpec, package: &PackageOptions) -> InstallOptions {
        let zk = package.zk.as_deref().unwrap_or(super::DEFAULT_ZK);
        let env = |name: &str| Some(name.to_string());
        let mut options = vec![
            InstallOption::new(
                "service.name".into(),
                Kind::Text,
                None,
                json!({"type": "string", "pattern": NAME_PATTERN, "default": spec.name,
                       "description": "The scheduler's Marathon app id."}),
            ),
            InstallOption::new(
                "service.master".into(),
                Kind::Text,
                env("STEAD_MASTER"),
                json!({"type": "string", "pattern": r#"^(https?|zk)://[^"\\\s]+$"#,
                       "default": package.master,
                       "description": "The Mesos master: http://host:5050, or zk://host:2181/mesos to follow the leader."}),
            ),
            InstallOption::new(
                "service.zk".into(),
                Kind::Text,
                env("STEAD_ZK"),
                json!({"type": "string", "pattern": r#"^zk://[^"\\\s]+$"#, "default": zk,
                       "description": format!("The ZooKeeper holding the scheduler's state and lock (under /stead/{} unless the URL has a path).", spec.name)}),
            ),
            InstallOption::new(
                "service.zk_session_timeout".into(),
                Kind::Number,
                env("STEAD_ZK_SESSION_TIMEOUT"),
                json!({"type": "integer", "minimum": 1, "maximum": MAX_SESSION_SECS,
                       "default": package.zk_session_timeout.as_secs().clamp(1, MAX_SESSION_SECS),
                       "description": "The ZooKeeper session timeout in seconds: how long a restarted scheduler may wait for its predecessor's lock, and how long a network blip may last before the session is renewed."}),
            ),
            InstallOption::new(
                "service.api_port".into(),
                Kind::Number,
                None,
                json!({"type": "integer", "minimum": 0, "maximum": 65535, "default": 0,
                       "description": "The operator API's host port; 0 lets Marathon choose one."}),
            ),
            InstallOption::new(
                "service.api_token_secret".into(),
                Kind::Text,
                None,
                json!({"type": "string", "pattern": TEXT_PATTERN, "default": "",
                       "description": "The path of a DC/OS secret holding the operator API's token (empty: no token)."}),
            ),
            InstallOption::new(
                "service.cpus".into(),
                Kind::Number,
                None,
                json!({"type": "number", "minimum": 0, "exclusiveMinimum": true, "default": 0.5,
                       "description": "CPUs of the scheduler."}),
            ),
            InstallOption::new(
                "service.mem".into(),
                Kind::Number,
                None,
                json!({"type": "integer", "minimum": 128, "default": 512,
                       "description": "Memory of the scheduler in MiB."}),
            ),
        ];
        for t in &spec.task_types {
            options.extend(task_options(t));
        }
        InstallOptions { options }
    }

    /// The options that set a scheduler variable.
    pub fn with_env(&self) -> impl Iterator<Item = (&InstallOption, &str)> {
        self.options
            .iter()
            .filter_map(|o| o.env.as_deref().map(|e| (o, e)))
    }

    /// The option at `path`. Every path [`InstallOptions::new`] makes is present.
    pub fn get(&self, path: &str) -> Option<&InstallOption> {
        self.options.iter().find(|o| o.path == path)
    }

    /// `config.json`: a draft-04 JSON schema of the options, grouped as their paths say,
    /// every group closed to unknown keys.
    pub fn config_schema(&self) -> Value {
        let mut root = group("The install options.");
        for o in &self.options {
            let segments: Vec<&str> = o.path.split('.').collect();
            let Some((leaf, groups)) = segments.split_last() else {
                continue;
            };
            let mut node = &mut root;
            for g in groups {
                node = node["properties"]
                    .as_object_mut()
                    .map(|p| {
                        p.entry(g.to_string())
                            .or_insert_with(|| group(&describe(g)))
                    })
                    // Invariant: every group made by `group` has a `properties` object.
                    .expect("a group has properties");
            }
            node["properties"][*leaf] = o.schema.clone();
        }
        root["$schema"] = json!("http://json-schema.org/draft-04/schema#");
        root
    }
}

fn describe(group: &str) -> String {
    match group {
        "service" => "The scheduler.".to_string(),
        "tasks" => "The task types: every key a `--set` override may change.".to_string(),
        task => format!("Task type `{task}`."),
    }
}

fn group(description: &str) -> Value {
    json!({"type": "object", "description": description, "additionalProperties": false,
           "properties": Map::new()})
}

/// The `--set` keys of task type `t` with its current values as defaults. Left out: a
/// resource the task type does not have, and a command that is one per instance or does
/// not fit [`TEXT_PATTERN`].
fn task_options(t: &TaskTypeSpec) -> Vec<InstallOption> {
    let option = |key: &str, kind: Kind, schema: Value| {
        InstallOption::new(
            format!("tasks.{}.{key}", t.name),
            kind,
            Some(env_var_name(&t.name, key)),
            schema,
        )
    };
    let mut out = vec![option(
        "count",
        Kind::Number,
        json!({"type": "integer", "minimum": 1, "maximum": u32::MAX, "default": t.count,
               "description": format!("Instances of {}.", t.name)}),
    )];
    if let Some(cpus) = t.resource("cpus") {
        out.push(option(
            "cpus",
            Kind::Number,
            json!({"type": "number", "minimum": 0, "exclusiveMinimum": true, "default": cpus,
                   "description": "CPUs of each instance."}),
        ));
    }
    for (key, minimum, exclusive, what) in [
        ("mem", 0, true, "Memory of each instance in MiB."),
        ("disk", 0, false, "Scratch disk of each instance in MiB."),
    ] {
        if let Some(size) = t.resource(key) {
            out.push(option(
                key,
                Kind::Size,
                json!({"type": "number", "minimum": minimum, "exclusiveMinimum": exclusive,
                       "default": size, "description": what}),
            ));
        }
    }
    if let Commands::Template(command) = &t.command
        && is_text(&command.value)
    {
        out.push(option(
            "command",
            Kind::Text,
            json!({"type": "string", "minLength": 1, "pattern": TEXT_PATTERN,
                   "default": command.value,
                   "description": "The command of each instance ({{index}} is its index)."}),
        ));
    }
    let placement: Vec<String> = t.placement.iter().map(ToString::to_string).collect();
    let placement = placement.join(";");
    if is_text(&placement) {
        out.push(option(
            "placement",
            Kind::Text,
            json!({"type": "string", "pattern": TEXT_PATTERN, "default": placement,
                   "description": "Placement rules, `;`-joined (e.g. hostname:UNIQUE)."}),
        ));
    }
    out.push(option(
        "goal",
        Kind::Text,
        json!({"type": "string", "enum": GoalState::NAMES, "default": t.goal.as_str(),
               "description": "RUNNING, FINISHED or ONCE."}),
    ));
    out.push(option(
        "allow_decommission",
        Kind::Flag,
        json!({"type": "boolean", "default": t.allow_decommission,
               "description": "Whether a lower count removes instances and their volumes."}),
    ));
    out
}

/// True when `s` fits [`TEXT_PATTERN`].
fn is_text(s: &str) -> bool {
    !s.chars()
        .any(|c| c == '"' || c == '\\' || (c as u32) < 0x20)
}
