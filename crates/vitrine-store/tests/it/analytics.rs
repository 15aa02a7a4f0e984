//! Access analytics: the rollups written with each event equal a full re-aggregation of the
//! raw log, survive its pruning, and count unique visitors without keeping an address; the
//! audit trail pages and filters.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use time::{Duration, OffsetDateTime};
use vitrine_core::id::WorkspaceId;
use vitrine_store::*;

use crate::harness::TestDb;

const T0: OffsetDateTime = time::macros::datetime!(2026-11-01 00:00:00 UTC);
const OUTCOMES: [&str; 8] = [
    "unlocked",
    "ok",
    "ok",
    "ok",
    "bad_password",
    "rate_limited",
    "expired",
    "export_pdf",
];
const COUNTRIES: [Option<&str>; 3] = [None, Some("NL"), Some("BR")];
const CLASSES: [&str; 3] = ["desktop", "mobile", "bot"];

/// One generated event: (minutes after the previous one, link, outcome, country, class, client).
type Gen = (i64, usize, usize, usize, usize, usize);

fn stream() -> impl Strategy<Value = Vec<Gen>> {
    proptest::collection::vec(
        (
            0i64..900,
            0usize..4,
            0..OUTCOMES.len(),
            0..3usize,
            0..3usize,
            0..4usize,
        ),
        0..60,
    )
}

/// Everything the rollups should say, computed from the events alone.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    daily: BTreeMap<String, BTreeSet<DailyCount>>,
    totals: BTreeMap<String, AccessTotals>,
}

fn reaggregate(events: &[AccessEvent]) -> Expected {
    let mut counts: BTreeMap<(String, i64, String, String), i64> = BTreeMap::new();
    let mut visitors: BTreeMap<(String, i64), BTreeSet<(String, String)>> = BTreeMap::new();
    let mut totals: BTreeMap<String, AccessTotals> = BTreeMap::new();
    for e in events {
        let Some(link) = &e.link_id else { continue };
        let day = utc_day(e.at);
        let class = OutcomeClass::of(&e.outcome);
        *counts
            .entry((link.clone(), day, "outcome".into(), e.outcome.clone()))
            .or_default() += 1;
        let t = totals.entry(link.clone()).or_insert_with(|| AccessTotals {
            link_id: link.clone(),
            ..AccessTotals::default()
        });
        match class {
            OutcomeClass::View => {
                *counts
                    .entry((
                        link.clone(),
                        day,
                        "country".into(),
                        e.country.clone().unwrap_or_default(),
                    ))
                    .or_default() += 1;
                *counts
                    .entry((link.clone(), day, "client".into(), e.client_class.clone()))
                    .or_default() += 1;
                visitors
                    .entry((link.clone(), day))
                    .or_default()
                    .insert((e.client.clone(), e.client_class.clone()));
                t.views += 1;
                t.first_view_at = Some(t.first_view_at.map_or(e.at, |f| f.min(e.at)));
                t.last_view_at = Some(t.last_view_at.map_or(e.at, |l| l.max(e.at)));
            }
            OutcomeClass::Download => {
                t.downloads += 1;
                t.last_download_at = Some(e.at);
            }
            OutcomeClass::Unlock => {}
            OutcomeClass::Refusal => {
                t.refusals += 1;
                t.last_refused_at = Some(e.at);
                t.last_refused_outcome = Some(e.outcome.clone());
            }
        }
    }
    for ((link, day), set) in visitors {
        counts.insert(
            (link, day, "uniques".into(), String::new()),
            set.len() as i64,
        );
    }
    let mut daily: BTreeMap<String, BTreeSet<DailyCount>> = BTreeMap::new();
    for ((link, day, kind, name), count) in counts {
        daily.entry(link).or_default().insert(DailyCount {
            day,
            kind,
            name,
            count,
        });
    }
    Expected { daily, totals }
}

async fn read_back(store: &dyn Store, ws: WorkspaceId, links: &[String]) -> Expected {
    let mut out = Expected::default();
    for link in links {
        let rows = store
            .access_daily(link, i64::MIN / 2, i64::MAX / 2)
            .await
            .unwrap();
        if !rows.is_empty() {
            out.daily
                .insert(link.clone(), rows.into_iter().collect::<BTreeSet<_>>());
        }
    }
    for t in store.workspace_access_totals(ws).await.unwrap() {
        if links.contains(&t.link_id) {
            out.totals.insert(t.link_id.clone(), t);
        }
    }
    out
}

