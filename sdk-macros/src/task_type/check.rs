//! Reading a declaration's body: every key is checked with the shared rules of
//! `stead_spec::rules`, each violation recorded at the offending tokens, and a
//! best-effort value kept so that the expansion still compiles.

use super::model::{TaskType, Volume};
use super::parse::Decl;
use crate::crate_path;
use crate::entries::{Entry, check_keys, check_required, parse_entries, stream};
use crate::errors::Errors;
use crate::names::kebab;
use crate::values::{
    self, block, boolean, duration, integer, list, number, size, string, string_tokens, word,
};
use proc_macro2::{Delimiter, TokenStream, TokenTree};
use std::collections::BTreeMap;
use stead_spec::{CheckSpec, CommandSpec, PortSpec, UriSpec, rules};

/// The keys a task type accepts.
pub const KEYS: &[&str] = &[
    "name",
    "count",
    "command",
    "uris",
    "env",
    "cpus",
    "mem",
    "disk",
    "volume",
    "volumes",
    "ports",
    "placement",
    "health_check",
    "readiness_check",
    "goal",
    "allow_decommission",
    "kill_grace_period",
    crate_path::KEY,
];

/// The keys a task type must set.
pub const REQUIRED: &[&str] = &["name", "count", "command", "cpus", "mem"];

/// The keys of a health or readiness check.
pub const CHECK_KEYS: &[&str] = &[
    "command",
    "interval",
    "timeout",
    "grace_period",
    "delay",
    "max_failures",
];

/// The keys of a URI written as a block.
pub const URI_KEYS: &[&str] = &["uri", "extract", "executable"];

/// Checks every key of a declaration, recording all errors.
pub fn check(decl: &Decl, errors: &mut Errors) -> TaskType {
    let entries = parse_entries(decl.body.clone(), ':', errors);
    let found = check_keys(&entries, KEYS, errors);
    let ident = &decl.ident;
    check_required(
        &entries,
        &found,
        KEYS,
        REQUIRED,
        &format!("task type `{ident}`"),
        ident,
        errors,
    );
    let get = |k: &str| found.get(k).copied();

    let crate_path = crate_path::read(
        get(crate_path::KEY),
        "crate: \"my_reexport::stead\"",
        errors,
    );

    let name = get("name")
        .and_then(|e| {
            let s = string(e, "name: \"meta-data\"", errors)?;
            errors.rule(stream(&e.value), rules::task_name(&s))?;
            Some(s)
        })
        .unwrap_or_else(|| kebab(ident));
    let count = get("count")
        .and_then(|e| {
            let n = integer(
                &e.value,
                "count",
                "`count` expects a whole number, e.g. `count: 3`",
                errors,
            )?;
            errors.rule(stream(&e.value), rules::count(n))
        })
        .unwrap_or(1);
    let mut command = CommandSpec::new(
        get("command")
            .and_then(|e| {
                let s = string(e, "command: \"./server {{index}}\"", errors)?;
                errors.rule(stream(&e.value), rules::command(&s))?;
                Some(s)
            })
            .unwrap_or_default(),
    );
    if let Some(e) = get("uris") {
        command.uris = uris(e, errors);
    }
    if let Some(e) = get("env") {
        command.env = env(e, errors);
    }
    let cpus = get("cpus")
        .and_then(|e| {
            let n = number(
                &e.value,
                "`cpus` expects a number, e.g. `cpus: 1.0`",
                errors,
            )?;
            errors.rule(stream(&e.value), rules::cpus(n.value))?;
            Some(n.value)
        })
        .unwrap_or(1.0);
    let mem = get("mem")
        .and_then(|e| {
            let v = size(e, errors)?;
            errors.rule(stream(&e.value), rules::mem(v))?;
            Some(v)
        })
        .unwrap_or(1.0);
    let disk = get("disk").and_then(|e| {
        let v = size(e, errors)?;
        errors.rule(stream(&e.value), rules::disk(v))?;
        Some(v)
    });

    let mut volume_items: Vec<Vec<TokenTree>> = Vec::new();
    if let Some(e) = get("volume") {
        volume_items.push(e.value.clone());
    }
    if let Some(e) = get("volumes") {
        if get("volume").is_some() {
            errors.at(&e.key_token, "use either `volume` or `volumes`, not both");
        } else if let Some(items) = list(
            e,
            "volumes: [root(10 GiB, \"data\"), mount(100 GiB, \"logs\")]",
            errors,
        ) {
            volume_items = items;
        }
    }
    let volumes = volumes(&volume_items, errors);
    let ports = get("ports").map(|e| ports(e, errors)).unwrap_or_default();
    let placement = get("placement")
        .map(|e| placement(e, errors))
        .unwrap_or_default();
    let health_check = get("health_check").and_then(|e| check_block(e, "health check", errors));
    let readiness_check =
        get("readiness_check").and_then(|e| check_block(e, "readiness check", errors));
    let goal = get("goal")
        .and_then(|e| {
            let (w, tt) = word(e, "goal: RUNNING", errors)?;
            errors.rule(tt, rules::goal(&w))
        })
        .unwrap_or_default();
    let allow_decommission = get("allow_decommission")
        .and_then(|e| boolean(e, errors))
        .unwrap_or(false);
    let kill_grace_period = get("kill_grace_period").and_then(|e| {
        let d = duration(e, errors)?;
        errors.rule(
            stream(&e.value),
            rules::positive_duration("kill_grace_period", d),
        )?;
        Some(d)
    });

    TaskType {
        crate_path,
        name,
        count,
        command,
        cpus,
        mem,
        disk,
        volumes,
        ports,
        placement,
        health_check,
        readiness_check,
        goal,
        allow_decommission,
        kill_grace_period,
    }
}

