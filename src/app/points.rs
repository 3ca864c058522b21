//! Collection points: the ones a caller may see and change, their posters, and the point behind
//! a citizen's form (cached; see [`super::CACHE_TTL`]).

use std::sync::Arc;

use super::{App, AppError, AppResult, Caller};
use crate::domain::org::Field;
use crate::domain::point::{Point, PointContext, Slug};
use crate::domain::questionnaire::Questionnaire;

/// A unit's active points, as its poster sheet shows them.
#[derive(Clone, Debug)]
pub struct Posters {
    pub unit_name: String,
    pub points: Vec<Point>,
}

impl App {
    /// The active points in the caller's scope.
    pub async fn points(&self, caller: &Caller) -> AppResult<Vec<Point>> {
        Ok(self.store.active_points().await?.into_iter().filter(|p| caller.sees(p.unit_id)).collect())
    }

    /// The active point `slug`, if the caller may see it; otherwise it does not exist for them.
    pub async fn point(&self, caller: &Caller, slug: &str) -> AppResult<Point> {
        let slug = Slug::parse(slug).map_err(|_| AppError::NoSuchRecord)?;
        let point = self.store.active_point(&slug).await?.ok_or(AppError::NoSuchRecord)?;
        if caller.sees(point.unit_id) { Ok(point) } else { Err(AppError::NoSuchRecord) }
    }

    /// Opens a point for a unit, or one of its desks or officers; every code must be in scope
    /// and the questionnaire must exist.
    pub async fn create_point(
        &self,
        caller: &Caller,
        unit: &str,
        desk: Option<&str>,
        officer: Option<&str>,
        questionnaire: &str,
    ) -> AppResult<Slug> {
        let org = self.organisation(caller).await?;
        let unit = org.unit_code(unit)?;
        let desk = desk.map(|d| org.desk_code(d)).transpose()?;
        let officer = officer.map(|o| org.officer_code(o)).transpose()?;
        if self.questionnaires.latest(questionnaire).is_none() {
            return Err(AppError::NoSuchRecord);
        }
        let slug =
            self.store.create_point(&unit, desk.as_ref(), officer.as_ref(), questionnaire, &caller.actor()).await?;
        self.forget_point(slug.as_str());
        Ok(slug)
    }

    /// Revokes a point in scope: its QR code stops taking ratings.
    pub async fn revoke_point(&self, caller: &Caller, slug: &str) -> AppResult<()> {
        let point = self.point(caller, slug).await?;
        let revoked = self.store.revoke_point(&point.slug, &caller.actor()).await?;
        self.forget_point(point.slug.as_str());
        if revoked { Ok(()) } else { Err(AppError::NoSuchRecord) }
    }

    /// Replaces a point in scope by a new one with a new slug (a QR code that leaked).
    pub async fn reissue_point(&self, caller: &Caller, slug: &str) -> AppResult<Slug> {
        let point = self.point(caller, slug).await?;
        let fresh = self.store.reissue_point(&point.slug, &caller.actor()).await?;
        self.forget_point(point.slug.as_str());
        fresh.ok_or(AppError::NoSuchRecord)
    }

    /// Gives a point in scope another questionnaire (its latest version from now on).
    pub async fn set_point_questionnaire(&self, caller: &Caller, slug: &str, questionnaire: &str) -> AppResult<()> {
        let point = self.point(caller, slug).await?;
        if self.questionnaires.latest(questionnaire).is_none() {
            return Err(AppError::NoSuchRecord);
        }
        let changed = self.store.set_point_questionnaire(&point.slug, questionnaire, &caller.actor()).await?;
        self.forget_point(point.slug.as_str());
        if changed { Ok(()) } else { Err(AppError::NoSuchRecord) }
    }

    /// The poster sheet of a unit in scope.
    pub async fn posters(&self, caller: &Caller, unit_code: &str) -> AppResult<Posters> {
        let unit = self.unit(caller, unit_code).await?;
        let (unit_name, points) = self.store.unit_points(&unit.code).await?.ok_or(AppError::NoSuchRecord)?;
        Ok(Posters { unit_name, points })
    }

    /// The point behind a citizen's form, open or not; a slug that never existed is not found.
    pub async fn point_context(&self, slug: &str) -> AppResult<(Slug, Arc<PointContext>)> {
        let slug = Slug::parse(slug).map_err(|_| AppError::NotFound)?;
        if let Some(point) = self.points.contexts.get(&slug.as_str().to_owned()) {
            return Ok((slug, point));
        }
        let point = Arc::new(self.store.point_context(&slug).await?.ok_or(AppError::NotFound)?);
        self.points.contexts.put(slug.as_str().to_owned(), point.clone());
        Ok((slug, point))
    }

    /// The point behind a citizen's form, if it still takes ratings.
    pub async fn open_point(&self, slug: &str) -> AppResult<(Slug, Arc<PointContext>)> {
        let (slug, point) = self.point_context(slug).await?;
        if point.closed {
            return Err(AppError::PointRevoked);
        }
        Ok((slug, point))
    }

    /// The questionnaire a point's form shows: the latest version of its questionnaire.
    pub fn questionnaire_of(&self, point: &PointContext) -> AppResult<Arc<Questionnaire>> {
        self.questionnaires.latest(&point.questionnaire_id).cloned().ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("point uses unknown questionnaire '{}'", point.questionnaire_id))
        })
    }

    /// The procedure fields a form offers (cached).
    pub async fn fields(&self) -> AppResult<Arc<Vec<Field>>> {
        if let Some(fields) = self.fields.get(&()) {
            return Ok(fields);
        }
        let fields = Arc::new(self.store.fields().await?);
        self.fields.put((), fields.clone());
        Ok(fields)
    }
}
