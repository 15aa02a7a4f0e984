//! Per-dashboard access: a person invited to one dashboard sees that dashboard and nothing
//! else — every other dashboard is 404 on every route (pages, widgets, live, exports, API).

use vitrine_core::member::{Permissions, Role};

use crate::helpers::{PASSWORD, PgDatabase, TestApp, hidden_field};
use crate::links::{DASHBOARD, shared_dashboard};

pub async fn second_dashboard(app: &TestApp, key: &str, title: &str, status: &str) -> i64 {
    let yaml = DASHBOARD
        .replace("title: Sales", &format!("title: {title}"))
        .replace("status: published", &format!("status: {status}"));
    let saved: serde_json::Value = app
        .api()
        .post(app.url("/api/v1/dashboards"))
        .bearer_auth(key)
        .json(&serde_json::json!({ "yaml": yaml }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    saved["id"].as_i64().expect("created")
}

pub async fn accept_link(app: &TestApp) -> String {
    let ws = app
        .state
        .store
        .default_workspace()
        .await
        .unwrap()
        .unwrap()
        .id;
    let mails = app.state.store.mails(ws, 1).await.unwrap();
    let text = &mails[0].body_text;
    let start = text.find(&app.base).unwrap();
    let rest = &text[start..];
    rest[..rest.find(char::is_whitespace).unwrap()].to_owned()
}

#[tokio::test]
async fn a_person_invited_to_one_dashboard_sees_exactly_that_dashboard() {
    invited_to_one_dashboard(None).await;
}

#[tokio::test]
async fn a_person_invited_to_one_dashboard_sees_exactly_that_dashboard_on_postgres() {
    let Some(db) = PgDatabase::create(
        "a_person_invited_to_one_dashboard_sees_exactly_that_dashboard_on_postgres",
    )
    .await
    else {
        return;
    };
    invited_to_one_dashboard(Some(db.url.clone())).await;
    db.drop_now().await;
}

async fn invited_to_one_dashboard(database_url: Option<String>) {
    let app = TestApp::spawn_with(|c| c.database_url = database_url).await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    let sales = shared_dashboard(&app, &key).await;
    let secret = second_dashboard(&app, &key, "Secret plans", "published").await;
    let draft = second_dashboard(&app, &key, "Draft board", "draft").await;

    let (browser, csrf) = app.signed_in(&admin.email).await;
    // A draft cannot be given to people.
    let refused = browser
        .post(app.url(&format!("/dashboards/{draft}/people")))
        .form(&[
            ("emails", "x@client.test"),
            ("right", "viewer"),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let invited = browser
        .post(app.url(&format!("/dashboards/{sales}/people")))
        .form(&[
            ("emails", "guest@client.test"),
            ("right", "viewer"),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(invited.status(), 303);
    let panel = browser
        .get(app.url(&format!("/dashboards/{sales}/people")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(panel.contains("guest@client.test") && panel.contains("Pending invitations"));

    let link = accept_link(&app).await;
    let guest = app.browser();
    let page = guest.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Sales"), "{page}");
    let csrf = hidden_field(&page, "csrf_token").unwrap();
    let accepted = guest
        .post(&link)
        .form(&[
            ("name", "Guest"),
            ("password", PASSWORD),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 303);

    let home = guest
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("Sales"));
    assert!(!home.contains("Secret plans") && !home.contains("Draft board"));
    assert_eq!(
        guest
            .get(app.url(&format!("/dashboards/{sales}")))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    for other in [secret, draft, 999_999] {
        for path in [
            format!("/dashboards/{other}"),
            format!("/dashboards/{other}/widgets/by-plan"),
            format!("/dashboards/{other}/live"),
            format!("/dashboards/{other}/export.pdf"),
            format!("/dashboards/{other}/widgets/by-plan/export.csv"),
            format!("/api/v1/dashboards/{other}"),
            format!("/api/v1/dashboards/{other}/export.pdf"),
        ] {
            let status = guest.get(app.url(&path)).send().await.unwrap().status();
            assert_eq!(status, 404, "{path}");
        }
    }
    // The API, with the guest's own key.
    let member = app
        .state
        .store
        .member_by_email("guest@client.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(member.role, Role::Viewer);
    let guest_key = app.api_key(&member).await;
    let list: serde_json::Value = app
        .api()
        .get(app.url("/api/v1/dashboards"))
        .bearer_auth(&guest_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [sales]);
    let csv = app
        .api()
        .get(app.url(&format!(
            "/api/v1/dashboards/{sales}/widgets/by-plan/export.csv"
        )))
        .bearer_auth(&guest_key)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let other = app
        .api()
        .get(app.url(&format!(
            "/api/v1/dashboards/{secret}/widgets/by-plan/export.csv"
        )))
        .bearer_auth(&guest_key)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    // The guest cannot invite others, nor open the people panel.
    let panel = guest
        .get(app.url(&format!("/dashboards/{sales}/people")))
        .send()
        .await
        .unwrap();
    assert_eq!(panel.status(), 403);

    // The people panel shows who has it; a workspace viewer still sees every published one.
    let panel = browser
        .get(app.url(&format!("/dashboards/{sales}/people")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(panel.contains("guest@client.test") && panel.contains("viewer"));
    app.member("viewer@example.com", Role::Viewer, Permissions::default())
        .await;
    let (viewer, _) = app.signed_in("viewer@example.com").await;
    let home = viewer
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("Sales") && home.contains("Secret plans"));
    assert!(!home.contains("Draft board"));
}

#[tokio::test]
async fn the_draft_badge_publishes_for_editors_only_and_pages_offer_a_permalink() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let key = app.api_key(&admin).await;
    shared_dashboard(&app, &key).await;
    let draft = second_dashboard(&app, &key, "Draft board", "draft").await;
    app.member("viewer@example.com", Role::Viewer, Permissions::default())
        .await;
    let (viewer, viewer_csrf) = app.signed_in("viewer@example.com").await;
    assert_eq!(
        viewer
            .get(app.url(&format!("/dashboards/{draft}")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // A viewer cannot publish.
    let refused = viewer
        .post(app.url(&format!("/dashboards/{draft}/publish")))
        .form(&[("csrf_token", viewer_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(refused.status() == 403 || refused.status() == 404);

    let (browser, csrf) = app.signed_in(&admin.email).await;
    let page = browser
        .get(app.url(&format!("/dashboards/{draft}?f.region=EMEA")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("action=\"/dashboards/{draft}/publish\"")),
        "{page}"
    );
    assert!(page.contains("data-copy-location") && page.contains("Copy permalink"));
    let published = browser
        .post(app.url(&format!("/dashboards/{draft}/publish")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), 303);
    let page = browser
        .get(app.url(&format!("/dashboards/{draft}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("/publish\""));
    // Now every member sees it; a permalink with filters opens for a member with access.
    let opened = viewer
        .get(app.url(&format!("/dashboards/{draft}?f.region=EMEA")))
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    // And nobody without an account.
    let anonymous = app
        .browser()
        .get(app.url(&format!("/dashboards/{draft}?f.region=EMEA")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303);
    let audit = app
        .state
        .store
        .audit_events(admin.workspace_id, 5)
        .await
        .unwrap();
    assert_eq!(audit[0].action, "dashboard.updated");
}