fn uris(e: &Entry, errors: &mut Errors) -> Vec<UriSpec> {
    let Some(items) = list(e, "uris: [\"https://example.com/app.tgz\"]", errors) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let is_block =
            matches!(item.as_slice(), [TokenTree::Group(g)] if g.delimiter() == Delimiter::Brace);
        if !is_block {
            let Some(u) = string_tokens(
                &item,
                "a URI is a string, e.g. `\"https://example.com/app.tgz\"`, or `{ uri: \"...\", extract: false, executable: true }`",
                errors,
            ) else {
                continue;
            };
            if errors.rule(stream(&item), rules::uri(&u)).is_some() {
                out.push(UriSpec::new(u));
            }
            continue;
        }
        let Some(entries) = block(&item, "", errors) else {
            continue;
        };
        let found = check_keys(&entries, URI_KEYS, errors);
        check_required(
            &entries,
            &found,
            URI_KEYS,
            &["uri"],
            "this URI",
            stream(&item),
            errors,
        );
        let mut spec = UriSpec::new("");
        if let Some(u) = found.get("uri") {
            let Some(v) = string(u, "uri: \"https://example.com/app.tgz\"", errors) else {
                continue;
            };
            if errors.rule(stream(&u.value), rules::uri(&v)).is_none() {
                continue;
            }
            spec.value = v;
        } else {
            continue;
        }
        if let Some(x) = found.get("extract") {
            spec.extract = boolean(x, errors).unwrap_or(true);
        }
        if let Some(x) = found.get("executable") {
            spec.executable = boolean(x, errors).unwrap_or(false);
        }
        out.push(spec);
    }
    out
}

fn env(e: &Entry, errors: &mut Errors) -> BTreeMap<String, String> {
    let Some(entries) = block(
        &e.value,
        "`env` expects a block, e.g. `env: { JAVA_OPTS: \"-Xmx1g\" }`",
        errors,
    ) else {
        return BTreeMap::new();
    };
    for (i, err) in rules::duplicates(
        "environment variable",
        entries.iter().map(|v| v.key.as_str()),
        str::to_string,
    ) {
        errors.at(&entries[i].key_token, err.message);
    }
    let mut out = BTreeMap::new();
    for v in &entries {
        if errors.rule(&v.key_token, rules::env_name(&v.key)).is_none() {
            continue;
        }
        let Some(value) = string(v, &format!("{}: \"value\"", v.key), errors) else {
            continue;
        };
        let what = format!("environment variable `{}`", v.key);
        if errors
            .rule(stream(&v.value), rules::template(&what, &value))
            .is_some()
        {
            out.entry(v.key.clone()).or_insert(value);
        }
    }
    out
}

