//! The outsider's view: `/share/{token}`, its card fragments, the password form and `/s/{code}`,
//! driven over HTTP against a real server, a real SQLite warehouse and the injected clock.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

use crate::helpers::{CLIENT_HEADER, TestApp, both_stores};

const LINK_PASSWORD: &str = "open sesame 2026";

/// Dashboard A: a region filter, a plan filter, a KPI and a table by region and plan.
const SALES: &str = r#"version: 1
title: "Sales <script>alert(1)</script>"
status: published
filters:
  - {id: region, label: Region, kind: single_select, columns: {orders: region}}
  - {id: plan, label: Plan, kind: single_select, columns: {orders: plan}}
widgets:
  - id: total
    title: Revenue
    kind: kpi
    layout: {x: 0, y: 0, w: 4, h: 2}
    query: {dataset: orders, measures: [{agg: sum, column: amount}]}
  - id: by-region
    title: Revenue by region
    kind: table
    layout: {x: 4, y: 0, w: 8, h: 4}
    query: {dataset: orders, dimensions: [{column: region}, {column: plan}], measures: [{agg: sum, column: amount}]}
"#;

/// Dashboard B: another dashboard of the same workspace, never reachable through A's links.
const PAYROLL: &str = r#"version: 1
title: Payroll
status: published
widgets:
  - id: salaries
    title: Salaries
    kind: table
    layout: {x: 0, y: 0, w: 12, h: 4}
    query: {dataset: orders, dimensions: [{column: plan}], measures: [{agg: count}]}
"#;

pub(crate) struct Fixture {
    pub(crate) app: TestApp,
    pub(crate) key: String,
    pub(crate) sales: i64,
    pub(crate) payroll: i64,
    pub(crate) warehouse: std::path::PathBuf,
}

/// An admin's API key, a warehouse (EMEA sells Starter and Growth, AMER only Enterprise), a
/// dataset and the two dashboards.
pub(crate) async fn fixture() -> Fixture {
    fixture_with(|_| {}).await
}

