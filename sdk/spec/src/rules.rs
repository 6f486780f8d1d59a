//! The validation rules, one small function each. The DSL macros call them at
//! compile time (attaching the message to a span) and [`ServiceSpec::validate`](crate::ServiceSpec::validate) calls them
//! at run time (attaching the message to a location), so every rule exists once.

use crate::error::RuleError;
use crate::model::{GoalState, PLACEHOLDERS, VolumeType};
use crate::placement::PlacementRule;
use crate::suggest::suggestion;
use std::collections::HashSet;
use std::time::Duration;

/// The maximum length of a service or task type name.
pub const MAX_NAME_LEN: usize = 63;

fn err(message: impl Into<String>) -> Result<(), RuleError> {
    Err(RuleError::new(message))
}

/// A DNS-1123 label: lowercase letters, digits and `-`, starting and ending with a
/// letter or digit, at most 63 characters, no `__`. `what` names the thing ("service name").
pub fn dns_label(what: &str, name: &str) -> Result<(), RuleError> {
    if name.is_empty() {
        return err(format!("{what} must not be empty"));
    }
    if name.contains("__") {
        return err(format!("{what} `{name}` must not contain `__`"));
    }
    let len = name.chars().count();
    if len > MAX_NAME_LEN {
        return err(format!(
            "{what} `{name}` is {len} characters long; at most {MAX_NAME_LEN} are allowed"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        let hint = match dns_suggestion(name) {
            Some(fixed) => format!(" (try `{fixed}`)"),
            None => String::new(),
        };
        return err(format!(
            "{what} `{name}` contains `{c}`; only lowercase letters, digits and `-` are allowed{hint}"
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return err(format!(
            "{what} `{name}` must start and end with a lowercase letter or a digit"
        ));
    }
    Ok(())
}

/// A valid label close to `name` (lowercased, other characters turned into `-`),
/// if there is one.
fn dns_suggestion(name: &str) -> Option<String> {
    let mut fixed = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            fixed.push(c);
        } else if !fixed.ends_with('-') {
            fixed.push('-');
        }
    }
    let fixed = fixed.trim_matches('-').to_string();
    (fixed != name && dns_label("", &fixed).is_ok()).then_some(fixed)
}

/// A service name (a DNS-1123 label).
pub fn service_name(name: &str) -> Result<(), RuleError> {
    dns_label("service name", name)
}

/// A task type name (a DNS-1123 label).
pub fn task_name(name: &str) -> Result<(), RuleError> {
    dns_label("task type name", name)
}

/// A Mesos role: not empty, not `.` or `..`, no leading `-`, no `/`, spaces or control characters.
pub fn role(role: &str) -> Result<(), RuleError> {
    if role.is_empty() || role == "." || role == ".." || role.starts_with('-') {
        return err(format!("role `{role}` is not a valid Mesos role"));
    }
    if let Some(c) = role
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || *c == '/' || *c == '\\')
    {
        return err(format!("role `{role}` must not contain {c:?}"));
    }
    Ok(())
}

/// A principal: not empty, no whitespace.
pub fn principal(principal: &str) -> Result<(), RuleError> {
    if principal.is_empty() || principal.chars().any(char::is_whitespace) {
        return err(format!(
            "principal `{principal}` must be non-empty and contain no whitespace"
        ));
    }
    Ok(())
}

/// The instance count: a whole number >= 1 that fits in a u32.
pub fn count(count: i64) -> Result<u32, RuleError> {
    if count < 1 {
        let hint = if count == 0 {
            " (remove the task type instead)"
        } else {
            ""
        };
        return Err(RuleError::new(format!(
            "count must be at least 1, got {count}{hint}"
        )));
    }
    u32::try_from(count)
        .map_err(|_| RuleError::new(format!("count {count} is too large (at most {})", u32::MAX)))
}

/// `cpus`: finite and > 0.
pub fn cpus(value: f64) -> Result<(), RuleError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        err(format!(
            "cpus must be a finite number greater than 0, got {value}"
        ))
    }
}

/// `mem` in MiB: finite and > 0.
pub fn mem(value: f64) -> Result<(), RuleError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        err(format!(
            "mem must be a size greater than 0, got {value} MiB"
        ))
    }
}

