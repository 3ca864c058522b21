//! The catalogues: questionnaires (stored once per version, never changed under it) and the
//! procedure fields.

use super::{Backend, Store, StoreError, StoreResult};
use crate::domain::org::Field;
use crate::domain::questionnaire::Questionnaire;
use crate::domain::text;

impl Store {
    /// Records the shipped questionnaires and returns every stored version. A shipped definition
    /// that differs from the stored one of the same id and version is refused: a change needs a
    /// new version, so that old responses keep the wording they answered.
    pub async fn sync_questionnaires(&self, shipped: &[Questionnaire]) -> StoreResult<Vec<Questionnaire>> {
        write_transaction!(self, tx => {
            for q in shipped {
                let stored: Option<String> =
                    sqlx::query_scalar("SELECT digest FROM questionnaires WHERE id = $1 AND version = $2")
                        .bind(&q.id)
                        .bind(q.version)
                        .fetch_optional(&mut *tx)
                        .await?;
                match stored {
                    Some(digest) if digest == q.digest() => {}
                    Some(_) => {
                        return Err(StoreError::Config(format!(
                            "questionnaire {} version {} differs from the one already stored; \
                             give the changed questionnaire a new version",
                            q.id, q.version
                        )));
                    }
                    None => {
                        sqlx::query(
                            "INSERT INTO questionnaires (id, version, digest, definition, loaded_at) \
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id, version) DO NOTHING",
                        )
                        .bind(&q.id)
                        .bind(q.version)
                        .bind(q.digest())
                        .bind(q.to_json())
                        .bind(self.clock.now_ms())
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }
        });
        self.stored_questionnaires().await
    }

    /// Every stored questionnaire version, as it is (for the checks that change nothing).
    pub async fn stored_questionnaires(&self) -> StoreResult<Vec<Questionnaire>> {
        let rows: Vec<(String,)> = on_backend!(self, pool => {
            sqlx::query_as("SELECT definition FROM questionnaires ORDER BY id, version")
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(|(json,)| Questionnaire::from_json(&json).map_err(StoreError::Config)).collect()
    }

    /// The procedure field catalogue, by name in Vietnamese alphabetical order.
    pub async fn fields(&self) -> StoreResult<Vec<Field>> {
        let mut rows: Vec<(i64, String, String)> = on_backend!(self, pool => {
            sqlx::query_as("SELECT id, code, name FROM fields").fetch_all(pool).await?
        });
        // Sorted here, not in SQL: the backends' collations order Vietnamese differently.
        rows.sort_by(|a, b| text::compare(&a.2, &b.2).then_with(|| a.1.cmp(&b.1)));
        Ok(rows.into_iter().map(|(id, code, name)| Field { id, code, name }).collect())
    }
}
