//! Live updates: Server-Sent Events on shared and owner dashboards — one warehouse query per
//! widget per interval however many viewers, only changed widgets pushed, and every way a
//! link can stop working closing its open streams, on one instance and across two instances
//! on one PostgreSQL database.
//!
//! These tests assert the *order* of events ("no widget before this one", "`revoked`, then
//! nothing"), never how fast they come: the time limits below only stop a test that would
//! otherwise hang. How fast a revocation reaches open streams is measured by the live load
//! command (`cargo bench -p vitrine --bench live`, see docs/performance.md).

use std::time::Duration;

use crate::helpers::{PgDatabase, TestApp, both_stores};
use crate::links::shared_dashboard;

/// One received event.
#[derive(Debug, Clone)]
struct Received {
    event: String,
    data: String,
}

/// A minimal SSE reader over a streaming response.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
    ended: bool,
}

impl EventStream {
    async fn open(client: &reqwest::Client, url: &str) -> EventStream {
        let response = client
            .get(url)
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{url}");
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "{url}"
        );
        assert_eq!(response.headers()["cache-control"], "no-store");
        EventStream {
            response,
            buffer: String::new(),
            ended: false,
        }
    }

    /// The next event with a name, `None` when the stream ended, a panic after `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Received> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim_start().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    }
                }
                if !event.is_empty() {
                    return Some(Received { event, data });
                }
            }
            if self.ended {
                return None;
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .expect("an event in time")
                .unwrap();
            match chunk {
                Some(bytes) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                None => self.ended = true,
            }
        }
    }

    /// Skips events until one named `name`.
    async fn until(&mut self, name: &str, wait: Duration) -> Received {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(r) if r.event == name => return r,
                Some(_) => {}
                None => panic!("the stream ended before a `{name}` event"),
            }
        }
    }

    /// The next event, which must be named `name`: nothing else may come before it.
    async fn next_is(&mut self, name: &str) -> Received {
        let received = self.next(WAIT).await;
        match received {
            Some(r) if r.event == name => r,
            other => panic!("expected `{name}` next, got {other:?}"),
        }
    }
}