/// `disk` in MiB: finite and >= 0.
pub fn disk(value: f64) -> Result<(), RuleError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        err(format!(
            "disk must be a size of at least 0, got {value} MiB"
        ))
    }
}

/// A resource name: not empty, letters, digits, `_`, `-`, `.`.
pub fn resource_name(name: &str) -> Result<(), RuleError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return err(format!("resource name `{name}` is not valid"));
    }
    Ok(())
}

/// A scalar resource's amount: the `cpus`/`mem`/`disk` rules, and finite >= 0 for others.
pub fn resource(name: &str, value: f64) -> Result<(), RuleError> {
    match name {
        "cpus" => cpus(value),
        "mem" => mem(value),
        "disk" => disk(value),
        "ports" => err("ports are declared with `ports`, not as a scalar resource"),
        _ if value.is_finite() && value >= 0.0 => Ok(()),
        _ => err(format!(
            "resource `{name}` must be a finite number of at least 0, got {value}"
        )),
    }
}

/// A volume type written as text: `ROOT` or `MOUNT` (any case).
pub fn volume_type(kind: &str) -> Result<VolumeType, RuleError> {
    match kind.to_ascii_uppercase().as_str() {
        "ROOT" => Ok(VolumeType::Root),
        "MOUNT" => Ok(VolumeType::Mount),
        _ => Err(RuleError::new(format!(
            "volume type must be ROOT or MOUNT, got `{kind}`{}",
            suggestion(
                &kind.to_ascii_uppercase(),
                VolumeType::NAMES.iter().copied()
            )
        ))),
    }
}

/// A volume size in MiB: > 0.
pub fn volume_size(size_mib: u64) -> Result<(), RuleError> {
    if size_mib == 0 {
        return err("volume size must be greater than 0");
    }
    Ok(())
}

/// A volume size given as a (possibly fractional) MiB amount: finite, > 0, rounded
/// up to a whole MiB.
pub fn volume_size_mib(size: f64) -> Result<u64, RuleError> {
    if !size.is_finite() || size <= 0.0 {
        return Err(RuleError::new(format!(
            "volume size must be greater than 0, got {size} MiB"
        )));
    }
    let whole = size.ceil();
    if whole > u64::MAX as f64 {
        return Err(RuleError::new("volume size is too large"));
    }
    // Invariant: `whole` is finite, positive and within u64 range (checked above).
    Ok(whole as u64)
}

/// A volume's container path: relative, non-empty, no `..` component.
pub fn container_path(path: &str) -> Result<(), RuleError> {
    if path.trim().is_empty() {
        return err("volume container path must not be empty");
    }
    if path.starts_with('/') {
        return err(format!(
            "volume container path `{path}` must be relative to the sandbox (no leading `/`)"
        ));
    }
    if path.split('/').any(|c| c == "..") {
        return err(format!(
            "volume container path `{path}` must not contain `..`"
        ));
    }
    if path.split('/').all(|c| c.is_empty() || c == ".") {
        return err(format!(
            "volume container path `{path}` must name a directory inside the sandbox"
        ));
    }
    if path.chars().any(|c| c.is_control()) {
        return err(format!(
            "volume container path {path:?} must not contain control characters"
        ));
    }
    Ok(())
}

/// The comparable form of a container path (`./a//b/` -> `a/b`).
pub fn normalize_path(path: &str) -> String {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// The known placeholders as a message lists them: `{{index}}, ... and {{hostname}}`.
fn known_placeholders() -> String {
    let all: Vec<String> = PLACEHOLDERS
        .iter()
        .map(|p| format!("{{{{{p}}}}}"))
        .collect();
    match all.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The placeholders of a template are known and closed.
pub fn template(what: &str, template: &str) -> Result<(), RuleError> {
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return err(format!("{what} has an unclosed `{{{{` in `{template}`"));
        };
        let name = after[..end].trim();
        if !PLACEHOLDERS.contains(&name) {
            return err(format!(
                "{what} uses unknown placeholder `{{{{{name}}}}}`{}; known placeholders are {}",
                suggestion(name, PLACEHOLDERS.iter().copied()),
                known_placeholders()
            ));
        }
        rest = &after[end + 2..];
    }
    Ok(())
}

