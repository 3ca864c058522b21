//! Fault tests: the real binary, loaded with citizens' submissions by concurrent clients, and
//! broken as an operator's server breaks — killed, stopped, its disk filled, its database file
//! deleted, its PostgreSQL connections cut and its commits failed. Whatever happens, every
//! rating acknowledged (a 303 to the thank-you page) is in the database exactly once, a rating
//! in doubt sent again with its one-time key is stored once, and the database checks out.
//!
//! Built with `--features fault-tests` (`.ci/run` runs them, as root). They need:
//! - `HAILONG_TEST_POSTGRES_URL`, a PostgreSQL server where they may create databases;
//! - root, for the disk-full test (it mounts a small tmpfs).
//!
//! `HAILONG_FAULT_TRIALS` sets the kill -9 trials per backend (10 by default; RELIABILITY.md
//! records the long runs).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;

const BIN: &str = env!("CARGO_BIN_EXE_hailong");
/// The receipt secret of every instance and command of a test (receipt keys are sealed under it).
const RECEIPT_SECRET: &str = "the receipt secret of every instance";

// ---------------------------------------------------------------------------------------------
// The database under test

/// A fresh database: an SQLite file in a folder of its own, or a PostgreSQL database.
struct Db {
    url: String,
    dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
    /// On PostgreSQL the signing key every instance and command shares, made once (on SQLite
    /// the service makes its own beside the file).
    key: Option<PathBuf>,
}

impl Db {
    fn sqlite_in(dir: &Path) -> Self {
        Self { url: format!("sqlite://{}", dir.join("hailong.db").display()), dir: None, pg: None, key: None }
    }

    fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut db = Self::sqlite_in(dir.path());
        db.dir = Some(dir);
        db
    }

    async fn postgres() -> Self {
        let server = std::env::var("HAILONG_TEST_POSTGRES_URL")
            .expect("HAILONG_TEST_POSTGRES_URL names the PostgreSQL server the fault tests use");
        let name = format!("hailong_t_{:016x}", rand::rng().random::<u64>());
        let admin = hailong::store::Store::admin_postgres(&server).await.expect("connect to PostgreSQL");
        admin.create_database(&name).await.expect("create the test database");
        let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b).to_owned();
        let dir = tempfile::tempdir().expect("temp dir");
        let key = dir.path().join("hailong-signing.key");
        hailong::app::trust::load_key(&key, true).expect("make the signing key");
        Self { url: format!("{base}/{name}"), dir: Some(dir), pg: Some((server, name)), key: Some(key) }
    }

    fn is_sqlite(&self) -> bool {
        self.url.starts_with("sqlite:")
    }

    fn path(&self) -> PathBuf {
        PathBuf::from(self.url.trim_start_matches("sqlite://"))
    }

    /// Runs a `hailong` command on this database; panics with its output unless it succeeds.
    fn hailong(&self, args: &[&str]) -> String {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env("HAILONG_DATABASE_URL", &self.url)
            .env("HAILONG_RECEIPT_SECRET", RECEIPT_SECRET)
            .env("HAILONG_LOG", "warn");
        if let Some(key) = &self.key {
            command.env("HAILONG_SIGNING_KEY_FILE", key);
        }
        let out = command.output().expect("run hailong");
        assert!(
            out.status.success(),
            "hailong {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Seeds the demo organisation and returns the slugs of the officers' points.
    fn seed(&self) -> Vec<String> {
        self.hailong(&["demo", "--responses", "0"]);
        let list = self.hailong(&["points", "list"]);
        let mut reader = csv::Reader::from_reader(list.as_bytes());
        let slugs: Vec<String> =
            reader.records().filter_map(Result::ok).filter(|r| !r[4].is_empty()).map(|r| r[0].to_owned()).collect();
        assert!(!slugs.is_empty(), "the demo has officers' points");
        slugs
    }

    /// The one-time keys stored, with how often each is there.
    async fn stored_keys(&self) -> HashMap<String, u32> {
        let sql = "SELECT idempotency_key FROM responses";
        let keys: Vec<String> = if self.is_sqlite() {
            let pool = sqlx::SqlitePool::connect(&self.url).await.expect("open the SQLite file");
            let keys = sqlx::query_scalar(sql).fetch_all(&pool).await.expect("read the keys");
            let check: String =
                sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&pool).await.expect("integrity check");
            assert_eq!(check, "ok", "PRAGMA integrity_check");
            pool.close().await;
            keys
        } else {
            let pool = sqlx::PgPool::connect(&self.url).await.expect("connect");
            let keys = sqlx::query_scalar(sql).fetch_all(&pool).await.expect("read the keys");
            pool.close().await;
            keys
        };
        let mut counted = HashMap::new();
        for key in keys {
            *counted.entry(key).or_insert(0) += 1;
        }
        counted
    }

    async fn execute(&self, sql: &str) {
        assert!(!self.is_sqlite());
        let pool = sqlx::PgPool::connect(&self.url).await.expect("connect");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&pool).await.expect(sql);
        pool.close().await;
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((server, name)) = self.pg.take() {
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                rt.block_on(async {
                    if let Ok(admin) = hailong::store::Store::admin_postgres(&server).await {
                        let _ = admin.drop_database(&name).await;
                    }
                });
            })
            .join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The server

