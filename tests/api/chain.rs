//! Tamper evidence: the hash chain over the responses, checkpoints kept elsewhere, signed
//! exports. The insider here edits the database file directly, with the guards dropped, the way
//! a database administrator could; `hailong verify` must see every kind of edit.

use std::path::{Path, PathBuf};

use hailong::domain::chain::{self, LinkKind, ResponseContent};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

use crate::helpers::{TestApp, cli};

/// A database file as an insider opens it: no foreign keys, the append-only guards dropped
/// (their definitions kept, to be put back by [`put_back`] once the edit is made, so that
/// `verify` cannot tell the edit from a missing guard alone).
async fn insider(file: &Path) -> (SqliteConnection, Vec<String>) {
    let options = SqliteConnectOptions::new().filename(file).foreign_keys(false);
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    let triggers: Vec<(String, String)> = sqlx::query_as("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert!(!triggers.is_empty(), "the database has its guards");
    for (name, _) in &triggers {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP TRIGGER {name}"))).execute(&mut conn).await.unwrap();
    }
    (conn, triggers.into_iter().map(|(_, sql)| sql).collect())
}

/// Puts the guards back exactly as they were, and closes the insider's connection.
async fn put_back(mut conn: SqliteConnection, guards: Vec<String>) {
    for sql in guards {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();
}

async fn exec(conn: &mut SqliteConnection, sql: &str) {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut *conn).await.unwrap();
}

async fn scalar(conn: &mut SqliteConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&mut *conn).await.unwrap()
}

/// Recomputes every link from the records and moves the head: what an insider who knows the
/// format does after an edit, so that the chain alone looks intact.
async fn rechain(conn: &mut SqliteConnection) {
    type Row =
        (i64, String, i64, i64, Option<i64>, Option<i64>, Option<i64>, String, i64, String, i64, i64, Option<String>);
    let links: Vec<(i64, i64)> =
        sqlx::query_as("SELECT seq, record_id FROM chain_links ORDER BY seq").fetch_all(&mut *conn).await.unwrap();
    let mut prev = chain::GENESIS;
    for (seq, record) in links {
        let row: Row = sqlx::query_as(
            "SELECT id, idempotency_key, point_id, unit_id, desk_id, officer_id, field_id, questionnaire_id, \
             questionnaire_version, channel, submitted_at, local_day, comment FROM responses WHERE id = ?",
        )
        .bind(record)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        let answers: Vec<(String, i64)> =
            sqlx::query_as("SELECT question_id, value FROM answers WHERE response_id = ?")
                .bind(record)
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        let content = ResponseContent {
            id: row.0,
            key: &row.1,
            point: row.2,
            unit: row.3,
            desk: row.4,
            officer: row.5,
            field: row.6,
            questionnaire: &row.7,
            version: row.8,
            channel: &row.9,
            submitted_at: row.10,
            local_day: row.11,
            answers: answers.iter().map(|(q, v)| (q.as_str(), *v)).collect(),
        };
        let erasable = chain::erasable(row.12.as_deref());
        prev = chain::link(&prev, seq, LinkKind::Response, &content.canonical(), &erasable);
        sqlx::query("UPDATE chain_links SET hash = ?, erasable = ? WHERE seq = ?")
            .bind(chain::hex(&prev))
            .bind(chain::hex(&erasable))
            .bind(seq)
            .execute(&mut *conn)
            .await
            .unwrap();
        sqlx::query("UPDATE chain_head SET seq = ?, hash = ?")
            .bind(seq)
            .bind(chain::hex(&prev))
            .execute(&mut *conn)
            .await
            .unwrap();
    }
}

/// One kind of tampering, applied to a copy of the database.
#[derive(Clone, Copy, Debug)]
enum Tamper {
    ChangedValue,
    ChangedAttribution,
    ChangedComment,
    DeletedRow,
    DeletedRowAndLink,
    InsertedRow,
    SwappedRows,
    TruncatedTail,
    RechainedAfterEdit,
    Rollback,
}

