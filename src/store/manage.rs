//! Changes made from the management pages: desks, officers' assignments, collection points.
//! Each checks what it needs inside its transaction and writes its audit entry there.

use time::Date;

use super::{Store, StoreError, StoreResult};
use crate::domain::audit::{Action, Target};
use crate::domain::clock;
use crate::domain::org::{Code, Name};
use crate::domain::point::Slug;
use crate::domain::refusal::{Missing, Refusal};

fn refused(refusal: impl Into<Refusal>) -> StoreError {
    StoreError::Refused(refusal.into())
}

impl Store {
    /// Adds a desk to a unit. Refuses a code in use.
    pub async fn add_desk(&self, code: &Code, name: &Name, unit: &Code, actor: &str) -> StoreResult<()> {
        let now = self.clock.now_ms();
        write_transaction!(self, tx => {
            let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM desks WHERE code = $1")
                .bind(code.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            if taken.is_some() {
                return Err(refused(Refusal::DeskCodeTaken(code.to_string())));
            }
            let n = sqlx::query("INSERT INTO desks (code, name, unit_id) SELECT $1, $2, id FROM units WHERE code = $3")
                .bind(code.as_str())
                .bind(name.as_str())
                .bind(unit.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Err(refused(Missing::Unit(unit.to_string())));
            }
            audit!(tx, now, actor, Action::DeskCreate, Target::Desk(code.to_string()), None::<String>, Some(serde_json::json!({ "name": name.as_str(), "unit": unit.as_str() }).to_string()));
        });
        Ok(())
    }

    /// Moves an officer from `from` on: the assignment open that day ends the day before, and a
    /// new one starts at `unit` (and `desk`, which must belong to it). Ratings before `from`
    /// stay with the old unit; the officer's collection point follows them.
    pub async fn move_officer(
        &self,
        officer: &Code,
        unit: &Code,
        desk: Option<&Code>,
        from: Date,
        actor: &str,
    ) -> StoreResult<()> {
        let now = self.clock.now_ms();
        let from_iso = clock::iso(from);
        let day_before = from.previous_day().map(clock::iso).ok_or_else(|| refused(Refusal::DateOutOfRange))?;
        write_transaction!(self, tx => {
            let officer_id: i64 = sqlx::query_scalar("SELECT id FROM officers WHERE code = $1")
                .bind(officer.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| refused(Missing::Officer(officer.to_string())))?;
            let unit_id: i64 = sqlx::query_scalar("SELECT id FROM units WHERE code = $1")
                .bind(unit.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| refused(Missing::Unit(unit.to_string())))?;
            let desk_id: Option<i64> = match desk {
                Some(d) => Some(
                    sqlx::query_scalar("SELECT id FROM desks WHERE code = $1 AND unit_id = $2")
                        .bind(d.as_str())
                        .bind(unit_id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or_else(|| refused(Refusal::DeskNotInUnit { desk: d.to_string(), unit: unit.to_string() }))?,
                ),
                None => None,
            };
            let later: Option<String> = sqlx::query_scalar(
                "SELECT valid_from FROM assignments WHERE officer_id = $1 AND valid_from >= $2 LIMIT 1",
            )
            .bind(officer_id)
            .bind(&from_iso)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(later) = later {
                return Err(refused(Refusal::AssignedFrom(later)));
            }
            let before: Option<(String, Option<String>)> = sqlx::query_as(
                "SELECT u.code, d.code FROM assignments a JOIN units u ON u.id = a.unit_id \
                 LEFT JOIN desks d ON d.id = a.desk_id \
                 WHERE a.officer_id = $1 AND a.valid_from < $2 AND (a.valid_to IS NULL OR a.valid_to >= $2)",
            )
            .bind(officer_id)
            .bind(&from_iso)
            .fetch_optional(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE assignments SET valid_to = $3 \
                 WHERE officer_id = $1 AND valid_from < $2 AND (valid_to IS NULL OR valid_to >= $2)",
            )
            .bind(officer_id)
            .bind(&from_iso)
            .bind(&day_before)
            .execute(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO assignments (officer_id, unit_id, desk_id, valid_from) VALUES ($1, $2, $3, $4)")
                .bind(officer_id)
                .bind(unit_id)
                .bind(desk_id)
                .bind(&from_iso)
                .execute(&mut *tx)
                .await?;
            audit!(tx, now, actor, Action::OfficerMove, Target::Officer(officer.to_string()), before.map(|(u, d)| serde_json::json!({ "unit": u, "desk": d }).to_string()), Some( serde_json::json!({ "unit": unit.as_str(), "desk": desk.map(Code::as_str), "from": from_iso }) .to_string(), ));
        });
        Ok(())
    }

    /// Ends an officer's open assignment on `last_day` (the officer leaves the one-stop desk).
    pub async fn end_assignment(&self, officer: &Code, last_day: Date, actor: &str) -> StoreResult<()> {
        let now = self.clock.now_ms();
        let last = clock::iso(last_day);
        write_transaction!(self, tx => {
            let open: Option<(i64, String)> = sqlx::query_as(
                "SELECT a.id, a.valid_from FROM assignments a JOIN officers o ON o.id = a.officer_id \
                 WHERE o.code = $1 AND a.valid_to IS NULL",
            )
            .bind(officer.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let (id, since) = open.ok_or_else(|| refused(Refusal::NoOpenAssignment(officer.to_string())))?;
            if last < since {
                return Err(refused(Refusal::EndsBeforeStart(since)));
            }
            sqlx::query("UPDATE assignments SET valid_to = $2 WHERE id = $1").bind(id).bind(&last).execute(&mut *tx).await?;
            audit!(tx, now, actor, Action::OfficerEnd, Target::Officer(officer.to_string()), None::<String>, Some(serde_json::json!({ "last_day": last }).to_string()));
        });
        Ok(())
    }

    /// Opens a new collection point for a unit, one of its desks, or an officer (at the
    /// officer's desk of today), using `questionnaire_id`. Returns its slug.
    pub async fn create_point(
        &self,
        unit: &Code,
        desk: Option<&Code>,
        officer: Option<&Code>,
        questionnaire_id: &str,
        actor: &str,
    ) -> StoreResult<Slug> {
        let now = self.clock.now_ms();
        let slug = Slug::generate();
        write_transaction!(self, tx => {
            let (unit_id, unit_name): (i64, String) = sqlx::query_as("SELECT id, name FROM units WHERE code = $1")
                .bind(unit.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| refused(Missing::Unit(unit.to_string())))?;
            let desk_row: Option<(i64, String)> = match desk {
                Some(d) => Some(
                    sqlx::query_as("SELECT id, name FROM desks WHERE code = $1 AND unit_id = $2")
                        .bind(d.as_str())
                        .bind(unit_id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or_else(|| refused(Refusal::DeskNotInUnit { desk: d.to_string(), unit: unit.to_string() }))?,
                ),
                None => None,
            };
            let officer_row: Option<(i64, String)> = match officer {
                Some(o) => Some(
                    sqlx::query_as("SELECT id, full_name FROM officers WHERE code = $1")
                        .bind(o.as_str())
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or_else(|| refused(Missing::Officer(o.to_string())))?,
                ),
                None => None,
            };
            let label = match (&desk_row, &officer_row) {
                (_, Some((_, officer_name))) => match &desk_row {
                    Some((_, desk_name)) => format!("{officer_name} — {desk_name}"),
                    None => officer_name.clone(),
                },
                (Some((_, desk_name)), None) => format!("{desk_name} — {unit_name}"),
                (None, None) => unit_name.clone(),
            };
            sqlx::query(
                "INSERT INTO collection_points (slug, unit_id, desk_id, officer_id, questionnaire_id, label, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(slug.as_str())
            .bind(unit_id)
            .bind(desk_row.as_ref().map(|d| d.0))
            .bind(officer_row.as_ref().map(|o| o.0))
            .bind(questionnaire_id)
            .bind(&label)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            audit!(tx, now, actor, Action::PointCreate, Target::Point(slug.to_string()), None::<String>, Some(serde_json::json!({ "label": label, "questionnaire": questionnaire_id }).to_string()));
            Ok::<(), StoreError>(())
        })?;
        Ok(slug)
    }
}
