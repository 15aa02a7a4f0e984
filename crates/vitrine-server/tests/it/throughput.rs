//! The outsider page's fast path keeps DESIGN §5: whatever is cached (results, drawn cards,
//! dashboard contexts, compressed pages) and however access events are batched, a link that
//! is disabled or rotated under load serves not one view to a request sent after the change
//! committed; and the caches are bounded and visible in `/metrics`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::public::{Fixture, Link, fixture};

/// What one client saw: (when the request was sent, its status).
type Seen = Vec<(Instant, u16)>;

/// `clients` concurrent clients request the page and a card fragment of `link` back to back
/// until `stop`.
fn load(
    fx: &Fixture,
    link: &Link,
    clients: usize,
    stop: Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Seen>> {
    (0..clients)
        .map(|i| {
            let page = fx.app.url(&link.path);
            let card = fx.app.url(&format!("{}/widgets/total", link.path));
            let url = if i % 2 == 0 { page } else { card };
            let stop = stop.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap();
                let mut seen = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let sent = Instant::now();
                    let status = match client
                        .get(&url)
                        .header("accept-encoding", "br, gzip")
                        .send()
                        .await
                    {
                        Ok(r) => {
                            let status = r.status().as_u16();
                            let _ = r.bytes().await;
                            status
                        }
                        Err(_) => 0,
                    };
                    seen.push((sent, status));
                }
                seen
            })
        })
        .collect()
}

async fn changed_under_load(action: &str) {
    let fx = fixture().await;
    let link = fx.link(json!({})).await;
    assert_eq!(fx.status(&link.path).await, 200, "warm");
    let stop = Arc::new(AtomicBool::new(false));
    let clients = load(&fx, &link, 24, stop.clone());
    tokio::time::sleep(Duration::from_millis(400)).await;
    // The change has committed when the API answers.
    fx.act(&link, action).await;
    let committed = Instant::now();
    tokio::time::sleep(Duration::from_millis(400)).await;
    stop.store(true, Ordering::SeqCst);
    let (mut before, mut after_ok, mut after_refused, mut other) = (0, 0, 0, Vec::new());
    for client in clients {
        for (sent, status) in client.await.unwrap() {
            match (sent >= committed, status) {
                (false, 200) => before += 1,
                (false, _) => {}
                (true, 200) => after_ok += 1,
                (true, 404 | 410) => after_refused += 1,
                (true, s) => other.push(s),
            }
        }
    }
    assert!(
        before >= 24,
        "the load was real: {before} views before the change"
    );
    assert!(after_refused >= 24, "refused after: {after_refused}");
    assert_eq!(
        after_ok, 0,
        "{action}: {after_ok} successful views of requests sent after the change committed"
    );
    assert!(other.is_empty(), "{other:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_link_disabled_under_load_serves_no_view_after_the_disable_commits() {
    changed_under_load("disable").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_link_rotated_under_load_serves_no_view_of_the_old_url_after_the_rotation_commits() {
    changed_under_load("rotate").await;
}

/// A metric's value for one label set, from the exposition text.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {series} in /metrics"))
}

#[tokio::test]
async fn an_unchanged_page_is_compressed_once_and_every_cache_shows_its_bytes() {
    let fx = fixture().await;
    let link = fx.link(json!({})).await;
    let client = reqwest::Client::new();
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let r = client
            .get(fx.app.url(&link.path))
            .header("accept-encoding", "br")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-encoding"], "br");
        bodies.push(r.bytes().await.unwrap());
    }
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[1], bodies[2]);
    let mut page = Vec::new();
    brotli::BrotliDecompress(&mut &bodies[0][..], &mut page).unwrap();
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("data-widget="), "the real page");
    // Without brotli: gzip, from its own entry; without either: the page as it is.
    let r = client
        .get(fx.app.url(&link.path))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let text = fx.app.state.metrics_text();
    assert_eq!(
        metric(&text, "vitrine_cache_entries{cache=\"compressed_pages\"}"),
        2.0
    );
    for cache in [
        "results",
        "drawn_cards",
        "dashboard_contexts",
        "compressed_pages",
    ] {
        let bytes = metric(&text, &format!("vitrine_cache_bytes{{cache=\"{cache}\"}}"));
        assert!(bytes > 0.0, "{cache}: {bytes}");
        metric(
            &text,
            &format!("vitrine_cache_evictions_total{{cache=\"{cache}\"}}"),
        );
    }
    // Two data cards: drawn on the first view, which filled the caches while it was built (so
    // its page was not kept); the second built from the drawings and was kept; the third was
    // answered with the kept page (nothing run, drawn or looked up); gzip builds its own page
    // from the drawings.
    let drawn = fx.app.state.runner.cache_stats().drawn_cards;
    assert_eq!((drawn.misses, drawn.hits), (2, 4), "{drawn:?}");
    assert_eq!(
        metric(&text, "vitrine_cache_entries{cache=\"drawn_cards\"}"),
        2.0
    );
}

