//! Fresh databases for each test: a temporary SQLite file, or a uniquely named PostgreSQL
//! database created from `VITRINE_TEST_POSTGRES_URL` and dropped afterwards.

use std::io::Write as _;
use std::sync::Arc;

use sqlx::Connection as _;
use vitrine_store::Store;

/// The URL in `var`, or `None` after a loud notice that the test is skipped. With
/// `VITRINE_REQUIRE_SERVICES=1` a missing URL fails the test instead.
pub fn service_url(var: &str, test: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("VITRINE_REQUIRE_SERVICES").as_deref() == Ok("1") {
                panic!("{test}: {var} is not set but VITRINE_REQUIRE_SERVICES=1");
            }
            // Written past the test harness's capture so a plain `cargo test` shows it.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: set {var} to run it against a real server"
            );
            None
        }
    }
}

pub struct TestDb {
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("vitrine.db").display());
        let store = vitrine_store::open(&url).await.unwrap();
        Self {
            store,
            _dir: Some(dir),
            pg: None,
        }
    }

    pub async fn postgres(test: &str) -> Option<Self> {
        let base = service_url("VITRINE_TEST_POSTGRES_URL", test)?;
        let name = format!(
            "vitrine_test_{}",
            vitrine_core::secret::sha256_hex(vitrine_core::secret::random_token::<16>().as_bytes())
                [..16]
                .to_owned()
        );
        let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        let url = with_database(&base, &name);
        let store = vitrine_store::open(&url).await.unwrap();
        Some(Self {
            store,
            _dir: None,
            pg: Some((base, name)),
        })
    }

    pub async fn finish(self) {
        self.store.close().await;
        if let Some((base, name)) = self.pg {
            let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await
            .unwrap();
        }
    }
}

/// `base` with its database name replaced by `name`.
pub fn with_database(base: &str, name: &str) -> String {
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (base, None),
    };
    let scheme_end = head.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match head[scheme_end..].find('/') {
        Some(i) => &head[..scheme_end + i],
        None => head,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

/// Declares a story as two tests, `sqlite` and `postgres`.
#[macro_export]
macro_rules! story {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let db = $crate::harness::TestDb::sqlite().await;
                super::$name(&*db.store).await;
                db.finish().await;
            }

            #[tokio::test]
            async fn postgres() {
                let test = concat!(module_path!(), "::postgres");
                let Some(db) = $crate::harness::TestDb::postgres(test).await else {
                    return;
                };
                super::$name(&*db.store).await;
                db.finish().await;
            }
        }
    };
}

#[test]
fn database_names_are_replaced_in_urls() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u@h/test?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}
