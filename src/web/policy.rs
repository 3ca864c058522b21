//! Every management page and API route, with the access it requires, in one table. The router
//! is built from this table, so a route cannot exist without a policy; the tenancy test
//! enumerates the same table.
//!
//! `enforce` resolves the caller, checks the role's permission and, for pages that change
//! something, that the request comes from our own pages (`Sec-Fetch-Site` / `Origin`).
//! Whether a particular unit, desk, officer or point is inside the caller's scope is checked by
//! the handler, which answers 404 outside it, as for something that does not exist.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::MethodRouter;

use super::AppState;
use super::auth::{self, Caller, Via};
use crate::domain::account::Permission;
use crate::error::AppError;
use crate::views;

/// What a route requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the sign-in page, the API description).
    Public,
    /// A management page: a signed-in account whose role has the permission.
    Page(Permission),
    /// The JSON API: an API key whose account's role has the permission.
    Api(Permission),
}

/// What a route's path parameter names, for the tenancy test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    None,
    Unit,
    Desk,
    Officer,
    Point,
    /// An account's name (admin routes).
    Account,
    /// An API key's prefix (admin routes).
    ApiKey,
}

/// One route of the table.
pub struct StaffRoute {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub param: Param,
    pub handler: MethodRouter<AppState>,
}

impl StaffRoute {
    pub fn new(
        method: Method,
        path: &'static str,
        access: Access,
        param: Param,
        handler: MethodRouter<AppState>,
    ) -> Self {
        Self { method, path, access, param, handler }
    }
}

/// A JSON error of the API.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub std::borrow::Cow<'static, str>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

/// The API's answer to an error: the status of [`super::error::status`], as the pages answer
/// it, and a short English message. A 503 and a 500 are logged here, with their cause.
impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let status = super::error::status(&error);
        match &error {
            AppError::Unavailable(reason) => tracing::warn!(%reason, "API request: service unavailable"),
            AppError::Internal(e) => tracing::error!(error = %e, "API request failed"),
            _ => {}
        }
        Self(status, super::error::api_message(&error).into())
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        AppError::from(error).into()
    }
}

/// A state-changing request must come from our own pages: browsers say where a request comes
/// from in `Sec-Fetch-Site`, or at least `Origin`. Clients that send neither are not browsers
/// and cannot carry our SameSite=Strict cookie across sites anyway.
pub fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    match (headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()), headers.get(header::HOST)) {
        (Some(origin), Some(host)) => {
            let origin_host = origin.split("://").nth(1).unwrap_or_default();
            host.to_str().is_ok_and(|h| h.eq_ignore_ascii_case(origin_host))
        }
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// Applies a route's access rule, then runs it with the [`Caller`] in the request's extensions.
pub async fn enforce(State((state, access)): State<(AppState, Access)>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let changes = !matches!(parts.method, Method::GET | Method::HEAD);
    let mut response = match access {
        Access::Public => {
            if changes && !same_origin(&parts.headers) {
                return forbidden_page();
            }
            next.run(Request::from_parts(parts, body)).await
        }
        Access::Page(permission) => {
            if changes && !same_origin(&parts.headers) {
                return forbidden_page();
            }
            match auth::resolve(&state, &parts, Via::Session).await {
                Err(error) => return error.into_response(),
                Ok(None) => {
                    let wanted = parts.uri.path_and_query().map_or("/admin", |p| p.as_str());
                    let next_param = if changes { "/admin".to_owned() } else { wanted.to_owned() };
                    return Redirect::to(&format!("/admin/login?next={}", urlencode(&next_param))).into_response();
                }
                Ok(Some(caller)) if !caller.role.uses_pages() || !caller.role.allows(permission) => forbidden_page(),
                Ok(Some(caller)) => {
                    parts.extensions.insert(caller);
                    next.run(Request::from_parts(parts, body)).await
                }
            }
        }
        Access::Api(permission) => match auth::resolve(&state, &parts, Via::ApiKey).await {
            Err(error) => return ApiError::from(error).into_response(),
            Ok(None) => {
                let mut r = ApiError(StatusCode::UNAUTHORIZED, "an API key is required".into()).into_response();
                r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                r
            }
            Ok(Some(caller)) if !caller.role.allows(permission) => {
                ApiError(StatusCode::FORBIDDEN, "this key's role may not do that".into()).into_response()
            }
            Ok(Some(caller)) => {
                parts.extensions.insert::<Caller>(caller);
                next.run(Request::from_parts(parts, body)).await
            }
        },
    };
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn forbidden_page() -> Response {
    let mut r = (
        StatusCode::FORBIDDEN,
        views::pages::error(
            "Không có quyền truy cập",
            "Tài khoản của bạn không được phép thực hiện thao tác này.",
            "Forbidden",
            "Your account may not do this.",
            super::request_id::current().as_deref(),
        ),
    )
        .into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn urlencode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The headers every response carries. No script runs on any page; nothing may frame them.
pub fn security_headers(tls: bool) -> Vec<(header::HeaderName, HeaderValue)> {
    let mut headers = vec![
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                 form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        // No address of ours (a receipt's `/r/TOKEN`) goes to another site; our own form's POST
        // carries our origin, so that a browser without fetch metadata is told from a page
        // elsewhere (under `no-referrer` it would send `Origin: null`, as a sandboxed frame does).
        (header::REFERRER_POLICY, HeaderValue::from_static("same-origin")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    ];
    if tls {
        headers.push((header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000")));
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cross_site_posts_are_told_apart() {
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(same_origin(&headers(&[("origin", "http://a.vn:8080"), ("host", "a.vn:8080")])));
        assert!(!same_origin(&headers(&[("origin", "http://evil.vn"), ("host", "a.vn:8080")])));
        assert!(same_origin(&headers(&[])), "not a browser");
    }

    #[test]
    fn api_errors_keep_their_meaning() {
        let status = |e: AppError| ApiError::from(e).0.as_u16();
        assert_eq!(status(AppError::NotFound), 404);
        assert_eq!(status(AppError::NoSuchRecord), 404, "outside the scope is as if absent");
        assert_eq!(status(AppError::PointRevoked), 410);
        assert_eq!(status(AppError::TooManyRequests), 429);
        assert_eq!(status(AppError::Unavailable("the database is full".into())), 503);
        assert_eq!(status(AppError::Internal(anyhow::anyhow!("a bug"))), 500);
        let body = ApiError::from(AppError::Unavailable("disk full at /var/lib".into())).1;
        assert!(!body.contains("/var/lib"), "no internals in the answer: {body}");
    }
}
