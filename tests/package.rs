//! `<binary> package --out DIR`, tested as an operator uses its files: the Universe package
//! checked against the Universe repository's schemas (`../shared/universe-schema`, next to
//! the repository), `marathon.json.mustache` rendered with `config.json`'s defaults as
//! Universe renders it and compared with the plain Marathon app, invalid install options
//! refused by `config.json`, the app's variables read back by the scheduler, and the
//! systemd unit checked by `systemd-analyze verify`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, ensure};
use serde_json::{Map, Value, json};
use stead_suite::example_binary;

/// The Universe schemas: `shared/` sits next to the repository, locally and in CI.
fn schema(name: &str) -> Result<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/universe-schema")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("the Universe schema {}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

/// A draft-04 validator of `schema` (the Universe schemas are draft-04).
fn validator(schema: &Value) -> Result<jsonschema::Validator> {
    jsonschema::draft4::new(schema).map_err(|e| anyhow::anyhow!("schema does not compile: {e}"))
}

/// Fails with every violation of `schema` by `instance`.
fn assert_valid(schema: &Value, instance: &Value, what: &str) -> Result<()> {
    let v = validator(schema)?;
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    ensure!(errors.is_empty(), "{what} is invalid: {errors:#?}");
    Ok(())
}

/// The 2015 schema of Marathon apps, with its one slip mended: `labels` says
/// `"properties": {"type": "string"}`, which is no schema of properties (a validator that
/// checks schemas refuses it); its evident meaning, labels with string values, is used.
fn marathon_schema() -> Result<Value> {
    let mut schema = schema("marathon-schema.json")?;
    let labels = &mut schema["properties"]["labels"];
    ensure!(
        labels["properties"] == json!({"type": "string"}),
        "the schema's labels changed: {labels}"
    );
    *labels = json!({"type": "object", "additionalProperties": {"type": "string"}});
    Ok(schema)
}

/// Runs the data-store example's `package` with `args` before the subcommand and `env`,
/// writing into `out`; returns the paths it printed.
fn package(out: &Path, args: &[&str], env: &[(String, String)]) -> Result<Vec<PathBuf>> {
    let binary = example_binary("data-store")?;
    let mut command = Command::new(&binary);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("STEAD_") {
            command.env_remove(key);
        }
    }
    let exec = binary.display().to_string();
    let output = command
        .args(args)
        .args(["package", "--out"])
        .arg(out)
        .args(["--version", "1.2.3-rc.1", "--exec", &exec])
        .args([
            "--binary-uri",
            "https://downloads.example.org/data-store/1.2.3/data-store",
        ])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .output()?;
    ensure!(
        output.status.success(),
        "package failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?
        .lines()
        .map(PathBuf::from)
        .collect())
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// The defaults of a `config.json` schema, as Universe collects them for rendering.
fn defaults(schema: &Value) -> Value {
    match schema.get("properties").and_then(Value::as_object) {
        Some(properties) => Value::Object(
            properties
                .iter()
                .map(|(k, v)| (k.clone(), defaults(v)))
                .collect::<Map<_, _>>(),
        ),
        None => schema["default"].clone(),
    }
}

/// Renders `template` with `options` and `resource` as Universe does (the options, and the
/// resources under `resource`).
fn render(template: &str, options: &Value, resource: &Value) -> Result<Value> {
    let mut context = options.clone();
    context["resource"] = resource.clone();
    let text = mustache::compile_str(template)?.render_to_string(&context)?;
    serde_json::from_str(&text).with_context(|| format!("the rendered app is not JSON:\n{text}"))
}

/// The generated package of the data-store example, with `data.count` raised to 4.
struct Generated {
    _dir: tempfile::TempDir,
    out: PathBuf,
}

impl Generated {
    fn new() -> Result<Generated> {
        let dir = tempfile::tempdir()?;
        let out = dir.path().join("pkg");
        let written = package(&out, &["--set", "data.count=4"], &[])?;
        ensure!(written.len() == 7, "seven files: {written:?}");
        for path in &written {
            ensure!(path.is_file(), "{} was not written", path.display());
        }
        Ok(Generated { _dir: dir, out })
    }

    fn json(&self, path: &str) -> Result<Value> {
        read_json(&self.out.join(path))
    }

    fn text(&self, path: &str) -> Result<String> {
        Ok(std::fs::read_to_string(self.out.join(path))?)
    }
}

