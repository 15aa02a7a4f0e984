//! A refresher or a link guard that dies — here by a panic, the way a bad date once killed
//! them — leaves the hub (issue 10, finding 2): its streams see the channel close instead of
//! hanging, and the map does not grow with dead entries.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use time::OffsetDateTime;
use time::macros::datetime;
use vitrine_core::clock::Clock;
use vitrine_core::keys::ServerKey;
use vitrine_store::LinkRecord;

use crate::content::{self, Editor};
use crate::hub::Target;
use crate::{App, Config};

const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

/// A clock that panics once tripped: the tasks ask it the time as they run.
#[derive(Debug, Default)]
struct TripClock {
    tripped: AtomicBool,
}

impl Clock for TripClock {
    fn now(&self) -> OffsetDateTime {
        assert!(
            !self.tripped.load(Ordering::SeqCst),
            "a live task asked a tripped clock"
        );
        NOW
    }
}

async fn app(dir: &tempfile::TempDir, clock: Arc<TripClock>) -> App {
    let url = format!("sqlite://{}", dir.path().join("vitrine.db").display());
    let store = vitrine_store::open(&url).await.unwrap();
    store.create_workspace("Acme", NOW).await.unwrap();
    App::new(store, clock, Config::default(), ServerKey::generate())
}

/// Waits until every sender of `rx`'s channel is gone (the task and its hub entry), or fails.
async fn until_closed<T>(mut rx: tokio::sync::watch::Receiver<T>, what: &str) {
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        while rx.changed().await.is_ok() {}
    })
    .await;
    assert!(
        closed.is_ok(),
        "the {what}'s channel stays open after its task died: its entry was left in the hub"
    );
}

#[tokio::test]
async fn a_refresher_that_panics_leaves_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(TripClock::default());
    let app = app(&dir, clock.clone()).await;
    let workspace = app.store.default_workspace().await.unwrap().unwrap();
    let yaml = "version: 1\ntitle: Notes\nwidgets:\n  - id: notes\n    kind: text\n    layout: {x: 0, y: 0, w: 12, h: 1}\n    options: {markdown: \"Hello\"}\n";
    let record = content::save_dashboard(&app, &Editor::Cli, workspace.id, None, None, yaml, None)
        .await
        .unwrap();
    clock.tripped.store(true, Ordering::SeqCst);
    let target = Target {
        workspace_id: workspace.id,
        dashboard_id: record.id,
        revision: record.revision,
        view: crate::dashboards::parse_view_query(
            &vitrine_core::dashboard::Dashboard::from_yaml(yaml).unwrap(),
            "",
        ),
        restrictions: crate::dashboards::Restrictions::none(),
        only_widget: None,
    };
    let rx = crate::live::watch_view(&app, target);
    assert_eq!(app.live.refreshers(), 1);
    until_closed(rx, "refresher").await;
    assert_eq!(app.live.refreshers(), 0);
}

#[tokio::test]
async fn a_link_guard_that_panics_leaves_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(TripClock::default());
    let app = app(&dir, clock.clone()).await;
    let workspace = app.store.default_workspace().await.unwrap().unwrap();
    let link = LinkRecord {
        id: "AAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        workspace_id: workspace.id,
        dashboard_id: vitrine_core::id::DashboardId(1),
        widget_id: None,
        label: "Board".to_owned(),
        enabled: true,
        generation: 1,
        epoch: 1,
        short_digest: String::new(),
        // The guard compares the expiry with the clock on its first tick.
        expires_at: Some(NOW + time::Duration::days(1)),
        deleted_at: None,
        password_hash: None,
        settings: "{}".to_owned(),
        created_by: None,
        created_at: NOW,
        updated_at: NOW,
        view_count: 0,
    };
    clock.tripped.store(true, Ordering::SeqCst);
    let rx = crate::live::watch_link(&app, &link);
    assert_eq!(app.live.guards(), 1);
    until_closed(rx, "link guard").await;
    assert_eq!(app.live.guards(), 0);
}
