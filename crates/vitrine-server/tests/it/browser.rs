//! Browser tests: the owner UI in real headless Chromium, driven over WebDriver by
//! `fantoccini` through Debian's `chromedriver`, against a real [`TestApp`] server.
//!
//! # The harness
//!
//! ```ignore
//! let Some(browser) = Browser::start().await else { return }; // skipped: no Chromium here
//! let app = TestApp::spawn().await;
//! browser.sign_in(&app, "ed@example.com", PASSWORD).await;      // through the real form
//! browser.goto(&app.url("/dashboards/1")).await;
//! let select = browser.wait_for("select[name='f.region']").await; // a fantoccini Element
//! select.select_by_value("AMER").await.unwrap();
//! browser.wait_until("the card shows AMER", "!document.querySelector('#w-t').ariaBusy").await;
//! assert_eq!(browser.js("return location.search").await, "?f.region=AMER");
//! assert!(browser.csp_violations().await.is_empty());
//! browser.set_viewport(390, 844).await;
//! browser.screenshot("dashboard-phone").await;                 // target/screenshots/*.png
//! ```
//!
//! - [`Browser::start`] finds `chromedriver` and `chromium` on `PATH`, starts the driver on a
//!   free port (its own process group), polls its `/status` until ready and opens a session
//!   with a fresh profile and the flags this offline machine needs. When either program is
//!   missing it prints a loud `SKIPPED` line to the real stderr and returns `None`, unless
//!   `VITRINE_REQUIRE_SERVICES=1` (CI), where it panics.
//! - Dropping the [`Browser`] kills the driver's whole process group (driver and every Chromium
//!   process), also when the test panics. At most [`MAX_BROWSERS`] run at once.
//! - Every wait is a bounded poll ([`STEP`]): a broken page fails the test, it never hangs it.
//!   Page loads and scripts also have WebDriver timeouts. `browser.client` is the raw
//!   `fantoccini::Client` for anything the helpers do not cover.
//! - [`Browser::log`] drains Chromium's console and security log (chromedriver's `se/log`);
//!   [`Browser::csp_violations`] and [`Browser::console_errors`] filter it.
//! - [`sales_dashboard`] builds a SQLite warehouse, a data source, a dataset and a dashboard
//!   with a `region` filter through the API, the way an editor would; share-link tests can
//!   start from it.
//!
//! For share-link tests: a fresh `Browser` has no cookies, so it is an outsider until it
//! calls [`Browser::sign_in`] ([`Browser::submit_login`] types and submits without waiting,
//! for refused sign-ins). WebDriver cannot see HTTP status codes: assert what the page says
//! (the 410 page's heading) in the browser, and the status with `reqwest` beside it. A second
//! `Browser` in the same test is a second, independent visitor (it shares the test's
//! [`MAX_BROWSERS`] permit).

use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, SemaphorePermit};
use vitrine_core::member::Role;

use crate::helpers::{PASSWORD, TestApp};

/// The longest any one step (a wait, a page load, a script) may take before the test fails.
pub const STEP: Duration = Duration::from_secs(15);
/// How often waits poll.
const POLL: Duration = Duration::from_millis(50);
/// Browsers running at once in this test binary (the machine has few cores).
pub const MAX_BROWSERS: usize = 2;
static BROWSERS: Semaphore = Semaphore::const_new(MAX_BROWSERS);
thread_local! {
    /// Browsers open on this test's thread (`#[tokio::test]` runs the test on its own thread).
    static BROWSERS_HERE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Flags for headless Chromium on a machine without network access: background networking
/// would make it hang on lookups.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    // Overlay-like: a desktop scrollbar would eat 15 px of a phone-sized viewport.
    "--hide-scrollbars",
    "--window-size=1400,900",
];

/// One headless Chromium behind its own chromedriver; see the module docs.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    driver: Child,
    driver_url: String,
    session: String,
    _profile: tempfile::TempDir,
    /// `None` for a test's second browser: it runs on the first one's permit, so that two
    /// tests that each want two browsers cannot wait for each other forever.
    _permit: Option<SemaphorePermit<'static>>,
}

