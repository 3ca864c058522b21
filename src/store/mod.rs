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
mod door;
pub mod postgres;
pub mod sqlite;
pub mod writer;

pub use counts::{FoldSummary, Grain, GrainCounts, GrainKey, ReadPlan};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database refused a change for a reason the caller can act on.
    #[error("{0}")]
    Refused(#[from] crate::domain::refusal::Refusal),
    /// The database or its configuration cannot be used as it is (an unsupported URL, settings
    /// that would not be durable, a questionnaire changed under its version, a stored value that
    /// cannot be read): for the operator, in English.
    #[error("{0}")]
    Config(String),
    /// The SQLite file at the configured path is no longer the one this server opened:
    /// whatever it commits would not be found there.
    #[error("the database file {0}; restart the service once the right file is in place")]
    FileGone(String),
    /// The SQLite database has reached its cap (`sqlite_max_pages`).
    #[error("the database has reached its size cap ({0} pages of sqlite_max_pages)")]
    Full(i64),
    /// The hash chain's stored head cannot be read: the database was edited outside the service.
    #[error("{0}")]
    Chain(String),
    /// A newer version of hailong has migrated the database (during a rolling upgrade, say):
    /// this build does not know what the newer one expects of each write, so it writes nothing.
    #[error(
        "the database's schema is version {applied}, newer than this build of hailong knows ({known}): \
         a newer version has migrated it; this instance writes nothing, so replace it with the newer version"
    )]
    Newer { applied: i64, known: i64 },
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// The database cannot answer now (unreachable, busy, full, or not the file opened), as
    /// opposed to a mistake: the caller is told to try again, not that something broke.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::FileGone(_) | Self::Full(_) | Self::Newer { .. } => true,
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
    Sqlite { read: sqlx::SqlitePool, write: door::WritePool<sqlx::Sqlite>, file: Option<sqlite::DbFile> },
    /// Several instances may share one database; row locks and unique constraints keep the
    /// writer's guarantees across them. Reads on connections whose transactions are read-only;
    /// writes on their own pool, behind the door.
    Postgres { read: sqlx::PgPool, write: door::WritePool<sqlx::Postgres> },
}

/// The database, whichever backend holds it. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    /// The stuffing flags' rules the writer applies (`domain::flags`).
    flag_rules: std::sync::Arc<crate::domain::flags::Rules>,
    /// What the flag pass remembers between groups (questionnaires' tops, the day's thresholds).
    flag_memo: std::sync::Arc<std::sync::Mutex<flags::Memo>>,
    /// The time every record is stamped with and "today" is read from.
    clock: crate::domain::clock::Clock,
    /// Seals and opens receipt keys' secrets, under `receipt_secret`; none while it is unset.
    receipt_sealer: Option<std::sync::Arc<crate::domain::receipt::Sealer>>,
}

/// Runs `$body` with `$pool` bound to the read pool of the backend in use. The body is compiled
/// once per backend, so it may use anything both pools support.
macro_rules! on_backend {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            Backend::Sqlite { read: $pool, .. } => $body,
            Backend::Postgres { read: $pool, .. } => $body,
        }
    };
}

/// How long the service's statements wait for another process's SQLite lock (a command's
/// transaction) before failing: a citizen's send is then answered "try again" rather than
/// held.
pub const SERVICE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// How long a command's statements wait for the SQLite lock: an operator's command waits its
/// turn behind the service's writes (a group of ratings, the counts' fold at start) rather than
/// failing with "database is locked". SQLite's waiting is not a queue: a process that commits
/// transaction after transaction can keep another waiting for several of them.
pub const COMMAND_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// The PostgreSQL advisory lock a migration holds exclusively and each write transaction
/// shares ("hailong" in ASCII).
pub const SCHEMA_LOCK: i64 = 0x0068_6169_6c6f_6e67;

/// Pages that must be left under an SQLite page cap for the readiness check to pass: room for
/// a group of ratings.
pub(super) const PROBE_ROOM_PAGES: i64 = 64;

