//! The management pages under `/admin`, each scoped to the caller's part of the unit tree.

use axum::extract::{Extension, Form, Path, Query, State};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::Markup;
use serde::Deserialize;

use super::AppState;
use super::auth::{self, Caller};
use super::policy::{Access, Param, StaffRoute};
use crate::domain::account::Permission;
use crate::domain::audit::AuditFilter;
use crate::domain::point::form_url;
use crate::error::AppError;
use crate::{qr, views};

pub fn routes() -> Vec<StaffRoute> {
    use Access::{Page, Public};
    use Permission::*;
    vec![
        StaffRoute::new(Method::GET, "/admin/login", Public, Param::None, get(auth::login_page)),
        StaffRoute::new(Method::POST, "/admin/login", Public, Param::None, post(auth::login)),
        StaffRoute::new(Method::GET, "/admin/login/second-factor", Public, Param::None, get(auth::second_factor_page)),
        StaffRoute::new(Method::POST, "/admin/login/second-factor", Public, Param::None, post(auth::second_factor)),
        StaffRoute::new(Method::POST, "/admin/logout", Public, Param::None, post(auth::logout)),
        StaffRoute::new(Method::GET, "/admin", Page(Read), Param::None, get(dashboard)),
        StaffRoute::new(Method::GET, "/admin/points", Page(Read), Param::None, get(points)),
        StaffRoute::new(Method::GET, "/admin/points/{slug}/qr.svg", Page(Read), Param::Point, get(point_qr)),
        StaffRoute::new(Method::POST, "/admin/points/{slug}/revoke", Page(ManagePoints), Param::Point, post(revoke)),
        StaffRoute::new(Method::POST, "/admin/points/{slug}/reissue", Page(ManagePoints), Param::Point, post(reissue)),
        StaffRoute::new(Method::GET, "/admin/units/{code}/posters", Page(ManagePoints), Param::Unit, get(posters)),
        StaffRoute::new(Method::GET, "/admin/audit", Page(Administer), Param::None, get(audit)),
        StaffRoute::new(Method::POST, "/admin/checkpoint", Page(Moderate), Param::None, post(checkpoint)),
        StaffRoute::new(
            Method::GET,
            "/admin/officers/{code}/responses",
            Page(Moderate),
            Param::Officer,
            get(review_officer),
        ),
        StaffRoute::new(
            Method::POST,
            "/admin/officers/{code}/responses",
            Page(Moderate),
            Param::Officer,
            post(moderate_officer),
        ),
        StaffRoute::new(Method::GET, "/admin/units/{code}/responses", Page(Moderate), Param::Unit, get(review_unit)),
        StaffRoute::new(
            Method::POST,
            "/admin/units/{code}/responses",
            Page(Moderate),
            Param::Unit,
            post(moderate_unit),
        ),
    ]
}

