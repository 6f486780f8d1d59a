//! Where a task runs, as the task sees it: the address it must bind and its agent's
//! hostname, taken from the offer it was placed in and handed to the task through its
//! environment (`TASK_ADDRESS`, `TASK_HOSTNAME`) and the `{{address}}` and `{{hostname}}`
//! placeholders of its command.

use std::collections::BTreeMap;

use stead_proto::v1::{Offer, TaskInfo};

/// The environment variable carrying the address the task binds (its agent's address).
pub const ADDRESS_ENV: &str = "TASK_ADDRESS";
/// The environment variable carrying the hostname of the task's agent.
pub const HOSTNAME_ENV: &str = "TASK_HOSTNAME";

/// The address a task binds and its agent's hostname.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskAddress {
    /// The agent's address (`Offer.url.address.ip`; its hostname when the agent reports
    /// no address).
    pub address: String,
    /// The agent's hostname (`Offer.hostname`).
    pub hostname: String,
}

impl TaskAddress {
    /// Where a task placed in `offer` runs.
    pub fn of_offer(offer: &Offer) -> TaskAddress {
        let url = offer.url.as_ref().map(|u| &u.address);
        let address = url
            .and_then(|a| a.ip.clone().or_else(|| a.hostname.clone()))
            .unwrap_or_else(|| offer.hostname.clone());
        TaskAddress {
            address,
            hostname: offer.hostname.clone(),
        }
    }

    /// Where a launched task runs, as its environment says (empty fields for a task
    /// launched without them).
    pub fn of_task(task: &TaskInfo) -> TaskAddress {
        let env = task_env(task);
        let get = |name: &str| env.get(name).map(|v| v.to_string()).unwrap_or_default();
        TaskAddress {
            address: get(ADDRESS_ENV),
            hostname: get(HOSTNAME_ENV),
        }
    }

    /// The environment variables telling the task where it runs (none for an empty
    /// field, so that a task launched without them is relaunched unchanged).
    pub fn env(&self) -> Vec<(String, String)> {
        [(ADDRESS_ENV, &self.address), (HOSTNAME_ENV, &self.hostname)]
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| (name.to_string(), value.clone()))
            .collect()
    }
}

/// The plain (non-secret) environment variables of `task`'s command, by name.
pub fn task_env(task: &TaskInfo) -> BTreeMap<&str, &str> {
    task.command
        .as_ref()
        .and_then(|c| c.environment.as_ref())
        .map(|e| {
            e.variables
                .iter()
                .filter_map(|v| Some((v.name.as_str(), v.value.as_deref()?)))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use stead_proto::v1::{Address, CommandInfo, Environment, Url, environment};

    fn offer(url: Option<Address>) -> Offer {
        Offer {
            hostname: "agent-1.local".into(),
            url: url.map(|address| Url {
                scheme: "http".into(),
                address,
                ..Url::default()
            }),
            ..Offer::default()
        }
    }

    #[test]
    fn the_offer_url_gives_the_address_and_the_offer_the_hostname() {
        let a = TaskAddress::of_offer(&offer(Some(Address {
            ip: Some("127.0.1.2".into()),
            hostname: Some("other".into()),
            port: 5051,
        })));
        assert_eq!(a.address, "127.0.1.2");
        assert_eq!(a.hostname, "agent-1.local");
    }

    #[test]
    fn without_an_ip_the_address_falls_back_to_a_hostname() {
        let by_url = TaskAddress::of_offer(&offer(Some(Address {
            ip: None,
            hostname: Some("agent-1.example".into()),
            port: 5051,
        })));
        assert_eq!(by_url.address, "agent-1.example");
        assert_eq!(TaskAddress::of_offer(&offer(None)).address, "agent-1.local");
    }

    #[test]
    fn a_task_reads_back_what_its_environment_says() {
        let placed = TaskAddress {
            address: "127.0.1.3".into(),
            hostname: "agent-2.local".into(),
        };
        let variables = placed
            .env()
            .into_iter()
            .map(|(name, value)| environment::Variable {
                name,
                r#type: Some(environment::variable::Type::Value as i32),
                value: Some(value),
                secret: None,
            })
            .collect();
        let task = TaskInfo {
            command: Some(CommandInfo {
                environment: Some(Environment { variables }),
                ..CommandInfo::default()
            }),
            ..TaskInfo::default()
        };
        assert_eq!(TaskAddress::of_task(&task), placed);
        assert_eq!(
            TaskAddress::of_task(&TaskInfo::default()),
            TaskAddress::default()
        );
        assert!(TaskAddress::default().env().is_empty());
    }
}