/// [`fixture`] with its configuration adjusted.
pub(crate) async fn fixture_with(adjust: impl FnOnce(&mut vitrine_app::Config)) -> Fixture {
    let app = TestApp::spawn_with(adjust).await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let warehouse = app.dir.path().join("warehouse.db");
    let url = format!("sqlite://{}?mode=rwc", warehouse.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    for statement in [
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, plan TEXT, region TEXT, amount REAL)",
        "INSERT INTO orders (plan, region, amount) VALUES \
         ('Starter', 'EMEA', 10), ('Enterprise', 'AMER', 20), ('Growth', 'EMEA', 30)",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let mut fx = Fixture {
        app,
        key,
        sales: 0,
        payroll: 0,
        warehouse,
    };
    let source = fx
        .api_post(
            "/api/v1/data-sources",
            json!({ "name": "Warehouse", "kind": "sqlite", "location": fx.warehouse.display().to_string() }),
        )
        .await;
    let dataset = json!({ "data_source_id": source["id"], "slug": "orders", "name": "Orders", "sql": "SELECT plan, region, amount FROM orders" });
    fx.api_post("/api/v1/datasets", dataset).await;
    fx.sales = fx
        .api_post(
            "/api/v1/dashboards",
            json!({ "slug": "sales", "yaml": SALES }),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    fx.payroll = fx
        .api_post(
            "/api/v1/dashboards",
            json!({ "slug": "payroll", "yaml": PAYROLL }),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    fx
}

/// A link as the API shows it, with the paths of its URLs.
pub(crate) struct Link {
    pub(crate) id: String,
    pub(crate) path: String,
    pub(crate) short: String,
}

fn path_of(url: &str, marker: &str) -> String {
    url[url.find(marker).expect(marker)..].to_owned()
}

impl Link {
    fn from(view: &Value) -> Self {
        Link {
            id: view["id"].as_str().unwrap().to_owned(),
            path: path_of(view["url"].as_str().unwrap(), "/share/"),
            short: path_of(view["short_url"].as_str().unwrap(), "/s/"),
        }
    }
}

impl Fixture {
    pub(crate) async fn api_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let mut request = self
            .app
            .api()
            .request(method.clone(), self.app.url(path))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {value}");
        value
    }

    pub(crate) async fn api_post(&self, path: &str, body: Value) -> Value {
        self.api_send(reqwest::Method::POST, path, Some(body)).await
    }

    /// Creates a link to `sales` with `extra` fields.
    pub(crate) async fn link(&self, extra: Value) -> Link {
        let mut body =
            json!({ "dashboard_id": self.sales, "label": "Board", "expiry": { "kind": "never" } });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        Link::from(&self.api_post("/api/v1/links", body).await)
    }

    pub(crate) async fn act(&self, link: &Link, action: &str) -> Link {
        Link::from(
            &self
                .api_post(&format!("/api/v1/links/{}/{action}", link.id), json!({}))
                .await,
        )
    }

    pub(crate) async fn events(&self, link: &Link) -> Vec<String> {
        let events = self
            .api_send(
                reqwest::Method::GET,
                &format!("/api/v1/links/{}/events", link.id),
                None,
            )
            .await;
        events
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["outcome"].as_str().unwrap().to_owned())
            .collect()
    }

    /// GET as an outsider from address `ip`.
    pub(crate) async fn get_from(
        &self,
        client: &reqwest::Client,
        path: &str,
        ip: &str,
    ) -> reqwest::Response {
        client
            .get(self.app.url(path))
            .header(CLIENT_HEADER, ip)
            .header(
                "user-agent",
                "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/133.0",
            )
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.get_from(&self.app.api(), path, "203.0.113.7").await
    }

    pub(crate) async fn status(&self, path: &str) -> StatusCode {
        self.get(path).await.status()
    }

    pub(crate) async fn text(&self, path: &str) -> (StatusCode, String) {
        let response = self.get(path).await;
        (response.status(), response.text().await.unwrap())
    }

    pub(crate) async fn unlock(
        &self,
        client: &reqwest::Client,
        link: &Link,
        password: &str,
        ip: &str,
    ) -> reqwest::Response {
        client
            .post(self.app.url(&format!("{}/unlock", link.path)))
            .header(CLIENT_HEADER, ip)
            .form(&[("password", password)])
            .send()
            .await
            .unwrap()
    }
}

/// Whether `html` holds `{before}<script>` escaped (askama writes `&#60;`).
fn escaped(html: &str, before: &str) -> bool {
    html.contains(&format!("{before}&#60;script&#62;"))
        || html.contains(&format!("{before}&lt;script&gt;"))
}

fn is_dashboard(html: &str) -> bool {
    html.contains("data-dashboard") && html.contains("data-widget=")
}

fn is_prompt(html: &str) -> bool {
    html.contains("Password required") && !html.contains("data-widget=")
}

both_stores!(
    an_open_link_shows_the_dashboard_without_owner_chrome,
    async {
        let fx = fixture().await;
        let link = fx.link(json!({})).await;
        let (status, html) = fx.text(&link.path).await;
        assert_eq!(status, 200);
        assert!(is_dashboard(&html), "{html}");
        assert!(
            html.contains("data-widget=\"total\"") && html.contains("data-widget=\"by-region\"")
        );
        assert!(
            html.contains(&format!("data-base=\"{}\"", link.path)),
            "fragments come from the share path"
        );
        for owner_only in [
            "/logout",
            "/edit",
            "/members",
            "/api/v1",
            "app.js",
            "csrf_token",
        ] {
            assert!(
                !html.contains(owner_only),
                "{owner_only} on an outsider page"
            );
        }
        assert!(html.contains("Shared with Vitrine"), "the default footer");
    }
);

both_stores!(
    disable_makes_the_very_next_request_410_and_enable_brings_the_same_url_back,
    async {
        let fx = fixture().await;
        let link = fx.link(json!({})).await;
        assert_eq!(fx.status(&link.path).await, 200);
        let disabled = fx.act(&link, "disable").await;
        assert_eq!(disabled.path, link.path, "disable keeps the URL");
        let (status, html) = fx.text(&link.path).await;
        assert_eq!(status, 410);
        assert!(html.contains("This link is no longer active"));
        assert!(
            !html.contains("Sales") && !html.contains("Revenue"),
            "nothing about the dashboard"
        );
        assert_eq!(fx.status(&link.short).await, 410);
        fx.act(&link, "enable").await;
        assert_eq!(fx.status(&link.path).await, 200);
        let events = fx.events(&link).await;
        assert!(events.iter().any(|e| e == "disabled"), "{events:?}");
        assert!(events.iter().any(|e| e == "ok"), "{events:?}");
    }
);

both_stores!(
    rotate_kills_the_old_url_and_short_link_and_the_new_ones_work,
    async {
        let fx = fixture().await;
        let old = fx.link(json!({})).await;
        let short = fx.get(&old.short).await;
        assert_eq!(short.status(), 302);
        assert_eq!(short.headers()["location"], old.path.as_str());
        let new = fx.act(&old, "rotate").await;
        assert_ne!(new.path, old.path);
        assert_ne!(new.short, old.short);
        assert_eq!(fx.status(&old.path).await, 404);
        assert_eq!(fx.status(&old.short).await, 404);
        assert_eq!(fx.status(&new.path).await, 200);
        let short = fx.get(&new.short).await;
        assert_eq!(short.status(), 302);
        assert_eq!(short.headers()["location"], new.path.as_str());
    }
);

both_stores!(delete_answers_410_and_keeps_the_history, async {
    let fx = fixture().await;
    let link = fx.link(json!({})).await;
    assert_eq!(fx.status(&link.path).await, 200);
    fx.api_send(
        reqwest::Method::DELETE,
        &format!("/api/v1/links/{}", link.id),
        None,
    )
    .await;
    assert_eq!(fx.status(&link.path).await, 410);
    let events = fx.events(&link).await;
    assert_eq!(events, ["deleted", "ok"], "newest first, history kept");
});

both_stores!(a_link_expires_on_the_injected_clock, async {
    let fx = fixture().await;
    let link = fx
        .link(json!({ "expiry": { "kind": "days", "days": 14 } }))
        .await;
    fx.app.clock.advance(Duration::days(13));
    assert_eq!(fx.status(&link.path).await, 200);
    fx.app.clock.advance(Duration::days(1));
    assert_eq!(fx.status(&link.path).await, 410);
    let events = fx.events(&link).await;
    assert_eq!(events, ["expired", "ok"]);
});

both_stores!(
    a_suspended_workspace_answers_410_until_it_is_resumed,
    async {
        let fx = fixture().await;
        let link = fx.link(json!({})).await;
        fx.api_post("/api/v1/workspace/suspend", json!({})).await;
        assert_eq!(fx.status(&link.path).await, 410);
        assert_eq!(fx.status(&link.short).await, 410);
        fx.api_post("/api/v1/workspace/resume", json!({})).await;
        assert_eq!(fx.status(&link.path).await, 200);
        assert!(fx.events(&link).await.contains(&"suspended".to_owned()));
    }
);

both_stores!(
    a_token_with_one_character_changed_is_404_and_logged_as_not_found,
    async {
        let fx = fixture().await;
        let link = fx.link(json!({})).await;
        let mut chars: Vec<char> = link.path.chars().collect();
        let i = chars.len() - 10;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let forged: String = chars.into_iter().collect();
        let (status, html) = fx.text(&forged).await;
        assert_eq!(status, 404);
        assert!(!html.contains("Sales") && !html.contains("Revenue"));
        assert_eq!(fx.status(&format!("{forged}/widgets/total")).await, 404);
        assert_eq!(fx.status("/s/AAAAAAAAAAAA").await, 404);
        let db = fx.app.raw_db().await;
        let unknown = db
            .value(
                "SELECT CAST(COUNT(*) AS TEXT) FROM access_events \
                 WHERE outcome = 'not_found' AND link_id IS NULL",
                &[],
            )
            .await;
        assert_eq!(unknown, "3", "page, fragment and short link probes");
        assert!(
            fx.events(&link).await.is_empty(),
            "a forged token is not attributed to the link it names"
        );
    }
);

both_stores!(
    five_wrong_passwords_throttle_that_address_while_another_can_still_try,
    async {
        let fx = fixture_with(crate::helpers::trust_client_header).await;
        let link = fx.link(json!({ "password": LINK_PASSWORD })).await;
        let client = fx.app.browser();
        let (status, html) = fx.text(&link.path).await;
        assert_eq!(status, 200);
        assert!(is_prompt(&html), "{html}");
        assert!(
            !html.contains("Sales"),
            "the prompt says nothing about the dashboard"
        );
        for attempt in 1..=5 {
            let response = fx
                .unlock(&client, &link, "wrong password!", "198.51.100.1")
                .await;
            assert_eq!(response.status(), 401, "attempt {attempt}");
            assert!(is_prompt(&response.text().await.unwrap()));
        }
        let throttled = fx
            .unlock(&client, &link, LINK_PASSWORD, "198.51.100.1")
            .await;
        assert_eq!(throttled.status(), 429, "even the right password waits");
        assert!(throttled.headers().contains_key("retry-after"));
        assert!(throttled.headers().get("set-cookie").is_none());
        let other = fx
            .unlock(&client, &link, "still wrong!!", "198.51.100.2")
            .await;
        assert_eq!(other.status(), 401, "another address can still try");
        let events = fx.events(&link).await;
        assert_eq!(events.iter().filter(|e| *e == "bad_password").count(), 6);
        assert_eq!(events.iter().filter(|e| *e == "rate_limited").count(), 1);
    }
);

both_stores!(
    the_unlock_cookie_dies_with_a_password_change_and_with_rotate,
    async {
        let fx = fixture().await;
        let link = fx.link(json!({ "password": LINK_PASSWORD })).await;
        let browser = fx.app.browser();
        let ip = "198.51.100.9";
        let response = fx.unlock(&browser, &link, LINK_PASSWORD, ip).await;
        assert_eq!(response.status(), 303);
        assert_eq!(response.headers()["location"], link.path.as_str());
        let cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            cookie.starts_with(&format!("vitrine_unlock_{}=", link.id)),
            "{cookie}"
        );
        for flag in ["HttpOnly", "Path=/", "SameSite=Lax"] {
            assert!(cookie.contains(flag), "{cookie}");
        }
        let page = fx
            .get_from(&browser, &link.path, ip)
            .await
            .text()
            .await
            .unwrap();
        assert!(is_dashboard(&page));
        let fragment = fx
            .get_from(&browser, &format!("{}/widgets/total", link.path), ip)
            .await;
        assert_eq!(fragment.status(), 200);
        assert_eq!(
            fx.status(&format!("{}/widgets/total", link.path)).await,
            404,
            "no cookie, no card"
        );

        fx.api_send(
            reqwest::Method::PATCH,
            &format!("/api/v1/links/{}", link.id),
            Some(json!({ "password": "a brand new secret" })),
        )
        .await;
        let page = fx
            .get_from(&browser, &link.path, ip)
            .await
            .text()
            .await
            .unwrap();
        assert!(is_prompt(&page), "a password change kills the cookie");

        assert_eq!(
            fx.unlock(&browser, &link, "a brand new secret", ip)
                .await
                .status(),
            303
        );
        assert!(is_dashboard(
            &fx.get_from(&browser, &link.path, ip)
                .await
                .text()
                .await
                .unwrap()
        ));
        let rotated = fx.act(&link, "rotate").await;
        let page = fx
            .get_from(&browser, &rotated.path, ip)
            .await
            .text()
            .await
            .unwrap();
        assert!(is_prompt(&page), "rotate kills the cookie");
        let events = fx.events(&link).await;
        assert!(events.contains(&"unlocked".to_owned()), "{events:?}");
    }
);

