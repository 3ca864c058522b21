//! How the web answers an [`AppError`]: one status per meaning, for pages and the JSON API
//! alike ([`status`]), then a page in Vietnamese and English or a JSON body. The `log_errors`
//! middleware logs a server error once, inside the request's span; the `time_limit` middleware
//! bounds every request. No internals reach a user.

use std::sync::Arc;

use axum::Json;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, ReceiptProblem};
use crate::views;

/// The status of an error, by its meaning: what is not there (or not in the caller's scope)
/// is 404, a point no longer in use 410, a refused change 422, too many requests 429, a
/// database that cannot answer now 503 (try again); only what is truly unexpected is 500.
pub fn status(error: &AppError) -> StatusCode {
    match error {
        AppError::NotFound | AppError::NoSuchRecord => StatusCode::NOT_FOUND,
        AppError::PointRevoked => StatusCode::GONE,
        AppError::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        AppError::Receipt(problem) => match problem {
            ReceiptProblem::Invalid | ReceiptProblem::Truncated => StatusCode::NOT_FOUND,
            ReceiptProblem::Expired | ReceiptProblem::KeyRevoked | ReceiptProblem::Used => StatusCode::GONE,
            ReceiptProblem::NotConfigured => StatusCode::SERVICE_UNAVAILABLE,
        },
        AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// What the JSON API says of an error: short, English, no internals.
pub fn api_message(error: &AppError) -> String {
    match error {
        AppError::NotFound | AppError::NoSuchRecord => "not found".into(),
        AppError::PointRevoked => "this collection point is no longer in use".into(),
        AppError::Refused(refusal) => refusal.to_string(),
        AppError::TooManyRequests => "too many requests; try again later".into(),
        AppError::Receipt(problem) => problem.to_string(),
        AppError::Unavailable(_) => "the service cannot answer now; try again".into(),
        AppError::Internal(_) => "internal error".into(),
    }
}

/// The page of a receipt's token that does not rate. A used receipt says only that.
fn receipt_page(problem: ReceiptProblem) -> maud::Markup {
    let (vi_title, vi, en_title, en) = match problem {
        ReceiptProblem::Used => (
            "Giấy hẹn này đã được dùng để đánh giá",
            "Mã QR trên giấy hẹn này đã được dùng để đánh giá. Mỗi hồ sơ được đánh giá một lần. Cảm ơn Ông/Bà.",
            "This receipt has already been used to rate",
            "The QR code on this receipt has already been used to rate. Each dossier is rated once. Thank you.",
        ),
        ReceiptProblem::Expired => (
            "Mã đánh giá trên giấy hẹn đã hết hạn",
            "Đã quá thời hạn đánh giá bằng mã QR trên giấy hẹn này. Ông/Bà vẫn có thể đánh giá bằng mã QR dán tại quầy.",
            "The rating code on this receipt has expired",
            "The time to rate with the QR code on this receipt has passed. You may still rate with the QR code at the desk.",
        ),
        ReceiptProblem::KeyRevoked => (
            "Mã đánh giá trên giấy hẹn không còn hiệu lực",
            "Mã QR trên giấy hẹn này thuộc một khóa đã bị thu hồi nên không còn nhận đánh giá. Xin vui lòng đánh giá bằng mã QR dán tại quầy.",
            "The rating code on this receipt is no longer valid",
            "The QR code on this receipt was made with a key that has been withdrawn. Please rate with the QR code at the desk.",
        ),
        ReceiptProblem::Truncated => (
            "Mã đánh giá bị thiếu",
            "Địa chỉ mở ra bị cắt mất một phần. Xin vui lòng quét lại toàn bộ mã QR trên giấy hẹn.",
            "The rating code is incomplete",
            "Part of the address was lost. Please scan the whole QR code on the receipt again.",
        ),
        ReceiptProblem::Invalid => (
            "Mã đánh giá không hợp lệ",
            "Mã QR này không phải mã đánh giá do Bộ phận Một cửa cấp. Xin vui lòng quét lại mã trên giấy hẹn hoặc mã dán tại quầy.",
            "The rating code is not valid",
            "This QR code is not a rating code issued by the one-stop desk. Please scan the code on the receipt or at the desk again.",
        ),
        ReceiptProblem::NotConfigured => (
            "Chưa nhận đánh giá qua giấy hẹn",
            "Hệ thống chưa được thiết lập để nhận đánh giá bằng mã trên giấy hẹn. Xin vui lòng đánh giá bằng mã QR dán tại quầy.",
            "Ratings from receipts are not set up",
            "This service does not take ratings from receipts yet. Please rate with the QR code at the desk.",
        ),
    };
    views::pages::error(vi_title, vi, en_title, en, super::request_id::current().as_deref())
}

/// What the logging middleware finds on an error response.
#[derive(Clone, Debug)]
pub struct LoggedError(pub Arc<String>);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = status(&self);
        let page = match &self {
            Self::NotFound => views::pages::error(
                "Không tìm thấy trang",
                "Mã QR hoặc đường dẫn này không đúng. Xin vui lòng quét lại mã QR tại quầy.",
                "Page not found",
                "This QR code or link is not valid. Please scan the code at the desk again.",
                super::request_id::current().as_deref(),
            ),
            Self::NoSuchRecord => views::pages::error(
                "Không tìm thấy",
                "Không có mã đơn vị, quầy, cán bộ hoặc phiếu này, hoặc mã nằm ngoài phạm vi của tài khoản. Xin kiểm tra lại mã trong danh mục.",
                "Not found",
                "No unit, desk, officer or questionnaire has this code within your account's scope. Please check the code in the lists.",
                super::request_id::current().as_deref(),
            ),
            Self::PointRevoked => views::pages::error(
                "Mã QR này đã ngừng sử dụng",
                "Mã QR này không còn nhận đánh giá. Xin vui lòng quét mã QR đang dán tại quầy hoặc hỏi cán bộ.",
                "This QR code is no longer in use",
                "It no longer takes ratings. Please scan the code now displayed at the desk, or ask the officer.",
                super::request_id::current().as_deref(),
            ),
            Self::Refused(refusal) => {
                let reason = views::manage::refusal(refusal);
                views::pages::error(
                    "Không thực hiện được",
                    &reason,
                    "Not done",
                    &refusal.to_string(),
                    super::request_id::current().as_deref(),
                )
            }
            Self::Receipt(problem) => receipt_page(*problem),
            Self::TooManyRequests => views::pages::error(
                "Gửi quá nhiều phiếu",
                "Thiết bị này đã gửi nhiều phiếu đánh giá trong thời gian ngắn. Xin vui lòng chờ một phút rồi gửi lại.",
                "Too many ratings",
                "This device has sent many ratings in a short time. Please wait a minute and try again.",
                super::request_id::current().as_deref(),
            ),
            Self::Unavailable(_) | Self::Internal(_) => views::pages::error(
                "Hệ thống tạm thời gián đoạn",
                "Xin lỗi, hệ thống chưa xử lý được yêu cầu. Xin vui lòng thử lại sau ít phút.",
                "Temporarily unavailable",
                "Sorry, we could not handle this request. Please try again in a few minutes.",
                super::request_id::current().as_deref(),
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
            let body = Json(serde_json::json!({ "error": "the request took too long; try again" }));
            (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
        }
        Err(_) => AppError::Unavailable("the request took too long".into()).into_response(),
    }
}