#[test]
fn the_universe_files_are_valid_for_universe() -> Result<()> {
    let g = Generated::new()?;
    let package = g.json("universe/package.json")?;
    assert_valid(&schema("package-schema.json")?, &package, "package.json")?;
    assert_eq!(package["packagingVersion"], "4.0");
    assert_eq!(package["name"], "data-store");
    assert_eq!(package["version"], "1.2.3-rc.1");
    assert_eq!(package["framework"], true);

    let config = g.json("universe/config.json")?;
    assert_valid(
        &schema("config-schema.json")?,
        &config,
        "config.json (a draft-04 schema)",
    )?;
    let resource = g.json("universe/resource.json")?;
    assert_valid(
        &schema("v3-resource-schema.json")?,
        &resource,
        "resource.json",
    )?;
    assert_eq!(
        resource["assets"]["uris"]["scheduler"],
        "https://downloads.example.org/data-store/1.2.3/data-store"
    );
    Ok(())
}

#[test]
fn config_json_has_every_option_with_the_current_values_and_refuses_bad_ones() -> Result<()> {
    let g = Generated::new()?;
    let config = g.json("universe/config.json")?;
    let options = defaults(&config);
    assert_valid(&config, &options, "the defaults")?;
    let data = &options["tasks"]["data"];
    assert_eq!(data["count"], 4, "the --set value is the default");
    assert_eq!(data["cpus"], 1.0);
    assert_eq!(data["mem"], 1024.0);
    assert_eq!(data["command"], "./data");
    assert_eq!(data["goal"], "RUNNING");
    assert_eq!(data["allow_decommission"], false);
    let meta = &options["tasks"]["meta-data"];
    assert_eq!(meta["count"], 2);
    assert_eq!(meta["placement"], "hostname:UNIQUE");
    assert_eq!(meta["command"], "./meta-data {{index}}");
    assert_eq!(options["service"]["name"], "data-store");
    assert_eq!(options["service"]["master"], "zk://master.mesos:2181/mesos");
    assert_eq!(options["service"]["zk"], "zk://master.mesos:2181");
    assert_eq!(options["service"]["zk_session_timeout"], 10);

    let v = validator(&config)?;
    let with = |path: &[&str], value: Value| {
        let mut o = options.clone();
        let (last, groups) = path.split_last().expect("a path");
        let mut node = &mut o;
        for g in groups {
            node = &mut node[*g];
        }
        node[*last] = value;
        o
    };
    for (path, value) in [
        (&["tasks", "data", "count"][..], json!(0)),
        (&["tasks", "data", "count"], json!(2.5)),
        (&["tasks", "data", "count"], json!("3")),
        (&["tasks", "data", "cpus"], json!(0)),
        (&["tasks", "data", "mem"], json!(-1)),
        (&["tasks", "data", "goal"], json!("SOMETIMES")),
        (&["tasks", "data", "command"], json!("echo \"quoted\"")),
        (&["tasks", "data", "colour"], json!("red")),
        (&["tasks", "nodes"], json!({"count": 1})),
        (&["service", "master"], json!("ftp://m:5050")),
        (&["service", "zk"], json!("http://zk:2181")),
        (&["service", "api_port"], json!(70000)),
        (&["service", "zk_session_timeout"], json!(0)),
        (&["service", "name"], json!("Data_Store")),
    ] {
        let bad = with(path, value.clone());
        ensure!(
            !v.is_valid(&bad),
            "{} = {value} was accepted",
            path.join(".")
        );
    }
    ensure!(
        v.is_valid(&with(&["tasks", "data", "count"], json!(7))),
        "a valid change is accepted"
    );
    Ok(())
}

