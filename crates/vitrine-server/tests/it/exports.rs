//! Downloads: the owner's (session and API key) and the outsider's through share links — types,
//! file names, contents, the link's downloads switch, locked filters, dead tokens, access events.

use reqwest::StatusCode;
use serde_json::json;
use time::Duration;

use crate::helpers::{both_stores, pdf_text};
use crate::public::{Fixture, Link, fixture};

const FORMATS: [&str; 4] = [
    "export.png",
    "export.svg",
    "export.csv",
    "export.png?scale=2",
];

impl Fixture {
    async fn api_get(&self, path: &str) -> reqwest::Response {
        self.app
            .api()
            .get(self.app.url(path))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap()
    }
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map_or("", |v| v.to_str().unwrap())
}

fn png_size(bytes: &[u8]) -> (u32, u32) {
    let reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("a PNG");
    let info = reader.info();
    (info.width, info.height)
}

fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

both_stores!(owner_downloads_have_their_types_names_and_contents, async {
    let fx = fixture().await;
    let base = format!("/api/v1/dashboards/{}", fx.sales);

    let response = fx.api_get(&format!("{base}/export.pdf?paper=letter")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "application/pdf");
    let disposition = header(&response, "content-disposition").to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\""),
        "{disposition}"
    );
    assert!(
        !disposition.contains('<') && disposition.ends_with(".pdf"),
        "{disposition}"
    );
    let (pages, text) = pdf_text(&response.bytes().await.unwrap());
    assert_eq!(pages, 1);
    for expected in [
        "Revenue",
        "Revenuebyregion",
        "Region:All",
        "Plan:All",
        "EMEA",
        "AMER",
    ] {
        assert!(text.contains(expected), "{expected} not in {text}");
    }

    for (query, size) in [("", (360, 120)), ("?scale=2", (720, 240))] {
        let response = fx
            .api_get(&format!("{base}/widgets/total/export.png{query}"))
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "content-type"), "image/png");
        assert!(header(&response, "content-disposition").contains(".png"));
        assert_eq!(png_size(&response.bytes().await.unwrap()), size);
    }

    let response = fx
        .api_get(&format!("{base}/widgets/by-region/export.svg"))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "image/svg+xml");
    let svg = response.text().await.unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("Revenue by region"));

    let response = fx
        .api_get(&format!(
            "{base}/widgets/by-region/export.csv?f.region=EMEA"
        ))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "content-type"),
        "text/csv; charset=utf-8; header=present"
    );
    let rows = csv_rows(&response.bytes().await.unwrap());
    assert_eq!(rows[0].len(), 3);
    assert_eq!(rows.len(), 3, "EMEA has two rows: {rows:?}");
    assert!(rows[1..].iter().all(|r| r.contains(&"EMEA".to_owned())));

    // Unknown widget, bad parameters, no key.
    assert_eq!(
        fx.api_get(&format!("{base}/widgets/nope/export.csv"))
            .await
            .status(),
        404
    );
    assert_eq!(
        fx.api_get(&format!("{base}/widgets/total/export.png?scale=9"))
            .await
            .status(),
        400
    );
    let anonymous = fx
        .app
        .api()
        .get(fx.app.url(&format!("{base}/export.pdf")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let counts = fx.app.state.exports.counters().snapshot();
    assert_eq!(
        (counts.pdf, counts.png, counts.svg, counts.csv),
        (1, 2, 1, 1)
    );
});

