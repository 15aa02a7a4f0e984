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
//! Knobs (environment): `LOAD_CONNECTIONS` (comma-separated, default `16,64`),
//! `LOAD_SECONDS` (per run, default `10`), `LOAD_TARGETS` (`healthz,share` by default).

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

/// One keep-alive connection sending GET `path` back to back until `deadline`.
async fn connection(address: SocketAddr, path: Arc<str>, deadline: Instant) -> Tally {
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
            let request = hyper::Request::get(&*path)
                .header(hyper::header::HOST, address.to_string())
                .header(hyper::header::USER_AGENT, "vitrine-load/1")
                .body(Empty::new())
                .expect("a valid request");
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

async fn drive(address: SocketAddr, path: &str, connections: usize, seconds: f64) -> Run {
    let path: Arc<str> = Arc::from(path);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(connection(address, path.clone(), deadline)))
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
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, address.to_string())
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
    let targets = env_or("LOAD_TARGETS", "healthz,share");

    let dir = tempfile::tempdir()?;
    let demo = prepare_demo(DemoOptions {
        data_dir: Some(dir.path().join("demo")),
        port: 0,
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
        "\n{:<10} {:>5} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7} {:>8} {:>9}",
        "target",
        "conns",
        "requests",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "errors",
        "KB/resp",
        "queries"
    );
    for target in targets.split(',').map(str::trim) {
        let path = match target {
            "healthz" => "/healthz",
            "share" => share_path.as_str(),
            other => anyhow::bail!("unknown target {other} (healthz, share)"),
        };
        for &c in &connections {
            let (queries_before, lookups_before) = queries(&state);
            let r = drive(address, path, c, seconds).await;
            let (queries_after, lookups_after) = queries(&state);
            println!(
                "{:<10} {:>5} {:>9} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>8.1} {:>7} {:>8} {:>9}",
                target,
                c,
                r.requests,
                r.requests as f64 / r.elapsed.as_secs_f64(),
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
    let _ = stop.send(());
    server.await??;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}
