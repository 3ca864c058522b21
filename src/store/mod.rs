//! Storage: all SQL lives here.
//!
//! One [`Store`] serves both backends, chosen by the URL scheme: `sqlite://` (embedded, the
//! default) or `postgres://`. The logical schema is the same; each backend has its own
//! migrations folder (`migrations/sqlite`, `migrations/postgres`) for its own DDL. The queries are
//! written once in the SQL both understand (`$n` parameters, `ON CONFLICT`, `RETURNING`,
//! integer days and millisecond instants), and [`on_backend!`] runs the same code against
//! whichever pool is in use; [`sqlite`] and [`postgres`] hold what differs (connecting, pragmas,
//! migrations). The contract test in `tests/api/store.rs` runs on both.
//!
//! Writes of citizens' responses go through the one [`writer::Writer`], which commits them in
//! groups; see `commit_group`.

mod batch;
pub mod postgres;
pub mod sqlite;
pub mod writer;

pub use counts::{FoldSummary, Grain, GrainCounts, GrainKey, ReadPlan};

use std::collections::{HashMap, HashSet};

use crate::domain::clock;
use crate::domain::org::{NewAssignment, NewDesk, NewField, NewUnit};
use crate::domain::point::Slug;
use crate::domain::questionnaire::Questionnaire;
use crate::domain::response::NewResponse;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Invalid(String),
    /// The SQLite file at the configured path is no longer the one this server opened:
    /// whatever it commits would not be found there.
    #[error("the database file {0}; restart the service once the right file is in place")]
    FileGone(String),
    /// The SQLite database has reached its cap (`sqlite_max_pages`).
    #[error("the database has reached its size cap ({0} pages of sqlite_max_pages)")]
    Full(i64),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// The database cannot answer now (unreachable, busy, full, or not the file opened), as
    /// opposed to a mistake: the caller is told to try again, not that something broke.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::FileGone(_) | Self::Full(_) => true,
            Self::Db(e) => matches!(
                e,
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed
            ),
            _ => false,
        }
    }

    /// The database answered and refused a statement (a constraint), as opposed to being
    /// unreachable, full or busy: retrying the same work differently may succeed.
    pub fn is_refusal(&self) -> bool {
        use sqlx::error::ErrorKind;
        match self {
            Self::Db(sqlx::Error::Database(e)) => matches!(
                e.kind(),
                ErrorKind::UniqueViolation
                    | ErrorKind::ForeignKeyViolation
                    | ErrorKind::NotNullViolation
                    | ErrorKind::CheckViolation
            ),
            _ => false,
        }
    }
}

#[derive(Clone, Debug)]
enum Backend {
    /// Readers share a pool; the writer owns the only write connection. `file` is the file they
    /// opened (none in memory).
    Sqlite { read: sqlx::SqlitePool, write: sqlx::SqlitePool, file: Option<sqlite::DbFile> },
    /// Several instances may share one database; row locks and unique constraints keep the
    /// writer's guarantees across them.
    Postgres(sqlx::PgPool),
}

/// The database, whichever backend holds it. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
}

/// Runs `$body` with `$pool` bound to the read pool of the backend in use. The body is compiled
/// once per backend, so it may use anything both pools support.
macro_rules! on_backend {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            Backend::Sqlite { read: $pool, .. } => $body,
            Backend::Postgres($pool) => $body,
        }
    };
    (write $store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            Backend::Sqlite { write: $pool, .. } => $body,
            Backend::Postgres($pool) => $body,
        }
    };
}

/// Pages that must be left under an SQLite page cap for the readiness check to pass: room for
/// a group of ratings.
const PROBE_ROOM_PAGES: i64 = 64;

/// Runs `$body` in a transaction on the write connection (`$tx`) and commits it, on the
/// SQLite file this server opened. Any failure closes that connection, so the next
/// transaction starts on a new one: after a failed statement or COMMIT, SQLite may have rolled
/// the transaction back by itself (a full disk, an I/O error) while sqlx still counts it as
/// open, and would then turn the next BEGIN into a savepoint of a transaction that never
/// commits; a PostgreSQL connection may be broken. On SQLite, `BEGIN IMMEDIATE` also fails on
/// a connection that is somehow still in a transaction, rather than nesting in it.
macro_rules! write_transaction {
    ($store:expr, $tx:ident => $body:block) => {{
        $store.check_file(false)?;
        let begin = $store.begin_statement();
        on_backend!(write $store, pool => {
            let mut conn = pool.acquire().await?;
            let written: StoreResult<()> = async {
                let mut $tx = sqlx::Connection::begin_with(&mut *conn, begin).await?;
                $body
                $tx.commit().await?;
                Ok(())
            }
            .await;
            if written.is_err() {
                let _ = conn.close().await;
            }
            written?;
        });
        // A commit into a file that was deleted or replaced meanwhile is not durable.
        $store.check_file(true)?;
    }};
}

/// Binds a NULL of each type to `$query`: a padding row (see [`batch`]).
macro_rules! bind_nulls {
    ($query:expr; $($t:ty),+) => {
        $query$(.bind(None::<$t>))+
    };
}

/// Inserts `$rows` of `(response id, question, value)` into the answers, in the transaction
/// `$tx`, a statement per [`batch::ANSWERS_MAX`] rows.
macro_rules! write_answers {
    ($tx:expr, $rows:expr, $style:expr) => {
        for (chunk, rows) in batch::split(&$rows, batch::ANSWERS_MAX) {
            let mut insert = sqlx::query(batch::insert_answers(chunk.size, $style));
            for (id, question, value) in rows {
                insert = insert.bind(*id).bind(*question).bind(*value);
            }
            for _ in 0..chunk.padding() {
                insert = bind_nulls!(insert; i64, &str, i64);
            }
            insert.execute(&mut *$tx).await?;
        }
    };
}

