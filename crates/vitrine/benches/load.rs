//! The load run: `cargo bench -p vitrine --bench load`.
//!
//! In one process: builds the demo (warehouse, datasets, dashboards, share links) in a
//! temporary directory exactly as `vitrine demo` does, serves it on 127.0.0.1:0, warms the
//! result cache with one request, then drives the server with C concurrent keep-alive
//! HTTP/1.1 connections for D seconds each, first against `/healthz` (the ceiling: the same
//! stack, no work) and then against the public page of the demo's open link
//! (`/share/{token}`). For each run it prints requests, requests per second, p50 / p90 / p99 /
//! max latency and errors, and how many warehouse queries the run caused: with a warm cache
//! that is about (widgets + select filters) × refresh intervals crossed, not × requests.
//!
//! The client is hyper's own HTTP/1.1 connection (no pool, no redirects), one task per
//! connection, each sending its next request as soon as the last response is read. Client and
//! server share one Tokio runtime and the machine's cores, so the numbers are a lower bound
//! of what the server alone could do.
//!
//! Targets, each printed with its ratio to `/healthz` at the same concurrency:
//! - `healthz`: the ceiling;
//! - `share`: the public page of the open "Board" link (`/share/{token}`);
//! - `widget`: one card fragment of it (`/share/{token}/widgets/{id}`, the page's script asks
//!   for these on a filter change);
//! - `embed`: the embedded page of customer usage with a guest token whose row-level rule is
//!   `customer_id = 1` (minted by the demo's sample host, sent in `X-Vitrine-Guest-Token`).
//!
//! Requests send `Accept-Encoding: br, gzip` as a browser does (`LOAD_ENCODING=identity` for
//! none). The process's resident memory (server and client together) is printed at start,
//! after the throughput runs, after **1,000 distinct filter views** of the page (a date range
//! per view: 9 widget queries each, through every cache) and after an idle pause.
//!
//! Knobs (environment): `LOAD_CONNECTIONS` (comma-separated, default `16,64`),
//! `LOAD_SECONDS` (per run, default `10`), `LOAD_TARGETS` (`healthz,share,widget,embed` by
//! default), `LOAD_DISTINCT_VIEWS` (default `1000`; `0` skips the phase),
//! `LOAD_IDLE_SECONDS` (default `10`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use vitrine::demo::{DemoOptions, prepare_demo};
use vitrine_app::App;

/// What one connection saw.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: u64,
    bytes: u64,
}

/// What every request of a run sends.
#[derive(Clone)]
struct Target {
    path: Arc<str>,
    /// Extra header (the guest token).
    header: Option<(&'static str, String)>,
    /// `Accept-Encoding`, unless empty.
    encoding: Arc<str>,
}

/// One keep-alive connection sending GET `target` back to back until `deadline`.
async fn connection(address: SocketAddr, target: Target, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    'reconnect: while Instant::now() < deadline {
        let Ok(stream) = tokio::net::TcpStream::connect(address).await else {
            tally.errors += 1;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let Ok((mut sender, conn)) =
            hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream)).await
        else {
            tally.errors += 1;
            continue;
        };
        tokio::spawn(conn);
        while Instant::now() < deadline {
            let mut request = hyper::Request::get(&*target.path)
                .header(hyper::header::HOST, address.to_string())
                .header(hyper::header::USER_AGENT, "vitrine-load/1");
            if !target.encoding.is_empty() {
                request = request.header(hyper::header::ACCEPT_ENCODING, &*target.encoding);
            }
            if let Some((name, value)) = &target.header {
                request = request.header(*name, value);
            }
            let request = request.body(Empty::new()).expect("a valid request");
            let started = Instant::now();
            let response = match sender.send_request(request).await {
                Ok(response) => response,
                Err(_) => {
                    tally.errors += 1;
                    continue 'reconnect;
                }
            };
            let ok = response.status() == hyper::StatusCode::OK;
            match response.into_body().collect().await {
                Ok(body) if ok => {
                    tally.latencies.push(started.elapsed());
                    tally.bytes += body.to_bytes().len() as u64;
                }
                Ok(_) => tally.errors += 1,
                Err(_) => {
                    tally.errors += 1;
                    continue 'reconnect;
                }
            }
        }
    }
    tally
}

struct Run {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    errors: u64,
    mean_bytes: u64,
}

