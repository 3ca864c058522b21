//! One error type for every handler. `into_response` only maps an error to a page; the
//! `log_errors` middleware logs it once, inside the request's span. No internals reach a user.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::store::StoreError;
use crate::views;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No such page, or a collection point that never existed.
    #[error("not found")]
    NotFound,
    /// A staff page's unit, desk, officer or questionnaire that does not exist within the
    /// caller's scope.
    #[error("no such record within the caller's scope")]
    NoSuchRecord,
    /// A collection point that was revoked.
    #[error("collection point revoked")]
    PointRevoked,
    #[error("too many submissions")]
    TooManyRequests,
    /// The database is unreachable or the queue is full: the user should try again.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        if error.is_unavailable() { Self::Unavailable(error.to_string()) } else { Self::Internal(error.into()) }
    }
}

/// What the logging middleware finds on an error response.
#[derive(Clone, Debug)]
pub struct LoggedError(pub Arc<String>);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, page) = match &self {
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                views::pages::error(
                    "Không tìm thấy trang",
                    "Mã QR hoặc đường dẫn này không đúng. Xin vui lòng quét lại mã QR tại quầy.",
                    "Page not found",
                    "This QR code or link is not valid. Please scan the code at the desk again.",
                ),
            ),
            Self::NoSuchRecord => (
                StatusCode::NOT_FOUND,
                views::pages::error(
                    "Không tìm thấy",
                    "Không có mã đơn vị, quầy, cán bộ hoặc phiếu này, hoặc mã nằm ngoài phạm vi của tài khoản. Xin kiểm tra lại mã trong danh mục.",
                    "Not found",
                    "No unit, desk, officer or questionnaire has this code within your account's scope. Please check the code in the lists.",
                ),
            ),
            Self::PointRevoked => (
                StatusCode::GONE,
                views::pages::error(
                    "Mã QR này đã ngừng sử dụng",
                    "Mã QR này không còn nhận đánh giá. Xin vui lòng quét mã QR đang dán tại quầy hoặc hỏi cán bộ.",
                    "This QR code is no longer in use",
                    "It no longer takes ratings. Please scan the code now displayed at the desk, or ask the officer.",
                ),
            ),
            Self::TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                views::pages::error(
                    "Gửi quá nhiều phiếu",
                    "Thiết bị này đã gửi nhiều phiếu đánh giá trong thời gian ngắn. Xin vui lòng chờ một phút rồi gửi lại.",
                    "Too many ratings",
                    "This device has sent many ratings in a short time. Please wait a minute and try again.",
                ),
            ),
            Self::Unavailable(_) | Self::Internal(_) => (
                if matches!(self, Self::Unavailable(_)) {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                },
                views::pages::error(
                    "Hệ thống tạm thời gián đoạn",
                    "Xin lỗi, hệ thống chưa xử lý được yêu cầu. Xin vui lòng thử lại sau ít phút.",
                    "Temporarily unavailable",
                    "Sorry, we could not handle this request. Please try again in a few minutes.",
                ),
            ),
        };
        let mut response = (status, page).into_response();
        if status.is_server_error() {
            response.extensions_mut().insert(LoggedError(Arc::new(format!("{self:#}"))));
        }
        response
    }
}

/// Logs the server errors that handlers returned, once, in the request's span.
pub async fn log_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if let Some(LoggedError(message)) = response.extensions().get::<LoggedError>() {
        tracing::error!(status = response.status().as_u16(), error = %message, "request failed");
    }
    response
}

/// Longest a request may take before it is answered 503.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Bounds every request in time. Past the bound the caller gets the "temporarily unavailable"
/// page (JSON on the API), not an empty 503. (The citizen's form has its own, shorter bound,
/// which gives the answers back.)
pub async fn time_limit(request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) if api => {
            let body = axum::Json(serde_json::json!({ "error": "the request took too long; try again" }));
            (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
        }
        Err(_) => AppError::Unavailable("the request took too long".into()).into_response(),
    }
}
