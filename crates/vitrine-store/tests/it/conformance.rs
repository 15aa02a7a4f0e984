//! The conformance suite: the same stories on every backend.

use time::Duration;
use time::macros::datetime;
use vitrine_core::id::{ApiKeyId, MemberId};
use vitrine_core::member::{Permissions, Role};
use vitrine_store::*;

use crate::story;

const T0: time::OffsetDateTime = datetime!(2026-11-23 10:00:00.123 UTC);

fn new_member(ws: &Workspace, email: &str, role: Role) -> NewMember {
    NewMember {
        workspace_id: ws.id,
        email: email.to_owned(),
        name: email.split('@').next().unwrap().to_owned(),
        role,
        flags: Permissions::default(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        must_change_password: false,
    }
}

story!(workspaces_and_members);
async fn workspaces_and_members(store: &dyn Store) {
    store.migrate().await.expect("migrating twice is a no-op");
    assert!(store.default_workspace().await.unwrap().is_none());
    let ws = store.create_workspace("Acme", T0).await.unwrap();
    let other = store.create_workspace("Other", T0).await.unwrap();
    assert_eq!(store.default_workspace().await.unwrap().unwrap(), ws);
    assert_eq!(
        store.workspace(ws.id).await.unwrap().unwrap().created_at,
        T0
    );

    let ada = store
        .create_member(new_member(&ws, "ada@acme.test", Role::Admin), T0)
        .await
        .unwrap();
    assert_eq!(ada.role, Role::Admin);
    assert_eq!(ada.created_at, T0, "timestamps keep millisecond precision");
    let duplicate = store
        .create_member(new_member(&other, "ada@acme.test", Role::Viewer), T0)
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );

    let mut bob = new_member(&ws, "bob@acme.test", Role::Editor);
    bob.flags.share_public = true;
    bob.must_change_password = true;
    let bob = store.create_member(bob, T0).await.unwrap();
    assert!(bob.flags.share_public && !bob.flags.embed);
    assert!(bob.must_change_password);
    store
        .create_member(new_member(&other, "eve@other.test", Role::Admin), T0)
        .await
        .unwrap();

    let listed: Vec<String> = store
        .members(ws.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.email)
        .collect();
    assert_eq!(
        listed,
        ["ada@acme.test", "bob@acme.test"],
        "only this workspace, by name"
    );
    assert_eq!(
        store
            .member_by_email("bob@acme.test")
            .await
            .unwrap()
            .unwrap()
            .id,
        bob.id
    );
    assert!(
        store
            .member_by_email("nobody@acme.test")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.member(MemberId(999_999)).await.unwrap().is_none());

    let flags = Permissions {
        embed: true,
        manage_members: true,
        share_public: false,
        manage_data_sources: true,
    };
    let bob2 = store
        .update_member_access(bob.id, Role::Admin, flags)
        .await
        .unwrap();
    assert_eq!((bob2.role, bob2.flags), (Role::Admin, flags));
    store
        .update_member_access(ada.id, Role::Viewer, Permissions::default())
        .await
        .unwrap();
    let last = store
        .update_member_access(bob.id, Role::Editor, flags)
        .await;
    assert!(
        matches!(last, Err(StoreError::Conflict(_))),
        "the last admin cannot be demoted"
    );
    assert_eq!(
        store.member(bob.id).await.unwrap().unwrap().role,
        Role::Admin,
        "rolled back"
    );
    assert!(matches!(
        store.delete_member(bob.id).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        store.member(bob.id).await.unwrap().is_some(),
        "the last admin is still there"
    );
    assert!(matches!(
        store
            .update_member_access(MemberId(999_999), Role::Viewer, flags)
            .await,
        Err(StoreError::NotFound)
    ));

    store
        .set_member_password(bob.id, "$argon2id$new", false)
        .await
        .unwrap();
    let bob3 = store.member(bob.id).await.unwrap().unwrap();
    assert_eq!(bob3.password_hash, "$argon2id$new");
    assert!(!bob3.must_change_password);
    assert!(matches!(
        store
            .set_member_password(MemberId(999_999), "x", false)
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .touch_member_login(bob.id, T0 + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        store.member(bob.id).await.unwrap().unwrap().last_login_at,
        Some(T0 + Duration::hours(1))
    );

    store.delete_member(ada.id).await.unwrap();
    assert!(store.member(ada.id).await.unwrap().is_none());
    assert!(matches!(
        store.delete_member(ada.id).await,
        Err(StoreError::NotFound)
    ));
    store.ping().await.unwrap();
}

story!(sessions_expire_and_end);
async fn sessions_expire_and_end(store: &dyn Store) {
    let ws = store.create_workspace("Acme", T0).await.unwrap();
    let admin = store
        .create_member(new_member(&ws, "a@acme.test", Role::Admin), T0)
        .await
        .unwrap();
    let viewer = store
        .create_member(new_member(&ws, "v@acme.test", Role::Viewer), T0)
        .await
        .unwrap();
    for (digest, member) in [("d1", admin.id), ("d2", admin.id), ("d3", viewer.id)] {
        store
            .create_session(NewSession {
                digest: digest.into(),
                member_id: member,
                created_at: T0,
                expires_at: T0 + Duration::hours(1),
            })
            .await
            .unwrap();
    }
    let (session, member) = store.session("d1", T0).await.unwrap().unwrap();
    assert_eq!(member.id, admin.id);
    assert_eq!(session.expires_at, T0 + Duration::hours(1));
    assert!(store.session("nope", T0).await.unwrap().is_none());
    assert!(
        store
            .session("d1", T0 + Duration::hours(1))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );

    store.delete_session("d1").await.unwrap();
    assert!(store.session("d1", T0).await.unwrap().is_none());
    assert_eq!(store.delete_member_sessions(admin.id).await.unwrap(), 1);
    assert!(store.session("d2", T0).await.unwrap().is_none());

    store.delete_member(viewer.id).await.unwrap();
    assert!(
        store.session("d3", T0).await.unwrap().is_none(),
        "sessions go with the member"
    );
    store
        .create_session(NewSession {
            digest: "d4".into(),
            member_id: admin.id,
            created_at: T0,
            expires_at: T0 + Duration::minutes(1),
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .purge_expired_sessions(T0 + Duration::minutes(2))
            .await
            .unwrap(),
        1
    );
}

story!(api_keys_are_found_by_digest_and_revoked);
async fn api_keys_are_found_by_digest_and_revoked(store: &dyn Store) {
    let ws = store.create_workspace("Acme", T0).await.unwrap();
    let other = store.create_workspace("Other", T0).await.unwrap();
    let admin = store
        .create_member(new_member(&ws, "a@acme.test", Role::Admin), T0)
        .await
        .unwrap();
    let key = |name: &str, digest: &str| NewApiKey {
        workspace_id: ws.id,
        member_id: admin.id,
        name: name.into(),
        prefix: format!("vtk_{name}"),
        digest: digest.into(),
    };
    let first = store.create_api_key(key("one", "k1"), T0).await.unwrap();
    let second = store
        .create_api_key(key("two", "k2"), T0 + Duration::seconds(1))
        .await
        .unwrap();
    assert!(first.revoked_at.is_none() && first.last_used_at.is_none());
    assert!(matches!(
        store.create_api_key(key("dup", "k1"), T0).await,
        Err(StoreError::Conflict(_))
    ));

    let (found, member) = store.api_key_by_digest("k2").await.unwrap().unwrap();
    assert_eq!((found.id, member.id), (second.id, admin.id));
    assert!(store.api_key_by_digest("k9").await.unwrap().is_none());
    let names: Vec<String> = store
        .api_keys(ws.id)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(names, ["two", "one"], "newest first");
    assert!(store.api_keys(other.id).await.unwrap().is_empty());

    store
        .touch_api_key(first.id, T0 + Duration::minutes(5))
        .await
        .unwrap();
    assert!(
        !store.revoke_api_key(other.id, first.id, T0).await.unwrap(),
        "not across workspaces"
    );
    assert!(
        store
            .revoke_api_key(ws.id, first.id, T0 + Duration::hours(1))
            .await
            .unwrap()
    );
    assert!(
        !store.revoke_api_key(ws.id, first.id, T0).await.unwrap(),
        "already revoked"
    );
    assert!(
        !store
            .revoke_api_key(ws.id, ApiKeyId(999_999), T0)
            .await
            .unwrap()
    );
    let (revoked, _) = store.api_key_by_digest("k1").await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(T0 + Duration::hours(1)));
    assert_eq!(revoked.last_used_at, Some(T0 + Duration::minutes(5)));
}

fn limit(scope: &str, max: i64, minutes: i64) -> AttemptLimit {
    AttemptLimit {
        scope: scope.into(),
        max,
        window: Duration::minutes(minutes),
        pace: None,
    }
}

async fn reserve(
    store: &dyn Store,
    limits: &[AttemptLimit],
    at: time::OffsetDateTime,
) -> Reservation {
    store.reserve_attempt(limits, at).await.unwrap()
}

async fn granted(
    store: &dyn Store,
    limits: &[AttemptLimit],
    at: time::OffsetDateTime,
) -> AttemptId {
    match reserve(store, limits, at).await {
        Reservation::Granted(id) => id,
        other => panic!("refused at {at}: {other:?}"),
    }
}

story!(attempts_are_reserved_before_they_are_evaluated);
async fn attempts_are_reserved_before_they_are_evaluated(store: &dyn Store) {
    let client = limit("login:client:c1", 2, 15);
    let account = limit("login:account:ada", 3, 15);
    let both = [client.clone(), account.clone()];
    let first = granted(store, &both, T0).await;
    let second = granted(store, &both, T0 + Duration::minutes(1)).await;
    assert_eq!(
        store
            .count_attempts("login:client:c1", T0 - Duration::minutes(15))
            .await
            .unwrap(),
        2,
        "pending attempts count: the next concurrent one cannot slip through"
    );
    store
        .finish_attempt(first, AttemptOutcome::Failed)
        .await
        .unwrap();
    assert_eq!(
        reserve(store, &both, T0 + Duration::minutes(2)).await,
        Reservation::Refused {
            scope: "login:client:c1".into(),
            retry_at: T0 + Duration::minutes(15),
        },
        "full: it opens again when the oldest counted attempt leaves the window"
    );
    assert_eq!(
        store
            .count_attempts("login:account:ada", T0 - Duration::minutes(15))
            .await
            .unwrap(),
        2,
        "a refused reservation records nothing, under any scope"
    );
    store
        .finish_attempt(second, AttemptOutcome::Succeeded)
        .await
        .unwrap();
    let third = granted(store, &both, T0 + Duration::minutes(3)).await;
    store
        .finish_attempt(third, AttemptOutcome::Failed)
        .await
        .unwrap();
    assert!(matches!(
        reserve(store, &both, T0 + Duration::minutes(4)).await,
        Reservation::Refused { .. }
    ));
    // Another client on the same account fills the account's limit.
    let other = [limit("login:client:c2", 5, 15), account.clone()];
    let fourth = granted(store, &other, T0 + Duration::minutes(5)).await;
    store
        .finish_attempt(fourth, AttemptOutcome::Failed)
        .await
        .unwrap();
    assert_eq!(
        reserve(store, &other, T0 + Duration::minutes(6)).await,
        Reservation::Refused {
            scope: "login:account:ada".into(),
            retry_at: T0 + Duration::minutes(15),
        }
    );
    // The window moves on: at T0 + 15 min the first failure no longer counts.
    assert_eq!(
        reserve(
            store,
            &both,
            T0 + Duration::minutes(15) - Duration::milliseconds(1)
        )
        .await,
        Reservation::Refused {
            scope: "login:account:ada".into(),
            retry_at: T0 + Duration::minutes(15),
        },
        "a millisecond before, both limits are still full"
    );
    let fifth = granted(store, &other, T0 + Duration::minutes(15)).await;
    // Abandoned (never evaluated): gone from every scope.
    store
        .finish_attempt(fifth, AttemptOutcome::Abandoned)
        .await
        .unwrap();
    assert_eq!(
        store.count_attempts("login:client:c2", T0).await.unwrap(),
        1
    );
    assert!(matches!(
        store.finish_attempt(fifth, AttemptOutcome::Failed).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .purge_attempts(T0 + Duration::minutes(4))
            .await
            .unwrap(),
        6,
        "three reservations before minute 4, two rows each"
    );
    assert_eq!(
        store.count_attempts("login:client:c1", T0).await.unwrap(),
        0
    );
}

story!(a_reservation_refused_by_two_limits_waits_for_the_later);
async fn a_reservation_refused_by_two_limits_waits_for_the_later(store: &dyn Store) {
    let short = limit("a", 1, 10);
    let long = limit("b", 1, 20);
    let id = granted(store, &[short.clone(), long.clone()], T0).await;
    store
        .finish_attempt(id, AttemptOutcome::Failed)
        .await
        .unwrap();
    assert_eq!(
        reserve(store, &[long, short], T0 + Duration::minutes(1)).await,
        Reservation::Refused {
            scope: "a".into(),
            retry_at: T0 + Duration::minutes(20),
        }
    );
}

story!(a_paced_ceiling_slows_attempts_instead_of_refusing_them);
async fn a_paced_ceiling_slows_attempts_instead_of_refusing_them(store: &dyn Store) {
    let link = AttemptLimit {
        pace: Some(Pace {
            max: 1,
            per: Duration::seconds(2),
        }),
        ..limit("unlock:L", 3, 15)
    };
    for second in 0..3 {
        let id = granted(
            store,
            std::slice::from_ref(&link),
            T0 + Duration::seconds(second),
        )
        .await;
        store
            .finish_attempt(id, AttemptOutcome::Failed)
            .await
            .unwrap();
    }
    assert_eq!(
        reserve(
            store,
            std::slice::from_ref(&link),
            T0 + Duration::milliseconds(2_500)
        )
        .await,
        Reservation::Refused {
            scope: "unlock:L".into(),
            retry_at: T0 + Duration::seconds(4),
        },
        "past the ceiling: one attempt per two seconds, not a 15-minute lock-out"
    );
    let paced = granted(
        store,
        std::slice::from_ref(&link),
        T0 + Duration::seconds(4),
    )
    .await;
    assert!(matches!(
        reserve(store, std::slice::from_ref(&link), T0 + Duration::seconds(5)).await,
        Reservation::Refused { retry_at, .. } if retry_at == T0 + Duration::seconds(6)
    ));
    store
        .finish_attempt(paced, AttemptOutcome::Succeeded)
        .await
        .unwrap();
    granted(
        store,
        std::slice::from_ref(&link),
        T0 + Duration::seconds(5),
    )
    .await;
}

story!(concurrent_reservations_never_exceed_the_limit);
async fn concurrent_reservations_never_exceed_the_limit(store: &dyn Store) {
    let limits = [
        limit("unlock:L:client:c1", 5, 15),
        limit("unlock:L", 50, 15),
    ];
    // Open the pool's connections first, so the reservations below really run side by side.
    futures_util::future::join_all((0..30).map(|_| store.ping())).await;
    let results =
        futures_util::future::join_all((0..30).map(|_| store.reserve_attempt(&limits, T0))).await;
    let granted = results
        .iter()
        .filter(|r| matches!(r, Ok(Reservation::Granted(_))))
        .count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Ok(Reservation::Refused { .. })))
        .count();
    assert_eq!((granted, refused), (5, 25), "{results:?}");
    assert_eq!(
        store
            .count_attempts("unlock:L", T0 - Duration::minutes(15))
            .await
            .unwrap(),
        5
    );
}

story!(the_access_log_is_pruned_by_age);
async fn the_access_log_is_pruned_by_age(store: &dyn Store) {
    for minutes in [0, 10, 20] {
        store
            .record_access(&AccessEvent {
                workspace_id: None,
                link_id: Some("L".into()),
                at: T0 + Duration::minutes(minutes),
                outcome: "ok".into(),
                country: None,
                client_class: "other".into(),
                client: "c".into(),
                viewer: None,
            })
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .prune_access_events(T0 + Duration::minutes(10))
            .await
            .unwrap(),
        1,
        "strictly older only"
    );
    let left: Vec<_> = store
        .access_events("L", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.at)
        .collect();
    assert_eq!(
        left,
        [T0 + Duration::minutes(20), T0 + Duration::minutes(10)]
    );
}

story!(the_audit_trail_lists_newest_first);
async fn the_audit_trail_lists_newest_first(store: &dyn Store) {
    let ws = store.create_workspace("Acme", T0).await.unwrap();
    let other = store.create_workspace("Other", T0).await.unwrap();
    for (i, action) in ["member.invited", "api_key.created", "member.removed"]
        .iter()
        .enumerate()
    {
        store
            .record_audit(NewAuditEvent {
                workspace_id: ws.id,
                event: AuditEvent {
                    at: T0 + Duration::seconds(i as i64),
                    actor_id: None,
                    actor: "cli".into(),
                    action: (*action).into(),
                    target: format!("member:{i}"),
                    detail: "{}".into(),
                },
            })
            .await
            .unwrap();
    }
    let events = store.audit_events(ws.id, 2).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["member.removed", "api_key.created"]);
    assert_eq!(events[0].at, T0 + Duration::seconds(2));
    assert!(store.audit_events(other.id, 10).await.unwrap().is_empty());
}

story!(data_sources_datasets_and_dashboards);
async fn data_sources_datasets_and_dashboards(store: &dyn Store) {
    use vitrine_core::id::{DashboardId, DataSourceId};
    let ws = store.create_workspace("Acme", T0).await.unwrap();
    let other = store.create_workspace("Other", T0).await.unwrap();
    let source = |name: &str| DataSourceInput {
        workspace_id: ws.id,
        name: name.into(),
        kind: "postgres".into(),
        display: "postgres://u:***@db/sales".into(),
        sealed_config: "sealed".into(),
    };
    let warehouse = store
        .create_data_source(source("Warehouse"), T0)
        .await
        .unwrap();
    assert_eq!(warehouse.revision, 1);
    assert!(matches!(
        store.create_data_source(source("Warehouse"), T0).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        store
            .data_source(other.id, warehouse.id)
            .await
            .unwrap()
            .is_none(),
        "not across workspaces"
    );
    let changed = store
        .update_data_source(
            warehouse.id,
            DataSourceInput {
                sealed_config: "resealed".into(),
                ..source("Warehouse")
            },
            T0 + Duration::minutes(1),
        )
        .await
        .unwrap();
    assert_eq!(
        (changed.revision, changed.sealed_config.as_str()),
        (2, "resealed")
    );
    assert!(matches!(
        store
            .update_data_source(DataSourceId(999_999), source("X"), T0)
            .await,
        Err(StoreError::NotFound)
    ));

    let dataset = |slug: &str| DatasetInput {
        workspace_id: ws.id,
        data_source_id: warehouse.id,
        slug: slug.into(),
        name: slug.to_uppercase(),
        sql: "SELECT 1 AS one".into(),
        columns: r#"[{"name":"one","kind":"integer"}]"#.into(),
    };
    let signups = store.create_dataset(dataset("signups"), T0).await.unwrap();
    store.create_dataset(dataset("revenue"), T0).await.unwrap();
    assert!(matches!(
        store.create_dataset(dataset("signups"), T0).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store
            .dataset_by_slug(ws.id, "signups")
            .await
            .unwrap()
            .unwrap()
            .id,
        signups.id
    );
    assert!(
        store
            .dataset_by_slug(other.id, "signups")
            .await
            .unwrap()
            .is_none()
    );
    let names: Vec<String> = store
        .datasets(ws.id)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.slug)
        .collect();
    assert_eq!(names, ["revenue", "signups"]);
    // A dashboard view's one query: the named datasets that exist, each with its source, as
    // the reads one by one say; nothing from another workspace.
    let slugs = [
        "signups".to_owned(),
        "missing".to_owned(),
        "revenue".to_owned(),
    ];
    let found = store.datasets_with_sources(ws.id, &slugs).await.unwrap();
    assert_eq!(found.len(), 2);
    for (dataset, source) in &found {
        assert_eq!(
            Some(dataset),
            store
                .dataset_by_slug(ws.id, &dataset.slug)
                .await
                .unwrap()
                .as_ref()
        );
        assert_eq!(
            source.as_ref(),
            store
                .data_source(ws.id, warehouse.id)
                .await
                .unwrap()
                .as_ref()
        );
    }
    assert!(
        store
            .datasets_with_sources(other.id, &slugs)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .datasets_with_sources(ws.id, &[])
            .await
            .unwrap()
            .is_empty()
    );
    let updated = store
        .update_dataset(
            signups.id,
            DatasetInput {
                sql: "SELECT 2 AS one".into(),
                ..dataset("signups")
            },
            T0,
        )
        .await
        .unwrap();
    assert_eq!(
        (updated.revision, updated.sql.as_str()),
        (2, "SELECT 2 AS one")
    );
    let refused = store.delete_data_source(ws.id, warehouse.id).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "a data source with datasets stays: {refused:?}"
    );

    let board = |slug: &str, title: &str| DashboardInput {
        workspace_id: ws.id,
        slug: slug.into(),
        title: title.into(),
        status: "draft".into(),
        document: format!("version: 1\ntitle: {title}\n"),
    };
    let exec = store
        .create_dashboard(board("exec", "Executive"), None, T0)
        .await
        .unwrap();
    store
        .create_dashboard(board("board", "Board pack"), None, T0)
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_dashboard(board("exec", "Again"), None, T0)
            .await,
        Err(StoreError::Conflict(_))
    ));
    let titles: Vec<String> = store
        .dashboards(ws.id)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.title)
        .collect();
    assert_eq!(titles, ["Board pack", "Executive"]);
    let v2 = store
        .update_dashboard(
            exec.id,
            DashboardInput {
                status: "published".into(),
                ..board("exec", "Executive")
            },
            Some(1),
            T0,
        )
        .await
        .unwrap();
    assert_eq!((v2.revision, v2.status.as_str()), (2, "published"));
    let stale = store
        .update_dashboard(exec.id, board("exec", "Stale"), Some(1), T0)
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    assert_eq!(
        store
            .dashboard(ws.id, exec.id)
            .await
            .unwrap()
            .unwrap()
            .title,
        "Executive",
        "no lost update"
    );
    store
        .update_dashboard(exec.id, board("exec", "Forced"), None, T0)
        .await
        .unwrap();
    assert_eq!(
        store
            .dashboard_by_slug(ws.id, "exec")
            .await
            .unwrap()
            .unwrap()
            .revision,
        3
    );
    assert!(matches!(
        store
            .update_dashboard(DashboardId(999_999), board("x", "X"), None, T0)
            .await,
        Err(StoreError::NotFound)
    ));
    store.delete_dashboard(ws.id, exec.id).await.unwrap();
    assert!(store.dashboard(ws.id, exec.id).await.unwrap().is_none());
    assert!(matches!(
        store.delete_dashboard(other.id, exec.id).await,
        Err(StoreError::NotFound)
    ));

    for d in store.datasets(ws.id).await.unwrap() {
        store.delete_dataset(ws.id, d.id).await.unwrap();
    }
    store.delete_data_source(ws.id, warehouse.id).await.unwrap();
    assert!(store.data_sources(ws.id).await.unwrap().is_empty());
}