/// Adds `$counts` of `(CountKey, n)` to the day counts in the transaction `$tx`; a day already
/// folded into its month's sums (a commit just after midnight, seeded history, a repair) sends
/// that month back to be folded anew, in the same transaction.
macro_rules! add_counts {
    ($tx:expr, $counts:expr, $style:expr) => {
        for (chunk, rows) in batch::split(&$counts, batch::COUNTS_MAX) {
            let mut upsert = sqlx::query(batch::upsert_counts(chunk.size, $style));
            for ((day, (unit, desk, officer, field), channel, qid, version, question, value), n) in rows {
                upsert = upsert
                    .bind(*day)
                    .bind(*unit)
                    .bind(*desk)
                    .bind(*officer)
                    .bind(*field)
                    .bind(*channel)
                    .bind(*qid)
                    .bind(*version)
                    .bind(*question)
                    .bind(*value)
                    .bind(*n);
            }
            for _ in 0..chunk.padding() {
                upsert = bind_nulls!(upsert; i64, i64, i64, i64, i64, &str, &str, i64, &str, i64, i64);
            }
            upsert.execute(&mut *$tx).await?;
        }
        let mut earliest: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
        for ((day, ..), _) in &$counts {
            let first = earliest.entry(day / 100).or_insert(*day);
            *first = (*first).min(*day);
        }
        for (month, day) in earliest {
            sqlx::query("UPDATE count_folds SET through_day = 0 WHERE month = $1 AND through_day >= $2")
                .bind(month)
                .bind(day)
                .execute(&mut *$tx)
                .await?;
        }
    };
}

/// Appends an audit entry inside the transaction `$tx` of the change it records:
/// (at, actor, action, target, before, after).
macro_rules! audit {
    ($tx:expr, $at:expr, $actor:expr, $action:expr, $target:expr, $before:expr, $after:expr $(,)?) => {
        sqlx::query($crate::store::AUDIT_SQL)
            .bind($at)
            .bind($actor)
            .bind($action)
            .bind($target)
            .bind($before)
            .bind($after)
            .execute(&mut *$tx)
            .await?
    };
}

/// Appends one audit entry; see [`audit!`].
pub(crate) const AUDIT_SQL: &str =
    "INSERT INTO audit_log (at, actor, action, target, before, after) VALUES ($1, $2, $3, $4, $5, $6)";

mod accounts;
mod counts;
mod derived;
mod listing;
mod manage;
pub use accounts::{AuditEntry, AuditFilter, CallerRecord, LoginRecord, NewSession, PendingSecondFactor, UserRow};
pub use listing::{AssignmentRow, DeskRow, OfficerRow, UnitRow};

/// Joins that give a collection point `p` as it stands on a day (an SQL expression, e.g. `$2`):
/// an officer's point follows the officer's assignment of that day (`a`), a desk's point the
/// desk's unit, a unit's point the unit. `eu` is that unit if it is valid on the day, `ed` the
/// desk, `o` the officer. A point is open on the day when it is not revoked and `eu` is there:
/// not when its unit has closed (merged) or its officer has no assignment that day.
macro_rules! point_on_day {
    ($day:literal) => {
        concat!(
            " LEFT JOIN assignments a ON a.officer_id = p.officer_id AND a.valid_from <= ",
            $day,
            " AND (a.valid_to IS NULL OR a.valid_to >= ",
            $day,
            ")",
            " LEFT JOIN desks pd ON pd.id = p.desk_id",
            " LEFT JOIN units eu ON eu.id = CASE WHEN p.officer_id IS NOT NULL THEN a.unit_id",
            " WHEN p.desk_id IS NOT NULL THEN pd.unit_id ELSE p.unit_id END",
            " AND eu.valid_from <= ",
            $day,
            " AND (eu.valid_to IS NULL OR eu.valid_to >= ",
            $day,
            ")",
            " LEFT JOIN desks ed ON ed.id = CASE WHEN p.officer_id IS NULL THEN p.desk_id ELSE a.desk_id END",
            " LEFT JOIN officers o ON o.id = p.officer_id "
        )
    };
}
pub(crate) use point_on_day;

/// What a citizen's form needs to know about its collection point.
#[derive(Clone, Debug, PartialEq)]
pub struct PointContext {
    pub point_id: i64,
    pub questionnaire_id: String,
    /// Revoked, or its unit has closed, or its officer has no assignment today.
    pub closed: bool,
    pub unit_name: String,
    pub desk_name: Option<String>,
    pub officer_name: Option<String>,
}

/// An active collection point as lists and posters show it.
#[derive(Clone, Debug, PartialEq)]
pub struct PointRow {
    pub id: i64,
    pub slug: Slug,
    /// The unit the point rates for today.
    pub unit_id: i64,
    pub unit_code: String,
    pub unit_name: String,
    pub desk_code: Option<String>,
    pub desk_name: Option<String>,
    pub officer_code: Option<String>,
    pub officer_name: Option<String>,
    pub label: String,
    pub questionnaire_id: String,
}

/// A procedure field of the catalogue.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldRow {
    pub id: i64,
    pub code: String,
    pub name: String,
}

/// How the writer settled one response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Stored now, with this id.
    Stored(i64),
    /// Its one-time key was stored before: the first response stands.
    Duplicate(i64),
    /// The collection point is closed (revoked, its unit closed, its officer unassigned) or
    /// never existed: nothing stored.
    PointClosed,
}

/// Everything an import brings, written in one transaction.
#[derive(Clone, Debug, Default)]
pub struct OrgBatch {
    pub units: Vec<NewUnit>,
    pub desks: Vec<NewDesk>,
    pub assignments: Vec<NewAssignment>,
    pub fields: Vec<NewField>,
}

/// What an import or the demo changed, per kind: (new, updated).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub units: (u64, u64),
    pub desks: (u64, u64),
    pub officers: (u64, u64),
    pub assignments: (u64, u64),
    pub fields: (u64, u64),
    pub points_created: u64,
}

impl ImportSummary {
    pub fn changed_nothing(&self) -> bool {
        *self == Self::default()
    }

    /// The summary as the audit log keeps it.
    pub fn to_json(&self) -> String {
        let pair = |(new, updated): (u64, u64)| serde_json::json!({ "new": new, "updated": updated });
        serde_json::json!({
            "units": pair(self.units),
            "desks": pair(self.desks),
            "officers": pair(self.officers),
            "assignments": pair(self.assignments),
            "fields": pair(self.fields),
            "points_created": self.points_created,
        })
        .to_string()
    }
}

