//! Satisfaction indices for staff: the report page, its downloads, and `GET /api/v1/indices`.
//! Every report is limited to the caller's scope (a unit outside it does not exist for them);
//! every download and API answer is recorded in the audit log, since per-officer figures are
//! personal data about the officer.

use axum::extract::{Extension, Path, Query as UrlQuery, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use super::auth::Caller;
use super::policy::{Access, ApiError, Param, StaffRoute};
use crate::app::indices::{self, Sheet};
use crate::app::reports::ReportError;
use crate::domain::account::Permission;
use crate::domain::period::Period;
use crate::domain::questionnaire::DEFAULT_ID;
use crate::domain::report::Level;
use crate::domain::report::{Query, Report};
use crate::domain::response::Channel;
use crate::error::AppError;
use crate::export::Format;
use crate::views;

pub fn routes() -> Vec<StaffRoute> {
    use Permission::Read;
    let target = |path: &'static str, param: Param, level: Level, sheet: bool| {
        let handler = get(
            move |state: State<AppState>, caller: Extension<Caller>, code: Path<String>, params: UrlQuery<Params>| {
                detail(state, caller, code, params, level, sheet)
            },
        );
        StaffRoute::new(Method::GET, path, Access::Page(Read), param, handler)
    };
    vec![
        StaffRoute::new(Method::GET, "/admin/indices", Access::Page(Read), Param::None, get(page)),
        target("/admin/indices/unit/{code}", Param::Unit, Level::Unit, false),
        target("/admin/indices/subtree/{code}", Param::Unit, Level::Subtree, false),
        target("/admin/indices/desk/{code}", Param::Desk, Level::Desk, false),
        target("/admin/indices/officer/{code}", Param::Officer, Level::Officer, false),
        target("/admin/indices/unit/{code}/sheet", Param::Unit, Level::Unit, true),
        target("/admin/indices/subtree/{code}/sheet", Param::Unit, Level::Subtree, true),
        target("/admin/indices/desk/{code}/sheet", Param::Desk, Level::Desk, true),
        target("/admin/indices/officer/{code}/sheet", Param::Officer, Level::Officer, true),
        StaffRoute::new(Method::GET, "/admin/indices/export", Access::Page(Read), Param::None, get(download)),
        StaffRoute::new(Method::GET, "/api/v1/indices", Access::Api(Read), Param::None, get(api)),
    ]
}

/// The query string of the page, the downloads and the API: the report form's fields, as the
/// pages echo them.
type Params = views::indices::ReportForm;

/// What is wrong with the parameters; the message is English, for the API.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ParamError {
    Period(String),
    Level(String),
    Channel(String),
    Flagged(String),
}

impl ParamError {
    /// What the pages say.
    fn vi(&self) -> &'static str {
        match self {
            Self::Period(_) => {
                "Kỳ báo cáo không đúng: nhập 2026, 2026-H1, 2026-Q3, 2026-07 hoặc 2026-01-01..2026-03-31."
            }
            Self::Level(_) => "Cấp báo cáo không đúng: chọn đơn vị, quầy, cán bộ hoặc lĩnh vực.",
            Self::Channel(_) => "Kênh đánh giá không đúng: chọn mã QR tại quầy, mã QR trên giấy hẹn hoặc mọi kênh.",
            Self::Flagged(_) => "Lựa chọn phiếu gắn cờ không đúng: để trống (tính cả) hoặc chọn bỏ phiếu gắn cờ.",
        }
    }

    fn message(self) -> String {
        match self {
            Self::Period(e) => format!("period: {e}"),
            Self::Level(e) => format!("level: {e}"),
            Self::Channel(e) => format!("channel: {e}"),
            Self::Flagged(e) => format!("flagged: {e}"),
        }
    }
}

impl Params {
    /// The report query; the period defaults to this year (Vietnam) and the level to units.
    fn query(&self, today: time::Date) -> Result<Query, ParamError> {
        let period = match self.period.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => Period::parse(p).map_err(ParamError::Period)?,
            None => Period::parse(&today.year().to_string()).map_err(ParamError::Period)?,
        };
        let level = match self.level.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
            Some(l) => Level::parse(l).map_err(ParamError::Level)?,
            None => Level::Unit,
        };
        Ok(Query {
            period,
            level,
            unit: self.unit.clone().filter(|u| !u.trim().is_empty()),
            questionnaire: self.questionnaire.as_deref().filter(|q| !q.is_empty()).unwrap_or(DEFAULT_ID).into(),
            channel: match self.channel.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
                None => None,
                Some(code) => Some(Channel::parse(code).ok_or_else(|| {
                    let codes: Vec<&str> = Channel::ALL.iter().map(|c| c.code()).collect();
                    ParamError::Channel(format!("'{code}' is not a channel (one of {})", codes.join(", ")))
                })?),
            },
            without_flagged: match self.flagged.as_deref().map(str::trim).unwrap_or_default() {
                "" | "include" => false,
                "exclude" => true,
                other => {
                    return Err(ParamError::Flagged(format!(
                        "'{other}' is not a choice (include, the default, or exclude)"
                    )));
                }
            },
        })
    }

    fn format(&self) -> Result<Format, String> {
        self.format.as_deref().map_or(Ok(Format::Json), Format::parse)
    }
}

