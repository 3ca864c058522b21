//! The PostgreSQL backend, for deployments with several stateless instances on one database.
//! The writer's guarantees hold across instances through unique constraints (`ON CONFLICT`
//! on the one-time key) rather than through being the only writer.

use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::StoreResult;

pub(super) const MIGRATIONS: &[(i64, &str, &str)] =
    &[(1, "init", include_str!("../../migrations/postgres/0001_init.sql"))];

pub(super) async fn connect(url: &str, max_connections: u32) -> StoreResult<PgPool> {
    let options = PgConnectOptions::from_str(url)?.application_name("hailong");
    Ok(PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await?)
}
