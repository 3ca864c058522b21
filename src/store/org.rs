//! The organisation import: units, desks, officers' assignments and procedure fields, written in
//! one transaction with its audit entry, and the codes an import checks its rows against.

use std::collections::{HashMap, HashSet};

use super::{Backend, Store, StoreResult};
use crate::domain::audit::Action;
use crate::domain::clock;
use crate::domain::org::{NewAssignment, NewDesk, NewField, NewUnit};
use crate::domain::point::Slug;

/// Everything an import brings, written in one transaction.
#[derive(Clone, Debug, Default)]
pub struct OrgBatch {
    pub units: Vec<NewUnit>,
    pub desks: Vec<NewDesk>,
    pub assignments: Vec<NewAssignment>,
    pub fields: Vec<NewField>,
    /// Dossiers served per officer and day (a day given again replaces the earlier count).
    pub served: Vec<super::ServedEntry>,
}

/// What an import or the demo changed, per kind: (new, updated).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub units: (u64, u64),
    pub desks: (u64, u64),
    pub officers: (u64, u64),
    pub assignments: (u64, u64),
    pub fields: (u64, u64),
    pub points_created: u64,
    /// Officer-days of dossiers served recorded.
    pub served: u64,
}

impl ImportSummary {
    pub fn changed_nothing(&self) -> bool {
        *self == Self::default()
    }

    /// The summary as the audit log keeps it.
    pub fn to_json(&self) -> String {
        let pair = |(new, updated): (u64, u64)| serde_json::json!({ "new": new, "updated": updated });
        serde_json::json!({
            "units": pair(self.units),
            "desks": pair(self.desks),
            "officers": pair(self.officers),
            "assignments": pair(self.assignments),
            "fields": pair(self.fields),
            "points_created": self.points_created,
            "served": self.served,
        })
        .to_string()
    }
}

/// The codes already in the database, so that an import can check its references row by row.
#[derive(Clone, Debug, Default)]
pub struct KnownCodes {
    pub units: HashSet<String>,
    /// Unit code -> its parent's code.
    pub unit_parents: HashMap<String, Option<String>>,
    /// Desk code -> its unit's code.
    pub desks: HashMap<String, String>,
    /// Officer code -> its assignments' (valid_from, valid_to) as ISO dates, and unit code.
    pub assignments: HashMap<String, Vec<(String, Option<String>, String)>>,
}

/// Adds one upsert's effect to a (new, updated) tally.
fn count(tally: &mut (u64, u64), existed: bool, rows_affected: u64) {
    match (existed, rows_affected) {
        (false, _) => tally.0 += 1,
        (true, 0) => {}
        (true, _) => tally.1 += 1,
    }
}

impl Store {
    /// The codes an import may refer to.
    pub async fn known_codes(&self) -> StoreResult<KnownCodes> {
        let (units, desks, assignments) = on_backend!(self, pool => {
            let units: Vec<(String, Option<String>)> =
                sqlx::query_as("SELECT u.code, p.code FROM units u LEFT JOIN units p ON p.id = u.parent_id")
                    .fetch_all(pool)
                    .await?;
            let desks: Vec<(String, String)> =
                sqlx::query_as("SELECT d.code, u.code FROM desks d JOIN units u ON u.id = d.unit_id")
                    .fetch_all(pool)
                    .await?;
            let assignments: Vec<(String, String, Option<String>, String)> = sqlx::query_as(
                "SELECT o.code, a.valid_from, a.valid_to, u.code FROM assignments a \
                 JOIN officers o ON o.id = a.officer_id JOIN units u ON u.id = a.unit_id",
            )
            .fetch_all(pool)
            .await?;
            (units, desks, assignments)
        });
        let mut known = KnownCodes {
            units: units.iter().map(|(c, _)| c.clone()).collect(),
            unit_parents: units.into_iter().collect(),
            desks: desks.into_iter().collect(),
            ..KnownCodes::default()
        };
        for (officer, from, to, unit) in assignments {
            known.assignments.entry(officer).or_default().push((from, to, unit));
        }
        Ok(known)
    }