/// The property, on one store: every case gets fresh link ids and starts after the previous
/// case's last event (time only moves forward, as it does for a server).
fn rollups_equal_reaggregation(db: &TestDb, rt: &tokio::runtime::Runtime) {
    let store = &*db.store;
    let ws = rt.block_on(store.create_workspace("Acme", T0)).unwrap();
    let case = Cell::new(0u32);
    let clock = Cell::new(T0);
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    runner
        .run(&stream(), |gens| {
            case.set(case.get() + 1);
            let links: Vec<String> = (0..4).map(|i| format!("c{}-l{i}", case.get())).collect();
            let mut at = clock.get() + Duration::days(1);
            let mut events = Vec::new();
            for (step, link, outcome, country, class, client) in gens {
                at += Duration::minutes(step);
                // Link 3 stands for requests with no link (unknown tokens).
                let link_id = (link < 3).then(|| links[link].clone());
                events.push(AccessEvent {
                    workspace_id: link_id.as_ref().map(|_| ws.id),
                    link_id,
                    at,
                    outcome: OUTCOMES[outcome].into(),
                    country: COUNTRIES[country].map(str::to_owned),
                    client_class: CLASSES[class].into(),
                    client: format!("client-{client}"),
                    viewer: None,
                });
            }
            clock.set(at);
            let expected = reaggregate(&events);
            rt.block_on(async {
                // Every other case writes its events in group commits (`record_accesses`) of
                // 1 to 7 events, every sixth as one batch of all of them (the batch's rollups
                // are summed before they are written): the rollups must come out the same
                // either way.
                if case.get().is_multiple_of(2) {
                    let size = if case.get().is_multiple_of(6) {
                        events.len().max(1)
                    } else {
                        case.get() as usize % 7 + 1
                    };
                    for batch in events.chunks(size) {
                        store.record_accesses(batch).await.unwrap();
                    }
                } else {
                    for e in &events {
                        store.record_access(e).await.unwrap();
                    }
                }
                let got = read_back(store, ws.id, &links).await;
                prop_assert_eq!(&got, &expected);
                // The raw log holds every event of a link, in the order they were written.
                for link in &links {
                    let mut logged = store.access_events(link, 10_000).await.unwrap();
                    logged.reverse();
                    let sent: Vec<&AccessEvent> = events
                        .iter()
                        .filter(|e| e.link_id.as_ref() == Some(link))
                        .collect();
                    prop_assert_eq!(logged.iter().collect::<Vec<_>>(), sent);
                }
                // Pruning the raw log leaves the rollups as they were.
                store
                    .prune_access_events(at + Duration::days(1))
                    .await
                    .unwrap();
                let after = read_back(store, ws.id, &links).await;
                prop_assert_eq!(&after, &expected);
                Ok(())
            })
        })
        .unwrap();
}

#[test]
fn rollups_equal_a_full_reaggregation_sqlite() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDb::sqlite());
    rollups_equal_reaggregation(&db, &rt);
    rt.block_on(db.finish());
}

#[test]
fn rollups_equal_a_full_reaggregation_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(db) = rt.block_on(TestDb::postgres(
        "analytics::rollups_equal_a_full_reaggregation_postgres",
    )) else {
        return;
    };
    rollups_equal_reaggregation(&db, &rt);
    rt.block_on(db.finish());
}

fn view(ws: WorkspaceId, link: &str, at: OffsetDateTime, client: &str, class: &str) -> AccessEvent {
    AccessEvent {
        workspace_id: Some(ws),
        link_id: Some(link.into()),
        at,
        outcome: "ok".into(),
        country: Some("NL".into()),
        client_class: class.into(),
        client: client.into(),
        viewer: None,
    }
}

fn uniques(rows: &[DailyCount], day: i64) -> i64 {
    rows.iter()
        .find(|r| r.day == day && r.kind == "uniques")
        .map_or(0, |r| r.count)
}

/// Every text cell of the analytics tables, read directly from the database.
async fn analytics_cells(pool: &sqlx::SqlitePool) -> Vec<String> {
    let mut cells = Vec::new();
    for sql in [
        "SELECT link_id || '|' || day || '|' || kind || '|' || name FROM access_daily",
        "SELECT link_id || '|' || COALESCE(last_refused_outcome, '') FROM access_totals",
        "SELECT day || '|' || key FROM visitor_day_keys",
        "SELECT link_id || '|' || day || '|' || visitor FROM visitor_day_hashes",
    ] {
        let rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(pool).await.unwrap();
        cells.extend(rows);
    }
    cells
}

