//! The use cases: what the doors (the web handlers and the command line) ask for, each written
//! once. A use case takes the [`Caller`] and owns the rules that must not be repeated per door:
//!
//! - **scope**: anything outside the caller's scope does not exist for them
//!   ([`AppError::NoSuchRecord`], as for a code that names nothing; never "forbidden");
//! - **audit**: looking at an officer's figures and every export is recorded here; changes are
//!   recorded by the store inside the transaction that makes them (see `store`);
//! - **caches**: a change to points or assignments forgets what is cached of points;
//! - **the export sequence**: build, write, record.
//!
//! Handlers parse, call and render; the command line parses, calls and prints. Whether a role
//! may use a route at all is the web's route table (`web::policy`); the console may do anything.
//!
//! - [`org`]: the organisation as the caller sees it, and the changes to desks and assignments.
//! - [`points`]: collection points, their posters, and the point behind a citizen's form.
//! - [`accounts`]: accounts, API keys and the audit log, for administrators.
//! - [`intake`]: the citizen's send to the one writer, and readiness.
//! - [`limits`]: the abuse limits (ratings per device and point, sign-in attempts), in memory
//!   on one server, in the database when instances share it.
//! - [`indices`]: reports, target pages and exports.
//! - [`session`]: sign-in, one-time codes, sessions and API keys: who is calling.
//! - [`receipts`]: receipt keys and tokens (one dossier, one rating), and the form a token opens.
//! - [`moderation`]: the responses a moderator reviews, and excluding or restoring them.
//! - [`trust`]: the signing key, checkpoints of the hash chain, signed export manifests.
//! - [`reports`]: how a report is read from the store's counts (the read path).

pub mod accounts;
pub mod cache;
pub mod indices;
pub mod intake;
pub mod limits;
pub mod moderation;
pub mod org;
pub mod points;
pub mod receipts;
pub mod reports;
pub mod session;
pub mod trust;

use std::sync::Arc;
use std::time::Duration;

use crate::config::Settings;
pub use crate::domain::account::Caller;
use crate::domain::org::Field;
use crate::domain::point::PointContext;
use crate::domain::questionnaire::Registry;
pub use crate::error::AppError;
use crate::store::Store;
use crate::store::writer::Writer;
use cache::{PointCache, TtlCache};

pub type AppResult<T> = Result<T, AppError>;

/// How long a form's point context and the field list are served from memory. Another
/// instance (or the CLI) may revoke a point; the writer checks revocation in its transaction,
/// so a stale entry can show a form, never store into a revoked point.
pub const CACHE_TTL: Duration = Duration::from_secs(30);

/// The use cases over one store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    pub store: Store,
    pub questionnaires: Arc<Registry>,
    pub settings: Arc<Settings>,
    points: Arc<PointCache<Arc<PointContext>>>,
    fields: Arc<TtlCache<(), Arc<Vec<Field>>>>,
    /// The one writer of citizens' responses; none for the command line, which stores no rating.
    writer: Option<Writer>,
    /// The signing key of checkpoints and export manifests, read on first use.
    signing: Arc<std::sync::OnceLock<Arc<crate::domain::chain::Key>>>,
    /// The abuse limits, counted where every instance of the deployment sees them.
    limits: Arc<limits::Limits>,
}

impl App {
    pub fn new(store: Store, questionnaires: Arc<Registry>, settings: Arc<Settings>) -> Self {
        let limits = Arc::new(limits::Limits::for_store(&store, settings.submit_limit_per_minute));
        Self {
            limits,
            store,
            questionnaires,
            settings,
            points: Arc::new(PointCache::new(CACHE_TTL)),
            fields: Arc::new(TtlCache::new(CACHE_TTL)),
            writer: None,
            signing: Arc::new(std::sync::OnceLock::new()),
        }
    }

    /// The app of a server: with the writer its citizens' sends go to.
    pub fn with_writer(self, writer: Writer) -> Self {
        Self { writer: Some(writer), ..self }
    }

    /// Advances with every change to points made through this instance: what was rendered
    /// from an older generation is stale.
    pub fn points_generation(&self) -> u64 {
        self.points.generation()
    }

    fn forget_point(&self, slug: &str) {
        self.points.forget(slug);
    }

    fn forget_points(&self) {
        self.points.forget_all();
    }
}