/// The header that carries an export's SHA-256, the key of its signed manifest.
const MANIFEST_SHA256: header::HeaderName = header::HeaderName::from_static("x-export-sha256");

/// The file of a report, recorded in the audit log under the caller's name (by the app's
/// export); a download (`attachment`) or the API's answer.
async fn file(
    state: &AppState,
    caller: &Caller,
    report: Report,
    format: Format,
    attachment: bool,
) -> Result<Response, AppError> {
    let name = indices::file_name(&report, format);
    let mut bytes = Vec::new();
    let exported = state.app.export(caller, &[report], format, &name, &mut bytes, &|_| {}).await?;
    // The file's SHA-256, by which `hailong verify-export` finds the export's signed manifest.
    let headers =
        [(header::CONTENT_TYPE, format.content_type().to_owned()), (MANIFEST_SHA256, exported.manifest.sha256)];
    if !attachment {
        return Ok((headers, bytes).into_response());
    }
    let disposition = format!("attachment; filename=\"{}\"", name.replace(|c: char| !c.is_ascii_graphic(), "_"));
    Ok((headers, [(header::CONTENT_DISPOSITION, disposition)], bytes).into_response())
}

async fn api(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    UrlQuery(params): UrlQuery<Params>,
) -> Result<Response, ApiError> {
    let bad = |e: String| ApiError(StatusCode::BAD_REQUEST, e.into());
    let query = params.query(state.app.store.clock().today()).map_err(|e| bad(e.message()))?;
    let format = params.format().map_err(bad)?;
    let report = state.app.report(&caller, &query).await.map_err(|e| match e {
        ReportError::NotFound(message) => ApiError(StatusCode::NOT_FOUND, message.into()),
        ReportError::Store(e) => e.into(),
    })?;
    Ok(file(&state, &caller, report, format, format != Format::Json).await?)
}

async fn download(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    UrlQuery(params): UrlQuery<Params>,
) -> Result<Response, AppError> {
    let (Ok(query), Ok(format)) = (params.query(state.app.store.clock().today()), params.format()) else {
        return page(State(state), Extension(caller), UrlQuery(params)).await;
    };
    match state.app.report(&caller, &query).await {
        Ok(report) => file(&state, &caller, report, format, true).await,
        Err(ReportError::NotFound(_)) => Err(AppError::NoSuchRecord),
        Err(ReportError::Store(e)) => Err(e.into()),
    }
}

async fn page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    UrlQuery(mut params): UrlQuery<Params>,
) -> Result<Response, AppError> {
    let units = state.app.units(&caller).await?;
    let questionnaires: Vec<(String, String)> =
        state.app.questionnaires.latest_all().iter().map(|q| (q.id.clone(), q.title_vi.clone())).collect();
    let this_year = state.app.store.clock().today().year().to_string();
    params.period.get_or_insert(this_year);
    params.level.get_or_insert_with(|| "unit".into());
    let outcome = match params.query(state.app.store.clock().today()) {
        Ok(query) => match state.app.report(&caller, &query).await {
            Ok(report) => Ok(report),
            Err(ReportError::NotFound(_)) => {
                Err("Không có đơn vị hoặc phiếu này trong phạm vi của tài khoản.".to_owned())
            }
            Err(ReportError::Store(e)) => return Err(e.into()),
        },
        Err(e) => Err(e.vi().to_owned()),
    };
    let status = if outcome.is_ok() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let markup =
        views::indices::page_of(&caller, &params, &units, &questionnaires, outcome.as_ref().map_err(String::as_str));
    Ok((status, markup).into_response())
}

/// A target's page, or its printable year-end sheet. Looking at an officer's figures is
/// recorded in the audit log, as downloading them is.
async fn detail(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
    UrlQuery(mut params): UrlQuery<Params>,
    level: Level,
    sheet: bool,
) -> Result<Response, AppError> {
    params.level = Some(level.code().to_owned());
    let query = match params.query(state.app.store.clock().today()) {
        Ok(query) => query,
        Err(e) => {
            let markup = views::indices::detail_of(&caller, &params, level, Err(e.vi()), &state.app.settings.fold);
            return Ok((StatusCode::BAD_REQUEST, markup).into_response());
        }
    };
    params.period = Some(query.period.to_string());
    let which = if sheet { Sheet::Sheet } else { Sheet::Page };
    let detail = state.app.target(&caller, &query, &code, which).await?;
    let markup = if sheet {
        views::indices::sheet_of(&detail, level, &state.app.settings.fold, &state.app.settings.letterhead)
    } else {
        views::indices::detail_of(&caller, &params, level, Ok(&detail), &state.app.settings.fold)
    };
    Ok(markup.into_response())
}
