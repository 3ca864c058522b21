//! Collection points: what a citizen's form needs, the lists and posters, and the changes made
//! to a point (revoke, reissue, its questionnaire), each with its audit entry.

use super::{Backend, Store, StoreError, StoreResult};
use crate::domain::audit::{Action, Target};
use crate::domain::clock;
use crate::domain::point::{Point, PointContext, Slug};

impl Store {
    /// The form context of a slug as it stands today, open or not; `None` if no point ever had it.
    pub async fn point_context(&self, slug: &Slug) -> StoreResult<Option<PointContext>> {
        let today = clock::iso(clock::vietnam_date(self.clock.now_ms()));
        type Raw = (i64, String, Option<i64>, Option<i64>, String, Option<String>, Option<String>);
        let row: Option<Raw> = on_backend!(self, pool => {
            sqlx::query_as(concat!(
                "SELECT p.id, p.questionnaire_id, p.revoked_at, eu.id, COALESCE(eu.name, pu.name), ed.name, \
                        o.full_name \
                 FROM collection_points p JOIN units pu ON pu.id = p.unit_id",
                point_on_day!("$2"),
                "WHERE p.slug = $1 ORDER BY a.valid_from DESC LIMIT 1"
            ))
            .bind(slug.as_str())
            .bind(&today)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(point_id, questionnaire_id, revoked_at, open_unit, unit_name, desk_name, officer_name)| {
            PointContext {
                point_id,
                questionnaire_id: questionnaire_id.into(),
                closed: revoked_at.is_some() || open_unit.is_none(),
                unit_name,
                desk_name,
                officer_name,
            }
        }))
    }

    /// Every active collection point, ordered by unit, desk and officer.
    pub async fn active_points(&self) -> StoreResult<Vec<Point>> {
        self.points_where(None).await
    }

    /// The active points of one unit (its own, its desks', its officers'), or `None` if the unit
    /// does not exist.
    pub async fn unit_points(&self, unit_code: &str) -> StoreResult<Option<(String, Vec<Point>)>> {
        let name: Option<String> = on_backend!(self, pool => {
            sqlx::query_scalar("SELECT name FROM units WHERE code = $1").bind(unit_code).fetch_optional(pool).await?
        });
        match name {
            Some(name) => Ok(Some((name, self.points_where(Some(unit_code)).await?))),
            None => Ok(None),
        }
    }

    async fn points_where(&self, unit_code: Option<&str>) -> StoreResult<Vec<Point>> {
        type Raw = (
            i64,
            String,
            i64,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            String,
        );
        let today = clock::iso(clock::vietnam_date(self.clock.now_ms()));
        let rows: Vec<Raw> = on_backend!(self, pool => {
            sqlx::query_as(concat!(
                "SELECT p.id, p.slug, eu.id, eu.code, eu.name, ed.code, ed.name, o.code, o.full_name, p.label, \
                        p.questionnaire_id \
                 FROM collection_points p",
                point_on_day!("$2"),
                "WHERE p.revoked_at IS NULL AND eu.id IS NOT NULL AND ($1 IS NULL OR eu.code = $1)"
            ))
            .bind(unit_code)
            .bind(&today)
            .fetch_all(pool)
            .await?
        });
        let mut points = rows
            .into_iter()
            .map(
                |(
                    id,
                    slug,
                    unit_id,
                    unit_code,
                    unit_name,
                    desk_code,
                    desk_name,
                    officer_code,
                    officer_name,
                    label,
                    q,
                )| {
                    Ok(Point {
                        id,
                        slug: Slug::parse(&slug).map_err(StoreError::Config)?,
                        unit_id,
                        unit_code,
                        unit_name,
                        desk_code,
                        desk_name,
                        officer_code,
                        officer_name,
                        label,
                        questionnaire_id: q.into(),
                    })
                },
            )
            .collect::<StoreResult<Vec<_>>>()?;
        // Sorted here, not in SQL: the backends' collations order text differently.
        points.sort_by(|x, y| {
            let key = |p: &Point| {
                (p.unit_code.clone(), p.desk_code.is_some(), p.desk_code.clone(), p.officer_code.clone(), p.id)
            };
            key(x).cmp(&key(y))
        });
        Ok(points)
    }