both_stores!(a_cross_site_post_cannot_unlock, async {
    let fx = fixture().await;
    let link = fx.link(json!({ "password": LINK_PASSWORD })).await;
    let response = fx
        .app
        .api()
        .post(fx.app.url(&format!("{}/unlock", link.path)))
        .header("sec-fetch-site", "cross-site")
        .header("origin", "https://evil.example")
        .form(&[("password", LINK_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.headers().get("set-cookie").is_none());
});

both_stores!(
    a_locked_filter_cannot_be_overridden_by_the_query_string,
    async {
        let fx = fixture().await;
        let link = fx
            .link(json!({ "locked_filters": { "region": "EMEA" } }))
            .await;
        for query in [
            "",
            "?f.region=AMER",
            "?f.region=",
            "?f.region=AMER&f.region=AMER",
        ] {
            let (status, html) = fx.text(&format!("{}{query}", link.path)).await;
            assert_eq!(status, 200, "{query}");
            assert!(html.contains("EMEA"), "{query}");
            assert!(!html.contains("AMER"), "{query}: {html}");
            assert!(
                !html.contains("Enterprise"),
                "{query}: the open plan filter lists only plans the link shows"
            );
            assert!(
                !html.contains("name=\"f.region\""),
                "a locked filter is not editable"
            );
            let (status, card) = fx
                .text(&format!("{}/widgets/by-region{query}", link.path))
                .await;
            assert_eq!(status, 200);
            assert!(
                card.contains("EMEA") && !card.contains("AMER"),
                "{query}: {card}"
            );
        }
    }
);

both_stores!(open_filters_work_on_the_page_and_in_fragments, async {
    let fx = fixture().await;
    let link = fx.link(json!({})).await;
    let (_, card) = fx
        .text(&format!("{}/widgets/by-region?f.region=AMER", link.path))
        .await;
    assert!(card.contains("AMER") && !card.contains("EMEA"), "{card}");
    let (_, html) = fx.text(&format!("{}?f.region=EMEA", link.path)).await;
    assert!(
        html.contains("name=\"f.region\""),
        "an open filter is editable"
    );
    assert!(html.contains("<option value=\"EMEA\" selected>"), "{html}");
});

both_stores!(a_widget_link_shows_and_serves_only_its_widget, async {
    let fx = fixture().await;
    let link = fx.link(json!({ "widget_id": "total" })).await;
    let (status, html) = fx.text(&link.path).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-widget=\"total\""));
    assert!(!html.contains("data-widget=\"by-region\"") && !html.contains("Revenue by region"));
    assert_eq!(
        fx.status(&format!("{}/widgets/total", link.path)).await,
        200
    );
    assert_eq!(
        fx.status(&format!("{}/widgets/by-region", link.path)).await,
        404
    );
});

