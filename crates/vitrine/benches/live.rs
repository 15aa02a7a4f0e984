//! Live viewers of one share link (1,000 by default, 10,000 with `VIEWERS=10000`): the
//! server's memory per open stream and the warehouse queries per refresh interval.
//!
//! `cargo bench -p vitrine --bench live` starts the real binary (`vitrine demo`, release
//! build, its own process so its memory is its own; `VITRINE_BIN` names another build) on a
//! free port, signs in as the demo's admin and gives the demo's open board link room for the
//! audience (its own caps on live viewers, per link and per client address, set to `VIEWERS`
//! through the API: every viewer here comes from 127.0.0.1), opens `VIEWERS` (default 1000)
//! Server-Sent Events streams on it from this process over plain TCP, and then watches for
//! `INTERVALS` (default 2) refresh intervals of the dashboard while the demo warehouse keeps
//! moving. It prints the server's resident memory before and after, per viewer, the warehouse
//! queries per interval (from `/metrics`) against the dashboard's widget count, and the widget
//! updates each viewer received. Then it disables the link through the API, and prints how
//! long each open stream took to hear `revoked`, counted from the moment the request was sent:
//! the revocation latency, measured here rather than asserted in tests.
//!
//! Viewers open their streams as the page does, with the hashes of the cards they show, so the
//! server sends them only what changes (`SHOWN=0`: bare streams, each sent every card first).
//! Each viewer opens its own connection for its stream; with `VIA_PAGE=1` it first loads the
//! page on that connection and then asks for the stream on it, as a browser does.
//!
//! 10,000 connections need file descriptors in both processes: raise `ulimit -n` (e.g. to
//! 65536) in the shell that runs the bench.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// This process's soft limit on open files (its child, the server, inherits it).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

async fn get(address: &str, path: &str) -> String {
    get_with(address, path, "").await
}

/// GET with extra header lines (each ending in `\r\n`).
async fn get_with(address: &str, path: &str, headers: &str) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {address}\r\n{headers}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).await.unwrap();
    body
}

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (key, value) = l.rsplit_once(' ')?;
        (key == name).then(|| value.parse().ok())?
    })
}

#[derive(Default)]
struct Counters {
    open: AtomicU64,
    /// Streams the server refused (`503`: a cap reached; the page would poll instead).
    refused: AtomicU64,
    widget_events: AtomicU64,
    bytes: AtomicU64,
    /// When each stream heard `revoked`.
    revoked: std::sync::Mutex<Vec<Instant>>,
}

/// `h.<widget>=<hash>&…` for every card of `page` that carries a hash, as the page's script
/// sends them when it opens its stream.
fn shown_cards(page: &str) -> String {
    let mut pairs = Vec::new();
    for card in page.split("data-widget=\"").skip(1) {
        let Some((widget, rest)) = card.split_once('"') else {
            continue;
        };
        let next_card = rest.find("data-widget=\"").unwrap_or(rest.len());
        if let Some(hash) = rest[..next_card]
            .split("data-hash=\"")
            .nth(1)
            .and_then(|h| h.split('"').next())
        {
            pairs.push(format!("h.{widget}={hash}"));
        }
    }
    pairs.join("&")
}

/// Reads one whole response (framed by `Content-Length` or chunked) off `stream`, as a
/// browser does before it reuses the connection; `false` if the connection failed.
async fn read_one_response(stream: &mut TcpStream) -> bool {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let n = match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        bytes.extend_from_slice(&buffer[..n]);
        let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|l| l.trim().parse::<usize>().ok());
        let done = match length {
            Some(length) => bytes.len() >= end + 4 + length,
            None => bytes.ends_with(b"\r\n0\r\n\r\n"),
        };
        if done {
            return true;
        }
    }
}

