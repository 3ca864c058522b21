//! Dossiers served per officer and day, as the one-stop software reports them: what reports set
//! the ratings against (rated ÷ served).

use std::collections::HashMap;

use time::Date;

use super::{Backend, Store, StoreError, StoreResult};
use crate::domain::clock;
use crate::domain::refusal::{Missing, Refusal};

/// One report of dossiers served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedEntry {
    pub day: Date,
    pub unit: String,
    pub officer: String,
    pub dossiers: u64,
}

/// Whose dossiers [`Store::served_by`] sums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServedBy {
    Unit,
    Officer,
}

impl Store {
    /// Records dossiers served, in one transaction with its audit entry (under `actor`, what was
    /// reported: each day, unit, officer and count, and what it replaced); an officer's day
    /// reported again replaces what was reported before. A unit or officer code that names
    /// nothing refuses the whole.
    pub async fn record_served(&self, entries: &[ServedEntry], actor: &str) -> StoreResult<u64> {
        use crate::domain::audit::{Action, Target};
        let now = self.clock.now_ms();
        write_transaction!(self, tx => {
            let mut reported = Vec::with_capacity(entries.len());
            for e in entries {
                let unit: Option<i64> = sqlx::query_scalar("SELECT id FROM units WHERE code = $1")
                    .bind(&e.unit)
                    .fetch_optional(&mut *tx)
                    .await?;
                let unit = unit.ok_or_else(|| StoreError::Refused(Refusal::Missing(Missing::Unit(e.unit.clone()))))?;
                let officer: Option<i64> = sqlx::query_scalar("SELECT id FROM officers WHERE code = $1")
                    .bind(&e.officer)
                    .fetch_optional(&mut *tx)
                    .await?;
                let officer =
                    officer.ok_or_else(|| StoreError::Refused(Refusal::Missing(Missing::Officer(e.officer.clone()))))?;
                let dossiers = i64::try_from(e.dossiers).map_err(|_| StoreError::Config("dossiers out of range".into()))?;
                let before: Option<i64> = sqlx::query_scalar("SELECT dossiers FROM served WHERE local_day = $1 AND officer_id = $2")
                    .bind(clock::date_bucket(e.day))
                    .bind(officer)
                    .fetch_optional(&mut *tx)
                    .await?;
                reported.push(serde_json::json!({
                    "date": clock::iso(e.day), "unit": e.unit, "officer": e.officer, "dossiers": dossiers, "replaced": before,
                }));
                sqlx::query(
                    "INSERT INTO served (local_day, unit_id, officer_id, dossiers, reported_at) \
                     VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (local_day, officer_id) DO UPDATE \
                     SET unit_id = excluded.unit_id, dossiers = excluded.dossiers, reported_at = excluded.reported_at",
                )
                .bind(clock::date_bucket(e.day))
                .bind(unit)
                .bind(officer)
                .bind(dossiers)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            let after = serde_json::Value::Array(reported).to_string();
            audit!(tx, now, actor, Action::ServedReport, Target::Organisation, None::<String>, Some(after));
        });
        Ok(entries.len() as u64)
    }

    /// The dossiers served on the Vietnam days `[from_day, to_day]`, by unit or officer id.
    pub async fn served_by(&self, by: ServedBy, from_day: i64, to_day: i64) -> StoreResult<HashMap<i64, u64>> {
        let sql = match by {
            ServedBy::Unit => {
                "SELECT unit_id, CAST(SUM(dossiers) AS BIGINT) FROM served \
                 WHERE local_day BETWEEN $1 AND $2 GROUP BY unit_id"
            }
            ServedBy::Officer => {
                "SELECT officer_id, CAST(SUM(dossiers) AS BIGINT) FROM served \
                 WHERE local_day BETWEEN $1 AND $2 GROUP BY officer_id"
            }
        };
        let rows: Vec<(i64, i64)> = on_backend!(self, pool => {
            sqlx::query_as(sql).bind(from_day).bind(to_day).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(|(id, n)| (id, u64::try_from(n).unwrap_or(0))).collect())
    }
}
