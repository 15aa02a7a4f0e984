//! Where an editor may point a data source: typed `(kind, location)` → [`DataSourceConfig`].
//!
//! A data source's location is typed by a workspace editor, and the server then opens it with
//! its own rights. So the location is checked against the server's policy
//! ([`LocationPolicy`]) before anything connects:
//!
//! - **SQLite**: a plain path, `sqlite://path`, `sqlite:path`, `sqlite:///abs`, `file:path`,
//!   `file:///abs` or `file://localhost/abs`; a `?mode=ro`-style query and a `#fragment` are
//!   dropped and URL forms are percent-decoded. The file is canonicalised (symlinks and `..`
//!   resolved) and must then lie inside one of the canonicalised `sqlite_roots`, be a regular
//!   file and look like an SQLite database. It must not be one of the `forbidden_files`
//!   (Vitrine's own store) or their `-wal`, `-shm` and `-journal` siblings, compared after
//!   canonicalising both sides and, on Unix, by device and inode too (a hard link is the same
//!   file). A missing file and a file outside the roots get the *same* message, so the form
//!   cannot be used to probe which files exist elsewhere on the server.
//! - **PostgreSQL** (`postgres://`, `postgresql://`) and **MySQL / MariaDB** (`mysql://`,
//!   `mariadb://`): URLs whose host is a network host. Unix sockets are refused (an empty host,
//!   a host starting with `/` or `%2F`, a `host=` or `socket=` parameter): a socket reaches
//!   databases that trust local peers. Parameters that make the server read files (TLS keys
//!   and certificates, password and service files) or change where or how it connects
//!   (`options`, `host`, `hostaddr`) are refused, naming the parameter.
//!
//! [`redacted_display`] is what the owner UI and the audit log show: never a password.

use std::path::{Component, Path, PathBuf};

use crate::redact::{normal_key, percent_decode, redact_url};
use crate::source::DataSourceConfig;

/// What the server allows data sources to point at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocationPolicy {
    /// Folders SQLite files may live in (canonicalised here before comparing). Empty: no
    /// SQLite data sources at all.
    pub sqlite_roots: Vec<PathBuf>,
    /// Files that may never be a data source, whatever the roots say: Vitrine's own store
    /// (and anything else the caller names, such as the server key file).
    pub forbidden_files: Vec<PathBuf>,
}

/// Why a typed location was refused. Messages are for the editor who typed it; they never
/// repeat a password, and they do not tell a missing file from one outside the allowed
/// folders.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    /// Nothing typed.
    #[error("Enter the database's location.")]
    Empty,
    /// A kind other than `sqlite`, `postgres` or `mysql`.
    #[error("The kind must be sqlite, postgres or mysql.")]
    UnknownKind,
    /// The server allows no SQLite folder.
    #[error("This server does not allow SQLite data sources.")]
    SqliteDisabled,
    /// `:memory:`, an empty path, a `file://` URL naming another host, bad percent-encoding.
    #[error("{0}")]
    BadPath(&'static str),
    /// No such file, a directory, or something that cannot be read.
    #[error("There is no SQLite file at that path in the folders this server allows.")]
    NotFound,
    /// The file exists but lies outside every allowed folder (same message as `NotFound`).
    #[error("There is no SQLite file at that path in the folders this server allows.")]
    OutsideRoots,
    /// A file that does not start like an SQLite database.
    #[error("That file is not an SQLite database.")]
    NotSqlite,
    /// Vitrine's own store, one of its siblings, or another forbidden file.
    #[error("Vitrine's own database cannot be a data source.")]
    Forbidden,
    /// Not a URL of the kind's scheme, or not a URL at all.
    #[error("A {kind} location is a URL: {example}")]
    NotAUrl {
        /// "PostgreSQL" or "MySQL".
        kind: &'static str,
        /// An example URL.
        example: &'static str,
    },
    /// No host: the driver would use a local socket.
    #[error(
        "Name the database server's host (postgres://user:password@host:5432/database); an empty host means a local socket, which is not allowed."
    )]
    NoHost,
    /// A Unix socket.
    #[error("Unix sockets are not allowed: connect over the network with a host name.")]
    Socket,
    /// A parameter that reads files or changes where or how the server connects.
    #[error(
        "The connection parameter `{0}` is not allowed: it reads files on the server or changes where or how Vitrine connects."
    )]
    Parameter(String),
}

