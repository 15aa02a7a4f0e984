//! The outsider gate's SQLite read, on the calling thread.
//!
//! sqlx runs every SQLite statement on the connection's own thread: the request's task hands
//! the statement over, that thread wakes, runs it and wakes the task again. For the gate's
//! read — one primary-key lookup joined to two more, in pages SQLite keeps cached, a few
//! microseconds of work — those two wake-ups and context switches cost more than the read
//! (about a fifth of a warm page view's CPU on two cores; docs/performance.md, "Night").
//!
//! [`Here`] runs that one statement where it is asked for, on read-only connections of its
//! own opened on the same file with the same SQLite library (rusqlite over the
//! `libsqlite3-sys` sqlx links). It never waits: its busy timeout is zero, so when the
//! database cannot be read at once (`SQLITE_BUSY`, e.g. while a checkpoint resets the log),
//! or anything else goes wrong, it answers [`None`] and the caller reads through its
//! [`crate::readers::Readers`] as before, whose error, if any, is the one reported. Each read is
//! its own statement in autocommit mode, in WAL mode: it sees every write committed before it
//! began, as the readers' do. A connection whose read failed is closed, not kept.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, Row};

/// The most connections kept between reads (more may be open at once, one per concurrent read).
const KEPT: usize = 2;

/// Read-only connections to one SQLite file, for reads on the calling thread.
pub(crate) struct Here {
    path: PathBuf,
    /// SQLite's page cache per connection, in KiB (negative, SQLite's unit for a size).
    cache_kib: &'static str,
    kept: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for Here {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Here").field("path", &self.path).finish()
    }
}

impl Here {
    /// Reads of the database file at `path`; `None` when there is no such file (an in-memory
    /// database: its connections cannot be shared this way).
    pub(crate) fn of(path: &Path, cache_kib: &'static str) -> Option<Self> {
        path.is_file().then(|| Here {
            path: path.to_owned(),
            cache_kib,
            kept: Mutex::new(Vec::with_capacity(KEPT)),
        })
    }

    /// The row of `sql` with `id` bound to its one parameter, mapped by `map`, read now on
    /// this thread: `Some(None)` when there is no such row, `None` when it could not be read
    /// at once (the caller reads another way).
    pub(crate) fn fetch_optional<T>(
        &self,
        sql: &str,
        id: &str,
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<Option<T>> {
        let kept = self.kept.lock().ok()?.pop();
        let connection = match kept {
            Some(connection) => connection,
            None => match self.open() {
                Ok(connection) => connection,
                Err(error) => {
                    tracing::debug!(%error, "the gate's read on this thread could not open the database");
                    return None;
                }
            },
        };
        match read(&connection, sql, id, map) {
            Ok(row) => {
                if let Ok(mut kept) = self.kept.lock()
                    && kept.len() < KEPT
                {
                    kept.push(connection);
                }
                Some(row)
            }
            Err(error) => {
                tracing::debug!(%error, "the gate's read on this thread did not answer; reading on the store's thread");
                None
            }
        }
    }

    /// Closes the kept connections (the store is closing; a read after this opens one again).
    pub(crate) fn close(&self) {
        if let Ok(mut kept) = self.kept.lock() {
            kept.clear();
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let connection = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // Never wait for a lock: the caller has a thread that may.
        connection.busy_timeout(std::time::Duration::ZERO)?;
        connection.pragma_update(None, "cache_size", self.cache_kib)?;
        Ok(connection)
    }
}

fn read<T>(
    connection: &Connection,
    sql: &str,
    id: &str,
    map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    let mut statement = connection.prepare_cached(sql)?;
    let mut rows = statement.query([id])?;
    match rows.next()? {
        Some(row) => map(row).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_in_memory_database_is_not_read_here() {
        assert!(Here::of(Path::new("file:sqlx-in-memory-1"), "-512").is_none());
    }

    #[test]
    fn a_read_sees_what_was_committed_and_a_locked_database_is_left_to_the_caller() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER);",
            )
            .unwrap();
        let here = Here::of(&path, "-512").expect("a file");
        let n = |here: &Here| {
            here.fetch_optional("SELECT n FROM t WHERE id = $1", "a", |row| {
                row.get::<_, i64>(0)
            })
        };
        assert_eq!(n(&here), Some(None), "no row yet");
        writer.execute("INSERT INTO t VALUES ('a', 1)", []).unwrap();
        assert_eq!(n(&here), Some(Some(1)), "a committed write is seen");
        writer.execute("UPDATE t SET n = 2", []).unwrap();
        assert_eq!(n(&here), Some(Some(2)), "by a kept connection too");
        // An uncommitted write is not seen; the reader does not wait for it either.
        writer.execute_batch("BEGIN; UPDATE t SET n = 3;").unwrap();
        assert_eq!(n(&here), Some(Some(2)));
        writer.execute_batch("COMMIT;").unwrap();
        assert_eq!(n(&here), Some(Some(3)));
        // A statement that fails (no such table) is left to the caller, whose error counts.
        assert_eq!(
            here.fetch_optional("SELECT n FROM nope WHERE id = $1", "a", |row| row
                .get::<_, i64>(0)),
            None
        );
        // The database locked exclusively (no reader may read): answered at once, with None.
        writer
            .execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; UPDATE t SET n = 4;")
            .unwrap();
        assert_eq!(n(&here), None, "busy: the caller reads another way");
    }
}