/// A kept page is the page a new build would give: it follows the link's settings at once,
/// never answers another link's view, and shows new data once the results it shows go stale
/// (not before: the result cache would not have run the query either).
#[tokio::test]
async fn a_kept_page_follows_the_settings_the_link_and_the_data() {
    let fx = fixture().await;
    let open = fx.link(json!({})).await;
    let locked = fx
        .link(json!({ "locked_filters": { "region": "EMEA" } }))
        .await;
    let drawn = || fx.app.state.runner.cache_stats().drawn_cards;
    let (status, first) = fx.text(&open.path).await;
    assert_eq!(status, 200);
    assert!(first.contains("Enterprise"), "every region");
    // The first view filled the caches while it was built, so its page was not kept; the
    // second is built from the caches and kept.
    assert_eq!(fx.text(&open.path).await.1, first);
    let before = drawn();
    let (_, second) = fx.text(&open.path).await;
    assert_eq!(first, second);
    assert_eq!(
        (drawn().hits, drawn().misses),
        (before.hits, before.misses),
        "a kept page runs and draws nothing"
    );

    // Another link of the same dashboard builds its own page.
    let (_, other) = fx.text(&locked.path).await;
    assert!(other.contains("EMEA"));
    assert!(!other.contains("Enterprise"), "the lock, not the kept page");
    assert!(fx.text(&open.path).await.1.contains("Enterprise"));

    // The link's settings hold on the very next view.
    fx.api_send(
        reqwest::Method::PATCH,
        &format!("/api/v1/links/{}", open.id),
        Some(json!({ "locked_filters": { "region": "EMEA" } })),
    )
    .await;
    let (_, relocked) = fx.text(&open.path).await;
    assert!(!relocked.contains("Enterprise"), "a new lock holds at once");

    // New data: shown once the results on the page go stale, as without a kept page.
    let url = format!("sqlite://{}", fx.warehouse.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO orders (plan, region, amount) VALUES ('Zephyr', 'EMEA', 7)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert!(
        !fx.text(&open.path).await.1.contains("Zephyr"),
        "still fresh"
    );
    fx.app.clock.advance(time::Duration::hours(1));
    let (_, fresh) = fx.text(&open.path).await;
    assert!(
        fresh.contains("Zephyr"),
        "the new order, after the refresh interval"
    );
    assert!(!fresh.contains("Enterprise"));
    let (_, again) = fx.text(&open.path).await;
    assert_eq!(fresh, again, "kept again");
}

/// A page with a failed widget is never kept: failures are not cached, the next view tries
/// the query again and shows the data once it works.
#[tokio::test]
async fn a_page_with_a_failed_widget_is_not_kept() {
    let fx = fixture().await;
    let link = fx.link(json!({})).await;
    let url = format!("sqlite://{}", fx.warehouse.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("ALTER TABLE orders RENAME TO orders_away")
        .execute(&pool)
        .await
        .unwrap();
    let (status, broken) = fx.text(&link.path).await;
    assert_eq!(status, 200);
    assert!(!broken.contains("Enterprise"), "the widgets failed");
    sqlx::query("ALTER TABLE orders_away RENAME TO orders")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let (_, mended) = fx.text(&link.path).await;
    assert!(mended.contains("Enterprise"), "tried again, not kept");
}

#[tokio::test]
async fn views_reach_the_owners_counts_through_the_batched_log() {
    let fx = fixture().await;
    let link = fx.link(json!({})).await;
    for _ in 0..5 {
        assert_eq!(fx.status(&link.path).await, 200);
    }
    // Read at once: the reading service flushes the batch first.
    let events = fx.events(&link).await;
    assert_eq!(
        events.iter().filter(|e| *e == "ok").count(),
        5,
        "{events:?}"
    );
    let stats = fx.app.state.access_log.stats();
    assert!(stats.batched_events >= 5, "{stats:?}");
}

/// `data.cache_mib` sizes every cache the server holds (docs/configuration.md).
#[tokio::test]
async fn the_caches_are_sized_from_the_configured_budget() {
    let app = crate::helpers::TestApp::spawn_with(|config| config.data.cache_mib = 16).await;
    let state = &app.state;
    assert_eq!(state.runner.limits().cache_max_bytes, 8 << 20);
    assert_eq!(state.contexts.max_bytes(), 1 << 20);
    assert_eq!(state.compressed_pages.max_bytes(), 1 << 20);
    let default = crate::helpers::TestApp::spawn().await;
    assert_eq!(default.state.runner.limits().cache_max_bytes, 32 << 20);
    assert_eq!(default.state.compressed_pages.max_bytes(), 4 << 20);
}
