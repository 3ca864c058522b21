//! The start page, the health check and the embedded static files.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
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

async fn asset(Path(file): Path<String>) -> Result<Response, AppError> {
    let asset = views::assets::find(&format!("/static/{file}")).ok_or(AppError::NotFound)?;
    Ok((
        [(header::CONTENT_TYPE, asset.content_type), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")],
        asset.body,
    )
        .into_response())
}
