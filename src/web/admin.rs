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
    ]
}

async fn dashboard(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Result<Markup, AppError> {
    let overview = state.app.overview(&caller).await?;
    let org = state.app.organisation(&caller).await?;
    Ok(views::admin::dashboard(&caller, &overview, &org.units, &org.desks, &org.officers))
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