#[tokio::test]
async fn unique_visitors_are_counted_without_keeping_an_address() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("v.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let ws = store.create_workspace("Acme", T0).await.unwrap();
    // What the app passes as `client` is already a keyed hash of the address; use a value that
    // looks like an address to make a leak obvious.
    let (ana, bob) = ("203.0.113.7", "198.51.100.9");
    let day0 = utc_day(T0);
    for (minutes, who, class) in [
        (60, ana, "desktop"),
        (61, ana, "desktop"),
        (62, bob, "desktop"),
        (63, ana, "mobile"),
    ] {
        store
            .record_access(&view(
                ws.id,
                "L",
                T0 + Duration::minutes(minutes),
                who,
                class,
            ))
            .await
            .unwrap();
    }
    let rows = store.access_daily("L", day0, day0).await.unwrap();
    assert_eq!(
        uniques(&rows, day0),
        3,
        "the same client twice is one; another client, or the same address on another class \
         of device, is another"
    );
    let cells = analytics_cells(store.pool()).await;
    assert!(
        cells.iter().any(|c| c.starts_with("L|")),
        "rows were read: {cells:?}"
    );
    for cell in &cells {
        assert!(
            !cell.contains(ana) && !cell.contains(bob),
            "no address in analytics rows: {cell}"
        );
    }
    let hashes: Vec<String> = sqlx::query_scalar("SELECT visitor FROM visitor_day_hashes")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(hashes.len(), 3);

    // The next day: a new key, and yesterday's key and hashes are gone; the same client is
    // counted again (visitors cannot be linked across days), yesterday's count stays.
    let next = T0 + Duration::days(1) + Duration::hours(2);
    store
        .record_access(&view(ws.id, "L", next, ana, "desktop"))
        .await
        .unwrap();
    let keys: Vec<i64> = sqlx::query_scalar("SELECT day FROM visitor_day_keys WHERE key <> ''")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(keys, [day0 + 1], "only today's key is kept");
    let days: Vec<i64> = sqlx::query_scalar("SELECT DISTINCT day FROM visitor_day_hashes")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(days, [day0 + 1], "yesterday's hash set died with its key");
    let rows = store.access_daily("L", day0, day0 + 1).await.unwrap();
    assert_eq!((uniques(&rows, day0), uniques(&rows, day0 + 1)), (3, 1));

    // The retention task discards today's key once the day is over, even with no visitor.
    assert_eq!(store.discard_visitor_days(day0 + 2).await.unwrap(), 1);
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM visitor_day_keys WHERE key <> '') \
         + (SELECT COUNT(*) FROM visitor_day_hashes)",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(left, 0);
    // A late event for a day whose key is gone counts as a view, not as a new visitor.
    store
        .record_access(&view(
            ws.id,
            "L",
            T0 + Duration::hours(5),
            "late",
            "desktop",
        ))
        .await
        .unwrap();
    let rows = store.access_daily("L", day0, day0).await.unwrap();
    assert_eq!(uniques(&rows, day0), 3);
    let totals = store.access_totals("L").await.unwrap().unwrap();
    assert_eq!(totals.views, 6);
    assert_eq!(totals.first_view_at, Some(T0 + Duration::minutes(60)));
    assert_eq!(totals.last_view_at, Some(next));
    store.close().await;
}

