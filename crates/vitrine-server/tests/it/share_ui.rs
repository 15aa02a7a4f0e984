//! The owner UI of share links: the share page and its forms, the dashboard page's badge, the
//! editor's warning, and the workspace settings page. Driven like a browser (session cookie +
//! CSRF form field, no redirects followed); the API (with an admin's key) says what changed.

use vitrine_core::member::{Permissions, Role};

use crate::helpers::{TestApp, both_stores};

const DASHBOARD: &str = "version: 1
title: Sales
status: published
filters:
  - {id: region, label: Region, kind: single_select, columns: {orders: region}}
  - {id: plan, label: Plan, kind: multi_select, columns: {orders: plan}}
  - {id: period, label: Period, kind: date_range, columns: {orders: ordered_at}}
  - {id: amount, label: Amount, kind: number_range, columns: {orders: amount}}
widgets:
  - id: total
    title: Revenue
    kind: kpi
    layout: {x: 0, y: 0, w: 4, h: 2}
    query:
      dataset: orders
      measures:
        - agg: sum
          column: amount
  - id: by-plan
    title: Revenue by plan
    kind: bar
    layout: {x: 4, y: 0, w: 8, h: 4}
    query:
      dataset: orders
      dimensions:
        - column: plan
      measures:
        - agg: sum
          column: amount
";

/// A workspace with an admin (and their API key), a member who may share and embed, an
/// editor who may not share, a viewer, and one dashboard with four filters.
struct World {
    app: TestApp,
    key: String,
    dashboard: i64,
}

const SHARER: &str = "sharer@example.com";
const EDITOR: &str = "editor@example.com";
const VIEWER: &str = "viewer@example.com";
const ADMIN: &str = "admin@example.com";

impl World {
    async fn new() -> Self {
        let app = TestApp::spawn().await;
        let admin = app.admin().await;
        let share = Permissions {
            share_public: true,
            embed: true,
            ..Permissions::default()
        };
        app.member(SHARER, Role::Editor, share).await;
        app.member(EDITOR, Role::Editor, Permissions::default())
            .await;
        app.member(
            VIEWER,
            Role::Viewer,
            Permissions {
                share_public: true,
                ..Permissions::default()
            },
        )
        .await;
        let key = app.api_key(&admin).await;

        let path = app.dir.path().join("warehouse.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        for statement in [
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, plan TEXT, region TEXT, amount REAL, ordered_at DATE)",
            "INSERT INTO orders (plan, region, amount, ordered_at) VALUES \
             ('Starter', 'EMEA', 10, '2026-11-01'), ('Growth', 'AMER', 20, '2026-11-02')",
        ] {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        pool.close().await;

        let mut world = World {
            app,
            key,
            dashboard: 0,
        };
        let source = world
            .api_post(
                "/api/v1/data-sources",
                serde_json::json!({ "name": "Warehouse", "kind": "sqlite", "location": path.display().to_string() }),
            )
            .await;
        let dataset = world
            .api_post(
                "/api/v1/datasets",
                serde_json::json!({ "data_source_id": source["id"], "slug": "orders", "name": "Orders", "sql": "SELECT plan, region, amount, ordered_at FROM orders" }),
            )
            .await;
        assert!(dataset["id"].is_i64(), "{dataset}");
        let dashboard = world
            .api_post(
                "/api/v1/dashboards",
                serde_json::json!({ "slug": "sales", "yaml": DASHBOARD }),
            )
            .await;
        world.dashboard = dashboard["id"].as_i64().unwrap();
        world
    }

    async fn api_post(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let response = self
            .app
            .api()
            .post(self.app.url(path))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(status.is_success(), "POST {path}: {status} {body}");
        body
    }

