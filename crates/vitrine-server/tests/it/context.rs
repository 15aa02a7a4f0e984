//! The dashboard-context cache reuses a built context only while nothing it was built from
//! has changed: the dashboard's revision and document, its datasets and their data sources.

use std::sync::Arc;

use vitrine_app::content::{self, DatasetForm, Editor};

use crate::helpers::TestApp;
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
