//! Handlers of the management pages that change things: officers, desks, new points,
//! questionnaires of points, accounts and API keys. Everything a form names (the officer in the
//! path, the unit and desk in the body) must be inside the caller's scope, or it does not exist
//! for them (404). A change the store refuses comes back on its page with the reason (422).

use axum::Form;
use axum::extract::{Extension, Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::Markup;
use serde::Deserialize;

use super::AppState;
use super::auth::Caller;
use super::policy::{Access, Param, StaffRoute};
use crate::domain::account::{self, Permission, Role};
use crate::domain::clock;
use crate::domain::org::{Code, Name};
use crate::domain::point::Slug;
use crate::error::AppError;
use crate::store::{DeskRow, OfficerRow, StoreError, UnitRow};
use crate::views;

pub fn routes() -> Vec<StaffRoute> {
    use Access::Page;
    use Permission::*;
    vec![
        StaffRoute::new(Method::GET, "/admin/officers", Page(Read), Param::None, get(officers)),
        StaffRoute::new(Method::GET, "/admin/officers/{code}", Page(Read), Param::Officer, get(officer)),
        StaffRoute::new(
            Method::POST,
            "/admin/officers/{code}/move",
            Page(ManageOrg),
            Param::Officer,
            post(move_officer),
        ),
        StaffRoute::new(
            Method::POST,
            "/admin/officers/{code}/end",
            Page(ManageOrg),
            Param::Officer,
            post(end_assignment),
        ),
        StaffRoute::new(Method::GET, "/admin/desks", Page(Read), Param::None, get(desks)),
        StaffRoute::new(Method::POST, "/admin/desks", Page(ManageOrg), Param::None, post(add_desk)),
        StaffRoute::new(Method::POST, "/admin/points", Page(ManagePoints), Param::None, post(create_point)),
        StaffRoute::new(
            Method::POST,
            "/admin/points/{slug}/questionnaire",
            Page(ManageQuestionnaires),
            Param::Point,
            post(point_questionnaire),
        ),
        StaffRoute::new(Method::GET, "/admin/questionnaires", Page(Read), Param::None, get(questionnaires)),
        StaffRoute::new(Method::GET, "/admin/users", Page(Administer), Param::None, get(users)),
        StaffRoute::new(Method::POST, "/admin/users", Page(Administer), Param::None, post(create_user)),
        StaffRoute::new(
            Method::POST,
            "/admin/users/{name}/disable",
            Page(Administer),
            Param::Account,
            post(disable_user),
        ),
        StaffRoute::new(
            Method::POST,
            "/admin/users/{name}/apikeys",
            Page(Administer),
            Param::Account,
            post(create_key),
        ),
        StaffRoute::new(
            Method::POST,
            "/admin/apikeys/{prefix}/revoke",
            Page(Administer),
            Param::ApiKey,
            post(revoke_key),
        ),
    ]
}

/// The caller's view of the organisation.
struct Scoped {
    units: Vec<UnitRow>,
    desks: Vec<DeskRow>,
    officers: Vec<OfficerRow>,
}

async fn scoped(state: &AppState, caller: &Caller) -> Result<Scoped, AppError> {
    Ok(Scoped {
        units: state.store.units().await?.into_iter().filter(|u| caller.scope.contains(u.id)).collect(),
        desks: state.store.desks().await?.into_iter().filter(|d| caller.scope.contains(d.unit_id)).collect(),
        officers: state.store.officers().await?.into_iter().filter(|o| caller.scope.contains(o.unit_id)).collect(),
    })
}

/// A code from a form that must name something in scope; anything else does not exist.
fn in_scope<'a>(text: &str, known: impl IntoIterator<Item = &'a str>) -> Result<Code, AppError> {
    let code = Code::parse(text).map_err(|_| AppError::NotFound)?;
    known.into_iter().any(|k| k == code.as_str()).then_some(code).ok_or(AppError::NotFound)
}

