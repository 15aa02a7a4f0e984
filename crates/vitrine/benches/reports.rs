//! Scheduled reports per second: the demo's "executive-overview" dashboard (ten widgets, nine
//! with data) as a report — the PDF, a PNG of each widget inline, the CSV of every data widget
//! and the live link (a share link) — rendered natively and handed over a real SMTP
//! conversation to a minimal sink in this process, one after the other.
//!
//! `cargo bench -p vitrine --bench reports` (release). `REPORTS` (default 20) reports are
//! measured after one warm-up; it prints reports per second, milliseconds per report and the
//! message size, and fails unless the sink accepted every message. docs/performance.md
//! ("Scheduled reports") quotes it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use vitrine::demo::{DEMO_EMAIL, DemoOptions, prepare_demo};
use vitrine_app::reports::{self, Contents, Frequency, Recipient, ScheduleInput};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// An SMTP server that accepts everything and counts messages and bytes.
async fn sink() -> (u16, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let messages = Arc::new(AtomicUsize::new(0));
    let bytes = Arc::new(AtomicUsize::new(0));
    let (m, b) = (messages.clone(), bytes.clone());
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (m, b) = (m.clone(), b.clone());
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read);
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut line = String::new();
                let mut in_data = false;
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if in_data {
                        b.fetch_add(line.len(), Ordering::Relaxed);
                        if line == ".\r\n" {
                            in_data = false;
                            m.fetch_add(1, Ordering::SeqCst);
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            in_data = true;
                            b"354 go on\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(answer).await.unwrap();
                }
            });
        }
    });
    (port, messages, bytes)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let demo = prepare_demo(DemoOptions {
        data_dir: Some(dir.path().join("demo")),
        port: 0,
        configure: None,
    })
    .await
    .unwrap();
    let (port, messages, bytes) = sink().await;
    let mut config = (*demo.server.state().config).clone();
    config.mail.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    let app = vitrine_app::prepare(config, demo.server.state().clock.clone())
        .await
        .unwrap();
    let admin = app
        .store
        .member_by_email(DEMO_EMAIL)
        .await
        .unwrap()
        .unwrap();
    let board = app
        .store
        .dashboard_by_slug(admin.workspace_id, "executive-overview")
        .await
        .unwrap()
        .unwrap();
    let ctx = vitrine_app::content::open_dashboard(&app, &admin, board.id)
        .await
        .unwrap()
        .1;
    let data_widgets: Vec<String> = ctx
        .document
        .widgets
        .iter()
        .filter(|w| w.query.is_some())
        .map(|w| w.id.to_string())
        .collect();
    let schedule = reports::create(
        &app,
        &admin,
        &ScheduleInput {
            dashboard_id: board.id.0,
            widget_id: None,
            name: "Benchmark".into(),
            frequency: Frequency::Daily { at: "09:00".into() },
            zone: "UTC".into(),
            recipients: vec![Recipient::Email {
                address: "bench@example.com".into(),
            }],
            contents: Contents {
                pdf: true,
                png: true,
                csv: data_widgets.clone(),
                live_link: true,
                live_link_id: None,
            },
            filters: Default::default(),
            skip_when_empty: false,
            enabled: true,
        },
    )
    .await
    .unwrap();
    // One warm-up (the dashboard context and the fonts), then the measured reports.
    reports::send_now(&app, &admin, schedule.id, false)
        .await
        .unwrap();
    let n = env_number("REPORTS", 20);
    let started = std::time::Instant::now();
    let mut done = 0;
    while done < n {
        match reports::send_now(&app, &admin, schedule.id, false).await {
            Ok(_) => {
                reports::deliver::drain(&app).await.unwrap();
                done += 1;
            }
            // Two manual runs in one millisecond are one run: try again.
            Err(vitrine_app::Error::Conflict(_)) => tokio::task::yield_now().await,
            Err(e) => panic!("{e}"),
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(
        messages.load(Ordering::SeqCst),
        n + 1,
        "every report was accepted"
    );
    let per_second = n as f64 / elapsed.as_secs_f64();
    let size = bytes.load(Ordering::Relaxed) / (n + 1);
    println!(
        "REPORTS: {n} reports of {} widgets ({} with data) in {:.2} s: {per_second:.1} reports/s, {:.0} ms each, {} KB per message",
        ctx.document.widgets.len(),
        data_widgets.len(),
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / n as f64,
        size / 1024
    );
}
