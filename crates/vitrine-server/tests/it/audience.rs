//! Restricted dashboards and per-dashboard rights: draft vs published vs restricted for each
//! role, on every route (pages, fragments, live, exports, API); an editor right on one
//! dashboard edits that dashboard and no other; on SQLite and PostgreSQL.

use vitrine_core::member::{Permissions, Role};

use crate::dashboard_access::second_dashboard;
use crate::helpers::{PgDatabase, TestApp};
use crate::links::{DASHBOARD, shared_dashboard};

async fn status(client: &reqwest::Client, app: &TestApp, path: &str) -> u16 {
    client
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn api_status(app: &TestApp, key: &str, path: &str) -> u16 {
    app.api()
        .get(app.url(path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn put(app: &TestApp, key: &str, path: &str, body: serde_json::Value) -> reqwest::Response {
    app.api()
        .put(app.url(path))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Every member-facing route of dashboard `id`, page and API.
fn routes(id: i64) -> Vec<String> {
    vec![
        format!("/dashboards/{id}"),
        format!("/dashboards/{id}/widgets/by-plan"),
        format!("/dashboards/{id}/live"),
        format!("/dashboards/{id}/export.pdf"),
        format!("/dashboards/{id}/widgets/by-plan/export.csv"),
    ]
}

fn api_routes(id: i64) -> Vec<String> {
    vec![
        format!("/api/v1/dashboards/{id}"),
        format!("/api/v1/dashboards/{id}/export.pdf"),
        format!("/api/v1/dashboards/{id}/widgets/by-plan/export.csv"),
    ]
}

async fn listed(app: &TestApp, key: &str) -> Vec<i64> {
    let list: serde_json::Value = app
        .api()
        .get(app.url("/api/v1/dashboards"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn draft_published_and_restricted_dashboards_for_each_role() {
    each_role(None).await;
}

#[tokio::test]
async fn draft_published_and_restricted_dashboards_for_each_role_on_postgres() {
    let Some(db) =
        PgDatabase::create("draft_published_and_restricted_dashboards_for_each_role_on_postgres")
            .await
    else {
        return;
    };
    each_role(Some(db.url.clone())).await;
    db.drop_now().await;
}

async fn each_role(database_url: Option<String>) {
    let app = TestApp::spawn_with(|c| c.database_url = database_url).await;
    let admin = app.admin().await;
    let admin_key = app.api_key(&admin).await;
    let published = shared_dashboard(&app, &admin_key).await;
    let draft = second_dashboard(&app, &admin_key, "Draft board", "draft").await;
    let restricted = second_dashboard(&app, &admin_key, "Board pack", "published").await;
    let editor = app
        .member("editor@example.com", Role::Editor, Permissions::default())
        .await;
    let viewer = app
        .member("viewer@example.com", Role::Viewer, Permissions::default())
        .await;
    let rita = app
        .member("rita@example.com", Role::Viewer, Permissions::default())
        .await;

    // Restrict "Board pack" to Rita (a viewer) through the API.
    let restricting = put(
        &app,
        &admin_key,
        &format!("/api/v1/dashboards/{restricted}/audience"),
        serde_json::json!({ "restricted": true }),
    )
    .await;
    assert_eq!(restricting.status(), 200);
    let body: serde_json::Value = restricting.json().await.unwrap();
    assert_eq!(body["visibility"], "restricted");
    let granted = put(
        &app,
        &admin_key,
        &format!(
            "/api/v1/dashboards/{restricted}/audience/members/{}",
            rita.id.0
        ),
        serde_json::json!({ "access": "viewer" }),
    )
    .await;
    assert_eq!(granted.status(), 200);
    let body: serde_json::Value = granted.json().await.unwrap();
    assert_eq!(body["members"][0]["email"], "rita@example.com");
    assert_eq!(body["members"][0]["access"], "viewer");

    // (member, its key, [published, draft, restricted] expected to be visible)
    let people = [
        (&admin, [true, true, true]),
        (&editor, [true, true, false]),
        (&viewer, [true, false, false]),
        (&rita, [true, false, true]),
    ];
    for (member, expected) in people {
        let key = app.api_key(member).await;
        let (browser, _) = app.signed_in(&member.email).await;
        let mut visible = Vec::new();
        for (id, seen) in [published, draft, restricted].into_iter().zip(expected) {
            let want = if seen { 200 } else { 404 };
            for path in routes(id) {
                let got = status(&browser, &app, &path).await;
                // The live stream answers 200 with an event stream; every other route too.
                assert_eq!(got, want, "{} {path}", member.email);
            }
            for path in api_routes(id) {
                assert_eq!(
                    api_status(&app, &key, &path).await,
                    want,
                    "{} {path}",
                    member.email
                );
            }
            if seen {
                visible.push(id);
            }
        }
        let mut list = listed(&app, &key).await;
        list.sort_unstable();
        assert_eq!(list, visible, "{}", member.email);
    }

    // Restricted wins over published on the page's badge, for those who see it.
    let (rita_browser, _) = app.signed_in(&rita.email).await;
    let page = rita_browser
        .get(app.url(&format!("/dashboards/{restricted}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(">restricted<"), "{page}");
    assert!(
        !page.contains("/edit\""),
        "a viewer right shows no Edit button"
    );

    // Giving the editor role viewer rights opens it to editors (read-only).
    let role = put(
        &app,
        &admin_key,
        &format!("/api/v1/dashboards/{restricted}/audience/roles/editor"),
        serde_json::json!({ "access": "viewer" }),
    )
    .await;
    assert_eq!(role.status(), 200);
    let editor_key = app.api_key(&editor).await;
    assert_eq!(
        api_status(
            &app,
            &editor_key,
            &format!("/api/v1/dashboards/{restricted}")
        )
        .await,
        200
    );
    let changed = put(
        &app,
        &editor_key,
        &format!("/api/v1/dashboards/{restricted}"),
        serde_json::json!({ "yaml": DASHBOARD.replace("title: Sales", "title: Board pack v2") }),
    )
    .await;
    assert_eq!(
        changed.status(),
        403,
        "a viewer right on it, whatever the role"
    );
    // Only admins and the dashboard's editors manage who sees it.
    assert_eq!(
        api_status(
            &app,
            &editor_key,
            &format!("/api/v1/dashboards/{restricted}/audience")
        )
        .await,
        403
    );
    // Opening it again: the editor edits it, the viewer sees it.
    let opened = put(
        &app,
        &admin_key,
        &format!("/api/v1/dashboards/{restricted}/audience"),
        serde_json::json!({ "restricted": false }),
    )
    .await;
    assert_eq!(opened.status(), 200);
    let viewer_key = app.api_key(&viewer).await;
    assert_eq!(
        api_status(
            &app,
            &viewer_key,
            &format!("/api/v1/dashboards/{restricted}")
        )
        .await,
        200
    );

    let audit = app
        .state
        .store
        .audit_events(admin.workspace_id, 100)
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "dashboard.restricted",
        "dashboard.grant_set",
        "dashboard.unrestricted",
    ] {
        assert!(actions.contains(&action), "{actions:?}");
    }
}

#[tokio::test]
async fn an_editor_of_one_dashboard_cannot_edit_another() {
    editor_of_one(None).await;
}

#[tokio::test]
async fn an_editor_of_one_dashboard_cannot_edit_another_on_postgres() {
    let Some(db) =
        PgDatabase::create("an_editor_of_one_dashboard_cannot_edit_another_on_postgres").await
    else {
        return;
    };
    editor_of_one(Some(db.url.clone())).await;
    db.drop_now().await;
}

async fn editor_of_one(database_url: Option<String>) {
    let app = TestApp::spawn_with(|c| c.database_url = database_url).await;
    let admin = app.admin().await;
    let admin_key = app.api_key(&admin).await;
    let mine = shared_dashboard(&app, &admin_key).await;
    let other = second_dashboard(&app, &admin_key, "Other board", "published").await;
    let hidden = second_dashboard(&app, &admin_key, "Hidden board", "published").await;
    assert_eq!(
        put(
            &app,
            &admin_key,
            &format!("/api/v1/dashboards/{hidden}/audience"),
            serde_json::json!({ "restricted": true }),
        )
        .await
        .status(),
        200
    );
    let dana = app
        .member("dana@example.com", Role::Viewer, Permissions::default())
        .await;

    // The admin gives Dana (a viewer) editor rights on "Sales" from the People panel.
    let (admin_browser, admin_csrf) = app.signed_in(&admin.email).await;
    let given = admin_browser
        .post(app.url(&format!("/dashboards/{mine}/people/members")))
        .form(&[
            ("member_id", dana.id.0.to_string().as_str()),
            ("access", "editor"),
            ("csrf_token", admin_csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(given.status(), 303);
    let panel = admin_browser
        .get(app.url(&format!("/dashboards/{mine}/people")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(panel.contains("dana@example.com"), "{panel}");
    assert!(panel.contains("value=\"editor\" selected"), "{panel}");

    // API: her dashboard changes, the other one is forbidden, the restricted one is absent.
    let key = app.api_key(&dana).await;
    let yaml = |title: &str| DASHBOARD.replace("title: Sales", &format!("title: {title}"));
    let saved = put(
        &app,
        &key,
        &format!("/api/v1/dashboards/{mine}"),
        serde_json::json!({ "yaml": yaml("Sales by Dana") }),
    )
    .await;
    assert_eq!(saved.status(), 200);
    let refused = put(
        &app,
        &key,
        &format!("/api/v1/dashboards/{other}"),
        serde_json::json!({ "yaml": yaml("Other by Dana") }),
    )
    .await;
    assert_eq!(refused.status(), 403);
    let absent = put(
        &app,
        &key,
        &format!("/api/v1/dashboards/{hidden}"),
        serde_json::json!({ "yaml": yaml("Hidden by Dana") }),
    )
    .await;
    assert_eq!(absent.status(), 404);
    // An editor right edits; it does not create, delete or hand the dashboard out.
    let created = app
        .api()
        .post(app.url("/api/v1/dashboards"))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "yaml": yaml("New by Dana") }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 403);
    let deleted = app
        .api()
        .delete(app.url(&format!("/api/v1/dashboards/{mine}")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 403);
    assert_eq!(
        put(
            &app,
            &key,
            &format!("/api/v1/dashboards/{mine}/audience"),
            serde_json::json!({ "restricted": true }),
        )
        .await
        .status(),
        403
    );

    // UI: the edit page and the form, the same answers.
    let (browser, csrf) = app.signed_in(&dana.email).await;
    assert_eq!(
        status(&browser, &app, &format!("/dashboards/{mine}/edit")).await,
        200
    );
    assert_eq!(
        status(&browser, &app, &format!("/dashboards/{other}/edit")).await,
        403
    );
    assert_eq!(
        status(&browser, &app, &format!("/dashboards/{hidden}/edit")).await,
        404
    );
    let page = browser
        .get(app.url(&format!("/dashboards/{mine}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("href=\"/dashboards/{mine}/edit\"")),
        "{page}"
    );
    let page = browser
        .get(app.url(&format!("/dashboards/{other}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains(&format!("href=\"/dashboards/{other}/edit\"")));
    for (id, want) in [(mine, 303), (other, 403), (hidden, 404)] {
        let posted = browser
            .post(app.url(&format!("/dashboards/{id}")))
            .form(&[
                ("yaml", yaml("Form by Dana").as_str()),
                ("csrf_token", csrf.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), want, "dashboard {id}");
    }
    let doc: serde_json::Value = app
        .api()
        .get(app.url(&format!("/api/v1/dashboards/{other}")))
        .bearer_auth(&admin_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["title"], "Other board", "untouched");

    // An editor who may share cannot make a link to a restricted dashboard not given to them.
    let sam = app
        .member(
            "sam@example.com",
            Role::Editor,
            Permissions {
                share_public: true,
                ..Permissions::default()
            },
        )
        .await;
    let sam_key = app.api_key(&sam).await;
    for (dashboard, want) in [(hidden, 404), (other, 201)] {
        let made = app
            .api()
            .post(app.url("/api/v1/links"))
            .bearer_auth(&sam_key)
            .json(&serde_json::json!({ "dashboard_id": dashboard, "label": "Board" }))
            .send()
            .await
            .unwrap();
        assert_eq!(made.status(), want, "dashboard {dashboard}");
    }

    // Nor see, open or rotate the links an admin made to it.
    let admin_link: serde_json::Value = app
        .api()
        .post(app.url("/api/v1/links"))
        .bearer_auth(&admin_key)
        .json(&serde_json::json!({ "dashboard_id": hidden, "label": "Board pack" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link_id = admin_link["id"].as_str().unwrap();
    let links: serde_json::Value = app
        .api()
        .get(app.url("/api/v1/links"))
        .bearer_auth(&sam_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        links
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["dashboard_id"].as_i64() != Some(hidden)),
        "{links}"
    );
    assert_eq!(
        api_status(&app, &sam_key, &format!("/api/v1/links/{link_id}")).await,
        404
    );
    let rotated = app
        .api()
        .post(app.url(&format!("/api/v1/links/{link_id}/rotate")))
        .bearer_auth(&sam_key)
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), 404);

    // Taking the right away ends it.
    let removed = admin_browser
        .post(app.url(&format!(
            "/dashboards/{mine}/people/members/{}/remove",
            dana.id.0
        )))
        .form(&[("csrf_token", admin_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 303);
    assert_eq!(
        status(&browser, &app, &format!("/dashboards/{mine}/edit")).await,
        403
    );
}

#[tokio::test]
async fn the_people_panel_and_the_member_page_fit_a_desktop_and_a_phone() {
    use crate::browser::{Browser, sales_dashboard};
    use crate::helpers::PASSWORD;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let sales = sales_dashboard(&app).await;
    let admin = app.admin().await;
    let admin_key = app.api_key(&admin).await;
    let rita = app
        .member("rita@example.com", Role::Viewer, Permissions::default())
        .await;
    app.member("vic@example.com", Role::Viewer, Permissions::default())
        .await;
    let id = sales.id;
    for (path, body) in [
        (
            format!("/api/v1/dashboards/{id}/audience"),
            serde_json::json!({ "restricted": true }),
        ),
        (
            format!("/api/v1/dashboards/{id}/audience/members/{}", rita.id.0),
            serde_json::json!({ "access": "editor" }),
        ),
        (
            format!("/api/v1/dashboards/{id}/audience/roles/viewer"),
            serde_json::json!({ "access": "viewer" }),
        ),
    ] {
        assert_eq!(put(&app, &admin_key, &path, body).await.status(), 200);
    }
    let rule = app
        .api()
        .post(app.url("/api/v1/data-rules"))
        .bearer_auth(&admin_key)
        .json(&serde_json::json!({ "member_id": rita.id.0, "rule": { "column": "region", "op": "in", "values": ["AMER", "<script>alert(1)</script>"] } }))
        .send()
        .await
        .unwrap();
    assert_eq!(rule.status(), 201);

    browser.sign_in(&app, &admin.email, PASSWORD).await;
    let no_sideways_scroll = "return document.documentElement.scrollWidth <= innerWidth";
    for (device, width, height) in [("desktop", 1400, 900), ("phone", 390, 844)] {
        browser.set_viewport(width, height).await;
        browser
            .goto(&app.url(&format!("/dashboards/{id}/people")))
            .await;
        browser.wait_for("#dashboard-visibility").await;
        browser
            .screenshot_full_page(&format!("people-panel-{device}"))
            .await;
        assert_eq!(
            browser.js(no_sideways_scroll).await,
            true,
            "the people panel scrolls sideways on a {device}"
        );
        browser
            .goto(&app.url(&format!("/members/{}", rita.id.0)))
            .await;
        browser.wait_for("#member-data-rules").await;
        browser
            .screenshot_full_page(&format!("member-page-{device}"))
            .await;
        assert_eq!(
            browser.js(no_sideways_scroll).await,
            true,
            "the member page scrolls sideways on a {device}"
        );
        let rule = browser.text("tr.data-rule code").await;
        assert!(rule.contains("<script>"), "shown as text: {rule}");
    }
    assert!(browser.csp_violations().await.is_empty());
    browser.close().await;
}

#[tokio::test]
async fn the_share_dialog_invites_to_the_workspace_and_lists_the_links_sent_by_e_mail() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let id = shared_dashboard(&app, &key).await;
    app.member("editor@example.com", Role::Editor, Permissions::default())
        .await;

    // Invite to the workspace with a role, from the People panel.
    let (browser, csrf) = app.signed_in(&admin.email).await;
    let panel = browser
        .get(app.url(&format!("/dashboards/{id}/people")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(panel.contains("id=\"invite-to-workspace\""));
    let invited = browser
        .post(app.url(&format!("/dashboards/{id}/people/workspace")))
        .form(&[
            ("emails", "new.editor@acme.test"),
            ("role", "editor"),
            ("csrf_token", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(invited.status(), 303);
    assert_eq!(
        invited.headers()["location"],
        format!("/dashboards/{id}/people").as_str()
    );
    let open = app
        .state
        .store
        .open_invitations(admin.workspace_id)
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].email, "new.editor@acme.test");
    assert_eq!(open[0].role, Role::Editor);
    assert!(
        open[0].dashboard.is_none(),
        "to the workspace, not the dashboard"
    );
    // A second time is a conflict shown on the panel.
    let again = browser
        .post(app.url(&format!("/dashboards/{id}/people/workspace")))
        .form(&[
            ("emails", "new.editor@acme.test"),
            ("role", "editor"),
            ("csrf_token", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
    assert!(again.text().await.unwrap().contains("role=\"alert\""));
    // An editor who does not manage members sees no such form and cannot post it.
    let (editor, editor_csrf) = app.signed_in("editor@example.com").await;
    let panel = editor
        .get(app.url(&format!("/dashboards/{id}/people")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!panel.contains("id=\"invite-to-workspace\""));
    let refused = editor
        .post(app.url(&format!("/dashboards/{id}/people/workspace")))
        .form(&[
            ("emails", "sneaky@acme.test"),
            ("role", "viewer"),
            ("csrf_token", editor_csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    // A link sent by e-mail is listed under it on the Links panel, with its recipients.
    let link: serde_json::Value = app
        .api()
        .post(app.url("/api/v1/links"))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "dashboard_id": id, "label": "Board" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link_id = link["id"].as_str().unwrap();
    let share = browser
        .get(app.url(&format!("/dashboards/{id}/share")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!share.contains("Sent by e-mail ("));
    let sent = app
        .api()
        .post(app.url(&format!("/api/v1/links/{link_id}/send")))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "emails": ["ceo@client.test", "<b>cfo</b>@client.test"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 400, "not an address");
    let sent = app
        .api()
        .post(app.url(&format!("/api/v1/links/{link_id}/send")))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "emails": ["ceo@client.test", "cfo@client.test"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202);
    let share = browser
        .get(app.url(&format!("/dashboards/{id}/share")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(share.contains("Sent by e-mail (2)"), "{share}");
    assert!(share.contains("ceo@client.test") && share.contains("cfo@client.test"));
}

#[tokio::test]
async fn every_widget_has_a_member_permalink_page_that_keeps_the_filters() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let id = shared_dashboard(&app, &key).await;
    let hidden = second_dashboard(&app, &key, "Hidden board", "published").await;
    assert_eq!(
        put(
            &app,
            &key,
            &format!("/api/v1/dashboards/{hidden}/audience"),
            serde_json::json!({ "restricted": true }),
        )
        .await
        .status(),
        200
    );
    let viewer = app
        .member("viewer@example.com", Role::Viewer, Permissions::default())
        .await;
    let (browser, _) = app.signed_in(&viewer.email).await;

    // The dashboard page links each card to its page, with the view's filters.
    let page = browser
        .get(app.url(&format!("/dashboards/{id}?f.region=EMEA")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let link = format!("/dashboards/{id}/widgets/by-plan/page?f.region=EMEA");
    assert!(page.contains(&format!("href=\"{link}\"")), "{page}");

    let widget = browser.get(app.url(&link)).send().await.unwrap();
    assert_eq!(widget.status(), 200);
    let widget = widget.text().await.unwrap();
    assert!(widget.contains("Revenue by plan — Sales"));
    assert!(widget.contains("data-copy-location") && widget.contains("Copy permalink"));
    assert!(widget.contains(&format!("action=\"/dashboards/{id}/widgets/by-plan/page\"")));
    assert!(widget.contains("value=\"EMEA\" selected"), "{widget}");
    // EMEA only: Starter (EMEA 10) and Growth (EMEA 30), never the AMER 20.
    assert!(widget.contains("Starter"));

    // Signed out: to the login form, and back here after it.
    let anonymous = app.browser();
    let out = anonymous.get(app.url(&link)).send().await.unwrap();
    assert_eq!(out.status(), 303);
    let location = out.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/login?next="), "{location}");
    assert!(location.contains("by-plan%2Fpage"), "{location}");

    // No access, no such widget: 404.
    for path in [
        format!("/dashboards/{hidden}/widgets/by-plan/page"),
        format!("/dashboards/{id}/widgets/nope/page"),
        "/dashboards/999999/widgets/by-plan/page".to_owned(),
    ] {
        assert_eq!(status(&browser, &app, &path).await, 404, "{path}");
    }
}

#[tokio::test]
async fn a_person_invited_as_editor_of_one_dashboard_edits_it_and_sees_nothing_else() {
    use crate::dashboard_access::accept_link;
    use crate::helpers::{PASSWORD, hidden_field};
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let sales = shared_dashboard(&app, &key).await;
    let other = second_dashboard(&app, &key, "Other board", "published").await;
    let (browser, csrf) = app.signed_in(&admin.email).await;
    let invited = browser
        .post(app.url(&format!("/dashboards/{sales}/people")))
        .form(&[
            ("emails", "freelancer@client.test"),
            ("right", "editor"),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(invited.status(), 303);
    let link = accept_link(&app).await;
    let guest = app.browser();
    let page = guest.get(&link).send().await.unwrap().text().await.unwrap();
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let accepted = guest
        .post(&link)
        .form(&[
            ("name", "Freelancer"),
            ("password", PASSWORD),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 303);
    let member = app
        .state
        .store
        .member_by_email("freelancer@client.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(member.role, Role::Viewer);
    let guest_key = app.api_key(&member).await;
    let saved = put(
        &app,
        &guest_key,
        &format!("/api/v1/dashboards/{sales}"),
        serde_json::json!({ "yaml": DASHBOARD.replace("title: Sales", "title: Sales, edited") }),
    )
    .await;
    assert_eq!(saved.status(), 200);
    let elsewhere = put(
        &app,
        &guest_key,
        &format!("/api/v1/dashboards/{other}"),
        serde_json::json!({ "yaml": DASHBOARD }),
    )
    .await;
    assert_eq!(
        elsewhere.status(),
        404,
        "the rest of the workspace does not exist for them"
    );
    assert_eq!(listed(&app, &guest_key).await, [sales]);
}

/// What a builder route answers Dana with `key`: its status and body.
async fn builder_call(
    app: &TestApp,
    key: &str,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    crate::builder::send(app, key, method, path, body).await
}

crate::helpers::both_stores!(
    an_editor_of_one_dashboard_builds_it_with_the_builder_and_no_other,
    async {
        let app = TestApp::spawn().await;
        let admin = app.admin().await;
        let admin_key = app.api_key(&admin).await;
        let mine = shared_dashboard(&app, &admin_key).await;
        let other = second_dashboard(&app, &admin_key, "Other board", "published").await;
        let hidden = second_dashboard(&app, &admin_key, "Hidden board", "published").await;
        let restricted = put(
            &app,
            &admin_key,
            &format!("/api/v1/dashboards/{hidden}/audience"),
            serde_json::json!({ "restricted": true }),
        )
        .await;
        assert_eq!(restricted.status(), 200);
        let datasets: serde_json::Value = app
            .api()
            .get(app.url("/api/v1/datasets"))
            .bearer_auth(&admin_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let dataset = datasets[0]["id"].as_i64().unwrap();
        let dana = app
            .member("dana@example.com", Role::Viewer, Permissions::default())
            .await;
        let (admin_browser, admin_csrf) = app.signed_in(&admin.email).await;
        let given = admin_browser
            .post(app.url(&format!("/dashboards/{mine}/people/members")))
            .form(&[
                ("member_id", dana.id.0.to_string().as_str()),
                ("access", "editor"),
                ("csrf_token", admin_csrf.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(given.status(), 303);
        let key = app.api_key(&dana).await;
        let (_, current) = builder_call(
            &app,
            &key,
            "GET",
            &format!("/api/v1/dashboards/{mine}"),
            serde_json::Value::Null,
        )
        .await;
        let document = current["document"].clone();
        let revision = current["revision"].as_i64().unwrap();

        // On her dashboard: choices, preview, check and save, as the builder sends them.
        let (status, choices) = builder_call(
            &app,
            &key,
            "GET",
            &format!("/api/v1/datasets/{dataset}/choices?dashboard={mine}"),
            serde_json::Value::Null,
        )
        .await;
        assert_eq!(status, 200, "{choices}");
        assert_eq!(choices["dataset"], "orders");
        let (status, preview) = builder_call(
            &app,
            &key,
            "POST",
            "/api/v1/builder/preview",
            serde_json::json!({ "document": document, "widget": "by-plan", "dashboard_id": mine }),
        )
        .await;
        assert_eq!(status, 200, "{preview}");
        assert!(
            preview["svg"].as_str().unwrap().contains("<svg"),
            "{preview}"
        );
        assert!(
            preview["svg"].as_str().unwrap().contains("Growth"),
            "{preview}"
        );
        let mut changed = document.clone();
        changed["title"] = serde_json::json!("Sales, built by Dana");
        let (status, checked) = builder_call(
            &app,
            &key,
            "POST",
            "/api/v1/builder/check",
            serde_json::json!({ "document": changed, "previous_yaml": current["yaml"], "dashboard_id": mine }),
        )
        .await;
        assert_eq!(status, 200, "{checked}");
        let (status, saved) = builder_call(
            &app,
            &key,
            "PUT",
            &format!("/api/v1/dashboards/{mine}"),
            serde_json::json!({ "yaml": checked["yaml"], "revision": revision }),
        )
        .await;
        assert_eq!(status, 200, "{saved}");
        assert_eq!(saved["title"], "Sales, built by Dana");
        let (status, _) = builder_call(
            &app,
            &key,
            "POST",
            "/api/v1/builder/check",
            serde_json::json!({ "yaml": checked["yaml"], "dashboard_id": mine }),
        )
        .await;
        assert_eq!(status, 200);

        // Elsewhere: another dashboard is forbidden, a restricted one does not exist, and
        // without a dashboard (a new one) she is no editor.
        for (target, expected) in [
            (serde_json::json!(other), 403),
            (serde_json::json!(hidden), 404),
            (serde_json::json!(999_999), 404),
            (serde_json::Value::Null, 403),
        ] {
            let query = target
                .as_i64()
                .map_or_else(String::new, |id| format!("?dashboard={id}"));
            let calls = [
                (
                    "GET",
                    format!("/api/v1/datasets/{dataset}/choices{query}"),
                    serde_json::Value::Null,
                ),
                (
                    "POST",
                    "/api/v1/builder/preview".to_owned(),
                    serde_json::json!({ "document": document, "widget": "by-plan", "dashboard_id": target }),
                ),
                (
                    "POST",
                    "/api/v1/builder/check".to_owned(),
                    serde_json::json!({ "document": document, "dashboard_id": target }),
                ),
            ];
            for (method, path, body) in calls {
                let (status, answer) = builder_call(&app, &key, method, &path, body).await;
                assert_eq!(status, expected, "{method} {path} for {target}: {answer}");
            }
        }
        // The dataset editor's routes and starters stay with editors' roles.
        for (method, path, body) in [
            (
                "POST",
                "/api/v1/builder/starter".to_owned(),
                serde_json::json!({ "title": "Mine", "dataset_id": dataset }),
            ),
            (
                "GET",
                format!("/api/v1/datasets/{dataset}/used-by"),
                serde_json::Value::Null,
            ),
        ] {
            let (status, answer) = builder_call(&app, &key, method, &path, body).await;
            assert_eq!(status, 403, "{method} {path}: {answer}");
        }

        // The edit page gives the builder her dashboard's id, which it sends on every call.
        let (browser, _) = app.signed_in(&dana.email).await;
        let page = browser
            .get(app.url(&format!("/dashboards/{mine}/edit")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains(&format!("data-id=\"{mine}\"")), "{page}");
    }
);