#[test]
fn the_template_rendered_with_the_defaults_is_the_plain_marathon_app() -> Result<()> {
    let g = Generated::new()?;
    let config = g.json("universe/config.json")?;
    let resource = g.json("universe/resource.json")?;
    let template = g.text("universe/marathon.json.mustache")?;
    let plain = g.json("marathon/data-store.json")?;
    let options = defaults(&config);
    let rendered = render(&template, &options, &resource)?;
    assert_eq!(rendered, plain, "the template with the defaults");

    // The 2015 schema of Marathon apps knows no later fields: they are checked here.
    let mut known = plain.clone();
    let object = known.as_object_mut().context("an app is an object")?;
    let ports = object
        .remove("portDefinitions")
        .context("portDefinitions")?;
    let readiness = object
        .remove("readinessChecks")
        .context("readinessChecks")?;
    let over = object["upgradeStrategy"]
        .as_object_mut()
        .and_then(|u| u.remove("maximumOverCapacity"));
    assert_valid(&marathon_schema()?, &known, "the Marathon app")?;
    assert_eq!(
        ports,
        json!([{"port": 0, "protocol": "tcp", "name": "api"}])
    );
    assert_eq!(readiness[0]["path"], "/v1/health");
    assert_eq!(readiness[0]["portName"], "api");
    assert_eq!(readiness[0]["httpStatusCodesForReady"], json!([200]));
    assert_eq!(
        over,
        Some(json!(0)),
        "never a second scheduler during an upgrade"
    );
    assert_eq!(plain["upgradeStrategy"]["minimumHealthCapacity"], 0);
    assert_eq!(plain["instances"], 1);
    assert_eq!(plain["id"], "/data-store");
    assert_eq!(plain["healthChecks"][0]["protocol"], "MESOS_HTTP");
    assert_eq!(plain["healthChecks"][0]["path"], "/v1/health/live");
    assert_eq!(
        plain["uris"],
        json!(["https://downloads.example.org/data-store/1.2.3/data-store"])
    );
    let cmd = plain["cmd"].as_str().context("cmd")?;
    assert!(cmd.contains("./data-store --api-port $PORT0"), "{cmd}");
    let env = &plain["env"];
    assert_eq!(env["STEAD_DATA_COUNT"], "4");
    assert_eq!(env["STEAD_DATA_MEM"], "1024 MiB");
    assert_eq!(env["STEAD_META_DATA_PLACEMENT"], "hostname:UNIQUE");
    assert_eq!(env["STEAD_META_DATA_ALLOW_DECOMMISSION"], "false");
    assert_eq!(env["STEAD_ZK"], "zk://master.mesos:2181");
    assert!(plain.get("secrets").is_none() && env.get("STEAD_API_TOKEN").is_none());

    // Options set at install reach the app; a secret adds the token from it.
    let mut chosen = options.clone();
    chosen["tasks"]["data"]["count"] = json!(6);
    chosen["tasks"]["data"]["allow_decommission"] = json!(true);
    chosen["service"]["name"] = json!("store-eu");
    chosen["service"]["api_token_secret"] = json!("store-eu/api-token");
    assert!(validator(&config)?.is_valid(&chosen));
    let app = render(&template, &chosen, &resource)?;
    assert_eq!(app["id"], "/store-eu");
    assert_eq!(app["env"]["STEAD_DATA_COUNT"], "6");
    assert_eq!(app["env"]["STEAD_DATA_ALLOW_DECOMMISSION"], "true");
    assert_eq!(
        app["env"]["STEAD_API_TOKEN"],
        json!({"secret": "api_token"})
    );
    assert_eq!(
        app["secrets"],
        json!({"api_token": {"source": "store-eu/api-token"}})
    );
    Ok(())
}

#[test]
fn the_apps_variables_are_read_back_by_the_scheduler_as_the_same_service() -> Result<()> {
    let g = Generated::new()?;
    let app = g.json("marathon/data-store.json")?;
    let env: Vec<(String, String)> = app["env"]
        .as_object()
        .context("env")?
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    // Packaging again with the app's variables (and no --set) describes the same service.
    let dir = tempfile::tempdir()?;
    package(dir.path(), &[], &env)?;
    let again = read_json(&dir.path().join("universe/config.json"))?;
    assert_eq!(again, g.json("universe/config.json")?);
    assert_eq!(
        read_json(&dir.path().join("marathon/data-store.json"))?,
        app
    );
    Ok(())
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() -> Result<()> {
    let g = Generated::new()?;
    let unit_path = g.out.join("systemd/data-store.service");
    let unit = g.text("systemd/data-store.service")?;
    for line in [
        "Restart=always",
        "User=stead",
        "EnvironmentFile=/etc/stead/data-store.env",
        "StateDirectory=stead/data-store",
    ] {
        ensure!(unit.lines().any(|l| l == line), "{line} missing:\n{unit}");
    }
    let env = g.text("systemd/data-store.env")?;
    for line in [
        "STEAD_MASTER=zk://master.mesos:2181/mesos",
        "STEAD_STATE_DIR=/var/lib/stead/data-store",
        "# STEAD_DATA_COUNT=4",
    ] {
        ensure!(env.lines().any(|l| l == line), "{line} missing:\n{env}");
    }
    // Required, not skipped: scripts/test.sh installs Debian's systemd where it is missing.
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit_path)
        .output()
        .context("systemd-analyze is missing: install Debian's `systemd` (scripts/test.sh does)")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(
        output.status.success(),
        "systemd-analyze verify failed ({}): {stderr}",
        output.status
    );
    let about_unit: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("data-store.service"))
        .collect();
    ensure!(
        about_unit.is_empty(),
        "warnings about the unit: {about_unit:#?}"
    );
    Ok(())
}

#[test]
fn package_refuses_a_version_universe_cannot_take() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let output = Command::new(example_binary("data-store")?)
        .args(["package", "--out"])
        .arg(dir.path())
        .args(["--version", "1.0+build"])
        .stdin(Stdio::null())
        .output()?;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("package version `1.0+build`"), "{stderr}");
    ensure!(
        std::fs::read_dir(dir.path())?.next().is_none(),
        "nothing written"
    );
    Ok(())
}
