//! The start page, the liveness and readiness checks, and the embedded static files.

use std::time::Duration;

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
    Router::new()
        .route("/", get(start))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/static/{file}", get(asset))
}

/// `/metrics` alone, for its listener of its own (`metrics_bind`).
pub fn metrics_router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/metrics", get(metrics))
}

/// The metrics in the Prometheus text format: counts and durations, never who or what was rated.
async fn metrics() -> Response {
    let text = crate::telemetry::metrics().render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

async fn start() -> Markup {
    views::pages::start()
}

/// Liveness: 200 while the process serves requests, whatever the database does (restarting a
/// server whose disk is full would not free the disk).
async fn healthz(State(state): State<AppState>) -> Response {
    axum::Json(serde_json::json!({ "status": "ok", "database": state.app.store.backend_name() })).into_response()
}

/// How long the readiness check waits for a commit.
const READY_WAIT: Duration = Duration::from_secs(3);

/// Readiness: 200 when a commit can succeed now, proved by one (the writer's next group, or a
/// one-row write); 503 when the database cannot be reached or written (full, read-only, locked,
/// stalled) or the SQLite file at the configured path is not the one this server opened. The
/// writer logs why, once per change of state.
async fn readyz(State(state): State<AppState>) -> Response {
    let backend = state.app.store.backend_name();
    match state.app.ready(READY_WAIT).await {
        Ok(()) => axum::Json(serde_json::json!({ "status": "ready", "database": backend })).into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({ "status": "unavailable", "database": backend })),
        )
            .into_response(),
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
