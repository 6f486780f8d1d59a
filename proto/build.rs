//! Compiles the Mesos `.proto` subset without a system `protoc`:
//! protox -> descriptor set -> prost (Rust types) + pbjson (serde impls),
//! plus a table of the 64-bit integer fields for the JSON writer.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use prost_types::field_descriptor_proto::Type;
use prost_types::{DescriptorProto, FileDescriptorSet};

const PROTO_ROOT: &str = "proto";
const PROTO_FILES: &[&str] = &["mesos/v1/mesos.proto", "mesos/v1/scheduler/scheduler.proto"];

type BuildResult = Result<(), Box<dyn std::error::Error>>;

fn main() -> BuildResult {
    println!("cargo:rerun-if-changed={PROTO_ROOT}");
    for file in PROTO_FILES {
        println!("cargo:rerun-if-changed={PROTO_ROOT}/{file}");
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);

    let mut compiler = protox::Compiler::new([PROTO_ROOT])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_files(PROTO_FILES.iter().copied())?;
    let fds = compiler.file_descriptor_set();
    let encoded = compiler.encode_file_descriptor_set();

    write_wide_field_table(&fds, &out_dir.join("wide_fields.rs"))?;

    let mut prost = prost_build::Config::new();
    prost
        .out_dir(&out_dir)
        .btree_map(["."])
        // Large, rarely set sub-messages are boxed: inline they would make every
        // operation about 6 KiB, every resource about 1 KiB and every task 2 KiB.
        .boxed(".mesos.v1.Offer.Operation.launch_group")
        .boxed(".mesos.v1.Offer.Operation.grow_volume")
        .boxed(".mesos.v1.Offer.Operation.shrink_volume")
        .boxed(".mesos.v1.Offer.Operation.create_disk")
        .boxed(".mesos.v1.Offer.Operation.destroy_disk")
        .boxed(".mesos.v1.Resource.disk")
        .boxed(".mesos.v1.TaskInfo.executor")
        .boxed(".mesos.v1.TaskInfo.container")
        .boxed(".mesos.v1.TaskInfo.health_check")
        .boxed(".mesos.v1.TaskInfo.check")
        .boxed(".mesos.v1.TaskInfo.discovery")
        .enable_type_names()
        .compile_fds(fds)?;

    pbjson_build::Builder::new()
        .out_dir(&out_dir)
        .register_descriptors(&encoded)?
        .btree_map(["."])
        .preserve_proto_field_names()
        .ignore_unknown_fields()
        .build(&[".mesos"])?;

    Ok(())
}

/// How a field relates to 64-bit integers, as seen by the JSON writer.
#[derive(Clone)]
enum Shape {
    /// The field (or each element / map value) is a 64-bit integer.
    Wide { signed: bool },
    /// The field (or each element / map value) is a message holding some.
    Message(String),
}

/// One field of a message, with where its 64-bit integers live.
struct FieldInfo {
    json_name: String,
    map: bool,
    shape: Shape,
}