both_stores!(a_link_to_one_dashboard_cannot_reach_another, async {
    let fx = fixture().await;
    let link = fx.link(json!({})).await;
    for path in [
        format!("{}/widgets/salaries", link.path),
        format!(
            "{}/widgets/..%2F..%2Fdashboards%2F{}",
            link.path, fx.payroll
        ),
        format!("{}/widgets/salaries?dashboard_id={}", link.path, fx.payroll),
    ] {
        let (status, body) = fx.text(&path).await;
        assert_eq!(status, 404, "{path}");
        assert!(!body.contains("Salaries"), "{path}");
    }
    let (_, html) = fx
        .text(&format!("{}?dashboard_id={}", link.path, fx.payroll))
        .await;
    assert!(!html.contains("Payroll") && !html.contains("Salaries"));
});

both_stores!(
    no_route_under_share_or_s_accepts_writes_and_nothing_changes,
    async {
        let fx = fixture().await;
        let link = fx.link(json!({})).await;
        let before = fx
            .api_send(
                reqwest::Method::GET,
                &format!("/api/v1/links/{}", link.id),
                None,
            )
            .await;
        let dashboard_before = fx
            .api_send(
                reqwest::Method::GET,
                &format!("/api/v1/dashboards/{}", fx.sales),
                None,
            )
            .await;
        let client = fx.app.api();
        let paths = [
            link.path.clone(),
            format!("{}/widgets/total", link.path),
            link.short.clone(),
            format!("{}/unlock", link.path),
            format!("{}/disable", link.path),
        ];
        for path in &paths {
            for method in ["POST", "PUT", "DELETE", "PATCH"] {
                if method == "POST" && path.ends_with("/unlock") {
                    continue;
                }
                let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
                let status = client
                    .request(method.clone(), fx.app.url(path))
                    .form(&[("password", "x")])
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert!(status == 405 || status == 404, "{method} {path}: {status}");
            }
        }
        let after = fx
            .api_send(
                reqwest::Method::GET,
                &format!("/api/v1/links/{}", link.id),
                None,
            )
            .await;
        assert_eq!(before["url"], after["url"]);
        assert_eq!(before["enabled"], after["enabled"]);
        assert_eq!(before["settings"], after["settings"]);
        let dashboard_after = fx
            .api_send(
                reqwest::Method::GET,
                &format!("/api/v1/dashboards/{}", fx.sales),
                None,
            )
            .await;
        assert_eq!(dashboard_before["revision"], dashboard_after["revision"]);
        assert_eq!(fx.status(&link.path).await, 200);
    }
);

