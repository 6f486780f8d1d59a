//! `stead endpoints [NAME]`: the port names of the launched instances
//! (`GET /v1/endpoints`), or where one of them can be reached (`GET /v1/endpoints/{name}`).

use clap::Args;
use serde_json::Value;
use stead::api::Endpoint;

use super::client::Client;
use super::{CliError, Output, Target, print_json, render, segment};

/// `stead endpoints [NAME] [--json]`.
#[derive(Debug, Clone, Args)]
pub struct EndpointsArgs {
    /// The API location.
    #[command(flatten)]
    pub target: Target,
    /// A port name (e.g. `client`); without it, the names are listed.
    pub name: Option<String>,
    /// The output format.
    #[command(flatten)]
    pub output: Output,
}

/// Runs `stead endpoints`.
pub async fn run(args: EndpointsArgs) -> Result<(), CliError> {
    let client = args.target.client()?;
    match &args.name {
        None => {
            let names: Vec<String> = client.get("/v1/endpoints").await?.into()?;
            if args.output.json {
                print_json(&Value::from(names))
            } else {
                render::emit(&names.join("\n"))
            }
        }
        Some(name) => {
            let endpoint = fetch(&client, name).await?;
            if args.output.json {
                let value =
                    serde_json::to_value(&endpoint).map_err(|e| CliError::Decode(e.to_string()))?;
                print_json(&value)
            } else {
                render::emit(&view(&endpoint))
            }
        }
    }
}

async fn fetch(client: &Client, name: &str) -> Result<Endpoint, CliError> {
    client
        .get(&format!("/v1/endpoints/{}", segment(name)))
        .await?
        .into()
}

/// The human view of one endpoint: an `ADDRESS` and a `HOST` column, one row per instance.
fn view(endpoint: &Endpoint) -> String {
    let rows: Vec<Vec<String>> = endpoint
        .address
        .iter()
        .zip(&endpoint.dns)
        .map(|(address, dns)| vec![address.clone(), dns.clone()])
        .collect();
    render::table(&["ADDRESS", "HOST"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_instance() {
        let endpoint = Endpoint {
            name: "client".into(),
            address: vec!["127.0.1.1:2181".into(), "127.0.1.2:2181".into()],
            dns: vec!["agent-0.local:2181".into(), "agent-1.local:2181".into()],
        };
        let text = view(&endpoint);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("ADDRESS"), "{text}");
        assert!(lines[1].contains("127.0.1.1:2181") && lines[1].contains("agent-0.local:2181"));
        assert!(lines[2].contains("127.0.1.2:2181") && lines[2].contains("agent-1.local:2181"));
    }
}