story!(share_links_access_events_and_policy);
async fn share_links_access_events_and_policy(store: &dyn Store) {
    let ws = store.create_workspace("Acme", T0).await.unwrap();
    assert_eq!(ws.policy, LinkPolicy::default());
    assert!(ws.suspended_at.is_none());
    let policy = LinkPolicy {
        public_links_allowed: false,
        max_link_days: Some(90),
        password_required: true,
        contact_line: "Questions? finance@acme.test".into(),
        footer: "Acme analytics".into(),
    };
    store.set_link_policy(ws.id, &policy).await.unwrap();
    store.set_suspended(ws.id, Some(T0)).await.unwrap();
    let again = store.workspace(ws.id).await.unwrap().unwrap();
    assert_eq!((again.policy, again.suspended_at), (policy, Some(T0)));
    store.set_suspended(ws.id, None).await.unwrap();
    assert!(
        store
            .workspace(ws.id)
            .await
            .unwrap()
            .unwrap()
            .suspended_at
            .is_none()
    );

    let board = |slug: &str| DashboardInput {
        workspace_id: ws.id,
        slug: slug.into(),
        title: slug.into(),
        status: "published".into(),
        document: "version: 1".into(),
    };
    let a = store.create_dashboard(board("a"), None, T0).await.unwrap();
    let b = store.create_dashboard(board("b"), None, T0).await.unwrap();
    let link = |id: &str, dashboard, minutes: i64| LinkRecord {
        id: id.into(),
        workspace_id: ws.id,
        dashboard_id: dashboard,
        widget_id: None,
        label: format!("Link {id}"),
        enabled: true,
        generation: 1,
        epoch: 1,
        short_digest: format!("digest-{id}"),
        expires_at: Some(T0 + Duration::days(14)),
        deleted_at: None,
        password_hash: None,
        settings: "{}".into(),
        created_by: None,
        created_at: T0 + Duration::minutes(minutes),
        updated_at: T0 + Duration::minutes(minutes),
        view_count: 0,
    };
    store.create_link(&link("one", a.id, 0)).await.unwrap();
    store.create_link(&link("two", a.id, 1)).await.unwrap();
    store.create_link(&link("three", b.id, 2)).await.unwrap();
    assert!(matches!(
        store.create_link(&link("one", a.id, 0)).await,
        Err(StoreError::Conflict(_))
    ));
    // The outsider gate's one query says what the three reads one by one say.
    let (gate_link, gate_ws, gate_board) = store.link_gate("two").await.unwrap().unwrap();
    assert_eq!(gate_link, store.link("two").await.unwrap().unwrap());
    assert_eq!(gate_ws, store.workspace(ws.id).await.unwrap());
    let board_now = store.dashboard(ws.id, a.id).await.unwrap();
    assert_eq!(gate_board, board_now.as_ref().map(DashboardHead::of));
    assert!(gate_ws.is_some() && gate_board.is_some());
    assert!(store.link_gate("nope").await.unwrap().is_none());
    let ids = |links: Vec<LinkRecord>| links.into_iter().map(|l| l.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.links(ws.id, None).await.unwrap()),
        ["three", "two", "one"]
    );
    assert_eq!(
        ids(store.links(ws.id, Some(a.id)).await.unwrap()),
        ["two", "one"]
    );

    let mut rotated = store.link("one").await.unwrap().unwrap();
    assert_eq!(rotated, link("one", a.id, 0));
    rotated.generation = 2;
    rotated.epoch = 2;
    rotated.short_digest = "digest-one-2".into();
    rotated.enabled = false;
    rotated.password_hash = Some("$argon2id$x".into());
    rotated.widget_id = Some("revenue".into());
    rotated.deleted_at = Some(T0 + Duration::hours(1));
    rotated.updated_at = T0 + Duration::hours(1);
    store.save_link(&rotated).await.unwrap();
    assert_eq!(store.link("one").await.unwrap().unwrap(), rotated);
    assert!(
        store
            .link_by_short_digest("digest-one")
            .await
            .unwrap()
            .is_none(),
        "the old short code is gone"
    );
    assert_eq!(
        store
            .link_by_short_digest("digest-one-2")
            .await
            .unwrap()
            .unwrap()
            .id,
        "one"
    );
    assert!(store.link("nope").await.unwrap().is_none());
    assert!(matches!(
        store.save_link(&link("nope", a.id, 0)).await,
        Err(StoreError::NotFound)
    ));

    let event = |link: Option<&str>, minutes: i64, outcome: &str, client: &str| AccessEvent {
        workspace_id: link.map(|_| ws.id),
        link_id: link.map(str::to_owned),
        at: T0 + Duration::minutes(minutes),
        outcome: outcome.into(),
        country: Some("NL".into()),
        client_class: "desktop".into(),
        client: client.into(),
        viewer: None,
    };
    for e in [
        event(Some("two"), 0, "ok", "c1"),
        event(Some("two"), 1, "ok", "c2"),
        event(Some("two"), 2, "bad_password", "c1"),
        event(Some("two"), 3, "bad_password", "c1"),
        event(Some("two"), 4, "bad_password", "c2"),
        event(Some("three"), 5, "expired", "c1"),
        event(None, 6, "not_found", "c3"),
    ] {
        store.record_access(&e).await.unwrap();
    }
    assert_eq!(
        store
            .count_access("two", "bad_password", None, T0)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        store
            .count_access("two", "bad_password", Some("c1"), T0)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .count_access("two", "bad_password", Some("c1"), T0 + Duration::minutes(3))
            .await
            .unwrap(),
        1
    );
    let recent = store.access_events("two", 2).await.unwrap();
    assert_eq!(
        recent
            .iter()
            .map(|e| e.outcome.as_str())
            .collect::<Vec<_>>(),
        ["bad_password", "bad_password"]
    );
    assert_eq!(recent[0].at, T0 + Duration::minutes(4));
    let mut stats = store.link_stats(ws.id).await.unwrap();
    stats.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(stats.len(), 2);
    assert_eq!(
        stats[0],
        (
            "three".to_owned(),
            LinkStats {
                views: 0,
                last_access_at: Some(T0 + Duration::minutes(5)),
                last_view_at: None,
                last_refused_at: Some(T0 + Duration::minutes(5)),
            }
        )
    );
    assert_eq!(
        stats[1],
        (
            "two".to_owned(),
            LinkStats {
                views: 2,
                last_access_at: Some(T0 + Duration::minutes(4)),
                last_view_at: Some(T0 + Duration::minutes(1)),
                last_refused_at: Some(T0 + Duration::minutes(4)),
            }
        )
    );

    store.delete_dashboard(ws.id, b.id).await.unwrap();
    assert!(
        store.link("three").await.unwrap().is_none(),
        "a deleted dashboard takes its links"
    );
    assert_eq!(
        store.access_events("three", 10).await.unwrap().len(),
        1,
        "history stays"
    );
}

