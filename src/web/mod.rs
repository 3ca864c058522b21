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
pub mod indices;
pub mod manage;
pub mod meta;
pub mod policy;
pub mod slotted;
pub mod survey;

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Router;

use crate::config::Settings;
use crate::domain::questionnaire::Registry;
use crate::store::writer::Writer;
use crate::store::{FieldRow, PointContext, Store};

/// What every handler may use. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub writer: Writer,
    pub questionnaires: Arc<Registry>,
    pub points: Arc<TtlCache<String, Arc<PointContext>>>,
    pub fields: Arc<TtlCache<(), Arc<Vec<FieldRow>>>>,
    /// Fresh forms rendered and compressed once per point and language, with a slot for the
    /// one-time key.
    pub fresh_forms: Arc<FreshForms>,
    pub limiter: Arc<client::Limiter>,
    pub sign_in_limiter: Arc<client::Limiter>,
}

/// Fresh forms by slug, language and questionnaire, with a slot for the one-time key.
pub type FreshForms = TtlCache<(String, crate::views::Lang, String), Arc<slotted::SlottedPage>>;

impl AppState {
    /// Forgets what is cached of a point, after a change to it.
    pub fn forget_point(&self, slug: &str) {
        self.points.invalidate(&slug.to_owned());
        self.fresh_forms.clear();
    }

    /// Forgets what is cached of every point, after a change that may touch any of them.
    pub fn forget_points(&self) {
        self.points.clear();
        self.fresh_forms.clear();
    }
}

/// How long a form's point context and the field list are served from memory. Another
/// instance (or the CLI) may revoke a point; the writer checks revocation in its transaction,
/// so a stale entry can show a form, never store into a revoked point.
pub const CACHE_TTL: Duration = Duration::from_secs(30);

/// A small map whose entries expire; it holds only what exists in the database, so its size is
/// bounded by the number of collection points.
#[derive(Debug)]
pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: RwLock<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: RwLock::new(HashMap::new()) }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries.get(key).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, v)| v.clone())
    }

    pub fn put(&self, key: K, value: V) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        entries.insert(key, (Instant::now(), value));
    }

    pub fn invalidate(&self, key: &K) {
        self.entries.write().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    /// Forgets everything (after a change that may touch any entry, such as moving an officer).
    pub fn clear(&self) {
        self.entries.write().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// Every management and API route with its access rule.
pub fn staff_routes() -> Vec<policy::StaffRoute> {
    admin::routes().into_iter().chain(manage::routes()).chain(indices::routes()).chain(api::routes()).collect()
}

/// The whole application's routes.
pub fn router(state: AppState) -> Router {
    let mut staff = Router::new();
    for route in staff_routes() {
        let guard = axum::middleware::from_fn_with_state((state.clone(), route.access), policy::enforce);
        staff = staff.route(route.path, route.handler.route_layer(guard));
    }
    Router::new().merge(meta::router()).merge(survey::router()).merge(staff).with_state(state)
}
