//! The organisation as the management pages and the API list it. Tables of a province are
//! small (hundreds of units, thousands of officers): callers filter them by scope in memory.

use super::{Backend, Store, StoreResult};

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct UnitRow {
    #[serde(skip)]
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub parent_code: Option<String>,
    pub valid_from: String,
    pub valid_to: Option<String>,
    pub successor_code: Option<String>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DeskRow {
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub unit_id: i64,
    pub code: String,
    pub name: String,
    pub unit_code: String,
}

/// An officer with their latest assignment.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct OfficerRow {
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub unit_id: i64,
    pub code: String,
    pub full_name: String,
    pub unit_code: String,
    pub desk_code: Option<String>,
    pub valid_from: String,
    pub valid_to: Option<String>,
}

/// One dated assignment of an officer.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct AssignmentRow {
    pub unit_code: String,
    pub unit_name: String,
    pub desk_code: Option<String>,
    pub valid_from: String,
    pub valid_to: Option<String>,
}

impl Store {
    /// An officer's assignments, oldest first.
    pub async fn assignments_of(&self, officer_code: &str) -> StoreResult<Vec<AssignmentRow>> {
        type Raw = (String, String, Option<String>, String, Option<String>);
        let rows: Vec<Raw> = on_backend!(self, pool => {
            sqlx::query_as(
                "SELECT u.code, u.name, d.code, a.valid_from, a.valid_to FROM assignments a \
                 JOIN officers o ON o.id = a.officer_id JOIN units u ON u.id = a.unit_id \
                 LEFT JOIN desks d ON d.id = a.desk_id WHERE o.code = $1",
            )
            .bind(officer_code)
            .fetch_all(pool)
            .await?
        });
        let mut rows: Vec<AssignmentRow> = rows
            .into_iter()
            .map(|(unit_code, unit_name, desk_code, valid_from, valid_to)| AssignmentRow {
                unit_code,
                unit_name,
                desk_code,
                valid_from,
                valid_to,
            })
            .collect();
        rows.sort_by(|a, b| a.valid_from.cmp(&b.valid_from));
        Ok(rows)
    }

    /// Every unit, by code.
    pub async fn units(&self) -> StoreResult<Vec<UnitRow>> {
        type Raw = (i64, String, String, String, Option<String>, String, Option<String>, Option<String>);
        let rows: Vec<Raw> = on_backend!(self, pool => {
            sqlx::query_as(
                "SELECT u.id, u.code, u.name, u.kind, p.code, u.valid_from, u.valid_to, s.code FROM units u \
                 LEFT JOIN units p ON p.id = u.parent_id LEFT JOIN units s ON s.id = u.successor_id",
            )
            .fetch_all(pool)
            .await?
        });
        let mut units: Vec<UnitRow> = rows
            .into_iter()
            .map(|(id, code, name, kind, parent_code, valid_from, valid_to, successor_code)| UnitRow {
                id,
                code,
                name,
                kind,
                parent_code,
                valid_from,
                valid_to,
                successor_code,
            })
            .collect();
        units.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(units)
    }

    /// Every desk, by code.
    pub async fn desks(&self) -> StoreResult<Vec<DeskRow>> {
        let rows: Vec<(i64, i64, String, String, String)> = on_backend!(self, pool => {
            sqlx::query_as("SELECT d.id, d.unit_id, d.code, d.name, u.code FROM desks d JOIN units u ON u.id = d.unit_id")
                .fetch_all(pool)
                .await?
        });
        let mut desks: Vec<DeskRow> = rows
            .into_iter()
            .map(|(id, unit_id, code, name, unit_code)| DeskRow { id, unit_id, code, name, unit_code })
            .collect();
        desks.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(desks)
    }

    /// Every officer with their latest assignment, by code.
    pub async fn officers(&self) -> StoreResult<Vec<OfficerRow>> {
        type Raw = (i64, i64, String, String, String, Option<String>, String, Option<String>);
        let rows: Vec<Raw> = on_backend!(self, pool => {
            sqlx::query_as(
                "SELECT o.id, a.unit_id, o.code, o.full_name, u.code, d.code, a.valid_from, a.valid_to \
                 FROM officers o JOIN assignments a ON a.officer_id = o.id \
                 JOIN units u ON u.id = a.unit_id LEFT JOIN desks d ON d.id = a.desk_id \
                 WHERE a.valid_from = (SELECT MAX(x.valid_from) FROM assignments x WHERE x.officer_id = o.id)",
            )
            .fetch_all(pool)
            .await?
        });
        let mut officers: Vec<OfficerRow> = rows
            .into_iter()
            .map(|(id, unit_id, code, full_name, unit_code, desk_code, valid_from, valid_to)| OfficerRow {
                id,
                unit_id,
                code,
                full_name,
                unit_code,
                desk_code,
                valid_from,
                valid_to,
            })
            .collect();
        officers.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(officers)
    }
}
