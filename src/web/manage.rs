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
use crate::error::AppError;
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

fn optional(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

/// A change refused for a reason the caller can act on is shown on its page (422) with the
/// reason; other errors go up.
async fn refused<F>(error: AppError, page: impl FnOnce(String) -> F) -> Result<Response, AppError>
where
    F: Future<Output = Result<Markup, AppError>>,
{
    match error {
        AppError::Refused(refusal) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page(views::manage::refusal(&refusal)).await?).into_response())
        }
        other => Err(other),
    }
}

/// A form the page itself refuses (422), with its message.
async fn invalid<F>(message: &str, page: impl FnOnce(String) -> F) -> Result<Response, AppError>
where
    F: Future<Output = Result<Markup, AppError>>,
{
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page(message.to_owned()).await?).into_response())
}

async fn officers(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Result<Markup, AppError> {
    Ok(views::manage::officers(&caller, &state.app.officers(&caller).await?))
}

async fn officer_page(
    state: &AppState,
    caller: &Caller,
    code: &str,
    message: Option<String>,
) -> Result<Markup, AppError> {
    let history = state.app.officer_history(caller, code).await?;
    let org = state.app.organisation(caller).await?;
    let manage = caller.allows(Permission::ManageOrg);
    let officer = &history.officer;
    Ok(views::manage::officer(
        caller,
        officer,
        &history.assignments,
        &org.units,
        &org.desks,
        manage,
        message.as_deref(),
    ))
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
    let page = |message| officer_page(&state, &caller, &code, Some(message));
    let from = clock::parse_date(&form.from).ok();
    match state.app.move_officer(&caller, &code, &form.unit, optional(&form.desk), from).await {
        Ok(()) => Ok(Redirect::to(&format!("/admin/officers/{code}")).into_response()),
        Err(error) => refused(error, page).await,
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
    let page = |message| officer_page(&state, &caller, &code, Some(message));
    let last = clock::parse_date(&form.last_day).ok();
    match state.app.end_assignment(&caller, &code, last).await {
        Ok(()) => Ok(Redirect::to(&format!("/admin/officers/{code}")).into_response()),
        Err(error) => refused(error, page).await,
    }
}

async fn desks_page(state: &AppState, caller: &Caller, message: Option<String>) -> Result<Markup, AppError> {
    let org = state.app.organisation(caller).await?;
    let manage = caller.allows(Permission::ManageOrg);
    Ok(views::manage::desks(caller, &org.desks, &org.units, manage, message.as_deref()))
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
    let page = |message| desks_page(&state, &caller, Some(message));
    match state.app.add_desk(&caller, &form.code, &form.name, &form.unit).await {
        Ok(()) => Ok(Redirect::to("/admin/desks").into_response()),
        Err(error) => refused(error, page).await,
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
    let (desk, officer) = (optional(&form.desk), optional(&form.officer));
    match state.app.create_point(&caller, &form.unit, desk, officer, &form.questionnaire).await {
        Ok(_) => Ok(Redirect::to("/admin/points").into_response()),
        Err(error) => {
            let page = |reason: String| async move {
                Ok(views::pages::error(
                    "Không mở được điểm đánh giá",
                    &reason,
                    "Not opened",
                    &reason,
                    super::request_id::current().as_deref(),
                ))
            };
            refused(error, page).await
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
    state.app.set_point_questionnaire(&caller, &slug, &form.questionnaire).await?;
    Ok(Redirect::to("/admin/points").into_response())
}

async fn questionnaires(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Markup {
    views::manage::questionnaires(&caller, &state.app.questionnaires.all())
}

async fn users_page(state: &AppState, caller: &Caller, message: Option<String>) -> Result<Markup, AppError> {
    let accounts = state.app.accounts(caller).await?;
    Ok(views::manage::users(caller, &accounts.accounts, &accounts.api_keys, &accounts.units, message.as_deref()))
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
    let page = |message| users_page(&state, &caller, Some(message));
    let (role, unit) = match check_new_user(&form) {
        Ok(checked) => checked,
        Err(reason) => return invalid(&reason, page).await,
    };
    let password = role.has_password().then(|| form.password.clone());
    match state.app.create_account(&caller, form.name.trim(), role, unit, password).await {
        Ok(()) => Ok(Redirect::to("/admin/users").into_response()),
        Err(error) => refused(error, page).await,
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
    state.app.disable_account(&caller, &name).await?;
    Ok(Redirect::to("/admin/users").into_response())
}

async fn create_key(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    match state.app.create_api_key(&caller, &name).await {
        Ok(key) => Ok(views::manage::new_key(&caller, &name, &key.key).into_response()),
        Err(AppError::Refused(_)) => Err(AppError::NotFound),
        Err(other) => Err(other),
    }
}

async fn revoke_key(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(prefix): Path<String>,
) -> Result<Response, AppError> {
    state.app.revoke_api_key(&caller, &prefix).await?;
    Ok(Redirect::to("/admin/users").into_response())
}