const VOLUME_HINT: &str = "a volume is `root(<size>, \"<container path>\")` or `mount(<size>, \"<container path>\")`, e.g. `root(10 GiB, \"data\")`";

fn volumes(items: &[Vec<TokenTree>], errors: &mut Errors) -> Vec<Volume> {
    let mut out = Vec::new();
    let mut paths: Vec<(String, TokenStream)> = Vec::new();
    for item in items {
        let [TokenTree::Ident(kind), TokenTree::Group(args)] = item.as_slice() else {
            errors.at(stream(item), VOLUME_HINT);
            continue;
        };
        if args.delimiter() != Delimiter::Parenthesis {
            errors.at(stream(item), VOLUME_HINT);
            continue;
        }
        let kind_value = errors.rule(kind, rules::volume_type(&kind.to_string()));
        let parts = crate::entries::split_commas(args.stream());
        let [size_tokens, path_tokens] = parts.as_slice() else {
            errors.at(args, VOLUME_HINT);
            continue;
        };
        let size_entry = Entry {
            key: "volume size".to_string(),
            key_token: TokenTree::Ident(kind.clone()),
            value: size_tokens.clone(),
        };
        let size_mib = values::size(&size_entry, errors)
            .and_then(|s| errors.rule(stream(size_tokens), rules::volume_size_mib(s)));
        let path = string_tokens(
            path_tokens,
            "the container path is a string relative to the sandbox, e.g. `\"data\"`",
            errors,
        )
        .and_then(|p| {
            errors
                .rule(stream(path_tokens), rules::container_path(&p))
                .map(|()| p)
        });
        if let Some(p) = &path {
            paths.push((p.clone(), stream(path_tokens)));
        }
        if let (Some(kind), Some(size_mib), Some(path)) = (kind_value, size_mib, path) {
            out.push(Volume {
                size_mib,
                kind,
                path,
            });
        }
    }
    for (i, err) in rules::duplicates(
        "volume path",
        paths.iter().map(|(p, _)| p.as_str()),
        rules::normalize_path,
    ) {
        errors.at(&paths[i].1, err.message);
    }
    out
}

fn ports(e: &Entry, errors: &mut Errors) -> Vec<PortSpec> {
    let Some(items) = list(e, "ports: [http = 0, admin = 8081]", errors) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut names = Vec::new();
    let mut numbers = Vec::new();
    for item in &items {
        let (name_tt, rest) = match item.as_slice() {
            [n @ TokenTree::Ident(_), TokenTree::Punct(eq), rest @ ..]
                if eq.as_char() == '=' && !rest.is_empty() =>
            {
                (n, rest)
            }
            _ => {
                errors.at(stream(item), "a port is `<name> = <number>`, e.g. `http = 8080`, or `http = 0` for any free port");
                continue;
            }
        };
        let name = name_tt.to_string();
        let name_ok = errors.rule(name_tt, rules::port_name(&name)).is_some();
        let port = integer(
            rest,
            "port number",
            "a port number is a whole number, e.g. `8080` (0 for any free port)",
            errors,
        )
        .and_then(|n| errors.rule(stream(rest), rules::port_number(n)));
        names.push((name.clone(), name_tt.clone()));
        if let Some(p) = port.filter(|p| *p != 0) {
            numbers.push((p.to_string(), stream(rest)));
        }
        if let (true, Some(port)) = (name_ok, port) {
            out.push(PortSpec { name, port });
        }
    }
    for (i, err) in rules::duplicates("port name", names.iter().map(|(n, _)| n.as_str()), |n| {
        n.to_ascii_lowercase()
    }) {
        errors.at(&names[i].1, err.message);
    }
    for (i, err) in rules::duplicates(
        "port number",
        numbers.iter().map(|(n, _)| n.as_str()),
        str::to_string,
    ) {
        errors.at(&numbers[i].1, err.message);
    }
    out
}

fn placement(e: &Entry, errors: &mut Errors) -> Vec<String> {
    let items: Vec<Vec<TokenTree>> = match e.value.as_slice() {
        [TokenTree::Group(g)] if g.delimiter() == Delimiter::Bracket => {
            crate::entries::split_commas(g.stream())
        }
        other => vec![other.to_vec()],
    };
    let mut out = Vec::new();
    for item in &items {
        let Some(text) = string_tokens(
            item,
            "`placement` expects a string or a list of strings, e.g. `placement: \"hostname:UNIQUE\"`",
            errors,
        ) else {
            continue;
        };
        if let Some(rules) = errors.rule(stream(item), rules::placement(&text)) {
            out.extend(rules.iter().map(ToString::to_string));
        }
    }
    out
}