/// Runs `$body` in a transaction on the write connection (`$tx`) and commits it, on the
/// SQLite file this server opened; the macro's value is the body's. It is the store's one
/// write door: the write pool is reached only here ([`door::WritePool::pool`] is disallowed
/// anywhere else by `clippy.toml`, and SQLite's read connections are `query_only`), so every
/// write of every kind gets the same checks.
///
/// Any failure closes that connection, so the next transaction starts on a new one: after a
/// failed statement or COMMIT, SQLite may have rolled the transaction back by itself (a full
/// disk, an I/O error) while sqlx still counts it as open, and would then turn the next BEGIN
/// into a savepoint of a transaction that never commits; a PostgreSQL connection may be broken.
/// On SQLite, `BEGIN IMMEDIATE` also fails on a connection that is somehow still in a
/// transaction, rather than nesting in it. A `return` from the body leaves without committing:
/// what it wrote is rolled back.
macro_rules! write_transaction {
    ($store:expr, $tx:ident => $body:block) => {{
        $store.check_file(false)?;
        let begin = $store.begin_statement();
        let value = match &$store.backend {
            $crate::store::Backend::Sqlite { write, .. } => {
                #[allow(clippy::disallowed_methods)] // the door itself
                let pool = write.pool();
                write_transaction!(@on pool, $store, begin, $tx => $body)
            }
            $crate::store::Backend::Postgres { write, .. } => {
                #[allow(clippy::disallowed_methods)] // the door itself
                let pool = write.pool();
                write_transaction!(@on pool, $store, begin, $tx => $body)
            }
        };
        // A commit into a file that was deleted or replaced meanwhile is not durable.
        $store.check_file(true)?;
        value
    }};
    (@on $pool:ident, $store:expr, $begin:ident, $tx:ident => $body:block) => {{
        let mut conn = $pool.acquire().await?;
        let written = async {
            let mut $tx = sqlx::Connection::begin_with(&mut *conn, $begin).await?;
            // Nothing is written into a schema a newer version made (a rolling upgrade):
            // checked in the transaction, so no write of this build follows the migration.
            // On PostgreSQL a migration holds the schema lock exclusively
            // (`Store::open_capped`) and each write transaction shares it first, so the
            // check reads the schema as it is for the whole transaction.
            if let Some(lock) = $store.schema_lock_shared() {
                sqlx::query(lock).bind($crate::store::SCHEMA_LOCK).execute(&mut *$tx).await?;
            }
            let applied: Option<i64> =
                sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations").fetch_one(&mut *$tx).await?;
            let known = $store.known_schema();
            if let Some(applied) = applied.filter(|v| *v > known) {
                return Err($crate::store::StoreError::Newer { applied, known });
            }
            let value = $body;
            $tx.commit().await?;
            $crate::store::StoreResult::Ok(value)
        }
        .await;
        if written.is_err() {
            let _ = conn.close().await;
        }
        written?
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

/// Appends links to the hash chain in the transaction `$tx`: `$links` of `(kind, record id,
/// canonical content, erasable hash)`, in order. The head is read with `$lock` (on PostgreSQL a
/// row lock, so that writers of several instances make one sequence; SQLite's writer holds the
/// file's write lock already), the links are hashed from it and inserted, and the head moves to
/// the last. Evaluates to the new head `(seq, hash)`.
macro_rules! append_links {
    ($tx:expr, $lock:expr, $links:expr, $style:expr) => {{
        let (mut seq, head): (i64, String) = sqlx::query_as($lock).fetch_one(&mut *$tx).await?;
        let mut prev = chain::parse_hex(&head).ok_or_else(|| StoreError::Chain(format!("the chain head {head:?} is not a hash")))?;
        let mut rows: Vec<(i64, &'static str, i64, String, String)> = Vec::with_capacity($links.len());
        for (kind, record, content, erasable) in $links.iter() {
            seq += 1;
            prev = chain::link(&prev, seq, *kind, content, erasable);
            rows.push((seq, kind.code(), *record, chain::hex(erasable), chain::hex(&prev)));
        }
        for (chunk, rows) in batch::split(&rows, batch::LINKS_MAX) {
            let mut insert = sqlx::query(batch::insert_links(chunk.size, $style));
            for (seq, kind, record, erasable, hash) in rows {
                insert = insert.bind(*seq).bind(*kind).bind(*record).bind(erasable.as_str()).bind(hash.as_str());
            }
            for _ in 0..chunk.padding() {
                insert = bind_nulls!(insert; i64, &str, i64, &str, &str);
            }
            insert.execute(&mut *$tx).await?;
        }
        if !rows.is_empty() {
            sqlx::query("UPDATE chain_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(seq)
                .bind(chain::hex(&prev))
                .execute(&mut *$tx)
                .await?;
        }
        (seq, prev)
    }};
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
        let mut earliest = std::collections::BTreeMap::new();
        for ((day, ..), _) in &$counts {
            let day = $crate::domain::clock::Day::from_stored(*day).ok_or_else(|| {
                $crate::store::StoreError::Config(format!("a count's day {day} names no date"))
            })?;
            let first = earliest.entry(day.month()).or_insert(day);
            *first = (*first).min(day);
        }
        for (month, day) in earliest {
            sqlx::query("UPDATE count_folds SET through_day = 0 WHERE month = $1 AND through_day >= $2")
                .bind(month.get())
                .bind(day.get())
                .execute(&mut *$tx)
                .await?;
        }
    };
}

/// Claims the one-time data fix `$name` in the transaction `$tx` at `$at` (ms): true for the
/// transaction that records it first, which then does the fix; false once it is done.
macro_rules! claim_fix {
    ($tx:expr, $name:expr, $at:expr) => {
        sqlx::query("INSERT INTO data_fixes (name, done_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind($name)
            .bind($at)
            .execute(&mut *$tx)
            .await?
            .rows_affected()
            > 0
    };
}

/// Appends an audit entry inside the transaction `$tx` of the change it records:
/// (at, actor, action, target, before, after).
macro_rules! audit {
    ($tx:expr, $at:expr, $actor:expr, $action:expr, $target:expr, $before:expr, $after:expr $(,)?) => {
        sqlx::query($crate::store::AUDIT_SQL)
            .bind($at)
            .bind($actor)
            .bind($crate::domain::audit::Action::as_str($action))
            .bind($crate::domain::audit::Target::to_string(&$target))
            .bind($before)
            .bind($after)
            .execute(&mut *$tx)
            .await?
    };
}

/// Appends one audit entry; see [`audit!`].
pub(crate) const AUDIT_SQL: &str =
    "INSERT INTO audit_log (at, actor, action, target, before, after) VALUES ($1, $2, $3, $4, $5, $6)";

pub use accounts::{CallerRecord, LoginRecord, NewSession, PendingSecondFactor};

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

mod accounts;
mod catalogue;
mod chain;
mod counts;
mod derived;
#[macro_use]
mod flags;
mod guards;
mod limits;
mod listing;
mod manage;
mod moderation;
mod org;
mod points;
mod receipts;
mod responses;
mod served;

pub use counts::{AnswerCount, CountBy};
pub use moderation::{ListOf, Listed, Moderated};
pub use org::{ImportSummary, KnownCodes, OrgBatch};
pub use receipts::{Issued, KeyPurpose, StoredKey};
pub use responses::{CommentsOf, WriteOutcome};
pub use served::{ServedBy, ServedEntry};

/// The SQLite file a database URL names (none for PostgreSQL or an in-memory database).
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    sqlite::file_of(url).ok().flatten()
}

impl Store {
    /// A store on `backend` with the defaults: no flag rule, the system's clock, no receipt
    /// secret (`with_settings` sets them).
    fn on(backend: Backend) -> Self {
        Self {
            backend,
            flag_rules: Default::default(),
            flag_memo: Default::default(),
            clock: Default::default(),
            receipt_sealer: None,
        }
    }

    /// This store with the stuffing flags' rules its writer applies.
    pub fn with_flag_rules(self, rules: crate::domain::flags::Rules) -> Self {
        Self { flag_rules: std::sync::Arc::new(rules), flag_memo: Default::default(), ..self }
    }

    /// This store as the settings say: the flag rules, the clock and the receipt secret.
    pub fn with_settings(self, settings: &crate::config::Settings) -> Self {
        let receipt_sealer = settings
            .receipt_secret
            .as_deref()
            .map(|secret| std::sync::Arc::new(crate::domain::receipt::Sealer::new(secret.as_bytes())));
        Self { receipt_sealer, ..self.with_flag_rules(settings.flags.clone()).with_clock(settings.clock.clone()) }
    }

    /// This store on `clock` (the system's by default).
    pub fn with_clock(self, clock: crate::domain::clock::Clock) -> Self {
        Self { clock, ..self }
    }

    /// The clock this store stamps records with.
    pub fn clock(&self) -> &crate::domain::clock::Clock {
        &self.clock
    }

    /// Writes a consistent copy of an SQLite database to `to` while the service runs
    /// (`VACUUM INTO`: one read transaction, so the copy is the database at one moment, and it
    /// is compact). PostgreSQL is copied with its own tools (`pg_dump`).
    pub async fn backup_to(&self, to: &std::path::Path) -> StoreResult<()> {
        match &self.backend {
            Backend::Sqlite { read, .. } => {
                let to =
                    to.to_str().ok_or_else(|| StoreError::Config(format!("{} is not a UTF-8 path", to.display())))?;
                // The readers are `query_only`, which forbids writing the copy too: it is written
                // on a reader's connection taken out of the pool, let write files, then closed.
                use sqlx::Connection;
                let mut conn = read.acquire().await?.detach();
                sqlx::query("PRAGMA query_only = OFF").execute(&mut conn).await?;
                let copied = sqlx::query("VACUUM INTO $1").bind(to).execute(&mut conn).await;
                let _ = conn.close().await;
                copied?;
                Ok(())
            }
            Backend::Postgres { .. } => Err(StoreError::Config(
                "a PostgreSQL database is copied with pg_dump (see the README), not by hailong".to_owned(),
            )),
        }
    }

    /// As [`Store::open_capped`], but an SQLite file must already exist: for the commands that
    /// read a database, so that a mistyped path is said as such instead of answered from a new,
    /// empty database.
    pub async fn open_existing(
        url: &str,
        max_connections: u32,
        sqlite_max_pages: Option<u32>,
        wait: std::time::Duration,
    ) -> StoreResult<Self> {
        if let Some(file) = sqlite::file_of(url)?.filter(|f| !f.exists()) {
            return Err(StoreError::Config(format!(
                "the database file {} does not exist (check --database-url or HAILONG_DATABASE_URL; \
                 `hailong serve`, `hailong import` and `hailong demo` create one)",
                file.display()
            )));
        }
        Self::open_capped(url, max_connections, sqlite_max_pages, wait).await
    }

    /// Opens a database to read it as it is, for checks (`hailong verify`): an SQLite file
    /// read-only (its journal mode and bytes untouched), nothing migrated. A database of another
    /// schema version than this build's is refused, saying what to do.
    pub async fn open_read_only(url: &str, max_connections: u32) -> StoreResult<Self> {
        let backend = if url.starts_with("sqlite:") {
            if let Some(file) = sqlite::file_of(url)?.filter(|f| !f.exists()) {
                return Err(StoreError::Config(format!(
                    "the database file {} does not exist (check --database-url or HAILONG_DATABASE_URL)",
                    file.display()
                )));
            }
            let pool = sqlite::connect_read_only(url, max_connections).await?;
            Backend::Sqlite { read: pool.clone(), write: door::WritePool::new(pool), file: None }
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            postgres::backend(url, max_connections).await?
        } else {
            return Err(unsupported_url(url));
        };
        let store = Self::on(backend);
        let applied: Option<i64> = on_backend!(store, pool => {
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations").fetch_one(pool).await?
        });
        let (applied, known) = (applied.unwrap_or(0), store.known_schema());
        if applied > known {
            return Err(StoreError::Newer { applied, known });
        }
        if applied < known {
            return Err(StoreError::Config(format!(
                "the database's schema is version {applied}, older than this build's ({known}): this check \
                 changes nothing, so it cannot migrate it; check it with the version that wrote it, or let this \
                 version migrate it first (any other command does; on a copy, to keep the original as it is)"
            )));
        }
        Ok(store)
    }

    /// Connects by URL scheme, creating an SQLite file if missing, and migrates.
    pub async fn open(url: &str, max_connections: u32) -> StoreResult<Self> {
        Self::open_capped(url, max_connections, None, SERVICE_WAIT).await
    }

    /// As [`Store::open`], an SQLite database capped at `sqlite_max_pages` pages: past the cap
    /// commits fail as on a full disk (the setting of the same name). On SQLite a statement waits
    /// up to `wait` for another process's write lock ([`SERVICE_WAIT`], [`COMMAND_WAIT`]).
    pub async fn open_capped(
        url: &str,
        max_connections: u32,
        sqlite_max_pages: Option<u32>,
        wait: std::time::Duration,
    ) -> StoreResult<Self> {
        let backend = if url.starts_with("sqlite:") {
            let (read, write, file) = sqlite::connect(url, max_connections, sqlite_max_pages, wait).await?;
            Backend::Sqlite { read, write: door::WritePool::new(write), file }
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            postgres::backend(url, max_connections).await?
        } else {
            return Err(unsupported_url(url));
        };
        let store = Self::on(backend);
        // A database a newer version migrated is said as such, not as a migration "missing".
        let applied: Result<Option<i64>, sqlx::Error> = on_backend!(store, pool => {
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations").fetch_one(pool).await
        });
        let known = store.known_schema();
        if let Ok(Some(applied)) = applied
            && applied > known
        {
            return Err(StoreError::Newer { applied, known });
        }
        match &store.backend {
            Backend::Sqlite { write, .. } => {
                // Migrating is the schema's own write, before any door's check can apply.
                #[allow(clippy::disallowed_methods)]
                let write = write.pool();
                migrator(sqlite::MIGRATIONS).run(write).await?;
                sqlite::check_durability(write).await?;
            }
            Backend::Postgres { write, .. } if applied.as_ref().is_ok_and(|a| a.unwrap_or(0) < known) => {
                // Migrating is the schema's own write, before any door's check can apply.
                #[allow(clippy::disallowed_methods)]
                let pool = write.pool();
                // Instances of the older build may be writing: the schema lock, held exclusively
                // on a connection of its own, waits for their transactions under way and holds
                // the next ones until the migration is done (they then find it newer and stop).
                use sqlx::Connection;
                let mut lock = sqlx::PgConnection::connect(url).await?;
                sqlx::query("SELECT pg_advisory_lock($1)").bind(SCHEMA_LOCK).execute(&mut lock).await?;
                let migrated = migrator(postgres::MIGRATIONS).run(pool).await;
                let _ = sqlx::query("SELECT pg_advisory_unlock($1)").bind(SCHEMA_LOCK).execute(&mut lock).await;
                let _ = lock.close().await;
                migrated?;
            }
            Backend::Postgres { write, .. } => {
                #[allow(clippy::disallowed_methods)]
                let pool = write.pool();
                migrator(postgres::MIGRATIONS).run(pool).await?
            }
        }
        Ok(store)
    }

    /// A connection to a PostgreSQL server for creating and dropping databases.
    pub async fn admin_postgres(url: &str) -> StoreResult<postgres::PgAdmin> {
        postgres::PgAdmin::connect(url).await
    }

    /// On PostgreSQL, the statement by which a write transaction shares the schema lock.
    pub(super) fn schema_lock_shared(&self) -> Option<&'static str> {
        match self.backend {
            Backend::Sqlite { .. } => None,
            Backend::Postgres { .. } => Some("SELECT pg_advisory_xact_lock_shared($1)"),
        }
    }

    /// Whether a newer version has migrated the database (its background work then stops too).
    pub async fn schema_is_newer(&self) -> StoreResult<bool> {
        let applied: Option<i64> = on_backend!(self, pool => {
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations").fetch_one(pool).await?
        });
        Ok(applied.is_some_and(|a| a > self.known_schema()))
    }

    /// The newest schema version (migration) this build knows.
    pub fn known_schema(&self) -> i64 {
        let migrations = match self.backend {
            Backend::Sqlite { .. } => sqlite::MIGRATIONS,
            Backend::Postgres { .. } => postgres::MIGRATIONS,
        };
        migrations.iter().map(|m| m.0).max().unwrap_or(0)
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres { .. } => "postgres",
        }
    }

    /// Closes the pools, waiting for connections to be returned.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite { read, write, .. } => {
                read.close().await;
                write.close().await;
            }
            Backend::Postgres { read, write } => {
                read.close().await;
                write.close().await;
            }
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
}

/// A database URL of no backend this build speaks, said with its password hidden.
fn unsupported_url(url: &str) -> StoreError {
    StoreError::Config(format!(
        "unsupported database URL '{}': use sqlite://FILE or postgres://USER@HOST/DB",
        crate::config::redact_url(url)
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A write through the read pools fails on both backends (PostgreSQL when
    /// `HAILONG_TEST_POSTGRES_URL` names a server, as `.ci/run` does): only the write door writes.
    #[tokio::test]
    async fn the_read_pools_cannot_write() {
        let dir = tempfile::tempdir().expect("a folder");
        let server = std::env::var("HAILONG_TEST_POSTGRES_URL").ok().filter(|v| !v.is_empty());
        let name = format!("hailong_t_reads_{:08x}", rand::random::<u32>());
        let url = match &server {
            Some(server) => {
                let admin = Store::admin_postgres(server).await.expect("the test server");
                admin.create_database(&name).await.expect("a database");
                let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
                format!("{base}/{name}?sslmode=disable")
            }
            None => format!("sqlite://{}", dir.path().join("t.db").display()),
        };
        let store = Store::open(&url, 2).await.expect("open");
        let written: Result<u64, sqlx::Error> = on_backend!(store, pool => {
            sqlx::query("INSERT INTO fields (code, name) VALUES ('X', 'x')").execute(pool).await.map(|r| r.rows_affected())
        });
        let refused = written.expect_err("a write through a read pool");
        let said = refused.to_string();
        assert!(said.contains("readonly") || said.contains("read-only"), "{said}");
        let fields: i64 = on_backend!(store, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM fields WHERE code = 'X'").fetch_one(pool).await.expect("read")
        });
        assert_eq!(fields, 0);
        store.close().await;
        if let Some(server) = server {
            let admin = Store::admin_postgres(&server).await.expect("the test server");
            admin.drop_database(&name).await.expect("dropped");
        }
    }

    #[test]
    fn the_comment_purges_migration_knows_the_hash_of_no_comment() {
        let none = crate::domain::chain::hex(&crate::domain::chain::erasable(None));
        for migrations in [sqlite::MIGRATIONS, postgres::MIGRATIONS] {
            let sql = migrations.iter().find(|m| m.1 == "comment purges").map(|m| m.2).unwrap_or_default();
            assert!(sql.contains(&none), "{sql}");
        }
    }

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