story!(link_views_are_counted_atomically_up_to_the_limit);
async fn link_views_are_counted_atomically_up_to_the_limit(store: &dyn Store) {
    let ws = store.create_workspace("Acme", T0).await.unwrap();
    let board = store
        .create_dashboard(
            DashboardInput {
                workspace_id: ws.id,
                slug: "board".into(),
                title: "Board".into(),
                status: "published".into(),
                document: "version: 1".into(),
            },
            None,
            T0,
        )
        .await
        .unwrap();
    let link = LinkRecord {
        id: "limited".into(),
        workspace_id: ws.id,
        dashboard_id: board.id,
        widget_id: None,
        label: "Board".into(),
        enabled: true,
        generation: 1,
        epoch: 1,
        short_digest: "digest-limited".into(),
        expires_at: None,
        deleted_at: None,
        password_hash: None,
        settings: "{}".into(),
        created_by: None,
        created_at: T0,
        updated_at: T0,
        view_count: 0,
    };
    store.create_link(&link).await.unwrap();
    // Twenty simultaneous views of a link limited to five: exactly five are admitted.
    let attempts = (0..20).map(|_| store.count_link_view("limited", Some(5)));
    let admitted: Vec<i64> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .filter_map(Result::unwrap)
        .collect();
    let mut counts = admitted.clone();
    counts.sort_unstable();
    assert_eq!(
        counts,
        [1, 2, 3, 4, 5],
        "each admitted view has its own number"
    );
    assert_eq!(store.link("limited").await.unwrap().unwrap().view_count, 5);
    assert_eq!(
        store.count_link_view("limited", Some(5)).await.unwrap(),
        None
    );
    // A higher limit (the owner raised it) admits again; no limit always counts.
    assert_eq!(
        store.count_link_view("limited", Some(6)).await.unwrap(),
        Some(6)
    );
    assert_eq!(
        store.count_link_view("limited", None).await.unwrap(),
        Some(7)
    );
    assert_eq!(store.count_link_view("nope", None).await.unwrap(), None);
    // Saving the link's other fields leaves the count alone.
    let mut saved = store.link("limited").await.unwrap().unwrap();
    saved.label = "Board pack".into();
    saved.view_count = 0;
    store.save_link(&saved).await.unwrap();
    assert_eq!(store.link("limited").await.unwrap().unwrap().view_count, 7);
}