    /// The slug of an officer's point that is not revoked (the newest, after a reissue): the
    /// form a receipt for that officer opens. Whether it takes ratings today is the point
    /// context's to say.
    pub async fn officer_point(&self, officer_code: &str) -> StoreResult<Option<Slug>> {
        let slug: Option<String> = on_backend!(self, pool => {
            sqlx::query_scalar(
                "SELECT p.slug FROM collection_points p JOIN officers o ON o.id = p.officer_id \
                 WHERE o.code = $1 AND p.revoked_at IS NULL ORDER BY p.id DESC LIMIT 1",
            )
            .bind(officer_code)
            .fetch_optional(pool)
            .await?
        });
        slug.map(|s| Slug::parse(&s).map_err(StoreError::Config)).transpose()
    }

    /// The active point with this slug.
    pub async fn active_point(&self, slug: &Slug) -> StoreResult<Option<Point>> {
        Ok(self.active_points().await?.into_iter().find(|p| &p.slug == slug))
    }

    /// Revokes a point: its QR code stops accepting ratings. False if it was not active.
    pub async fn revoke_point(&self, slug: &Slug, actor: &str) -> StoreResult<bool> {
        let now = self.clock.now_ms();
        Ok(write_transaction!(self, tx => {
            let done = sqlx::query("UPDATE collection_points SET revoked_at = $2 WHERE slug = $1 AND revoked_at IS NULL")
                .bind(slug.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if done == 0 {
                return Ok(false);
            }
            audit!(tx, now, actor, Action::PointRevoke, Target::Point(slug.to_string()), None::<String>, None::<String>);
            true
        }))
    }

    /// Revokes a point and issues a new slug for the same target; `None` if it was not active.
    pub async fn reissue_point(&self, slug: &Slug, actor: &str) -> StoreResult<Option<Slug>> {
        let fresh = Slug::generate();
        let now = self.clock.now_ms();
        let reissued = write_transaction!(self, tx => {
            let new_id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO collection_points (slug, unit_id, desk_id, officer_id, questionnaire_id, label, created_at) \
                 SELECT $2, unit_id, desk_id, officer_id, questionnaire_id, label, $3 \
                 FROM collection_points WHERE slug = $1 AND revoked_at IS NULL \
                 RETURNING id",
            )
            .bind(slug.as_str())
            .bind(fresh.as_str())
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(new_id) = new_id {
                sqlx::query("UPDATE collection_points SET revoked_at = $2, replaced_by = $3 WHERE slug = $1")
                    .bind(slug.as_str())
                    .bind(now)
                    .bind(new_id)
                    .execute(&mut *tx)
                    .await?;
                audit!(tx, now, actor, Action::PointReissue, Target::Point(slug.to_string()), None::<String>, Some(format!("{{\"replaced_by\":\"{fresh}\"}}")));
                true
            } else {
                false
            }
        });
        Ok(reissued.then_some(fresh))
    }

    /// Makes an active point use another questionnaire from now on. False if not active.
    pub async fn set_point_questionnaire(&self, slug: &Slug, questionnaire_id: &str, actor: &str) -> StoreResult<bool> {
        let now = self.clock.now_ms();
        Ok(write_transaction!(self, tx => {
            let before: Option<String> = sqlx::query_scalar(
                "SELECT questionnaire_id FROM collection_points WHERE slug = $1 AND revoked_at IS NULL",
            )
            .bind(slug.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(before) = before else { return Ok(false) };
            sqlx::query("UPDATE collection_points SET questionnaire_id = $2 WHERE slug = $1")
                .bind(slug.as_str())
                .bind(questionnaire_id)
                .execute(&mut *tx)
                .await?;
            audit!(tx, now, actor, Action::PointQuestionnaire, Target::Point(slug.to_string()), Some(serde_json::json!({ "questionnaire": before }).to_string()), Some(serde_json::json!({ "questionnaire": questionnaire_id }).to_string()));
            true
        }))
    }
}