both_stores!(
    outsider_responses_carry_the_headers_and_embedding_lists_exactly_its_origins,
    async {
        let fx = fixture().await;
        let plain = fx.link(json!({})).await;
        let embeddable = fx
        .link(json!({ "embed": { "allowed": true, "origins": ["https://portal.example.com", "https://b.example.com:8443"] } }))
        .await;
        for path in [
            plain.path.clone(),
            format!("{}/widgets/total", plain.path),
            "/share/shr_nope".to_owned(),
        ] {
            let response = fx.get(&path).await;
            let h = response.headers();
            assert_eq!(h["cache-control"], "no-store", "{path}");
            assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
            assert!(
                h["x-robots-tag"].to_str().unwrap().contains("noindex"),
                "{path}"
            );
            assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
            let csp = h["content-security-policy"].to_str().unwrap();
            assert!(csp.ends_with("frame-ancestors 'none'"), "{path}: {csp}");
            assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
            assert_eq!(h["x-frame-options"], "DENY", "{path}");
        }
        for path in [
            embeddable.path.clone(),
            format!("{}/widgets/total", embeddable.path),
            format!("{}?embed=true", embeddable.path),
        ] {
            let response = fx.get(&path).await;
            assert_eq!(response.status(), 200, "{path}");
            let h = response.headers();
            assert_eq!(h["cache-control"], "no-store");
            let csp = h["content-security-policy"].to_str().unwrap();
            assert!(
                csp.ends_with(
                    "frame-ancestors https://portal.example.com https://b.example.com:8443"
                ),
                "{path}: {csp}"
            );
            assert!(h.get("x-frame-options").is_none(), "{path}");
        }
    }
);