/// A command line: not blank, with valid placeholders.
pub fn command(command: &str) -> Result<(), RuleError> {
    if command.trim().is_empty() {
        return err("command must not be empty");
    }
    template("command", command)
}

/// The URI schemes the fetcher supports.
pub const URI_SCHEMES: &[&str] = &["http", "https", "file"];

/// A URI to fetch: `http://host[:port]/...`, `https://...` or `file:///absolute/path`.
pub fn uri(uri: &str) -> Result<(), RuleError> {
    let bad = |why: &str| err(format!("URI `{uri}` {why}"));
    if uri.is_empty() {
        return err("URI must not be empty");
    }
    if let Some(c) = uri.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return bad(&format!("must not contain {c:?}"));
    }
    let Some((scheme, rest)) = uri.split_once("://") else {
        return bad("has no scheme; expected http://, https:// or file://");
    };
    let lower = scheme.to_ascii_lowercase();
    if !URI_SCHEMES.contains(&lower.as_str()) {
        return bad(&format!(
            "has unsupported scheme `{scheme}`; expected http, https or file"
        ));
    }
    if lower == "file" {
        if !rest.starts_with('/') || rest.len() < 2 {
            return bad("must name an absolute path, e.g. file:///opt/app.tgz");
        }
        return Ok(());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => return bad("has an unclosed `[` in its host"),
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return bad("has no host");
    }
    if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':' | '%'))
    {
        return bad(&format!("has an invalid host `{host}`"));
    }
    if let Some(p) = port
        && p.parse::<u16>().is_err()
    {
        return bad(&format!("has an invalid port `{p}`"));
    }
    Ok(())
}

/// An environment variable name: not empty, no `=` or NUL.
pub fn env_name(name: &str) -> Result<(), RuleError> {
    if name.is_empty() || name.contains('=') || name.contains('\0') {
        return err(format!(
            "environment variable name `{name}` must be non-empty and contain no `=`"
        ));
    }
    Ok(())
}

/// A port name: letters, digits and `_`, not starting with a digit, at most 63 characters.
pub fn port_name(name: &str) -> Result<(), RuleError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        err(format!(
            "port name `{name}` must be letters, digits and `_`, not start with a digit, and be at most {MAX_NAME_LEN} characters"
        ))
    }
}

/// A port number: 0 (any free port) up to 65535.
pub fn port_number(port: i64) -> Result<u16, RuleError> {
    u16::try_from(port).map_err(|_| {
        RuleError::new(format!(
            "port number must be between 0 (any free port) and 65535, got {port}"
        ))
    })
}

/// Placement rules: `;`-joined rules in the syntax of [`crate::placement`].
pub fn placement(rules: &str) -> Result<Vec<PlacementRule>, RuleError> {
    PlacementRule::parse_all(rules)
}

/// A duration that must be greater than zero; `what` names it ("health check interval").
pub fn positive_duration(what: &str, d: Duration) -> Result<(), RuleError> {
    if d.is_zero() {
        return err(format!("{what} must be greater than 0"));
    }
    Ok(())
}

/// A check's maximum consecutive failures: >= 1.
pub fn max_failures(n: i64) -> Result<u32, RuleError> {
    if n < 1 {
        return Err(RuleError::new(format!(
            "max_failures must be at least 1, got {n}"
        )));
    }
    u32::try_from(n).map_err(|_| RuleError::new(format!("max_failures {n} is too large")))
}

/// A goal state written as text: RUNNING, FINISHED or ONCE (any case).
pub fn goal(goal: &str) -> Result<GoalState, RuleError> {
    match goal.to_ascii_uppercase().as_str() {
        "RUNNING" => Ok(GoalState::Running),
        "FINISHED" => Ok(GoalState::Finished),
        "ONCE" => Ok(GoalState::Once),
        _ => Err(RuleError::new(format!(
            "goal must be RUNNING, FINISHED or ONCE, got `{goal}`{}",
            suggestion(&goal.to_ascii_uppercase(), GoalState::NAMES.iter().copied())
        ))),
    }
}

