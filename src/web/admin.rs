//! The management pages under `/admin`, each scoped to the caller's part of the unit tree.

use axum::extract::{Extension, Path, Query, State};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::Markup;
use serde::Deserialize;

use super::AppState;
use super::auth::{self, Caller};
use super::policy::{Access, Param, StaffRoute};
use crate::domain::account::Permission;
use crate::domain::point::{Slug, form_url};
use crate::error::AppError;
use crate::store::{AuditFilter, PointRow};
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
    ]
}

async fn dashboard(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Result<Markup, AppError> {
    let units: Vec<_> = state.store.units().await?.into_iter().filter(|u| caller.scope.contains(u.id)).collect();
    let desks: Vec<_> = state.store.desks().await?.into_iter().filter(|d| caller.scope.contains(d.unit_id)).collect();
    let officers: Vec<_> =
        state.store.officers().await?.into_iter().filter(|o| caller.scope.contains(o.unit_id)).collect();
    let year = crate::domain::clock::vietnam_date(crate::domain::clock::now_ms()).year();
    let period = crate::domain::period::Period::parse(&year.to_string()).map_err(anyhow::Error::msg)?;
    let overview = crate::reports::overview(
        &state.store,
        &state.questionnaires,
        &state.settings,
        &caller.scope,
        period,
        crate::domain::questionnaire::DEFAULT_ID,
    )
    .await
    .map_err(|e| match e {
        crate::reports::ReportError::NotFound(m) => AppError::from(anyhow::Error::msg(m)),
        crate::reports::ReportError::Store(e) => e.into(),
    })?;
    Ok(views::admin::dashboard(&caller, &overview, &units, &desks, &officers))
}

async fn scoped_points(state: &AppState, caller: &Caller) -> Result<Vec<PointRow>, AppError> {
    Ok(state.store.active_points().await?.into_iter().filter(|p| caller.scope.contains(p.unit_id)).collect())
}

async fn points(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Result<Markup, AppError> {
    let points = scoped_points(&state, &caller).await?;
    let base = state.settings.public_base_url();
    let questionnaires = state.questionnaires.latest_all();
    let new_point = if caller.role.allows(Permission::ManagePoints) {
        let in_scope = |unit: i64| caller.scope.contains(unit);
        let units: Vec<_> = state.store.units().await?.into_iter().filter(|u| in_scope(u.id)).collect();
        let desks: Vec<_> = state.store.desks().await?.into_iter().filter(|d| in_scope(d.unit_id)).collect();
        let officers: Vec<_> = state.store.officers().await?.into_iter().filter(|o| in_scope(o.unit_id)).collect();
        Some(views::manage::new_point_form(&units, &desks, &officers, &questionnaires))
    } else {
        None
    };
    Ok(views::admin::points(&caller, &points, &base, new_point, &questionnaires))
}

/// The active point `slug` if the caller may see it; otherwise it does not exist for them.
async fn point_in_scope(state: &AppState, caller: &Caller, slug: &str) -> Result<PointRow, AppError> {
    let slug = Slug::parse(slug).map_err(|_| AppError::NotFound)?;
    let point = state.store.active_point(&slug).await?.ok_or(AppError::NotFound)?;
    if caller.scope.contains(point.unit_id) { Ok(point) } else { Err(AppError::NotFound) }
}

async fn point_qr(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let point = point_in_scope(&state, &caller, &slug).await?;
    let svg = qr::svg(&form_url(&state.settings.public_base_url(), &point.slug)).map_err(anyhow::Error::msg)?;
    let disposition = format!("attachment; filename=\"qr-{}.svg\"", point.slug);
    Ok(([(header::CONTENT_TYPE, "image/svg+xml".to_owned()), (header::CONTENT_DISPOSITION, disposition)], svg)
        .into_response())
}

async fn revoke(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let point = point_in_scope(&state, &caller, &slug).await?;
    state.store.revoke_point(&point.slug, &caller.actor()).await?;
    state.forget_point(point.slug.as_str());
    Ok(Redirect::to("/admin/points").into_response())
}

async fn reissue(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let point = point_in_scope(&state, &caller, &slug).await?;
    state.store.reissue_point(&point.slug, &caller.actor()).await?;
    state.forget_point(point.slug.as_str());
    Ok(Redirect::to("/admin/points").into_response())
}

async fn posters(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
) -> Result<Markup, AppError> {
    let unit = state.store.units().await?.into_iter().find(|u| u.code == code).ok_or(AppError::NotFound)?;
    if !caller.scope.contains(unit.id) {
        return Err(AppError::NotFound);
    }
    let (name, points) = state.store.unit_points(&unit.code).await?.ok_or(AppError::NotFound)?;
    let base = state.settings.public_base_url();
    let mut cards = Vec::with_capacity(points.len());
    for p in &points {
        let url = form_url(&base, &p.slug);
        let svg = qr::svg(&url).map_err(anyhow::Error::msg)?;
        cards.push(views::poster::Card { point: p, url, svg });
    }
    Ok(views::poster::sheet(&name, &cards, views::poster::Styles::Linked))
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
    let entries = state.store.audit_entries(&filter).await?;
    Ok(views::admin::audit(&caller, &filter, &entries))
}
