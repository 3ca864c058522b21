//! The write pool, behind the store's one write door (`write_transaction!`).
//!
//! Its pool is reached only by [`WritePool::pool`], which `clippy.toml` disallows anywhere but
//! that macro and the store's own plumbing (migrations, the durability check, the readiness
//! check's page count, closing): a write that skipped the door would not check that the file
//! is the one opened, nor that no newer version has migrated the schema, nor close the
//! connection after a failure. The readers cannot write either: SQLite's read connections are
//! `query_only`, PostgreSQL's begin every transaction read-only
//! (`default_transaction_read_only`), so a write through them fails on both backends.

/// The write pool: SQLite's one connection, or PostgreSQL's write connections.
#[derive(Debug)]
pub(super) struct WritePool<DB: sqlx::Database>(sqlx::Pool<DB>);

impl<DB: sqlx::Database> Clone for WritePool<DB> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<DB: sqlx::Database> WritePool<DB> {
    pub(super) fn new(pool: sqlx::Pool<DB>) -> Self {
        Self(pool)
    }

    /// The pool itself: for `write_transaction!` only (see the module's comment).
    pub(super) fn pool(&self) -> &sqlx::Pool<DB> {
        &self.0
    }

    /// Waits for its connection to be returned, then closes it.
    pub(super) async fn close(&self) {
        self.0.close().await;
    }
}
