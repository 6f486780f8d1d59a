//! The original design's data-store service: 2 meta-data nodes and 3 data nodes.

use stead::prelude::*;

task_type! {
    /// Meta-data nodes hold the cluster map.
    MetaData {
        name: "meta-data",
        count: 2,
        command: "./meta-data {{index}}",
        uris: ["http://storage/meta-data.zip"],
        cpus: 1.0,
        mem: 512 MiB,
        volume: root(5000 MiB, "meta-data-container-path"),
        placement: "hostname:UNIQUE",
    }
}

task_type! {
    /// Data nodes store the data.
    Data {
        name: "data",
        count: 3,
        command: "./data",
        uris: ["http://storage/data.zip"],
        cpus: 1.0,
        mem: 1024 MiB,
        volume: root(10 GiB, "data-path"),
    }
}

#[service(name = "data-store")]
struct DataStore {
    meta_data: MetaData,
    data: Data,
}

fn main() {
    let spec = build_spec(&DataStore::default()).expect("the data-store spec is valid");
    let json: serde_json::Value = serde_json::from_str(&spec.canonical_json()).unwrap();
    let expected = serde_json::json!({
        "name": "data-store",
        "role": "data-store-role",
        "principal": "data-store-principal",
        "task_types": [
            {
                "name": "meta-data",
                "count": 2,
                "goal": "RUNNING",
                "command": { "template": {
                    "value": "./meta-data {{index}}",
                    "uris": [{ "value": "http://storage/meta-data.zip", "extract": true, "executable": false }],
                    "env": {}
                } },
                "resources": [
                    { "name": "cpus", "value": 1.0, "role": "data-store-role", "principal": "data-store-principal" },
                    { "name": "mem", "value": 512.0, "role": "data-store-role", "principal": "data-store-principal" }
                ],
                "volumes": [{
                    "size_mib": 5000, "type": "ROOT", "container_path": "meta-data-container-path",
                    "role": "data-store-role", "principal": "data-store-principal"
                }],
                "ports": [],
                "placement": ["hostname:UNIQUE"],
                "health_check": null,
                "readiness_check": null,
                "allow_decommission": false,
                "kill_grace_period": null
            },
            {
                "name": "data",
                "count": 3,
                "goal": "RUNNING",
                "command": { "template": {
                    "value": "./data",
                    "uris": [{ "value": "http://storage/data.zip", "extract": true, "executable": false }],
                    "env": {}
                } },
                "resources": [
                    { "name": "cpus", "value": 1.0, "role": "data-store-role", "principal": "data-store-principal" },
                    { "name": "mem", "value": 1024.0, "role": "data-store-role", "principal": "data-store-principal" }
                ],
                "volumes": [{
                    "size_mib": 10240, "type": "ROOT", "container_path": "data-path",
                    "role": "data-store-role", "principal": "data-store-principal"
                }],
                "ports": [],
                "placement": [],
                "health_check": null,
                "readiness_check": null,
                "allow_decommission": false,
                "kill_grace_period": null
            }
        ]
    });
    assert_eq!(json, expected);
    let meta = spec.task_type("meta-data").unwrap();
    assert_eq!(meta.render_command(1).unwrap().value, "./meta-data 1");
}
