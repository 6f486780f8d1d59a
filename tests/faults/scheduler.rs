//! The data-store example's scheduler as a real process, and the parts of its operator
//! API the suite reads.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use anyhow::{Result, bail};
use serde::de::DeserializeOwned;
use stead::api::{Health, PodInfo, PodSummary};
use stead::spec::ServiceSpec;
use stead_suite::ExampleProcess;

/// The log line the scheduler writes once its operator API listens.
const API_LISTENING: &str = "operator API listening";

/// One run of the scheduler, from its start until it exits or is killed.
#[derive(Debug)]
pub struct SchedulerProcess {
    process: ExampleProcess,
    log: PathBuf,
    /// Where this run's lines start in the (shared, appended) log.
    log_start: u64,
    api: Option<Api>,
}

impl SchedulerProcess {
    /// Starts the data-store example with `args`, appending its log to `log`.
    pub fn spawn(args: &[String], log: &Path) -> Result<SchedulerProcess> {
        let log_start = std::fs::metadata(log).map_or(0, |m| m.len());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let process = ExampleProcess::spawn("data-store", &args, log)?;
        Ok(SchedulerProcess {
            process,
            log: log.to_path_buf(),
            log_start,
            api: None,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// Its exit status, once it has exited.
    pub fn exited(&mut self) -> Result<Option<ExitStatus>> {
        Ok(self.process.try_wait()?)
    }

    /// Kills it with SIGKILL and reaps it.
    pub fn kill9(self) -> Result<()> {
        Ok(self.process.kill9()?)
    }

    /// Its operator API, once it listens.
    pub fn api(&mut self) -> Result<Option<&Api>> {
        if self.api.is_none() {
            let mut file = std::fs::File::open(&self.log)?;
            file.seek(SeekFrom::Start(self.log_start))?;
            let mut text = String::new();
            file.read_to_string(&mut text)?;
            self.api = text
                .lines()
                .filter(|l| l.contains(API_LISTENING))
                .find_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix("addr=")))
                .map(|addr| Api::new(&format!("http://{addr}")));
        }
        Ok(self.api.as_ref())
    }
}

/// A client of the operator API.
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

/// The target configuration as `GET /v1/configurations/target` tells it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct TargetConfig {
    /// Its id.
    pub id: String,
    /// The spec.
    pub spec: ServiceSpec,
}

#[derive(Debug, Clone, serde::Deserialize)]
struct FrameworkIdAnswer {
    framework_id: Option<String>,
}

impl Api {
    /// A client of the API at `base` (`http://host:port`).
    pub fn new(base: &str) -> Api {
        Api {
            base: base.to_string(),
            http: reqwest::Client::new(),
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let answer = self.http.get(format!("{}{path}", self.base)).send().await?;
        // Health answers 202, 206, 417 and 503 with the same body as 200.
        let bytes = answer.bytes().await?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// `GET /v1/health`: the overall state and every plan's status.
    pub async fn health(&self) -> Result<Health> {
        self.get("/v1/health").await
    }

    /// `GET /v1/pods`.
    pub async fn pods(&self) -> Result<Vec<PodSummary>> {
        self.get("/v1/pods").await
    }

    /// `GET /v1/pods/<instance>/info`.
    pub async fn pod_info(&self, instance: &str) -> Result<PodInfo> {
        self.get(&format!("/v1/pods/{instance}/info")).await
    }

    /// `GET /v1/configurations/target`.
    pub async fn target(&self) -> Result<TargetConfig> {
        self.get("/v1/configurations/target").await
    }

    /// `GET /v1/state/frameworkId`.
    pub async fn framework_id(&self) -> Result<Option<String>> {
        Ok(self
            .get::<FrameworkIdAnswer>("/v1/state/frameworkId")
            .await?
            .framework_id)
    }

    /// `POST /v1/pods/<instance>/replace`; returns once the decision is stored.
    pub async fn replace(&self, instance: &str) -> Result<()> {
        let answer = self
            .http
            .post(format!(
                "{}/v1/pods/{instance}/replace?confirm={instance}",
                self.base
            ))
            .send()
            .await?;
        if !answer.status().is_success() {
            bail!(
                "replace {instance}: {} {}",
                answer.status(),
                answer.text().await.unwrap_or_default()
            );
        }
        Ok(())
    }
}