both_stores!(embed_parameters_hide_chrome_but_never_reveal_it, async {
    let fx = fixture().await;
    let link = fx.link(json!({})).await;
    let (_, html) = fx
        .text(&format!(
            "{}?embed=true&interactive=false&theme=dark",
            link.path
        ))
        .await;
    assert!(!html.contains("<h1>"), "no title when embedded");
    assert!(
        !html.contains("Shared with Vitrine"),
        "no footer when embedded"
    );
    assert!(!html.contains("name=\"f.region\""), "no editable filters");
    assert!(html.contains("theme-dark"));
    let (_, html) = fx
        .text(&format!("{}?show_filters=0&hide_title=1", link.path))
        .await;
    assert!(!html.contains("<h1>") && !html.contains("dash-filters"));

    let hidden = fx
        .link(json!({ "display": { "show_title": false, "show_filters": false, "allow_downloads": false, "theme": "light" } }))
        .await;
    let (_, html) = fx
        .text(&format!(
            "{}?hide_title=0&show_filters=1&embed=false",
            hidden.path
        ))
        .await;
    assert!(
        !html.contains("<h1>") && !html.contains("dash-filters"),
        "{html}"
    );
    assert!(
        html.contains("data-theme-fixed"),
        "the link's theme is kept"
    );
});