/// Turns an editor's `(kind, location)` into a [`DataSourceConfig`] allowed by `policy`. See
/// the module documentation for the rules. `kind` is `sqlite`, `postgres` (or `postgresql`)
/// or `mysql` (or `mariadb`), in any case.
pub fn parse_location(
    kind: &str,
    location: &str,
    policy: &LocationPolicy,
) -> Result<DataSourceConfig, LocationError> {
    let location = location.trim();
    if location.is_empty() {
        return Err(LocationError::Empty);
    }
    match kind.trim().to_ascii_lowercase().as_str() {
        "sqlite" => sqlite(location, policy),
        "postgres" | "postgresql" => postgres(location),
        "mysql" | "mariadb" => mysql(location),
        _ => Err(LocationError::UnknownKind),
    }
}

/// The case-insensitive `prefix` stripped from `s`.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The file an SQLite location names (`sqlite:…`, `sqlite://…`, `file:…` or a plain path),
/// percent-decoded and without its `?query` or `#fragment`, before any file-system check.
/// Vitrine reads its own store's `database_url` with this too, so that the store is
/// recognised in every spelling sqlx accepts.
pub fn sqlite_file(location: &str) -> Result<PathBuf, LocationError> {
    sqlite_path(location.trim())
}

/// See [`sqlite_file`].
fn sqlite_path(location: &str) -> Result<PathBuf, LocationError> {
    let (rest, is_url) = if let Some(rest) = strip_prefix_ci(location, "sqlite://") {
        (rest, true)
    } else if let Some(rest) = strip_prefix_ci(location, "sqlite:") {
        (rest, true)
    } else if let Some(rest) = strip_prefix_ci(location, "file:") {
        let rest = match rest.strip_prefix("//") {
            // `file://host/path`: only the local host.
            Some(authority_and_path) => {
                let slash = authority_and_path
                    .find('/')
                    .unwrap_or(authority_and_path.len());
                let host = &authority_and_path[..slash];
                if !(host.is_empty() || host.eq_ignore_ascii_case("localhost")) {
                    return Err(LocationError::BadPath(
                        "A file: URL must name a file on this server (file:///path/to/data.db).",
                    ));
                }
                &authority_and_path[slash..]
            }
            None => rest,
        };
        (rest, true)
    } else {
        (location, false)
    };
    // `?mode=ro&cache=shared`, `#…`: connection options and fragments, not part of the file.
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let path = if is_url {
        percent_decode(rest).ok_or(LocationError::BadPath(
            "The path has a malformed %-escape or is not UTF-8.",
        ))?
    } else {
        rest.to_string()
    };
    if path.is_empty() || path == ":memory:" || path.contains('\0') {
        return Err(LocationError::BadPath(
            "Name an SQLite database file (an in-memory database has no data to show).",
        ));
    }
    Ok(PathBuf::from(path))
}

fn sqlite(location: &str, policy: &LocationPolicy) -> Result<DataSourceConfig, LocationError> {
    let path = sqlite_path(location)?;
    let roots: Vec<PathBuf> = policy
        .sqlite_roots
        .iter()
        .filter_map(|r| r.canonicalize().ok())
        .filter(|r| r.is_dir())
        .collect();
    if roots.is_empty() {
        return Err(LocationError::SqliteDisabled);
    }
    // Refuse what is lexically outside every root before touching the file system, so the
    // answer for a path elsewhere does not depend on whether it exists.
    let lexical = lexically_normal(&path);
    let canonical = match path.canonicalize() {
        Ok(c) => c,
        Err(_) if lexical.is_some_and(|l| roots.iter().any(|r| l.starts_with(r))) => {
            return Err(LocationError::NotFound);
        }
        Err(_) => return Err(LocationError::OutsideRoots),
    };
    if !roots.iter().any(|r| canonical.starts_with(r)) {
        return Err(LocationError::OutsideRoots);
    }
    let meta = std::fs::metadata(&canonical).map_err(|_| LocationError::NotFound)?;
    if !meta.is_file() {
        return Err(LocationError::NotFound);
    }
    if is_forbidden(&canonical, &meta, &policy.forbidden_files) {
        return Err(LocationError::Forbidden);
    }
    if !looks_like_sqlite(&canonical, meta.len()) {
        return Err(LocationError::NotSqlite);
    }
    Ok(DataSourceConfig::Sqlite { path: canonical })
}

/// An absolute path with `.` and `..` resolved without the file system; `None` for a
/// relative path (it is resolved against the working directory by `canonicalize`).
fn lexically_normal(path: &Path) -> Option<PathBuf> {
    if !path.is_absolute() {
        return None;
    }
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

/// Whether `canonical` is a forbidden file or a sibling SQLite keeps beside it.
fn is_forbidden(canonical: &Path, meta: &std::fs::Metadata, forbidden: &[PathBuf]) -> bool {
    for f in forbidden {
        let mut bases = vec![f.clone()];
        if let Ok(c) = f.canonicalize() {
            bases.push(c);
        }
        for base in bases {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut name = base.clone().into_os_string();
                name.push(suffix);
                let candidate = PathBuf::from(name);
                if candidate == canonical
                    || candidate.canonicalize().is_ok_and(|c| c == canonical)
                    || same_file(meta, &candidate)
                {
                    return true;
                }
            }
        }
    }
    false
}