struct Server {
    child: Child,
    base: String,
    /// Where its `/metrics` is served (`metrics_bind`: never the main address).
    metrics: String,
    log: PathBuf,
}

impl Server {
    async fn start(db: &Db, log_dir: &Path) -> Self {
        Self::start_with(db, log_dir, &[]).await
    }

    /// As [`Server::start`], with settings of `env` (`HAILONG_*`) over the tests' own.
    async fn start_with(db: &Db, log_dir: &Path, env: &[(&str, &str)]) -> Self {
        let free =
            || std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let (port, metrics_port) = (free(), free());
        let log = log_dir.join(format!("server-{port}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        // The stuffing flags as shipped but for the one rule that reads the hour: these tests
        // run on the real clock (several processes share it), and what a rating writes must
        // not depend on when the suite runs.
        let config = log_dir.join("faults-settings.toml");
        std::fs::write(&config, "[flags]\noff_hours = false\n").expect("settings file");
        let mut command = Command::new(BIN);
        command
            .args(["--config", config.to_str().expect("a UTF-8 path"), "serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("HAILONG_DATABASE_URL", &db.url)
            .env("HAILONG_METRICS_BIND", format!("127.0.0.1:{metrics_port}"))
            .env("HAILONG_SUBMIT_LIMIT_PER_MINUTE", "0")
            .env("HAILONG_SUBMIT_TIMEOUT_SECS", "5")
            .env("HAILONG_RECEIPT_SECRET", RECEIPT_SECRET)
            .env("HAILONG_LOG", "warn")
            .env("NO_COLOR", "1");
        if let Some(key) = &db.key {
            command.env("HAILONG_SIGNING_KEY_FILE", key);
        }
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("start hailong serve");
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            metrics: format!("http://127.0.0.1:{metrics_port}"),
            log,
        };
        let client = client();
        let started = Instant::now();
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", server.base)).send().await
                && r.status() == 200
            {
                return server;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "the server did not start:\n{}", server.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        assert!(status.success());
    }

    fn wait(&mut self, within: Duration) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(started.elapsed() < within, "the server did not stop:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    async fn status_of(&self, path: &str) -> u16 {
        client().get(format!("{}{path}", self.base)).send().await.map_or(0, |r| r.status().as_u16())
    }

    /// Waits until `/readyz` answers `status`.
    async fn wait_ready(&self, status: u16, within: Duration) {
        let started = Instant::now();
        while self.status_of("/readyz").await != status {
            assert!(started.elapsed() < within, "/readyz never answered {status}:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

// ---------------------------------------------------------------------------------------------
// The citizens

/// What became of one submission.
#[derive(Clone, Debug)]
struct Sent {
    slug: String,
    key: String,
    sent_at: Instant,
    /// The status, or 0 when no answer came (the connection failed).
    status: u16,
    body: String,
}

#[derive(Default)]
struct Outcomes(Mutex<Vec<Sent>>);

impl Outcomes {
    fn all(&self) -> Vec<Sent> {
        self.0.lock().unwrap().clone()
    }

    fn acknowledged(&self) -> HashSet<String> {
        self.all().into_iter().filter(|s| s.status == 303).map(|s| s.key).collect()
    }

    /// Sent but not acknowledged: it may or may not be stored.
    fn in_doubt(&self) -> Vec<Sent> {
        self.all().into_iter().filter(|s| s.status != 303).collect()
    }
}

fn answers(key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("key", key.to_owned()),
        ("v", "mot-cua@1".to_owned()),
        ("q_hai_long_chung", "4".to_owned()),
        ("comment", "Giữ nguyên ý kiến này".to_owned()),
    ]
}

/// Loads a form and returns its one-time key.
async fn form_key(client: &reqwest::Client, base: &str, slug: &str) -> Option<String> {
    let html = client.get(format!("{base}/s/{slug}")).send().await.ok()?.text().await.ok()?;
    let start = html.find("name=\"key\" value=\"")? + "name=\"key\" value=\"".len();
    Some(html[start..].split('"').next()?.to_owned())
}

async fn post(client: &reqwest::Client, base: &str, slug: &str, key: &str) -> (u16, String) {
    match client.post(format!("{base}/s/{slug}")).form(&answers(key)).send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.text().await.unwrap_or_default())
        }
        Err(_) => (0, String::new()),
    }
}

/// `clients` citizens rating over and over until `stop` is set.
fn load(
    base: &str,
    slugs: &[String],
    clients: usize,
    stop: &Arc<AtomicBool>,
) -> (Arc<Outcomes>, Vec<tokio::task::JoinHandle<()>>) {
    let outcomes = Arc::new(Outcomes::default());
    let tasks = (0..clients)
        .map(|i| {
            let (base, slugs, stop, outcomes) = (base.to_owned(), slugs.to_vec(), stop.clone(), outcomes.clone());
            tokio::spawn(async move {
                let client = client();
                let mut n = i;
                while !stop.load(Ordering::Relaxed) {
                    n += clients;
                    let slug = &slugs[n % slugs.len()];
                    let Some(key) = form_key(&client, &base, slug).await else {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    };
                    let sent_at = Instant::now();
                    let (status, body) = post(&client, &base, slug, &key).await;
                    outcomes.0.lock().unwrap().push(Sent { slug: slug.clone(), key, sent_at, status, body });
                    if status != 303 {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            })
        })
        .collect();
    (outcomes, tasks)
}

async fn stop_load(stop: &Arc<AtomicBool>, tasks: Vec<tokio::task::JoinHandle<()>>) {
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
}

/// Sends every rating in doubt again, with its key, until each is acknowledged.
async fn resend(server: &Server, in_doubt: &[Sent]) -> HashSet<String> {
    let client = client();
    let mut done = HashSet::new();
    for sent in in_doubt {
        let (status, body) = post(&client, &server.base, &sent.slug, &sent.key).await;
        assert_eq!(status, 303, "a rating sent again is taken:\n{body}\n{}", server.log());
        done.insert(sent.key.clone());
    }
    done
}

/// Every acknowledged rating is stored exactly once, nothing is stored twice, and the counts
/// the reports read agree with the responses (`hailong verify`).
async fn check_kept(db: &Db, acknowledged: &HashSet<String>) -> usize {
    let stored = db.stored_keys().await;
    let missing: Vec<&String> = acknowledged.iter().filter(|k| !stored.contains_key(*k)).collect();
    assert!(missing.is_empty(), "{} of {} acknowledged ratings are missing", missing.len(), acknowledged.len());
    let twice: Vec<(&String, &u32)> = stored.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "stored more than once: {twice:?}");
    db.hailong(&["verify"]);
    stored.len()
}

fn trials() -> usize {
    std::env::var("HAILONG_FAULT_TRIALS").ok().and_then(|t| t.parse().ok()).unwrap_or(10)
}

// ---------------------------------------------------------------------------------------------
// The faults

/// Killed at a random moment under concurrent submissions, `trials` times on one database.
async fn kill9_under_load(db: Db) {
    let logs = tempfile::tempdir().unwrap();
    let slugs = db.seed();
    let mut acknowledged = HashSet::new();
    let (mut in_doubt_total, mut resent_total) = (0, 0);
    let trials = trials();
    for trial in 0..trials {
        let mut server = Server::start(&db, logs.path()).await;
        let stop = Arc::new(AtomicBool::new(false));
        let (outcomes, tasks) = load(&server.base, &slugs, 16, &stop);
        let wait = rand::rng().random_range(200..1500);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        server.kill9();
        stop_load(&stop, tasks).await;
        acknowledged.extend(outcomes.acknowledged());
        let in_doubt = outcomes.in_doubt();
        in_doubt_total += in_doubt.len();

        // Back up: the citizens who got no thank-you page press Send again.
        let server = Server::start(&db, logs.path()).await;
        let resent = resend(&server, &in_doubt).await;
        resent_total += resent.len();
        acknowledged.extend(resent);
        drop(server);
        let stored = check_kept(&db, &acknowledged).await;
        assert_eq!(stored, acknowledged.len(), "trial {trial}: nothing stored that no one was told of but resent");
    }
    assert!(acknowledged.len() > trials * 10, "the load was too light to test anything: {}", acknowledged.len());
    println!(
        "kill -9 ({}): {trials} trials, {} acknowledged, {in_doubt_total} in doubt and sent again ({resent_total}), \
         all present once",
        if db.is_sqlite() { "SQLite" } else { "PostgreSQL" },
        acknowledged.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_under_load_sqlite() {
    kill9_under_load(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_under_load_postgres() {
    kill9_under_load(Db::postgres().await).await;
}

/// SIGTERM under load: every submission sent before the signal is acknowledged and kept. With
/// `stalled`, a client has sent half a request's headers and then nothing: the stop still ends
/// within systemd's stop timeout (45 s in the unit), after the grace given to requests.
async fn sigterm_under_load(db: Db, stalled: bool) {
    let logs = tempfile::tempdir().unwrap();
    let slugs = db.seed();
    // With a stalled client, its header timeout is set past the stop's grace: the grace itself is
    // what is tried here (the timeout is tried in the API suite).
    let env: &[(&str, &str)] = if stalled { &[("HAILONG_HEADER_TIMEOUT_SECS", "120")] } else { &[] };
    let mut server = Server::start_with(&db, logs.path(), env).await;
    let _half = stalled.then(|| {
        let mut stream = std::net::TcpStream::connect(server.base.trim_start_matches("http://")).unwrap();
        std::io::Write::write_all(&mut stream, b"POST /s/x HTTP/1.1\r\nHost: hailong\r\nContent-Le").unwrap();
        stream
    });
    let stop = Arc::new(AtomicBool::new(false));
    let (outcomes, tasks) = load(&server.base, &slugs, 16, &stop);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let signalled = Instant::now();
    server.terminate();
    let status = server.wait(Duration::from_secs(if stalled { 45 } else { 30 }));
    if stalled {
        let took = signalled.elapsed();
        assert!(took >= Duration::from_secs(30), "requests under way were given their time: {took:?}");
        assert!(server.log().contains("closing them"), "{}", server.log());
    }
    stop_load(&stop, tasks).await;
    assert!(status.success(), "a clean stop: {status}\n{}", server.log());
    // A request sent shortly before the signal may still have been on its way in.
    let before: Vec<Sent> =
        outcomes.all().into_iter().filter(|s| s.sent_at + Duration::from_millis(50) < signalled).collect();
    let failed: Vec<&Sent> = before.iter().filter(|s| s.status != 303).collect();
    assert!(failed.is_empty(), "{} sent before the signal failed: {:?}", failed.len(), failed.first());
    assert!(before.len() > 20, "the load was too light: {}", before.len());
    check_kept(&db, &outcomes.acknowledged()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_sqlite() {
    sigterm_under_load(Db::sqlite(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_stalled_client_stops_within_the_grace() {
    sigterm_under_load(Db::sqlite(), true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_postgres() {
    sigterm_under_load(Db::postgres().await, false).await;
}

/// A small filesystem of its own, mounted for the test and unmounted after.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(status.success(), "the disk-full test mounts a tmpfs: run it as root");
        Self(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

/// Fills the filesystem holding `path` with a ballast file until the disk is full.
fn fill(path: &Path) {
    use std::io::Write;
    let mut ballast = std::fs::File::create(path).expect("ballast");
    let block = vec![0u8; 16 * 1024];
    while ballast.write_all(&block).is_ok() {}
    let _ = ballast.sync_all();
}

/// The disk fills up under load, then is freed: no acknowledged rating is lost, the refused
/// ones get the form back with their answers and a 503, and service resumes by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_then_freed_sqlite() {
    // Room enough, once the ballast is gone, for the second of load after it and the resends
    // (every rating of the load is flagged, and a flagged rating writes about twice as much).
    let disk = Tmpfs::mount("16m");
    let logs = tempfile::tempdir().unwrap();
    let db = Db::sqlite_in(disk.0.path());
    let slugs = db.seed();
    let server = Server::start(&db, logs.path()).await;
    let stop = Arc::new(AtomicBool::new(false));
    let (outcomes, tasks) = load(&server.base, &slugs, 8, &stop);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ballast = disk.0.path().join("ballast");
    fill(&ballast);

    // Until the writer runs into the full disk (the WAL may have room for a while).
    let started = Instant::now();
    while !outcomes.all().iter().any(|s| s.status == 503) {
        assert!(started.elapsed() < Duration::from_secs(60), "the disk never filled:\n{}", server.log());
        fill(&disk.0.path().join(format!("more-{}", started.elapsed().as_millis())));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.wait_ready(503, Duration::from_secs(10)).await;
    assert_eq!(server.status_of("/healthz").await, 200, "alive while full");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let refused = outcomes.all().into_iter().find(|s| s.status == 503).unwrap();
    assert!(refused.body.contains("Giữ nguyên ý kiến này"), "the refused form keeps the answers");

    // Space comes back: service resumes by itself.
    for entry in std::fs::read_dir(disk.0.path()).unwrap().flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with("ballast") || name.to_string_lossy().starts_with("more-") {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    let freed = Instant::now();
    server.wait_ready(200, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop_load(&stop, tasks).await;
    let after: Vec<Sent> = outcomes.all().into_iter().filter(|s| s.sent_at > freed).collect();
    assert!(after.iter().any(|s| s.status == 303), "ratings are taken again once space is back");

    // The citizens refused while full send again; then everything acknowledged is there.
    let in_doubt = outcomes.in_doubt();
    let mut acknowledged = outcomes.acknowledged();
    acknowledged.extend(resend(&server, &in_doubt).await);
    let mut server = server;
    server.terminate();
    server.wait(Duration::from_secs(30));
    check_kept(&db, &acknowledged).await;
    println!(
        "disk full (SQLite on a 16 MiB tmpfs): {} acknowledged, {} refused while full and sent again, none lost",
        acknowledged.len(),
        in_doubt.len()
    );
}

/// The database file deleted under a running server: nothing is acknowledged after, the
/// service says it is not ready, and the citizens get the form back to send again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_file_deleted_under_a_running_server() {
    let logs = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let slugs = db.seed();
    let server = Server::start(&db, logs.path()).await;
    let stop = Arc::new(AtomicBool::new(false));
    let (outcomes, tasks) = load(&server.base, &slugs, 8, &stop);
    tokio::time::sleep(Duration::from_millis(500)).await;
    for suffix in ["", "-wal", "-shm"] {
        let mut path = db.path().into_os_string();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
    let deleted = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(server.status_of("/readyz").await, 503, "not ready without its file");
    assert_eq!(server.status_of("/healthz").await, 200, "but alive");
    stop_load(&stop, tasks).await;
    let after: Vec<Sent> =
        outcomes.all().into_iter().filter(|s| s.sent_at > deleted + Duration::from_millis(100)).collect();
    assert!(after.len() > 5, "the load went on: {}", after.len());
    let acknowledged: Vec<&Sent> = after.iter().filter(|s| s.status == 303).collect();
    assert!(acknowledged.is_empty(), "{} acknowledged into a deleted file", acknowledged.len());
    assert!(
        after.iter().all(|s| s.status == 503 && s.body.contains("Giữ nguyên ý kiến này")),
        "try again, answers kept"
    );
    assert!(
        server.log().contains("no longer") || server.log().contains("deleted"),
        "the log says why:\n{}",
        server.log()
    );
}

/// PostgreSQL: the server's connections are terminated again and again under load, then its
/// commits fail for a while: nothing acknowledged is lost, and service resumes by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_cut_and_commits_failed() {
    let logs = tempfile::tempdir().unwrap();
    let db = Db::postgres().await;
    let slugs = db.seed();
    let server = Server::start(&db, logs.path()).await;
    let stop = Arc::new(AtomicBool::new(false));
    let (outcomes, tasks) = load(&server.base, &slugs, 16, &stop);
    let name = db.pg.as_ref().map(|(_, n)| n.clone()).unwrap();
    let terminate = format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    );
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        db.execute(&terminate).await;
    }
    // Commits fail at COMMIT (a deferred constraint trigger) while the flag is up.
    db.execute(
        "CREATE TABLE fault_flag (up BOOLEAN NOT NULL);
         INSERT INTO fault_flag VALUES (true);
         CREATE FUNCTION fault_fail_commit() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF EXISTS (SELECT 1 FROM fault_flag WHERE up) THEN RAISE EXCEPTION 'injected commit failure'; END IF;
             RETURN NULL;
         END $$;
         CREATE CONSTRAINT TRIGGER fault_fail_commit AFTER INSERT ON responses
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fault_fail_commit();",
    )
    .await;
    let failing = Instant::now();
    server.wait_ready(503, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let clearing = Instant::now();
    db.execute("UPDATE fault_flag SET up = false").await;
    let cleared = Instant::now();
    server.wait_ready(200, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop_load(&stop, tasks).await;

    let all = outcomes.all();
    let while_failing: Vec<&Sent> =
        // (A send just before the flag came down may be committed just after.)
        all.iter()
            .filter(|s| s.sent_at > failing + Duration::from_millis(200) && s.sent_at + Duration::from_millis(500) < clearing)
            .collect();
    assert!(!while_failing.is_empty(), "the load went on while commits failed");
    let wrong: Vec<(u16, u128)> = while_failing
        .iter()
        .filter(|s| s.status != 503)
        .map(|s| (s.status, (s.sent_at - failing).as_millis()))
        .collect();
    assert!(wrong.is_empty(), "nothing acknowledged while commits fail: {wrong:?} of {}", while_failing.len());
    assert!(all.iter().any(|s| s.sent_at > cleared && s.status == 303), "service resumes");
    let mut acknowledged = outcomes.acknowledged();
    acknowledged.extend(resend(&server, &outcomes.in_doubt()).await);
    drop(server);
    // The injected fault goes before the audit: `verify` rightly fails on a trigger that no
    // migration made.
    db.execute(
        "DROP TRIGGER fault_fail_commit ON responses; DROP FUNCTION fault_fail_commit(); DROP TABLE fault_flag;",
    )
    .await;
    check_kept(&db, &acknowledged).await;
}

// ---------------------------------------------------------------------------------------------
// Two instances behind a TLS reverse proxy (Caddy) on one PostgreSQL database: the topology of
// deploy/compose, run for real on loopback.

/// One request through the proxy with curl, from the loopback address `from` (each is a client
/// of its own): the status and the body. `form` is sent url-encoded (a POST); `jar` keeps cookies.
fn curl(from: &str, url: &str, form: &[(&str, &str)], headers: &[&str], jar: Option<&Path>) -> (u16, String) {
    let mut command = Command::new("curl");
    command.args(["-sk", "--max-time", "20", "--interface", from, "-o", "-", "-w", "\n%{http_code}"]);
    for (name, value) in form {
        command.args(["--data-urlencode", &format!("{name}={value}")]);
    }
    for header in headers {
        command.args(["-H", header]);
    }
    if let Some(jar) = jar {
        command.args(["-b", &jar.display().to_string(), "-c", &jar.display().to_string()]);
    }
    let out = command.arg(url).output().expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (status.trim().parse().unwrap_or(0), body.to_owned())
}

fn key_in(html: &str) -> String {
    let start = html.find("name=\"key\" value=\"").expect("a form with a key") + "name=\"key\" value=\"".len();
    html[start..].split('"').next().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_behind_caddy_on_one_postgres_database_behave_as_one_service() {
    assert!(Command::new("caddy").arg("version").output().is_ok_and(|o| o.status.success()), "caddy is needed");
    let db = Db::postgres().await;
    let slugs = db.seed();
    let dir = tempfile::tempdir().unwrap();
    // Both instances sign with the one key made for the database (`hailong keys create`).
    let key_text = db.key.as_ref().expect("a PostgreSQL database's key").display().to_string();
    let env = [
        ("HAILONG_SUBMIT_LIMIT_PER_MINUTE", "3"),
        ("HAILONG_TRUSTED_PROXIES", "[\"127.0.0.1\"]"),
        ("HAILONG_RECEIPT_SECRET", RECEIPT_SECRET),
        ("HAILONG_SIGNING_KEY_FILE", key_text.as_str()),
        ("HAILONG_LOG", "info"),
    ];
    let a = Server::start_with(&db, dir.path(), &env).await;
    let b = Server::start_with(&db, dir.path(), &env).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let caddyfile = dir.path().join("Caddyfile");
    let upstreams = format!("{} {}", a.base.trim_start_matches("http://"), b.base.trim_start_matches("http://"));
    std::fs::write(
        &caddyfile,
        format!(
            "{{\n  admin off\n  skip_install_trust\n  auto_https disable_redirects\n  storage file_system {}\n}}\n\
             https://127.0.0.1:{port} {{\n  tls internal\n  reverse_proxy {upstreams} {{\n    lb_policy round_robin\n    \
             health_uri /readyz\n    health_interval 2s\n  }}\n}}\n",
            dir.path().join("caddy").display()
        ),
    )
    .unwrap();
    let mut caddy = Command::new("caddy")
        .args(["run", "--config", caddyfile.to_str().unwrap(), "--adapter", "caddyfile"])
        .env("XDG_DATA_HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("caddy.log")).unwrap())
        .spawn()
        .expect("start caddy");
    let proxy = format!("https://127.0.0.1:{port}");
    let started = Instant::now();
    while curl("127.0.0.1", &format!("{proxy}/readyz"), &[], &[], None).0 != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "caddy did not come up: {}",
            std::fs::read_to_string(dir.path().join("caddy.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Citizens from 40 addresses, spread over both instances by the proxy: each rating is kept once.
    let mut keys = Vec::new();
    let mut threads = Vec::new();
    for i in 0..40 {
        let (proxy, slug) = (proxy.clone(), slugs[i % slugs.len()].clone());
        threads.push(std::thread::spawn(move || {
            let from = format!("127.0.0.{}", 10 + i);
            let (status, html) = curl(&from, &format!("{proxy}/s/{slug}"), &[], &[], None);
            assert_eq!(status, 200);
            let key = key_in(&html);
            let form = [("key", key.as_str()), ("q_hai_long_chung", "4")];
            let (status, _) = curl(&from, &format!("{proxy}/s/{slug}"), &form, &[], None);
            (key, status, slug)
        }));
    }
    for t in threads {
        let (key, status, slug) = t.join().unwrap();
        assert_eq!(status, 303, "stored and thanked");
        keys.push((key, slug));
    }
    // The same forms sent again straight to the other instance: kept once.
    for (key, slug) in keys.iter().take(5) {
        let (status, _) = post(&client(), &b.base, slug, key).await;
        assert_eq!(status, 303);
    }
    let stored = db.stored_keys().await;
    assert_eq!(stored.len(), 40);
    assert!(stored.values().all(|n| *n == 1));
    let served = |s: &Server| s.log().matches("/s/").count();
    assert!(served(&a) > 0 && served(&b) > 0, "both instances served citizens");

    // A session begun through one instance is good on the other.
    let password = "một mật khẩu đủ dài cho kiểm thử";
    let mut add = Command::new(BIN)
        .args(["user", "add", "quan-ly", "--role", "unit-manager", "--unit", "HL"])
        .env("HAILONG_DATABASE_URL", &db.url)
        .env("HAILONG_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut add.stdin.take().unwrap(), format!("{password}\n").as_bytes()).unwrap();
    assert!(add.wait().unwrap().success());
    let jar = dir.path().join("cookies");
    let origin = format!("Origin: {proxy}");
    let (status, _) = curl(
        "127.0.0.100",
        &format!("{proxy}/admin/login"),
        &[("name", "quan-ly"), ("password", password)],
        &[&origin],
        Some(&jar),
    );
    assert_eq!(status, 303, "signed in");
    for i in 0..10 {
        // The cookie from other addresses, which the proxy sends to either instance.
        let (status, page) = curl(&format!("127.0.0.{}", 110 + i), &format!("{proxy}/admin"), &[], &[], Some(&jar));
        assert_eq!(status, 200, "{page}");
    }
    let (status, _) = curl("127.0.0.100", &format!("{proxy}/admin"), &[], &[], None);
    assert_eq!(status, 303, "without the cookie: to the sign-in page");

    // A receipt's token rates once, whichever instance each of twelve sends reaches.
    let created = db.hailong(&["receipts", "key", "create"]);
    let mut parts = created.split_whitespace();
    let (id, secret) = (parts.next().unwrap().to_owned(), parts.next().unwrap().to_owned());
    let list = db.hailong(&["points", "list"]);
    let row: Vec<&str> =
        list.lines().skip(1).map(|l| l.split(',').collect::<Vec<_>>()).find(|r| !r[4].is_empty()).unwrap();
    let (unit, officer) = (row[2].to_owned(), row[4].to_owned());
    let signed = db.hailong(&[
        "receipts",
        "sign",
        "--key-id",
        &id,
        "--secret",
        &secret,
        "--unit",
        &unit,
        "--officer",
        &officer,
        "--dossier",
        "000.00.01.H01-261201-0007",
        "--base-url",
        &proxy,
    ]);
    let url = signed.lines().last().unwrap().trim().to_owned();
    let (status, html) = curl("127.0.0.150", &url, &[], &[], None);
    assert_eq!(status, 200, "{html}");
    // Twelve forms of the one receipt, each with its own key, all loaded first, then raced.
    let keys: Vec<String> = (0..12)
        .map(|i| {
            let (status, page) = curl("127.0.0.150", &url, &[], &[], None);
            assert!(page.contains("name=\"key\""), "form {i} of the receipt: {status}\n{page}");
            key_in(&page)
        })
        .collect();
    let mut threads = Vec::new();
    for (i, key) in keys.into_iter().enumerate() {
        let url = url.clone();
        threads.push(std::thread::spawn(move || {
            let form = [("key", key.as_str()), ("q_hai_long_chung", "5")];
            curl(&format!("127.0.0.{}", 160 + i), &url, &form, &[], None).0
        }));
    }
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 303).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 303 || *s == 410), "{statuses:?}");

    // The rate limit sees the client's address as the proxy passes it, whichever instance the
    // proxy sends each rating to (round robin): three a minute from one citizen at one point, a
    // fourth refused even with a forged X-Forwarded-For; another citizen is not held back.
    let slug = &slugs[0];
    // What each instance counted of open-QR sends, by outcome, from its own /metrics.
    let sends = |server: &Server| -> f64 {
        let (_, text) = curl("127.0.0.1", &format!("{}/metrics", server.metrics), &[], &[], None);
        text.lines()
            .filter(|l| l.starts_with("hailong_submissions_total{") && l.contains("channel=\"qr\""))
            .filter(|l| l.contains("outcome=\"stored\"") || l.contains("outcome=\"rate_limited\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let before = (sends(&a), sends(&b));
    // The limit counts in minutes: the four sends are kept inside one.
    let second = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() % 60;
    if second > 45 {
        tokio::time::sleep(Duration::from_secs(61 - second)).await;
    }
    for n in 0..4 {
        // The form loaded from the first instance itself (both sign with one key), so that the
        // four sends follow each other at the proxy and its round robin gives them to the
        // instances in turn.
        let key = key_in(&curl("127.0.0.1", &format!("{}/s/{slug}", a.base), &[], &[], None).1);
        let form = [("key", key.as_str()), ("q_hai_long_chung", "3")];
        let forged = format!("X-Forwarded-For: 10.0.0.{n}");
        let (status, _) = curl("127.0.0.200", &format!("{proxy}/s/{slug}"), &form, &[&forged], None);
        assert_eq!(status, if n < 3 { 303 } else { 429 }, "rating {n}");
    }
    let after = (sends(&a), sends(&b));
    assert_eq!((after.0 - before.0, after.1 - before.1), (2.0, 2.0), "each instance took two of the four");
    let (_, html) = curl("127.0.0.201", &format!("{proxy}/s/{slug}"), &[], &[], None);
    let key = key_in(&html);
    let (status, _) = curl(
        "127.0.0.201",
        &format!("{proxy}/s/{slug}"),
        &[("key", key.as_str()), ("q_hai_long_chung", "3")],
        &[],
        None,
    );
    assert_eq!(status, 303);

    // The whole database checks out: chain, moderation, counts.
    db.hailong(&["verify"]);
    let _ = caddy.kill();
    let _ = caddy.wait();
}
