//! The dashboard-context cache reuses a built context only while nothing it was built from
//! has changed: the dashboard's revision and document, its datasets and their data sources.

use std::sync::Arc;

use vitrine_app::content::{self, DatasetForm, Editor};

use crate::helpers::{TestApp, both_stores};
use crate::metrics::shared_board;

#[tokio::test]
async fn a_context_is_reused_until_its_dashboard_or_a_dataset_changes() {
    let app = TestApp::spawn().await;
    let path = shared_board(&app).await;
    let state = &app.state;
    let workspace = state.store.default_workspace().await.unwrap().unwrap();
    let record = || async {
        state
            .store
            .dashboard_by_slug(workspace.id, "board")
            .await
            .unwrap()
            .unwrap()
    };

    let first = content::dashboard_context(state, &record().await)
        .await
        .unwrap();
    let again = content::dashboard_context(state, &record().await)
        .await
        .unwrap();
    assert!(Arc::ptr_eq(&first, &again), "nothing changed: reused");

    let dataset = state
        .store
        .dataset_by_slug(workspace.id, "orders")
        .await
        .unwrap()
        .unwrap();
    let form = DatasetForm {
        data_source_id: dataset.data_source_id,
        slug: "orders".into(),
        name: "Orders".into(),
        sql: "SELECT region, amount * 2 AS amount FROM orders".into(),
    };
    content::save_dataset(state, &Editor::Cli, workspace.id, Some(dataset.id), &form)
        .await
        .unwrap();
    let edited = content::dashboard_context(state, &record().await)
        .await
        .unwrap();
    assert!(!Arc::ptr_eq(&first, &edited), "the dataset changed");
    assert_ne!(
        format!("{:?}", first.datasets["orders"].dataset),
        format!("{:?}", edited.datasets["orders"].dataset)
    );
    let page = app
        .api()
        .get(app.url(&path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(">60<"), "the view runs the edited SQL");

    let yaml = record()
        .await
        .document
        .replace("title: Board", "title: Board two");
    let board = record().await;
    content::save_dashboard(
        state,
        &Editor::Cli,
        workspace.id,
        Some(board.id),
        None,
        &yaml,
        Some(board.revision),
    )
    .await
    .unwrap();
    let retitled = content::dashboard_context(state, &record().await)
        .await
        .unwrap();
    assert_eq!(retitled.document.title, "Board two");
    assert!(retitled.revision > edited.revision);
}

// The outsider gate reads the workspace's content revision with the link and reuses the
// context built under it without reading the datasets again; a change made straight in the
// store (another instance, the command line), never seen by this process, moves the revision,
// and the very next view runs the changed dataset.
both_stores!(
    an_outsider_view_reuses_a_context_until_the_content_revision_moves,
    async {
        let app = TestApp::spawn().await;
        let path = shared_board(&app).await;
        let state = &app.state;
        let workspace = || async { state.store.default_workspace().await.unwrap().unwrap() };
        let record = state
            .store
            .dashboard_by_slug(workspace().await.id, "board")
            .await
            .unwrap()
            .unwrap();
        let page = || async {
            app.api()
                .get(app.url(&path))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        };
        assert!(page().await.contains(">30<"), "EMEA 10 + AMER 20");
        let before = workspace().await.content_revision;
        let first = content::dashboard_context_under(state, &record, Some(before))
            .await
            .unwrap();
        let again = content::dashboard_context_under(state, &record, Some(before))
            .await
            .unwrap();
        assert!(Arc::ptr_eq(&first, &again), "same revision: reused");

        let dataset = state
            .store
            .dataset_by_slug(record.workspace_id, "orders")
            .await
            .unwrap()
            .unwrap();
        state
            .store
            .update_dataset(
                dataset.id,
                vitrine_store::DatasetInput {
                    workspace_id: dataset.workspace_id,
                    data_source_id: dataset.data_source_id,
                    slug: dataset.slug.clone(),
                    name: dataset.name.clone(),
                    sql: "SELECT region, amount * 3 AS amount FROM orders".into(),
                    columns: dataset.columns.clone(),
                },
                state.now(),
            )
            .await
            .unwrap();
        let after = workspace().await.content_revision;
        assert!(after > before, "the store's triggers moved the revision");
        let changed = content::dashboard_context_under(state, &record, Some(after))
            .await
            .unwrap();
        assert!(
            !Arc::ptr_eq(&first, &changed),
            "a new revision reads the datasets"
        );
        assert!(
            format!("{:?}", changed.datasets["orders"].dataset).contains("amount * 3"),
            "the changed SQL"
        );
        assert!(
            page().await.contains(">90<"),
            "the next view runs the changed SQL"
        );
        // Unchanged since: reused again, under the new revision.
        let still = content::dashboard_context_under(state, &record, Some(after))
            .await
            .unwrap();
        assert!(Arc::ptr_eq(&changed, &still));
    }
);

// The gate reads a dashboard's id, status and revision with the link, not its document, and
// reuses the context kept for that id and revision under the same content revision. SQLite
// gives a deleted dashboard's id to the next one created, at revision 1 again: deleting a
// dashboard moves the content revision (migration 0014), so a link to the new dashboard shows
// the new dashboard, never the context kept for the deleted one; and its cards are drawn for
// the new document (a drawn card's key holds the document's fingerprint), never taken from
// the deleted one's widgets of the same id. The delete and the create go straight to the
// store, as another instance or the command line would make them.
both_stores!(
    a_dashboard_created_in_place_of_a_deleted_one_is_never_served_its_context,
    async {
        let app = TestApp::spawn().await;
        let app = &app;
        let path = shared_board(app).await;
        let state = &app.state;
        let page = |path: String| async move {
            app.api()
                .get(app.url(&path))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        };
        let first = page(path.clone()).await;
        assert!(first.contains(">30<") && first.contains("Revenue by region"));
        let workspace = state.store.default_workspace().await.unwrap().unwrap();
        let old = state
            .store
            .dashboard_by_slug(workspace.id, "board")
            .await
            .unwrap()
            .unwrap();
        state
            .store
            .delete_dashboard(workspace.id, old.id)
            .await
            .unwrap();
        let yaml = crate::metrics::BOARD
            .replace("title: Board", "title: Replacement")
            .replace("title: Revenue by region", "title: Orders by region");
        let new = state
            .store
            .create_dashboard(
                vitrine_store::DashboardInput {
                    workspace_id: workspace.id,
                    slug: "board".into(),
                    title: "Replacement".into(),
                    status: "published".into(),
                    document: yaml,
                },
                None,
                state.now(),
            )
            .await
            .unwrap();
        assert_eq!(new.revision, old.revision, "both at their first revision");
        let owner = app
            .member(
                "owner@example.com",
                vitrine_core::member::Role::Admin,
                Default::default(),
            )
            .await;
        let key = app.api_key(&owner).await;
        let link: serde_json::Value = app
            .api()
            .post(app.url("/api/v1/links"))
            .bearer_auth(&key)
            .json(&serde_json::json!({
                "dashboard_id": new.id.0, "label": "Replacement", "expiry": { "kind": "never" }
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let url = link["url"].as_str().expect("a link");
        let shown = page(url[url.find("/share/").unwrap()..].to_owned()).await;
        assert!(
            shown.contains("Orders by region") && !shown.contains("Revenue by region"),
            "the new dashboard (id {} where the deleted one had {}), not the deleted one's context",
            new.id.0,
            old.id.0
        );
        let gone = app.api().get(app.url(&path)).send().await.unwrap();
        assert_eq!(
            gone.status(),
            404,
            "the deleted dashboard's link went with it"
        );
    }
);
