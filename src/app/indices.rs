//! Satisfaction indices for a caller: reports over their scope, the page of one target, the
//! dashboard, and exports. Looking at an officer's figures and every export are recorded in
//! the audit log here, once for every door, since per-officer figures are personal data.

use std::io::Write;

use super::reports::{self, ReportError};
use super::{App, AppError, AppResult, Caller};
use crate::domain::account::Permission;
use crate::domain::audit::{Action, Target};
use crate::domain::period::Period;
use crate::domain::questionnaire::DEFAULT_ID;
use crate::domain::report::{Detail, Level, Overview, Query, Report};
use crate::export::{self, Format};

/// What a report asked for could not be found (for this caller), or the store failed.
impl From<ReportError> for AppError {
    fn from(error: ReportError) -> Self {
        match error {
            ReportError::NotFound(_) => AppError::NoSuchRecord,
            ReportError::Store(e) => e.into(),
        }
    }
}

/// A page of one target, or its printable year-end sheet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sheet {
    Page,
    Sheet,
}

impl App {
    /// The report of `query` over the caller's scope.
    pub async fn report(&self, caller: &Caller, query: &Query) -> Result<Report, ReportError> {
        let started = std::time::Instant::now();
        let report = reports::build(&self.store, &self.questionnaires, &self.settings, query, &caller.scope).await;
        metrics::histogram!(crate::telemetry::names::REPORT_SECONDS, "level" => query.level.code())
            .record(started.elapsed().as_secs_f64());
        report
    }

    /// The page of the target `code` at `query.level`; an officer's page is recorded.
    pub async fn target(&self, caller: &Caller, query: &Query, code: &str, sheet: Sheet) -> AppResult<Detail> {
        let comments = caller.allows(Permission::ReadComments);
        let detail =
            reports::detail(&self.store, &self.questionnaires, &self.settings, query, code, &caller.scope, comments)
                .await?;
        if query.level == Level::Officer {
            let what = match sheet {
                Sheet::Page => "page",
                Sheet::Sheet => "sheet",
            };
            let detail_text = format!("{what} {} {}", query.period, query.questionnaire);
            self.record_reading(caller, Action::IndicesView, &Target::Officer(code.to_owned()), &detail_text).await?;
        }
        Ok(detail)
    }

    /// The dashboard: this year (Vietnam) of the default questionnaire over the caller's scope.
    pub async fn overview(&self, caller: &Caller) -> AppResult<Overview> {
        let year = self.store.clock().today().year();
        let period = Period::parse(&year.to_string()).map_err(anyhow::Error::msg)?;
        let overview =
            reports::overview(&self.store, &self.questionnaires, &self.settings, &caller.scope, period, DEFAULT_ID)
                .await
                .map_err(|e| match e {
                    ReportError::NotFound(m) => AppError::from(anyhow::Error::msg(m)),
                    ReportError::Store(e) => e.into(),
                })?;
        Ok(overview)
    }

    /// Writes `reports` as `format` to `sink`, then records the export under the caller's
    /// name. `tick` is told the rows written so far (a progress bar). Returns the rows.
    pub async fn export(
        &self,
        caller: &Caller,
        reports: &[Report],
        format: Format,
        file: &str,
        sink: &mut (dyn Write + Send),
        tick: &(dyn Fn(u64) + Sync),
    ) -> AppResult<Exported> {
        let rows: usize = reports.iter().map(|r| r.rows.len()).sum();
        let mut hashing = super::trust::Hashing::new(sink);
        match format {
            Format::Csv => export::write_csv(reports, &mut hashing, tick).map_err(anyhow::Error::from)?,
            Format::Json => export::write_json(reports, &mut hashing).map_err(anyhow::Error::from)?,
            Format::Xlsx => {
                let bytes = export::write_xlsx(reports, tick).map_err(anyhow::Error::from)?;
                hashing.write_all(&bytes).map_err(anyhow::Error::from)?;
            }
        }
        hashing.flush().map_err(anyhow::Error::from)?;
        let (sha256, bytes) = hashing.finish();
        let (target, detail) = export::audit_detail(reports, format, rows);
        self.record_reading(caller, Action::IndicesExport, &Target::Report(target), &detail).await?;
        let manifest = self.sign_export(file, &sha256, bytes, query_words(reports)).await?;
        Ok(Exported { rows, manifest })
    }
}

/// What an export wrote: its rows, and the signed manifest of the file.
#[derive(Clone, Debug)]
pub struct Exported {
    pub rows: usize,
    pub manifest: crate::domain::chain::Manifest,
}

/// The query of an export in words, for its manifest: the levels, then what they share.
fn query_words(reports: &[Report]) -> String {
    let levels: Vec<&str> = reports.iter().map(|r| r.query.level.code()).collect();
    let Some(first) = reports.first() else { return String::new() };
    let q = &first.query;
    format!(
        "level={} period={} unit={} questionnaire={} channel={} flagged={} format=v1",
        levels.join(","),
        q.period,
        q.unit.as_deref().unwrap_or("*"),
        q.questionnaire.as_str(),
        q.channel.map_or("*", |c| c.code()),
        if q.without_flagged { "exclude" } else { "include" },
    )
}

/// The file name a download of `report` is offered under.
pub fn file_name(report: &Report, format: Format) -> String {
    format!(
        "chi-so-{}-{}{}{}{}.{}",
        report.query.level.code(),
        report.query.period.to_string().replace("..", "_"),
        report.query.unit.as_deref().map(|u| format!("-{u}")).unwrap_or_default(),
        report.query.channel.map(|c| format!("-{}", c.code())).unwrap_or_default(),
        if report.query.without_flagged { "-khong-co-phieu-gan-co" } else { "" },
        format.extension()
    )
}
