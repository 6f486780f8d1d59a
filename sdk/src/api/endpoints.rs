//! Where the service's instances can be reached. Each launched instance's address,
//! hostname and named ports ([`InstanceEndpoints`]) are read from its TaskInfo (the
//! `TASK_ADDRESS` and `TASK_HOSTNAME` variables and the named ports of its discovery
//! info); [`Endpoints`] gathers them, and per port name gives the `address:port` and
//! `hostname:port` of every instance declaring it ([`Endpoint`], what
//! `GET /v1/endpoints/{name}` answers).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use stead_proto::v1::TaskInfo;

use crate::mesos::resources as res;
use crate::offer::TaskAddress;
use crate::offer::operations::task_labels;

/// Where one launched instance can be reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceEndpoints {
    /// The instance name, e.g. `server-1`.
    pub instance: String,
    /// Its task type.
    pub task_type: String,
    /// Its index in the task type.
    pub index: u32,
    /// The address it binds (its agent's address).
    pub address: String,
    /// Its agent's hostname.
    pub hostname: String,
    /// Its named ports: name -> number.
    pub ports: BTreeMap<String, u16>,
}

impl InstanceEndpoints {
    /// The endpoints of a launched task; `None` for a task without the labels naming its
    /// task type and index.
    pub fn of_task(task: &TaskInfo) -> Option<InstanceEndpoints> {
        let labels = task.labels.as_ref();
        let task_type = res::label(labels, task_labels::TASK_TYPE)?.to_string();
        let index = res::label(labels, task_labels::INDEX)?.parse().ok()?;
        let TaskAddress { address, hostname } = TaskAddress::of_task(task);
        let ports = task
            .discovery
            .as_ref()
            .and_then(|d| d.ports.as_ref())
            .map(|p| {
                p.ports
                    .iter()
                    .filter_map(|p| Some((p.name.clone()?, u16::try_from(p.number).ok()?)))
                    .collect()
            })
            .unwrap_or_default();
        Some(InstanceEndpoints {
            instance: task.name.clone(),
            task_type,
            index,
            address,
            hostname,
            ports,
        })
    }
}

/// One named port across the instances declaring it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Endpoint {
    /// The port name.
    pub name: String,
    /// `address:port` of each instance, in instance order.
    pub address: Vec<String>,
    /// `hostname:port` of each instance, in the same order.
    pub dns: Vec<String>,
}

/// Where every launched instance of the service can be reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    /// Every launched instance, in spec order.
    pub instances: Vec<InstanceEndpoints>,
}

/// `host:port`, with an IPv6 address in brackets.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

impl Endpoints {
    /// The port names of the launched instances, sorted, each once.
    pub fn names(&self) -> Vec<String> {
        let names: BTreeSet<&String> = self.instances.iter().flat_map(|i| i.ports.keys()).collect();
        names.into_iter().cloned().collect()
    }

    /// The endpoint of port `name`; `None` if no launched instance declares it.
    pub fn endpoint(&self, name: &str) -> Option<Endpoint> {
        let (address, dns): (Vec<String>, Vec<String>) = self
            .instances
            .iter()
            .filter_map(|i| {
                let port = *i.ports.get(name)?;
                Some((host_port(&i.address, port), host_port(&i.hostname, port)))
            })
            .unzip();
        (!address.is_empty()).then(|| Endpoint {
            name: name.to_string(),
            address,
            dns,
        })
    }

    /// The endpoints of instance `name`.
    pub fn instance(&self, name: &str) -> Option<&InstanceEndpoints> {
        self.instances.iter().find(|i| i.instance == name)
    }

    /// The instances of task type `task_type`, by index.
    pub fn of_task_type<'a>(
        &'a self,
        task_type: &'a str,
    ) -> impl Iterator<Item = &'a InstanceEndpoints> + 'a {
        self.instances
            .iter()
            .filter(move |i| i.task_type == task_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(name: &str, address: &str, ports: &[(&str, u16)]) -> InstanceEndpoints {
        let (task_type, index) = name.rsplit_once('-').unwrap();
        InstanceEndpoints {
            instance: name.into(),
            task_type: task_type.into(),
            index: index.parse().unwrap(),
            address: address.into(),
            hostname: format!("host-{index}"),
            ports: ports.iter().map(|(n, p)| (n.to_string(), *p)).collect(),
        }
    }

    fn endpoints() -> Endpoints {
        Endpoints {
            instances: vec![
                instance("server-0", "127.0.1.1", &[("client", 2181), ("peer", 2888)]),
                instance("server-1", "127.0.1.2", &[("client", 2181), ("peer", 2888)]),
                instance("web-0", "::1", &[("http", 8080)]),
            ],
        }
    }

    #[test]
    fn names_are_sorted_and_unique() {
        assert_eq!(endpoints().names(), ["client", "http", "peer"]);
        assert!(Endpoints::default().names().is_empty());
    }

    #[test]
    fn an_endpoint_lists_every_instance_declaring_the_port() {
        let client = endpoints().endpoint("client").unwrap();
        assert_eq!(client.address, ["127.0.1.1:2181", "127.0.1.2:2181"]);
        assert_eq!(client.dns, ["host-0:2181", "host-1:2181"]);
        let http = endpoints().endpoint("http").unwrap();
        assert_eq!(http.address, ["[::1]:8080"]);
        assert_eq!(endpoints().endpoint("nope"), None);
    }

    #[test]
    fn instances_by_name_and_task_type() {
        let e = endpoints();
        assert_eq!(e.instance("server-1").unwrap().address, "127.0.1.2");
        assert!(e.instance("server-9").is_none());
        let indices: Vec<u32> = e.of_task_type("server").map(|i| i.index).collect();
        assert_eq!(indices, [0, 1]);
    }
}
