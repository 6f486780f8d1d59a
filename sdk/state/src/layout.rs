//! Where each piece of state lives (mirrors dcos-commons).
//!
//! ```text
//! FrameworkID                      the Mesos FrameworkID (protobuf)
//! ConfigTarget                     the id of the target configuration (UTF-8)
//! Configurations/<id>              one configuration (JSON)
//! Tasks/<instance>/TaskInfo        the last launched TaskInfo (protobuf)
//! Tasks/<instance>/TaskStatus      the last TaskStatus (protobuf)
//! Tasks/<instance>/Meta            the scheduler's per-task record (JSON, TaskMeta)
//! Properties/<key>                 free-form values ("uninstall", "deploy-complete", ...)
//! ```

/// The FrameworkID node.
pub const FRAMEWORK_ID: &str = "FrameworkID";
/// The node naming the target configuration.
pub const CONFIG_TARGET: &str = "ConfigTarget";
/// The parent of every stored configuration.
pub const CONFIGURATIONS: &str = "Configurations";
/// The parent of every task instance.
pub const TASKS: &str = "Tasks";
/// A task's TaskInfo leaf.
pub const TASK_INFO: &str = "TaskInfo";
/// A task's TaskStatus leaf.
pub const TASK_STATUS: &str = "TaskStatus";
/// A task's metadata leaf.
pub const TASK_META: &str = "Meta";
/// The parent of every property.
pub const PROPERTIES: &str = "Properties";

/// `Tasks/<name>`.
pub fn task(name: &str) -> String {
    format!("{TASKS}/{name}")
}

/// `Tasks/<name>/<leaf>`.
pub fn task_leaf(name: &str, leaf: &str) -> String {
    format!("{TASKS}/{name}/{leaf}")
}

/// `Configurations/<id>`.
pub fn configuration(id: &str) -> String {
    format!("{CONFIGURATIONS}/{id}")
}

/// `Properties/<key>`.
pub fn property(key: &str) -> String {
    format!("{PROPERTIES}/{key}")
}