/// One entry of Chromium's log: `level` is `SEVERE`, `WARNING`, `INFO`…; `source` is
/// `console-api`, `security`, `network`, `javascript`…
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub level: String,
    pub source: String,
    pub message: String,
}

impl Browser {
    /// Starts chromedriver and Chromium, or returns `None` (after saying so) when they are
    /// not installed and the run does not require them.
    pub async fn start() -> Option<Self> {
        Self::start_with(json!({})).await
    }

    /// [`Browser::start`] with Chromium preferences (`{"profile.block_third_party_cookies":
    /// true}`).
    pub async fn start_with(prefs: Value) -> Option<Self> {
        Self::start_in(prefs, None).await
    }

    /// [`Browser::start`] with Chromium's clock in time zone `zone` (an IANA name, through the
    /// `TZ` variable Chromium inherits from its driver), as a viewer elsewhere sees pages.
    pub async fn start_in_zone(zone: &str) -> Option<Self> {
        Self::start_in(json!({}), Some(zone)).await
    }

    async fn start_in(prefs: Value, zone: Option<&str>) -> Option<Self> {
        let (Some(driver), Some(chromium)) = (on_path("chromedriver"), on_path("chromium")) else {
            let test = std::thread::current()
                .name()
                .unwrap_or("a browser test")
                .to_owned();
            if std::env::var("VITRINE_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
                panic!(
                    "{test}: chromium and chromedriver are required (VITRINE_REQUIRE_SERVICES=1): \
                     apt-get install chromium chromium-driver"
                );
            }
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED {test}: no chromium/chromedriver on PATH — \
                 install chromium chromium-driver (apt-get) to run the browser tests ***\n"
            );
            return None;
        };
        let permit = if BROWSERS_HERE.get() == 0 {
            Some(
                BROWSERS
                    .acquire()
                    .await
                    .expect("the semaphore is never closed"),
            )
        } else {
            None
        };
        BROWSERS_HERE.set(BROWSERS_HERE.get() + 1);
        // The free port is found by binding port 0 and letting it go; another process may
        // take it before chromedriver binds it, so a driver that exits at once gets a retry.
        let mut attempt = 0;
        let (mut child, driver_url) = loop {
            attempt += 1;
            let port = free_port();
            let mut command = Command::new(&driver);
            if let Some(zone) = zone {
                command.env("TZ", zone);
            }
            let mut child = command
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                // Its own process group, so that Drop can kill Chromium with it.
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", driver.display()));
            let driver_url = format!("http://127.0.0.1:{port}");
            match wait_until_ready(&mut child, &driver_url).await {
                Ok(()) => break (child, driver_url),
                Err(message) => {
                    kill_group(&mut child);
                    assert!(attempt < 3, "chromedriver: {message}");
                }
            }
        };
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args, "prefs": prefs },
            "goog:loggingPrefs": { "browser": "ALL" },
            "timeouts": {
                "pageLoad": STEP.as_millis() as u64,
                "script": STEP.as_millis() as u64,
                "implicit": 0,
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let connect = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver_url)
            .await;
        let client = match tokio::time::timeout(STEP, async { connect }).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => {
                kill_group(&mut child);
                panic!("start a Chromium session: {e}")
            }
            Err(_) => {
                kill_group(&mut child);
                panic!("Chromium did not start within {STEP:?}")
            }
        };
        let session = client
            .session_id()
            .await
            .ok()
            .flatten()
            .expect("a new session has an id");
        Some(Browser {
            client,
            driver: child,
            driver_url,
            session,
            _profile: profile,
            _permit: permit,
        })
    }

    /// Navigates to `url` and waits for its load event.
    pub async fn goto(&self, url: &str) {
        step(&format!("load {url}"), self.client.goto(url)).await;
    }

    /// Reloads the page and waits for its load event.
    pub async fn reload(&self) {
        step("reload", self.client.refresh()).await;
    }

    /// Runs `script` (a function body: use `return`) in the page and returns its value.
    pub async fn js(&self, script: &str) -> Value {
        step(script, self.client.execute(script, vec![])).await
    }

    /// Waits for an element matching `css` to be present and returns it.
    pub async fn wait_for(&self, css: &str) -> Element {
        let what = format!("an element matching {css}");
        let found = self
            .client
            .wait()
            .at_most(STEP)
            .every(POLL)
            .for_element(Locator::Css(css))
            .await;
        match found {
            Ok(element) => element,
            Err(e) => panic!("{what}: {e} (on {})", self.location().await),
        }
    }

    /// Polls the JavaScript expression `condition` until it is truthy; fails the test after
    /// [`STEP`], naming `what`. Script errors (say, during a navigation) count as "not yet".
    pub async fn wait_until(&self, what: &str, condition: &str) {
        let script = format!("return !!({condition});");
        let started = Instant::now();
        loop {
            if let Ok(Ok(Value::Bool(true))) =
                tokio::time::timeout(STEP, self.client.execute(&script, vec![])).await
            {
                return;
            }
            if started.elapsed() > STEP {
                panic!(
                    "waited {STEP:?} for {what} (`{condition}`) on {}",
                    self.location().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The visible text of the first element matching `css` (waiting for it).
    pub async fn text(&self, css: &str) -> String {
        let element = self.wait_for(css).await;
        step(&format!("text of {css}"), element.text()).await
    }

    /// Opens `/login`, types `email` and `password` into the real form and clicks "Sign in"
    /// (no waiting for the outcome: see [`Browser::sign_in`]).
    pub async fn submit_login(&self, app: &TestApp, email: &str, password: &str) {
        self.goto(&app.url("/login")).await;
        let field = self.wait_for("input[name='email']").await;
        step("type the e-mail", field.send_keys(email)).await;
        let field = self.wait_for("input[name='password']").await;
        step("type the password", field.send_keys(password)).await;
        let submit = self.wait_for("form button[type='submit']").await;
        step("click Sign in", submit.click()).await;
    }

    /// Signs in through the real login form and waits until the browser has left `/login`.
    pub async fn sign_in(&self, app: &TestApp, email: &str, password: &str) {
        self.submit_login(app, email, password).await;
        self.wait_until(
            "the browser to leave the login page",
            "location.pathname !== '/login' && document.readyState === 'complete'",
        )
        .await;
    }

    /// Resizes the window so that the page's viewport is exactly `width` × `height` CSS pixels.
    /// The window's frame is measured and corrected for; a resize lands asynchronously (a
    /// busy machine answers the next script before the new size), so the size is polled and
    /// corrected again until it holds.
    pub async fn set_viewport(&self, width: u32, height: u32) {
        let target = json!([width, height]);
        let (mut w, mut h) = (width, height);
        let mut inner = Value::Null;
        for _ in 0..5 {
            step("resize", self.client.set_window_size(w, h)).await;
            for _ in 0..20 {
                inner = self.js("return [innerWidth, innerHeight]").await;
                if inner == target {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            let (iw, ih) = (inner[0].as_u64().unwrap(), inner[1].as_u64().unwrap());
            // The frame is what the window has beyond its viewport.
            w = (u64::from(w) + u64::from(width)).saturating_sub(iw) as u32;
            h = (u64::from(h) + u64::from(height)).saturating_sub(ih) as u32;
        }
        assert_eq!(inner, target, "the viewport after resizing the window");
    }

    /// Saves a PNG of the viewport as `target/screenshots/{name}.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = step("screenshot", self.client.screenshot()).await;
        let dir = screenshots_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Like [`Browser::screenshot`], of the whole page: the viewport is stretched to the
    /// document's height for the shot, then put back.
    pub async fn screenshot_full_page(&self, name: &str) -> PathBuf {
        let size = self.js("return [innerWidth, innerHeight]").await;
        let (width, height) = (size[0].as_u64().unwrap(), size[1].as_u64().unwrap());
        let full = self
            .js("return document.documentElement.scrollHeight")
            .await
            .as_u64()
            .unwrap()
            .clamp(height, 8000);
        self.set_viewport(width as u32, full as u32).await;
        let path = self.screenshot(name).await;
        self.set_viewport(width as u32, height as u32).await;
        path
    }

    /// Drains Chromium's log (console messages, blocked resources, CSP violations) since the
    /// last call.
    pub async fn log(&self) -> Vec<LogEntry> {
        let url = format!("{}/session/{}/se/log", self.driver_url, self.session);
        let request = reqwest::Client::new()
            .post(url)
            .json(&json!({ "type": "browser" }))
            .send();
        let response: Value = step("read the browser log", async {
            request.await?.json::<Value>().await
        })
        .await;
        response["value"]
            .as_array()
            .unwrap_or_else(|| panic!("chromedriver's log answer: {response}"))
            .iter()
            .map(|e| LogEntry {
                level: e["level"].as_str().unwrap_or_default().to_owned(),
                source: e["source"].as_str().unwrap_or_default().to_owned(),
                message: e["message"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }

    /// Log entries (drained) about something the Content Security Policy blocked.
    pub async fn csp_violations(&self) -> Vec<LogEntry> {
        self.log()
            .await
            .into_iter()
            .filter(|e| e.source == "security" || e.message.contains("Content Security Policy"))
            .collect()
    }

    /// `SEVERE` log entries (drained): script errors, failed loads, CSP violations. The
    /// browser's own request for `/favicon.ico` (the app has none) is not counted.
    pub async fn console_errors(&self) -> Vec<LogEntry> {
        self.log()
            .await
            .into_iter()
            .filter(|e| e.level == "SEVERE")
            .filter(|e| !(e.source == "network" && e.message.contains("/favicon.ico ")))
            .collect()
    }

    /// Ends the session politely (Chromium quits); dropping does the rest.
    pub async fn close(self) {
        let _ = tokio::time::timeout(STEP, self.client.clone().close()).await;
    }

    async fn location(&self) -> String {
        match tokio::time::timeout(STEP, self.client.current_url()).await {
            Ok(Ok(url)) => url.to_string(),
            _ => "an unknown page".to_owned(),
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(&mut self.driver);
        BROWSERS_HERE.set(BROWSERS_HERE.get().saturating_sub(1));
    }
}

/// Kills chromedriver's process group (the driver and the Chromium it started) and reaps it.
fn kill_group(child: &mut Child) {
    let group = format!("-{}", child.id());
    let _ = Command::new("kill")
        .args(["-KILL", "--", &group])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

/// Awaits one browser command, failing the test after [`STEP`] or on an error.
pub async fn step<T, E: std::fmt::Display>(
    what: &str,
    fut: impl Future<Output = Result<T, E>>,
) -> T {
    match tokio::time::timeout(STEP, fut).await {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => panic!("{what}: {e}"),
        Err(_) => panic!("{what}: no answer within {STEP:?}"),
    }
}

/// Polls chromedriver's `/status` until it says ready (bounded), noticing an early exit.
async fn wait_until_ready(child: &mut Child, url: &str) -> Result<(), String> {
    let http = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < STEP {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited at start-up: {status}"));
        }
        if let Ok(response) = http
            .get(format!("{url}/status"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            && let Ok(body) = response.json::<Value>().await
            && body["value"]["ready"] == Value::Bool(true)
        {
            return Ok(());
        }
        tokio::time::sleep(POLL).await;
    }
    Err(format!("not ready within {STEP:?}"))
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// `target/screenshots`, found from this test binary (`target/debug/deps/it-…`), so that it
/// follows `CARGO_TARGET_DIR`.
fn screenshots_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("screenshots")
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/// A dashboard built through the API by an editor, over a SQLite warehouse.
pub struct SalesDashboard {
    pub id: i64,
    pub editor_email: &'static str,
    /// The editor's API key, for more API calls (share links…).
    #[allow(dead_code)]
    pub api_key: String,
}

pub const SALES_YAML: &str = "version: 1
title: Sales
description: Orders by plan and region.
status: published
filters:
  - {id: region, label: Region, kind: single_select, columns: {orders: region}}
widgets:
  - id: total
    title: Revenue
    kind: kpi
    layout: {x: 0, y: 0, w: 4, h: 2}
    query: {dataset: orders, measures: [{agg: sum, column: amount, name: revenue}]}
  - id: by-plan
    title: Revenue by plan
    kind: bar
    layout: {x: 4, y: 0, w: 8, h: 4}
    query: {dataset: orders, dimensions: [{column: plan}], measures: [{agg: sum, column: amount, name: revenue}]}
  - id: plans
    title: Orders by plan
    kind: table
    layout: {x: 0, y: 4, w: 12, h: 3}
    query: {dataset: orders, dimensions: [{column: plan}], measures: [{agg: count}, {agg: sum, column: amount, name: revenue}], sort: [{by: plan}]}
";

/// Creates an editor, a warehouse (`orders`: Starter/EMEA 10, Growth/AMER 20, Growth/EMEA
/// 30), its data source and dataset, and the [`SALES_YAML`] dashboard, all through the API.
pub async fn sales_dashboard(app: &TestApp) -> SalesDashboard {
    let editor_email = "ed@example.com";
    let editor = app
        .member(editor_email, Role::Editor, crate::data_sources::lent())
        .await;
    let api_key = app.api_key(&editor).await;
    let path = app.dir.path().join("warehouse.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    for statement in [
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, plan TEXT, region TEXT, amount REAL)",
        "INSERT INTO orders (plan, region, amount) VALUES \
         ('Starter', 'EMEA', 10), ('Growth', 'AMER', 20), ('Growth', 'EMEA', 30)",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let post = |path: &'static str, body: Value| {
        let request = app
            .api()
            .post(app.url(path))
            .bearer_auth(&api_key)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 201, "POST {path}");
            response.json::<Value>().await.unwrap()
        }
    };
    let source = post(
        "/api/v1/data-sources",
        json!({ "name": "Warehouse", "kind": "sqlite", "location": path.display().to_string() }),
    )
    .await;
    post(
        "/api/v1/datasets",
        json!({ "data_source_id": source["id"], "slug": "orders", "name": "Orders",
                "sql": "SELECT plan, region, amount FROM orders" }),
    )
    .await;
    let dashboard = post(
        "/api/v1/dashboards",
        json!({ "slug": "sales", "yaml": SALES_YAML }),
    )
    .await;
    SalesDashboard {
        id: dashboard["id"].as_i64().unwrap(),
        editor_email,
        api_key,
    }
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn a_member_signs_in_through_the_login_form_and_lands_on_the_dashboards_list() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let sales = sales_dashboard(&app).await;

    browser.goto(&app.url("/")).await;
    browser
        .wait_until(
            "the sign-in redirect",
            "location.pathname === '/login' && !!document.querySelector('input[name=email]')",
        )
        .await;
    browser
        .submit_login(&app, sales.editor_email, "not the password")
        .await;
    // A wrong password keeps the form, says why, and keeps the address typed.
    assert!(
        browser
            .text("[role='alert']")
            .await
            .contains("Wrong e-mail address or password")
    );
    assert_eq!(
        browser
            .js("return document.querySelector('input[name=email]').value")
            .await,
        sales.editor_email
    );
    let errors = browser.console_errors().await;
    assert!(
        errors.iter().all(|e| e.message.contains("status of 401")),
        "only the refused sign-in is an error: {errors:#?}"
    );

    browser.sign_in(&app, sales.editor_email, PASSWORD).await;
    assert_eq!(browser.js("return location.pathname").await, "/");
    assert_eq!(browser.text("h1").await, "Dashboards");
    let tile = browser
        .wait_for(&format!("a.tile[href='/dashboards/{}']", sales.id))
        .await;
    assert!(tile.text().await.unwrap().contains("Sales"));
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    browser.close().await;
}

#[tokio::test]
async fn changing_a_filter_refreshes_the_widgets_in_place_and_the_url_keeps_it() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let sales = sales_dashboard(&app).await;
    browser.sign_in(&app, sales.editor_email, PASSWORD).await;
    browser
        .goto(&app.url(&format!("/dashboards/{}", sales.id)))
        .await;

    let table = "#w-plans";
    let before = browser.text(table).await;
    assert!(
        before.contains("Starter") && before.contains("Growth"),
        "every plan before filtering: {before:?}"
    );
    let kpi = browser.text("#w-total").await;
    assert!(
        kpi.contains("60"),
        "the KPI is every region's revenue: {kpi:?}"
    );
    browser.js("window.__marker = 1; return null").await;

    let region = browser.wait_for("select[name='f.region']").await;
    step("choose AMER", region.select_by_value("AMER")).await;
    browser
        .wait_until(
            "the table to show AMER's orders only",
            "(() => { const card = document.querySelector('#w-plans');
                      return !card.hasAttribute('aria-busy')
                          && !card.textContent.includes('Starter')
                          && card.textContent.includes('Growth'); })()",
        )
        .await;
    assert_eq!(
        browser.js("return window.__marker === 1").await,
        true,
        "the filter refreshed the widgets without reloading the page"
    );
    assert_eq!(browser.js("return location.search").await, "?f.region=AMER");
    let kpi = browser.text("#w-total").await;
    assert!(
        kpi.contains("20") && !kpi.contains("60"),
        "the KPI is AMER's revenue: {kpi:?}"
    );

    // The URL holds the view: reloading it shows the same filtered data.
    browser.reload().await;
    assert_eq!(
        browser.js("return window.__marker === undefined").await,
        true,
        "this time the page did reload"
    );
    let after = browser.text(table).await;
    assert!(
        after.contains("Growth") && !after.contains("Starter"),
        "the reloaded page is still filtered: {after:?}"
    );
    assert_eq!(
        browser
            .js("return document.querySelector(\"select[name='f.region']\").value")
            .await,
        "AMER"
    );

    // Back to all regions, in place again.
    let region = browser.wait_for("select[name='f.region']").await;
    step("choose All", region.select_by_value("")).await;
    browser
        .wait_until(
            "the table to show every plan again",
            "(() => { const card = document.querySelector('#w-plans');
                      return !card.hasAttribute('aria-busy') && card.textContent.includes('Starter'); })()",
        )
        .await;
    assert_eq!(
        browser.js("return location.search").await,
        "?f.region=",
        "an explicit 'All' stays in the URL"
    );
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    browser.close().await;
}

#[tokio::test]
async fn the_dashboard_page_runs_under_its_csp_without_inline_script_or_style() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let sales = sales_dashboard(&app).await;
    browser.sign_in(&app, sales.editor_email, PASSWORD).await;
    browser
        .goto(&app.url(&format!("/dashboards/{}?f.region=EMEA", sales.id)))
        .await;
    browser.wait_for("#w-by-plan svg").await;
    // The script ran (it marks the dashboard) and a filter change went through fetch.
    browser
        .wait_until(
            "dashboard.js to run",
            "document.querySelector('[data-dashboard]').classList.contains('dash-js')",
        )
        .await;
    let region = browser.wait_for("select[name='f.region']").await;
    step("choose AMER", region.select_by_value("AMER")).await;
    browser
        .wait_until(
            "the cards to refresh",
            "location.search === '?f.region=AMER' && !document.querySelector('[aria-busy]')",
        )
        .await;
    assert_eq!(
        browser
            .js("return document.querySelectorAll('[style]').length")
            .await,
        0,
        "no style attributes, in the page or in the fragments"
    );
    let blocked = browser.csp_violations().await;
    assert!(blocked.is_empty(), "blocked by the CSP: {blocked:#?}");
    // The check can see a violation: inject one and expect it in the log.
    browser
        .js(
            "const p = document.createElement('p'); p.setAttribute('style', 'color: red'); \
             document.body.append(p); return null",
        )
        .await;
    browser
        .wait_until(
            "Chromium to report the inline style",
            "getComputedStyle(document.body.lastElementChild).color !== 'rgb(255, 0, 0)'",
        )
        .await;
    let blocked = browser.csp_violations().await;
    assert!(
        blocked.iter().any(|e| e.message.contains("style-src")),
        "an inline style is reported as blocked: {blocked:#?}"
    );
    browser.close().await;
}

#[tokio::test]
async fn the_login_page_and_a_dashboard_fit_a_desktop_and_a_phone() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let sales = sales_dashboard(&app).await;
    let no_sideways_scroll = "document.documentElement.scrollWidth <= innerWidth";
    for (device, width, height) in [("desktop", 1400, 900), ("phone", 390, 844)] {
        browser.set_viewport(width, height).await;
        browser.goto(&app.url("/login")).await;
        browser.wait_for("input[name='email']").await;
        browser.screenshot(&format!("login-{device}")).await;
        assert_eq!(
            browser.js(&format!("return {no_sideways_scroll}")).await,
            true,
            "the login page scrolls sideways on a {device}"
        );
    }
    browser.set_viewport(1400, 900).await;
    browser.sign_in(&app, sales.editor_email, PASSWORD).await;
    for (device, width, height) in [("desktop", 1400, 900), ("phone", 390, 844)] {
        browser.set_viewport(width, height).await;
        browser.goto(&app.url("/")).await;
        browser.wait_for("a.tile").await;
        browser.screenshot(&format!("dashboards-{device}")).await;
        browser
            .goto(&app.url(&format!("/dashboards/{}", sales.id)))
            .await;
        browser.wait_for("#w-by-plan svg").await;
        browser.screenshot(&format!("dashboard-{device}")).await;
        browser
            .screenshot_full_page(&format!("dashboard-{device}-full"))
            .await;
        if device == "phone" {
            // The menu folds behind the burger and opens on a tap (a CSS-only toggle).
            let sign_out = browser.wait_for(".nav button.link").await;
            assert!(
                !sign_out.is_displayed().await.unwrap(),
                "the menu starts folded"
            );
            browser
                .wait_for("label.nav-burger")
                .await
                .click()
                .await
                .unwrap();
            assert!(
                sign_out.is_displayed().await.unwrap(),
                "the burger opens the menu"
            );
            browser.screenshot("dashboard-phone-menu").await;
            browser
                .wait_for("label.nav-burger")
                .await
                .click()
                .await
                .unwrap();
            assert!(
                !sign_out.is_displayed().await.unwrap(),
                "the burger folds it again"
            );
            assert_eq!(
                browser
                    .js(
                        "const t = document.querySelector('.nav-toggle'); t.focus(); \
                         return document.activeElement === t"
                    )
                    .await,
                true,
                "the menu toggle can be reached from the keyboard"
            );
        }
        let overflow = browser
            .js("return Array.from(document.querySelectorAll('body *')) \
                 .filter(e => e.getBoundingClientRect().right > innerWidth + 1) \
                 .map(e => e.tagName + '.' + e.className).slice(0, 5)")
            .await;
        assert_eq!(
            browser.js(&format!("return {no_sideways_scroll}")).await,
            true,
            "the dashboard scrolls sideways on a {device}: {overflow}"
        );
    }
    browser.close().await;
}

#[tokio::test]
async fn an_outsider_unlocks_a_password_link_changes_an_open_filter_and_sees_it_die() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let sales = sales_dashboard(&app).await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let link: Value = app
        .api()
        .post(app.url("/api/v1/links"))
        .bearer_auth(&key)
        .json(&json!({ "dashboard_id": sales.id, "label": "Client A", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = link["url"].as_str().unwrap().to_owned();

    // A fresh browser has no session: it is an outsider. The prompt shows nothing of the data.
    browser.goto(&url).await;
    let password = browser.wait_for("input[name='password']").await;
    let prompt = browser.text("body").await;
    assert!(
        !prompt.contains("Revenue by plan") && !prompt.contains("Starter"),
        "{prompt}"
    );
    step(
        "type the password",
        password.send_keys("correct horse battery"),
    )
    .await;
    let submit = browser.wait_for("button[type='submit']").await;
    step("open", submit.click()).await;
    browser
        .wait_until(
            "the shared dashboard",
            "(() => { const card = document.querySelector('#w-plans');
                      return card && card.textContent.includes('Starter'); })()",
        )
        .await;
    let page = browser.text("body").await;
    assert!(
        !page.contains("Sign out") && !page.contains("Edit"),
        "no owner controls: {page}"
    );

    // The open filter changes the data in place.
    browser.js("window.__marker = 1; return null").await;
    let region = browser.wait_for("select[name='f.region']").await;
    step("choose AMER", region.select_by_value("AMER")).await;
    browser
        .wait_until(
            "the table to show AMER only",
            "(() => { const card = document.querySelector('#w-plans');
                      return !card.hasAttribute('aria-busy')
                          && !card.textContent.includes('Starter')
                          && card.textContent.includes('Growth'); })()",
        )
        .await;
    assert_eq!(
        browser.js("return window.__marker === 1").await,
        true,
        "no reload"
    );

    // The owner disables the link: the next load is the polite 410 page.
    let id = link["id"].as_str().unwrap();
    let disabled = app
        .api()
        .post(app.url(&format!("/api/v1/links/{id}/disable")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 200);
    browser.reload().await;
    browser
        .wait_until(
            "the no-longer-active page",
            "document.body.textContent.includes('This link is no longer active')",
        )
        .await;
    let gone = browser.text("body").await;
    assert!(
        !gone.contains("Starter") && !gone.contains("Sales"),
        "{gone}"
    );
    let status = app.api().get(&url).send().await.unwrap().status();
    assert_eq!(status, 410);
    // The 410 itself is the one expected network error.
    let errors: Vec<LogEntry> = browser
        .console_errors()
        .await
        .into_iter()
        .filter(|e| !e.message.contains("410 (Gone)"))
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    browser.close().await;
}

#[tokio::test]
async fn an_open_public_page_shows_new_numbers_live_and_dies_in_place_when_disabled() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let sales = sales_dashboard(&app).await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let link: Value = app
        .api()
        .post(app.url("/api/v1/links"))
        .bearer_auth(&key)
        .json(&json!({ "dashboard_id": sales.id, "label": "Board" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = link["url"].as_str().unwrap().to_owned();

    browser.goto(&url).await;
    browser
        .wait_until(
            "the live stream to open",
            "document.querySelector('[data-dashboard]').dataset.liveState === 'open'",
        )
        .await;
    let before = browser.text("#w-total").await;
    assert!(before.contains("60"), "{before}");
    browser.js("window.__marker = 1; return null").await;

    // The warehouse moves; the next refresh (the interval, brought forward) reaches the page.
    let warehouse = app.dir.path().join("warehouse.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", warehouse.display()))
        .await
        .unwrap();
    sqlx::query("INSERT INTO orders (plan, region, amount) VALUES ('Enterprise', 'AMER', 1000)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    app.clock.advance(time::Duration::seconds(301));
    app.state.live.refresh_now();
    browser
        .wait_until(
            "the new revenue on the open page",
            "(() => { const t = document.querySelector('#w-total').textContent;
                      return t.includes('1,060') || t.includes('1.06k'); })()",
        )
        .await;
    browser
        .wait_until(
            "the new plan in the table",
            "document.querySelector('#w-plans').textContent.includes('Enterprise')",
        )
        .await;
    assert_eq!(
        browser.js("return window.__marker === 1").await,
        true,
        "updated in place, no reload"
    );

    // The owner disables the link: the open page says so, without a reload.
    let id = link["id"].as_str().unwrap();
    let disabled = app
        .api()
        .post(app.url(&format!("/api/v1/links/{id}/disable")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 200);
    // The order is asserted, not the speed (the live load command measures that): the page
    // flips, and nothing of the dashboard is left on it.
    browser
        .wait_until(
            "the page to flip to no longer active",
            "document.querySelector('[data-live-state=revoked]') !== null
             && document.body.textContent.includes('This link is no longer active')",
        )
        .await;
    let page = browser.text("body").await;
    assert!(
        !page.contains("Revenue by plan") && !page.contains("Enterprise"),
        "nothing of the dashboard stays: {page}"
    );
    assert_eq!(browser.js("return window.__marker === 1").await, true);
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    assert!(browser.csp_violations().await.is_empty());
    browser.close().await;
}
