//! Operator overrides: `--set data.count=5` and `STEAD_DATA_COUNT=5`.
//!
//! An environment variable `STEAD_<TASK>_<KEY>` names a task type upper-cased with
//! `-` written `_` (`meta-data` -> `META_DATA`) and a key upper-cased
//! (`allow_decommission` -> `ALLOW_DECOMMISSION`). Other `STEAD_*` variables are
//! ignored unless they look like a mistyped override. Overrides apply in order, so
//! put environment overrides before `--set` ones to let the command line win.
//!
//! Values: `count` a whole number, `cpus` a number, `mem`/`disk` a size with a unit
//! (`2 GiB`), `command` a command template, `allow_decommission` `true`/`false`,
//! `placement` rules (`;`-joined, empty to clear), `goal` RUNNING/FINISHED/ONCE.

use crate::error::{RuleError, SpecError, SpecErrors};
use crate::model::{Commands, ServiceSpec};
use crate::suggest::suggestion;
use crate::{rules, units};

/// The keys an override may set.
pub const OVERRIDE_KEYS: &[&str] = &[
    "count",
    "cpus",
    "mem",
    "disk",
    "command",
    "allow_decommission",
    "placement",
    "goal",
];

/// The prefix of override environment variables.
pub const ENV_PREFIX: &str = "STEAD_";

/// One override of one key of one task type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    /// The task type name.
    pub task_type: String,
    /// The key (one of [`OVERRIDE_KEYS`]).
    pub key: String,
    /// The new value, as text.
    pub value: String,
    /// Where it came from, for error messages (`--set data.count=5`, `STEAD_DATA_COUNT`).
    pub origin: String,
}

impl Override {
    /// An override as if given with `--set task.key=value`.
    pub fn new(
        task_type: impl Into<String>,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        let (task_type, key, value) = (task_type.into(), key.into(), value.into());
        Self {
            origin: format!("--set {task_type}.{key}={value}"),
            task_type,
            key,
            value,
        }
    }

    /// Parses a `--set` argument: `<task type>.<key>=<value>`.
    pub fn parse_set(arg: &str) -> Result<Self, SpecError> {
        let origin = format!("--set {arg}");
        let fail = |m: &str| SpecError {
            location: origin.clone(),
            message: m.to_string(),
        };
        let (path, value) = arg
            .split_once('=')
            .ok_or_else(|| fail("expected `<task type>.<key>=<value>`, e.g. `data.count=5`"))?;
        let (task_type, key) = path
            .trim()
            .rsplit_once('.')
            .ok_or_else(|| fail("expected `<task type>.<key>=<value>`, e.g. `data.count=5`"))?;
        if task_type.is_empty() || key.is_empty() {
            return Err(fail(
                "expected `<task type>.<key>=<value>`, e.g. `data.count=5`",
            ));
        }
        Ok(Self {
            task_type: task_type.to_string(),
            key: key.to_string(),
            value: value.trim().to_string(),
            origin,
        })
    }

    /// Parses several `--set` arguments, reporting every malformed one.
    pub fn parse_sets<'a, I>(args: I) -> Result<Vec<Self>, SpecErrors>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let mut errors = SpecErrors::default();
        let mut out = Vec::new();
        for arg in args {
            match Self::parse_set(arg) {
                Ok(o) => out.push(o),
                Err(e) => errors.push(e),
            }
        }
        errors.into_result(out)
    }
}

/// The environment variable overriding `key` of `task_type`: `STEAD_DATA_COUNT`.
pub fn env_var_name(task_type: &str, key: &str) -> String {
    format!("{ENV_PREFIX}{}_{}", env_part(task_type), env_part(key))
}

fn env_part(s: &str) -> String {
    s.to_ascii_uppercase().replace('-', "_")
}

/// Reads overrides from environment variables (pass `std::env::vars()`), for the
/// task types of `spec`, sorted by variable name.
pub fn overrides_from_env<I, K, V>(vars: I, spec: &ServiceSpec) -> Result<Vec<Override>, SpecErrors>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut vars: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(k, _)| k.as_ref().starts_with(ENV_PREFIX))
        .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
        .collect();
    vars.sort();
    let mut errors = SpecErrors::default();
    let mut out = Vec::new();
    for (var, value) in vars {
        let rest = &var[ENV_PREFIX.len()..];
        let task = spec
            .task_types
            .iter()
            .map(|t| (t, format!("{}_", env_part(&t.name))))
            .filter(|(_, p)| rest.starts_with(p.as_str()) && rest.len() > p.len())
            .max_by_key(|(_, p)| p.len());
        match task {
            Some((t, prefix)) => {
                let key = rest[prefix.len()..].to_ascii_lowercase();
                if OVERRIDE_KEYS.contains(&key.as_str()) {
                    out.push(Override {
                        task_type: t.name.clone(),
                        key,
                        value: value.trim().to_string(),
                        origin: var.clone(),
                    });
                } else {
                    errors.push(SpecError {
                        location: var.clone(),
                        message: unknown_key(&key).message,
                    });
                }
            }
            None => {
                // A variable ending in a known key looks like an override of a
                // mistyped task type; anything else belongs to someone else.
                let guess = OVERRIDE_KEYS.iter().find_map(|k| {
                    rest.strip_suffix(&format!("_{}", env_part(k)))
                        .filter(|t| !t.is_empty())
                });
                if let Some(task) = guess {
                    let name = task.to_ascii_lowercase().replace('_', "-");
                    errors.push(SpecError {
                        location: var.clone(),
                        message: unknown_task(spec, &name).message,
                    });
                }
            }
        }
    }
    errors.into_result(out)
}