/// The codes already in the database, so that an import can check its references row by row.
#[derive(Clone, Debug, Default)]
pub struct KnownCodes {
    pub units: HashSet<String>,
    /// Unit code -> its parent's code.
    pub unit_parents: HashMap<String, Option<String>>,
    /// Desk code -> its unit's code.
    pub desks: HashMap<String, String>,
    /// Officer code -> its assignments' (valid_from, valid_to) as ISO dates.
    pub assignments: HashMap<String, Vec<(String, Option<String>)>>,
}

/// Answers counted per target, day, questionnaire version, question and value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AnswerCount {
    pub target_code: String,
    pub local_day: i64,
    pub questionnaire_id: String,
    pub questionnaire_version: i64,
    pub question_id: String,
    pub value: i64,
    pub count: i64,
}

/// Whose comments [`Store::comments_of`] lists: the ratings given in any of `units` (all units
/// when `None`), and to the desk or officer when named.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommentsOf {
    pub units: Option<Vec<i64>>,
    pub desk: Option<i64>,
    pub officer: Option<i64>,
}

/// Whose answers [`Store::answer_counts`] groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountBy {
    Unit,
    Desk,
    Officer,
}

impl Store {
    /// Connects by URL scheme, creating an SQLite file if missing, and migrates.
    pub async fn open(url: &str, max_connections: u32) -> StoreResult<Self> {
        Self::open_capped(url, max_connections, None).await
    }

    /// As [`Store::open`], an SQLite database capped at `sqlite_max_pages` pages: past the cap
    /// commits fail as on a full disk (the setting of the same name).
    pub async fn open_capped(url: &str, max_connections: u32, sqlite_max_pages: Option<u32>) -> StoreResult<Self> {
        let backend = if url.starts_with("sqlite:") {
            let (read, write, file) = sqlite::connect(url, max_connections, sqlite_max_pages).await?;
            Backend::Sqlite { read, write, file }
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres(postgres::connect(url, max_connections).await?)
        } else {
            return Err(StoreError::Invalid(format!(
                "unsupported database URL '{}': use sqlite://FILE or postgres://USER@HOST/DB",
                crate::config::redact_url(url)
            )));
        };
        let store = Self { backend };
        match &store.backend {
            Backend::Sqlite { write, .. } => {
                migrator(sqlite::MIGRATIONS).run(write).await?;
                sqlite::check_durability(write).await?;
            }
            Backend::Postgres(pool) => migrator(postgres::MIGRATIONS).run(pool).await?,
        }
        Ok(store)
    }