async fn drive(address: SocketAddr, target: &Target, connections: usize, seconds: f64) -> Run {
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(connection(address, target.clone(), deadline)))
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut bytes = 0;
    for task in tasks {
        let tally = task.await.expect("a connection task");
        latencies.extend(tally.latencies);
        errors += tally.errors;
        bytes += tally.bytes;
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Run {
        requests: latencies.len(),
        elapsed,
        mean_bytes: bytes / latencies.len().max(1) as u64,
        latencies,
        errors,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

async fn get(address: SocketAddr, path: &str) -> (u16, String) {
    get_with(address, path, None).await
}

async fn get_with(
    address: SocketAddr,
    path: &str,
    header: Option<(&'static str, &str)>,
) -> (u16, String) {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let mut request = hyper::Request::get(path).header(hyper::header::HOST, address.to_string());
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .expect("a valid request");
    let response = sender.send_request(request).await.expect("a response");
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.expect("a body");
    (
        status,
        String::from_utf8_lossy(&body.to_bytes()).into_owned(),
    )
}

/// The resident set of this process (server and client together), in MiB.
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn caches(state: &App) -> String {
    let s = state.runner.cache_stats();
    let c = state.contexts.stats();
    let p = state.compressed_pages.stats();
    let mib = |b: u64| b as f64 / 1_048_576.0;
    format!(
        "results {} ({:.1} MiB), filter options {} ({:.2} MiB), drawn cards {} ({:.1} MiB), \
         contexts {} ({:.2} MiB), compressed pages {} ({:.2} MiB); evictions {}",
        s.results.entries,
        mib(s.results.bytes),
        s.filter_options.entries,
        mib(s.filter_options.bytes),
        s.drawn_cards.entries,
        mib(s.drawn_cards.bytes),
        c.entries,
        mib(c.bytes),
        p.entries,
        mib(p.bytes),
        s.results.evictions
            + s.filter_options.evictions
            + s.drawn_cards.evictions
            + c.evictions
            + p.evictions,
    )
}

fn queries(state: &App) -> (u64, u64) {
    let stats = state.runner.cache_stats();
    (
        state.runner.queries_run(),
        stats.results.hits
            + stats.results.misses
            + stats.filter_options.hits
            + stats.filter_options.misses,
    )
}

async fn run() -> anyhow::Result<()> {
    let connections: Vec<usize> = env_or("LOAD_CONNECTIONS", "16,64")
        .split(',')
        .map(|c| c.trim().parse())
        .collect::<Result<_, _>>()?;
    let seconds: f64 = env_or("LOAD_SECONDS", "10").parse()?;
    let targets = env_or("LOAD_TARGETS", "healthz,share,widget,embed");
    let encoding: Arc<str> = Arc::from(match env_or("LOAD_ENCODING", "br, gzip").as_str() {
        "identity" => String::new(),
        other => other.to_owned(),
    });
    let distinct: usize = env_or("LOAD_DISTINCT_VIEWS", "1000").parse()?;
    let idle: u64 = env_or("LOAD_IDLE_SECONDS", "10").parse()?;

    let dir = tempfile::tempdir()?;
    let demo = prepare_demo(DemoOptions {
        data_dir: Some(dir.path().join("demo")),
        port: 0,
        // The distinct-views phase asks for 1,000 new views from one address: past the
        // outsider caps it would measure refusals, not memory.
        configure: Some(|config| {
            config.limits.link_new_views_per_minute = 1_000_000;
            config.limits.client_new_views_per_minute = 1_000_000;
        }),
    })
    .await?;
    let address = demo.server.local_addr();
    let state = demo.server.state().clone();
    let link = demo
        .links
        .iter()
        .find(|l| l.password.is_none() && l.label.starts_with("Board"))
        .ok_or_else(|| anyhow::anyhow!("the demo has no open Board link"))?;
    let share_path = link.url[link.url.find("/share/").expect("a share URL")..].to_owned();
    let host = demo.host_url.trim_end_matches('/').to_owned();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(demo.serve(async {
        let _ = stopped.await;
    }));

    let widgets = {
        let workspace = state.store.default_workspace().await?.expect("a workspace");
        let record = state
            .store
            .dashboard_by_slug(workspace.id, "executive-overview")
            .await?
            .expect("the demo dashboard");
        let doc = vitrine_core::dashboard::Dashboard::from_yaml(&record.document)?;
        (
            doc.widgets.iter().filter(|w| w.query.is_some()).count(),
            doc.refresh_seconds,
        )
    };

    let widget_id = {
        let workspace = state.store.default_workspace().await?.expect("a workspace");
        let record = state
            .store
            .dashboard_by_slug(workspace.id, "executive-overview")
            .await?
            .expect("the demo dashboard");
        let doc = vitrine_core::dashboard::Dashboard::from_yaml(&record.document)?;
        doc.widgets
            .iter()
            .find(|w| w.query.is_some())
            .map(|w| w.id.to_string())
            .expect("a data widget")
    };
    // The sample host's page names its embedding; its backend route mints a guest token
    // with the rule customer_id = 1.
    let host_address: SocketAddr = host
        .trim_start_matches("http://")
        .replace("localhost", "127.0.0.1")
        .parse()
        .map_err(|e| anyhow::anyhow!("the host URL {host}: {e}"))?;
    let (_, portal) = get(host_address, "/").await;
    let embed_id = portal
        .split("id: \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or_else(|| anyhow::anyhow!("the host page names no embedding"))?
        .to_owned();
    let (status, minted) = get(host_address, "/guest-token?customer=1").await;
    anyhow::ensure!(status == 200, "no guest token: {status}");
    let minted: serde_json::Value = serde_json::from_str(&minted)?;
    let guest_token = minted["token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no token in {minted}"))?
        .to_owned();
    let embed_path = format!("/embed/{embed_id}");
    let (status, _) = get_with(
        address,
        &embed_path,
        Some(("x-vitrine-guest-token", &guest_token)),
    )
    .await;
    anyhow::ensure!(status == 200, "the embedded page answers {status}");

    let rss_start = rss_mib();
    let started = Instant::now();
    let (status, page) = get(address, &share_path).await;
    anyhow::ensure!(
        status == 200 && page.contains("data-widget="),
        "the warm-up view failed: {status}"
    );
    println!(
        "vitrine load run: the demo's open link (executive overview: {} data widgets, refresh {} s)",
        widgets.0, widgets.1
    );
    println!(
        "warm-up view: {:.1} ms, {} KB, {} warehouse queries",
        ms(started.elapsed()),
        page.len() / 1024,
        queries(&state).0
    );
    println!(
        "client and server share one process, one Tokio runtime and {} cores; {seconds} s per run",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "\n{:<10} {:>5} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>8} {:>9}",
        "target",
        "conns",
        "requests",
        "req/s",
        "/healthz",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "errors",
        "KB/resp",
        "queries"
    );
    let mut ceiling = std::collections::HashMap::new();
    let widget_path = format!("{share_path}/widgets/{widget_id}");
    for target in targets.split(',').map(str::trim) {
        let (path, header) = match target {
            "healthz" => ("/healthz", None),
            "share" => (share_path.as_str(), None),
            "widget" => (widget_path.as_str(), None),
            "embed" => (
                embed_path.as_str(),
                Some(("x-vitrine-guest-token", guest_token.clone())),
            ),
            other => anyhow::bail!("unknown target {other} (healthz, share, widget, embed)"),
        };
        let spec = Target {
            path: Arc::from(path),
            header,
            encoding: encoding.clone(),
        };
        for &c in &connections {
            let (queries_before, lookups_before) = queries(&state);
            let r = drive(address, &spec, c, seconds).await;
            let (queries_after, lookups_after) = queries(&state);
            let rate = r.requests as f64 / r.elapsed.as_secs_f64();
            if target == "healthz" {
                ceiling.insert(c, rate);
            }
            let ratio = ceiling
                .get(&c)
                .map_or(String::from("-"), |h| format!("{:.1} %", 100.0 * rate / h));
            println!(
                "{:<10} {:>5} {:>9} {:>9.0} {:>8} {:>8.2} {:>8.2} {:>8.2} {:>8.1} {:>7} {:>8} {:>9}",
                target,
                c,
                r.requests,
                rate,
                ratio,
                ms(percentile(&r.latencies, 50.0)),
                ms(percentile(&r.latencies, 90.0)),
                ms(percentile(&r.latencies, 99.0)),
                ms(r.latencies.last().copied().unwrap_or_default()),
                r.errors,
                r.mean_bytes / 1024,
                queries_after - queries_before,
            );
            if target == "share" {
                println!(
                    "{:<16} cache lookups {}, warehouse queries {} over {:.0} s (refresh every {} s)",
                    "",
                    lookups_after - lookups_before,
                    queries_after - queries_before,
                    r.elapsed.as_secs_f64(),
                    widgets.1
                );
            }
        }
    }
    let rss_runs = rss_mib();
    println!("\ncaches after the runs: {}", caches(&state));
    let mut rss_views = rss_runs;
    if distinct > 0 {
        let started = Instant::now();
        let (queries_before, _) = queries(&state);
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let failures = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let (next, failures, share_path) =
                    (next.clone(), failures.clone(), share_path.clone());
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= distinct {
                            break;
                        }
                        // A distinct date range per view: 2024-01-01 to a day i days later.
                        let start = time::Date::from_calendar_date(2024, time::Month::January, 1)
                            .expect("a date");
                        let to = start + time::Duration::days(i as i64 + 1);
                        let path = format!("{share_path}?f.period=2024-01-01..{to}");
                        let (status, _) = get(address, &path).await;
                        if status != 200 {
                            failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.await?;
        }
        rss_views = rss_mib();
        println!(
            "{distinct} distinct filter views in {:.1} s ({} not 200), {} warehouse queries",
            started.elapsed().as_secs_f64(),
            failures.load(std::sync::atomic::Ordering::Relaxed),
            queries(&state).0 - queries_before
        );
        println!("caches after them: {}", caches(&state));
    }
    tokio::time::sleep(Duration::from_secs(idle)).await;
    let rss_idle = rss_mib();
    println!(
        "\nresident memory (server and client, one process): start {rss_start:.1} MiB, \
         after the runs {rss_runs:.1} MiB, after {distinct} distinct views {rss_views:.1} MiB, \
         after {idle} s idle {rss_idle:.1} MiB"
    );
    let log = state.access_log.stats();
    println!(
        "access log: {} view events in {} batches ({:.1} per commit), {} written directly",
        log.batched_events,
        log.batches,
        log.batched_events as f64 / log.batches.max(1) as f64,
        log.direct_events
    );
    let _ = stop.send(());
    server.await??;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    // The allocator as the `vitrine` binary runs it (see `vitrine::allocator`).
    vitrine::allocator::configure_malloc();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}
