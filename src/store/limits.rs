//! The abuse limits counted in the database, where every instance on it sees the same counts
//! (`rate_windows`): a keyed hash per limit, device and point, never an address. The keyed
//! hashes use the day's salt the stuffing flags use (`device_salts`), forgotten with it.

use super::{Backend, Store, StoreResult, flags};

impl Store {
    /// Whether several instances may write this database at once (PostgreSQL), so that what one
    /// instance counts in memory is not what the service has seen.
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres { .. })
    }

    /// The salt of the Vietnam day `day` (a `YYYYMMDD` bucket), made by the first to need it.
    pub async fn day_salt(&self, day: i64) -> StoreResult<String> {
        Ok(write_transaction!(self, tx => {
            sqlx::query("INSERT INTO device_salts (local_day, salt) VALUES ($1, $2) ON CONFLICT (local_day) DO NOTHING")
                .bind(day)
                .bind(flags::new_salt())
                .execute(&mut *tx)
                .await?;
            sqlx::query_scalar("SELECT salt FROM device_salts WHERE local_day = $1").bind(day).fetch_one(&mut *tx).await?
        }))
    }

    /// Counts one event under `bucket` in the window that began at `window_start` (seconds) and
    /// returns the events counted in that window so far, this one included; a bucket last used
    /// in an earlier window starts afresh. A window never goes back: an instance whose clock is
    /// a little behind counts its event in the newer window another instance began. One
    /// statement: instances counting at once each get their own number.
    pub async fn count_in_window(&self, bucket: &str, window_start: i64) -> StoreResult<i64> {
        Ok(write_transaction!(self, tx => {
            sqlx::query_scalar(
                "INSERT INTO rate_windows (bucket, window_start, used) VALUES ($1, $2, 1) \
                 ON CONFLICT (bucket) DO UPDATE SET \
                   used = CASE WHEN excluded.window_start > rate_windows.window_start THEN 1 ELSE rate_windows.used + 1 END, \
                   window_start = CASE WHEN excluded.window_start > rate_windows.window_start \
                     THEN excluded.window_start ELSE rate_windows.window_start END \
                 RETURNING used",
            )
            .bind(bucket)
            .bind(window_start)
            .fetch_one(&mut *tx)
            .await?
        }))
    }

    /// Forgets the windows that began before `before` (seconds). Returns how many.
    pub async fn forget_windows(&self, before: i64) -> StoreResult<u64> {
        Ok(write_transaction!(self, tx => {
            sqlx::query("DELETE FROM rate_windows WHERE window_start < $1").bind(before).execute(&mut *tx).await?.rows_affected()
        }))
    }
}