fn optional(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

/// A refused change shown on its page (422); other errors go up.
fn refused(error: StoreError, page: impl FnOnce(&str) -> Markup) -> Result<Response, AppError> {
    match error {
        StoreError::Invalid(reason) => Ok((StatusCode::UNPROCESSABLE_ENTITY, page(&reason)).into_response()),
        other => Err(other.into()),
    }
}

async fn officers(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Result<Markup, AppError> {
    let s = scoped(&state, &caller).await?;
    Ok(views::manage::officers(&caller, &s.officers))
}

async fn officer_page(
    state: &AppState,
    caller: &Caller,
    code: &str,
    message: Option<&str>,
) -> Result<Markup, AppError> {
    let s = scoped(state, caller).await?;
    let officer = s.officers.iter().find(|o| o.code == code).ok_or(AppError::NotFound)?;
    let history = state.store.assignments_of(code).await?;
    let manage = caller.role.allows(Permission::ManageOrg);
    Ok(views::manage::officer(caller, officer, &history, &s.units, &s.desks, manage, message))
}

async fn officer(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
) -> Result<Markup, AppError> {
    officer_page(&state, &caller, &code, None).await
}

#[derive(Debug, Deserialize)]
struct MoveForm {
    unit: String,
    #[serde(default)]
    desk: String,
    from: String,
}

async fn move_officer(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
    Form(form): Form<MoveForm>,
) -> Result<Response, AppError> {
    let s = scoped(&state, &caller).await?;
    let officer = in_scope(&code, s.officers.iter().map(|o| o.code.as_str()))?;
    let unit = in_scope(&form.unit, s.units.iter().map(|u| u.code.as_str()))?;
    let desk = match optional(&form.desk) {
        Some(d) => Some(in_scope(d, s.desks.iter().map(|d| d.code.as_str()))?),
        None => None,
    };
    let from = match clock::parse_date(&form.from) {
        Ok(date) => date,
        Err(_) => {
            let page = officer_page(&state, &caller, &code, Some("Ngày chuyển không hợp lệ.")).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    match state.store.move_officer(&officer, &unit, desk.as_ref(), from, &caller.actor()).await {
        Ok(()) => {
            state.forget_points();
            Ok(Redirect::to(&format!("/admin/officers/{code}")).into_response())
        }
        Err(error) => {
            let reason = error.to_string();
            let page = officer_page(&state, &caller, &code, Some(&reason)).await?;
            refused(error, |_| page)
        }
    }
}

#[derive(Debug, Deserialize)]
struct EndForm {
    last_day: String,
}

async fn end_assignment(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
    Form(form): Form<EndForm>,
) -> Result<Response, AppError> {
    let s = scoped(&state, &caller).await?;
    let officer = in_scope(&code, s.officers.iter().map(|o| o.code.as_str()))?;
    let result = match clock::parse_date(&form.last_day) {
        Ok(last) => state.store.end_assignment(&officer, last, &caller.actor()).await,
        Err(_) => Err(StoreError::Invalid("Ngày kết thúc không hợp lệ.".into())),
    };
    match result {
        Ok(()) => {
            state.forget_points();
            Ok(Redirect::to(&format!("/admin/officers/{code}")).into_response())
        }
        Err(error) => {
            let reason = error.to_string();
            let page = officer_page(&state, &caller, &code, Some(&reason)).await?;
            refused(error, |_| page)
        }
    }
}

async fn desks_page(state: &AppState, caller: &Caller, message: Option<&str>) -> Result<Markup, AppError> {
    let s = scoped(state, caller).await?;
    Ok(views::manage::desks(caller, &s.desks, &s.units, caller.role.allows(Permission::ManageOrg), message))
}

async fn desks(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Result<Markup, AppError> {
    desks_page(&state, &caller, None).await
}

#[derive(Debug, Deserialize)]
struct DeskForm {
    code: String,
    name: String,
    unit: String,
}

async fn add_desk(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Form(form): Form<DeskForm>,
) -> Result<Response, AppError> {
    let s = scoped(&state, &caller).await?;
    let unit = in_scope(&form.unit, s.units.iter().map(|u| u.code.as_str()))?;
    let parsed = Code::parse(&form.code)
        .map_err(|e| format!("Mã quầy: {e}"))
        .and_then(|code| Name::parse(&form.name).map(|name| (code, name)).map_err(|e| format!("Tên quầy: {e}")));
    let result = match parsed {
        Ok((code, name)) => state.store.add_desk(&code, &name, &unit, &caller.actor()).await,
        Err(reason) => Err(StoreError::Invalid(reason)),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/admin/desks").into_response()),
        Err(error) => {
            let reason = error.to_string();
            let page = desks_page(&state, &caller, Some(&reason)).await?;
            refused(error, |_| page)
        }
    }
}

#[derive(Debug, Deserialize)]
struct PointForm {
    unit: String,
    #[serde(default)]
    desk: String,
    #[serde(default)]
    officer: String,
    questionnaire: String,
}

async fn create_point(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Form(form): Form<PointForm>,
) -> Result<Response, AppError> {
    let s = scoped(&state, &caller).await?;
    let unit = in_scope(&form.unit, s.units.iter().map(|u| u.code.as_str()))?;
    let desk = match optional(&form.desk) {
        Some(d) => Some(in_scope(d, s.desks.iter().map(|d| d.code.as_str()))?),
        None => None,
    };
    let officer = match optional(&form.officer) {
        Some(o) => Some(in_scope(o, s.officers.iter().map(|o| o.code.as_str()))?),
        None => None,
    };
    if state.questionnaires.latest(&form.questionnaire).is_none() {
        return Err(AppError::NotFound);
    }
    match state.store.create_point(&unit, desk.as_ref(), officer.as_ref(), &form.questionnaire, &caller.actor()).await {
        Ok(_) => Ok(Redirect::to("/admin/points").into_response()),
        Err(error) => {
            let reason = error.to_string();
            refused(error, |_| views::pages::error("Không mở được điểm đánh giá", &reason, "Not opened", &reason))
        }
    }
}

#[derive(Debug, Deserialize)]
struct QuestionnaireForm {
    questionnaire: String,
}

async fn point_questionnaire(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
    Form(form): Form<QuestionnaireForm>,
) -> Result<Response, AppError> {
    let slug = Slug::parse(&slug).map_err(|_| AppError::NotFound)?;
    let point = state.store.active_point(&slug).await?.filter(|p| caller.scope.contains(p.unit_id));
    let point = point.ok_or(AppError::NotFound)?;
    if state.questionnaires.latest(&form.questionnaire).is_none() {
        return Err(AppError::NotFound);
    }
    state.store.set_point_questionnaire(&point.slug, &form.questionnaire, &caller.actor()).await?;
    state.forget_point(point.slug.as_str());
    Ok(Redirect::to("/admin/points").into_response())
}

async fn questionnaires(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Markup {
    views::manage::questionnaires(&caller, &state.questionnaires.all())
}

async fn users_page(state: &AppState, caller: &Caller, message: Option<&str>) -> Result<Markup, AppError> {
    let users = state.store.users().await?;
    let keys = state.store.api_keys().await?;
    let units = state.store.units().await?;
    Ok(views::manage::users(caller, &users, &keys, &units, message))
}

async fn users(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Result<Markup, AppError> {
    users_page(&state, &caller, None).await
}

#[derive(Debug, Deserialize)]
struct UserForm {
    name: String,
    role: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    password: String,
}

async fn create_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Form(form): Form<UserForm>,
) -> Result<Response, AppError> {
    let checked = check_new_user(&form);
    let result = match checked {
        Ok((role, unit)) => {
            let hash = if role.has_password() {
                let password = form.password.clone();
                let hashed = tokio::task::spawn_blocking(move || account::hash_password(&password))
                    .await
                    .map_err(|e| AppError::Internal(e.into()))?;
                Some(hashed.map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?)
            } else {
                None
            };
            state.store.create_user(form.name.trim(), role, unit, hash.as_deref(), &caller.actor()).await.map(drop)
        }
        Err(reason) => Err(StoreError::Invalid(reason)),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/admin/users").into_response()),
        Err(error) => {
            let reason = error.to_string();
            let page = users_page(&state, &caller, Some(&reason)).await?;
            refused(error, |_| page)
        }
    }
}

/// The rules of a new account, in the words the page shows.
fn check_new_user(form: &UserForm) -> Result<(Role, Option<&str>), String> {
    let name = form.name.trim();
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_alphanumeric() || "._-@".contains(c)) {
        return Err("Tên đăng nhập gồm 1–64 chữ, số hoặc các ký tự . _ - @.".into());
    }
    let role = Role::parse(&form.role).map_err(|_| "Vai trò không hợp lệ.".to_owned())?;
    let unit = optional(&form.unit);
    match (role, unit) {
        (Role::Admin, Some(_)) => return Err("Tài khoản quản trị hệ thống không gắn với đơn vị.".into()),
        (Role::Admin, None) | (_, Some(_)) => {}
        (_, None) => return Err("Vai trò này cần chọn đơn vị.".into()),
    }
    if role.has_password() {
        account::check_password_strength(&form.password).map_err(|_| "Mật khẩu cần ít nhất 12 ký tự.".to_owned())?;
    } else if !form.password.is_empty() {
        return Err("Tài khoản tích hợp không dùng mật khẩu; hãy tạo khóa API.".into());
    }
    Ok((role, unit))
}

async fn disable_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    if !state.store.disable_user(&name, &caller.actor()).await? {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/admin/users").into_response())
}

async fn create_key(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let key = account::new_api_key();
    let prefix: String = key.chars().take(11).collect();
    match state.store.create_api_key(&name, &account::token_hash(&key), &prefix, &caller.actor()).await {
        Ok(()) => Ok(views::manage::new_key(&caller, &name, &key).into_response()),
        Err(StoreError::Invalid(_)) => Err(AppError::NotFound),
        Err(other) => Err(other.into()),
    }
}

async fn revoke_key(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(prefix): Path<String>,
) -> Result<Response, AppError> {
    if !state.store.revoke_api_key(&prefix, &caller.actor()).await? {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/admin/users").into_response())
}
