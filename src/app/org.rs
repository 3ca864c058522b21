//! The organisation as a caller sees it (their scope of units, with those units' desks and
//! officers), and the changes made to it: desks, officers' assignments, imports. A code a
//! change names must be in the caller's scope, or it does not exist for them.

use time::Date;

use super::{App, AppError, AppResult, Caller};
use crate::domain::org::{Assignment, Code, Desk, Name, Officer, Unit};
use crate::domain::refusal::Refusal;
use crate::store::{ImportSummary, OrgBatch};

/// The units, desks and officers in a caller's scope.
#[derive(Clone, Debug, Default)]
pub struct Organisation {
    pub units: Vec<Unit>,
    pub desks: Vec<Desk>,
    pub officers: Vec<Officer>,
}

impl Organisation {
    /// A code the caller named that must be one of these units, or does not exist.
    pub fn unit_code(&self, text: &str) -> AppResult<Code> {
        known(text, self.units.iter().map(|u| u.code.as_str()))
    }

    pub fn desk_code(&self, text: &str) -> AppResult<Code> {
        known(text, self.desks.iter().map(|d| d.code.as_str()))
    }

    pub fn officer_code(&self, text: &str) -> AppResult<Code> {
        known(text, self.officers.iter().map(|o| o.code.as_str()))
    }
}

fn known<'a>(text: &str, codes: impl IntoIterator<Item = &'a str>) -> AppResult<Code> {
    let code = Code::parse(text).map_err(|_| AppError::NoSuchRecord)?;
    codes.into_iter().any(|k| k == code.as_str()).then_some(code).ok_or(AppError::NoSuchRecord)
}

/// An officer in scope with their assignments, oldest first.
#[derive(Clone, Debug)]
pub struct OfficerHistory {
    pub officer: Officer,
    pub assignments: Vec<Assignment>,
}

impl App {
    /// Everything of the organisation in the caller's scope.
    pub async fn organisation(&self, caller: &Caller) -> AppResult<Organisation> {
        Ok(Organisation {
            units: self.units(caller).await?,
            desks: self.desks(caller).await?,
            officers: self.officers(caller).await?,
        })
    }

    pub async fn units(&self, caller: &Caller) -> AppResult<Vec<Unit>> {
        Ok(self.store.units().await?.into_iter().filter(|u| caller.sees(u.id)).collect())
    }

    pub async fn desks(&self, caller: &Caller) -> AppResult<Vec<Desk>> {
        Ok(self.store.desks().await?.into_iter().filter(|d| caller.sees(d.unit_id)).collect())
    }

    pub async fn officers(&self, caller: &Caller) -> AppResult<Vec<Officer>> {
        Ok(self.store.officers().await?.into_iter().filter(|o| caller.sees(o.unit_id)).collect())
    }

    pub async fn unit(&self, caller: &Caller, code: &str) -> AppResult<Unit> {
        self.units(caller).await?.into_iter().find(|u| u.code == code).ok_or(AppError::NoSuchRecord)
    }

    pub async fn desk(&self, caller: &Caller, code: &str) -> AppResult<Desk> {
        self.desks(caller).await?.into_iter().find(|d| d.code == code).ok_or(AppError::NoSuchRecord)
    }

    pub async fn officer(&self, caller: &Caller, code: &str) -> AppResult<Officer> {
        self.officers(caller).await?.into_iter().find(|o| o.code == code).ok_or(AppError::NoSuchRecord)
    }

    pub async fn officer_history(&self, caller: &Caller, code: &str) -> AppResult<OfficerHistory> {
        let officer = self.officer(caller, code).await?;
        let assignments = self.store.assignments_of(&officer.code).await?;
        Ok(OfficerHistory { officer, assignments })
    }

    /// Adds a desk to a unit in scope; its code and name as typed.
    pub async fn add_desk(&self, caller: &Caller, code: &str, name: &str, unit: &str) -> AppResult<()> {
        let units = self.units(caller).await?;
        let unit = known(unit, units.iter().map(|u| u.code.as_str()))?;
        let code = Code::parse(code).map_err(|e| AppError::Refused(Refusal::BadCode(e)))?;
        let name = Name::parse(name).map_err(|e| AppError::Refused(Refusal::BadName(e)))?;
        Ok(self.store.add_desk(&code, &name, &unit, &caller.actor()).await?)
    }

    /// Moves an officer in scope to a unit (and desk) in scope from `from` on (`None`: a date
    /// the door could not read, refused once the codes are known to be in scope); their point
    /// follows them, so every cached point is forgotten.
    pub async fn move_officer(
        &self,
        caller: &Caller,
        officer: &str,
        unit: &str,
        desk: Option<&str>,
        from: Option<Date>,
    ) -> AppResult<()> {
        let org = self.organisation(caller).await?;
        let officer = org.officer_code(officer)?;
        let unit = org.unit_code(unit)?;
        let desk = desk.map(|d| org.desk_code(d)).transpose()?;
        let from = from.ok_or(AppError::Refused(Refusal::DateUnreadable))?;
        self.store.move_officer(&officer, &unit, desk.as_ref(), from, &caller.actor()).await?;
        self.forget_points();
        Ok(())
    }

    /// Ends the open assignment of an officer in scope on `last_day`; their point closes after it.
    pub async fn end_assignment(&self, caller: &Caller, officer: &str, last_day: Option<Date>) -> AppResult<()> {
        let officers = self.officers(caller).await?;
        let officer = known(officer, officers.iter().map(|o| o.code.as_str()))?;
        let last_day = last_day.ok_or(AppError::Refused(Refusal::DateUnreadable))?;
        self.store.end_assignment(&officer, last_day, &caller.actor()).await?;
        self.forget_points();
        Ok(())
    }

    /// Writes an organisation list (units, desks, assignments, fields) in one transaction and
    /// opens a point for every new unit, desk and officer. The console's use case: the whole
    /// organisation is its scope.
    pub async fn import(
        &self,
        caller: &Caller,
        batch: &OrgBatch,
        questionnaire: &str,
        progress: &(dyn Fn(u64) + Sync),
    ) -> AppResult<ImportSummary> {
        if caller.scope != crate::domain::account::Scope::All {
            return Err(AppError::NotFound);
        }
        let summary = self.store.import_org(batch, questionnaire, &caller.actor(), progress).await?;
        self.forget_points();
        self.fields.clear();
        Ok(summary)
    }
}