const TAMPERS: [Tamper; 10] = [
    Tamper::ChangedValue,
    Tamper::ChangedAttribution,
    Tamper::ChangedComment,
    Tamper::DeletedRow,
    Tamper::DeletedRowAndLink,
    Tamper::InsertedRow,
    Tamper::SwappedRows,
    Tamper::TruncatedTail,
    Tamper::RechainedAfterEdit,
    Tamper::Rollback,
];

async fn apply(tamper: Tamper, file: &Path, early: &Path, rng: &mut StdRng) {
    if let Tamper::Rollback = tamper {
        std::fs::copy(early, file).unwrap();
        return;
    }
    let (mut conn, guards) = insider(file).await;
    let links = scalar(&mut conn, "SELECT MAX(seq) FROM chain_links").await;
    let pick = |rng: &mut StdRng| rng.random_range(1..=links);
    let record = |seq: i64| format!("(SELECT record_id FROM chain_links WHERE seq = {seq})");
    match tamper {
        // One of the citizen's own answers (a derived one, `composite.*`, is recomputed from
        // them: `flags.rs` tests those).
        Tamper::ChangedValue => {
            let r = record(pick(rng));
            exec(
                &mut conn,
                &format!(
                    "UPDATE answers SET value = CASE WHEN value = 1 THEN 2 ELSE value - 1 END \
                     WHERE response_id = {r} AND question_id = (SELECT MIN(question_id) FROM answers \
                       WHERE response_id = {r} AND question_id NOT LIKE '%.%')"
                ),
            )
            .await;
        }
        Tamper::ChangedAttribution => {
            let r = record(pick(rng));
            exec(&mut conn, &format!("UPDATE responses SET submitted_at = submitted_at + 1 WHERE id = {r}")).await;
        }
        Tamper::ChangedComment => {
            let r = record(pick(rng));
            exec(&mut conn, &format!("UPDATE responses SET comment = 'Cán bộ rất tốt' WHERE id = {r}")).await;
        }
        Tamper::DeletedRow => {
            let r = record(pick(rng));
            exec(&mut conn, &format!("DELETE FROM answers WHERE response_id = {r}")).await;
            exec(&mut conn, &format!("DELETE FROM responses WHERE id = {r}")).await;
        }
        Tamper::DeletedRowAndLink => {
            let seq = pick(rng);
            let r = record(seq);
            exec(&mut conn, &format!("DELETE FROM answers WHERE response_id = {r}")).await;
            exec(&mut conn, &format!("DELETE FROM responses WHERE id = {r}")).await;
            exec(&mut conn, &format!("DELETE FROM chain_links WHERE seq = {seq}")).await;
        }
        Tamper::InsertedRow => {
            let r = record(pick(rng));
            exec(
                &mut conn,
                &format!(
                    "INSERT INTO responses (idempotency_key, point_id, unit_id, desk_id, officer_id, field_id, \
                     questionnaire_id, questionnaire_version, channel, submitted_at, local_day, comment) \
                     SELECT 'inserted-by-insider-0001', point_id, unit_id, desk_id, officer_id, field_id, questionnaire_id, \
                     questionnaire_version, channel, submitted_at, local_day, NULL FROM responses WHERE id = {r}"
                ),
            )
            .await;
        }
        Tamper::SwappedRows => {
            // Two responses of different officers trade their answers.
            let (a, b) = loop {
                let (a, b) = (pick(rng), pick(rng));
                let differ = scalar(
                    &mut conn,
                    &format!(
                        "SELECT COUNT(*) FROM (SELECT question_id, value FROM answers WHERE response_id = {} \
                         EXCEPT SELECT question_id, value FROM answers WHERE response_id = {})",
                        record(a),
                        record(b)
                    ),
                )
                .await;
                if differ > 0 {
                    break (record(a), record(b));
                }
            };
            exec(&mut conn, &format!("UPDATE answers SET response_id = -1 WHERE response_id = {a}")).await;
            exec(&mut conn, &format!("UPDATE answers SET response_id = {a} WHERE response_id = {b}")).await;
            exec(&mut conn, &format!("UPDATE answers SET response_id = {b} WHERE response_id = -1")).await;
        }
        Tamper::TruncatedTail => {
            // The newest links and their responses go, and the head is moved back to match:
            // the chain alone is intact.
            let keep = links - rng.random_range(1..=20);
            exec(
                &mut conn,
                &format!(
                    "DELETE FROM answers WHERE response_id IN (SELECT record_id FROM chain_links WHERE seq > {keep})"
                ),
            )
            .await;
            exec(
                &mut conn,
                &format!("DELETE FROM responses WHERE id IN (SELECT record_id FROM chain_links WHERE seq > {keep})"),
            )
            .await;
            exec(&mut conn, &format!("DELETE FROM chain_links WHERE seq > {keep}")).await;
            exec(
                &mut conn,
                &format!(
                    "UPDATE chain_head SET seq = {keep}, hash = (SELECT hash FROM chain_links WHERE seq = {keep})"
                ),
            )
            .await;
        }
        Tamper::RechainedAfterEdit => {
            let r = record(pick(rng));
            exec(&mut conn, &format!("UPDATE responses SET submitted_at = submitted_at + 1 WHERE id = {r}")).await;
            rechain(&mut conn).await;
        }
        Tamper::Rollback => unreachable!(),
    }
    put_back(conn, guards).await;
}