    async fn api_get(&self, path: &str) -> serde_json::Value {
        let response = self
            .app
            .api()
            .get(self.app.url(path))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    async fn set_policy(&self, policy: serde_json::Value) {
        let response = self
            .app
            .api()
            .put(self.app.url("/api/v1/workspace/policy"))
            .bearer_auth(&self.key)
            .json(&policy)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    /// The dashboard's links, as the API lists them.
    async fn links(&self) -> Vec<serde_json::Value> {
        self.api_get(&format!("/api/v1/links?dashboard_id={}", self.dashboard))
            .await
            .as_array()
            .unwrap()
            .clone()
    }

    /// A link made through the API: `(id, url)`.
    async fn api_link(&self, label: &str) -> (String, String) {
        let link = self
            .api_post(
                "/api/v1/links",
                serde_json::json!({ "dashboard_id": self.dashboard, "label": label }),
            )
            .await;
        (
            link["id"].as_str().unwrap().to_owned(),
            link["url"].as_str().unwrap().to_owned(),
        )
    }

    fn share_path(&self) -> String {
        format!("/dashboards/{}/share", self.dashboard)
    }

    async fn get(&self, client: &reqwest::Client, path: &str) -> (u16, String) {
        let response = client.get(self.app.url(path)).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// Posts a form; returns the status, the `Location` (for a redirect) and the body.
    async fn post_form(
        &self,
        client: &reqwest::Client,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (u16, String, String) {
        let response = client
            .post(self.app.url(path))
            .form(fields)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, location, response.text().await.unwrap())
    }
}

fn state_of(links: &[serde_json::Value], id: &str) -> String {
    links
        .iter()
        .find(|l| l["id"] == id)
        .map(|l| l["state"].as_str().unwrap().to_owned())
        .expect("the link is listed")
}

both_stores!(
    a_link_created_through_the_form_shows_its_url_and_settings_on_the_share_page,
    async {
        let world = World::new().await;
        let (client, csrf) = world.app.signed_in(SHARER).await;

        let (status, page) = world.get(&client, &world.share_path()).await;
        assert_eq!(status, 200);
        assert!(page.contains("New link") && page.contains("No links yet"));
        assert!(
            page.contains("Only the widget “Revenue by plan”"),
            "widgets can be shared alone"
        );

        let (status, location, _) = world
            .post_form(
                &client,
                &world.share_path(),
                &[
                    ("csrf_token", &csrf),
                    ("label", "Board"),
                    ("target", ""),
                    ("expiry", "90"),
                    ("password", "board-secret-2026"),
                    ("mode.region", "locked"),
                    ("lock.region", "EMEA"),
                    ("mode.plan", "locked"),
                    ("lock.plan", "Growth, Starter"),
                    ("mode.period", "locked"),
                    ("lock.period.preset", "last_30_days"),
                    ("mode.amount", "hidden"),
                    ("show_title", "on"),
                    ("theme", "dark"),
                    ("embed_allowed", "on"),
                    (
                        "embed_origins",
                        "https://portal.example.com\nhttps://portal.example.com/",
                    ),
                ],
            )
            .await;
        assert_eq!(status, 303, "created, then back to the page");
        assert!(location.contains("done=created"), "{location}");

        let links = world.links().await;
        assert_eq!(links.len(), 1);
        let link = &links[0];
        assert_eq!(link["label"], "Board");
        assert_eq!(link["state"], "active");
        assert_eq!(link["has_password"], true);
        assert_eq!(
            link["expires_at"], "2027-02-21T12:00:00Z",
            "90 days on the test clock"
        );
        let settings = &link["settings"];
        assert_eq!(settings["locked_filters"]["region"], "EMEA");
        assert_eq!(
            settings["locked_filters"]["plan"],
            serde_json::json!(["Growth", "Starter"])
        );
        assert_eq!(
            settings["locked_filters"]["period"],
            serde_json::json!({ "preset": "last_30_days" })
        );
        assert_eq!(
            settings["open_filters"],
            serde_json::json!([]),
            "amount is hidden"
        );
        assert_eq!(settings["display"]["show_filters"], false);
        assert_eq!(settings["display"]["theme"], "dark");
        assert_eq!(
            settings["embed"]["origins"],
            serde_json::json!(["https://portal.example.com"])
        );

        let (status, page) = world.get(&client, &location).await;
        assert_eq!(status, 200);
        let url = link["url"].as_str().unwrap();
        let short = link["short_url"].as_str().unwrap();
        assert!(url.contains("/share/shr_"));
        assert!(
            page.contains("Link “Board” created"),
            "the new URL is shown prominently"
        );
        assert!(page.contains(&format!("id=\"fresh-url\" class=\"url\">{url}</code>")));
        assert!(page.contains("data-copy=\"fresh-url\""));
        assert!(page.contains(url) && page.contains(short));
        assert!(page.contains("Region: EMEA"));
        assert!(page.contains("Plan: Growth, Starter"));
        assert!(page.contains("Period: Last 30 days"));
        assert!(
            !page.contains("board-secret-2026"),
            "the password is never shown"
        );

        // The same page shows the URL again later, without the banner.
        let (_, page) = world.get(&client, &world.share_path()).await;
        assert!(page.contains(url) && !page.contains("fresh-url"));

        // A link to one widget is marked with the widget's title.
        let (status, _, _) = world
            .post_form(
                &client,
                &world.share_path(),
                &[
                    ("csrf_token", &csrf),
                    ("label", "Plans only"),
                    ("target", "by-plan"),
                    ("expiry", "14"),
                ],
            )
            .await;
        assert_eq!(status, 303);
        let (_, page) = world.get(&client, &world.share_path()).await;
        assert!(page.contains("widget: Revenue by plan"));
        let widget_link = world
            .links()
            .await
            .into_iter()
            .find(|l| l["label"] == "Plans only")
            .unwrap();
        assert_eq!(widget_link["widget_id"], "by-plan");
        assert_eq!(
            widget_link["settings"]["open_filters"],
            serde_json::json!(["region", "plan", "period", "amount"]),
            "filters left open by default"
        );
    }
);

both_stores!(
    editing_a_link_through_the_form_changes_it_and_keeps_the_rest,
    async {
        let world = World::new().await;
        let (client, csrf) = world.app.signed_in(SHARER).await;
        world
            .post_form(
                &client,
                &world.share_path(),
                &[
                    ("csrf_token", &csrf),
                    ("label", "Client A"),
                    ("expiry", "14"),
                    ("password", "client-a-secret"),
                    ("mode.region", "locked"),
                    ("lock.region", "AMER"),
                ],
            )
            .await;
        let link = world.links().await.remove(0);
        let id = link["id"].as_str().unwrap();
        let expires = link["expires_at"].clone();

        let (status, page) = world
            .get(&client, &format!("{}?edit={id}", world.share_path()))
            .await;
        assert_eq!(status, 200);
        assert!(page.contains("Edit “Client A”"));
        assert!(
            page.contains("value=\"AMER\""),
            "the form starts from the link"
        );
        assert!(page.contains("Leave empty to keep the current one"));
        assert!(page.contains("Remove the password"));

        let (status, location, _) = world
            .post_form(
                &client,
                &format!("{}/{id}", world.share_path()),
                &[
                    ("csrf_token", &csrf),
                    ("label", "Client A (renewed)"),
                    ("expiry", "keep"),
                    ("password", ""),
                    ("remove_password", "on"),
                    ("mode.region", "open"),
                    ("mode.plan", "locked"),
                    ("lock.plan", "Growth"),
                    ("mode.amount", "locked"),
                    ("lock.amount.min", "10"),
                    ("lock.amount.max", "99.5"),
                    ("show_title", "on"),
                    ("show_filters", "on"),
                    ("allow_downloads", "on"),
                    ("theme", "light"),
                ],
            )
            .await;
        assert_eq!(status, 303, "saved");
        assert!(location.contains("done=updated"));
        let link = world.links().await.remove(0);
        assert_eq!(link["label"], "Client A (renewed)");
        assert_eq!(link["expires_at"], expires, "“keep” keeps the expiry");
        assert_eq!(link["has_password"], false, "removed");
        assert_eq!(
            link["settings"]["locked_filters"]["plan"],
            serde_json::json!(["Growth"])
        );
        assert_eq!(
            link["settings"]["locked_filters"]["amount"],
            serde_json::json!({ "min": 10.0, "max": 99.5 })
        );
        assert!(link["settings"]["locked_filters"].get("region").is_none());
        assert_eq!(link["settings"]["display"]["allow_downloads"], true);
        let (_, page) = world.get(&client, &location).await;
        assert!(page.contains("Link “Client A (renewed)” saved."));
        assert!(page.contains("Amount: 10 – 99.5"));
    }
);

both_stores!(
    disable_enable_rotate_and_delete_through_the_forms_change_the_link,
    async {
        let world = World::new().await;
        let (client, csrf) = world.app.signed_in(SHARER).await;
        let (id, old_url) = world.api_link("Investors").await;
        let base = format!("{}/{id}", world.share_path());
        let form = [("csrf_token", csrf.as_str())];

        let (_, page) = world.get(&client, &world.share_path()).await;
        assert!(page.contains(&format!("{base}/disable")));
        assert!(
            page.contains("The old URL and short link stop working"),
            "rotate asks first"
        );

        let (status, location, _) = world
            .post_form(&client, &format!("{base}/disable"), &form)
            .await;
        assert_eq!(status, 303);
        assert_eq!(state_of(&world.links().await, &id), "disabled");
        let (_, page) = world.get(&client, &location).await;
        assert!(page.contains("Link “Investors” disabled"));
        assert!(page.contains("badge state-disabled"));
        assert!(
            page.contains(&format!("{base}/enable")),
            "offers enable instead"
        );

        world
            .post_form(&client, &format!("{base}/enable"), &form)
            .await;
        let links = world.links().await;
        assert_eq!(state_of(&links, &id), "active");
        assert_eq!(links[0]["url"], old_url, "enable keeps the URL");

        let (status, location, _) = world
            .post_form(&client, &format!("{base}/rotate"), &form)
            .await;
        assert_eq!(status, 303);
        let links = world.links().await;
        let new_url = links[0]["url"].as_str().unwrap();
        assert_ne!(new_url, old_url, "rotate makes a new URL");
        let (_, page) = world.get(&client, &location).await;
        assert!(page.contains("New URL for “Investors”"));
        assert!(page.contains(new_url));
        assert!(
            !page.contains(&old_url),
            "the old URL is gone from the page"
        );

        let (status, _, _) = world
            .post_form(&client, &format!("{base}/delete"), &form)
            .await;
        assert_eq!(status, 303);
        assert_eq!(state_of(&world.links().await, &id), "deleted");
        let (_, page) = world.get(&client, &world.share_path()).await;
        assert!(page.contains("1 deleted link (history kept)"));
        assert!(!page.contains(new_url), "a deleted link shows no URL");

        // Acting on a deleted link is refused on the page, not with an error page.
        let (status, _, page) = world
            .post_form(&client, &format!("{base}/enable"), &form)
            .await;
        assert_eq!(status, 400);
        assert!(page.contains("This link was deleted."));

        // Without the CSRF field nothing happens.
        let (other, _) = world.api_link("Other").await;
        let (status, _, _) = world
            .post_form(
                &client,
                &format!("{}/{other}/disable", world.share_path()),
                &[],
            )
            .await;
        assert_eq!(status, 403);
        assert_eq!(state_of(&world.links().await, &other), "active");
    }
);

both_stores!(
    members_who_may_not_share_get_403_on_the_share_page_and_its_forms,
    async {
        let world = World::new().await;
        let (id, _) = world.api_link("Board").await;
        for email in [VIEWER, EDITOR] {
            let (client, csrf) = world.app.signed_in(email).await;
            let (status, _) = world.get(&client, &world.share_path()).await;
            assert_eq!(status, 403, "{email} sees no share page");
            let (status, _, _) = world
                .post_form(
                    &client,
                    &world.share_path(),
                    &[("csrf_token", &csrf), ("label", "Mine"), ("expiry", "14")],
                )
                .await;
            assert_eq!(status, 403, "{email} cannot create");
            for action in ["disable", "rotate", "delete", "enable"] {
                let (status, _, _) = world
                    .post_form(
                        &client,
                        &format!("{}/{id}/{action}", world.share_path()),
                        &[("csrf_token", &csrf)],
                    )
                    .await;
                assert_eq!(status, 403, "{email} cannot {action}");
            }
            let (status, _, _) = world
                .post_form(
                    &client,
                    &format!("{}/{id}", world.share_path()),
                    &[
                        ("csrf_token", &csrf),
                        ("label", "Hijacked"),
                        ("expiry", "keep"),
                    ],
                )
                .await;
            assert_eq!(status, 403, "{email} cannot edit");
        }
        let links = world.links().await;
        assert_eq!(links.len(), 1);
        assert_eq!(links[0]["label"], "Board");
        assert_eq!(links[0]["state"], "active");

        // The editor sees the Share button, disabled; the viewer sees none.
        let (client, _) = world.app.signed_in(EDITOR).await;
        let (_, page) = world
            .get(&client, &format!("/dashboards/{}", world.dashboard))
            .await;
        assert!(page.contains("<button type=\"button\" disabled"));
        assert!(!page.contains(&format!("href=\"{}\"", world.share_path())));
        let (client, _) = world.app.signed_in(VIEWER).await;
        let (_, page) = world
            .get(&client, &format!("/dashboards/{}", world.dashboard))
            .await;
        assert!(!page.contains(">Share<") && !page.contains("Shared publicly"));

        // Another dashboard's share page cannot act on this dashboard's link.
        let other = world
            .api_post(
                "/api/v1/dashboards",
                serde_json::json!({ "slug": "other", "yaml": DASHBOARD.replace("Sales", "Other") }),
            )
            .await;
        let (client, csrf) = world.app.signed_in(SHARER).await;
        let (status, _, _) = world
            .post_form(
                &client,
                &format!("/dashboards/{}/share/{id}/disable", other["id"]),
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(status, 404);
        assert_eq!(world.links().await[0]["state"], "active");
    }
);

both_stores!(
    policy_and_input_errors_show_on_the_page_with_the_form_refilled,
    async {
        let world = World::new().await;
        world
            .set_policy(serde_json::json!({
                "public_links_allowed": true, "max_link_days": 30, "password_required": true,
                "contact_line": "", "footer": "Shared with Vitrine"
            }))
            .await;
        let (client, csrf) = world.app.signed_in(SHARER).await;

        let (_, page) = world.get(&client, &world.share_path()).await;
        assert!(page.contains("at most 30 days"));
        assert!(page.contains("needs a password"));
        assert!(
            page.contains("<option value=\"14\" selected>"),
            "the default fits the policy"
        );

        let attempt = |expiry: &'static str, password: &'static str| {
            [
                ("label", "Client B"),
                ("expiry", expiry),
                ("password", password),
                ("mode.region", "locked"),
                ("lock.region", "EMEA"),
            ]
        };
        let mut fields = attempt("90", "a-long-password-77").to_vec();
        fields.push(("csrf_token", &csrf));
        let (status, _, page) = world.post_form(&client, &world.share_path(), &fields).await;
        assert_eq!(status, 400);
        assert!(page.contains("must expire within 30 days"), "max expiry");
        assert!(page.contains("value=\"Client B\""), "label refilled");
        assert!(page.contains("value=\"EMEA\""), "locked value refilled");
        assert!(!page.contains("a-long-password-77"), "never the password");

        let mut fields = attempt("14", "").to_vec();
        fields.push(("csrf_token", &csrf));
        let (status, _, page) = world.post_form(&client, &world.share_path(), &fields).await;
        assert_eq!(status, 400);
        assert!(page.contains("Links in this workspace need a password."));

        let mut fields = attempt("14", "short").to_vec();
        fields.push(("csrf_token", &csrf));
        let (status, _, page) = world.post_form(&client, &world.share_path(), &fields).await;
        assert_eq!(status, 400);
        assert!(page.contains("Link password:"), "password rules");

        for (extra, message) in [
            (("lock.region", ""), "Type the value to lock “Region” to"),
            (
                ("mode.period", "locked"),
                "Pick the period to lock “Period” to",
            ),
            (
                ("expiry", "at"),
                "Enter the date and time the link stops working",
            ),
            (
                (
                    "embed_origins",
                    "https://ok.example.com\njavascript:alert(1)",
                ),
                "is not an origin like https://app.example.com",
            ),
        ] {
            let mut fields: Vec<(&str, &str)> = attempt("14", "a-long-password-77")
                .into_iter()
                .filter(|(k, _)| *k != extra.0)
                .collect();
            fields.push(extra);
            fields.push(("embed_allowed", "on"));
            fields.push(("csrf_token", &csrf));
            let (status, _, page) = world.post_form(&client, &world.share_path(), &fields).await;
            assert_eq!(status, 400, "{message}");
            assert!(page.contains(message), "{message}");
        }
        assert!(world.links().await.is_empty(), "nothing was created");

        world
            .set_policy(serde_json::json!({
                "public_links_allowed": false, "max_link_days": null, "password_required": false,
                "contact_line": "", "footer": ""
            }))
            .await;
        let (_, page) = world.get(&client, &world.share_path()).await;
        assert!(page.contains("Public links are turned off in this workspace."));
        let (status, _, page) = world
            .post_form(
                &client,
                &world.share_path(),
                &[
                    ("csrf_token", &csrf),
                    ("label", "Client C"),
                    ("expiry", "never"),
                ],
            )
            .await;
        assert_eq!(status, 400);
        assert!(page.contains("Public links are turned off in this workspace."));
        assert!(world.links().await.is_empty());
    }
);

both_stores!(
    the_settings_page_is_for_admins_and_its_forms_set_the_policy_and_suspend,
    async {
        let world = World::new().await;
        for email in [SHARER, EDITOR, VIEWER] {
            let (client, csrf) = world.app.signed_in(email).await;
            let (status, _) = world.get(&client, "/settings").await;
            assert_eq!(status, 403, "{email}");
            let (status, _, _) = world
                .post_form(
                    &client,
                    "/settings/policy",
                    &[("csrf_token", &csrf), ("max_link_days", "1")],
                )
                .await;
            assert_eq!(status, 403, "{email}");
            let (status, _, _) = world
                .post_form(&client, "/settings/suspend", &[("csrf_token", &csrf)])
                .await;
            assert_eq!(status, 403, "{email}");
            let (_, page) = world.get(&client, "/").await;
            assert!(
                !page.contains("href=\"/settings\""),
                "no nav link for {email}"
            );
        }
        assert_eq!(
            world.api_get("/api/v1/workspace/policy").await["suspended"],
            false
        );

        let (id, _) = world.api_link("Board").await;
        let (client, csrf) = world.app.signed_in(ADMIN).await;
        let (status, page) = world.get(&client, "/settings").await;
        assert_eq!(status, 200);
        assert!(
            page.contains("href=\"/settings\""),
            "admins get the nav link"
        );
        assert!(page.contains("1 in total, 1 active"));
        assert!(page.contains(&format!("/dashboards/{}/share#link-{id}", world.dashboard)));
        assert!(page.contains(">Sales</a>"), "each link names its dashboard");

        let (status, location, _) = world
            .post_form(
                &client,
                "/settings/policy",
                &[
                    ("csrf_token", &csrf),
                    ("public_links_allowed", "on"),
                    ("max_link_days", "60"),
                    ("password_required", "on"),
                    ("contact_line", "Questions? reports@acme.example"),
                    ("footer", "Acme analytics"),
                ],
            )
            .await;
        assert_eq!(status, 303);
        let policy = world.api_get("/api/v1/workspace/policy").await;
        assert_eq!(policy["public_links_allowed"], true);
        assert_eq!(policy["max_link_days"], 60);
        assert_eq!(policy["password_required"], true);
        assert_eq!(policy["contact_line"], "Questions? reports@acme.example");
        assert_eq!(policy["footer"], "Acme analytics");
        let (_, page) = world.get(&client, &location).await;
        assert!(page.contains("Link policy saved."));
        assert!(page.contains("value=\"60\""));

        let (status, _, page) = world
            .post_form(
                &client,
                "/settings/policy",
                &[
                    ("csrf_token", &csrf),
                    ("max_link_days", "9999"),
                    ("footer", "Kept"),
                ],
            )
            .await;
        assert_eq!(status, 400);
        assert!(page.contains("The longest expiry must be 1 to 3650 days."));
        assert!(page.contains("value=\"Kept\""), "refilled");
        let (status, _, page) = world
            .post_form(
                &client,
                "/settings/policy",
                &[("csrf_token", &csrf), ("max_link_days", "ten")],
            )
            .await;
        assert_eq!(status, 400);
        assert!(page.contains("whole number of days"));
        assert_eq!(
            world.api_get("/api/v1/workspace/policy").await["max_link_days"],
            60,
            "unchanged"
        );

        let (status, _, _) = world
            .post_form(&client, "/settings/policy", &[("csrf_token", &csrf)])
            .await;
        assert_eq!(status, 303);
        let policy = world.api_get("/api/v1/workspace/policy").await;
        assert_eq!(policy["public_links_allowed"], false, "unchecked box");
        assert_eq!(
            policy["max_link_days"],
            serde_json::Value::Null,
            "empty: no limit"
        );

        let (status, location, _) = world
            .post_form(&client, "/settings/suspend", &[("csrf_token", &csrf)])
            .await;
        assert_eq!(status, 303);
        assert_eq!(
            world.api_get("/api/v1/workspace/policy").await["suspended"],
            true
        );
        assert_eq!(state_of(&world.links().await, &id), "suspended");
        let (_, page) = world.get(&client, &location).await;
        assert!(page.contains("Sharing is suspended."));
        assert!(page.contains("action=\"/settings/resume\""));
        let (_, page) = world.get(&client, &world.share_path()).await;
        assert!(page.contains("Sharing is suspended in this workspace."));

        world
            .post_form(&client, "/settings/resume", &[("csrf_token", &csrf)])
            .await;
        assert_eq!(
            world.api_get("/api/v1/workspace/policy").await["suspended"],
            false
        );
        assert_eq!(state_of(&world.links().await, &id), "active");
    }
);

both_stores!(a_script_in_a_link_label_comes_out_escaped, async {
    let world = World::new().await;
    let (client, csrf) = world.app.signed_in(SHARER).await;
    let label = "<script>alert('x')</script>";
    let (status, location, _) = world
        .post_form(
            &client,
            &world.share_path(),
            &[
                ("csrf_token", &csrf),
                ("label", label),
                ("expiry", "14"),
                ("mode.region", "locked"),
                ("lock.region", "<img src=x onerror=alert(1)>"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (_, share) = world.get(&client, &location).await;
    let (admin, _) = world.app.signed_in(ADMIN).await;
    let (_, settings) = world.get(&admin, "/settings").await;
    for page in [share, settings] {
        assert!(!page.contains("<script>alert"), "no live script");
        assert!(page.contains("&#60;script&#62;"), "shown as text");
    }
    let (_, share) = world.get(&client, &world.share_path()).await;
    assert!(!share.contains("<img src=x"));
    assert!(share.contains("Region: &#60;img src=x"));
});

both_stores!(
    the_dashboard_page_shows_active_links_and_the_editor_warns,
    async {
        let world = World::new().await;
        let (client, _) = world.app.signed_in(SHARER).await;
        let dashboard = format!("/dashboards/{}", world.dashboard);

        let (_, page) = world.get(&client, &dashboard).await;
        assert!(!page.contains("Shared publicly"));
        assert!(page.contains(&format!("href=\"{}\">Share</a>", world.share_path())));
        let (_, editor) = world.get(&client, &format!("{dashboard}/edit")).await;
        assert!(!editor.contains("visible to everyone holding those links"));

        let (first, _) = world.api_link("Board").await;
        world.api_link("Client A").await;
        let (third, _) = world.api_link("Client B").await;
        world
            .api_post(
                &format!("/api/v1/links/{third}/disable"),
                serde_json::json!({}),
            )
            .await;

        let (_, page) = world.get(&client, &dashboard).await;
        assert!(
            page.contains("Shared publicly: 2 active links"),
            "disabled links do not count"
        );
        assert!(page.contains(&format!(
            "<a class=\"shared-badge\" href=\"{}\">",
            world.share_path()
        )));
        let (_, editor) = world.get(&client, &format!("{dashboard}/edit")).await;
        assert!(editor.contains("shared publicly through 2 active links"));
        assert!(editor.contains("visible to everyone holding those links"));

        world
            .api_post(
                &format!("/api/v1/links/{first}/disable"),
                serde_json::json!({}),
            )
            .await;
        let (_, page) = world.get(&client, &dashboard).await;
        assert!(page.contains("Shared publicly: 1 active link<"));

        // An editor without `share_public` sees the badge, but not as a link.
        let (editor_client, _) = world.app.signed_in(EDITOR).await;
        let (_, page) = world.get(&editor_client, &dashboard).await;
        assert!(
            page.contains("<span class=\"shared-badge\">Shared publicly: 1 active link</span>")
        );

        // Time passes: an expired link no longer counts.
        world.app.clock.advance(time::Duration::days(91));
        let (client, _) = world.app.signed_in(SHARER).await;
        let (status, page) = world.get(&client, &dashboard).await;
        assert_eq!(status, 200);
        assert!(page.contains(">Share</a>"));
        assert!(
            !page.contains("Shared publicly"),
            "90-day links have expired"
        );
    }
);

both_stores!(
    without_the_embed_permission_embedding_cannot_be_turned_on_or_changed,
    async {
        let world = World::new().await;
        let plain = "plain@example.com";
        world
            .app
            .member(
                plain,
                Role::Editor,
                Permissions {
                    share_public: true,
                    ..Permissions::default()
                },
            )
            .await;
        let link = world
            .api_post(
                "/api/v1/links",
                serde_json::json!({
                    "dashboard_id": world.dashboard, "label": "Portal",
                    "embed": { "allowed": true, "origins": ["https://portal.example.com"] }
                }),
            )
            .await;
        let id = link["id"].as_str().unwrap();
        let (client, csrf) = world.app.signed_in(plain).await;

        let (_, page) = world
            .get(&client, &format!("{}?edit={id}", world.share_path()))
            .await;
        assert!(page.contains("Embedding needs the “Embed” permission"));
        assert!(page.contains("name=\"embed_allowed\" value=\"on\" checked disabled"));
        assert!(page.contains("https://portal.example.com</textarea>"));

        // A member without `embed` can still rename the link; its embedding stays exactly as it was.
        assert!(page.contains("Its embedding settings stay as they are"));
        let (status, _, _) = world
            .post_form(
                &client,
                &format!("{}/{id}", world.share_path()),
                &[
                    ("csrf_token", &csrf),
                    ("label", "Portal (2027)"),
                    ("expiry", "keep"),
                ],
            )
            .await;
        assert_eq!(status, 303);
        let link = world.links().await.remove(0);
        assert_eq!(link["label"], "Portal (2027)");
        assert_eq!(link["settings"]["embed"]["allowed"], true);
        assert_eq!(
            link["settings"]["embed"]["origins"],
            serde_json::json!(["https://portal.example.com"])
        );
        // Through the API, changing the origins is refused.
        let key = world
            .app
            .api_key(
                &world
                    .app
                    .state
                    .store
                    .member_by_email(plain)
                    .await
                    .unwrap()
                    .unwrap(),
            )
            .await;
        let response = world
        .app
        .api()
        .patch(world.app.url(&format!("/api/v1/links/{id}")))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "embed": { "allowed": true, "origins": ["https://evil.example.com"] } }))
        .send()
        .await
        .unwrap();
        assert_eq!(response.status(), 403);
        // Disabling it is still possible.
        let (status, _, _) = world
            .post_form(
                &client,
                &format!("{}/{id}/disable", world.share_path()),
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(status, 303);
        assert_eq!(state_of(&world.links().await, id), "disabled");

        // A crafted form cannot turn embedding on: the fields are ignored.
        let (status, _, _) = world
            .post_form(
                &client,
                &world.share_path(),
                &[
                    ("csrf_token", &csrf),
                    ("label", "Sneaky"),
                    ("expiry", "14"),
                    ("embed_allowed", "on"),
                    ("embed_origins", "https://evil.example.com"),
                ],
            )
            .await;
        assert_eq!(status, 303);
        let sneaky = world
            .links()
            .await
            .into_iter()
            .find(|l| l["label"] == "Sneaky")
            .unwrap();
        assert_eq!(sneaky["settings"]["embed"]["allowed"], false);
        assert_eq!(
            sneaky["settings"]["embed"]["origins"],
            serde_json::json!([])
        );
    }
);

both_stores!(
    the_form_turns_on_email_confirmation_with_domains_and_refuses_bad_ones,
    async {
        let world = World::new().await;
        let (client, csrf) = world.app.signed_in(SHARER).await;
        let (_, page) = world.get(&client, &world.share_path()).await;
        assert!(page.contains("name=\"confirm_email\"") && page.contains("name=\"email_domains\""));

        let (status, _, page) = world
            .post_form(
                &client,
                &world.share_path(),
                &[
                    ("csrf_token", &csrf),
                    ("label", "Client A"),
                    ("expiry", "14"),
                    ("confirm_email", "on"),
                    ("email_domains", "@client.test\nbad domain"),
                ],
            )
            .await;
        assert_eq!(status, 400);
        assert!(
            page.contains("Allowed e-mail domains:"),
            "the domain is refused"
        );
        assert!(
            page.contains("@client.test\nbad domain"),
            "the form is refilled"
        );

        let (status, _, _) = world
            .post_form(
                &client,
                &world.share_path(),
                &[
                    ("csrf_token", &csrf),
                    ("label", "Client A"),
                    ("expiry", "14"),
                    ("confirm_email", "on"),
                    ("email_domains", "@Client.test\npartner.test, @client.test"),
                ],
            )
            .await;
        assert_eq!(status, 303);
        let link = world.links().await.into_iter().next().unwrap();
        assert_eq!(link["settings"]["access"]["confirm_email"], true);
        assert_eq!(
            link["settings"]["access"]["email_domains"],
            serde_json::json!(["@client.test", "@partner.test"])
        );
        let (_, page) = world.get(&client, &world.share_path()).await;
        assert!(page.contains("e-mail confirmed"));
        assert!(page.contains("@client.test, @partner.test"));
        assert!(page.contains("nobody yet"));
    }
);

both_stores!(
    the_share_dialogs_rules_field_restricts_a_link_and_a_refused_clause_is_shown_again,
    async {
        let world = World::new().await;
        let (client, csrf) = world.app.signed_in(SHARER).await;
        let path = world.share_path();

        // A clause the SQL parser refuses (an OR), and a column no dataset has: 400, the form
        // again with the clause as typed and a sentence naming the part; no link made.
        for (clause, needle) in [("region = 'EMEA' OR 1=1", "OR"), ("tenant = 'A'", "tenant")] {
            let (status, _, page) = world
                .post_form(
                    &client,
                    &path,
                    &[
                        ("csrf_token", &csrf),
                        ("label", "Client A"),
                        ("target", ""),
                        ("expiry", "14"),
                        ("rules", clause),
                    ],
                )
                .await;
            assert_eq!(status, 400, "{clause}");
            assert!(
                page.contains("alert-error") && page.contains(needle),
                "{clause}: {page}"
            );
            assert!(
                page.contains(&clause.replace('\'', "&#39;")),
                "the clause is shown again: {page}"
            );
        }
        assert!(world.links().await.is_empty(), "nothing was made");

        // A good clause: the link's rules, on every route it serves.
        let (status, _, _) = world
            .post_form(
                &client,
                &path,
                &[
                    ("csrf_token", &csrf),
                    ("label", "Client A"),
                    ("target", ""),
                    ("expiry", "14"),
                    ("allow_downloads", "on"),
                    ("rules", "region = 'EMEA' AND plan IN ('Starter', 'Growth')"),
                ],
            )
            .await;
        assert_eq!(status, 303);
        let links = world.links().await;
        assert_eq!(links.len(), 1);
        let rules = &links[0]["settings"]["rules"];
        assert_eq!(rules.as_array().unwrap().len(), 2, "{rules}");
        assert_eq!(rules[0]["column"], "region");
        assert_eq!(rules[1]["column"], "plan");
        let url = links[0]["url"].as_str().unwrap();
        let share = &url[url.find("/share/").unwrap()..];
        let (status, csv) = world
            .get(
                &world.app.api(),
                &format!("{share}/widgets/by-plan/export.csv"),
            )
            .await;
        assert_eq!(status, 200);
        assert!(csv.contains("Starter") && !csv.contains("Growth"), "{csv}");
        // Editing the link shows its rules as a clause again.
        let id = links[0]["id"].as_str().unwrap();
        let (_, page) = world.get(&client, &format!("{path}?edit={id}")).await;
        assert!(
            page.contains(
                "name=\"rules\" class=\"code\" value=\"&#34;region&#34; = &#39;EMEA&#39; AND \
                 &#34;plan&#34; IN (&#39;Starter&#39;, &#39;Growth&#39;)\""
            ),
            "{page}"
        );
    }
);

both_stores!(
    the_form_sets_and_clears_a_view_limit_allowed_networks_and_cost_caps,
    async {
        let world = World::new().await;
        let (client, csrf) = world.app.signed_in(SHARER).await;
        let (status, location, body) = world
            .post_form(
                &client,
                &world.share_path(),
                &[
                    ("csrf_token", &csrf),
                    ("label", "Office"),
                    ("expiry", "14"),
                    ("max_views", "25"),
                    (
                        "allowed_networks",
                        "203.0.113.0/24\n2001:db8::/48\n203.0.113.0/24",
                    ),
                    ("max_live_viewers", "3"),
                    ("max_live_viewers_per_client", "1"),
                    ("max_new_views_per_minute", "40"),
                    ("max_new_views_per_minute_per_client", "7"),
                ],
            )
            .await;
        assert_eq!(status, 303, "{body}");
        assert!(location.contains("done=created"), "{location}");
        let link = world.links().await.remove(0);
        let id = link["id"].as_str().unwrap().to_owned();
        let access = &link["settings"]["access"];
        assert_eq!(access["max_views"], 25, "{access}");
        assert_eq!(
            access["allowed_networks"],
            serde_json::json!(["203.0.113.0/24", "2001:db8::/48"]),
            "one of each, in order: {access}"
        );
        assert_eq!(access["max_live_viewers"], 3);
        assert_eq!(access["max_live_viewers_per_client"], 1);
        assert_eq!(access["max_new_views_per_minute"], 40);
        assert_eq!(access["max_new_views_per_minute_per_client"], 7);

        // The list shows them, and the edit form starts from them.
        let (_, page) = world.get(&client, &world.share_path()).await;
        assert!(page.contains("(limit: 0 of 25)"), "view limit listed");
        assert!(
            page.contains("203.0.113.0/24") && page.contains("2001:db8::/48"),
            "networks listed"
        );
        let edit_path = format!("{}?edit={id}", world.share_path());
        let (_, edit) = world.get(&client, &edit_path).await;
        for (name, value) in [
            ("max_views", "25"),
            ("max_live_viewers", "3"),
            ("max_live_viewers_per_client", "1"),
            ("max_new_views_per_minute", "40"),
            ("max_new_views_per_minute_per_client", "7"),
        ] {
            assert!(
                edit.contains(&format!(
                    "name=\"{name}\" min=\"1\" step=\"1\" value=\"{value}\""
                )),
                "{name} refilled"
            );
        }
        assert!(edit.contains("203.0.113.0/24\n2001:db8::/48</textarea>"));

        // A bad network or limit is refused naming its field; the link keeps its policy.
        let save = format!("{}/{id}", world.share_path());
        for (field, value, says) in [
            ("allowed_networks", "not a network", "Allowed networks:"),
            ("max_views", "0", "View limit: enter a whole number"),
            (
                "max_new_views_per_minute",
                "-3",
                "New filter views per minute: enter a whole number",
            ),
        ] {
            let (status, _, page) = world
                .post_form(
                    &client,
                    &save,
                    &[
                        ("csrf_token", &csrf),
                        ("label", "Office"),
                        ("expiry", "keep"),
                        (field, value),
                    ],
                )
                .await;
            assert_eq!(status, 400, "{field}");
            assert!(page.contains(says), "{field}: {says}");
        }
        assert_eq!(
            world.links().await[0]["settings"]["access"],
            *access,
            "unchanged"
        );

        // Emptied, they are gone: no limit, anywhere, the server's caps.
        let (status, _, body) = world
            .post_form(
                &client,
                &save,
                &[
                    ("csrf_token", &csrf),
                    ("label", "Office"),
                    ("expiry", "keep"),
                    ("max_views", ""),
                    ("allowed_networks", ""),
                    ("max_live_viewers", ""),
                ],
            )
            .await;
        assert_eq!(status, 303, "{body}");
        let access = world.links().await[0]["settings"]["access"].clone();
        assert!(access["max_views"].is_null(), "{access}");
        assert!(
            access["allowed_networks"]
                .as_array()
                .is_none_or(Vec::is_empty),
            "{access}"
        );
        assert!(access["max_live_viewers"].is_null(), "{access}");
        assert!(access["max_new_views_per_minute_per_client"].is_null());
    }
);