story!(the_change_feed_reaches_listeners);
async fn the_change_feed_reaches_listeners(store: &dyn Store) {
    match store.backend() {
        Backend::Sqlite => {
            // One instance per file: no feed, and publishing is harmless.
            assert!(store.listen_changes().await.unwrap().is_none());
            store.publish_change("link:abc").await.unwrap();
        }
        Backend::Postgres => {
            let mut first = store.listen_changes().await.unwrap().expect("a feed");
            let mut second = store.listen_changes().await.unwrap().expect("a feed");
            store.publish_change("link:abc").await.unwrap();
            store.publish_change("workspace:7").await.unwrap();
            for listener in [&mut first, &mut second] {
                for expected in ["link:abc", "workspace:7"] {
                    let got =
                        tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv())
                            .await
                            .expect("a notification within 5 s")
                            .unwrap();
                    assert_eq!(got, Change::Payload(expected.to_owned()));
                }
            }
        }
    }
}

story!(report_slots_are_claimed_once_and_deliveries_retried_alone);
async fn report_slots_are_claimed_once_and_deliveries_retried_alone(store: &dyn Store) {
    let ws = store.create_workspace("Acme", T0).await.unwrap();
    let owner = store
        .create_member(new_member(&ws, "owner@acme.test", Role::Admin), T0)
        .await
        .unwrap();
    let board = store
        .create_dashboard(
            DashboardInput {
                workspace_id: ws.id,
                slug: "sales".into(),
                title: "Sales".into(),
                status: "published".into(),
                document: "version: 1\ntitle: Sales\n".into(),
            },
            Some(owner.id),
            T0,
        )
        .await
        .unwrap();
    let slot = datetime!(2026-11-24 08:00 UTC);
    let new = NewReportSchedule {
        workspace_id: ws.id,
        dashboard_id: board.id,
        widget_id: None,
        name: "Morning".into(),
        frequency: r#"{"kind":"daily","at":"09:00"}"#.into(),
        zone: "Europe/Berlin".into(),
        recipients: "[]".into(),
        contents: "{}".into(),
        filters: "{}".into(),
        skip_when_empty: false,
        enabled: true,
        created_by: Some(owner.id),
        next_slot: Some(slot),
    };
    let id = store.create_report_schedule(&new, T0).await.unwrap();
    assert!(store.due_report_schedules(T0).await.unwrap().is_empty());
    let due = store.due_report_schedules(slot).await.unwrap();
    assert_eq!(due.len(), 1);
    let schedule = &due[0];
    assert_eq!(schedule.id, id);
    assert_eq!(schedule.created_by, Some(owner.id));

    // Eight concurrent claims of one slot: exactly one run.
    let lease = slot + Duration::minutes(10);
    let claims =
        futures_util::future::join_all((0..8).map(|_| {
            store.claim_report_slot(schedule, slot, RunOrigin::Schedule, false, slot, lease)
        }))
        .await;
    let won: Vec<i64> = claims.into_iter().filter_map(|c| c.unwrap()).collect();
    assert_eq!(won.len(), 1, "one claim wins");
    let run = won[0];
    store
        .advance_report_schedule(id, Some(slot + Duration::days(1)))
        .await
        .unwrap();
    // A slower instance cannot move it back.
    store.advance_report_schedule(id, Some(slot)).await.unwrap();
    assert!(store.due_report_schedules(slot).await.unwrap().is_empty());

    let recipients =
        ["a@acme.test", "b@acme.test", "c@acme.test"].map(|t| ("email".to_owned(), t.to_owned()));
    store
        .finish_report_render(
            run,
            &[ReportArtifact {
                name: "sales.pdf".into(),
                mime: "application/pdf".into(),
                content: b"%PDF-1.7 \x00\xff".to_vec(),
            }],
            &recipients,
            slot,
        )
        .await
        .unwrap();
    assert_eq!(
        store.report_artifacts(run).await.unwrap()[0].content,
        b"%PDF-1.7 \x00\xff"
    );
    let claimed = store
        .claim_report_deliveries(slot, lease, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    assert!(
        store
            .claim_report_deliveries(slot, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    for d in &claimed {
        let outcome = if d.target == "b@acme.test" {
            MailOutcome::Retry {
                error: "450 mailbox busy".into(),
                next_attempt_at: slot + Duration::minutes(1),
            }
        } else {
            MailOutcome::Sent {
                response: "250 ok".into(),
            }
        };
        assert!(
            store
                .finish_report_delivery(d.id, d.attempts, outcome, slot)
                .await
                .unwrap()
        );
    }
    assert_eq!(
        store.complete_report_runs(slot).await.unwrap(),
        0,
        "one still queued"
    );
    // Only the failed one comes back.
    let again = store
        .claim_report_deliveries(slot + Duration::minutes(1), lease, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].target.as_str(), again[0].attempts),
        ("b@acme.test", 2)
    );
    assert!(
        store
            .finish_report_delivery(
                again[0].id,
                again[0].attempts,
                MailOutcome::Failed {
                    error: "550 no such user".into()
                },
                slot
            )
            .await
            .unwrap()
    );
    assert_eq!(store.complete_report_runs(slot).await.unwrap(), 1);
    let runs = store.report_runs(id, 10).await.unwrap();
    assert_eq!(runs[0].state, RunState::Done);
    let deliveries = store.report_deliveries(run).await.unwrap();
    let states: Vec<(&str, MailState, i64)> = deliveries
        .iter()
        .map(|d| (d.target.as_str(), d.state, d.attempts))
        .collect();
    assert_eq!(
        states,
        vec![
            ("a@acme.test", MailState::Sent, 1),
            ("b@acme.test", MailState::Failed, 2),
            ("c@acme.test", MailState::Sent, 1),
        ]
    );
    assert_eq!(
        deliveries[1].last_error.as_deref(),
        Some("550 no such user")
    );

    // A run stuck rendering past its lease is marked failed.
    let next = slot + Duration::days(1);
    let stuck = store
        .claim_report_slot(
            schedule,
            next,
            RunOrigin::Schedule,
            true,
            next,
            next + Duration::minutes(10),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .fail_stuck_report_runs(next + Duration::minutes(5))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .fail_stuck_report_runs(next + Duration::minutes(11))
            .await
            .unwrap(),
        1
    );
    let stuck = store.report_run(stuck).await.unwrap().unwrap();
    assert_eq!((stuck.state, stuck.late), (RunState::Failed, true));

    // Pausing, and deleting with everything under it.
    store
        .set_report_schedule_enabled(id, false, Some("creator lost access"), next)
        .await
        .unwrap();
    let paused = store.report_schedule(ws.id, id).await.unwrap().unwrap();
    assert!(!paused.enabled);
    assert_eq!(paused.paused_reason.as_deref(), Some("creator lost access"));
    assert!(
        store
            .due_report_schedules(next + Duration::days(9))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .report_schedules(ws.id, Some(board.id))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(store.delete_report_schedule(ws.id, id).await.unwrap());
    assert!(store.report_run(run).await.unwrap().is_none());
}

story!(embeddings_and_guest_grants);
async fn embeddings_and_guest_grants(store: &dyn Store) {
    let ws = store.create_workspace("Acme", T0).await.unwrap();
    let other = store.create_workspace("Other", T0).await.unwrap();
    let admin = store
        .create_member(new_member(&ws, "a@acme.test", Role::Admin), T0)
        .await
        .unwrap();
    let board = store
        .create_dashboard(
            DashboardInput {
                workspace_id: ws.id,
                slug: "usage".into(),
                title: "Usage".into(),
                status: "published".into(),
                document: "version: 1".into(),
            },
            None,
            T0,
        )
        .await
        .unwrap();
    let embedding = EmbeddingRecord {
        id: "00000000-0000-4000-8000-000000000001".into(),
        workspace_id: ws.id,
        dashboard_id: board.id,
        enabled: true,
        settings: r#"{"allowed_origins":["https://portal.test"]}"#.into(),
        created_by: Some(admin.id),
        created_at: T0,
        updated_at: T0,
    };
    store.create_embedding(&embedding).await.unwrap();
    let twice = EmbeddingRecord {
        id: "00000000-0000-4000-8000-000000000002".into(),
        ..embedding.clone()
    };
    assert!(
        matches!(
            store.create_embedding(&twice).await,
            Err(StoreError::Conflict(_))
        ),
        "one embedding per dashboard"
    );
    assert_eq!(
        store.embedding(&embedding.id).await.unwrap().unwrap(),
        embedding
    );
    assert_eq!(
        store
            .embedding_of_dashboard(ws.id, board.id)
            .await
            .unwrap()
            .unwrap()
            .id,
        embedding.id
    );
    let off = EmbeddingRecord {
        enabled: false,
        updated_at: T0 + Duration::minutes(1),
        ..embedding.clone()
    };
    store.save_embedding(&off).await.unwrap();
    assert!(
        !store
            .embedding(&embedding.id)
            .await
            .unwrap()
            .unwrap()
            .enabled
    );

    let key = store
        .create_api_key(
            NewApiKey {
                workspace_id: ws.id,
                member_id: admin.id,
                name: "host".into(),
                prefix: "vtk_host".into(),
                digest: "kh".into(),
            },
            T0,
        )
        .await
        .unwrap();
    let grant = |id: &str, minutes: i64, key: Option<ApiKeyId>| GuestGrantRecord {
        id: id.into(),
        workspace_id: ws.id,
        embedding_id: embedding.id.clone(),
        rules: r#"[{"column":"customer_id","op":"=","value":"A"}]"#.into(),
        user_info: r#"{"username":"ann"}"#.into(),
        username: "ann".into(),
        api_key_id: key,
        created_at: T0,
        expires_at: T0 + Duration::minutes(minutes),
        revoked_at: None,
    };
    store
        .create_grant(&grant("g1", 5, Some(key.id)))
        .await
        .unwrap();
    store.create_grant(&grant("g2", 5, None)).await.unwrap();
    store.create_grant(&grant("g3", 1, None)).await.unwrap();
    let found = store.grant("g1").await.unwrap().unwrap();
    assert_eq!(found.grant, grant("g1", 5, Some(key.id)));
    assert!(found.key_live);
    assert!(
        store.grant("g2").await.unwrap().unwrap().key_live,
        "minted by a session"
    );
    assert!(store.grant("nope").await.unwrap().is_none());
    // Dies with its key.
    store
        .revoke_api_key(ws.id, key.id, T0 + Duration::seconds(1))
        .await
        .unwrap();
    assert!(!store.grant("g1").await.unwrap().unwrap().key_live);
    // Revoked one by one, only in its workspace, only while live.
    assert!(
        store
            .revoke_grant(other.id, "g2", T0)
            .await
            .unwrap()
            .is_none()
    );
    let revoked = store.revoke_grant(ws.id, "g2", T0).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(T0));
    assert!(store.revoke_grant(ws.id, "g2", T0).await.unwrap().is_none());
    assert!(
        store
            .revoke_grant(ws.id, "g3", T0 + Duration::minutes(2))
            .await
            .unwrap()
            .is_none(),
        "an expired grant is not live"
    );
    let live: Vec<String> = store
        .live_grants(&embedding.id, T0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.grant.id)
        .collect();
    assert_eq!(live.len(), 2, "{live:?}");
    assert_eq!(
        store.revoke_grants(ws.id, &embedding.id, T0).await.unwrap(),
        2
    );
    assert!(
        store
            .live_grants(&embedding.id, T0, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Embedded views in the access log, with the grant and the username.
    store
        .record_embed_access(&EmbedAccess {
            event: AccessEvent {
                workspace_id: Some(ws.id),
                link_id: Some(embedding.id.clone()),
                at: T0,
                outcome: "ok".into(),
                country: None,
                client_class: "desktop".into(),
                client: "c".into(),
                viewer: None,
            },
            grant_id: Some("g1".into()),
            username: Some("ann".into()),
        })
        .await
        .unwrap();
    let events = store.embed_access_events(&embedding.id, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].grant_id.as_deref(), events[0].username.as_deref()),
        (Some("g1"), Some("ann"))
    );
    // Deleting the embedding takes its grants with it; deleting the dashboard, the embedding.
    assert!(store.delete_embedding(ws.id, &embedding.id).await.unwrap());
    assert!(store.grant("g1").await.unwrap().is_none());
    assert!(!store.delete_embedding(ws.id, &embedding.id).await.unwrap());
}

story!(view_codes_are_used_once_and_viewers_are_listed);
async fn view_codes_are_used_once_and_viewers_are_listed(store: &dyn Store) {
    let ws = store.create_workspace("Acme", T0).await.unwrap();
    let board = store
        .create_dashboard(
            DashboardInput {
                workspace_id: ws.id,
                slug: "board".into(),
                title: "Board".into(),
                status: "published".into(),
                document: "version: 1".into(),
            },
            None,
            T0,
        )
        .await
        .unwrap();
    let link = |id: &str| LinkRecord {
        id: id.into(),
        workspace_id: ws.id,
        dashboard_id: board.id,
        widget_id: None,
        label: id.into(),
        enabled: true,
        generation: 1,
        epoch: 1,
        short_digest: format!("digest-{id}"),
        expires_at: None,
        deleted_at: None,
        password_hash: None,
        settings: "{}".into(),
        created_by: None,
        created_at: T0,
        updated_at: T0,
        view_count: 0,
    };
    store.create_link(&link("L")).await.unwrap();
    store.create_link(&link("M")).await.unwrap();
    let code = |link: &str, address: &str, hash: &str, minutes: i64| NewViewCode {
        link_id: link.into(),
        address_key: address.into(),
        code_hash: hash.into(),
        expires_at: T0 + Duration::minutes(minutes),
    };
    let consume = |link: &'static str, address: &'static str, hash: &'static str, at| async move {
        store
            .consume_view_code(link, address, hash, at)
            .await
            .unwrap()
    };

    // Right once; a second use, another link's or another address's code never.
    store
        .issue_view_code(&code("L", "ann", "h1", 10), T0)
        .await
        .unwrap();
    assert_eq!(consume("M", "ann", "h1", T0).await, CodeCheck::Unknown);
    assert_eq!(consume("L", "bob", "h1", T0).await, CodeCheck::Unknown);
    assert_eq!(consume("L", "ann", "nope", T0).await, CodeCheck::Unknown);
    assert_eq!(consume("L", "ann", "h1", T0).await, CodeCheck::Confirmed);
    assert_eq!(consume("L", "ann", "h1", T0).await, CodeCheck::Used);

    // Expired at its expiry, not a millisecond later.
    store
        .issue_view_code(&code("L", "ann", "h2", 10), T0)
        .await
        .unwrap();
    assert_eq!(
        consume("L", "ann", "h2", T0 + Duration::minutes(10)).await,
        CodeCheck::Expired
    );

    // A newer code retires the older one of the same address on the same link only.
    store
        .issue_view_code(&code("L", "cy", "old", 10), T0)
        .await
        .unwrap();
    store
        .issue_view_code(&code("M", "cy", "other-link", 10), T0)
        .await
        .unwrap();
    store
        .issue_view_code(&code("L", "cy", "new", 10), T0 + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(
        consume("L", "cy", "old", T0 + Duration::minutes(2)).await,
        CodeCheck::Used
    );
    assert_eq!(
        consume("M", "cy", "other-link", T0 + Duration::minutes(2)).await,
        CodeCheck::Confirmed
    );

    // However many requests race with the right code, one confirms.
    let results = futures_util::future::join_all(
        (0..12).map(|_| store.consume_view_code("L", "cy", "new", T0 + Duration::minutes(2))),
    )
    .await;
    let confirmed = results
        .into_iter()
        .filter(|r| *r.as_ref().unwrap() == CodeCheck::Confirmed)
        .count();
    assert_eq!(confirmed, 1);

    // Expired codes are purged; fresh ones stay.
    store
        .issue_view_code(&code("L", "dee", "fresh", 60), T0)
        .await
        .unwrap();
    assert!(
        store
            .purge_view_codes(T0 + Duration::minutes(30))
            .await
            .unwrap()
            >= 4
    );
    assert_eq!(
        consume("L", "dee", "fresh", T0 + Duration::minutes(31)).await,
        CodeCheck::Confirmed
    );

    // The confirmed address rides on access events; page views are who viewed.
    let event = |minutes: i64, outcome: &str, viewer: Option<&str>| AccessEvent {
        workspace_id: Some(ws.id),
        link_id: Some("L".into()),
        at: T0 + Duration::minutes(minutes),
        outcome: outcome.into(),
        country: None,
        client_class: "desktop".into(),
        client: "c".into(),
        viewer: viewer.map(str::to_owned),
    };
    for e in [
        event(1, "confirmed", Some("ann@client.test")),
        event(2, "ok", Some("ann@client.test")),
        event(3, "ok", Some("ann@client.test")),
        event(
            4,
            "ok",
            Some("'); DROP TABLE access_events; --@client.test"),
        ),
        event(5, "ok", None),
        event(6, "bad_code", None),
    ] {
        store.record_access(&e).await.unwrap();
    }
    let viewers = store.link_viewers("L", 10).await.unwrap();
    assert_eq!(
        viewers,
        [
            (
                "'); DROP TABLE access_events; --@client.test".to_owned(),
                1,
                T0 + Duration::minutes(4)
            ),
            ("ann@client.test".to_owned(), 2, T0 + Duration::minutes(3)),
        ]
    );
    assert!(store.link_viewers("M", 10).await.unwrap().is_empty());
    let events = store.access_events("L", 10).await.unwrap();
    assert_eq!(events.len(), 6, "the table is still there");
    assert_eq!(events[3].viewer.as_deref(), Some("ann@client.test"));

    // Code messages are scrubbed once sent, and failed once stale while still queued.
    let mail = |recipient: &str| NewMail {
        workspace_id: ws.id,
        kind: "view_code".into(),
        reference: "link:L".into(),
        recipient: recipient.into(),
        subject: "Your code: 123456".into(),
        body_text: "Your code is 123456".into(),
        body_html: "<p>123456</p>".into(),
        message_id: format!("<{recipient}>"),
    };
    store
        .enqueue_mail(&[mail("a@client.test")], T0)
        .await
        .unwrap();
    let claimed = store
        .claim_mail(T0, T0 + Duration::minutes(10), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    store
        .finish_mail(
            claimed[0].id,
            claimed[0].attempts,
            MailOutcome::Sent {
                response: "250".into(),
            },
            T0,
        )
        .await
        .unwrap();
    store
        .enqueue_mail(&[mail("b@client.test")], T0 + Duration::minutes(1))
        .await
        .unwrap();
    store
        .enqueue_mail(&[mail("c@client.test")], T0 + Duration::minutes(20))
        .await
        .unwrap();
    assert_eq!(store.scrub_code_mail("view_code", None).await.unwrap(), 1);
    assert_eq!(
        store
            .scrub_code_mail("view_code", Some(T0 + Duration::minutes(11)))
            .await
            .unwrap(),
        1,
        "the stale queued one"
    );
    let rows = store
        .mails_about(ws.id, "view_code", "link:L")
        .await
        .unwrap();
    let by = |r: &str| rows.iter().find(|m| m.recipient == r).unwrap();
    for r in ["a@client.test", "b@client.test"] {
        assert!(
            !by(r).body_text.contains("123456") && !by(r).body_html.contains("123456"),
            "{r}"
        );
    }
    assert_eq!(by("b@client.test").state, MailState::Failed);
    assert_eq!(by("c@client.test").state, MailState::Queued);
    assert!(
        by("c@client.test").body_text.contains("123456"),
        "not sent yet, not stale"
    );
}

story!(dashboard_audience_and_member_rules);
async fn dashboard_audience_and_member_rules(store: &dyn Store) {
    let ws = store.create_workspace("Acme", T0).await.unwrap();
    let other = store.create_workspace("Other", T0).await.unwrap();
    let board = |ws: &Workspace, slug: &str| DashboardInput {
        workspace_id: ws.id,
        slug: slug.into(),
        title: slug.into(),
        status: "published".into(),
        document: String::new(),
    };
    let pack = store
        .create_dashboard(board(&ws, "pack"), None, T0)
        .await
        .unwrap();
    let theirs = store
        .create_dashboard(board(&other, "theirs"), None, T0)
        .await
        .unwrap();
    store
        .create_member(new_member(&ws, "admin@acme.test", Role::Admin), T0)
        .await
        .unwrap();
    let rita = store
        .create_member(new_member(&ws, "rita@acme.test", Role::Viewer), T0)
        .await
        .unwrap();
    assert_eq!(
        store.dashboard_audience(pack.id).await.unwrap(),
        DashboardAudience::default()
    );

    // Restricting is per workspace: another workspace's dashboard id does nothing.
    store
        .set_dashboard_restricted(ws.id, pack.id, true, T0)
        .await
        .unwrap();
    store
        .set_dashboard_restricted(ws.id, theirs.id, true, T0)
        .await
        .unwrap();
    store
        .set_dashboard_restricted(ws.id, pack.id, true, T0)
        .await
        .unwrap();
    assert_eq!(
        store
            .role_reach(ws.id, Role::Viewer)
            .await
            .unwrap()
            .restricted,
        [pack.id]
    );
    assert!(
        store
            .role_reach(other.id, Role::Viewer)
            .await
            .unwrap()
            .restricted
            .is_empty()
    );

    // Grants: set, change, remove; a role's grant reaches only that role.
    store
        .set_member_grant(pack.id, rita.id, Some("viewer"), T0)
        .await
        .unwrap();
    store
        .set_member_grant(pack.id, rita.id, Some("editor"), T0)
        .await
        .unwrap();
    store
        .set_role_grant(pack.id, Role::Editor, Some("viewer"), T0)
        .await
        .unwrap();
    let audience = store.dashboard_audience(pack.id).await.unwrap();
    assert!(audience.restricted);
    assert_eq!(audience.roles, [(Role::Editor, "viewer".to_owned())]);
    assert_eq!(audience.members.len(), 1);
    assert_eq!(
        (
            audience.members[0].member_id,
            audience.members[0].access.as_str()
        ),
        (rita.id, "editor")
    );
    assert_eq!(
        store.member_access(rita.id).await.unwrap().grants,
        [(pack.id, "editor".to_owned())]
    );
    assert_eq!(
        store.role_reach(ws.id, Role::Editor).await.unwrap().grants,
        [(pack.id, "viewer".to_owned())]
    );
    assert!(
        store
            .role_reach(ws.id, Role::Viewer)
            .await
            .unwrap()
            .grants
            .is_empty()
    );
    store
        .set_member_grant(pack.id, rita.id, None, T0)
        .await
        .unwrap();
    store
        .set_role_grant(pack.id, Role::Editor, None, T0)
        .await
        .unwrap();
    store
        .set_dashboard_restricted(ws.id, pack.id, false, T0)
        .await
        .unwrap();
    assert_eq!(
        store.dashboard_audience(pack.id).await.unwrap(),
        DashboardAudience::default()
    );

    // Data rules: on a member or a role, never both; listed per workspace and per member.
    let own = store
        .add_member_rule(
            ws.id,
            Some(rita.id),
            None,
            r#"{"column":"region","op":"=","value":"AMER"}"#,
            T0,
        )
        .await
        .unwrap();
    let by_role = store
        .add_member_rule(
            ws.id,
            None,
            Some(Role::Viewer),
            r#"{"column":"plan","op":"=","value":"x"}"#,
            T0,
        )
        .await
        .unwrap();
    store
        .add_member_rule(
            ws.id,
            None,
            Some(Role::Editor),
            r#"{"column":"plan","op":"=","value":"y"}"#,
            T0,
        )
        .await
        .unwrap();
    assert!(
        store
            .add_member_rule(ws.id, Some(rita.id), Some(Role::Viewer), "{}", T0)
            .await
            .is_err(),
        "a rule has one target"
    );
    assert!(
        store
            .add_member_rule(ws.id, None, None, "{}", T0)
            .await
            .is_err()
    );
    let mine: Vec<i64> = store
        .rules_for_member(ws.id, rita.id, Role::Viewer)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(mine, [own.id, by_role.id]);
    assert_eq!(own.member_id, Some(rita.id));
    assert_eq!(by_role.role, Some(Role::Viewer));
    assert_eq!(store.member_rules(ws.id).await.unwrap().len(), 3);
    assert!(store.member_rules(other.id).await.unwrap().is_empty());
    assert!(!store.delete_member_rule(other.id, own.id).await.unwrap());
    assert!(store.delete_member_rule(ws.id, own.id).await.unwrap());
    assert!(!store.delete_member_rule(ws.id, own.id).await.unwrap());
    // Removing a member removes their rules and grants.
    store
        .set_member_grant(pack.id, rita.id, Some("viewer"), T0)
        .await
        .unwrap();
    store
        .add_member_rule(
            ws.id,
            Some(rita.id),
            None,
            r#"{"column":"region","op":"=","value":"EMEA"}"#,
            T0,
        )
        .await
        .unwrap();
    store.delete_member(rita.id).await.unwrap();
    assert_eq!(store.member_rules(ws.id).await.unwrap().len(), 2);
    assert!(
        store
            .dashboard_audience(pack.id)
            .await
            .unwrap()
            .members
            .is_empty()
    );
}

story!(a_workspace_content_revision_moves_with_every_dataset_and_data_source_change);
/// The outsider gate reuses a dashboard context while the workspace's content revision is what
/// the context was built under (`vitrine_app::content::dashboard_context_under`): the
/// revision must move with every insert, update and delete of a dataset or data source, and
/// with every delete of a dashboard (the store's triggers), and only its own workspace's.
async fn a_workspace_content_revision_moves_with_every_dataset_and_data_source_change(
    store: &dyn Store,
) {
    let ws = store.create_workspace("Acme", T0).await.unwrap();
    let other = store.create_workspace("Other", T0).await.unwrap();
    let revision = |id| async move {
        store
            .workspace(id)
            .await
            .unwrap()
            .expect("the workspace")
            .content_revision
    };
    let mut last = revision(ws.id).await;
    let others = revision(other.id).await;
    let mut moved = |now: i64, what: &str| {
        assert!(now > last, "{what}: the revision stays at {now}");
        last = now;
    };
    let source = DataSourceInput {
        workspace_id: ws.id,
        name: "Warehouse".into(),
        kind: "postgres".into(),
        display: "postgres://u:***@db/sales".into(),
        sealed_config: "sealed".into(),
    };
    let warehouse = store.create_data_source(source.clone(), T0).await.unwrap();
    moved(revision(ws.id).await, "a data source created");
    store
        .update_data_source(
            warehouse.id,
            DataSourceInput {
                sealed_config: "resealed".into(),
                ..source
            },
            T0,
        )
        .await
        .unwrap();
    moved(revision(ws.id).await, "a data source changed");
    let input = DatasetInput {
        workspace_id: ws.id,
        data_source_id: warehouse.id,
        slug: "orders".into(),
        name: "Orders".into(),
        sql: "SELECT 1 AS one".into(),
        columns: r#"[{"name":"one","kind":"integer"}]"#.into(),
    };
    let orders = store.create_dataset(input.clone(), T0).await.unwrap();
    moved(revision(ws.id).await, "a dataset created");
    store
        .update_dataset(
            orders.id,
            DatasetInput {
                sql: "SELECT 2 AS one".into(),
                ..input
            },
            T0,
        )
        .await
        .unwrap();
    moved(revision(ws.id).await, "a dataset changed");
    // A failed write (a duplicate slug) changes nothing, the revision included.
    let before = revision(ws.id).await;
    assert!(
        store
            .create_dataset(
                DatasetInput {
                    workspace_id: ws.id,
                    data_source_id: warehouse.id,
                    slug: "orders".into(),
                    name: "Again".into(),
                    sql: "SELECT 1 AS one".into(),
                    columns: "[]".into(),
                },
                T0
            )
            .await
            .is_err()
    );
    assert_eq!(revision(ws.id).await, before, "a refused write");
    store.delete_dataset(ws.id, orders.id).await.unwrap();
    moved(revision(ws.id).await, "a dataset deleted");
    store.delete_data_source(ws.id, warehouse.id).await.unwrap();
    moved(revision(ws.id).await, "a data source deleted");
    // A deleted dashboard's id and revision may come back (SQLite gives the highest row id
    // again): the gate tells the two apart by the content revision its delete moved.
    let board = DashboardInput {
        workspace_id: ws.id,
        slug: "exec".into(),
        title: "Executive".into(),
        status: "published".into(),
        document: "version: 1\ntitle: Executive\n".into(),
    };
    let exec = store.create_dashboard(board, None, T0).await.unwrap();
    let before = revision(ws.id).await;
    store.delete_dashboard(ws.id, exec.id).await.unwrap();
    let after = revision(ws.id).await;
    assert!(
        after > before,
        "a dashboard deleted: the revision stays at {after}"
    );
    assert_eq!(revision(other.id).await, others, "another workspace's");
}