both_stores!(
    the_owner_page_offers_downloads_and_the_session_routes_serve_them,
    async {
        let fx = fixture().await;
        let (browser, _) = fx.app.signed_in("admin@example.com").await;
        let page = browser
            .get(
                fx.app
                    .url(&format!("/dashboards/{}?f.region=EMEA", fx.sales)),
            )
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .replace("&#38;", "&")
            .replace("&amp;", "&");
        let pdf = format!("/dashboards/{}/export.pdf?f.region=EMEA&paper=a4", fx.sales);
        assert!(page.contains(&pdf), "{pdf} not in the page");
        let csv = format!(
            "/dashboards/{}/widgets/by-region/export.csv?f.region=EMEA",
            fx.sales
        );
        assert!(page.contains(&csv), "{csv} not in the page");
        let response = browser.get(fx.app.url(&csv)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(csv_rows(&response.bytes().await.unwrap()).len(), 3);
    }
);

both_stores!(
    a_title_with_quotes_and_line_breaks_yields_a_safe_content_disposition,
    async {
        let fx = fixture().await;
        let yaml = r#"version: 1
title: "Q4 \"final\"\r\nSet-Cookie: stolen=1; \\..\\etc/passwd"
status: published
widgets:
  - id: total
    title: "Revenue \"net\"\nof refunds"
    kind: kpi
    layout: {x: 0, y: 0, w: 4, h: 2}
    query: {dataset: orders, measures: [{agg: sum, column: amount}]}
"#;
        let id = fx
            .api_post("/api/v1/dashboards", json!({ "slug": "odd", "yaml": yaml }))
            .await["id"]
            .as_i64()
            .unwrap();
        for path in [
            "export.pdf",
            "widgets/total/export.csv",
            "widgets/total/export.png",
        ] {
            let response = fx.api_get(&format!("/api/v1/dashboards/{id}/{path}")).await;
            assert_eq!(response.status(), 200, "{path}");
            assert!(response.headers().get("set-cookie").is_none());
            let value = header(&response, "content-disposition");
            assert!(value.is_ascii());
            assert!(!value.contains(['\r', '\n', '\\', '/']), "{value}");
            assert_eq!(value.matches('"').count(), 2, "{value}");
            assert!(
                value.starts_with("attachment; filename=\"Q4_final_Set-Cookie_stolen"),
                "{value}"
            );
            assert!(
                value.contains("filename*=UTF-8''Q4%20final%20Set-Cookie"),
                "{value}"
            );
        }
    }
);

async fn downloads_link(fx: &Fixture, extra: serde_json::Value) -> Link {
    let mut body = json!({ "display": { "allow_downloads": true } });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    fx.link(body).await
}

both_stores!(
    a_link_without_downloads_answers_404_on_every_export_url,
    async {
        let fx = fixture().await;
        let link = fx.link(json!({})).await;
        let (status, page) = fx.text(&link.path).await;
        assert_eq!(status, 200);
        assert!(!page.contains("export."), "no download links on the page");
        let mut paths = vec![format!("{}/export.pdf", link.path)];
        for widget in ["total", "by-region"] {
            for f in FORMATS {
                paths.push(format!("{}/widgets/{widget}/{f}", link.path));
            }
        }
        for path in &paths {
            let (status, body) = fx.text(path).await;
            assert_eq!(status, 404, "{path}");
            assert!(
                body.contains("<html") || body.contains("<!doctype") || body.contains("<!DOCTYPE")
            );
        }
        assert!(
            !fx.events(&link)
                .await
                .iter()
                .any(|e| e.starts_with("export_"))
        );
    }
);

both_stores!(
    a_link_with_downloads_serves_them_and_each_is_an_access_event,
    async {
        let fx = fixture().await;
        let link = downloads_link(&fx, json!({})).await;
        let (_, page) = fx.text(&link.path).await;
        assert!(
            page.contains(&format!("{}/export.pdf", link.path)),
            "{page}"
        );
        assert!(page.contains(&format!("{}/widgets/total/export.png", link.path)));
        let response = fx.get(&format!("{}/export.pdf", link.path)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "cache-control"), "no-store");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        assert_eq!(header(&response, "referrer-policy"), "no-referrer");
        let (pages, text) = pdf_text(&response.bytes().await.unwrap());
        assert_eq!(pages, 1);
        assert!(text.contains("Revenuebyregion"), "{text}");
        let response = fx
            .get(&format!("{}/widgets/total/export.png?scale=2", link.path))
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(png_size(&response.bytes().await.unwrap()), (720, 240));
        assert_eq!(
            fx.status(&format!("{}/widgets/by-region/export.csv", link.path))
                .await,
            200
        );
        assert_eq!(
            fx.status(&format!("{}/widgets/nope/export.csv", link.path))
                .await,
            404
        );
        for file in [
            "export.xlsx",
            "export.pdf",
            "export.png.exe",
            "..%2Fexport.csv",
        ] {
            assert_eq!(
                fx.status(&format!("{}/widgets/total/{file}", link.path))
                    .await,
                404,
                "{file}"
            );
        }
        let events = fx.events(&link).await;
        assert_eq!(events, ["export_csv", "export_png", "export_pdf", "ok"]);
        // Downloads are not views.
        let links = fx
            .api_send(reqwest::Method::GET, "/api/v1/links", None)
            .await;
        let mine = links
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == link.id.as_str())
            .unwrap();
        assert_eq!(mine["views"], 1, "{mine}");
    }
);