both_stores!(
    script_in_a_title_and_in_the_contact_line_comes_out_escaped,
    async {
        let fx = fixture().await;
        fx.api_send(
        reqwest::Method::PUT,
        "/api/v1/workspace/policy",
        Some(json!({
            "public_links_allowed": true, "max_link_days": null, "password_required": false,
            "contact_line": "Questions? <script>alert(2)</script>", "footer": "Shared with Vitrine"
        })),
    )
    .await;
        let link = fx.link(json!({})).await;
        let (_, html) = fx.text(&link.path).await;
        assert!(!html.contains("<script>alert(1)"), "{html}");
        assert!(escaped(&html, "Sales "), "{html}");
        fx.act(&link, "disable").await;
        let (status, html) = fx.text(&link.path).await;
        assert_eq!(status, 410);
        assert!(!html.contains("<script>alert(2)"), "{html}");
        assert!(escaped(&html, "Questions? "), "{html}");
    }
);

both_stores!(no_page_under_share_names_the_workspace_or_a_member, async {
    let fx = fixture().await;
    let workspace = fx
        .app
        .state
        .store
        .default_workspace()
        .await
        .unwrap()
        .unwrap();
    let link = fx.link(json!({ "password": LINK_PASSWORD })).await;
    let browser = fx.app.browser();
    let ip = "198.51.100.20";
    let mut pages = vec![
        fx.get_from(&browser, &link.path, ip)
            .await
            .text()
            .await
            .unwrap(),
    ];
    pages.push(
        fx.unlock(&browser, &link, "nope nope nope", ip)
            .await
            .text()
            .await
            .unwrap(),
    );
    fx.unlock(&browser, &link, LINK_PASSWORD, ip).await;
    pages.push(
        fx.get_from(&browser, &link.path, ip)
            .await
            .text()
            .await
            .unwrap(),
    );
    pages.push(
        fx.get_from(&browser, &format!("{}/widgets/by-region", link.path), ip)
            .await
            .text()
            .await
            .unwrap(),
    );
    fx.act(&link, "disable").await;
    pages.push(
        fx.get_from(&browser, &link.path, ip)
            .await
            .text()
            .await
            .unwrap(),
    );
    pages.push(fx.text("/share/shr_nope").await.1);
    assert!(is_dashboard(&pages[2]));
    for page in &pages {
        assert!(!page.contains("admin@example.com"));
        assert!(!page.contains(&format!(">{}<", workspace.name)), "{page}");
        assert!(!page.contains(&format!(" {} ", workspace.name)), "{page}");
    }
});