async fn create_link(app: &TestApp, key: &str, body: serde_json::Value) -> serde_json::Value {
    let response = app
        .api()
        .post(app.url("/api/v1/links"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// A fresh server, an admin's API key, the shared dashboard and a link on it made from `body`
/// (the dashboard's id added).
async fn app_with_link(mut body: serde_json::Value) -> (TestApp, String, i64, serde_json::Value) {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let dashboard = shared_dashboard(&app, &key).await;
    body["dashboard_id"] = dashboard.into();
    let link = create_link(&app, &key, body).await;
    (app, key, dashboard, link)
}

/// [`app_with_link`] with a plain "Board" link.
async fn app_with_board_link() -> (TestApp, String, i64, serde_json::Value) {
    app_with_link(serde_json::json!({ "label": "Board" })).await
}

/// The data hashes the page shows, as the live URL's `h.<widget>` parameters.
fn page_hashes(html: &str) -> String {
    let mut out = Vec::new();
    for part in html.split("data-widget=\"").skip(1) {
        let id = &part[..part.find('"').unwrap()];
        let hash_at = part.find("data-hash=\"").unwrap() + "data-hash=\"".len();
        let hash = &part[hash_at..hash_at + part[hash_at..].find('"').unwrap()];
        out.push(format!("h.{id}={hash}"));
    }
    out.join("&")
}

async fn add_order(app: &TestApp, plan: &str, region: &str, amount: f64) {
    let path = app.dir.path().join("warehouse.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query("INSERT INTO orders VALUES ($1, $2, $3)")
        .bind(plan)
        .bind(region)
        .bind(amount)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

/// Lets every cached result expire (the test dashboard keeps the default refresh interval,
/// 300 s).
fn expire_cache(app: &TestApp) {
    app.clock.advance(time::Duration::seconds(301));
}

/// Waits until the result cache has answered more than `hits` lookups: a refresher run that
/// found everything cached has happened.
async fn cache_hits_pass(app: &TestApp, hits: u64) {
    for _ in 0..500 {
        if app.state.runner.cache_stats().results.hits > hits {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no refresher run read the cache");
}

/// How long a test waits for an event before it fails instead of hanging: a bound, not a
/// claim about speed.
const WAIT: Duration = Duration::from_secs(10);

both_stores!(
    every_viewer_gets_the_change_from_one_query_per_widget,
    async {
        let (app, _, _, link) = app_with_board_link().await;
        let url = link["url"].as_str().unwrap().to_owned();
        let client = app.browser();
        let page = client.get(&url).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("data-live=\""), "the page names its stream");
        let hashes = page_hashes(&page);
        assert!(hashes.starts_with("h.by-plan="), "{hashes}");

        const VIEWERS: usize = 8;
        let mut streams = Vec::new();
        for _ in 0..VIEWERS {
            let mut s = EventStream::open(&client, &format!("{url}/live?{hashes}")).await;
            // The first run finds the page's data: only the time line, no widget before it.
            s.next_is("refreshed").await;
            streams.push(s);
        }
        assert_eq!(app.state.live.open_streams(), VIEWERS as i64);
        assert_eq!(app.state.live.refreshers(), 1, "one refresher per view");

        let before = app.state.runner.queries_run();
        add_order(&app, "Enterprise", "AMER", 500.0).await;
        expire_cache(&app);
        app.state.live.refresh_now();
        for s in &mut streams {
            let update = s.next_is("widget").await;
            let data: serde_json::Value = serde_json::from_str(&update.data).unwrap();
            assert_eq!(data["id"], "by-plan");
            assert!(
                data["html"].as_str().unwrap().contains("Enterprise"),
                "the new bar is drawn"
            );
        }
        assert_eq!(
            app.state.runner.queries_run() - before,
            1,
            "{VIEWERS} viewers, one widget: one warehouse query"
        );

        // Within the interval nothing is asked of the warehouse and nothing is sent: after a run
        // that found everything cached, the next thing each stream hears is the next change.
        for s in &mut streams {
            s.next_is("refreshed").await;
        }
        let hits = app.state.runner.cache_stats().results.hits;
        app.state.live.refresh_now();
        cache_hits_pass(&app, hits).await;
        assert_eq!(app.state.runner.queries_run() - before, 1);
        add_order(&app, "Marker", "EMEA", 1.0).await;
        expire_cache(&app);
        app.state.live.refresh_now();
        for s in &mut streams {
            let update = s.next_is("widget").await;
            assert!(update.data.contains("Marker"), "{update:?}");
        }
        assert_eq!(app.state.runner.queries_run() - before, 2);

        drop(streams);
        for _ in 0..50 {
            if app.state.live.open_streams() == 0 && app.state.live.refreshers() == 0 {
                break;
            }
            app.state.live.refresh_now();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            app.state.live.open_streams(),
            0,
            "closed streams are counted out"
        );
        assert_eq!(
            app.state.live.refreshers(),
            0,
            "nobody listens: the refresher stops"
        );
    }
);

both_stores!(
    a_reconnect_gets_only_what_changed_and_a_locked_filter_holds,
    async {
        let (app, _, _, link) = app_with_link(
            serde_json::json!({ "label": "EMEA", "locked_filters": { "region": "EMEA" } }),
        )
        .await;
        let url = link["url"].as_str().unwrap().to_owned();
        let client = app.browser();

        // Without hashes (a page that knows nothing) every widget is sent.
        let mut s = EventStream::open(&client, &format!("{url}/live?f.region=AMER")).await;
        let first = s.until("widget", WAIT).await;
        let html = serde_json::from_str::<serde_json::Value>(&first.data).unwrap()["html"]
            .as_str()
            .unwrap()
            .to_owned();
        // The card shows no region, but its numbers say which rows it summed: EMEA has
        // Starter 10 and Growth 30; AMER (the query's value) has Growth 20; all regions
        // together have Growth 50. Each bar's value is in its tooltip.
        assert!(
            html.contains("<title>Starter: 10</title>")
                && html.contains("<title>Growth: 30</title>"),
            "the locked region's numbers: {html}"
        );
        assert!(
            !html.contains("<title>Growth: 20</title>"),
            "the query's region must not win over the lock: {html}"
        );
        assert!(
            !html.contains("<title>Growth: 50</title>"),
            "the lock must not be dropped: {html}"
        );
        drop(s);

        // An AMER order changes nothing the EMEA link shows.
        add_order(&app, "Enterprise", "AMER", 500.0).await;
        expire_cache(&app);
        let page = client.get(&url).send().await.unwrap().text().await.unwrap();
        let mut s = EventStream::open(&client, &format!("{url}/live?{}", page_hashes(&page))).await;
        s.next_is("refreshed").await;
        add_order(&app, "Enterprise", "AMER", 700.0).await;
        expire_cache(&app);
        app.state.live.refresh_now();
        // The queries ran again (a new "refreshed at"), and no widget came before that line.
        s.next_is("refreshed").await;
        add_order(&app, "Enterprise", "EMEA", 900.0).await;
        expire_cache(&app);
        app.state.live.refresh_now();
        let update = s.next_is("widget").await;
        assert!(update.data.contains("Enterprise"));
    }
);

both_stores!(
    a_stream_ends_when_the_unlock_cookie_it_was_opened_with_expires,
    async {
        let password = "a long enough secret";
        let (app, _, _, link) =
            app_with_link(serde_json::json!({ "label": "Locked", "password": password })).await;
        let url = link["url"].as_str().unwrap().to_owned();
        let client = app.browser();
        let unlocked = client
            .post(format!("{url}/unlock"))
            .form(&[("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(unlocked.status(), 303);
        let mut s = EventStream::open(&client, &format!("{url}/live")).await;
        s.until("widget", WAIT).await;
        s.next_is("refreshed").await;

        // Shortly before the cookie ends the stream still carries changes.
        let ttl = vitrine_app::outsider::UNLOCK_TTL;
        app.clock.advance(ttl - time::Duration::minutes(10));
        add_order(&app, "Marker", "EMEA", 1.0).await;
        expire_cache(&app);
        app.state.live.refresh_now();
        let update = s.next_is("widget").await;
        assert!(update.data.contains("Marker"), "{update:?}");
        s.next_is("refreshed").await;

        // Past it, with no owner action and no refresh: `revoked`, then nothing.
        app.clock.advance(time::Duration::minutes(10));
        let last = s.next_is("revoked").await;
        let data: serde_json::Value = serde_json::from_str(&last.data).unwrap();
        assert_eq!(data["reason"], "session", "{data}");
        assert!(
            s.next(WAIT).await.is_none(),
            "the stream ends after saying why, with nothing after it"
        );
        // The same cookie opens no new stream: the page asks for the password again.
        let again = client.get(format!("{url}/live")).send().await.unwrap();
        assert!(again.text().await.unwrap().contains("event: revoked"));
    }
);

/// Creates a fresh link on `actor`, opens a stream on it through `observer` (the same
/// instance, or another one on the same database), does `act`, and checks the stream says
/// `reason` and then ends, with no data after it.
#[allow(clippy::too_many_arguments)]
async fn closes_and_says_why(
    actor: &TestApp,
    observer: &TestApp,
    key: &str,
    dashboard: i64,
    body: serde_json::Value,
    reason: &str,
    act: impl FnOnce(&str) -> Action,
) {
    let mut body = body;
    body["dashboard_id"] = dashboard.into();
    let link = create_link(actor, key, body).await;
    let id = link["id"].as_str().unwrap().to_owned();
    let url = link["url"]
        .as_str()
        .unwrap()
        .replacen(&actor.base, &observer.base, 1);
    let client = observer.browser();
    let mut s = EventStream::open(&client, &format!("{url}/live")).await;
    s.until("widget", WAIT).await;
    s.next_is("refreshed").await;
    match act(&id) {
        Action::Post(path) => post(actor, key, &path).await,
        Action::Patch(changes) => patch(actor, key, &id, changes).await,
        Action::Delete => {
            let response = actor
                .api()
                .delete(actor.url(&format!("/api/v1/links/{id}")))
                .bearer_auth(key)
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success());
        }
        Action::PassExpiry => observer
            .clock
            .advance(time::Duration::days(1) + time::Duration::seconds(1)),
    }
    let last = s.next_is("revoked").await;
    let data: serde_json::Value = serde_json::from_str(&last.data).unwrap();
    assert_eq!(data["reason"], reason, "{reason}: {data}");
    assert!(
        s.next(WAIT).await.is_none(),
        "{reason}: the stream ends after saying why, with nothing after it"
    );
    // A page reconnecting now hears the same at once, or gets the 404 of a dead URL.
    let again = client.get(format!("{url}/live")).send().await.unwrap();
    match reason {
        "rotated" => assert_eq!(again.status(), 404),
        _ => {
            assert_eq!(again.status(), 200);
            assert!(again.text().await.unwrap().contains("event: revoked"));
        }
    }
}

/// Every way a link stops working, done on `actor`, seen by streams on `observer`. Suspends
/// the workspace last.
async fn every_way_a_link_dies(actor: &TestApp, observer: &TestApp, key: &str, dashboard: i64) {
    let plain = serde_json::json!({ "label": "Board" });
    let expiring = serde_json::json!({ "label": "Soon", "expiry": { "kind": "days", "days": 1 } });
    let cases: [Case; 6] = [
        (&plain, "disabled", |id| {
            Action::Post(format!("/api/v1/links/{id}/disable"))
        }),
        (&plain, "rotated", |id| {
            Action::Post(format!("/api/v1/links/{id}/rotate"))
        }),
        (&plain, "deleted", |_| Action::Delete),
        (&plain, "password", |_| {
            Action::Patch(serde_json::json!({ "password": "a brand new secret" }))
        }),
        // Expiry needs no owner action: the clock passes it.
        (&expiring, "expired", |_| Action::PassExpiry),
        (&plain, "suspended", |_| {
            Action::Post("/api/v1/workspace/suspend".to_owned())
        }),
    ];
    for (body, reason, act) in cases {
        closes_and_says_why(actor, observer, key, dashboard, body.clone(), reason, act).await;
    }
}

/// A link's body, the reason its streams must give, and what kills it.
type Case<'a> = (&'a serde_json::Value, &'a str, fn(&str) -> Action);

/// What happens to a link.
enum Action {
    /// The owner posts to this API path.
    Post(String),
    /// The owner changes the link.
    Patch(serde_json::Value),
    /// The owner deletes it.
    Delete,
    /// The observer's clock passes the link's one-day expiry.
    PassExpiry,
}

async fn post(app: &TestApp, key: &str, path: &str) {
    let response = app
        .api()
        .post(app.url(path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
}

async fn patch(app: &TestApp, key: &str, id: &str, body: serde_json::Value) {
    let response = app
        .api()
        .patch(app.url(&format!("/api/v1/links/{id}")))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

both_stores!(every_way_a_link_dies_closes_its_open_streams, async {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let dashboard = shared_dashboard(&app, &key).await;
    every_way_a_link_dies(&app, &app, &key, dashboard).await;
});

both_stores!(
    a_settings_change_reloads_open_pages_and_forged_tokens_get_nothing,
    async {
        let (app, key, dashboard, link) = app_with_board_link().await;
        let url = link["url"].as_str().unwrap().to_owned();
        let id = link["id"].as_str().unwrap();
        let client = app.browser();
        let mut s = EventStream::open(&client, &format!("{url}/live")).await;
        s.until("widget", WAIT).await;
        s.next_is("refreshed").await;
        patch(
            &app,
            &key,
            id,
            serde_json::json!({ "locked_filters": { "region": "EMEA" } }),
        )
        .await;
        s.next_is("reload").await;
        assert!(s.next(WAIT).await.is_none());

        // A label change is not the viewer's business: the next thing the page hears is the
        // next change of its data, not a reload.
        let mut s = EventStream::open(&client, &format!("{url}/live")).await;
        s.until("widget", WAIT).await;
        s.next_is("refreshed").await;
        patch(&app, &key, id, serde_json::json!({ "label": "Board 2" })).await;
        add_order(&app, "Marker", "EMEA", 1.0).await;
        expire_cache(&app);
        app.state.live.refresh_now();
        let update = s.next_is("widget").await;
        assert!(update.data.contains("Marker"), "{update:?}");

        // A forged token of the right length (one character changed) opens nothing.
        let token_at = url.find("/share/").unwrap() + "/share/".len();
        let mut forged_token: Vec<char> = url[token_at..].chars().collect();
        let i = forged_token.len() - 6;
        forged_token[i] = if forged_token[i] == 'A' { 'B' } else { 'A' };
        let forged_token: String = forged_token.into_iter().collect();
        assert_eq!(forged_token.len(), url.len() - token_at);
        let forged = format!("{}{forged_token}/live", &url[..token_at]);
        let response = client.get(&forged).send().await.unwrap();
        assert_eq!(response.status(), 404);
        let body = response.text().await.unwrap();
        assert!(!body.contains("event:"), "a forged token opens no stream");

        // The owner's stream needs a session.
        let anonymous = app
            .browser()
            .get(app.url(&format!("/dashboards/{dashboard}/live")))
            .send()
            .await
            .unwrap();
        assert!(
            anonymous.status().is_redirection(),
            "{}",
            anonymous.status()
        );
        let (member, _) = app.signed_in("admin@example.com").await;
        let mut own =
            EventStream::open(&member, &app.url(&format!("/dashboards/{dashboard}/live"))).await;
        own.until("widget", WAIT).await;
    }
);

#[tokio::test]
async fn every_revocation_on_one_instance_closes_streams_on_another() {
    let Some(db) =
        PgDatabase::create("live::every_revocation_on_one_instance_closes_streams_on_another")
            .await
    else {
        return;
    };
    let server_key = vitrine_core::keys::ServerKey::generate().to_text();
    let shared = |url: String, key: String| {
        move |config: &mut vitrine_app::Config| {
            config.database_url = Some(url);
            config.server_key = Some(key);
            // Only the notification may be fast enough: the safety net is far away.
            config.live.recheck_seconds = 3600;
        }
    };
    let a = TestApp::spawn_with(shared(db.url.clone(), server_key.clone())).await;
    let b = TestApp::spawn_with(shared(db.url.clone(), server_key.clone())).await;
    let admin = a.admin().await;
    let key = a.api_key(&admin).await;
    let dashboard = shared_dashboard(&a, &key).await;
    // Let instance B's listener settle on the feed before A acts.
    tokio::time::sleep(Duration::from_millis(200)).await;
    every_way_a_link_dies(&a, &b, &key, dashboard).await;
    drop(a);
    drop(b);
    db.drop_now().await;
}

// ---- streams on the wire: a live request leaves hyper only at a clean request boundary ------

/// One response read off a raw connection: its head (lower-cased) and body, framed by
/// `Content-Length` or chunked encoding.
async fn read_response(
    socket: &mut tokio::net::TcpStream,
    pending: &mut Vec<u8>,
) -> (String, Vec<u8>) {
    use tokio::io::AsyncReadExt as _;
    async fn fill(socket: &mut tokio::net::TcpStream, pending: &mut Vec<u8>) {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(WAIT, socket.read(&mut chunk))
            .await
            .expect("bytes in time")
            .unwrap();
        assert!(n > 0, "the connection closed mid-response");
        pending.extend_from_slice(&chunk[..n]);
    }
    let head_end = loop {
        if let Some(at) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        fill(socket, pending).await;
    };
    let head = String::from_utf8_lossy(&pending[..head_end]).to_lowercase();
    pending.drain(..head_end);
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map(|l| l.trim().parse::<usize>().unwrap());
    let mut body = Vec::new();
    if let Some(length) = length {
        while pending.len() < length {
            fill(socket, pending).await;
        }
        body.extend(pending.drain(..length));
    } else {
        assert!(head.contains("transfer-encoding: chunked"), "{head}");
        loop {
            let line_end = loop {
                if let Some(at) = pending.windows(2).position(|w| w == b"\r\n") {
                    break at;
                }
                fill(socket, pending).await;
            };
            let size =
                usize::from_str_radix(std::str::from_utf8(&pending[..line_end]).unwrap(), 16)
                    .unwrap();
            while pending.len() < line_end + 2 + size + 2 {
                fill(socket, pending).await;
            }
            body.extend_from_slice(&pending[line_end + 2..line_end + 2 + size]);
            pending.drain(..line_end + 2 + size + 2);
            if size == 0 {
                break;
            }
        }
    }
    (head, body)
}

/// Reads a stream's head and its bytes until `needle` has come.
async fn read_stream_until(
    socket: &mut tokio::net::TcpStream,
    pending: &mut Vec<u8>,
    needle: &str,
) -> String {
    use tokio::io::AsyncReadExt as _;
    loop {
        let text = String::from_utf8_lossy(pending).into_owned();
        if text.contains(needle) {
            return text.to_lowercase();
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(WAIT, socket.read(&mut chunk))
            .await
            .expect("bytes in time")
            .unwrap();
        assert!(n > 0, "the stream closed before {needle:?}: {text}");
        pending.extend_from_slice(&chunk[..n]);
    }
}

async fn send(socket: &mut tokio::net::TcpStream, bytes: &str) {
    use tokio::io::AsyncWriteExt as _;
    socket.write_all(bytes.as_bytes()).await.unwrap();
}

async fn streams_counted_out(app: &TestApp) {
    for _ in 0..100 {
        if app.state.live.open_streams() == 0 {
            return;
        }
        app.state.live.refresh_now();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{} streams still counted open",
        app.state.live.open_streams()
    );
}

/// Checks that hyper wrote `stream` (it does not close the connection after a stream), then
/// closes the viewer's side and waits for the server to count the stream out.
async fn served_by_hyper_until_closed(app: &TestApp, socket: tokio::net::TcpStream, stream: &str) {
    assert!(
        !stream.contains("connection: close"),
        "served by hyper: {stream}"
    );
    drop(socket);
    streams_counted_out(app).await;
}

both_stores!(
    a_live_request_between_requests_leaves_hyper_and_anything_unclear_stays,
    async {
        let (app, key, _, link) = app_with_board_link().await;
        let url = link["url"].as_str().unwrap().to_owned();
        let path = &url[url.find("/share/").unwrap()..];
        let host = app.base.trim_start_matches("http://").to_owned();
        let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n");

        // As a browser does: the page, then the stream on the same kept-alive connection.
        // The stream is written by the server's own writer (it closes the connection at the
        // end, and says so), events arrive, and a viewer who leaves is counted out.
        let mut socket = tokio::net::TcpStream::connect(&host).await.unwrap();
        let mut pending = Vec::new();
        send(&mut socket, &get(path)).await;
        let (head, page) = read_response(&mut socket, &mut pending).await;
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(!head.contains("connection: close"), "{head}");
        let hashes = page_hashes(&String::from_utf8_lossy(&page));
        send(&mut socket, &get(&format!("{path}/live?{hashes}"))).await;
        let stream = read_stream_until(&mut socket, &mut pending, "event: refreshed").await;
        for expected in [
            "http/1.1 200 ok\r\n",
            "content-type: text/event-stream\r\n",
            "cache-control: no-store\r\n",
            "connection: close\r\n",
            "transfer-encoding: chunked\r\n",
            "date: ",
        ] {
            assert!(stream.contains(expected), "{expected:?} in {stream}");
        }
        assert_eq!(app.state.live.open_streams(), 1);
        drop(socket);
        streams_counted_out(&app).await;

        // A connection that carried a request body stays with hyper to the end (what the
        // server did not read of a body must never be taken for a request).
        let mut socket = tokio::net::TcpStream::connect(&host).await.unwrap();
        let mut pending = Vec::new();
        let smuggled = get(&format!("{path}/live"));
        send(
            &mut socket,
            &format!(
                "POST {path}/unlock HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{smuggled}",
                smuggled.len()
            ),
        )
        .await;
        let (head, _) = read_response(&mut socket, &mut pending).await;
        assert!(!head.starts_with("http/1.1 200"), "{head}");
        assert!(pending.is_empty(), "one response to one request");
        send(&mut socket, &get(&format!("{path}/live"))).await;
        let stream = read_stream_until(&mut socket, &mut pending, "event: widget").await;
        assert!(
            stream.contains("content-type: text/event-stream"),
            "{stream}"
        );
        served_by_hyper_until_closed(&app, socket, &stream).await;

        // A pipelined stream request (sent before the page was answered) stays with hyper.
        let mut socket = tokio::net::TcpStream::connect(&host).await.unwrap();
        let mut pending = Vec::new();
        send(
            &mut socket,
            &format!("{}{}", get(path), get(&format!("{path}/live"))),
        )
        .await;
        let (head, _) = read_response(&mut socket, &mut pending).await;
        assert!(head.starts_with("http/1.1 200"), "{head}");
        let stream = read_stream_until(&mut socket, &mut pending, "event: widget").await;
        served_by_hyper_until_closed(&app, socket, &stream).await;

        // A viewer that sends anything on its stream's connection is no longer served.
        let mut socket = tokio::net::TcpStream::connect(&host).await.unwrap();
        let mut pending = Vec::new();
        send(&mut socket, &get(&format!("{path}/live"))).await;
        read_stream_until(&mut socket, &mut pending, "event: widget").await;
        send(&mut socket, "GET / HTTP/1.1\r\n\r\n").await;
        {
            use tokio::io::AsyncReadExt as _;
            tokio::time::timeout(WAIT, socket.read_to_end(&mut pending))
                .await
                .expect("the server closes the stream")
                .ok();
        }
        streams_counted_out(&app).await;

        // A stream on a fresh connection says `revoked` when the link is disabled, ends its
        // body and closes the connection.
        let mut socket = tokio::net::TcpStream::connect(&host).await.unwrap();
        let mut pending = Vec::new();
        send(&mut socket, &get(&format!("{path}/live"))).await;
        read_stream_until(&mut socket, &mut pending, "event: widget").await;
        let id = link["id"].as_str().unwrap();
        post(&app, &key, &format!("/api/v1/links/{id}/disable")).await;
        use tokio::io::AsyncReadExt as _;
        tokio::time::timeout(WAIT, socket.read_to_end(&mut pending))
            .await
            .expect("the server closes the stream")
            .unwrap();
        let all = String::from_utf8_lossy(&pending);
        assert!(all.contains("event: revoked"), "{all}");
        assert!(
            all.ends_with("\r\n0\r\n\r\n"),
            "the chunked body ends: {all:?}"
        );
        streams_counted_out(&app).await;
    }
);
