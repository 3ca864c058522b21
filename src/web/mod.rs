//! HTTP: one router per area, merged here, over one shared [`AppState`].
//!
//! - [`survey`]: the citizen's form at `/s/{slug}`.
//! - [`meta`]: the start page, `/healthz` (alive), `/readyz` (can commit) and the static files.
//! - [`admin`] and [`api`]: the management pages and the JSON API, both built from the route
//!   table of [`policy`], which says what each route requires; [`auth`] knows who is calling.

pub mod admin;
pub mod api;
pub mod auth;
pub mod client;
pub mod error;
pub mod indices;
pub mod manage;
pub mod meta;
pub mod policy;
pub mod request_id;
pub mod serve;
pub mod slotted;
pub mod survey;

use std::sync::Arc;

use axum::Router;

use crate::app::App;
use crate::app::cache::TtlCache;
use crate::domain::questionnaire::QuestionnaireId;

/// What every handler may use. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The use cases; handlers parse, call them, and render.
    pub app: App,
    /// Fresh forms rendered and compressed once per point and language, with a slot for the
    /// one-time key.
    pub fresh_forms: Arc<FreshForms>,
}

/// Fresh forms by slug, language and questionnaire, with a slot for the one-time key, each with
/// the points' generation it was rendered in ([`App::points_generation`]): a form rendered
/// before a change to points is not served after it.
pub type FreshForms = TtlCache<(String, crate::views::Lang, QuestionnaireId), (u64, Arc<slotted::SlottedPage>)>;

/// Every management and API route with its access rule.
pub fn staff_routes() -> Vec<policy::StaffRoute> {
    admin::routes().into_iter().chain(manage::routes()).chain(indices::routes()).chain(api::routes()).collect()
}

/// The whole application's routes.
/// The router of a separate metrics listener (`metrics_bind`). It holds no state (and so no
/// handle of the writer, which stops when the main router is gone).
pub fn metrics_only() -> Router {
    meta::metrics_router()
}

pub fn router(state: AppState) -> Router {
    let mut staff = Router::new();
    for route in staff_routes() {
        let guard = axum::middleware::from_fn_with_state((state.clone(), route.access), policy::enforce);
        staff = staff.route(route.path, route.handler.route_layer(guard));
    }
    let router = Router::new().merge(meta::router()).merge(survey::router()).merge(staff);
    router.fallback(no_such_route).with_state(state)
}

/// A path that names nothing: the citizen's "page not found" (a mistyped link from a receipt,
/// with the request's id), or for the API a JSON error.
async fn no_such_route(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uri.path().starts_with("/api/") {
        let body = axum::Json(serde_json::json!({ "error": "no such route" }));
        (axum::http::StatusCode::NOT_FOUND, body).into_response()
    } else {
        crate::error::AppError::NotFound.into_response()
    }
}
