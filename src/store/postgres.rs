//! The PostgreSQL backend, for deployments with several stateless instances on one database.
//! The writer's guarantees hold across instances through unique constraints (`ON CONFLICT`
//! on the one-time key) rather than through being the only writer.

use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::{StoreError, StoreResult};

pub(super) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/postgres/0001_init.sql")),
    (2, "accounts", include_str!("../../migrations/postgres/0002_accounts.sql")),
    (3, "answer counts", include_str!("../../migrations/postgres/0003_answer_counts.sql")),
    (4, "count months", include_str!("../../migrations/postgres/0004_count_months.sql")),
    (5, "comment index", include_str!("../../migrations/postgres/0005_comment_index.sql")),
    (6, "data fixes", include_str!("../../migrations/postgres/0006_data_fixes.sql")),
    (7, "writer probe and guards", include_str!("../../migrations/postgres/0007_writer_probe.sql")),
    (8, "receipts", include_str!("../../migrations/postgres/0008_receipts.sql")),
    (9, "channel everywhere", include_str!("../../migrations/postgres/0009_channel_everywhere.sql")),
    (10, "served", include_str!("../../migrations/postgres/0010_served.sql")),
    (11, "append-only responses", include_str!("../../migrations/postgres/0011_append_only.sql")),
    (12, "hash chain", include_str!("../../migrations/postgres/0012_chain.sql")),
    (13, "flags and moderation", include_str!("../../migrations/postgres/0013_flags_moderation.sql")),
    (14, "rate windows", include_str!("../../migrations/postgres/0014_rate_windows.sql")),
    (15, "comment purges", include_str!("../../migrations/postgres/0015_comment_purges.sql")),
    (16, "flag events", include_str!("../../migrations/postgres/0016_flag_events.sql")),
    (17, "flag counters", include_str!("../../migrations/postgres/0017_flag_counters.sql")),
];

/// The store's pools on the database at `url`: up to `max_connections` to read, on which every
/// transaction is read-only (a write there fails, as on SQLite's `query_only` readers), and as
/// many to write, reached only through the store's write door.
pub(super) async fn backend(url: &str, max_connections: u32) -> StoreResult<super::Backend> {
    let read = connect(url, max_connections, true).await?;
    let write = connect(url, max_connections, false).await?;
    Ok(super::Backend::Postgres { read, write: super::door::WritePool::new(write) })
}

async fn connect(url: &str, max_connections: u32, read_only: bool) -> StoreResult<PgPool> {
    let mut options = PgConnectOptions::from_str(url)?.application_name("hailong");
    if read_only {
        options = options.options([("default_transaction_read_only", "on")]);
    }
    match PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options.clone())
        .await
    {
        Ok(pool) => Ok(pool),
        // The pool says only that it timed out: one connection of its own says why (refused,
        // no such host, a password or TLS problem).
        Err(sqlx::Error::PoolTimedOut) => {
            let attempt = <sqlx::PgConnection as sqlx::Connection>::connect_with(&options);
            let why = match tokio::time::timeout(Duration::from_secs(5), attempt).await {
                Ok(Ok(conn)) => {
                    let _ = sqlx::Connection::close(conn).await;
                    "it answered too slowly".to_owned()
                }
                Ok(Err(error)) => error.to_string(),
                Err(_) => "no answer within 5 s (a firewall, or the wrong host)".to_owned(),
            };
            Err(StoreError::Config(format!(
                "cannot connect to PostgreSQL at {}:{}: {why}",
                options.get_host(),
                options.get_port()
            )))
        }
        Err(error) => Err(error.into()),
    }
}

/// Creates and drops databases on a PostgreSQL server: for test suites and benchmarks that need
/// a database of their own.
#[derive(Debug)]
pub struct PgAdmin(PgPool);

impl PgAdmin {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Ok(Self(PgPoolOptions::new().max_connections(1).connect_with(PgConnectOptions::from_str(url)?).await?))
    }

    /// `name` must be a plain identifier (letters, digits, `_`): it cannot be a bind parameter.
    pub async fn create_database(&self, name: &str) -> StoreResult<()> {
        let sql = format!("CREATE DATABASE {}", identifier(name)?);
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&self.0).await?;
        Ok(())
    }

    pub async fn drop_database(&self, name: &str) -> StoreResult<()> {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", identifier(name)?);
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&self.0).await?;
        Ok(())
    }
}

fn identifier(name: &str) -> StoreResult<&str> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok { Ok(name) } else { Err(super::StoreError::Config(format!("'{name}' is not a plain database name"))) }
}
