//! `TestApp`: the real application on an ephemeral port over a fresh database.

use std::process::{Command, Output};
use std::time::Duration;

use hailong::config::Settings;
use hailong::domain::account::{self, Role};
use hailong::domain::clock::Clock;
use hailong::domain::point::Point;
use hailong::startup::{Application, load_questionnaires};
use hailong::store::Store;
use rand::RngCore;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The moment every test's clock starts at unless it sets another: a Wednesday morning in
/// office hours, Vietnam time, late in a year whose past twelve months the demo province
/// existed in (from 1 July 2025).
pub const TEST_MOMENT: time::OffsetDateTime = time::macros::datetime!(2026-11-18 10:00 +7);

/// [`TEST_MOMENT`] as the `clock_start` setting takes it.
pub const TEST_MOMENT_TEXT: &str = "2026-11-18T10:00:00+07:00";

/// A database of its own for one test, removed afterwards (also when the test panics).
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub async fn new() -> Self {
        match std::env::var("HAILONG_TEST_POSTGRES_URL") {
            Ok(server) if !server.is_empty() => {
                let name = format!("hailong_t_{:016x}", rand::rng().next_u64());
                let admin = Store::admin_postgres(&server).await.expect("connect to the PostgreSQL test server");
                admin.create_database(&name).await.expect("create the test database");
                let url = with_database(&server, &name);
                Self { url, _dir: None, postgres: Some((server, name)) }
            }
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Self { url, _dir: Some(dir), postgres: None }
            }
        }
    }
}

/// The server URL with its database path replaced.
fn with_database(server: &str, name: &str) -> String {
    let (base, query) = server.split_once('?').map_or((server, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    // The suite's server is on this machine: without TLS, unless the URL asks for it (every
    // test instance opens its own connections, and a handshake each costs the suite minutes;
    // `store::a_postgresql_server_that_requires_tls_is_reached_over_tls` asks for it).
    match query {
        Some(q) if q.contains("sslmode=") => format!("{base}/{name}?{q}"),
        Some(q) => format!("{base}/{name}?{q}&sslmode=disable"),
        None => format!("{base}/{name}?sslmode=disable"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((server, name)) = self.postgres.take() {
            // Drop runs outside any runtime's async context: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                rt.block_on(async {
                    if let Ok(admin) = Store::admin_postgres(&server).await {
                        let _ = admin.drop_database(&name).await;
                    }
                });
            })
            .join();
        }
    }
}

pub struct TestApp {
    pub base: String,
    /// Where `/metrics` is served (`metrics_bind`, its own address).
    pub metrics_base: String,
    pub client: reqwest::Client,
    pub store: Store,
    db: Option<TestDb>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts the application with settings changed by `configure`.
    pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> Self {
        let db = TestDb::new().await;
        let url = db.url.clone();
        Self::spawn_on(url, Some(db), configure).await
    }

    /// A second instance of the service on this one's database, as a second `serve` behind
    /// the same proxy is; on the same clock.
    pub async fn beside(&self, configure: impl FnOnce(&mut Settings)) -> Self {
        let url = self.db.as_ref().map(|d| d.url.clone()).expect("a test database");
        let clock = self.store.clock().clone();
        Self::spawn_on(url, None, |settings| {
            settings.clock = clock;
            configure(settings)
        })
        .await
    }

    /// The clock the service runs on: set to [`TEST_MOMENT`] unless a test sets another.
    pub fn clock(&self) -> &Clock {
        self.store.clock()
    }