both_stores!(a_failing_widget_shows_no_sql_or_driver_text, async {
    let fx = fixture().await;
    let link = fx.link(json!({})).await;
    let url = format!("sqlite://{}", fx.warehouse.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("DROP TABLE orders")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let (status, html) = fx.text(&link.path).await;
    assert_eq!(status, 200);
    let (_, card) = fx.text(&format!("{}/widgets/by-region", link.path)).await;
    for body in [&html, &card] {
        assert!(body.contains("data-error="), "{body}");
        for leak in [
            "no such table",
            "SELECT",
            "sqlite",
            "SQLITE",
            "warehouse.db",
            "orders",
        ] {
            assert!(!body.contains(leak), "{leak} leaked: {body}");
        }
    }
});

both_stores!(
    access_events_record_the_client_class_and_a_hashed_address,
    async {
        let fx = fixture().await;
        let link = fx.link(json!({})).await;
        fx.get(&link.path).await;
        // The view's event is written in the access log's next batch.
        fx.app.state.access_log.flush().await;
        let db = fx.app.raw_db().await;
        let rows = db
            .rows(
                "SELECT client_class, client FROM access_events WHERE link_id = ? AND outcome = 'ok'",
                &[&link.id],
            )
            .await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        let (class, client) = (rows[0][0].clone().unwrap(), rows[0][1].clone().unwrap());
        assert_eq!(class, "desktop");
        assert!(
            !client.contains("203.0.113.7") && client.len() >= 16,
            "{client}"
        );
    }
);

both_stores!(
    behind_https_the_unlock_cookie_is_secure_and_embeddable_links_use_samesite_none,
    async {
        let app = TestApp::spawn_with(|c| {
            c.public_base_url = Some("https://share.example.com".to_owned());
        })
        .await;
        let admin = app.admin().await;
        let key = app.api_key(&admin).await;
        let path = app.dir.path().join("w.db");
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (plan TEXT, amount REAL)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let fx = Fixture {
            app,
            key,
            sales: 0,
            payroll: 0,
            warehouse: path.clone(),
        };
        let source = fx
            .api_post(
                "/api/v1/data-sources",
                json!({ "name": "W", "kind": "sqlite", "location": path.display().to_string() }),
            )
            .await;
        fx.api_post(
        "/api/v1/datasets",
        json!({ "data_source_id": source["id"], "slug": "t", "name": "T", "sql": "SELECT plan, amount FROM t" }),
    )
    .await;
        let yaml = "version: 1\ntitle: T\nstatus: published\nwidgets:\n  - id: n\n    kind: kpi\n    layout: {x: 0, y: 0, w: 3, h: 2}\n    query: {dataset: t, measures: [{agg: count}]}\n";
        let dashboard = fx
            .api_post("/api/v1/dashboards", json!({ "yaml": yaml }))
            .await["id"]
            .clone();
        let mut links = Vec::new();
        for embed in [false, true] {
            let body = json!({
                "dashboard_id": dashboard, "label": "L", "expiry": { "kind": "never" },
                "password": LINK_PASSWORD,
                "embed": { "allowed": embed, "origins": if embed { vec!["https://portal.example.com"] } else { vec![] } }
            });
            links.push(Link::from(&fx.api_post("/api/v1/links", body).await));
        }
        let client = fx.app.api();
        let plain = fx
            .unlock(&client, &links[0], LINK_PASSWORD, "192.0.2.1")
            .await;
        let cookie = plain.headers()["set-cookie"].to_str().unwrap();
        assert!(
            cookie.contains("SameSite=Lax") && cookie.contains("Secure"),
            "{cookie}"
        );
        let embedded = fx
            .unlock(&client, &links[1], LINK_PASSWORD, "192.0.2.1")
            .await;
        let cookie = embedded.headers()["set-cookie"].to_str().unwrap();
        assert!(
            cookie.contains("SameSite=None") && cookie.contains("Secure"),
            "{cookie}"
        );
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("Path=/"),
            "{cookie}"
        );
    }
);

both_stores!(
    the_country_of_a_visit_comes_from_the_trusted_proxy_header,
    async {
        let app = crate::helpers::TestApp::spawn_with(|c| {
            c.proxy.country_header = Some("cf-ipcountry".into());
            c.proxy.trusted_proxies = vec!["127.0.0.1".into()];
        })
        .await;
        let admin = app.admin().await;
        let key = app.api_key(&admin).await;
        let dashboard = crate::links::shared_dashboard(&app, &key).await;
        let link: serde_json::Value = app
            .api()
            .post(app.url("/api/v1/links"))
            .bearer_auth(&key)
            .json(&serde_json::json!({ "dashboard_id": dashboard, "label": "Board" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let page = app
            .api()
            .get(link["url"].as_str().unwrap())
            .header("cf-ipcountry", "nl")
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let events: serde_json::Value = app
            .api()
            .get(app.url(&format!(
                "/api/v1/links/{}/events",
                link["id"].as_str().unwrap()
            )))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(events[0]["outcome"], "ok");
        assert_eq!(events[0]["country"], "NL");
    }
);
