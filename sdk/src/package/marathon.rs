//! The Marathon app that runs the scheduler: written once with placeholders, it becomes
//! the Universe package's `marathon.json.mustache` (each placeholder a Mustache tag of an
//! install option) and the plain app (each placeholder the option's default).
//!
//! The app runs one instance of the binary fetched from `resource.json`'s URI with the
//! options as `STEAD_*` variables, a `MESOS_HTTP` health check on the liveness probe, a
//! readiness check on the plans' status (`/v1/health`), and an upgrade strategy that stops the old
//! scheduler before starting the new one (never two at once).

use serde_json::{Value, json};
use stead_spec::ServiceSpec;

use super::install::{InstallOptions, Kind};
use super::{LIVENESS_PATH, PackageOptions, READINESS_PATH};

/// The Mustache path of the binary's URI (`resource.json`, given to the template under
/// `resource`).
const BINARY_URI: &str = "resource.assets.uris.scheduler";
/// Placeholder delimiters: characters that no JSON writer escapes and no option contains.
const OPEN: char = '\u{27e6}';
const CLOSE: char = '\u{27e7}';

/// How the app's option-dependent values are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fill {
    /// With each option's default: the plain app.
    Defaults,
    /// With placeholders, turned into Mustache tags: the template.
    Template,
}

/// The plain Marathon app: the template rendered with `config.json`'s defaults.
pub fn app(spec: &ServiceSpec, options: &PackageOptions, installs: &InstallOptions) -> Value {
    build(spec, options, installs, Fill::Defaults)
}

/// `marathon.json.mustache`.
pub fn template(spec: &ServiceSpec, options: &PackageOptions, installs: &InstallOptions) -> String {
    let app = build(spec, options, installs, Fill::Template);
    let mut text = format!("{app:#}");
    // A number is a whole JSON value: its placeholder loses its quotes.
    for o in &installs.options {
        let tag = |mark: &str| format!("{OPEN}{mark}{}{CLOSE}", o.path);
        text = text.replace(&format!("\"{}\"", tag("#")), &format!("{{{{{}}}}}", o.path));
        text = text.replace(
            &tag("?"),
            &format!(
                "{{{{#{p}}}}}true{{{{/{p}}}}}{{{{^{p}}}}}false{{{{/{p}}}}}",
                p = o.path
            ),
        );
        text = text.replace(&tag(""), &format!("{{{{{{{}}}}}}}", o.path));
    }
    text = text.replace(
        &format!("{OPEN}{BINARY_URI}{CLOSE}"),
        &format!("{{{{{{{BINARY_URI}}}}}}}"),
    );
    with_secret(&text)
}

/// Adds the operator API's token from a DC/OS secret, when `service.api_token_secret` is
/// set (the secret's fields are newer than the schema of Marathon apps).
fn with_secret(text: &str) -> String {
    const SECRET: &str = "service.api_token_secret";
    let env = format!(
        "\"env\": {{\n    {{{{#{SECRET}}}}}\"STEAD_API_TOKEN\": {{\"secret\": \"api_token\"}},{{{{/{SECRET}}}}}"
    );
    let secrets = format!(
        "{{{{#{SECRET}}}}},\n  \"secrets\": {{\"api_token\": {{\"source\": \"{{{{{{{SECRET}}}}}}}\"}}}}{{{{/{SECRET}}}}}\n}}"
    );
    let text = text.replacen("\"env\": {", &env, 1);
    match text.rfind('}') {
        Some(end) => format!("{}{secrets}\n", &text[..end].trim_end()),
        None => text,
    }
}

fn build(
    spec: &ServiceSpec,
    options: &PackageOptions,
    installs: &InstallOptions,
    fill: Fill,
) -> Value {
    // The value of option `path` where a whole JSON value goes.
    let number = |path: &str| -> Value {
        match (fill, installs.get(path)) {
            (Fill::Defaults, Some(o)) => o.default_value().clone(),
            _ => json!(format!("{OPEN}#{path}{CLOSE}")),
        }
    };
    // The text of option `path` inside a JSON string.
    let text = |path: &str| -> String {
        match (fill, installs.get(path)) {
            (Fill::Defaults, Some(o)) => o.default_text(),
            (Fill::Template, Some(o)) if o.kind == Kind::Flag => format!("{OPEN}?{path}{CLOSE}"),
            (Fill::Template, Some(o)) if o.kind == Kind::Size => format!("{OPEN}{path}{CLOSE} MiB"),
            _ => format!("{OPEN}{path}{CLOSE}"),
        }
    };
    let mut env = serde_json::Map::new();
    env.insert("STEAD_BIND".into(), json!("0.0.0.0"));
    for (o, var) in installs.with_env() {
        env.insert(var.to_string(), json!(text(&o.path)));
    }
    let binary_uri = match fill {
        Fill::Defaults => options.binary_uri.clone(),
        Fill::Template => format!("{OPEN}{BINARY_URI}{CLOSE}"),
    };
    let file = options.fetched_file();
    json!({
        "id": format!("/{}", text("service.name")),
        "cmd": format!("chmod +x {file} && exec ./{file} --api-port $PORT0"),
        "instances": 1,
        "cpus": number("service.cpus"),
        "mem": number("service.mem"),
        "uris": [binary_uri],
        "env": env,
        "portDefinitions": [{"port": number("service.api_port"), "protocol": "tcp", "name": "api"}],
        "requirePorts": true,
        "healthChecks": [{
            "protocol": "MESOS_HTTP",
            "path": LIVENESS_PATH,
            "portIndex": 0,
            "gracePeriodSeconds": 300,
            "intervalSeconds": 30,
            "timeoutSeconds": 10,
            "maxConsecutiveFailures": 3
        }],
        "readinessChecks": [{
            "name": "deploy-plan",
            "protocol": "HTTP",
            "path": READINESS_PATH,
            "portName": "api",
            "intervalSeconds": 30,
            "timeoutSeconds": 10,
            "httpStatusCodesForReady": [200],
            "preserveLastResponse": true
        }],
        "upgradeStrategy": {"minimumHealthCapacity": 0, "maximumOverCapacity": 0},
        "labels": {
            "DCOS_PACKAGE_FRAMEWORK_NAME": text("service.name"),
            "STEAD_SERVICE": spec.name,
        }
    })
}