/// Whether `candidate` is the file `meta` describes (a hard link has another path).
#[cfg(unix)]
fn same_file(meta: &std::fs::Metadata, candidate: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(candidate).is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
}

#[cfg(not(unix))]
fn same_file(_meta: &std::fs::Metadata, _candidate: &Path) -> bool {
    false
}

/// An empty file is an empty SQLite database; anything else starts with the magic string.
fn looks_like_sqlite(path: &Path, len: u64) -> bool {
    use std::io::Read;
    if len == 0 {
        return true;
    }
    let mut head = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head == b"SQLite format 3\0")
}

/// The parameter as typed, shortened for a message.
fn shown_key(key: &str) -> String {
    key.chars().filter(|c| !c.is_control()).take(40).collect()
}

/// Checks a server URL's host and parameters; `refused` says which (normalised) parameter
/// names are not allowed.
fn check_server_url(
    url: &str,
    kind: &'static str,
    example: &'static str,
    refused: impl Fn(&str) -> bool,
) -> Result<(), LocationError> {
    let parsed = url::Url::parse(url).map_err(|_| LocationError::NotAUrl { kind, example })?;
    let host = parsed.host_str().unwrap_or_default();
    let decoded_host = percent_decode(host).unwrap_or_else(|| host.to_string());
    if host.is_empty() {
        return Err(LocationError::NoHost);
    }
    if decoded_host.starts_with('/') || decoded_host.contains('/') {
        return Err(LocationError::Socket);
    }
    for (key, _) in parsed.query_pairs() {
        let k = normal_key(&key);
        if k == "socket" || k.starts_with("host") {
            return Err(match k.as_str() {
                "socket" => LocationError::Socket,
                _ => LocationError::Parameter(shown_key(&key)),
            });
        }
        if refused(&k) {
            return Err(LocationError::Parameter(shown_key(&key)));
        }
    }
    Ok(())
}

/// File-reading parameters every driver knows by some spelling.
fn reads_files(k: &str) -> bool {
    k.contains("file") || k.contains("path") || k.contains("dir")
}

fn postgres(location: &str) -> Result<DataSourceConfig, LocationError> {
    const KIND: &str = "PostgreSQL";
    const EXAMPLE: &str = "postgres://user:password@host:5432/database";
    if strip_prefix_ci(location, "postgres://").is_none()
        && strip_prefix_ci(location, "postgresql://").is_none()
    {
        return Err(LocationError::NotAUrl {
            kind: KIND,
            example: EXAMPLE,
        });
    }
    check_server_url(location, KIND, EXAMPLE, |k| {
        reads_files(k)
            || k.starts_with("options")
            || matches!(
                k,
                "sslkey"
                    | "sslcert"
                    | "sslrootcert"
                    | "sslca"
                    | "sslcrl"
                    | "sslcrldir"
                    | "passfile"
                    | "service"
                    | "servicefile"
                    | "sslpassword"
                    | "krbsrvname"
                    | "gsslib"
            )
    })?;
    Ok(DataSourceConfig::Postgres {
        url: location.to_string(),
    })
}

fn mysql(location: &str) -> Result<DataSourceConfig, LocationError> {
    const KIND: &str = "MySQL";
    const EXAMPLE: &str = "mysql://user:password@host:3306/database";
    let url = if let Some(rest) = strip_prefix_ci(location, "mysql://") {
        format!("mysql://{rest}")
    } else if let Some(rest) = strip_prefix_ci(location, "mariadb://") {
        format!("mysql://{rest}")
    } else {
        return Err(LocationError::NotAUrl {
            kind: KIND,
            example: EXAMPLE,
        });
    };
    check_server_url(&url, KIND, EXAMPLE, |k| {
        reads_files(k)
            || matches!(
                k,
                "sslca" | "sslcert" | "sslkey" | "sslcapath" | "sslcrl" | "localinfile"
            )
    })?;
    Ok(DataSourceConfig::MySql { url })
}

/// The location as the owner UI and the audit log show it: the SQLite file's path, or the URL
/// without any password — the user-info password becomes `***`, and `password=` /
/// `sslpassword=` query parameters are left out entirely. A URL that cannot be read shows
/// only its scheme.
pub fn redacted_display(config: &DataSourceConfig) -> String {
    match config {
        DataSourceConfig::Sqlite { path } => path.display().to_string(),
        DataSourceConfig::Postgres { url } | DataSourceConfig::MySql { url } => redact_url(url),
    }
}