fn check_block(e: &Entry, what: &str, errors: &mut Errors) -> Option<CheckSpec> {
    let entries = block(
        &e.value,
        &format!(
            "`{}` expects a block, e.g. `{{ command: \"curl -f localhost:8080\", interval: 10s }}`",
            e.key
        ),
        errors,
    )?;
    let found = check_keys(&entries, CHECK_KEYS, errors);
    check_required(
        &entries,
        &found,
        CHECK_KEYS,
        &["command"],
        &format!("the {what}"),
        &e.key_token,
        errors,
    );
    let mut check = CheckSpec::new("");
    let command = found.get("command").and_then(|c| {
        let s = string(c, "command: \"curl -f localhost:8080\"", errors)?;
        errors.rule(stream(&c.value), rules::command(&s))?;
        Some(s)
    });
    let positive = |key: &str, errors: &mut Errors| {
        let c = found.get(key)?;
        let d = duration(c, errors)?;
        errors.rule(
            stream(&c.value),
            rules::positive_duration(&format!("{what} {key}"), d),
        )?;
        Some(d)
    };
    if let Some(d) = positive("interval", errors) {
        check.interval = d;
    }
    if let Some(d) = positive("timeout", errors) {
        check.timeout = d;
    }
    if let Some(d) = found.get("grace_period").and_then(|c| duration(c, errors)) {
        check.grace_period = d;
    }
    if let Some(d) = found.get("delay").and_then(|c| duration(c, errors)) {
        check.delay = d;
    }
    if let Some(c) = found.get("max_failures") {
        let n = integer(
            &c.value,
            "max_failures",
            "`max_failures` expects a whole number, e.g. `max_failures: 3`",
            errors,
        )
        .and_then(|n| errors.rule(stream(&c.value), rules::max_failures(n)));
        if let Some(n) = n {
            check.max_consecutive_failures = n;
        }
    }
    check.command = command?;
    Some(check)
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;
    use quote::{ToTokens, quote};
    use std::time::Duration;
    use stead_spec::{GoalState, VolumeType};

    fn run(input: TokenStream) -> (Vec<TaskType>, Vec<String>) {
        // Invariant: every input below is a well-formed declaration list.
        let decls = parse(input).expect("declarations parse");
        let mut errors = Errors::default();
        let tasks = decls.iter().map(|d| check(d, &mut errors)).collect();
        (tasks, errors.messages())
    }

    #[test]
    fn full_declaration() {
        let (tasks, errors) = run(quote! {
            /// Meta-data nodes.
            pub MetaData {
                name: "meta-data",
                count: 2,
                command: "./meta-data {{index}}",
                uris: ["http://storage/meta-data.zip", { uri: "https://x/run.sh", extract: false, executable: true }],
                env: { MODE: "meta", ID: "{{instance}}" },
                cpus: 1.0,
                mem: 512 MiB,
                disk: 1 GiB,
                volumes: [root(5000 MiB, "meta-data-container-path"), mount(1 TiB, "logs")],
                ports: [http = 0, admin = 8081],
                placement: ["hostname:UNIQUE", "zone:GROUP_BY:3"],
                health_check: { command: "curl -f localhost", interval: 10s, timeout: 2500ms, max_failures: 5 },
                readiness_check: { command: "test -f ready" },
                goal: FINISHED,
                allow_decommission: true,
                kill_grace_period: 1.5s,
            }
        });
        assert!(errors.is_empty(), "{errors:?}");
        let t = &tasks[0];
        assert_eq!(t.name, "meta-data");
        assert_eq!(t.count, 2);
        assert_eq!(t.command.uris.len(), 2);
        assert!(t.command.uris[1].executable && !t.command.uris[1].extract);
        assert_eq!(t.command.env["ID"], "{{instance}}");
        assert_eq!((t.cpus, t.mem, t.disk), (1.0, 512.0, Some(1024.0)));
        assert_eq!(
            t.volumes[1],
            Volume {
                size_mib: 1048576,
                kind: VolumeType::Mount,
                path: "logs".into()
            }
        );
        assert_eq!(
            t.ports[1],
            PortSpec {
                name: "admin".into(),
                port: 8081
            }
        );
        assert_eq!(t.placement, vec!["hostname:UNIQUE", "zone:GROUP_BY:3"]);
        let h = t.health_check.as_ref().unwrap();
        assert_eq!(
            (h.interval, h.timeout, h.max_consecutive_failures),
            (Duration::from_secs(10), Duration::from_millis(2500), 5)
        );
        assert_eq!(
            t.readiness_check.as_ref().unwrap().interval,
            CheckSpec::DEFAULT_INTERVAL
        );
        assert_eq!(t.goal, GoalState::Finished);
        assert!(t.allow_decommission);
        assert_eq!(t.kill_grace_period, Some(Duration::from_millis(1500)));
    }

    #[test]
    fn all_errors_of_one_invocation() {
        let (tasks, errors) = run(quote! {
            Bad {
                name: "Bad__Name",
                count: 0,
                cpus: 0,
                mem: 512,
                cout: 3,
                volumes: [root(0 MiB, "/abs"), shared(1 GiB, "x"), root(1 GiB, "a/../b")],
                uris: ["ftp://x/y"],
                ports: [http = 0, http = 1, admin = 1],
                placement: "hostname:UNIQ",
                health_check: { command: "", interval: 0s },
            }
        });
        assert_eq!(
            errors,
            vec![
                "unknown key `cout`; did you mean `count`?",
                "task type `Bad` is missing the required key `command`",
                "task type name `Bad__Name` must not contain `__`",
                "count must be at least 1, got 0 (remove the task type instead)",
                "URI `ftp://x/y` has unsupported scheme `ftp`; expected http, https or file",
                "cpus must be a finite number greater than 0, got 0",
                "size `512` needs a unit: KiB, MiB, GiB, TiB (binary) or KB, MB, GB, TB (decimal), e.g. `512 MiB`",
                "volume size must be greater than 0, got 0 MiB",
                "volume container path `/abs` must be relative to the sandbox (no leading `/`)",
                "volume type must be ROOT or MOUNT, got `shared`",
                "volume container path `a/../b` must not contain `..`",
                "duplicate port name `http`",
                "duplicate port number `1`",
                "invalid placement rule `hostname:UNIQ`: unknown operator `UNIQ` (did you mean `UNIQUE`?); expected one of UNIQUE, MAX_PER, LIKE, UNLIKE, IS, GROUP_BY",
                "command must not be empty",
                "health check interval must be greater than 0",
            ]
        );
        // The best-effort values keep the expansion compiling.
        assert_eq!(tasks[0].name, "bad");
        assert_eq!(tasks[0].count, 1);
    }

    #[test]
    fn the_crate_path_defaults_to_stead_and_can_be_overridden() {
        let (tasks, errors) = run(quote! {
            Plain { name: "plain", count: 1, command: "./p", cpus: 1.0, mem: 1 GiB }
            Renamed { name: "renamed", count: 1, command: "./r", cpus: 1.0, mem: 1 GiB, crate: "my_reexport::stead" }
        });
        assert!(errors.is_empty(), "{errors:?}");
        let paths: Vec<String> = tasks
            .iter()
            .map(|t| t.crate_path.to_token_stream().to_string())
            .collect();
        assert_eq!(paths, [":: stead", "my_reexport :: stead"]);
    }

    #[test]
    fn a_malformed_crate_path_is_reported_with_the_other_errors() {
        let (tasks, errors) = run(quote! {
            Data { name: "data", count: 0, command: "./d", cpus: 1.0, mem: 1 GiB, crate: "my::" }
        });
        assert_eq!(
            errors,
            [
                "`crate` expects a path to the Stead crate, e.g. `crate: \"my_reexport::stead\"`; `my::` is not one: unexpected end of input, expected path segment after `::`",
                "count must be at least 1, got 0 (remove the task type instead)",
            ]
        );
        assert_eq!(
            tasks[0].crate_path.to_token_stream().to_string(),
            ":: stead"
        );
    }
}
