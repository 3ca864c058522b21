//! The embedded SQLite backend: WAL, `synchronous=FULL`, foreign keys on, a busy timeout.
//! Readers share a pool; the writer owns the only write connection, so a group commit never
//! waits for another writer.

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
];

pub(super) async fn connect(url: &str, max_connections: u32) -> StoreResult<(SqlitePool, SqlitePool)> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
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
    let read = SqlitePoolOptions::new().max_connections(max_connections).connect_with(options).await?;
    Ok((read, write))
}

/// Refuses to run unless the write connection really has the durability settings: a rating
/// acknowledged must survive a power loss.
pub(super) async fn check_durability(write: &SqlitePool) -> StoreResult<()> {
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(write).await?;
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(write).await?;
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(write).await?;
    if !journal.eq_ignore_ascii_case("wal") || synchronous != 2 || foreign_keys != 1 {
        return Err(StoreError::Invalid(format!(
            "SQLite is not durable here: journal_mode={journal}, synchronous={synchronous} (want wal, 2 = FULL), \
             foreign_keys={foreign_keys}"
        )));
    }
    Ok(())
}
