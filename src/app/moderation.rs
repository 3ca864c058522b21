//! Moderation for a caller: the responses of an officer or a unit in scope a moderator reviews
//! (when and how they were flagged, never who gave them), and excluding or restoring them with a
//! reason. Whether a role may moderate is the door's rule (`Permission::Moderate`); the scope is
//! this module's: a response outside the caller's units does not exist for them.

use super::{App, AppError, AppResult, Caller};
use crate::domain::moderation::{self, Action};
use crate::domain::period::Period;
use crate::domain::refusal::Refusal;
use crate::store::{ListOf, Listed, Moderated};

/// The most responses a review lists.
pub const REVIEW_LIMIT: i64 = 500;

/// Whose responses a moderator reviews: an officer's or a unit's, by code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reviewed<'a> {
    Officer(&'a str),
    Unit(&'a str),
}

impl App {
    /// The responses of `of` in `period`, newest first; with `only_flagged`, those that carry a
    /// flag or were excluded.
    pub async fn review(
        &self,
        caller: &Caller,
        of: Reviewed<'_>,
        period: &Period,
        only_flagged: bool,
    ) -> AppResult<Vec<Listed>> {
        let of = match of {
            Reviewed::Officer(code) => ListOf::Officer(self.officer(caller, code).await?.id),
            Reviewed::Unit(code) => ListOf::Unit(self.unit(caller, code).await?.id),
        };
        let (from, to) = period.day_range();
        let listed = self.store.responses_of(of, from, to, only_flagged, REVIEW_LIMIT).await?;
        // An officer moved between units: only what was given in the caller's units.
        Ok(listed.into_iter().filter(|l| caller.sees(l.unit_id)).collect())
    }

    /// Excludes the responses `ids` from the indices, or restores them, with `reason`. Every id
    /// must name a response given in the caller's units.
    pub async fn moderate(&self, caller: &Caller, ids: &[i64], action: Action, reason: &str) -> AppResult<Moderated> {
        if ids.is_empty() {
            return Err(AppError::Refused(Refusal::NothingChosen));
        }
        let reason = moderation::check_reason(reason).map_err(|e| AppError::Refused(Refusal::BadReason(e)))?;
        let units = self.store.response_units(ids).await?;
        if ids.iter().any(|id| units.get(id).is_none_or(|unit| !caller.sees(*unit))) {
            return Err(AppError::NoSuchRecord);
        }
        Ok(self.store.moderate(ids, action, &reason, &caller.actor()).await?)
    }
}
