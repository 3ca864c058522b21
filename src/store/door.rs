//! The SQLite write pool, behind the store's one write door (`write_transaction!`).
//!
//! Its pool is reached only by [`WritePool::pool`], which `clippy.toml` disallows anywhere but
//! that macro and the store's own plumbing (migrations, the durability check, the readiness
//! check's page count, closing): a write that skipped the door would not check that the file
//! is the one opened, nor that no newer version has migrated the schema, nor close the
//! connection after a failure. SQLite's readers are `query_only`, so a write through them
//! fails too; on PostgreSQL one pool serves both, and the same code runs on SQLite in the tests.

/// The one-connection SQLite write pool.
#[derive(Clone, Debug)]
pub(super) struct WritePool(sqlx::SqlitePool);

impl WritePool {
    pub(super) fn new(pool: sqlx::SqlitePool) -> Self {
        Self(pool)
    }

    /// The pool itself: for `write_transaction!` only (see the module's comment).
    pub(super) fn pool(&self) -> &sqlx::SqlitePool {
        &self.0
    }

    /// Waits for its connection to be returned, then closes it.
    pub(super) async fn close(&self) {
        self.0.close().await;
    }
}