    /// A connection to a PostgreSQL server for creating and dropping databases.
    pub async fn admin_postgres(url: &str) -> StoreResult<postgres::PgAdmin> {
        postgres::PgAdmin::connect(url).await
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Closes the pools, waiting for connections to be returned.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite { read, write, .. } => {
                read.close().await;
                write.close().await;
            }
            Backend::Postgres(pool) => pool.close().await,
        }
    }

    /// A round trip to the database, for the health check.
    pub async fn ping(&self) -> StoreResult<()> {
        on_backend!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// True when no unit exists yet (a new database).
    pub async fn is_empty(&self) -> StoreResult<bool> {
        let n: i64 = on_backend!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM units").fetch_one(pool).await?
        });
        Ok(n == 0)
    }

    /// Records the shipped questionnaires and returns every stored version. A shipped definition
    /// that differs from the stored one of the same id and version is refused: a change needs a
    /// new version, so that old responses keep the wording they answered.
    pub async fn sync_questionnaires(&self, shipped: &[Questionnaire]) -> StoreResult<Vec<Questionnaire>> {
        on_backend!(write self, pool => {
            let mut tx = pool.begin().await?;
            for q in shipped {
                let stored: Option<String> =
                    sqlx::query_scalar("SELECT digest FROM questionnaires WHERE id = $1 AND version = $2")
                        .bind(&q.id)
                        .bind(q.version)
                        .fetch_optional(&mut *tx)
                        .await?;
                match stored {
                    Some(digest) if digest == q.digest() => {}
                    Some(_) => {
                        return Err(StoreError::Invalid(format!(
                            "questionnaire {} version {} differs from the one already stored; \
                             give the changed questionnaire a new version",
                            q.id, q.version
                        )));
                    }
                    None => {
                        sqlx::query(
                            "INSERT INTO questionnaires (id, version, digest, definition, loaded_at) \
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id, version) DO NOTHING",
                        )
                        .bind(&q.id)
                        .bind(q.version)
                        .bind(q.digest())
                        .bind(q.to_json())
                        .bind(clock::now_ms())
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }
            tx.commit().await?;
        });
        let rows: Vec<(String,)> = on_backend!(self, pool => {
            sqlx::query_as("SELECT definition FROM questionnaires ORDER BY id, version")
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(|(json,)| Questionnaire::from_json(&json).map_err(StoreError::Invalid)).collect()
    }

    /// The procedure field catalogue, by name (code-point order of the lower-cased name).
    pub async fn fields(&self) -> StoreResult<Vec<FieldRow>> {
        let mut rows: Vec<(i64, String, String)> = on_backend!(self, pool => {
            sqlx::query_as("SELECT id, code, name FROM fields").fetch_all(pool).await?
        });
        // Sorted here, not in SQL: the backends' collations order Vietnamese differently.
        rows.sort_by(|a, b| a.2.to_lowercase().cmp(&b.2.to_lowercase()).then_with(|| a.1.cmp(&b.1)));
        Ok(rows.into_iter().map(|(id, code, name)| FieldRow { id, code, name }).collect())
    }

    /// The form context of a slug as it stands today, open or not; `None` if no point ever had it.
    pub async fn point_context(&self, slug: &Slug) -> StoreResult<Option<PointContext>> {
        let today = clock::iso(clock::vietnam_date(clock::now_ms()));
        type Raw = (i64, String, Option<i64>, Option<i64>, String, Option<String>, Option<String>);
        let row: Option<Raw> = on_backend!(self, pool => {
            sqlx::query_as(concat!(
                "SELECT p.id, p.questionnaire_id, p.revoked_at, eu.id, COALESCE(eu.name, pu.name), ed.name, \
                        o.full_name \
                 FROM collection_points p JOIN units pu ON pu.id = p.unit_id",
                point_on_day!("$2"),
                "WHERE p.slug = $1 ORDER BY a.valid_from DESC LIMIT 1"
            ))
            .bind(slug.as_str())
            .bind(&today)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(point_id, questionnaire_id, revoked_at, open_unit, unit_name, desk_name, officer_name)| {
            PointContext {
                point_id,
                questionnaire_id,
                closed: revoked_at.is_some() || open_unit.is_none(),
                unit_name,
                desk_name,
                officer_name,
            }
        }))
    }

    /// Fails when the SQLite file at the configured path is no longer the one opened.
    fn check_file(&self, after_commit: bool) -> StoreResult<()> {
        match &self.backend {
            Backend::Sqlite { file: Some(file), .. } => file.check(after_commit),
            _ => Ok(()),
        }
    }

    /// The writer's BEGIN: on SQLite it takes the write lock at once.
    fn begin_statement(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite { .. } => "BEGIN IMMEDIATE",
            Backend::Postgres(_) => "BEGIN",
        }
    }

    /// Commits a one-row write the way the writer commits a group, for the readiness check:
    /// succeeds only when a commit can succeed now (the database reachable, writable, not
    /// full, and on SQLite still the file at the configured path).
    pub async fn probe_write(&self) -> StoreResult<()> {
        let now = clock::now_ms();
        write_transaction!(self, tx => {
            sqlx::query("UPDATE writer_probe SET at = $1 WHERE id = 1").bind(now).execute(&mut *tx).await?;
        });
        // Under a page cap the one-row update fits where a group of ratings would not: the
        // room left under the cap is checked too.
        if let Backend::Sqlite { write, .. } = &self.backend {
            let mut conn = write.acquire().await?;
            let mut pragma = async |name: &'static str| -> StoreResult<i64> {
                Ok(sqlx::query_scalar(name).fetch_one(&mut *conn).await?)
            };
            let (pages, cap, free) = (
                pragma("PRAGMA page_count").await?,
                pragma("PRAGMA max_page_count").await?,
                pragma("PRAGMA freelist_count").await?,
            );
            if cap - pages + free < PROBE_ROOM_PAGES {
                return Err(StoreError::Full(cap));
            }
        }
        Ok(())
    }

    /// How this backend writes statement parameters.
    fn placeholders(&self) -> batch::Placeholders {
        match self.backend {
            Backend::Sqlite { .. } => batch::Placeholders::Positional,
            Backend::Postgres(_) => batch::Placeholders::Numbered,
        }
    }

    /// Stores a group of responses in one transaction and says how each was settled. Everything
    /// that must be atomic with a response happens here: the one-time key (a repeat returns the
    /// first), the point still being open, and the attribution to the unit, desk and officer of
    /// the moment (the officer's assignment on the response's Vietnam date).
    pub async fn commit_group(&self, group: &[NewResponse]) -> StoreResult<Vec<WriteOutcome>> {
        // A key repeated inside the group: the first occurrence is the one written.
        let mut first_of: HashMap<&str, usize> = HashMap::with_capacity(group.len());
        let unique: Vec<&NewResponse> = group
            .iter()
            .enumerate()
            .filter(|(i, r)| *first_of.entry(r.key.as_str()).or_insert(*i) == *i)
            .map(|(_, r)| r)
            .collect();
        let mut stored: HashMap<String, i64> = HashMap::with_capacity(unique.len());
        let mut earlier: HashMap<String, i64> = HashMap::new();
        let style = self.placeholders();
        write_transaction!(self, tx => {
            let mut attributed: HashMap<String, Attribution> = HashMap::with_capacity(unique.len());
            for (chunk, rows) in batch::split(&unique, batch::RESPONSES_MAX) {
                let mut insert = sqlx::query_as::<_, InsertedRow>(batch::insert_responses(chunk.size, style));
                for r in rows {
                    let day = clock::vietnam_date(r.submitted_at_ms);
                    insert = insert
                        .bind(r.key.as_str())
                        .bind(r.point_id)
                        .bind(r.field.as_deref())
                        .bind(r.questionnaire_id.as_str())
                        .bind(r.questionnaire_version)
                        .bind(r.channel.code())
                        .bind(r.submitted_at_ms)
                        .bind(clock::date_bucket(day))
                        .bind(r.comment.as_ref().map(|c| c.as_str()))
                        .bind(clock::iso(day));
                }
                for _ in 0..chunk.padding() {
                    insert = bind_nulls!(insert; &str, i64, &str, &str, i64, &str, i64, i64, &str, &str);
                }
                for (id, key, unit, desk, officer, field) in insert.fetch_all(&mut *tx).await? {
                    stored.insert(key.clone(), id);
                    attributed.insert(key, (unit, desk.unwrap_or(0), officer.unwrap_or(0), field.unwrap_or(0)));
                }
            }

            let answers: Vec<(i64, &str, i64)> = unique
                .iter()
                .filter_map(|r| stored.get(r.key.as_str()).map(|id| (*id, r)))
                .flat_map(|(id, r)| r.answers.iter().map(move |(q, v)| (id, q.as_str(), *v)))
                .collect();
            write_answers!(tx, answers, style);
            // The group's answers, summed per count key, added to the counts in one go.
            let counts: Vec<(CountKey<'_>, i64)> = count_group(&unique, &attributed).into_iter().collect();
            add_counts!(tx, counts, style);

            // Not inserted: a key stored before (a retry), or a point that is closed.
            for r in unique.iter().filter(|r| !stored.contains_key(r.key.as_str())) {
                let first: Option<i64> = sqlx::query_scalar("SELECT id FROM responses WHERE idempotency_key = $1")
                    .bind(r.key.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(id) = first {
                    earlier.insert(r.key.as_str().to_owned(), id);
                }
            }
        });
        Ok(group
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let key = r.key.as_str();
                match (stored.get(key), earlier.get(key)) {
                    (Some(id), _) if first_of.get(key) == Some(&i) => WriteOutcome::Stored(*id),
                    (Some(id), _) | (None, Some(id)) => WriteOutcome::Duplicate(*id),
                    (None, None) => WriteOutcome::PointClosed,
                }
            })
            .collect())
    }

    /// Erases the written comments of responses submitted before `before_ms`; the ratings stay.
    pub async fn purge_comments(&self, before_ms: i64) -> StoreResult<u64> {
        Ok(on_backend!(write self, pool => {
            // The day bound lets the index on local_day find the few old rows.
            sqlx::query(
                "UPDATE responses SET comment = NULL \
                 WHERE local_day <= $2 AND submitted_at < $1 AND comment IS NOT NULL",
            )
            .bind(before_ms)
            .bind(clock::day_bucket(before_ms))
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// The written comments of the responses to `questionnaire_id` given on the Vietnam days
    /// `[from_day, to_day]` to `of`: at most `limit` of the newest, returned in the order of
    /// their text so that their order tells nothing of when they were written.
    pub async fn comments_of(
        &self,
        of: &CommentsOf,
        questionnaire_id: &str,
        from_day: i64,
        to_day: i64,
        limit: i64,
    ) -> StoreResult<Vec<String>> {
        // Ids come from the store itself, never from input: written into the text as numbers.
        let mut target = Vec::new();
        if let Some(units) = &of.units {
            if units.is_empty() {
                return Ok(Vec::new());
            }
            target.push(format!("unit_id IN ({})", units.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")));
        }
        target.extend(of.desk.map(|id| format!("desk_id = {id}")));
        target.extend(of.officer.map(|id| format!("officer_id = {id}")));
        let target = if target.is_empty() { String::from("TRUE") } else { target.join(" AND ") };
        let sql = format!(
            "SELECT comment FROM responses \
             WHERE comment IS NOT NULL AND local_day BETWEEN $1 AND $2 AND questionnaire_id = $3 AND {target} \
             ORDER BY id DESC LIMIT $4"
        );
        let mut comments: Vec<String> = on_backend!(self, pool => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .persistent(false)
                .bind(from_day)
                .bind(to_day)
                .bind(questionnaire_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        comments.sort();
        Ok(comments)
    }

    /// The newest written comments, newest first.
    pub async fn comments(&self, limit: i64) -> StoreResult<Vec<String>> {
        Ok(on_backend!(self, pool => {
            sqlx::query_scalar("SELECT comment FROM responses WHERE comment IS NOT NULL ORDER BY id DESC LIMIT $1")
                .bind(limit)
                .fetch_all(pool)
                .await?
        }))
    }

    /// All responses stored, for checks and the demo.
    pub async fn response_count(&self) -> StoreResult<i64> {
        Ok(on_backend!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM responses").fetch_one(pool).await?
        }))
    }

    /// Answer counts per target and Vietnam day in `[from_day, to_day]` (both `YYYYMMDD`), per
    /// questionnaire version, question and value, read from the counts the writer keeps.
    pub async fn answer_counts(&self, by: CountBy, from_day: i64, to_day: i64) -> StoreResult<Vec<AnswerCount>> {
        macro_rules! kept {
            ($target:literal) => {
                concat!(
                    "SELECT t.code, c.local_day, c.questionnaire_id, c.questionnaire_version, c.question_id, c.value, \
                            CAST(SUM(c.count) AS BIGINT) FROM answer_counts c JOIN ",
                    $target,
                    " WHERE c.local_day BETWEEN $1 AND $2 AND c.question_id <> '' \
                     GROUP BY t.code, c.local_day, c.questionnaire_id, c.questionnaire_version, c.question_id, c.value"
                )
            };
        }
        let sql = match by {
            CountBy::Unit => kept!("units t ON t.id = c.unit_id"),
            CountBy::Desk => kept!("desks t ON t.id = c.desk_id"),
            CountBy::Officer => kept!("officers t ON t.id = c.officer_id"),
        };
        self.counts_query(sql, from_day, to_day).await
    }

    /// The same counts recounted from the stored responses themselves: what an auditor runs to
    /// check that the kept counts are the history's.
    pub async fn recount_answers(&self, by: CountBy, from_day: i64, to_day: i64) -> StoreResult<Vec<AnswerCount>> {
        macro_rules! recount {
            ($target:literal) => {
                concat!(
                    "SELECT t.code, r.local_day, r.questionnaire_id, r.questionnaire_version, a.question_id, a.value, \
                            COUNT(*) FROM responses r JOIN answers a ON a.response_id = r.id JOIN ",
                    $target,
                    " WHERE r.local_day BETWEEN $1 AND $2 \
                     GROUP BY t.code, r.local_day, r.questionnaire_id, r.questionnaire_version, a.question_id, a.value"
                )
            };
        }
        let sql = match by {
            CountBy::Unit => recount!("units t ON t.id = r.unit_id"),
            CountBy::Desk => recount!("desks t ON t.id = r.desk_id"),
            CountBy::Officer => recount!("officers t ON t.id = r.officer_id"),
        };
        self.counts_query(sql, from_day, to_day).await
    }

    async fn counts_query(&self, sql: &'static str, from_day: i64, to_day: i64) -> StoreResult<Vec<AnswerCount>> {
        type CountRow = (String, i64, String, i64, String, i64, i64);
        let mut rows: Vec<CountRow> = on_backend!(self, pool => {
            sqlx::query_as(sql).bind(from_day).bind(to_day).fetch_all(pool).await?
        });
        // Sorted here, not in SQL: the backends' collations order text differently.
        rows.sort_unstable();
        Ok(rows
            .into_iter()
            .map(|(target_code, local_day, questionnaire_id, questionnaire_version, question_id, value, count)| {
                AnswerCount {
                    target_code,
                    local_day,
                    questionnaire_id,
                    questionnaire_version,
                    question_id,
                    value,
                    count,
                }
            })
            .collect())
    }

    /// Every active collection point, ordered by unit, desk and officer.
    pub async fn active_points(&self) -> StoreResult<Vec<PointRow>> {
        self.points_where(None).await
    }

    /// The active points of one unit (its own, its desks', its officers'), or `None` if the unit
    /// does not exist.
    pub async fn unit_points(&self, unit_code: &str) -> StoreResult<Option<(String, Vec<PointRow>)>> {
        let name: Option<String> = on_backend!(self, pool => {
            sqlx::query_scalar("SELECT name FROM units WHERE code = $1").bind(unit_code).fetch_optional(pool).await?
        });
        match name {
            Some(name) => Ok(Some((name, self.points_where(Some(unit_code)).await?))),
            None => Ok(None),
        }
    }

    async fn points_where(&self, unit_code: Option<&str>) -> StoreResult<Vec<PointRow>> {
        type Raw = (
            i64,
            String,
            i64,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            String,
        );
        let today = clock::iso(clock::vietnam_date(clock::now_ms()));
        let rows: Vec<Raw> = on_backend!(self, pool => {
            sqlx::query_as(concat!(
                "SELECT p.id, p.slug, eu.id, eu.code, eu.name, ed.code, ed.name, o.code, o.full_name, p.label, \
                        p.questionnaire_id \
                 FROM collection_points p",
                point_on_day!("$2"),
                "WHERE p.revoked_at IS NULL AND eu.id IS NOT NULL AND ($1 IS NULL OR eu.code = $1)"
            ))
            .bind(unit_code)
            .bind(&today)
            .fetch_all(pool)
            .await?
        });
        let mut points = rows
            .into_iter()
            .map(
                |(
                    id,
                    slug,
                    unit_id,
                    unit_code,
                    unit_name,
                    desk_code,
                    desk_name,
                    officer_code,
                    officer_name,
                    label,
                    q,
                )| {
                    Ok(PointRow {
                        id,
                        slug: Slug::parse(&slug).map_err(StoreError::Invalid)?,
                        unit_id,
                        unit_code,
                        unit_name,
                        desk_code,
                        desk_name,
                        officer_code,
                        officer_name,
                        label,
                        questionnaire_id: q,
                    })
                },
            )
            .collect::<StoreResult<Vec<_>>>()?;
        // Sorted here, not in SQL: the backends' collations order text differently.
        points.sort_by(|x, y| {
            let key = |p: &PointRow| {
                (p.unit_code.clone(), p.desk_code.is_some(), p.desk_code.clone(), p.officer_code.clone(), p.id)
            };
            key(x).cmp(&key(y))
        });
        Ok(points)
    }

    /// The active point with this slug.
    pub async fn active_point(&self, slug: &Slug) -> StoreResult<Option<PointRow>> {
        Ok(self.active_points().await?.into_iter().find(|p| &p.slug == slug))
    }

    /// Revokes a point: its QR code stops accepting ratings. False if it was not active.
    pub async fn revoke_point(&self, slug: &Slug, actor: &str) -> StoreResult<bool> {
        let now = clock::now_ms();
        on_backend!(write self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query("UPDATE collection_points SET revoked_at = $2 WHERE slug = $1 AND revoked_at IS NULL")
                .bind(slug.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if done == 0 {
                return Ok(false);
            }
            audit!(tx, now, actor, "point.revoke", format!("point:{slug}"), None::<String>, None::<String>);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Revokes a point and issues a new slug for the same target; `None` if it was not active.
    pub async fn reissue_point(&self, slug: &Slug, actor: &str) -> StoreResult<Option<Slug>> {
        let fresh = Slug::generate();
        let now = clock::now_ms();
        let reissued = on_backend!(write self, pool => {
            let mut tx = pool.begin().await?;
            let new_id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO collection_points (slug, unit_id, desk_id, officer_id, questionnaire_id, label, created_at) \
                 SELECT $2, unit_id, desk_id, officer_id, questionnaire_id, label, $3 \
                 FROM collection_points WHERE slug = $1 AND revoked_at IS NULL \
                 RETURNING id",
            )
            .bind(slug.as_str())
            .bind(fresh.as_str())
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(new_id) = new_id {
                sqlx::query("UPDATE collection_points SET revoked_at = $2, replaced_by = $3 WHERE slug = $1")
                    .bind(slug.as_str())
                    .bind(now)
                    .bind(new_id)
                    .execute(&mut *tx)
                    .await?;
                audit!(tx, now, actor, "point.reissue", format!("point:{slug}"), None::<String>, Some(format!("{{\"replaced_by\":\"{fresh}\"}}")));
                tx.commit().await?;
                true
            } else {
                false
            }
        });
        Ok(reissued.then_some(fresh))
    }

    /// Makes an active point use another questionnaire from now on. False if not active.
    pub async fn set_point_questionnaire(&self, slug: &Slug, questionnaire_id: &str, actor: &str) -> StoreResult<bool> {
        let now = clock::now_ms();
        on_backend!(write self, pool => {
            let mut tx = pool.begin().await?;
            let before: Option<String> = sqlx::query_scalar(
                "SELECT questionnaire_id FROM collection_points WHERE slug = $1 AND revoked_at IS NULL",
            )
            .bind(slug.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(before) = before else { return Ok(false) };
            sqlx::query("UPDATE collection_points SET questionnaire_id = $2 WHERE slug = $1")
                .bind(slug.as_str())
                .bind(questionnaire_id)
                .execute(&mut *tx)
                .await?;
            audit!(tx, now, actor, "point.questionnaire", format!("point:{slug}"), Some(serde_json::json!({ "questionnaire": before }).to_string()), Some(serde_json::json!({ "questionnaire": questionnaire_id }).to_string()));
            tx.commit().await?;
            Ok(true)
        })
    }

    /// The codes an import may refer to.
    pub async fn known_codes(&self) -> StoreResult<KnownCodes> {
        let (units, desks, assignments) = on_backend!(self, pool => {
            let units: Vec<(String, Option<String>)> =
                sqlx::query_as("SELECT u.code, p.code FROM units u LEFT JOIN units p ON p.id = u.parent_id")
                    .fetch_all(pool)
                    .await?;
            let desks: Vec<(String, String)> =
                sqlx::query_as("SELECT d.code, u.code FROM desks d JOIN units u ON u.id = d.unit_id")
                    .fetch_all(pool)
                    .await?;
            let assignments: Vec<(String, String, Option<String>)> = sqlx::query_as(
                "SELECT o.code, a.valid_from, a.valid_to FROM assignments a JOIN officers o ON o.id = a.officer_id",
            )
            .fetch_all(pool)
            .await?;
            (units, desks, assignments)
        });
        let mut known = KnownCodes {
            units: units.iter().map(|(c, _)| c.clone()).collect(),
            unit_parents: units.into_iter().collect(),
            desks: desks.into_iter().collect(),
            ..KnownCodes::default()
        };
        for (officer, from, to) in assignments {
            known.assignments.entry(officer).or_default().push((from, to));
        }
        Ok(known)
    }

    /// Writes an organisation batch in one transaction: units (then their parents and
    /// successors), desks, officers with their assignments, and procedure fields, each matched
    /// by code, so that the same batch twice changes nothing. Then gives every unit with a desk,
    /// every desk and every officer at a desk a collection point, if it has none.
    /// References are expected to be checked already (see `crate::import`); the database's
    /// constraints still refuse a dangling one, and then nothing is written.
    /// `progress` is told of each row written (units, desks, assignments, fields).
    pub async fn import_org(
        &self,
        batch: &OrgBatch,
        questionnaire_id: &str,
        actor: &str,
        progress: &(dyn Fn(u64) + Sync),
    ) -> StoreResult<ImportSummary> {
        let mut s = ImportSummary::default();
        let now = clock::now_ms();
        let today = clock::iso(clock::vietnam_date(now));
        on_backend!(write self, pool => {
            let mut tx = pool.begin().await?;
            let mut units_counted = HashSet::new();
            for u in &batch.units {
                let existed: Option<i64> = sqlx::query_scalar("SELECT id FROM units WHERE code = $1")
                    .bind(u.code.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                let n = sqlx::query(
                    "INSERT INTO units (code, name, kind, valid_from, valid_to) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, \
                        valid_from = excluded.valid_from, valid_to = excluded.valid_to \
                     WHERE units.name <> excluded.name OR units.kind <> excluded.kind \
                        OR units.valid_from <> excluded.valid_from \
                        OR COALESCE(units.valid_to, '') <> COALESCE(excluded.valid_to, '')",
                )
                .bind(u.code.as_str())
                .bind(u.name.as_str())
                .bind(u.kind.code())
                .bind(clock::iso(u.validity.from()))
                .bind(u.validity.to().map(clock::iso))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                count(&mut s.units, existed.is_some(), n);
                if existed.is_none() || n > 0 {
                    units_counted.insert(u.code.as_str());
                }
                progress(1);
            }
            for u in &batch.units {
                let n = sqlx::query(
                    "UPDATE units SET parent_id = (SELECT id FROM units WHERE code = $2), \
                        successor_id = (SELECT id FROM units WHERE code = $3) \
                     WHERE code = $1 AND (COALESCE(parent_id, 0) <> COALESCE((SELECT id FROM units WHERE code = $2), 0) \
                        OR COALESCE(successor_id, 0) <> COALESCE((SELECT id FROM units WHERE code = $3), 0))",
                )
                .bind(u.code.as_str())
                .bind(u.parent.as_ref().map(|c| c.as_str()))
                .bind(u.successor.as_ref().map(|c| c.as_str()))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n > 0 && units_counted.insert(u.code.as_str()) {
                    s.units.1 += 1;
                }
            }
            for d in &batch.desks {
                let existed: Option<i64> = sqlx::query_scalar("SELECT id FROM desks WHERE code = $1")
                    .bind(d.code.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                let n = sqlx::query(
                    "INSERT INTO desks (code, name, unit_id) SELECT $1, $2, id FROM units WHERE code = $3 \
                     ON CONFLICT (code) DO UPDATE SET name = excluded.name, unit_id = excluded.unit_id \
                     WHERE desks.name <> excluded.name OR desks.unit_id <> excluded.unit_id",
                )
                .bind(d.code.as_str())
                .bind(d.name.as_str())
                .bind(d.unit.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                count(&mut s.desks, existed.is_some(), n);
                progress(1);
            }
            let mut officers_seen = HashSet::new();
            for a in &batch.assignments {
                if officers_seen.insert(a.officer.as_str()) {
                    let existed: Option<i64> = sqlx::query_scalar("SELECT id FROM officers WHERE code = $1")
                        .bind(a.officer.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                    let n = sqlx::query(
                        "INSERT INTO officers (code, full_name) VALUES ($1, $2) \
                         ON CONFLICT (code) DO UPDATE SET full_name = excluded.full_name \
                         WHERE officers.full_name <> excluded.full_name",
                    )
                    .bind(a.officer.as_str())
                    .bind(a.full_name.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    count(&mut s.officers, existed.is_some(), n);
                }
                let from = clock::iso(a.validity.from());
                let existed: Option<i64> = sqlx::query_scalar(
                    "SELECT a.id FROM assignments a JOIN officers o ON o.id = a.officer_id \
                     WHERE o.code = $1 AND a.valid_from = $2",
                )
                .bind(a.officer.as_str())
                .bind(&from)
                .fetch_optional(&mut *tx)
                .await?;
                let n = sqlx::query(
                    "INSERT INTO assignments (officer_id, unit_id, desk_id, valid_from, valid_to) \
                     SELECT o.id, u.id, (SELECT d.id FROM desks d WHERE d.code = $3), $4, $5 \
                     FROM officers o, units u WHERE o.code = $1 AND u.code = $2 \
                     ON CONFLICT (officer_id, valid_from) DO UPDATE SET unit_id = excluded.unit_id, \
                        desk_id = excluded.desk_id, valid_to = excluded.valid_to \
                     WHERE assignments.unit_id <> excluded.unit_id \
                        OR COALESCE(assignments.desk_id, 0) <> COALESCE(excluded.desk_id, 0) \
                        OR COALESCE(assignments.valid_to, '') <> COALESCE(excluded.valid_to, '')",
                )
                .bind(a.officer.as_str())
                .bind(a.unit.as_str())
                .bind(a.desk.as_ref().map(|c| c.as_str()))
                .bind(&from)
                .bind(a.validity.to().map(clock::iso))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                count(&mut s.assignments, existed.is_some(), n);
                progress(1);
            }
            for f in &batch.fields {
                let existed: Option<i64> = sqlx::query_scalar("SELECT id FROM fields WHERE code = $1")
                    .bind(f.code.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                let n = sqlx::query(
                    "INSERT INTO fields (code, name) VALUES ($1, $2) \
                     ON CONFLICT (code) DO UPDATE SET name = excluded.name WHERE fields.name <> excluded.name",
                )
                .bind(f.code.as_str())
                .bind(f.name.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                count(&mut s.fields, existed.is_some(), n);
                progress(1);
            }

            // Collection points for whatever never had one: units with a desk, desks, and officers
            // assigned to a desk today. A revoked point is not brought back: that takes a reissue.
            type Target = (i64, Option<i64>, Option<i64>, String);
            let missing: Vec<Target> = sqlx::query_as(
                "SELECT u.id, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), u.name FROM units u \
                 WHERE (u.valid_to IS NULL OR u.valid_to >= $1) AND EXISTS (SELECT 1 FROM desks d WHERE d.unit_id = u.id) \
                   AND NOT EXISTS (SELECT 1 FROM collection_points p WHERE p.unit_id = u.id AND p.desk_id IS NULL \
                        AND p.officer_id IS NULL) \
                 UNION ALL \
                 SELECT d.unit_id, d.id, CAST(NULL AS BIGINT), d.name || ' — ' || u.name FROM desks d JOIN units u ON u.id = d.unit_id \
                 WHERE (u.valid_to IS NULL OR u.valid_to >= $1) \
                   AND NOT EXISTS (SELECT 1 FROM collection_points p WHERE p.desk_id = d.id AND p.officer_id IS NULL) \
                 UNION ALL \
                 SELECT a.unit_id, a.desk_id, o.id, o.full_name || ' — ' || d.name FROM officers o \
                 JOIN assignments a ON a.officer_id = o.id AND a.valid_from <= $1 AND (a.valid_to IS NULL OR a.valid_to >= $1) \
                 JOIN desks d ON d.id = a.desk_id \
                 WHERE NOT EXISTS (SELECT 1 FROM collection_points p WHERE p.officer_id = o.id)",
            )
            .bind(&today)
            .fetch_all(&mut *tx)
            .await?;
            let mut missing = missing;
            missing.sort_unstable();
            for (unit_id, desk_id, officer_id, label) in missing {
                sqlx::query(
                    "INSERT INTO collection_points (slug, unit_id, desk_id, officer_id, questionnaire_id, label, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(Slug::generate().as_str())
                .bind(unit_id)
                .bind(desk_id)
                .bind(officer_id)
                .bind(questionnaire_id)
                .bind(&label)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                s.points_created += 1;
            }
            if !s.changed_nothing() {
                audit!(tx, now, actor, "org.import", "organisation", None::<String>, Some(s.to_json()));
            }
            tx.commit().await?;
        });
        Ok(s)
    }
}

/// What the responses INSERT returns: id, key, unit, desk, officer, field.
type InsertedRow = (i64, String, i64, Option<i64>, Option<i64>, Option<i64>);
/// Where a stored response was attributed: unit, desk, officer, field (0 for none).
type Attribution = (i64, i64, i64, i64);
/// A row of the answer counts: day, attribution, channel, questionnaire, version, question, value.
type CountKey<'a> = (i64, Attribution, &'a str, &'a str, i64, &'a str, i64);

/// Sums a group's stored responses into answer-count rows: one per answered (question, value),
/// and one per response under question '' (the number of responses).
fn count_group<'a>(
    responses: &[&'a NewResponse],
    attributed: &HashMap<String, Attribution>,
) -> std::collections::BTreeMap<CountKey<'a>, i64> {
    let mut counts = std::collections::BTreeMap::new();
    for r in responses {
        let Some(&at) = attributed.get(r.key.as_str()) else { continue };
        let day = clock::day_bucket(r.submitted_at_ms);
        let base = (day, at, r.channel.code(), r.questionnaire_id.as_str(), r.questionnaire_version);
        let mut add = |question: &'a str, value: i64| {
            let key = (base.0, base.1, base.2, base.3, base.4, question, value);
            *counts.entry(key).or_insert(0) += 1;
        };
        add("", 0);
        for (question, value) in &r.answers {
            add(question.as_str(), *value);
        }
    }
    counts
}

/// The embedded migrations of one backend, as `(version, description, sql)`.
fn migrator(migrations: &'static [(i64, &'static str, &'static str)]) -> sqlx::migrate::Migrator {
    use sqlx::SqlSafeStr;
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(version, description.into(), MigrationType::Simple, sql.into_sql_str(), false)
            })
            .collect(),
    )
}

/// Adds one upsert's effect to a (new, updated) tally.
fn count(tally: &mut (u64, u64), existed: bool, rows_affected: u64) {
    match (existed, rows_affected) {
        (false, _) => tally.0 += 1,
        (true, 0) => {}
        (true, _) => tally.1 += 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_run_in_order() {
        for (backend, migrations) in [("sqlite", sqlite::MIGRATIONS), ("postgres", postgres::MIGRATIONS)] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend);
            let mut files: Vec<String> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                .filter(|name| name.ends_with(".sql"))
                .collect();
            files.sort();
            assert_eq!(files.len(), migrations.len(), "{backend}: every file in migrations/ is listed: {files:?}");
            for (i, ((version, _, sql), file)) in migrations.iter().zip(&files).enumerate() {
                assert_eq!(*version, i as i64 + 1, "{backend}: versions run 1, 2, 3, ...");
                assert!(file.starts_with(&format!("{version:04}_")), "{backend}: {file} is version {version}");
                let text = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
                assert_eq!(*sql, text, "{backend}: version {version} runs {file}");
            }
        }
    }
}