fn verify(file: &Path, key: &Path, checkpoint: Option<&Path>) -> (bool, String) {
    let url = format!("sqlite://{}", file.display());
    let key = key.display().to_string();
    let mut args = vec!["verify".to_owned()];
    if let Some(c) = checkpoint {
        args.extend(["--checkpoint".to_owned(), c.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = cli(&url, &args, &[("HAILONG_SIGNING_KEY_FILE", &key)]);
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), said)
}

/// A copy of an SQLite database taken while the service runs.
async fn copy_of(app: &TestApp, to: &Path) {
    app.store.backup_to(to).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_tampering_of_a_large_database_is_caught_against_a_checkpoint() {
    if std::env::var("HAILONG_TEST_POSTGRES_URL").is_ok_and(|v| !v.is_empty()) {
        // The insider's edits here are made to SQLite files; PostgreSQL has its own test below.
        return;
    }
    let seed: u64 = std::env::var("HAILONG_TAMPER_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("tampering seed {seed} (HAILONG_TAMPER_SEED repeats it)");
    let mut rng = StdRng::seed_from_u64(seed);

    let app = TestApp::spawn().await;
    let questionnaires = hailong::startup::load_questionnaires(&app.store).await.unwrap();
    hailong::demo::seed(&app.store, &questionnaires, 2500, 11, |_| {}).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let early = dir.path().join("early.db");
    copy_of(&app, &early).await;
    hailong::demo::seed(&app.store, &questionnaires, 500, 12, |_| {}).await.unwrap();
    let url = app.db_url();
    let source = PathBuf::from(url.trim_start_matches("sqlite://"));
    let key = source.with_file_name("hailong-signing.key");
    let checkpoint = dir.path().join("checkpoint.json");
    let made = cli(&url, &["checkpoint", "--out", checkpoint.to_str().unwrap()], &[]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let full = dir.path().join("full.db");
    copy_of(&app, &full).await;

    // The copy as it is passes, with and without the checkpoint: the test can tell.
    let (ok, said) = verify(&full, &key, Some(&checkpoint));
    assert!(ok, "{said}");
    assert!(said.contains("3000 responses") && said.contains("the database extends it"), "{said}");
    let (ok, said) = verify(&early, &key, None);
    assert!(ok, "an earlier copy is intact as such: {said}");

    for round in 0..2 {
        for tamper in TAMPERS {
            let file = dir.path().join(format!("tampered-{round}-{tamper:?}.db"));
            std::fs::copy(&full, &file).unwrap();
            apply(tamper, &file, &early, &mut rng).await;
            let (ok, said) = verify(&file, &key, Some(&checkpoint));
            assert!(!ok, "{tamper:?} (seed {seed}) went unseen: {said}");
            // Seen by the chain or the checkpoint themselves: the guards are back as they were,
            // so no other check can be what failed.
            assert!(
                said.contains("guards: every append-only trigger is as"),
                "{tamper:?}: the guards are back: {said}"
            );
            let chain_broken = said.lines().any(|l| l.starts_with("chain: ") && !l.ends_with(": intact"));
            let checkpoint_failed = said.lines().any(|l| {
                l.starts_with(&format!("checkpoint {}", checkpoint.display()))
                    && !l.ends_with(": the database extends it")
            });
            assert!(
                chain_broken || checkpoint_failed,
                "{tamper:?} (seed {seed}) must be seen by the chain or the checkpoint, not only by the recount: {said}"
            );
            if matches!(tamper, Tamper::RechainedAfterEdit | Tamper::Rollback | Tamper::TruncatedTail) {
                assert!(checkpoint_failed, "{tamper:?} leaves a chain intact as such; the checkpoint sees it: {said}");
            }
            std::fs::remove_file(&file).unwrap();
        }
    }

    // An edited checkpoint is refused as such.
    let edited = dir.path().join("edited.json");
    let text = std::fs::read_to_string(&checkpoint).unwrap().replace("\"seq\": 3000", "\"seq\": 2500");
    std::fs::write(&edited, text).unwrap();
    let (ok, said) = verify(&full, &key, Some(&edited));
    assert!(!ok && said.contains("signature"), "{said}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_make_one_chain() {
    // Both backends; on PostgreSQL the two writers race for the head's row lock.
    let first = TestApp::spawn_with(|s| s.submit_limit_per_minute = 0).await;
    let points: Vec<_> = first.seed().await.into_iter().filter(|p| p.questionnaire_id == "mot-cua").collect();
    let second = first.beside(|s| s.submit_limit_per_minute = 0).await;
    let mut forms = Vec::new();
    for i in 0..60 {
        let app = if i % 2 == 0 { &first } else { &second };
        let point = &points[i % points.len()];
        forms.push((app, point.slug.to_string(), app.form_key(&point.slug.to_string()).await));
    }
    let sends: Vec<_> = forms
        .iter()
        .map(|(app, slug, key)| async move {
            app.post(slug, &[("key", key.as_str()), ("q_hai_long_chung", "5")]).await.status().as_u16()
        })
        .collect();
    let results = futures_join_all(sends).await;
    assert!(results.iter().all(|s| *s == 303), "{results:?}");
    let (seq, _) = first.store.chain_head().await.unwrap();
    assert_eq!(seq, 60);
    let registry = hailong::startup::load_questionnaires(&first.store).await.unwrap();
    let check = first.store.check_chain(&[], &registry, &|_| {}).await.unwrap();
    assert_eq!((check.broken, check.responses), (None, 60));
    let out = cli(&first.db_url(), &["verify"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    drop(second);
    first.stop().await;
}

async fn futures_join_all<F: std::future::Future<Output = u16>>(futures: Vec<F>) -> Vec<u16> {
    let mut set = Vec::with_capacity(futures.len());
    for f in futures {
        set.push(f);
    }
    let mut out = Vec::with_capacity(set.len());
    // Polled together: each on its own task would need 'static; a join of boxed futures does.
    let mut boxed: Vec<std::pin::Pin<Box<F>>> = set.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<u16>> = vec![None; boxed.len()];
    std::future::poll_fn(|cx| {
        for (i, f) in boxed.iter_mut().enumerate() {
            if done[i].is_none()
                && let std::task::Poll::Ready(v) = f.as_mut().poll(cx)
            {
                done[i] = Some(v);
            }
        }
        if done.iter().all(Option::is_some) { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    })
    .await;
    out.extend(done.into_iter().flatten());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exported_file_is_checked_against_its_signed_manifest() {
    let app = TestApp::spawn().await;
    let questionnaires = hailong::startup::load_questionnaires(&app.store).await.unwrap();
    hailong::demo::seed(&app.store, &questionnaires, 300, 3, |_| {}).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = app.db_url();
    for format in ["csv", "xlsx", "json"] {
        let file = dir.path().join(format!("chi-so.{format}"));
        let out = cli(
            &url,
            &[
                "export",
                "--period",
                &clock_year(),
                "--level",
                "officer",
                "--format",
                format,
                "--out",
                file.to_str().unwrap(),
            ],
            &[],
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let ok = cli(&url, &["verify-export", file.to_str().unwrap()], &[]);
        assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
        assert!(String::from_utf8_lossy(&ok.stdout).contains("as exported"));
        // One byte changed, as a spreadsheet edited after export.
        let mut bytes = std::fs::read(&file).unwrap();
        let at = bytes.len() / 2;
        bytes[at] ^= 0x01;
        std::fs::write(&file, &bytes).unwrap();
        let bad = cli(&url, &["verify-export", file.to_str().unwrap()], &[]);
        assert!(!bad.status.success());
        assert!(
            String::from_utf8_lossy(&bad.stderr).contains("changed after export"),
            "{}",
            String::from_utf8_lossy(&bad.stderr)
        );
        // Without the manifest beside it, the file is looked up by its content: not found.
        std::fs::remove_file(dir.path().join(format!("chi-so.{format}.manifest.json"))).unwrap();
        let bad = cli(&url, &["verify-export", file.to_str().unwrap()], &[]);
        assert!(!bad.status.success());
        assert!(String::from_utf8_lossy(&bad.stderr).contains("no export with this content"));
    }

    // A download from the API carries its SHA-256; the kept manifest checks the file.
    let staff = app.staff("so-noi-vu", hailong::domain::account::Role::Admin, None).await;
    let response = staff.api(&format!("/api/v1/indices?level=unit&period={}&format=csv", clock_year())).await;
    assert_eq!(response.status(), 200);
    let sha = response.headers().get("x-export-sha256").unwrap().to_str().unwrap().to_owned();
    let bytes = response.bytes().await.unwrap();
    let file = dir.path().join("download.csv");
    std::fs::write(&file, &bytes).unwrap();
    assert_eq!(hailong::app::trust::sha256_hex(&bytes), sha);
    let ok = cli(&url, &["verify-export", file.to_str().unwrap()], &[]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    app.stop().await;
}

fn clock_year() -> String {
    crate::helpers::TEST_MOMENT.date().year().to_string()
}

/// Runs `sql` on the database as someone with its password would, outside the service (the
/// guards let a comment be erased and a purge be recorded: they cannot tell who does it).
async fn as_insider(url: &str, sql: &str) {
    use sqlx::Connection;
    if hailong::store::sqlite_file(url).is_some() {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_writes_its_own_checkpoint_and_the_comment_purge_leaves_the_chain_whole() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("checkpoints");
    let first = TestApp::spawn_with(|s| s.submit_limit_per_minute = 0).await;
    let point = first.officer_point().await;
    let key = first.form_key(point.slug.as_str()).await;
    let form = [("key", key.as_str()), ("q_hai_long_chung", "5"), ("comment", "Cán bộ hướng dẫn tận tình")];
    assert_eq!(first.post(point.slug.as_str(), &form).await.status(), 303);

    // An instance that starts with something collected and no checkpoint makes one at once.
    let folder_for = folder.clone();
    let second = first.beside(move |s| s.checkpoint_dir = Some(folder_for)).await;
    let mut files = Vec::new();
    for _ in 0..400 {
        files = std::fs::read_dir(&folder)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        if !files.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(files.len(), 1, "one checkpoint file in {}", folder.display());
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains("\"seq\": 1"), "{text}");
    let (latest, _) = first.store.latest_checkpoint().await.unwrap().expect("kept in the database too");
    assert_eq!(latest.seq, 1);
    drop(second);

    // The retention purge (30 days here) erases the comment of a rating from 40 days ago; the
    // chain still verifies, against the checkpoint.
    let now = first.now_ms();
    let day = 86_400_000;
    let old = hailong::domain::response::NewResponse {
        point_id: point.id,
        questionnaire_id: "mot-cua".into(),
        questionnaire_version: 2,
        answers: crate::helpers::with_derived("mot-cua", 2, vec![("hai_long_chung".into(), 2)]),
        field: None,
        comment: hailong::domain::answer::Comment::parse("Phải chờ lâu").unwrap(),
        channel: hailong::domain::response::Channel::Qr,
        submitted_at_ms: now - 40 * day,
        key: hailong::domain::response::IdempotencyKey::generate_at(now - 40 * day - 60_000),
        receipt: None,
        device: None,
    };
    let stored = first.store.commit_group(&[old]).await.unwrap();
    assert!(matches!(stored[0], hailong::store::WriteOutcome::Stored(_)), "{stored:?}");
    assert_eq!(first.store.purge_comments(now - 30 * day).await.unwrap(), 1);
    // Checked anywhere, whatever that machine's comment_retention_days: the purge is recorded.
    let out = cli(&first.db_url(), &["verify", "--checkpoint", files[0].to_str().unwrap()], &[]);
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success() && said.contains("1 erased by 1 purge(s)") && said.contains("retention 30 days"),
        "{said}"
    );

    // A comment erased behind the service's back (a manager quietly removing a complaint) is
    // named; so is a purge record written to cover such an erasure.
    let erase = "UPDATE responses SET comment = NULL WHERE comment IS NOT NULL";
    let forge = format!(
        "INSERT INTO comment_purges (cutoff, retention_days, erased, at) VALUES ({}, 30, 1, {})",
        now + 1,
        now + 2
    );
    for (sql, said_then) in [(erase, "no purge covers it"), (forge.as_str(), "younger than its retention")] {
        as_insider(&first.db_url(), sql).await;
        let out = cli(&first.db_url(), &["verify"], &[]);
        let said = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success() && said.contains(said_then), "{said}");
    }
    first.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_backup_taken_while_ratings_arrive_restores_and_verifies() {
    let Some(_) = hailong::store::sqlite_file(&TestApp::spawn().await.db_url()) else {
        // PostgreSQL is copied with pg_dump; hailong backup says so (tested below).
        let app = TestApp::spawn().await;
        let out = cli(&app.db_url(), &["backup", "--out", "/nonexistent/x.db"], &[]);
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
        return;
    };
    let app = TestApp::spawn_with(|s| s.submit_limit_per_minute = 0).await;
    let points: Vec<_> = app.seed().await.into_iter().filter(|p| p.questionnaire_id == "mot-cua").collect();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut senders = Vec::new();
    for point in points.iter().take(4) {
        let (client, base, slug) = (app.client.clone(), app.base.clone(), point.slug.to_string());
        let (sent, stop) = (sent.clone(), stop.clone());
        senders.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let form = client.get(format!("{base}/s/{slug}")).send().await.unwrap().text().await.unwrap();
                let key = crate::helpers::key_in(&form);
                let form = [("key", key.as_str()), ("q_hai_long_chung", "4")];
                let r = client.post(format!("{base}/s/{slug}")).form(&form).send().await.unwrap();
                if r.status() == 303 {
                    sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before = sent.load(std::sync::atomic::Ordering::Relaxed);
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    let out = cli(&app.db_url(), &["backup", "--out", copy.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in senders {
        s.await.unwrap();
    }
    // The copy holds comments: its owner's only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
    }
    // Refused, each saying what to do: a file that exists is not overwritten; a folder that does
    // not exist; standard output (a backup is a file).
    let missing = dir.path().join("no-such-folder").join("x.db");
    for (out, said) in [
        (copy.to_str().unwrap(), "exists already"),
        (missing.to_str().unwrap(), "does not exist: make it first"),
        ("-", "a backup is a database file"),
    ] {
        let again = cli(&app.db_url(), &["backup", "--out", out], &[]);
        let err = String::from_utf8_lossy(&again.stderr).into_owned();
        assert!(!again.status.success() && err.contains(said), "{out}: {err}");
    }
    assert!(!std::path::Path::new("-").exists());

    // Checked where it lies, the copy is not changed by the check: the same bytes, nothing
    // beside it (no write-ahead log: it is opened read-only, in its own journal mode).
    let bytes = std::fs::read(&copy).unwrap();
    let key = hailong::store::sqlite_file(&app.db_url()).unwrap().with_file_name("hailong-signing.key");
    let copy_url = format!("sqlite://{}", copy.display());
    let out = cli(&copy_url, &["verify"], &[("HAILONG_SIGNING_KEY_FILE", key.to_str().unwrap())]);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read(&copy).unwrap() == bytes, "verify changed the copy");
    let beside: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
    assert!(!beside.iter().any(|n| n.ends_with("-wal") || n.ends_with("-shm")), "{beside:?}");

    // Restored elsewhere, the copy verifies, and holds at least what was acknowledged before it.
    let restored = dir.path().join("restored.db");
    std::fs::copy(&copy, &restored).unwrap();
    let url = format!("sqlite://{}", restored.display());
    let out = cli(&url, &["verify"], &[("HAILONG_SIGNING_KEY_FILE", key.to_str().unwrap())]);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let store = hailong::store::Store::open_existing(&url, 1, None, hailong::store::COMMAND_WAIT).await.unwrap();
    let kept = store.response_count().await.unwrap();
    assert!(kept as usize >= before && before > 0, "{kept} kept, {before} acknowledged before the backup");
    store.close().await;

    // A copy an older version made is not migrated by the check: it says what to do.
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
    let out = cli(&url, &["verify"], &[("HAILONG_SIGNING_KEY_FILE", key.to_str().unwrap())]);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success() && said.contains("older than this build's"), "{said}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signing_key_is_made_once_on_purpose_and_its_public_half_checks_checkpoints() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let url = app.db_url();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("hailong-signing.key");
    let with_key = [("HAILONG_SIGNING_KEY_FILE", key.to_str().unwrap())];
    let said = |out: &std::process::Output| {
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    };
    let checkpoint = dir.path().join("checkpoint.json");
    let checkpoint = checkpoint.to_str().unwrap();
    if hailong::store::sqlite_file(&url).is_none() {
        // PostgreSQL: instances share one key, so no command makes one where it looks.
        for args in [&["checkpoint", "--out", checkpoint][..], &["keys", "public"]] {
            let out = cli(&url, args, &with_key);
            assert!(!out.status.success() && said(&out).contains("hailong keys create"), "{args:?}: {}", said(&out));
            assert!(!key.exists());
        }
    }
    let out = cli(&url, &["keys", "create"], &with_key);
    assert!(out.status.success(), "{}", said(&out));
    let public = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let again = cli(&url, &["keys", "create"], &with_key);
    assert!(!again.status.success() && said(&again).contains("exists already"), "{}", said(&again));
    let out = cli(&url, &["checkpoint", "--out", checkpoint], &with_key);
    assert!(out.status.success(), "{}", said(&out));
    let again = cli(&url, &["checkpoint", "--out", checkpoint], &with_key);
    assert!(!again.status.success() && said(&again).contains("exists already"), "{}", said(&again));

    // Home Affairs checks with the public half only (here, where the signing key is not).
    let elsewhere = [("HAILONG_SIGNING_KEY_FILE", "/nonexistent/hailong-signing.key")];
    let out = cli(&url, &["verify", "--checkpoint", checkpoint, "--public-key", &public], &elsewhere);
    assert!(out.status.success() && said(&out).contains("the database extends it"), "{}", said(&out));
    let kept = dir.path().join("public.txt");
    std::fs::write(&kept, format!("{public}\n")).unwrap();
    let out = cli(&url, &["verify", "--checkpoint", checkpoint, "--public-key", kept.to_str().unwrap()], &elsewhere);
    assert!(out.status.success(), "{}", said(&out));
    // Another key's public half, or halves that do not belong together, are refused.
    let other = hailong::domain::chain::Key::generate().public();
    let out = cli(&url, &["verify", "--checkpoint", checkpoint, "--public-key", &other.to_text()], &elsewhere);
    assert!(!out.status.success() && said(&out).contains("signed with key"), "{}", said(&out));
    let mixed = format!("{} {}", public.split_whitespace().next().unwrap(), other.to_text());
    let out = cli(&url, &["verify", "--checkpoint", checkpoint, "--public-key", &mixed], &elsewhere);
    assert!(!out.status.success() && said(&out).contains("do not belong together"), "{}", said(&out));
    app.stop().await;
}
