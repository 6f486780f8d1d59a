//! The Universe package's catalogue entry (`package.json`, packaging version 4.0) and its
//! resources (`resource.json`: where the scheduler binary is fetched from). `config.json`
//! is [`InstallOptions::config_schema`](super::install::InstallOptions::config_schema),
//! `marathon.json.mustache` is [`template`](super::marathon::template).

use serde_json::{Value, json};
use stead_spec::ServiceSpec;

use super::PackageOptions;

/// True for a name Universe accepts (`^[a-z][a-z0-9-]*[a-z0-9]$`).
pub fn is_package_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() >= 2
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1] != b'-'
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// True for a version Universe accepts (`^[-a-zA-Z0-9.]+$`).
pub fn is_package_version(version: &str) -> bool {
    !version.is_empty()
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// `package.json`.
pub fn package_json(spec: &ServiceSpec, options: &PackageOptions) -> Value {
    let types: Vec<String> = spec
        .task_types
        .iter()
        .map(|t| format!("{} {}", t.count, t.name))
        .collect();
    json!({
        "packagingVersion": "4.0",
        "name": spec.name,
        "version": options.version,
        "maintainer": options.maintainer,
        "description": format!(
            "{}: a stateful service ({}) run by its own Mesos scheduler, built with Stead.",
            spec.name,
            types.join(", ")
        ),
        "tags": ["stead", "stateful", "mesos-framework"],
        "framework": true,
        "upgradesFrom": ["*"],
        "downgradesTo": ["*"],
        "preInstallNotes": "The scheduler keeps its state in ZooKeeper (service.zk) and deploys the service once installed; `/v1/plans/deploy` shows the progress.",
        "postInstallNotes": format!("{} is being deployed: `stead plan watch deploy` against the scheduler's API follows it.", spec.name),
        "postUninstallNotes": format!(
            "Removing the app stops the scheduler; the tasks, their volumes and reservations remain. To remove them, run the scheduler once with STEAD_UNINSTALL=true, then delete its state under /stead/{} in ZooKeeper if it remains.",
            spec.name
        ),
    })
}

/// `resource.json`: the scheduler binary as asset `scheduler`.
pub fn resource_json(options: &PackageOptions) -> Value {
    json!({ "assets": { "uris": { "scheduler": options.binary_uri } } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions_as_universe_reads_them() {
        for ok in ["data-store", "ab", "a1"] {
            assert!(is_package_name(ok), "{ok}");
        }
        for bad in ["", "a", "1a", "a-", "Data", "a_b", "a.b"] {
            assert!(!is_package_name(bad), "{bad}");
        }
        assert!(is_package_version("0.1.0-rc.1"));
        for bad in ["", "1.0+build", "1 0"] {
            assert!(!is_package_version(bad), "{bad}");
        }
    }
}
