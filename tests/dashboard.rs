//! The web dashboard in a real browser: Debian's headless Chromium, driven through
//! WebDriver (`chromedriver`), on the data-store example's scheduler running as a process
//! on its embedded cluster. The page follows the deploy plan to COMPLETE without a
//! reload, refuses an action without the API token, and a restart clicked and confirmed
//! in the page relaunches the pod (a new task id, in the page and in `/v1/pods`), and a
//! replace confirmed in the page is accepted (it carries the API's confirmation) and
//! places the pod anew. A screenshot is written to `target/test-artifacts/dashboard.png`.
//!
//! Chromium and its driver must be installed (`apt-get install chromium
//! chromium-driver`; `scripts/test.sh` does it): without them the test fails, saying so.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use stead_suite::{ExampleProcess, eventually};

/// Generous: CI machines are slow and shared.
const LONG: Duration = Duration::from_secs(180);
/// The API token the scheduler is started with; the page must send it to act.
const TOKEN: &str = "dashboard-token";
/// What the page's marker holds; a reload would lose it.
const MARKER: &str = "set before the deploy completed";

/// `chromedriver` serving WebDriver on a free loopback port, killed when dropped.
struct ChromeDriver {
    child: Child,
    url: String,
}

impl ChromeDriver {
    /// Starts it and waits until it is ready; fails clearly when Chromium is missing.
    async fn start(log: &Path) -> Result<ChromeDriver> {
        for (binary, package) in [
            ("chromedriver", "chromium-driver"),
            ("chromium", "chromium"),
        ] {
            if which(binary).is_none() {
                bail!(
                    "`{binary}` is not installed: the dashboard test needs a real browser \
                     (apt-get install chromium chromium-driver, as scripts/test.sh does; \
                     package {package})"
                );
            }
        }
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting chromedriver")?;
        let driver = ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let status = format!("{}/status", driver.url);
        eventually("chromedriver ready", LONG, || async {
            let text = reqwest::get(&status).await.ok()?.text().await.ok()?;
            let body: Value = serde_json::from_str(&text).ok()?;
            body["value"]["ready"].as_bool().filter(|ready| *ready)
        })
        .await?;
        Ok(driver)
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The path of `binary` on `PATH`, if there is one.
fn which(binary: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(binary))
        .find(|path| path.is_file())
}

/// The operator API's base URL, once the scheduler logged that it listens. Read every
/// 10 ms: the deploy is to be interrupted before it completes, within about a second.
async fn api_url(log: &Path) -> Result<String> {
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let addr = text
            .lines()
            .filter(|l| l.contains("operator API listening"))
            .find_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix("addr=")));
        if let Some(addr) = addr {
            return Ok(format!("http://{addr}"));
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "the operator API never listened: see {}",
            log.display()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A headless Chromium session with a window large enough for the whole page.
async fn browser(driver: &ChromeDriver) -> Result<Client> {
    let args = [
        "--headless=new",
        // The tests run as root, where Chromium's sandbox cannot start.
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1500,2300",
    ];
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".into(), "chrome".into());
    capabilities.insert("goog:chromeOptions".into(), json!({ "args": args }));
    Ok(ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await?)
}

/// The value of `script` (a function body returning something) in the page.
async fn page_value(browser: &Client, script: &str) -> Result<Value> {
    Ok(browser.execute(script, Vec::new()).await?)
}

/// Waits until `script` returns something else than `null`/`false` in the page.
async fn page_until(browser: &Client, what: &str, script: &str) -> Result<Value> {
    Ok(eventually(what, LONG, || async {
        let value = page_value(browser, script).await.ok()?;
        (!value.is_null() && value != Value::Bool(false)).then_some(value)
    })
    .await?)
}

/// Clicks `selector`, then the confirmation dialog's Confirm button once it is open.
async fn click_and_confirm(browser: &Client, selector: &str) -> Result<()> {
    browser.find(Locator::Css(selector)).await?.click().await?;
    page_until(
        browser,
        "the confirmation dialog open",
        "return document.getElementById('confirm').open",
    )
    .await?;
    browser
        .find(Locator::Id("confirm-yes"))
        .await?
        .click()
        .await?;
    Ok(())
}

/// The task id of `instance` in the page.
const TASK_ID: &str = "return document.querySelector(`tr[data-instance=\"${arguments[0]}\"] .task-id`)?.textContent || null";

async fn task_id_in_page(browser: &Client, instance: &str) -> Result<Option<String>> {
    let value = browser
        .execute(TASK_ID, vec![Value::from(instance)])
        .await?;
    Ok(value.as_str().map(String::from))
}

/// The task id of `instance` as `GET /v1/pods` tells it.
async fn task_id_in_api(api: &str, instance: &str) -> Result<Option<String>> {
    let text = reqwest::get(format!("{api}/v1/pods")).await?.text().await?;
    let pods: Vec<Value> = serde_json::from_str(&text)?;
    Ok(pods
        .iter()
        .find(|p| p["instance"] == instance)
        .and_then(|p| p["task_id"].as_str())
        .map(String::from))
}

/// Where the screenshot goes: `target/test-artifacts/`.
fn artifacts() -> Result<PathBuf> {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .context("the target directory")?;
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_follows_a_deploy_and_restarts_a_pod_in_a_real_browser() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let driver = ChromeDriver::start(&dir.path().join("chromedriver.log")).await?;
    let log = dir.path().join("scheduler.log");
    let state = dir.path().join("state");
    let state = state.to_str().context("UTF-8 temp dir")?;
    let _scheduler = ExampleProcess::spawn(
        "data-store",
        &["--state-dir", state, "--api-token", TOKEN],
        &log,
    )?;
    let api = api_url(&log).await?;
    // Held until the page has been seen: the deploy cannot complete before it is open.
    let interrupted = reqwest::Client::new()
        .post(format!("{api}/v1/plans/deploy/interrupt"))
        .bearer_auth(TOKEN)
        .send()
        .await?;
    ensure!(interrupted.status().is_success(), "{interrupted:?}");
    let page = reqwest::get(&api).await?;
    ensure!(
        page.status().is_success(),
        "no dashboard at {api} ({}): the data-store example was built before it \
         (cargo build --example data-store)",
        page.status()
    );

    let browser = browser(&driver).await?;
    let outcome = drive(&browser, &api, dir.path()).await;
    if outcome.is_err() {
        if let Ok(png) = browser.screenshot().await {
            std::fs::write(artifacts()?.join("dashboard-failed.png"), png)?;
        }
        eprintln!("{}", std::fs::read_to_string(&log).unwrap_or_default());
    }
    browser.close().await?;
    outcome
}

/// What the operator does in the page, and what they see.
async fn drive(browser: &Client, api: &str, dir: &Path) -> Result<()> {
    browser.goto(api).await?;
    let seen = page_until(
        browser,
        "the deploy plan in the page",
        "return document.querySelector('.plan[data-plan=\"deploy\"]')?.dataset.status || null",
    )
    .await?;
    ensure!(seen != "COMPLETE", "the deploy was held, yet shown {seen}");
    browser
        .execute(&format!("window.steadMarker = '{MARKER}'"), Vec::new())
        .await?;

    // Without the token the API refuses, and the page says why.
    let continue_deploy = "button[data-action=\"continue\"][data-plan=\"deploy\"]";
    click_and_confirm(browser, continue_deploy).await?;
    page_until(
        browser,
        "the refusal shown",
        "return document.getElementById('notice').textContent.includes('API token')",
    )
    .await?;

    browser
        .find(Locator::Id("token"))
        .await?
        .send_keys(TOKEN)
        .await?;
    click_and_confirm(browser, continue_deploy).await?;
    page_until(
        browser,
        "the deploy COMPLETE in the page, all five pods running",
        "return document.querySelector('.plan[data-plan=\"deploy\"]')?.dataset.status === 'COMPLETE' \
         && [...document.querySelectorAll('#pods tbody tr .state')] \
              .filter(c => c.textContent === 'TASK_RUNNING').length === 5",
    )
    .await?;
    let marker = page_value(browser, "return window.steadMarker || null").await?;
    ensure!(marker == MARKER, "the page was reloaded: marker {marker}");

    let before = task_id_in_page(browser, "data-1")
        .await?
        .context("data-1's task id in the page")?;
    ensure!(
        task_id_in_api(api, "data-1").await?.as_deref() == Some(before.as_str()),
        "the page and /v1/pods agree on data-1's task"
    );
    click_and_confirm(
        browser,
        "button[data-action=\"restart\"][data-instance=\"data-1\"]",
    )
    .await?;
    let after = eventually("data-1 relaunched in the page", LONG, || async {
        let now = task_id_in_page(browser, "data-1").await.ok()??;
        let state = browser
            .execute(
                "return document.querySelector('tr[data-instance=\"data-1\"] .state').textContent",
                Vec::new(),
            )
            .await
            .ok()?;
        (now != before && !now.is_empty() && state == "TASK_RUNNING").then_some(now)
    })
    .await?;
    ensure!(
        task_id_in_api(api, "data-1").await?.as_deref() == Some(after.as_str()),
        "/v1/pods shows the relaunched task {after}"
    );
    page_until(
        browser,
        "the recovery plan COMPLETE and data-1 ready",
        "return document.querySelector('.plan[data-plan=\"recovery\"]')?.dataset.status === 'COMPLETE' \
         && document.querySelector('tr[data-instance=\"data-1\"] .ready').textContent === 'yes'",
    )
    .await?;

    // A replace is sent with the confirmation the API requires, once confirmed in the page.
    let replaced = task_id_in_page(browser, "data-2")
        .await?
        .context("data-2's task id in the page")?;
    click_and_confirm(
        browser,
        "button[data-action=\"replace\"][data-instance=\"data-2\"]",
    )
    .await?;
    page_until(
        browser,
        "the replace accepted",
        "return document.getElementById('notice').textContent.endsWith('replace?confirm=data-2: done')",
    )
    .await?;
    eventually(
        "data-2 placed anew, in the page and in /v1/pods",
        LONG,
        || async {
            let now = task_id_in_page(browser, "data-2").await.ok()??;
            let api_now = task_id_in_api(api, "data-2").await.ok()??;
            (now != replaced && now == api_now).then_some(())
        },
    )
    .await?;
    page_until(
        browser,
        "every plan COMPLETE and every pod ready",
        "return [...document.querySelectorAll('.plan')].every(p => p.dataset.status === 'COMPLETE') \
         && [...document.querySelectorAll('#pods tbody tr .ready')] \
              .filter(c => c.textContent === 'yes').length === 5",
    )
    .await?;
    let marker = page_value(browser, "return window.steadMarker || null").await?;
    ensure!(marker == MARKER, "the page was reloaded: marker {marker}");

    let shot = artifacts()?.join("dashboard.png");
    let png = browser.screenshot().await?;
    std::fs::write(&shot, &png)?;
    ensure!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a screenshot at {}",
        shot.display()
    );
    eprintln!(
        "screenshot: {} (scratch files in {})",
        shot.display(),
        dir.display()
    );
    Ok(())
}