fn unknown_task(spec: &ServiceSpec, name: &str) -> RuleError {
    let names: Vec<&str> = spec.task_types.iter().map(|t| t.name.as_str()).collect();
    RuleError::new(format!(
        "no task type `{name}`{} in service `{}`; task types are: {}",
        suggestion(name, names.iter().copied()),
        spec.name,
        names.join(", ")
    ))
}

fn unknown_key(key: &str) -> RuleError {
    RuleError::new(format!(
        "`{key}` cannot be overridden{}; keys are: {}",
        suggestion(key, OVERRIDE_KEYS.iter().copied()),
        OVERRIDE_KEYS.join(", ")
    ))
}

/// The count the last valid `count` override of `task_type` sets, if any.
pub fn count_override(overrides: &[Override], task_type: &str) -> Option<u32> {
    overrides
        .iter()
        .rev()
        .filter(|o| o.task_type == task_type && o.key == "count")
        .find_map(|o| {
            o.value
                .parse::<i64>()
                .ok()
                .and_then(|n| rules::count(n).ok())
        })
}

fn number(key: &str, value: &str) -> Result<f64, RuleError> {
    value
        .parse::<f64>()
        .map_err(|_| RuleError::new(format!("{key} must be a number, got `{value}`")))
}

fn apply_one(spec: &mut ServiceSpec, o: &Override) -> Result<(), RuleError> {
    let (role, principal) = (spec.role.clone(), spec.principal.clone());
    let Some(t) = spec.task_types.iter_mut().find(|t| t.name == o.task_type) else {
        return Err(unknown_task(spec, &o.task_type));
    };
    let v = o.value.as_str();
    match o.key.as_str() {
        "count" => {
            let n = v
                .parse::<i64>()
                .map_err(|_| RuleError::new(format!("count must be a whole number, got `{v}`")))?;
            let n = rules::count(n)?;
            if let Commands::PerInstance(list) = &mut t.command {
                if n as usize > list.len() {
                    return Err(RuleError::new(format!(
                        "task type `{}` has one command per instance ({} of them); its count cannot be raised to {n} here",
                        t.name,
                        list.len()
                    )));
                }
                list.truncate(n as usize);
            }
            t.count = n;
        }
        "cpus" => {
            let n = number("cpus", v)?;
            rules::cpus(n)?;
            t.set_resource("cpus", n, &role, &principal);
        }
        "mem" => {
            let n = units::parse_size(v)?;
            rules::mem(n)?;
            t.set_resource("mem", n, &role, &principal);
        }
        "disk" => {
            let n = units::parse_size(v)?;
            rules::disk(n)?;
            t.set_resource("disk", n, &role, &principal);
        }
        "command" => {
            rules::command(v)?;
            let mut template = match &t.command {
                Commands::Template(c) => c.clone(),
                Commands::PerInstance(list) => list.first().cloned().unwrap_or_default(),
            };
            template.value = v.to_string();
            t.command = Commands::Template(template);
        }
        "allow_decommission" => t.allow_decommission = rules::boolean("allow_decommission", v)?,
        "placement" => t.placement = rules::placement(v)?,
        "goal" => t.goal = rules::goal(v)?,
        other => return Err(unknown_key(other)),
    }
    Ok(())
}

/// Applies overrides in order, then validates the result. Returns every error:
/// unknown task types and keys (with suggestions), bad values, and rule violations.
pub fn apply_overrides(spec: &mut ServiceSpec, overrides: &[Override]) -> Result<(), SpecErrors> {
    let mut errors = SpecErrors::default();
    for o in overrides {
        if let Err(e) = apply_one(spec, o) {
            errors.push(e.at(o.origin.clone()));
        }
    }
    if let Err(more) = spec.validate() {
        errors.0.extend(more);
    }
    errors.into_result(())
}