/// Writes `WIDE_FIELDS`: for every message that (transitively) contains
/// 64-bit integer fields, the fields leading to them.
fn write_wide_field_table(fds: &FileDescriptorSet, path: &std::path::Path) -> BuildResult {
    // Every message by full name (without the leading dot), with its
    // candidate fields (64-bit scalars and message-typed fields).
    let mut messages: BTreeMap<String, Vec<FieldInfo>> = BTreeMap::new();
    let mut map_entries: BTreeMap<String, FieldInfo> = BTreeMap::new();
    for file in &fds.file {
        let package = file.package.clone().unwrap_or_default();
        for message in &file.message_type {
            collect(&package, message, &mut messages, &mut map_entries);
        }
    }

    // Resolve map fields: a map field points at its entry type; replace it by
    // the shape of the entry's value.
    for fields in messages.values_mut() {
        for field in fields.iter_mut() {
            if let Shape::Message(target) = &field.shape
                && let Some(entry) = map_entries.get(target)
            {
                field.map = true;
                field.shape = entry.shape.clone();
            }
        }
    }
    for entry in map_entries.keys() {
        messages.remove(entry);
    }

    // Fixed point: a message is "wide" if it has a 64-bit field or a message
    // field whose type is wide.
    let mut wide: BTreeSet<String> = BTreeSet::new();
    loop {
        let before = wide.len();
        for (name, fields) in &messages {
            if wide.contains(name) {
                continue;
            }
            let has = fields.iter().any(|field| match &field.shape {
                Shape::Wide { .. } => true,
                Shape::Message(target) => wide.contains(target),
            });
            if has {
                wide.insert(name.clone());
            }
        }
        if wide.len() == before {
            break;
        }
    }

    let mut out = String::new();
    writeln!(
        out,
        "/// Messages containing 64-bit integers (sorted by full name) and the fields leading to them."
    )?;
    writeln!(
        out,
        "pub(crate) static WIDE_FIELDS: &[(&str, &[WideField])] = &["
    )?;
    for name in &wide {
        writeln!(out, "    ({name:?}, &[")?;
        for field in &messages[name] {
            let shape = match &field.shape {
                Shape::Wide { signed } => format!("FieldShape::Wide {{ signed: {signed} }}"),
                Shape::Message(target) if wide.contains(target) => {
                    format!("FieldShape::Message({target:?})")
                }
                Shape::Message(_) => continue,
            };
            writeln!(
                out,
                "        WideField {{ json_name: {:?}, map: {}, shape: {shape} }},",
                field.json_name, field.map
            )?;
        }
        writeln!(out, "    ]),")?;
    }
    writeln!(out, "];")?;
    std::fs::write(path, out)?;
    Ok(())
}

fn collect(
    scope: &str,
    message: &DescriptorProto,
    messages: &mut BTreeMap<String, Vec<FieldInfo>>,
    map_entries: &mut BTreeMap<String, FieldInfo>,
) {
    let name = format!("{scope}.{}", message.name());
    let mut fields = Vec::new();
    for field in &message.field {
        let shape = match field.r#type() {
            Type::Int64 | Type::Sint64 | Type::Sfixed64 => Shape::Wide { signed: true },
            Type::Uint64 | Type::Fixed64 => Shape::Wide { signed: false },
            Type::Message => Shape::Message(field.type_name().trim_start_matches('.').to_string()),
            _ => continue,
        };
        fields.push(FieldInfo {
            json_name: field.name().to_string(),
            map: false,
            shape,
        });
    }
    let is_map_entry = message
        .options
        .as_ref()
        .is_some_and(|options| options.map_entry());
    if is_map_entry {
        // The value field (number 2) decides the entry's shape.
        let value = message.field.iter().find(|field| field.number() == 2);
        if let Some(value) = value {
            let shape = match value.r#type() {
                Type::Int64 | Type::Sint64 | Type::Sfixed64 => Some(Shape::Wide { signed: true }),
                Type::Uint64 | Type::Fixed64 => Some(Shape::Wide { signed: false }),
                Type::Message => Some(Shape::Message(
                    value.type_name().trim_start_matches('.').to_string(),
                )),
                _ => None,
            };
            if let Some(shape) = shape {
                map_entries.insert(
                    name.clone(),
                    FieldInfo {
                        json_name: String::new(),
                        map: true,
                        shape,
                    },
                );
            } else {
                // A map of plain values: nothing to convert, but remember it
                // so that it is not mistaken for a message.
                map_entries.insert(
                    name.clone(),
                    FieldInfo {
                        json_name: String::new(),
                        map: true,
                        shape: Shape::Message(String::new()),
                    },
                );
            }
        }
    }
    for nested in &message.nested_type {
        collect(&name, nested, messages, map_entries);
    }
    messages.insert(name, fields);
}
