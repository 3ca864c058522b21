//! The start page, the health check and the embedded static files.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::Markup;

use super::AppState;
use crate::error::AppError;
use crate::views;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(start)).route("/healthz", get(healthz)).route("/static/{file}", get(asset))
}

async fn start() -> Markup {
    views::pages::start()
}

/// 200 when the database answers, 503 when it does not.
async fn healthz(State(state): State<AppState>) -> Response {
    let backend = state.store.backend_name();
    match state.store.ping().await {
        Ok(()) => axum::Json(serde_json::json!({ "status": "ok", "database": backend })).into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({ "status": "unavailable", "database": backend })),
            )
                .into_response()
        }
    }
}

/// Serves an embedded file, compressed in advance when the client accepts gzip (the
/// compression layer leaves a response that already has a `Content-Encoding` alone).
async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Result<Response, AppError> {
    let asset = views::assets::find(&format!("/static/{file}")).ok_or(AppError::NotFound)?;
    let cache = (header::CACHE_CONTROL, "public, max-age=31536000, immutable");
    let vary = (header::VARY, "accept-encoding");
    if super::slotted::accepts_gzip(&headers) && !asset.gzipped.is_empty() {
        let encoding = (header::CONTENT_ENCODING, "gzip");
        let content_type = (header::CONTENT_TYPE, asset.content_type);
        return Ok(([content_type, cache, vary, encoding], asset.gzipped.as_slice()).into_response());
    }
    Ok(([(header::CONTENT_TYPE, asset.content_type), cache, vary], asset.body).into_response())
}