    /// Now by the service's clock, in milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.clock().now_ms()
    }

    /// Today (Vietnam) by the service's clock.
    pub fn today(&self) -> time::Date {
        self.clock().today()
    }

    async fn spawn_on(url: String, db: Option<TestDb>, configure: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = Settings {
            database_url: url,
            bind: "127.0.0.1:0".parse().expect("address"),
            metrics_bind: "127.0.0.1:0".parse().expect("address"),
            log: "warn".into(),
            // The tests that count answers send forms at once and at any hour: the stuffing flags'
            // own tests turn them on.
            flags: hailong::domain::flags::Rules::off(),
            // No test depends on the day it runs: each starts on a set clock.
            clock: Clock::starting(TEST_MOMENT),
            ..Settings::default()
        };
        configure(&mut settings);
        // On PostgreSQL there is no database file to keep the signing key and checkpoints
        // beside: one folder for the test process, shared by its instances and commands.
        if hailong::store::sqlite_file(&settings.database_url).is_none() {
            settings.signing_key_file.get_or_insert_with(shared_signing_key);
            settings.checkpoint_dir.get_or_insert_with(|| shared_signing_key().with_file_name("checkpoints"));
        }
        let store =
            Store::open_capped(&settings.database_url, 4, settings.sqlite_max_pages, hailong::store::SERVICE_WAIT)
                .await
                .expect("open the test database")
                .with_settings(&settings);
        let app = Application::build_with_store(settings, store.clone()).await.expect("build the app");
        let addr = app.local_addr().expect("bound address");
        let metrics = app.metrics_addr().expect("bound metrics address");
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = rx.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client");
        Self {
            base: format!("http://{addr}"),
            metrics_base: format!("http://{metrics}"),
            client,
            store,
            db,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// Seeds the demo organisation (no ratings) and returns its active points.
    pub async fn seed(&self) -> Vec<Point> {
        let questionnaires = load_questionnaires(&self.store).await.expect("questionnaires");
        hailong::demo::seed(&self.store, &questionnaires, 0, 1, |_| {}).await.expect("demo seed");
        self.store.active_points().await.expect("points")
    }

    /// The first officer's point using the mot-cua questionnaire.
    pub async fn officer_point(&self) -> Point {
        self.seed()
            .await
            .into_iter()
            .find(|p| p.officer_code.is_some() && p.questionnaire_id == "mot-cua")
            .expect("an officer point")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.base)).send().await.expect("GET")
    }

    /// Loads the form and returns its one-time key.
    pub async fn form_key(&self, slug: &str) -> String {
        key_in(&self.get(&format!("/s/{slug}")).await.text().await.expect("body"))
    }

    /// Posts raw `application/x-www-form-urlencoded` bytes.
    pub async fn post_raw(&self, slug: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(format!("{}/s/{slug}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST")
    }

    pub async fn post(&self, slug: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client.post(format!("{}/s/{slug}", self.base)).form(fields).send().await.expect("POST")
    }

    pub async fn responses(&self) -> i64 {
        self.store.response_count().await.expect("count")
    }

    pub fn db_url(&self) -> String {
        self.db.as_ref().map(|d| d.url.clone()).unwrap_or_default()
    }

    /// Stops the server the way a signal does, waits for it, and hands over the database.
    pub async fn stop(mut self) -> TestDb {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("clean stop");
        }
        self.db.take().expect("the database")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A member of staff, signed in both ways: a session cookie for the pages and an API key for
/// `/api/v1`, of one account made in the store (sign-in itself is tested in `admin.rs`).
pub struct Staff {
    /// `hl_session=…`, for a `Cookie` header.
    pub cookie: String,
    pub key: String,
    base: String,
    client: reqwest::Client,
}

impl TestApp {
    /// A new account of `role` bound to `unit` (none for an admin), signed in.
    pub async fn staff(&self, name: &str, role: Role, unit: Option<&str>) -> Staff {
        let user_id = self.store.create_user(name, role, unit, Some("unused"), "test").await.expect("create account");
        let token = account::new_session_token();
        let full = hailong::store::NewSession::Full;
        self.store.start_session(user_id, &account::token_hash(&token), full).await.expect("start a session");
        let key = account::new_api_key();
        self.store.create_api_key(name, &account::token_hash(&key), &key[..11], "test").await.expect("create a key");
        Staff { cookie: format!("hl_session={token}"), key, base: self.base.clone(), client: self.client.clone() }
    }
}

impl Staff {
    /// A management page, with the session cookie.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).send().await.expect("GET")
    }

    /// A form posted from our own pages, with the session cookie.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("origin", &self.base)
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    /// An API call, with the API key.
    pub async fn api(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.base)).bearer_auth(&self.key).send().await.expect("API GET")
    }
}

/// Runs the binary as an operator does, on the database `url`, with `env` added; the one way
/// the tests run a command. It blocks its thread until the command ends: a test that runs one
/// while its service runs uses a multi-threaded runtime (`flavor = "multi_thread"`), or a
/// write the service has under way (its housekeeping at start, say) cannot reach its commit
/// while the command waits for that write's lock, and the command gives up after its wait.
pub fn cli(url: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hailong"));
    // A command runs on the tests' set clock too (a test may set another in `env`).
    command
        .args(args)
        .env("HAILONG_DATABASE_URL", url)
        .env("HAILONG_LOG", "warn")
        .env("HAILONG_CLOCK_START", TEST_MOMENT_TEXT);
    if hailong::store::sqlite_file(url).is_none() {
        command.env("HAILONG_SIGNING_KEY_FILE", shared_signing_key());
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("run hailong")
}

/// The signing key of the test process's services on PostgreSQL (see `spawn_on`).
pub fn shared_signing_key() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hailong-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder for the signing key");
    // Made once, as an operator does for PostgreSQL (`hailong keys create`).
    let key = dir.join("signing.key");
    hailong::app::trust::load_key(&key, true).expect("make the signing key");
    key
}

/// `answers` with those the shipped questionnaire `id@version` derives from them, as a form's
/// send carries them (a response written straight to the store needs them too, or `hailong
/// verify` finds them missing).
pub fn with_derived(id: &str, version: i64, answers: Vec<(String, i64)>) -> Vec<(String, i64)> {
    use hailong::domain::questionnaire::{Questionnaire, SHIPPED};
    let q = SHIPPED
        .iter()
        .filter_map(|text| Questionnaire::from_toml(text).ok())
        .find(|q| q.id.as_str() == id && q.version == version)
        .expect("a shipped questionnaire");
    let derived = q.derived(&answers);
    answers.into_iter().chain(derived).collect()
}

/// The one-time key of the form in `html`.
pub fn key_in(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("input[name=key]").expect("selector");
    doc.select(&sel).next().and_then(|e| e.value().attr("value")).expect("a key in the form").to_owned()
}

/// Parses HTML and returns the texts of the elements matching `selector`.
pub fn texts(html: &str, selector: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).expect("selector");
    doc.select(&sel).map(|e| e.text().collect::<String>().trim().to_owned()).collect()
}

/// Moves `clock` forward, when needed, until `needed_secs` fit before the end of the current
/// fixed window of `window_secs` (the abuse limits count in such windows): a test's sends then
/// fall in one.
pub fn inside_one_window(clock: &Clock, window_secs: i64, needed_secs: i64) {
    let left = window_secs - (clock.now_ms() / 1000) % window_secs;
    if left < needed_secs {
        clock.advance(left * 1000 + 200);
    }
}
