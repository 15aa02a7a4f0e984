//! Data-source locations typed by editors: SQLite files only inside the allowed folders and
//! never Vitrine's own store; server URLs without sockets or file-reading parameters.

use std::fs;
use std::path::{Path, PathBuf};

use vitrine_data::{
    DataSourceConfig, LocationError, LocationPolicy, parse_location, redacted_display,
};

/// A temporary tree: `roots/a` (allowed) holding `data.db`, `vitrine.db` (the store, with
/// `-wal` and `-shm`) and `notes.txt`; `outside/secret.db` beside it.
struct Tree {
    _dir: tempfile::TempDir,
    base: PathBuf,
    root: PathBuf,
    store: PathBuf,
}

const SQLITE: &[u8] = b"SQLite format 3\0 and then pages";

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let root = base.join("roots/a");
        fs::create_dir_all(&root).unwrap();
        fs::create_dir_all(base.join("outside")).unwrap();
        fs::create_dir_all(base.join("roots/a-evil")).unwrap();
        fs::write(root.join("data.db"), SQLITE).unwrap();
        fs::write(root.join("my data.db"), SQLITE).unwrap();
        fs::write(root.join("vitrine.db"), SQLITE).unwrap();
        fs::write(root.join("vitrine.db-wal"), b"wal").unwrap();
        fs::write(root.join("vitrine.db-shm"), b"shm").unwrap();
        fs::write(root.join("notes.txt"), b"not a database at all").unwrap();
        fs::write(root.join("empty.db"), b"").unwrap();
        fs::write(base.join("outside/secret.db"), SQLITE).unwrap();
        fs::write(base.join("roots/a-evil/x.db"), SQLITE).unwrap();
        let store = root.join("vitrine.db");
        Tree {
            _dir: dir,
            base,
            root,
            store,
        }
    }

    fn policy(&self) -> LocationPolicy {
        LocationPolicy {
            sqlite_roots: vec![self.root.clone()],
            forbidden_files: vec![self.store.clone()],
        }
    }

    fn sqlite(&self, location: &str) -> Result<PathBuf, LocationError> {
        parse_location("sqlite", location, &self.policy()).map(|c| match c {
            DataSourceConfig::Sqlite { path } => path,
            other => panic!("{other:?}"),
        })
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn every_sqlite_form_names_the_same_file() {
    let t = Tree::new();
    let want = t.root.join("data.db");
    let abs = s(&want);
    for location in [
        abs.clone(),
        format!("  {abs}  "),
        format!("sqlite://{abs}"),
        format!("sqlite:{abs}"),
        format!("SQLITE://{abs}"),
        format!("file:{abs}"),
        format!("file://{abs}"),
        format!("file://localhost{abs}"),
        format!("sqlite://{abs}?mode=ro"),
        format!("sqlite:{abs}?mode=ro&cache=shared"),
        format!("file:{abs}?mode=ro#frag"),
        format!("{}/./data.db", s(&t.root)),
        format!("{}/../a/data.db", s(&t.root)),
    ] {
        assert_eq!(t.sqlite(&location), Ok(want.clone()), "{location}");
    }
    // `sqlite:///abs` is the absolute path `/abs` (the third slash starts the path).
    assert!(format!("sqlite://{abs}").starts_with("sqlite:///"));
    // URL forms are percent-decoded; plain paths are taken as typed.
    let spaced = t.root.join("my data.db");
    assert_eq!(
        t.sqlite(&format!("sqlite://{}", s(&spaced).replace(' ', "%20"))),
        Ok(spaced.clone())
    );
    assert_eq!(t.sqlite(&s(&spaced)), Ok(spaced));
}

#[test]
fn an_empty_file_is_an_empty_database_and_other_files_are_not_databases() {
    let t = Tree::new();
    assert!(t.sqlite(&s(&t.root.join("empty.db"))).is_ok());
    assert_eq!(
        t.sqlite(&s(&t.root.join("notes.txt"))),
        Err(LocationError::NotSqlite)
    );
}

#[test]
fn path_traversal_out_of_a_root_is_refused() {
    let t = Tree::new();
    for location in [
        format!("{}/../../outside/secret.db", s(&t.root)),
        format!("sqlite://{}/../../outside/secret.db", s(&t.root)),
        format!("sqlite://{}/%2E%2E/%2E%2E/outside/secret.db", s(&t.root)),
        format!("{}/../../../../../../etc/passwd", s(&t.root)),
        "/roots/a/../../etc/passwd".to_string(),
        "/etc/passwd".to_string(),
        s(&t.base.join("outside/secret.db")),
        // A sibling folder whose name merely starts with the root's.
        s(&t.base.join("roots/a-evil/x.db")),
    ] {
        assert_eq!(
            t.sqlite(&location),
            Err(LocationError::OutsideRoots),
            "{location}"
        );
    }
}

#[test]
fn a_missing_file_and_a_file_outside_the_roots_read_the_same() {
    let t = Tree::new();
    let missing = t.sqlite(&s(&t.root.join("nope.db"))).unwrap_err();
    assert_eq!(missing, LocationError::NotFound);
    let outside = t.sqlite(&s(&t.base.join("outside/secret.db"))).unwrap_err();
    let elsewhere_missing = t.sqlite(&s(&t.base.join("outside/nope.db"))).unwrap_err();
    assert_eq!(missing.to_string(), outside.to_string());
    assert_eq!(
        outside, elsewhere_missing,
        "existence outside is not revealed"
    );
    // A folder is not a database file.
    assert_eq!(t.sqlite(&s(&t.root)), Err(LocationError::NotFound));
}

#[cfg(unix)]
#[test]
fn a_symlink_inside_a_root_that_points_outside_is_refused() {
    use std::os::unix::fs::symlink;
    let t = Tree::new();
    symlink(t.base.join("outside/secret.db"), t.root.join("link.db")).unwrap();
    symlink(t.base.join("outside"), t.root.join("outdir")).unwrap();
    assert_eq!(
        t.sqlite(&s(&t.root.join("link.db"))),
        Err(LocationError::OutsideRoots)
    );
    assert_eq!(
        t.sqlite(&s(&t.root.join("outdir/secret.db"))),
        Err(LocationError::OutsideRoots)
    );
    // One that stays inside resolves to its target.
    symlink(t.root.join("data.db"), t.root.join("inside.db")).unwrap();
    assert_eq!(
        t.sqlite(&s(&t.root.join("inside.db"))),
        Ok(t.root.join("data.db"))
    );
    // A root given through a symlink is compared canonicalised.
    symlink(&t.root, t.base.join("rootlink")).unwrap();
    let policy = LocationPolicy {
        sqlite_roots: vec![t.base.join("rootlink")],
        forbidden_files: vec![],
    };
    assert!(parse_location("sqlite", &s(&t.root.join("data.db")), &policy).is_ok());
}

#[test]
fn vitrine_s_own_store_is_refused_in_every_form() {
    let t = Tree::new();
    let store = s(&t.store);
    for location in [
        store.clone(),
        format!("sqlite://{store}"),
        format!("sqlite:{store}"),
        format!("sqlite://{store}?mode=ro"),
        format!("file:{store}"),
        format!("file://{store}?mode=ro"),
        format!("{}/../a/vitrine.db", s(&t.root)),
        format!("{store}-wal"),
        format!("{store}-shm"),
        format!("sqlite:{store}-wal"),
    ] {
        assert_eq!(
            t.sqlite(&location),
            Err(LocationError::Forbidden),
            "{location}"
        );
    }
    assert_eq!(
        LocationError::Forbidden.to_string(),
        "Vitrine's own database cannot be a data source."
    );
}

#[cfg(unix)]
#[test]
fn the_store_through_a_symlink_or_a_hard_link_is_still_the_store() {
    use std::os::unix::fs::symlink;
    let t = Tree::new();
    symlink(&t.store, t.root.join("alias.db")).unwrap();
    assert_eq!(
        t.sqlite(&s(&t.root.join("alias.db"))),
        Err(LocationError::Forbidden)
    );
    fs::hard_link(&t.store, t.root.join("hard.db")).unwrap();
    assert_eq!(
        t.sqlite(&s(&t.root.join("hard.db"))),
        Err(LocationError::Forbidden)
    );
    // The forbidden file named through a non-canonical path is compared canonicalised.
    let policy = LocationPolicy {
        sqlite_roots: vec![t.root.clone()],
        forbidden_files: vec![t.root.join("../a/./vitrine.db")],
    };
    assert_eq!(
        parse_location("sqlite", &format!("sqlite:{}", s(&t.store)), &policy),
        Err(LocationError::Forbidden)
    );
}

#[test]
fn no_roots_means_no_sqlite_and_odd_paths_are_refused() {
    let t = Tree::new();
    let none = LocationPolicy::default();
    assert_eq!(
        parse_location("sqlite", &s(&t.root.join("data.db")), &none),
        Err(LocationError::SqliteDisabled)
    );
    let missing_root = LocationPolicy {
        sqlite_roots: vec![t.base.join("no-such-folder")],
        forbidden_files: vec![],
    };
    assert_eq!(
        parse_location("sqlite", &s(&t.root.join("data.db")), &missing_root),
        Err(LocationError::SqliteDisabled)
    );
    for bad in [
        "sqlite::memory:",
        ":memory:",
        "sqlite://",
        "sqlite:?mode=memory",
        "file://otherhost/data.db",
        "sqlite://%ZZ",
        "sqlite://%FF%FE",
    ] {
        assert!(
            matches!(t.sqlite(bad), Err(LocationError::BadPath(_))),
            "{bad}: {:?}",
            t.sqlite(bad)
        );
    }
    assert_eq!(t.sqlite("   "), Err(LocationError::Empty));
    assert_eq!(
        parse_location("oracle", "x", &t.policy()),
        Err(LocationError::UnknownKind)
    );
}

#[test]
fn postgres_urls_over_the_network_are_accepted_as_typed() {
    for url in [
        "postgres://user:secret@db.example.com:5432/sales",
        "postgresql://user@10.0.0.5/sales?sslmode=require",
        "postgres://user:secret@[::1]:5432/sales?application_name=x&sslmode=verify-full",
    ] {
        assert_eq!(
            parse_location("postgres", url, &LocationPolicy::default()),
            Ok(DataSourceConfig::Postgres { url: url.into() }),
            "{url}"
        );
    }
    assert!(
        parse_location(
            "PostgreSQL",
            "postgres://u@h/db",
            &LocationPolicy::default()
        )
        .is_ok()
    );
}

#[test]
fn postgres_unix_sockets_are_refused() {
    let p = LocationPolicy::default();
    for url in [
        "postgres://user@%2Fvar%2Frun%2Fpostgresql/db",
        "postgres://user@%2fvar%2frun%2fpostgresql/db",
    ] {
        assert_eq!(
            parse_location("postgres", url, &p),
            Err(LocationError::Socket),
            "{url}"
        );
    }
    for url in ["postgres:///db", "postgres://user:pw@/db", "postgres://"] {
        assert!(
            matches!(
                parse_location("postgres", url, &p),
                Err(LocationError::NoHost | LocationError::NotAUrl { .. })
            ),
            "{url}"
        );
    }
    assert_eq!(
        parse_location("postgres", "postgres://u@h/db?host=/var/run/postgresql", &p),
        Err(LocationError::Parameter("host".into()))
    );
}

#[test]
fn postgres_parameters_that_read_files_or_redirect_are_refused_by_name() {
    let p = LocationPolicy::default();
    for key in [
        "sslkey",
        "sslcert",
        "sslrootcert",
        "sslcrl",
        "passfile",
        "service",
        "servicefile",
        "options",
        "host",
        "hostaddr",
        "ssl-key",
        "ssl-root-cert",
        "ssl-ca",
        "SSLKEY",
        "options[search_path]",
        "sslcrldir",
    ] {
        let url = format!("postgres://u:pw@h/db?sslmode=require&{key}=%2Fetc%2Fx");
        let e = parse_location("postgres", &url, &p).unwrap_err();
        assert_eq!(e, LocationError::Parameter(key.into()), "{url}");
        assert!(e.to_string().contains(&format!("`{key}`")), "{e}");
        assert!(!e.to_string().contains("pw"), "{e}");
    }
}

#[test]
fn mysql_urls_are_checked_the_same_way() {
    let p = LocationPolicy::default();
    assert_eq!(
        parse_location("mysql", "mariadb://u:pw@db:3306/shop", &p),
        Ok(DataSourceConfig::MySql {
            url: "mysql://u:pw@db:3306/shop".into()
        })
    );
    assert!(parse_location("mysql", "mysql://u@db/shop?ssl-mode=required", &p).is_ok());
    assert_eq!(
        parse_location("mysql", "mysql://u@db/shop?socket=/tmp/mysql.sock", &p),
        Err(LocationError::Socket)
    );
    assert_eq!(
        parse_location("mysql", "mysql://u@%2Ftmp%2Fmysql.sock/shop", &p),
        Err(LocationError::Socket)
    );
    assert!(matches!(
        parse_location("mysql", "mysql://u@/shop", &p),
        Err(LocationError::NoHost | LocationError::NotAUrl { .. })
    ));
    for key in [
        "ssl-ca",
        "ssl-cert",
        "ssl-key",
        "sslca",
        "ssl_key",
        "init-file",
        "secure_file_priv",
        "ssl-capath",
        "plugin-dir",
        "local-infile",
    ] {
        let url = format!("mysql://u@db/shop?{key}=x");
        assert_eq!(
            parse_location("mysql", &url, &p),
            Err(LocationError::Parameter(key.into())),
            "{url}"
        );
    }
}

#[test]
fn a_location_of_the_wrong_scheme_is_refused_with_an_example() {
    let p = LocationPolicy::default();
    let e = parse_location("postgres", "mysql://u@h/db", &p).unwrap_err();
    assert!(
        e.to_string()
            .contains("postgres://user:password@host:5432/database")
    );
    let e = parse_location("mysql", "db.example.com", &p).unwrap_err();
    assert!(e.to_string().contains("mysql://"), "{e}");
    let e = parse_location("postgres", "postgres://u:p@h:99999999/db", &p).unwrap_err();
    assert!(matches!(e, LocationError::NotAUrl { .. }), "{e:?}");
}

#[test]
fn the_display_never_contains_a_password() {
    let cases = [
        (
            "postgres://alice:s3cr3t@db.example.com:5432/sales?sslmode=require",
            "postgres://alice:***@db.example.com:5432/sales?sslmode=require",
        ),
        (
            "postgres://alice@db/sales?password=s3cr3t&sslmode=require",
            "postgres://alice@db/sales?sslmode=require",
        ),
        (
            "postgres://alice:s3cr3t@db/sales?sslpassword=s3cr3t&PASSWORD=s3cr3t&pass%77ord=s3cr3t",
            "postgres://alice:***@db/sales",
        ),
        ("postgres://db/sales", "postgres://db/sales"),
    ];
    for (url, shown) in cases {
        let display = redacted_display(&DataSourceConfig::Postgres { url: url.into() });
        assert_eq!(display, shown);
        assert!(!display.contains("s3cr3t"));
    }
    let display = redacted_display(&DataSourceConfig::MySql {
        url: "mysql://root:s3cr3t@db:3306/shop?password=s3cr3t".into(),
    });
    assert_eq!(display, "mysql://root:***@db:3306/shop");
    let garbled = redacted_display(&DataSourceConfig::Postgres {
        url: "postgres://a:s3cr3t@h:notaport/db".into(),
    });
    assert!(!garbled.contains("s3cr3t"), "{garbled}");
    assert_eq!(
        redacted_display(&DataSourceConfig::Sqlite {
            path: "/srv/data/sales.db".into()
        }),
        "/srv/data/sales.db"
    );
}