async fn viewer(address: String, page: Option<String>, path: String, counters: Arc<Counters>) {
    let Ok(mut stream) = TcpStream::connect(&address).await else {
        return;
    };
    // `VIA_PAGE=1`: the page first, then the stream on the same kept-alive connection, as a
    // browser's `EventSource` usually reuses the connection the page came on.
    if let Some(page) = page {
        let request = format!("GET {page} HTTP/1.1\r\nHost: {address}\r\n\r\n");
        if stream.write_all(request.as_bytes()).await.is_err()
            || !read_one_response(&mut stream).await
        {
            return;
        }
    }
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return;
    }
    let mut buffer = vec![0u8; 16 * 1024];
    let mut opened = false;
    let mut tail = String::new();
    loop {
        let n = match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        counters.bytes.fetch_add(n as u64, Ordering::Relaxed);
        let text = format!("{tail}{}", String::from_utf8_lossy(&buffer[..n]));
        if !opened && text.starts_with("HTTP/1.1 200") {
            opened = true;
            counters.open.fetch_add(1, Ordering::Relaxed);
        } else if !opened && text.starts_with("HTTP/1.1 503") {
            counters.refused.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let widgets = text.matches("event: widget").count() as u64;
        counters.widget_events.fetch_add(widgets, Ordering::Relaxed);
        if text.contains("event: revoked") {
            let at = Instant::now();
            counters
                .revoked
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(at);
            return;
        }
        // Keep a short tail so an event name split across reads is still counted once.
        let cut = text.len().saturating_sub(14);
        let cut = (cut..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        tail = if text[cut..].contains("event: widget") {
            String::new()
        } else {
            text[cut..].to_owned()
        };
    }
}

#[tokio::main]
async fn main() {
    let viewers = env_number("VIEWERS", 1000);
    let intervals = env_number("INTERVALS", 2);
    if let Some(limit) = open_files_limit()
        && limit < viewers + 256
    {
        eprintln!(
            "warning: `ulimit -n` is {limit}: too few file descriptors for {viewers} viewers (raise it, e.g. `ulimit -n 65536`)"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    // `VITRINE_BIN` runs another build of the server (to compare two builds).
    let binary =
        std::env::var_os("VITRINE_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_vitrine").into());
    let mut child = Command::new(binary)
        .args(["demo", "--port", &port.to_string(), "--data-dir"])
        .arg(dir.path())
        .env("VITRINE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the vitrine binary starts");
    let pid = child.id();
    let mut board = None;
    let mut metrics_token = None;
    let mut login = (None, None);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut previous = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if previous.trim() == "Board (open link)" {
            board = Some(line.trim().to_owned());
        }
        if let Some(email) = line.trim().strip_prefix("e-mail:") {
            login.0 = Some(email.trim().to_owned());
        }
        if let Some(password) = line.trim().strip_prefix("password:")
            && login.1.is_none()
        {
            login.1 = Some(password.trim().to_owned());
        }
        // `  metrics:   curl -H 'Authorization: Bearer TOKEN' URL/metrics`
        if let Some(rest) = line.split("Bearer ").nth(1) {
            metrics_token = rest.split('\'').next().map(str::to_owned);
        }
        if line.contains("Press Ctrl-C") {
            break;
        }
        previous = line;
    }
    std::thread::spawn(move || for _ in lines {});
    let board = board.expect("the demo prints its open board link");
    let scrape = format!(
        "Authorization: Bearer {}\r\n",
        metrics_token.expect("the demo prints its metrics token")
    );
    let address = format!("127.0.0.1:{port}");
    let path = board
        .split_once(&address)
        .map(|(_, p)| p.to_owned())
        .expect("a link on the demo's address");

    // The owner gives the link room for this audience: by default an instance lets one link
    // have `limits.link_live_viewers` (1,000) streams and one client address 10, and every
    // viewer here comes from 127.0.0.1.
    let (email, password) = (login.0.expect("e-mail"), login.1.expect("password"));
    let owner = Owner::sign_in(&address, &email, &password).await;
    let link_id = owner.link_id("Board (open link)").await;
    owner.allow_live_viewers(&link_id, viewers).await;

    // Warm: the page (its widgets and filter options into the cache).
    let page = get(&address, &path).await;
    let widgets = page.matches("data-widget=\"").count() as u64;
    let refresh: u64 = page
        .split("data-refresh-seconds=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = rss_kib(pid);

    let counters = Arc::new(Counters::default());
    let started = Instant::now();
    // Each viewer opens the stream as the page does: with the hash of every card it already
    // shows (`h.<widget>=<hash>`), so the server sends only what changes from then on
    // (`SHOWN=0` opens bare streams, each sent every card at once).
    let live_path = if env_number("SHOWN", 1) == 1 {
        format!("{path}/live?{}", shown_cards(&page))
    } else {
        format!("{path}/live")
    };
    let via_page = (env_number("VIA_PAGE", 0) == 1).then(|| path.clone());
    for _ in 0..viewers {
        tokio::spawn(viewer(
            address.clone(),
            via_page.clone(),
            live_path.clone(),
            counters.clone(),
        ));
    }
    while counters.open.load(Ordering::Relaxed) + counters.refused.load(Ordering::Relaxed) < viewers
        && started.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let open_after = started.elapsed();
    let opened = counters.open.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_open = rss_kib(pid);

    let metrics_before = get_with(&address, "/metrics", &scrape).await;
    let events_before = counters.widget_events.load(Ordering::Relaxed);
    let window = Duration::from_secs(refresh * intervals);
    tokio::time::sleep(window).await;
    let metrics_after = get_with(&address, "/metrics", &scrape).await;
    let events = counters.widget_events.load(Ordering::Relaxed) - events_before;
    let rss_end = rss_kib(pid);
    let queries = match (
        metric(&metrics_before, "vitrine_warehouse_queries_total"),
        metric(&metrics_after, "vitrine_warehouse_queries_total"),
    ) {
        (Some(a), Some(b)) => format!("{:.1}", (b - a) / intervals as f64),
        _ => "n/a (no /metrics)".to_owned(),
    };
    let streams = metric(&metrics_after, "vitrine_live_streams_open")
        .map_or("n/a".to_owned(), |v| format!("{v}"));

    println!("live viewers of one link (vitrine demo, release, this machine)");
    println!(
        "  viewers opened            {opened} / {viewers} in {open_after:.2?} ({} refused)",
        counters.refused.load(Ordering::Relaxed)
    );
    println!("  streams open (server)     {streams}");
    println!("  dashboard                 {widgets} widgets, refresh every {refresh} s");
    println!(
        "  server RSS                {:.1} MiB before, {:.1} MiB with viewers, {:.1} MiB after {intervals} intervals",
        rss_before as f64 / 1024.0,
        rss_open as f64 / 1024.0,
        rss_end as f64 / 1024.0
    );
    println!(
        "  memory per viewer         {:.1} KiB (open), {:.1} KiB (after updates)",
        (rss_open.saturating_sub(rss_before)) as f64 / opened.max(1) as f64,
        (rss_end.saturating_sub(rss_before)) as f64 / opened.max(1) as f64
    );
    println!("  warehouse queries         {queries} per interval (all viewers together)");
    println!(
        "  widget updates received   {:.2} per viewer per interval ({events} in all)",
        events as f64 / opened.max(1) as f64 / intervals as f64
    );
    println!(
        "  bytes received            {:.1} MiB in all",
        counters.bytes.load(Ordering::Relaxed) as f64 / 1_048_576.0
    );

    // Revocation: the owner disables the link; every open stream must hear `revoked`.
    let still_open = counters.open.load(Ordering::Relaxed)
        - counters
            .revoked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len() as u64;
    let sent = Instant::now();
    owner.disable(&link_id).await;
    let answered = sent.elapsed();
    let deadline = Instant::now() + Duration::from_secs(30);
    while (counters
        .revoked
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .len() as u64)
        < still_open
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut latencies: Vec<Duration> = counters
        .revoked
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|at| at.saturating_duration_since(sent))
        .collect();
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .map_or("n/a".to_owned(), |d| format!("{d:.1?}"))
    };
    println!(
        "  revocation                {} / {still_open} streams told `revoked`; from the disable request: p50 {}, p99 {}, max {} (the API answered in {answered:.1?})",
        latencies.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// The demo's admin, signed in: a session cookie and its CSRF token.
struct Owner {
    client: reqwest::Client,
    base: String,
    csrf: String,
}

impl Owner {
    async fn sign_in(address: &str, email: &str, password: &str) -> Owner {
        let base = format!("http://{address}");
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let field = |page: &str, name: &str| {
            let marker = format!("name=\"{name}\" value=\"");
            let start = page.find(&marker).expect("a form field") + marker.len();
            page[start..start + page[start..].find('"').unwrap()].to_owned()
        };
        let page = client.get(format!("{base}/login")).send().await.unwrap();
        let csrf = field(&page.text().await.unwrap(), "csrf_token");
        let response = client
            .post(format!("{base}/login"))
            .form(&[
                ("email", email),
                ("password", password),
                ("csrf_token", &csrf),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "the demo's printed login works");
        let page = client.get(format!("{base}/api-keys")).send().await.unwrap();
        let csrf = field(&page.text().await.unwrap(), "csrf_token");
        Owner { client, base, csrf }
    }

    async fn link_id(&self, label: &str) -> String {
        let links: serde_json::Value = self
            .client
            .get(format!("{}/api/v1/links", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        links
            .as_array()
            .expect("a list of links")
            .iter()
            .find(|l| l["label"] == label)
            .and_then(|l| l["id"].as_str())
            .expect("the demo's board link")
            .to_owned()
    }

    /// Sets the link's own caps on live streams (per link and per client address) to `n`.
    async fn allow_live_viewers(&self, id: &str, n: u64) {
        let response = self
            .client
            .patch(format!("{}/api/v1/links/{id}", self.base))
            .header("x-csrf-token", &self.csrf)
            .json(&serde_json::json!({
                "access": { "max_live_viewers": n, "max_live_viewers_per_client": n }
            }))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }

    async fn disable(&self, id: &str) {
        let response = self
            .client
            .post(format!("{}/api/v1/links/{id}/disable", self.base))
            .header("x-csrf-token", &self.csrf)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }
}
