//! The embedded SQLite backend: WAL, `synchronous=FULL`, foreign keys on, a busy timeout.
//! Readers share a pool; the writer owns the only write connection, so a group commit never
//! waits for another writer.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{StoreError, StoreResult};

pub(super) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, "accounts", include_str!("../../migrations/sqlite/0002_accounts.sql")),
    (3, "answer counts", include_str!("../../migrations/sqlite/0003_answer_counts.sql")),
    (4, "count months", include_str!("../../migrations/sqlite/0004_count_months.sql")),
    (5, "comment index", include_str!("../../migrations/sqlite/0005_comment_index.sql")),
    (6, "data fixes", include_str!("../../migrations/sqlite/0006_data_fixes.sql")),
    (7, "writer probe and guards", include_str!("../../migrations/sqlite/0007_writer_probe.sql")),
    (8, "receipts", include_str!("../../migrations/sqlite/0008_receipts.sql")),
    (9, "channel everywhere", include_str!("../../migrations/sqlite/0009_channel_everywhere.sql")),
    (10, "served", include_str!("../../migrations/sqlite/0010_served.sql")),
    (11, "append-only responses", include_str!("../../migrations/sqlite/0011_append_only.sql")),
    (12, "hash chain", include_str!("../../migrations/sqlite/0012_chain.sql")),
    (13, "flags and moderation", include_str!("../../migrations/sqlite/0013_flags_moderation.sql")),
    (14, "rate windows", include_str!("../../migrations/sqlite/0014_rate_windows.sql")),
    (15, "comment purges", include_str!("../../migrations/sqlite/0015_comment_purges.sql")),
    (16, "flag events", include_str!("../../migrations/sqlite/0016_flag_events.sql")),
    (17, "flag counters", include_str!("../../migrations/sqlite/0017_flag_counters.sql")),
];

/// The file an SQLite URL names; `None` for another backend or an in-memory database.
pub(super) fn file_of(url: &str) -> StoreResult<Option<PathBuf>> {
    if !url.starts_with("sqlite:") {
        return Ok(None);
    }
    let options = SqliteConnectOptions::from_str(url)?;
    let file = options.get_filename();
    let memory = file.as_os_str() == ":memory:" || url.contains("mode=memory");
    Ok((!memory).then(|| file.to_owned()))
}

/// Opens the read pool and the one-connection write pool, and notes which file they opened.
/// `max_pages` caps the database at that many pages (`PRAGMA max_page_count`) on every
/// connection: past it a commit fails as on a full disk. `wait` is how long a statement waits
/// for another process's lock before it fails with "database is locked".
pub(super) async fn connect(
    url: &str,
    max_connections: u32,
    max_pages: Option<u32>,
    wait: Duration,
) -> StoreResult<(SqlitePool, SqlitePool, Option<DbFile>)> {
    let mut options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        // A REPLACE that deletes a row on a unique key fires the delete guards (append-only).
        .pragma("recursive_triggers", "ON")
        // What a change replaces or deletes is overwritten with zeros in the file, not left in
        // a free page: an erased comment, or a receipt key's secret before it was sealed, is
        // then not in the file nor in a copy of it.
        .pragma("secure_delete", "ON")
        .busy_timeout(wait);
    if let Some(pages) = max_pages {
        options = options.pragma("max_page_count", pages.to_string());
    }
    // The write pool first: it creates the file and switches it to WAL before readers open it.
    // Its one connection is in this process and is not pinged before each use (sqlx still pings
    // it once when it goes back to the pool): a statement on a broken connection fails as the
    // ping would, and the writer answers "try again" then too.
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .test_before_acquire(false)
        .connect_with(options.clone())
        .await?;
    let file = DbFile::of(options.get_filename());
    // Readers cannot write: a write that skipped the write path (`write_transaction!`) fails.
    let read = SqlitePoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options.pragma("query_only", "ON"))
        .await?;
    Ok((read, write, file))
}

/// Opens an existing database file read-only, as it is: no journal mode is changed, nothing is
/// created beside it, nothing is migrated (for checking a database, a backup in particular,
/// without changing a byte of it). One pool serves reads; a write through it fails.
pub(super) async fn connect_read_only(url: &str, max_connections: u32) -> StoreResult<SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)?.read_only(true).create_if_missing(false);
    Ok(SqlitePoolOptions::new().max_connections(max_connections).connect_with(options).await?)
}

/// The database file the server opened, by its device and inode: if the file at the configured
/// path is deleted, replaced or moved, the open connections go on writing into a file that is
/// no longer there, and nothing they commit would be found at the path.
#[derive(Clone, Debug)]
pub(super) struct DbFile {
    path: PathBuf,
    wal: PathBuf,
    identity: (u64, u64),
}

impl DbFile {
    /// `None` for an in-memory database, which has no file to lose.
    fn of(path: &Path) -> Option<Self> {
        let identity = identity(path).ok()?;
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        Some(Self { path: path.to_owned(), wal: PathBuf::from(wal), identity })
    }

    /// Fails unless the file at the path is still the one opened; after a commit, its
    /// write-ahead log must be there too (the commit wrote into it, and it stays while this
    /// server holds connections).
    pub(super) fn check(&self, after_commit: bool) -> StoreResult<()> {
        let gone = |what: &str| Err(StoreError::FileGone(format!("{} {what}", self.path.display())));
        match identity(&self.path) {
            Ok(found) if found == self.identity => {}
            Ok(_) => return gone("was replaced by another file"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return gone("was deleted or moved"),
            Err(e) => return gone(&format!("cannot be read ({e})")),
        }
        if after_commit && !self.wal.exists() {
            return Err(StoreError::FileGone(format!("{} was deleted", self.wal.display())));
        }
        Ok(())
    }
}

#[cfg(unix)]
fn identity(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path)?;
    Ok((meta.dev(), meta.ino()))
}

/// Elsewhere only the file's existence is checked.
#[cfg(not(unix))]
fn identity(path: &Path) -> std::io::Result<(u64, u64)> {
    std::fs::metadata(path).map(|_| (0, 0))
}

/// Refuses to run unless the write connection really has the durability settings: a rating
/// acknowledged must survive a power loss.
pub(super) async fn check_durability(write: &SqlitePool) -> StoreResult<()> {
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(write).await?;
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(write).await?;
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(write).await?;
    if !journal.eq_ignore_ascii_case("wal") || synchronous != 2 || foreign_keys != 1 {
        return Err(StoreError::Config(format!(
            "SQLite is not durable here: journal_mode={journal}, synchronous={synchronous} (want wal, 2 = FULL), \
             foreign_keys={foreign_keys}"
        )));
    }
    Ok(())
}
