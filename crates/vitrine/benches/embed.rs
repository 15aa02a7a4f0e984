//! Embedding throughput: guest tokens minted per second, and embedded widget requests per
//! second with a row-level rule on a warm cache, against `/healthz` in the same run.
//!
//! `cargo bench -p vitrine --bench embed` starts the real binary (`vitrine demo`, release
//! build) on a free port; the demo enables embedding on customer-usage and serves its sample
//! host application, whose backend route `/guest-token?customer=ID` mints a token with the
//! rule `customer_id = ID`. For `SECONDS` (default 5) each, `CONCURRENCY` (default 8) clients
//! mint tokens through that route, then fetch one embedded widget fragment with the token in
//! its header (after one warming request), then fetch `/healthz`. It prints requests per
//! second and the share of non-200 answers for each.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `concurrency` clients GET `url` (with `header` when given) for `seconds`: (ok, other).
async fn hammer(
    url: String,
    header: Option<(&'static str, String)>,
    concurrency: u64,
    seconds: u64,
) -> (u64, u64) {
    let ok = Arc::new(AtomicU64::new(0));
    let other = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (url, header, ok, other) = (url.clone(), header.clone(), ok.clone(), other.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            while Instant::now() < until {
                let mut request = client.get(&url);
                if let Some((name, value)) = &header {
                    request = request.header(*name, value);
                }
                match request.send().await {
                    Ok(r) if r.status() == 200 => {
                        let _ = r.bytes().await;
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        other.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    (ok.load(Ordering::Relaxed), other.load(Ordering::Relaxed))
}

fn report(what: &str, (ok, other): (u64, u64), seconds: u64) {
    println!(
        "{what:<44} {:>9.0} /s   ({ok} ok, {other} other)",
        ok as f64 / seconds as f64
    );
}

#[tokio::main]
async fn main() {
    let seconds = env_number("SECONDS", 5);
    let concurrency = env_number("CONCURRENCY", 8);
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_vitrine"))
        .args(["demo", "--port", &port.to_string(), "--data-dir"])
        .arg(dir.path())
        .env("VITRINE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the vitrine binary starts");
    let mut host = None;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut previous = String::new();
    while let Some(Ok(line)) = lines.next() {
        if previous.starts_with("Embedded in a sample host application") {
            host = Some(line.trim().trim_end_matches('/').to_owned());
            break;
        }
        previous = line;
    }
    let host = host.expect("the demo prints its host application's URL");
    let vitrine = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let page = client
        .get(format!("{host}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let embed_id = page
        .split("id: \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    println!(
        "vitrine demo (release), {concurrency} concurrent clients, {seconds} s each, this machine"
    );
    let minted = hammer(
        format!("{host}/guest-token?customer=1"),
        None,
        concurrency,
        seconds,
    )
    .await;
    report("guest tokens minted (host route → app)", minted, seconds);
    let token: serde_json::Value = client
        .get(format!("{host}/guest-token?customer=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let widget = format!("{vitrine}/embed/{embed_id}/widgets/api_calls");
    let warm = client
        .get(&widget)
        .header("x-vitrine-guest-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(warm.status(), 200, "the embedded widget answers");
    let widgets = hammer(
        widget,
        Some(("x-vitrine-guest-token", token)),
        concurrency,
        seconds,
    )
    .await;
    report(
        "embedded widget fragment, rule, warm cache",
        widgets,
        seconds,
    );
    let health = hammer(format!("{vitrine}/healthz"), None, concurrency, seconds).await;
    report("/healthz", health, seconds);
    let _ = child.kill();
    let _ = child.wait();
}
