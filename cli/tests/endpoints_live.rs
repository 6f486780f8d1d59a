//! Addresses and endpoints on the embedded cluster, end to end: two instances bind the
//! same static port, each on its own agent's loopback address, and both serve over real
//! TCP; `GET /v1/endpoints`, `ServiceHandle::endpoints` and `stead endpoints` list them.

mod cli_support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stead::api::Endpoint;
use stead::local::{LocalCluster, LocalClusterConfig};
use stead::prelude::*;
use stead::scheduler::Options;
use stead::state::{MemPersister, Persister};
use tokio::io::AsyncReadExt;

/// The static port both instances bind; every agent offers it.
const PORT: u16 = 24517;
const LONG: Duration = Duration::from_secs(120);

task_type! {
    /// Answers every connection with its instance name, on its own address.
    Echo {
        name: "echo",
        count: 2,
        command: "exec python3 -c 'import socket, sys\ns = socket.socket()\ns.bind((sys.argv[1], int(sys.argv[2])))\ns.listen()\nwhile True:\n    c, _ = s.accept()\n    c.sendall(sys.argv[3].encode())\n    c.close()' {{address}} $PORT_CLIENT $TASK_NAME",
        cpus: 0.1,
        mem: 32 MiB,
        ports: [client = 24517],
        placement: "hostname:UNIQUE",
    }
}

/// The service under test.
#[service(name = "addresses-live")]
pub struct AddressesLive {
    echo: Echo,
}

/// Polls `check` every 100 ms until it gives a value, for at most [`LONG`].
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + LONG;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} within {LONG:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the server at `address` answers, if it answers.
async fn answer(address: &str) -> Option<String> {
    let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).await.ok()?;
    Some(text)
}

async fn stead(url: &str, args: &[&str]) -> std::process::Output {
    cli_support::run_stead(url, None, args, LONG).await
}

fn stdout(o: &std::process::Output) -> String {
    assert!(o.status.success(), "{o:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_static_port_on_two_agents_both_serve_and_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = LocalClusterConfig::new(dir.path().join("cluster"))
        .heartbeat_interval(Duration::from_secs(1));
    config.agents = (0..2)
        .map(|i| {
            let mut agent = stead::local::AgentConfig::numbered(i);
            agent.ports.push((PORT.into(), PORT.into()));
            agent
        })
        .collect();
    let cluster = LocalCluster::start(config).await.unwrap();
    let agent_addresses: BTreeSet<String> = cluster
        .state()
        .await
        .unwrap()
        .agents
        .iter()
        .map(|a| a.address.clone())
        .collect();
    assert_eq!(
        agent_addresses,
        BTreeSet::from(["127.0.1.1".to_string(), "127.0.1.2".to_string()]),
        "each agent reports its own loopback address"
    );

    let persister: Arc<dyn Persister> = Arc::new(MemPersister::new());
    let options = Options {
        master: Some(cluster.master_url().to_string()),
        backoff_base: Duration::from_millis(200),
        decline_short: Duration::from_secs(1),
        ..Options::default()
    };
    let handle = DefaultService::with_options(0, options)
        .persister(persister)
        .start(&AddressesLive::default())
        .await
        .unwrap();
    handle
        .wait_for(LONG, |s| {
            s.plan("deploy").is_some_and(|p| p.status.is_complete())
        })
        .await
        .unwrap();

    // The service's own code sees both instances, each on its agent's address.
    let endpoint: Endpoint = eventually("both instances in the endpoints", || async {
        handle
            .endpoints()
            .endpoint("client")
            .filter(|e| e.address.len() == 2)
    })
    .await;
    let expected: BTreeSet<String> = agent_addresses
        .iter()
        .map(|a| format!("{a}:{PORT}"))
        .collect();
    assert_eq!(
        endpoint.address.iter().cloned().collect::<BTreeSet<_>>(),
        expected
    );
    let hosts: BTreeSet<&str> = endpoint.dns.iter().map(String::as_str).collect();
    assert_eq!(
        hosts,
        BTreeSet::from(["agent-0.local:24517", "agent-1.local:24517"])
    );

    // Both serve on the same port, each its own name, over real TCP.
    let endpoints = handle.endpoints();
    for instance in ["echo-0", "echo-1"] {
        let at = endpoints.instance(instance).expect("a launched instance");
        assert_eq!(at.ports.get("client"), Some(&PORT));
        let address = format!("{}:{PORT}", at.address);
        let said = eventually(&format!("{instance} answering on {address}"), || {
            answer(&address)
        })
        .await;
        assert_eq!(said, instance, "{address} is {instance}'s");
    }

    // The operator API.
    let api = format!("http://{}", handle.api_addr());
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{api}{path}")).send();
    let json_of = |r: reqwest::Response| async move {
        serde_json::from_slice::<Value>(&r.bytes().await.unwrap()).unwrap()
    };
    let names = json_of(get("/v1/endpoints").await.unwrap()).await;
    assert_eq!(names, json!(["client"]));
    let client = json_of(get("/v1/endpoints/client").await.unwrap()).await;
    assert_eq!(client, serde_json::to_value(&endpoint).unwrap());
    let missing = get("/v1/endpoints/nope").await.unwrap();
    assert_eq!(missing.status(), 404);

    // The CLI.
    assert_eq!(stdout(&stead(&api, &["endpoints"]).await).trim(), "client");
    let listed: Value =
        serde_json::from_str(&stdout(&stead(&api, &["endpoints", "--json"]).await)).unwrap();
    assert_eq!(listed, json!(["client"]));
    let shown: Value = serde_json::from_str(&stdout(
        &stead(&api, &["endpoints", "client", "--json"]).await,
    ))
    .unwrap();
    assert_eq!(shown, client);
    let table = stdout(&stead(&api, &["endpoints", "client"]).await);
    for address in &expected {
        assert!(table.contains(address.as_str()), "{table}");
    }
    let unknown = stead(&api, &["endpoints", "nope"]).await;
    assert_eq!(unknown.status.code(), Some(1), "{unknown:?}");

    handle.shutdown().await.unwrap();
    cluster.shutdown().await.unwrap();
}