/// The audit trail finds one action among many by each filter, and keyset paging returns
/// every row exactly once (rows sharing a timestamp included).
async fn audit_trail_filters_and_pages(store: &dyn Store, n: usize) {
    let ws = store.create_workspace("Acme", T0).await.unwrap();
    let other = store.create_workspace("Other", T0).await.unwrap();
    let actions = [
        "link.created",
        "link.disabled",
        "dashboard.updated",
        "member.invited",
    ];
    let targets = ["link:a", "link:b", "dashboard:1", "member:2"];
    let mut batch = Vec::with_capacity(n);
    for i in 0..n {
        batch.push(NewAuditEvent {
            workspace_id: ws.id,
            event: AuditEvent {
                // Several rows per millisecond: paging must break ties by id.
                at: T0 + Duration::milliseconds((i / 3) as i64),
                actor_id: None,
                actor: format!("m{}@acme.test", i % 7),
                action: actions[i % 4].into(),
                target: targets[i % 4].into(),
                detail: "{}".into(),
            },
        });
    }
    bulk_audit(store, batch).await;
    let needle_at = T0 + Duration::days(30);
    store
        .record_audit(NewAuditEvent {
            workspace_id: ws.id,
            event: AuditEvent {
                at: needle_at,
                actor_id: None,
                actor: "ana@acme.test".into(),
                action: "link.rotated".into(),
                target: "link_secret:zz".into(),
                detail: r#"{"label":"Board"}"#.into(),
            },
        })
        .await
        .unwrap();
    store
        .record_audit(NewAuditEvent {
            workspace_id: other.id,
            event: AuditEvent {
                at: needle_at,
                actor_id: None,
                actor: "ana@acme.test".into(),
                action: "link.rotated".into(),
                target: "link_secret:zz".into(),
                detail: "{}".into(),
            },
        })
        .await
        .unwrap();
    let base = AuditQuery {
        workspace: ws.id,
        actor: None,
        action: None,
        target_type: None,
        target: None,
        target_id: None,
        since: None,
        until: None,
        after: None,
        limit: 50,
    };
    let only_needle = |q: AuditQuery| async move {
        let found = store.audit_page(&q).await.unwrap();
        assert_eq!(found.len(), 1, "{q:?}");
        assert_eq!(found[0].event.action, "link.rotated");
    };
    only_needle(AuditQuery {
        actor: Some("ana@acme.test".into()),
        ..base.clone()
    })
    .await;
    only_needle(AuditQuery {
        action: Some("link.rotated".into()),
        ..base.clone()
    })
    .await;
    only_needle(AuditQuery {
        target_type: Some("link_secret".into()),
        ..base.clone()
    })
    .await;
    only_needle(AuditQuery {
        target: Some("link_secret:zz".into()),
        ..base.clone()
    })
    .await;
    only_needle(AuditQuery {
        target_id: Some("zz".into()),
        ..base.clone()
    })
    .await;
    only_needle(AuditQuery {
        since: Some(needle_at),
        until: Some(needle_at + Duration::seconds(1)),
        ..base.clone()
    })
    .await;
    // `link` must not match `link_secret:` (the `_` is escaped, not a wildcard).
    let links = store
        .audit_page(&AuditQuery {
            target_type: Some("link".into()),
            limit: i64::MAX,
            ..base.clone()
        })
        .await
        .unwrap();
    assert_eq!(links.len(), n.div_ceil(4) + (n + 2) / 4);

    let mut seen = BTreeSet::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = store
            .audit_page(&AuditQuery {
                after,
                limit: 997,
                ..base.clone()
            })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(Cursor {
            at: last.event.at,
            id: last.id,
        });
        for entry in &page {
            assert!(seen.insert(entry.id), "row {} returned twice", entry.id);
        }
        pages += 1;
    }
    assert_eq!(
        seen.len(),
        n + 1,
        "every row exactly once over {pages} pages"
    );
}

/// Writes many audit rows in a few statements (the test's set-up, not the API).
async fn bulk_audit(store: &dyn Store, batch: Vec<NewAuditEvent>) {
    for chunk in batch.chunks(500) {
        futures_util::future::try_join_all(chunk.iter().cloned().map(|e| store.record_audit(e)))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn audit_trail_finds_one_among_100000_and_pages_each_row_once_sqlite() {
    let db = TestDb::sqlite().await;
    audit_trail_filters_and_pages(&*db.store, 100_000).await;
    db.finish().await;
}

#[tokio::test]
async fn audit_trail_finds_one_among_100000_and_pages_each_row_once_postgres() {
    let Some(db) = TestDb::postgres(
        "analytics::audit_trail_finds_one_among_100000_and_pages_each_row_once_postgres",
    )
    .await
    else {
        return;
    };
    audit_trail_filters_and_pages(&*db.store, 100_000).await;
    db.finish().await;
}

/// Many views written at once — the first of a new day among them — lose no count and count
/// each visitor once.
async fn concurrent_views_lose_nothing(store: &dyn Store) {
    let ws = store.create_workspace("Acme", T0).await.unwrap();
    // Yesterday's key exists, so the burst also races to make today's.
    store
        .record_access(&view(ws.id, "L", T0 - Duration::hours(1), "x", "desktop"))
        .await
        .unwrap();
    let at = T0 + Duration::hours(3);
    let writes = (0..120).map(|i| {
        let e = view(ws.id, "L", at, &format!("client-{}", i % 12), "desktop");
        async move { store.record_access(&e).await }
    });
    futures_util::future::try_join_all(writes).await.unwrap();
    let day = utc_day(at);
    let rows = store.access_daily("L", day, day).await.unwrap();
    let count = |kind: &str| {
        rows.iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.count)
            .sum::<i64>()
    };
    assert_eq!(count("outcome"), 120);
    assert_eq!(count("uniques"), 12);
    assert_eq!(store.access_totals("L").await.unwrap().unwrap().views, 121);
}

crate::story!(concurrent_views_lose_nothing);