/// A boolean written as text: `true` or `false`.
pub fn boolean(what: &str, value: &str) -> Result<bool, RuleError> {
    match value.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(RuleError::new(format!(
            "{what} must be `true` or `false`, got `{other}`"
        ))),
    }
}

/// The indexes of the items that repeat an earlier one, with the message
/// "duplicate {what} `item`". `key` maps an item to its comparable form.
pub fn duplicates<'a, I>(
    what: &str,
    items: I,
    key: impl Fn(&str) -> String,
) -> Vec<(usize, RuleError)>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut seen = HashSet::new();
    items
        .into_iter()
        .enumerate()
        .filter(|(_, item)| !seen.insert(key(item)))
        .map(|(i, item)| (i, RuleError::new(format!("duplicate {what} `{item}`"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg<T: std::fmt::Debug>(r: Result<T, RuleError>) -> String {
        r.unwrap_err().message
    }

    #[test]
    fn names() {
        assert!(service_name("data-store").is_ok());
        assert!(service_name("a").is_ok());
        assert!(service_name("0abc9").is_ok());
        assert!(task_name(&"a".repeat(63)).is_ok());
        assert_eq!(msg(service_name("")), "service name must not be empty");
        assert_eq!(
            msg(task_name("Data")),
            "task type name `Data` contains `D`; only lowercase letters, digits and `-` are allowed (try `data`)"
        );
        assert_eq!(
            msg(task_name("a__b")),
            "task type name `a__b` must not contain `__`"
        );
        assert!(msg(task_name("a_b")).contains("(try `a-b`)"));
        assert!(msg(task_name("Meta_Data")).contains("(try `meta-data`)"));
        assert!(!msg(task_name("_")).contains("try"));
        assert!(msg(task_name("-ab")).contains("must start and end"));
        assert!(msg(task_name("ab-")).contains("must start and end"));
        assert!(msg(task_name(&"a".repeat(64))).contains("64 characters long; at most 63"));
        assert!(msg(task_name("a.b")).contains("contains `.`"));
    }

    #[test]
    fn roles_and_principals() {
        assert!(role("data-store-role").is_ok());
        assert!(role("*").is_ok());
        assert!(role("").is_err());
        assert!(role("..").is_err());
        assert!(role("-x").is_err());
        assert!(role("a/b").is_err());
        assert!(principal("p").is_ok());
        assert!(principal("").is_err());
        assert!(principal("a b").is_err());
    }

    #[test]
    fn counts() {
        assert_eq!(count(3).unwrap(), 3);
        assert_eq!(
            msg(count(0)),
            "count must be at least 1, got 0 (remove the task type instead)"
        );
        assert!(msg(count(i64::MAX)).contains("too large"));
        assert_eq!(msg(count(-2)), "count must be at least 1, got -2");
    }

    #[test]
    fn scalar_resources() {
        assert!(cpus(0.1).is_ok());
        assert_eq!(
            msg(cpus(0.0)),
            "cpus must be a finite number greater than 0, got 0"
        );
        assert!(msg(cpus(f64::NAN)).contains("got NaN"));
        assert!(msg(cpus(-1.0)).contains("got -1"));
        assert!(msg(cpus(f64::INFINITY)).contains("got inf"));
        assert!(mem(512.0).is_ok());
        assert_eq!(
            msg(mem(0.0)),
            "mem must be a size greater than 0, got 0 MiB"
        );
        assert!(disk(0.0).is_ok());
        assert!(disk(-1.0).is_err());
        assert!(resource("gpus", 1.0).is_ok());
        assert!(resource("gpus", -1.0).is_err());
        assert!(resource("cpus", 0.0).is_err());
        assert!(resource("ports", 1.0).is_err());
        assert!(resource_name("cpus").is_ok());
        assert!(resource_name("").is_err());
        assert!(resource_name("a b").is_err());
    }

    #[test]
    fn volumes() {
        assert_eq!(volume_type("ROOT").unwrap(), VolumeType::Root);
        assert_eq!(volume_type("mount").unwrap(), VolumeType::Mount);
        assert_eq!(
            msg(volume_type("rot")),
            "volume type must be ROOT or MOUNT, got `rot` (did you mean `ROOT`?)"
        );
        assert!(volume_size(1).is_ok());
        assert!(volume_size(0).is_err());
        assert_eq!(volume_size_mib(95.4).unwrap(), 96);
        assert!(volume_size_mib(0.0).is_err());
        assert!(volume_size_mib(f64::NAN).is_err());
        assert!(container_path("data").is_ok());
        assert!(container_path("a/b").is_ok());
        assert!(msg(container_path("")).contains("must not be empty"));
        assert!(msg(container_path("/data")).contains("must be relative"));
        assert!(msg(container_path("a/../b")).contains("must not contain `..`"));
        assert!(msg(container_path("..")).contains("`..`"));
        assert!(msg(container_path("./")).contains("must name a directory"));
        assert_eq!(normalize_path("./a//b/"), "a/b");
    }

    #[test]
    fn commands_and_templates() {
        assert!(command("./meta-data {{index}}").is_ok());
        assert!(command("echo {{name}} {{ instance }}").is_ok());
        assert_eq!(msg(command("  ")), "command must not be empty");
        assert_eq!(
            msg(command("./x {{idx}}")),
            "command uses unknown placeholder `{{idx}}` (did you mean `index`?); known placeholders are {{index}}, {{name}}, {{instance}}, {{address}} and {{hostname}}"
        );
        assert!(msg(command("./x {{index")).contains("unclosed `{{`"));
    }

    #[test]
    fn uris() {
        for ok in [
            "http://storage/meta-data.zip",
            "https://example.com:8443/a.tgz?x=1",
            "http://user@host/x",
            "http://[::1]:80/x",
            "file:///opt/app.tgz",
            "HTTP://host/x",
        ] {
            assert!(uri(ok).is_ok(), "{ok}: {:?}", uri(ok));
        }
        assert!(msg(uri("ftp://host/x")).contains("unsupported scheme `ftp`"));
        assert!(msg(uri("storage/x.zip")).contains("has no scheme"));
        assert!(msg(uri("http:///x")).contains("has no host"));
        assert!(msg(uri("http://host:99999/x")).contains("invalid port `99999`"));
        assert!(msg(uri("http://ho st/x")).contains("must not contain"));
        assert!(msg(uri("file://relative")).contains("absolute path"));
        assert!(msg(uri("http://h^st/")).contains("invalid host"));
        assert!(uri("").is_err());
    }

    #[test]
    fn ports_and_env() {
        assert!(port_name("http").is_ok());
        assert!(port_name("admin_2").is_ok());
        assert!(port_name("2x").is_err());
        assert!(port_name("a-b").is_err());
        assert!(port_name("").is_err());
        assert_eq!(port_number(8080).unwrap(), 8080);
        assert_eq!(port_number(0).unwrap(), 0);
        assert!(msg(port_number(70000)).contains("got 70000"));
        assert!(msg(port_number(-1)).contains("got -1"));
        assert!(env_name("JAVA_OPTS").is_ok());
        assert!(env_name("A=B").is_err());
        assert!(env_name("").is_err());
    }

    #[test]
    fn durations_goals_booleans() {
        assert!(positive_duration("interval", Duration::from_secs(1)).is_ok());
        assert_eq!(
            msg(positive_duration("health check interval", Duration::ZERO)),
            "health check interval must be greater than 0"
        );
        assert_eq!(max_failures(3).unwrap(), 3);
        assert!(max_failures(0).is_err());
        assert_eq!(goal("running").unwrap(), GoalState::Running);
        assert_eq!(goal("ONCE").unwrap(), GoalState::Once);
        assert!(msg(goal("FINISH")).contains("did you mean `FINISHED`?"));
        assert!(boolean("x", "true").unwrap());
        assert!(boolean("x", "yes").is_err());
        assert_eq!(placement("hostname:UNIQUE").unwrap().len(), 1);
    }

    #[test]
    fn duplicate_detection() {
        let d = duplicates("volume path", ["a", "b", "./a", "c", "b"], normalize_path);
        let idx: Vec<usize> = d.iter().map(|(i, _)| *i).collect();
        assert_eq!(idx, vec![2, 4]);
        assert_eq!(d[0].1.message, "duplicate volume path `./a`");
        assert!(duplicates("x", ["a", "b"], str::to_string).is_empty());
    }
}
