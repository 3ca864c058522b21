//! Who is calling: staff sign in with a password and get a session cookie; machines send an
//! API key as `Authorization: Bearer`. Sessions live in the database, so several instances share
//! them; the cookie holds a random token whose SHA-256 is all the database keeps.

use std::net::SocketAddr;

use axum::Form;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::AppState;
use super::client::client_ip;
pub use crate::app::session::{ABSOLUTE_MS, IDLE_MS};
use crate::app::session::{SECOND_FACTOR_MS, SignIn};
use crate::domain::account;
pub use crate::domain::account::Caller;
use crate::error::AppError;
use crate::store::PendingSecondFactor;
use crate::views;

/// The session cookie's name.
pub const COOKIE: &str = "hl_session";

/// How the caller proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Session,
    ApiKey,
}

/// The session token in the request's cookies, if any.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
}

/// The value of the request's cookie `name`, if it has one that is not empty.
pub fn cookie(headers: &HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// Resolves the caller of a request through `via`; `None` when there is none or it expired.
pub async fn resolve(state: &AppState, parts: &Parts, via: Via) -> Result<Option<Caller>, AppError> {
    match via {
        Via::Session => match session_token(&parts.headers) {
            Some(token) => state.app.session_caller(&token).await,
            None => Ok(None),
        },
        Via::ApiKey => match bearer(&parts.headers) {
            Some(key) => state.app.api_caller(key).await,
            None => Ok(None),
        },
    }
}

/// The `Set-Cookie` value of a session; `Secure` when the service is served over TLS.
fn session_cookie(state: &AppState, token: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if state.app.settings.public_base_url().starts_with("https://") { "; Secure" } else { "" };
    let value = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("hl_session=; Max-Age=0"))
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only places inside the management pages are followed after sign-in, written in printable
/// ASCII (a path with a control character or a space cannot go into a `Location` header).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if (n == "/admin" || n.starts_with("/admin/") || n.starts_with("/admin?"))
                && !n.contains("://")
                && !n.contains('\\')
                && n.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            n
        }
        _ => "/admin",
    }
}

pub async fn login_page(Query(query): Query<NextQuery>) -> Response {
    views::admin::login(safe_next(query.next.as_deref()), None).into_response()
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    next: Option<String>,
}

/// Signs in. Every failure gets the same message, whether the name exists or not, and costs
/// the same time; attempts are limited per device and per account.
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let next = safe_next(form.next.as_deref()).to_owned();
    let failed = |status: StatusCode| {
        let message = "Tên đăng nhập hoặc mật khẩu không đúng, hoặc tài khoản đang tạm khóa. Xin vui lòng thử lại sau.";
        (status, views::admin::login(&next, Some(message))).into_response()
    };
    let ip = client_ip(peer, &headers, &state.app.settings.trusted_proxies);
    if !state.app.allow_sign_in(&super::client::device_of(ip)).await {
        metrics::counter!(crate::telemetry::names::REFUSALS, "reason" => crate::telemetry::names::SIGN_IN_LIMITED)
            .increment(1);
        return Ok(failed(StatusCode::TOO_MANY_REQUESTS));
    }
    match state.app.sign_in(&form.name, form.password).await? {
        SignIn::Refused => Ok(failed(StatusCode::UNAUTHORIZED)),
        SignIn::AwaitingCode { token } => {
            let mut response =
                Redirect::to(&format!("/admin/login/second-factor?next={}", urlencode(&next))).into_response();
            response.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, &token, SECOND_FACTOR_MS / 1000));
            Ok(response)
        }
        SignIn::Done { token } => {
            let mut response = Redirect::to(&next).into_response();
            response.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, &token, ABSOLUTE_MS / 1000));
            Ok(response)
        }
    }
}

fn urlencode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The second step of signing in for admins and Home Affairs: a one-time code from an
/// authenticator app, enrolled with a QR code at the first sign-in.
pub async fn second_factor_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<NextQuery>,
) -> Result<Response, AppError> {
    let next = safe_next(query.next.as_deref());
    let Some(pending) = pending(&state, &headers).await? else {
        return Ok(Redirect::to("/admin/login").into_response());
    };
    Ok(second_factor_view(&pending, next, None).into_response())
}

async fn pending(state: &AppState, headers: &HeaderMap) -> Result<Option<PendingSecondFactor>, AppError> {
    match session_token(headers) {
        Some(token) => state.app.pending_second_factor(&token).await,
        None => Ok(None),
    }
}

fn second_factor_view(pending: &PendingSecondFactor, next: &str, error: Option<&str>) -> maud::Markup {
    let enrol = pending.enrolling.then(|| {
        let url = account::totp_url(&pending.secret, &pending.name).unwrap_or_default();
        (crate::qr::svg(&url).unwrap_or_default(), pending.secret.clone())
    });
    views::admin::second_factor(next, enrol.as_ref().map(|(svg, secret)| (svg.as_str(), secret.as_str())), error)
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    code: String,
    next: Option<String>,
}

pub async fn second_factor(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    let next = safe_next(form.next.as_deref()).to_owned();
    let (Some(token), Some(pending)) = (session_token(&headers), pending(&state, &headers).await?) else {
        return Ok(Redirect::to("/admin/login").into_response());
    };
    let Some(fresh) = state.app.second_factor(&token, &pending, &form.code).await? else {
        let message = "Mã không đúng hoặc đã được dùng. Xin chờ mã mới trên ứng dụng xác thực rồi nhập lại.";
        return Ok((StatusCode::UNAUTHORIZED, second_factor_view(&pending, &next, Some(message))).into_response());
    };
    let mut response = Redirect::to(&next).into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, &fresh, ABSOLUTE_MS / 1000));
    Ok(response)
}

/// Signs out: the session ends in the database and the cookie is cleared.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    if let Some(token) = session_token(&headers) {
        state.app.sign_out(&token).await?;
    }
    let mut response = Redirect::to("/admin/login").into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_cookie() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; hl_session=abc; b=2"));
        assert_eq!(session_token(&h).as_deref(), Some("abc"));
        h.insert(header::COOKIE, HeaderValue::from_static("hl_session="));
        assert_eq!(session_token(&h), None);
    }

    #[test]
    fn follows_only_local_admin_paths() {
        assert_eq!(safe_next(Some("/admin/points")), "/admin/points");
        assert_eq!(safe_next(Some("/admin?x=1")), "/admin?x=1");
        for bad in [
            "https://evil.example/admin",
            "//evil.example",
            "/s/abc",
            "/admin@evil://x",
            "/admin\r\nSet-Cookie: x=1",
            "/admin/\0",
            "/admin/a b",
            "/admin/đơn-vị",
            "/administrator",
            "/admin\\..\\evil",
        ] {
            assert_eq!(safe_next(Some(bad)), "/admin", "{bad}");
        }
    }
}
