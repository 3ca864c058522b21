//! The writer under faults that need no root: a database that is full, a file deleted behind
//! the server's back, a lock held past the citizen's deadline. The fault tests proper (kill -9,
//! a real full disk, PostgreSQL connections cut) are in `tests/faults.rs`.

use std::time::{Duration, Instant};

use crate::helpers::{TestApp, texts};

/// A raw connection to the test's SQLite file, beside the server's own.
async fn beside(app: &TestApp) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&app.db_url()).await.unwrap()
}

fn answers(key: &str) -> Vec<(&'static str, String)> {
    vec![("key", key.to_owned()), ("q_hai_long_chung", "4".to_owned()), ("comment", "Giữ nguyên".to_owned())]
}

async fn send(app: &TestApp, slug: &str, key: &str) -> (u16, String) {
    let response = app.client.post(format!("{}/s/{slug}", app.base)).form(&answers(key)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The keys stored, read through a connection of the test's own (what a restart would find).
async fn stored_keys(app: &TestApp) -> Vec<String> {
    let pool = beside(app).await;
    let keys = sqlx::query_scalar("SELECT idempotency_key FROM responses").fetch_all(&pool).await.unwrap();
    pool.close().await;
    keys
}

#[tokio::test]
async fn a_full_database_refuses_with_the_answers_kept_and_resumes_when_space_returns() {
    const CAP: u32 = 1200;
    let app = TestApp::spawn_with(|s| {
        s.sqlite_max_pages = Some(CAP);
        s.submit_limit_per_minute = 0;
    })
    .await;
    if !app.db_url().starts_with("sqlite:") {
        return; // PostgreSQL has no page cap: tests/faults.rs fails its commits instead.
    }
    let point = app.officer_point().await;
    let slug = point.slug.as_str();
    assert_eq!(app.get("/readyz").await.status(), 200);

    // Ballast, written beside the server (without its cap), fills the file to its cap.
    let pool = beside(&app).await;
    sqlx::query("CREATE TABLE ballast (b BLOB)").execute(&pool).await.unwrap();
    loop {
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(&pool).await.unwrap();
        if pages >= i64::from(CAP) - 1 {
            break;
        }
        sqlx::query("INSERT INTO ballast VALUES (zeroblob(3000))").execute(&pool).await.unwrap();
    }

    let mut acknowledged = Vec::new();
    let mut refused = None;
    for _ in 0..400 {
        let key = app.form_key(slug).await;
        match send(&app, slug, &key).await {
            (303, _) => acknowledged.push(key),
            (503, html) => {
                assert_eq!(texts(&html, "textarea[name=comment]"), vec!["Giữ nguyên"], "answers kept");
                refused = Some(key);
                break;
            }
            (status, html) => panic!("{status}: {html}"),
        }
    }
    let refused = refused.expect("the database filled up");
    // Still full: every send is refused, none acknowledged, and the service is not ready.
    for _ in 1000..1010 {
        assert_eq!(send(&app, slug, &app.form_key(slug).await).await.0, 503);
    }
    assert_eq!(app.get("/readyz").await.status(), 503);
    assert_eq!(app.get("/healthz").await.status(), 200);
    let mut stored = stored_keys(&app).await;
    stored.sort();
    acknowledged.sort();
    assert_eq!(stored, acknowledged, "exactly the acknowledged ratings are on disk");

    // Space comes back: the refused citizen sends again and is thanked; nothing was lost.
    sqlx::query("DELETE FROM ballast").execute(&pool).await.unwrap();
    pool.close().await;
    assert_eq!(app.get("/readyz").await.status(), 200, "ready again by itself");
    assert_eq!(send(&app, slug, &refused).await.0, 303);
    assert_eq!(send(&app, slug, &refused).await.0, 303, "sent twice, stored once");
    acknowledged.push(refused);
    for _ in 2000..2020 {
        let key = app.form_key(slug).await;
        assert_eq!(send(&app, slug, &key).await.0, 303);
        acknowledged.push(key);
    }
    let mut stored = stored_keys(&app).await;
    stored.sort();
    acknowledged.sort();
    assert_eq!(stored, acknowledged);
    let by = hailong::store::CountBy::Officer;
    let counts = app.store.answer_counts(by, 0, 99_999_999).await.unwrap();
    assert_eq!(counts, app.store.recount_answers(by, 0, 99_999_999).await.unwrap(), "the counts agree");
}

#[tokio::test]
async fn a_database_file_deleted_under_the_server_is_not_written_into() {
    let app = TestApp::spawn_with(|s| s.submit_limit_per_minute = 0).await;
    if !app.db_url().starts_with("sqlite:") {
        return;
    }
    let point = app.officer_point().await;
    let slug = point.slug.as_str();
    assert_eq!(send(&app, slug, &app.form_key(slug).await).await.0, 303);

    let path = app.db_url().trim_start_matches("sqlite://").to_owned();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
    for _ in 2..6 {
        let (status, html) = send(&app, slug, &app.form_key(slug).await).await;
        assert_eq!(status, 503, "nothing is acknowledged into a deleted file");
        assert_eq!(texts(&html, "textarea[name=comment]"), vec!["Giữ nguyên"]);
    }
    assert_eq!(app.get("/readyz").await.status(), 503);
    assert_eq!(app.get("/healthz").await.status(), 200);

    // Another file put in its place is not the one the server opened either.
    std::fs::write(&path, b"").unwrap();
    assert_eq!(send(&app, slug, &app.form_key(slug).await).await.0, 503);
    assert_eq!(app.get("/readyz").await.status(), 503);
}

#[tokio::test]
async fn a_send_that_outlasts_its_deadline_gets_the_form_back_and_is_stored_once() {
    let app = TestApp::spawn_with(|s| {
        s.submit_timeout_secs = 1;
        s.submit_limit_per_minute = 0;
    })
    .await;
    if !app.db_url().starts_with("sqlite:") {
        return;
    }
    let point = app.officer_point().await;
    let slug = point.slug.as_str();
    let key = app.form_key(slug).await;

    // Another process holds the write lock for longer than the deadline.
    let pool = beside(&app).await;
    let mut holder = pool.acquire().await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *holder).await.unwrap();
    let started = Instant::now();
    let (status, html) = send(&app, slug, &key).await;
    assert_eq!(status, 503);
    assert!(started.elapsed() < Duration::from_secs(4), "answered at the deadline, not at the lock's end");
    assert_eq!(texts(&html, "textarea[name=comment]"), vec!["Giữ nguyên"], "answers kept");
    assert_eq!(texts_attr(&html, "input[name=key]"), key, "the same key, to send again");
    sqlx::query("ROLLBACK").execute(&mut *holder).await.unwrap();
    drop(holder);
    pool.close().await;

    // Sent again (whether or not the first was committed after all): stored once.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(send(&app, slug, &key).await.0, 303);
    assert_eq!(app.responses().await, 1);
}

fn texts_attr(html: &str, selector: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel).next().and_then(|e| e.value().attr("value")).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_send_whose_point_cannot_be_read_in_time_gets_its_answers_back_as_sent() {
    let app = TestApp::spawn_with(|s| {
        s.submit_timeout_secs = 1;
        s.submit_limit_per_minute = 0;
    })
    .await;
    if app.db_url().starts_with("sqlite:") {
        return; // SQLite's readers are never blocked (WAL): PostgreSQL can hold a read off.
    }
    let point = app.officer_point().await; // seeded; not cached until a form is loaded
    let slug = point.slug.as_str();
    // A key the service issued, drawn from another instance (same signing key) so that this
    // one has not cached the point.
    let key = app.beside(|_| {}).await.form_key(slug).await;

    // Another session locks the points against reads for longer than the deadline.
    let pool = sqlx::PgPool::connect(&app.db_url()).await.unwrap();
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE collection_points IN ACCESS EXCLUSIVE MODE").execute(&mut *lock).await.unwrap();
    let started = Instant::now();
    let (status, html) = send(&app, slug, &key).await;
    assert_eq!(status, 503);
    assert!(started.elapsed() < Duration::from_secs(6), "answered at the deadline: {:?}", started.elapsed());
    // The answers come back as they were sent, with the same key, and one button to send them.
    assert_eq!(texts_attr(&html, "input[name=key]"), key);
    assert_eq!(texts_attr(&html, "input[name=comment]"), "Giữ nguyên");
    assert_eq!(texts_attr(&html, "input[name=q_hai_long_chung]"), "4");
    assert_eq!(texts(&html, "form button"), vec!["Gửi lại"]);
    lock.rollback().await.unwrap();
    pool.close().await;

    // Sent again as that page sends it: stored once.
    assert_eq!(send(&app, slug, &key).await.0, 303);
    assert_eq!(send(&app, slug, &key).await.0, 303);
    assert_eq!(app.responses().await, 1);
}
