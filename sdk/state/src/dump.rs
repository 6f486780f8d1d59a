//! Copying a service's whole state between backends (`stead state export|import`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Result, StateError};
use crate::persister::{Op, Persister};

/// The format tag of a [`StateDump`].
pub const DUMP_FORMAT: &str = "stead-state-dump/1";

/// Every node of a service's state, parents before children, as JSON-friendly data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateDump {
    /// Always [`DUMP_FORMAT`].
    pub format: String,
    /// The nodes, in depth-first order.
    pub nodes: Vec<DumpNode>,
}

/// One node of a [`StateDump`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpNode {
    /// The node's path (`Tasks/data-0/TaskInfo`).
    pub path: String,
    /// The node's value (base64 in JSON).
    #[serde(serialize_with = "to_base64", deserialize_with = "from_base64")]
    pub value: Vec<u8>,
}

fn to_base64<S: Serializer>(value: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&STANDARD.encode(value))
}

fn from_base64<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<u8>, D::Error> {
    let text = String::deserialize(d)?;
    STANDARD.decode(text).map_err(serde::de::Error::custom)
}

/// What [`import`] does with state already in the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportMode {
    /// Refuse to import into a target that holds any state.
    RequireEmpty,
    /// Replace the target's state entirely.
    Replace,
}

/// Reads every node of `persister`.
pub fn export(persister: &dyn Persister) -> Result<StateDump> {
    let mut nodes = Vec::new();
    // Depth-first, children in sorted order, so the dump is deterministic.
    let mut stack: Vec<String> = persister.children("")?.into_iter().rev().collect();
    while let Some(path) = stack.pop() {
        // A node deleted while exporting is skipped.
        let Some(value) = persister.get(&path)? else {
            continue;
        };
        let children = persister.children(&path)?;
        stack.extend(children.into_iter().rev().map(|c| format!("{path}/{c}")));
        nodes.push(DumpNode { path, value });
    }
    Ok(StateDump {
        format: DUMP_FORMAT.to_owned(),
        nodes,
    })
}

/// Writes `dump` into `persister` in one batch. Returns the number of nodes written.
pub fn import(persister: &dyn Persister, dump: &StateDump, mode: ImportMode) -> Result<usize> {
    if dump.format != DUMP_FORMAT {
        return Err(StateError::decode(
            "",
            format!(
                "unknown dump format {:?}, expected {DUMP_FORMAT:?}",
                dump.format
            ),
        ));
    }
    let mut ops = Vec::with_capacity(dump.nodes.len() + 1);
    match mode {
        ImportMode::RequireEmpty => {
            let existing = persister.children("")?;
            if !existing.is_empty() {
                return Err(StateError::NotEmpty {
                    location: persister.location(),
                    top: existing.join(", "),
                });
            }
        }
        ImportMode::Replace => ops.push(Op::delete("")),
    }
    ops.extend(
        dump.nodes
            .iter()
            .map(|n| Op::set(n.path.clone(), n.value.clone())),
    );
    persister.multi(&ops)?;
    Ok(dump.nodes.len())
}
