//! The organisation as the management pages and the API list it. Tables of a province are
//! small (hundreds of units, thousands of officers): callers filter them by scope in memory.

use super::{Backend, Store, StoreResult};
use crate::domain::org::{Assignment, Desk, Officer, Unit};

impl Store {
    /// An officer's assignments, oldest first.
    pub async fn assignments_of(&self, officer_code: &str) -> StoreResult<Vec<Assignment>> {
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
        let mut rows: Vec<Assignment> = rows
            .into_iter()
            .map(|(unit_code, unit_name, desk_code, valid_from, valid_to)| Assignment {
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
    pub async fn units(&self) -> StoreResult<Vec<Unit>> {
        type Raw = (i64, String, String, String, Option<String>, String, Option<String>, Option<String>);
        let rows: Vec<Raw> = on_backend!(self, pool => {
            sqlx::query_as(
                "SELECT u.id, u.code, u.name, u.kind, p.code, u.valid_from, u.valid_to, s.code FROM units u \
                 LEFT JOIN units p ON p.id = u.parent_id LEFT JOIN units s ON s.id = u.successor_id",
            )
            .fetch_all(pool)
            .await?
        });
        let mut units: Vec<Unit> = rows
            .into_iter()
            .map(|(id, code, name, kind, parent_code, valid_from, valid_to, successor_code)| Unit {
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
    pub async fn desks(&self) -> StoreResult<Vec<Desk>> {
        let rows: Vec<(i64, i64, String, String, String)> = on_backend!(self, pool => {
            sqlx::query_as("SELECT d.id, d.unit_id, d.code, d.name, u.code FROM desks d JOIN units u ON u.id = d.unit_id")
                .fetch_all(pool)
                .await?
        });
        let mut desks: Vec<Desk> = rows
            .into_iter()
            .map(|(id, unit_id, code, name, unit_code)| Desk { id, unit_id, code, name, unit_code })
            .collect();
        desks.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(desks)
    }

    /// Every officer with their latest assignment, by code.
    pub async fn officers(&self) -> StoreResult<Vec<Officer>> {
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
        let mut officers: Vec<Officer> = rows
            .into_iter()
            .map(|(id, unit_id, code, full_name, unit_code, desk_code, valid_from, valid_to)| Officer {
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