async fn dashboard(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Result<Markup, AppError> {
    let overview = state.app.overview(&caller).await?;
    let org = state.app.organisation(&caller).await?;
    let checkpoint = match caller.allows(Permission::Moderate) {
        true => Some(state.app.latest_checkpoint().await?),
        false => None,
    };
    Ok(views::admin::dashboard(&caller, &overview, &org.units, &org.desks, &org.officers, checkpoint))
}

/// Makes a checkpoint of the hash chain now and hands it over as a file to keep.
async fn checkpoint(
    State(state): State<AppState>,
    Extension(_caller): Extension<Caller>,
) -> Result<Response, AppError> {
    let checkpoint = state.app.make_checkpoint().await?;
    let name = format!("checkpoint-{:010}.json", checkpoint.seq);
    let disposition = format!("attachment; filename=\"{name}\"");
    Ok((
        [(header::CONTENT_TYPE, "application/json".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        checkpoint.to_text(),
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
struct ReviewQuery {
    period: Option<String>,
    all: Option<String>,
    /// After a moderation: what was done (`exclude`, `restore`) and to how many.
    did: Option<String>,
    done: Option<usize>,
}

impl ReviewQuery {
    /// The period as typed (this year when blank), and whether to list every response.
    fn read(&self, today: time::Date) -> (String, Result<crate::domain::period::Period, String>, bool) {
        let typed = self
            .period
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map_or_else(|| today.year().to_string(), str::to_owned);
        let period = crate::domain::period::Period::parse(&typed);
        (typed, period, self.all.as_deref() == Some("1"))
    }
}

/// The review page of `of`, with `message` (a refusal, or what was done).
async fn review_page(
    state: &AppState,
    caller: &Caller,
    of: crate::app::moderation::Reviewed<'_>,
    query: &ReviewQuery,
    message: Option<String>,
) -> Result<Markup, AppError> {
    use crate::app::moderation::Reviewed;
    let (whose, path) = match of {
        Reviewed::Officer(code) => {
            let officer = state.app.officer(caller, code).await?;
            (format!("{} ({code})", officer.full_name), format!("/admin/officers/{code}/responses"))
        }
        Reviewed::Unit(code) => {
            let unit = state.app.unit(caller, code).await?;
            (format!("{} ({code})", unit.name), format!("/admin/units/{code}/responses"))
        }
    };
    let (typed, period, all) = query.read(state.app.store.clock().today());
    // A refusal says why nothing was done; after a change, the page says what was.
    let done = query
        .did
        .as_deref()
        .and_then(crate::domain::moderation::Action::parse)
        .map(|action| format!("Đã {} {} phiếu.", action.vi(), query.done.unwrap_or(0)));
    let (listed, message) = match period {
        Ok(period) => (state.app.review(caller, of, &period, !all).await?, message),
        Err(_) => (
            Vec::new(),
            Some("Kỳ không đúng: nhập 2026, 2026-H1, 2026-Q3, 2026-07 hoặc 2026-01-01..2026-03-31.".to_owned()),
        ),
    };
    let said = match (&message, &done) {
        (Some(problem), _) => Some(views::admin::Said::Problem(problem)),
        (None, Some(done)) => Some(views::admin::Said::Done(done)),
        (None, None) => None,
    };
    Ok(views::admin::review(caller, &whose, &path, &typed, all, &listed, said))
}

async fn review_officer(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
    Query(query): Query<ReviewQuery>,
) -> Result<Markup, AppError> {
    review_page(&state, &caller, crate::app::moderation::Reviewed::Officer(&code), &query, None).await
}

async fn review_unit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
    Query(query): Query<ReviewQuery>,
) -> Result<Markup, AppError> {
    review_page(&state, &caller, crate::app::moderation::Reviewed::Unit(&code), &query, None).await
}

async fn moderate_officer(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> Result<Response, AppError> {
    moderate(&state, &caller, crate::app::moderation::Reviewed::Officer(&code), form).await
}

async fn moderate_unit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> Result<Response, AppError> {
    moderate(&state, &caller, crate::app::moderation::Reviewed::Unit(&code), form).await
}

/// Excludes or restores the responses ticked on a review page (`r{ID}`), with the reason
/// typed; back to the page, which says what was done (or, with 422, why nothing was).
async fn moderate(
    state: &AppState,
    caller: &Caller,
    of: crate::app::moderation::Reviewed<'_>,
    form: std::collections::HashMap<String, String>,
) -> Result<Response, AppError> {
    use crate::app::moderation::Reviewed;
    use crate::domain::moderation::Action;
    // The target first: outside the scope it does not exist, whatever the form says.
    let path = match of {
        Reviewed::Officer(code) => format!("/admin/officers/{}/responses", state.app.officer(caller, code).await?.code),
        Reviewed::Unit(code) => format!("/admin/units/{}/responses", state.app.unit(caller, code).await?.code),
    };
    let query =
        ReviewQuery { period: form.get("period").cloned(), all: form.get("all").cloned(), ..Default::default() };
    let keep = serde_urlencoded::to_string([
        ("period", query.period.clone().unwrap_or_default()),
        ("all", query.all.clone().unwrap_or_default()),
    ])
    .unwrap_or_default();
    let ids: Vec<i64> = form.keys().filter_map(|k| k.strip_prefix('r').and_then(|id| id.parse().ok())).collect();
    let Some(action) = form.get("action").and_then(|a| Action::parse(a)) else {
        let page =
            review_page(state, caller, of, &query, Some("Chọn loại khỏi chỉ số hoặc tính lại.".to_owned())).await?;
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let reason = form.get("reason").map(String::as_str).unwrap_or_default();
    match state.app.moderate(caller, &ids, action, reason).await {
        Ok(done) => {
            let to = format!("{path}?{keep}&did={}&done={}", action.code(), done.changed.len());
            Ok(Redirect::to(&to).into_response())
        }
        Err(AppError::Refused(refusal)) => {
            let page = review_page(state, caller, of, &query, Some(views::manage::refusal(&refusal))).await?;
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(other) => Err(other),
    }
}

async fn points(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Result<Markup, AppError> {
    let points = state.app.points(&caller).await?;
    let base = state.app.settings.public_base_url();
    let questionnaires = state.app.questionnaires.latest_all();
    let new_point = if caller.allows(Permission::ManagePoints) {
        let org = state.app.organisation(&caller).await?;
        Some(views::manage::new_point_form(&org.units, &org.desks, &org.officers, &questionnaires))
    } else {
        None
    };
    Ok(views::admin::points(&caller, &points, &base, new_point, &questionnaires))
}

async fn point_qr(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let point = state.app.point(&caller, &slug).await?;
    let svg = qr::svg(&form_url(&state.app.settings.public_base_url(), &point.slug)).map_err(anyhow::Error::msg)?;
    let disposition = format!("attachment; filename=\"qr-{}.svg\"", point.slug);
    Ok(([(header::CONTENT_TYPE, "image/svg+xml".to_owned()), (header::CONTENT_DISPOSITION, disposition)], svg)
        .into_response())
}

async fn revoke(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    state.app.revoke_point(&caller, &slug).await?;
    Ok(Redirect::to("/admin/points").into_response())
}

async fn reissue(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    state.app.reissue_point(&caller, &slug).await?;
    Ok(Redirect::to("/admin/points").into_response())
}

async fn posters(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
) -> Result<Markup, AppError> {
    let posters = state.app.posters(&caller, &code).await?;
    let base = state.app.settings.public_base_url();
    let mut cards = Vec::with_capacity(posters.points.len());
    for p in &posters.points {
        let url = form_url(&base, &p.slug);
        let svg = qr::svg(&url).map_err(anyhow::Error::msg)?;
        cards.push(views::poster::Card { point: p, url, svg });
    }
    let local = state.app.settings.public_base_url_is_local().then_some(base.as_str());
    Ok(views::poster::sheet(&posters.unit_name, &cards, views::poster::Styles::Linked, local))
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
}

async fn audit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<AuditQuery>,
) -> Result<Markup, AppError> {
    let blank_is_none = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let filter = AuditFilter {
        actor: blank_is_none(query.actor),
        action: blank_is_none(query.action),
        target: blank_is_none(query.target),
        limit: 500,
    };
    let entries = state.app.audit_entries(&filter).await?;
    Ok(views::admin::audit(&caller, &filter, &entries))
}