both_stores!(
    an_export_through_a_locked_link_contains_only_the_locked_rows,
    async {
        let fx = fixture().await;
        let link = downloads_link(&fx, json!({ "locked_filters": { "region": "EMEA" } })).await;
        for query in [
            "",
            "?f.region=AMER",
            "?f.region=",
            "?f.region=AMER&f.region=AMER",
        ] {
            let response = fx
                .get(&format!(
                    "{}/widgets/by-region/export.csv{query}",
                    link.path
                ))
                .await;
            assert_eq!(response.status(), 200, "{query}");
            let rows = csv_rows(&response.bytes().await.unwrap());
            assert_eq!(rows.len(), 3, "{query}: {rows:?}");
            for row in &rows[1..] {
                assert!(row.contains(&"EMEA".to_owned()), "{query}: {row:?}");
                assert!(
                    !row.contains(&"AMER".to_owned()) && !row.contains(&"Enterprise".to_owned())
                );
            }
            let total = csv_rows(
                &fx.get(&format!("{}/widgets/total/export.csv{query}", link.path))
                    .await
                    .bytes()
                    .await
                    .unwrap(),
            );
            assert_eq!(total[1], ["40"], "{query}: EMEA's 10 + 30 only");
            let response = fx.get(&format!("{}/export.pdf{query}", link.path)).await;
            let (_, text) = pdf_text(&response.bytes().await.unwrap());
            assert!(text.contains("Region:EMEA(fixed)"), "{query}: {text}");
            assert!(
                !text.contains("AMER") && !text.contains("Enterprise"),
                "{query}: {text}"
            );
            let svg = fx
                .get(&format!(
                    "{}/widgets/by-region/export.svg{query}",
                    link.path
                ))
                .await
                .text()
                .await
                .unwrap();
            assert!(svg.contains("EMEA") && !svg.contains("AMER"), "{query}");
        }
    }
);

both_stores!(a_widget_link_exports_only_its_widget, async {
    let fx = fixture().await;
    let link = downloads_link(&fx, json!({ "widget_id": "total" })).await;
    assert_eq!(
        fx.status(&format!("{}/widgets/total/export.csv", link.path))
            .await,
        200
    );
    for f in FORMATS {
        assert_eq!(
            fx.status(&format!("{}/widgets/by-region/{f}", link.path))
                .await,
            404,
            "{f}"
        );
    }
    let (pages, text) = pdf_text(
        &fx.get(&format!("{}/export.pdf", link.path))
            .await
            .bytes()
            .await
            .unwrap(),
    );
    assert_eq!(pages, 1);
    assert!(
        text.contains("Revenue") && !text.contains("Revenuebyregion"),
        "{text}"
    );
});

both_stores!(
    forged_disabled_and_expired_tokens_get_404_or_410_on_export_urls,
    async {
        let fx = fixture().await;
        let link = downloads_link(&fx, json!({ "expiry": { "kind": "days", "days": 3 } })).await;
        let urls = |path: &str| {
            vec![
                format!("{path}/export.pdf"),
                format!("{path}/widgets/total/export.png"),
                format!("{path}/widgets/total/export.csv"),
            ]
        };
        let mut forged = link.path.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'B' } else { 'A' });
        for url in urls(&forged) {
            assert_eq!(fx.status(&url).await, StatusCode::NOT_FOUND, "{url}");
        }
        fx.act(&link, "disable").await;
        for url in urls(&link.path) {
            assert_eq!(fx.status(&url).await, StatusCode::GONE, "{url}");
        }
        fx.act(&link, "enable").await;
        assert_eq!(fx.status(&urls(&link.path)[2]).await, 200);
        fx.app.clock.advance(Duration::days(4));
        for url in urls(&link.path) {
            assert_eq!(fx.status(&url).await, StatusCode::GONE, "{url}");
        }
        let events = fx.events(&link).await;
        assert!(events.contains(&"expired".to_owned()) && events.contains(&"disabled".to_owned()));
    }
);

both_stores!(
    a_password_link_asks_for_the_password_before_any_download,
    async {
        let fx = fixture().await;
        let link = downloads_link(&fx, json!({ "password": "open sesame 2026" })).await;
        let (status, body) = fx
            .text(&format!("{}/widgets/total/export.csv", link.path))
            .await;
        assert_eq!(status, 401);
        // The total (40) appears nowhere as a value. Not `contains("40")`: the page's random
        // token, nonce and asset hashes contain "40" now and then.
        let values = body.split(|c: char| c.is_whitespace() || "<>\",;".contains(c));
        assert!(
            body.contains("Password required") && !values.into_iter().any(|v| v == "40"),
            "{body}"
        );
    }
);

both_stores!(a_failing_widget_export_leaks_no_internal_text, async {
    let fx = fixture().await;
    let link = downloads_link(&fx, json!({})).await;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", fx.warehouse.display()))
        .await
        .unwrap();
    sqlx::query("DROP TABLE orders")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let csv = fx
        .text(&format!("{}/widgets/by-region/export.csv", link.path))
        .await;
    assert_eq!(csv.0, 503);
    let svg = fx
        .text(&format!("{}/widgets/by-region/export.svg", link.path))
        .await;
    assert_eq!(svg.0, 200);
    let pdf = fx.get(&format!("{}/export.pdf", link.path)).await;
    assert_eq!(pdf.status(), 200);
    let (_, pdf_text) = pdf_text(&pdf.bytes().await.unwrap());
    for body in [&csv.1, &svg.1, &pdf_text] {
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
