//! The data-store service of the design note: 2 meta-data nodes and 3 data nodes.

use stead::prelude::*;
use stead::spec::ServiceSpec;

task_type! {
    /// Meta-data nodes hold the cluster map; never two on one host.
    MetaData {
        name: "meta-data",
        count: 2,
        command: "./meta-data {{index}}",
        uris: ["http://storage/meta-data.tar.gz"],
        cpus: 1.0,
        mem: 512 MiB,
        volume: root(5000 MiB, "meta-data-container-path"),
        placement: "hostname:UNIQUE",
    }

    /// Data nodes store the data on their persistent volume.
    Data {
        name: "data",
        count: 3,
        command: "./data",
        uris: ["http://storage/data.tar.gz"],
        cpus: 1.0,
        mem: 1024 MiB,
        volume: root(10 GiB, "data-path"),
    }
}

/// The data-store service.
#[service(name = "data-store")]
pub struct DataStore {
    meta_data: MetaData,
    data: Data,
}

/// The programs shipped with the example, packed as archives the agents fetch and extract.
pub fn program_uris() -> std::io::Result<[(String, String); 2]> {
    let meta = stead_suite::archive_uri(
        "meta-data",
        &[("meta-data", include_bytes!("programs/meta-data"))],
    )?;
    let data = stead_suite::archive_uri("data", &[("data", include_bytes!("programs/data"))])?;
    Ok([
        ("http://storage/meta-data.tar.gz".to_string(), meta),
        ("http://storage/data.tar.gz".to_string(), data),
    ])
}

/// The canonical spec with the declared storage URIs pointing at the shipped archives.
pub fn spec() -> anyhow::Result<ServiceSpec> {
    let mut spec = build_spec(&DataStore::default())?;
    let uris = program_uris()?;
    for tt in &mut spec.task_types {
        if let stead::spec::Commands::Template(cmd) = &mut tt.command {
            for uri in &mut cmd.uris {
                if let Some((_, local)) = uris.iter().find(|(declared, _)| *declared == uri.value) {
                    uri.value = local.clone();
                }
            }
        }
    }
    Ok(spec)
}