    /// Writes an organisation batch in one transaction: units (then their parents and
    /// successors), desks, officers with their assignments, and procedure fields, each matched
    /// by code, so that the same batch twice changes nothing. Then gives every unit with a desk,
    /// every desk and every officer at a desk a collection point, if it has none.
    /// References are expected to be checked already (see `crate::import`); the database's
    /// constraints still refuse a dangling one, and then nothing is written.
    /// `progress` is told of each row written (units, desks, assignments, fields).
    ///
    /// One function because it is one transaction: each kind is written in the order its references
    /// need, and the points and the audit entry follow in the same commit.
    pub async fn import_org(
        &self,
        batch: &OrgBatch,
        questionnaire_id: &str,
        actor: &str,
        progress: &(dyn Fn(u64) + Sync),
    ) -> StoreResult<ImportSummary> {
        let mut s = ImportSummary::default();
        let now = self.clock.now_ms();
        let today = clock::iso(clock::vietnam_date(now));
        write_transaction!(self, tx => {
            let mut units_counted = HashSet::new();
            for u in &batch.units {
                let existed: Option<i64> = sqlx::query_scalar("SELECT id FROM units WHERE code = $1")
                    .bind(u.code.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                let n = sqlx::query(
                    "INSERT INTO units (code, name, kind, valid_from, valid_to) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, \
                        valid_from = excluded.valid_from, valid_to = excluded.valid_to \
                     WHERE units.name <> excluded.name OR units.kind <> excluded.kind \
                        OR units.valid_from <> excluded.valid_from \
                        OR COALESCE(units.valid_to, '') <> COALESCE(excluded.valid_to, '')",
                )
                .bind(u.code.as_str())
                .bind(u.name.as_str())
                .bind(u.kind.code())
                .bind(clock::iso(u.validity.from()))
                .bind(u.validity.to().map(clock::iso))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                count(&mut s.units, existed.is_some(), n);
                if existed.is_none() || n > 0 {
                    units_counted.insert(u.code.as_str());
                }
                progress(1);
            }
            for u in &batch.units {
                let n = sqlx::query(
                    "UPDATE units SET parent_id = (SELECT id FROM units WHERE code = $2), \
                        successor_id = (SELECT id FROM units WHERE code = $3) \
                     WHERE code = $1 AND (COALESCE(parent_id, 0) <> COALESCE((SELECT id FROM units WHERE code = $2), 0) \
                        OR COALESCE(successor_id, 0) <> COALESCE((SELECT id FROM units WHERE code = $3), 0))",
                )
                .bind(u.code.as_str())
                .bind(u.parent.as_ref().map(|c| c.as_str()))
                .bind(u.successor.as_ref().map(|c| c.as_str()))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n > 0 && units_counted.insert(u.code.as_str()) {
                    s.units.1 += 1;
                }
            }
            for d in &batch.desks {
                let existed: Option<i64> = sqlx::query_scalar("SELECT id FROM desks WHERE code = $1")
                    .bind(d.code.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                let n = sqlx::query(
                    "INSERT INTO desks (code, name, unit_id) SELECT $1, $2, id FROM units WHERE code = $3 \
                     ON CONFLICT (code) DO UPDATE SET name = excluded.name, unit_id = excluded.unit_id \
                     WHERE desks.name <> excluded.name OR desks.unit_id <> excluded.unit_id",
                )
                .bind(d.code.as_str())
                .bind(d.name.as_str())
                .bind(d.unit.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                count(&mut s.desks, existed.is_some(), n);
                progress(1);
            }
            let mut officers_seen = HashSet::new();
            for a in &batch.assignments {
                if officers_seen.insert(a.officer.as_str()) {
                    let existed: Option<i64> = sqlx::query_scalar("SELECT id FROM officers WHERE code = $1")
                        .bind(a.officer.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                    let n = sqlx::query(
                        "INSERT INTO officers (code, full_name) VALUES ($1, $2) \
                         ON CONFLICT (code) DO UPDATE SET full_name = excluded.full_name \
                         WHERE officers.full_name <> excluded.full_name",
                    )
                    .bind(a.officer.as_str())
                    .bind(a.full_name.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    count(&mut s.officers, existed.is_some(), n);
                }
                let from = clock::iso(a.validity.from());
                let existed: Option<i64> = sqlx::query_scalar(
                    "SELECT a.id FROM assignments a JOIN officers o ON o.id = a.officer_id \
                     WHERE o.code = $1 AND a.valid_from = $2",
                )
                .bind(a.officer.as_str())
                .bind(&from)
                .fetch_optional(&mut *tx)
                .await?;
                let n = sqlx::query(
                    "INSERT INTO assignments (officer_id, unit_id, desk_id, valid_from, valid_to) \
                     SELECT o.id, u.id, (SELECT d.id FROM desks d WHERE d.code = $3), $4, $5 \
                     FROM officers o, units u WHERE o.code = $1 AND u.code = $2 \
                     ON CONFLICT (officer_id, valid_from) DO UPDATE SET unit_id = excluded.unit_id, \
                        desk_id = excluded.desk_id, valid_to = excluded.valid_to \
                     WHERE assignments.unit_id <> excluded.unit_id \
                        OR COALESCE(assignments.desk_id, 0) <> COALESCE(excluded.desk_id, 0) \
                        OR COALESCE(assignments.valid_to, '') <> COALESCE(excluded.valid_to, '')",
                )
                .bind(a.officer.as_str())
                .bind(a.unit.as_str())
                .bind(a.desk.as_ref().map(|c| c.as_str()))
                .bind(&from)
                .bind(a.validity.to().map(clock::iso))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                count(&mut s.assignments, existed.is_some(), n);
                progress(1);
            }
            for f in &batch.fields {
                let existed: Option<i64> = sqlx::query_scalar("SELECT id FROM fields WHERE code = $1")
                    .bind(f.code.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                let n = sqlx::query(
                    "INSERT INTO fields (code, name) VALUES ($1, $2) \
                     ON CONFLICT (code) DO UPDATE SET name = excluded.name WHERE fields.name <> excluded.name",
                )
                .bind(f.code.as_str())
                .bind(f.name.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                count(&mut s.fields, existed.is_some(), n);
                progress(1);
            }

            for e in &batch.served {
                sqlx::query(
                    "INSERT INTO served (local_day, unit_id, officer_id, dossiers, reported_at) \
                     SELECT $1, u.id, o.id, $4, $5 FROM units u, officers o WHERE u.code = $2 AND o.code = $3 \
                     ON CONFLICT (local_day, officer_id) DO UPDATE \
                     SET unit_id = excluded.unit_id, dossiers = excluded.dossiers, reported_at = excluded.reported_at",
                )
                .bind(clock::date_bucket(e.day))
                .bind(&e.unit)
                .bind(&e.officer)
                .bind(i64::try_from(e.dossiers).unwrap_or(i64::MAX))
                .bind(now)
                .execute(&mut *tx)
                .await?;
                s.served += 1;
                progress(1);
            }

            // Collection points for whatever never had one: units with a desk, desks, and officers
            // assigned to a desk today. A revoked point is not brought back: that takes a reissue.
            type Target = (i64, Option<i64>, Option<i64>, String);
            let missing: Vec<Target> = sqlx::query_as(
                "SELECT u.id, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), u.name FROM units u \
                 WHERE (u.valid_to IS NULL OR u.valid_to >= $1) AND EXISTS (SELECT 1 FROM desks d WHERE d.unit_id = u.id) \
                   AND NOT EXISTS (SELECT 1 FROM collection_points p WHERE p.unit_id = u.id AND p.desk_id IS NULL \
                        AND p.officer_id IS NULL) \
                 UNION ALL \
                 SELECT d.unit_id, d.id, CAST(NULL AS BIGINT), d.name || ' — ' || u.name FROM desks d JOIN units u ON u.id = d.unit_id \
                 WHERE (u.valid_to IS NULL OR u.valid_to >= $1) \
                   AND NOT EXISTS (SELECT 1 FROM collection_points p WHERE p.desk_id = d.id AND p.officer_id IS NULL) \
                 UNION ALL \
                 SELECT a.unit_id, a.desk_id, o.id, o.full_name || ' — ' || d.name FROM officers o \
                 JOIN assignments a ON a.officer_id = o.id AND a.valid_from <= $1 AND (a.valid_to IS NULL OR a.valid_to >= $1) \
                 JOIN desks d ON d.id = a.desk_id \
                 WHERE NOT EXISTS (SELECT 1 FROM collection_points p WHERE p.officer_id = o.id)",
            )
            .bind(&today)
            .fetch_all(&mut *tx)
            .await?;
            let mut missing = missing;
            missing.sort_unstable();
            for (unit_id, desk_id, officer_id, label) in missing {
                sqlx::query(
                    "INSERT INTO collection_points (slug, unit_id, desk_id, officer_id, questionnaire_id, label, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(Slug::generate().as_str())
                .bind(unit_id)
                .bind(desk_id)
                .bind(officer_id)
                .bind(questionnaire_id)
                .bind(&label)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                s.points_created += 1;
            }
            if !s.changed_nothing() {
                audit!(tx, now, actor, Action::OrgImport, crate::domain::audit::Target::Organisation, None::<String>, Some(s.to_json()));
            }
        });
        Ok(s)
    }
}
