//! The store's contract, the same on SQLite and PostgreSQL.

use hailong::domain::clock;
use hailong::domain::questionnaire::{Questionnaire, SHIPPED};
use hailong::domain::response::{Channel, IdempotencyKey, NewResponse};
use hailong::store::{CountBy, Store, WriteOutcome};
use time::macros::datetime;

use crate::helpers::{TestApp, TestDb};

fn response(point_id: i64, at_ms: i64, overall: i64) -> NewResponse {
    NewResponse {
        point_id,
        questionnaire_id: "mot-cua".into(),
        questionnaire_version: 1,
        // Its own answer only: these tests count what the store keeps of it.
        answers: vec![("hai_long_chung".into(), overall)],
        field: None,
        comment: None,
        channel: Channel::Qr,
        submitted_at_ms: at_ms,
        key: IdempotencyKey::generate_at(at_ms),
        receipt: None,
        device: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_and_questionnaires_load_once() {
    let db = TestDb::new().await;
    let store = Store::open(&db.url, 2).await.unwrap();
    let again = Store::open(&db.url, 2).await.unwrap();
    let shipped: Vec<Questionnaire> = SHIPPED.iter().map(|t| Questionnaire::from_toml(t).unwrap()).collect();
    assert_eq!(store.sync_questionnaires(&shipped).await.unwrap().len(), 3, "mot-cua 1 and 2, sipas-2017 1");
    assert_eq!(again.sync_questionnaires(&shipped).await.unwrap().len(), 3, "loading twice adds nothing");

    // Changed wording without a new version is refused; a new version sits beside the old.
    let mut changed = shipped[0].clone();
    changed.title_vi.push_str(" (sửa)");
    let refused = store.sync_questionnaires(std::slice::from_ref(&changed)).await.unwrap_err();
    assert!(refused.to_string().contains("new version"), "{refused}");
    changed.version = 3;
    let all = store.sync_questionnaires(&[changed]).await.unwrap();
    assert_eq!(all.iter().filter(|q| q.id == "mot-cua").map(|q| q.version).collect::<Vec<_>>(), vec![1, 2, 3]);
    store.close().await;
    again.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_the_same_organisation_twice_changes_nothing() {
    let app = TestApp::spawn().await;
    let first = app.store.import_org(&hailong::demo::organisation(), "mot-cua", "test", &|_| {}).await.unwrap();
    assert_eq!(first.units.0, 14);
    assert_eq!(first.officers.0, 25);
    assert!(first.points_created > 0);
    let points = app.store.active_points().await.unwrap();
    let second = app.store.import_org(&hailong::demo::organisation(), "mot-cua", "test", &|_| {}).await.unwrap();
    assert!(second.changed_nothing(), "{second:?}");
    assert_eq!(app.store.active_points().await.unwrap(), points);

    // Every unit with a desk, every desk and every officer at a desk has exactly one point.
    let units = points.iter().filter(|p| p.desk_code.is_none() && p.officer_code.is_none()).count();
    let desks = points.iter().filter(|p| p.desk_code.is_some() && p.officer_code.is_none()).count();
    let officers = points.iter().filter(|p| p.officer_code.is_some()).count();
    assert_eq!((units, desks, officers), (4, 10, 25));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rating_belongs_to_the_officer_and_unit_of_its_moment() {
    let app = TestApp::spawn().await;
    let points = app.seed().await;
    // CB012 worked at the provincial centre until 31 March 2026, then at An Phú.
    let point = points.iter().find(|p| p.officer_code.as_deref() == Some("CB012")).unwrap();
    let before = datetime!(2026-03-31 16:59 UTC).unix_timestamp() * 1000; // 23:59 in Hanoi
    let after = datetime!(2026-03-31 17:01 UTC).unix_timestamp() * 1000; // 00:01 on 1 April
    let outcomes =
        app.store.commit_group(&[response(point.id, before, 5), response(point.id, after, 2)]).await.unwrap();
    assert!(matches!(outcomes[..], [WriteOutcome::Stored(_), WriteOutcome::Stored(_)]));

    let by_unit = app.store.answer_counts(CountBy::Unit, 20260301, 20260430).await.unwrap();
    let rows: Vec<_> = by_unit.iter().map(|c| (c.target_code.as_str(), c.local_day, c.value)).collect();
    assert_eq!(rows, vec![("HL.AN-PHU.TT", 20260401, 2), ("HL.TTPVHCC", 20260331, 5)]);
    let by_desk = app.store.answer_counts(CountBy::Desk, 20260301, 20260430).await.unwrap();
    let desks: Vec<_> = by_desk.iter().map(|c| c.target_code.as_str()).collect();
    assert_eq!(desks, vec!["HL.AP.Q1", "HL.TT.Q04"]);
    let by_officer = app.store.answer_counts(CountBy::Officer, 20260301, 20260430).await.unwrap();
    assert!(by_officer.iter().all(|c| c.target_code == "CB012"));
    assert_eq!(by_officer.iter().map(|c| c.count).sum::<i64>(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_keeps_one_response_per_key_and_none_for_closed_points() {
    let app = TestApp::spawn().await;
    let points = app.seed().await;
    let point = &points[0];
    let now = app.now_ms();
    let first = response(point.id, now, 4);
    let mut repeat = response(point.id, now, 1);
    repeat.key = first.key.clone();
    let outcomes = app.store.commit_group(&[first.clone(), repeat.clone()]).await.unwrap();
    let WriteOutcome::Stored(id) = outcomes[0] else { panic!("{outcomes:?}") };
    assert_eq!(outcomes[1], WriteOutcome::Duplicate(id));
    assert_eq!(app.store.commit_group(&[repeat]).await.unwrap(), vec![WriteOutcome::Duplicate(id)]);

    assert!(app.store.revoke_point(&point.slug, "test").await.unwrap());
    assert!(!app.store.revoke_point(&point.slug, "test").await.unwrap(), "already revoked");
    let closed = app.store.commit_group(&[response(point.id, now, 5)]).await.unwrap();
    assert_eq!(closed, vec![WriteOutcome::PointClosed]);
    assert_eq!(app.responses().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reissued_point_replaces_the_old_one() {
    let app = TestApp::spawn().await;
    let points = app.seed().await;
    let old = points.iter().find(|p| p.desk_code.is_some() && p.officer_code.is_none()).unwrap();
    let fresh = app.store.reissue_point(&old.slug, "test").await.unwrap().unwrap();
    assert_ne!(fresh, old.slug);
    let now = app.store.active_points().await.unwrap();
    assert!(now.iter().all(|p| p.slug != old.slug));
    let new = now.iter().find(|p| p.slug == fresh).unwrap();
    assert_eq!((&new.desk_code, &new.label), (&old.desk_code, &old.label));
    assert_eq!(app.store.reissue_point(&old.slug, "test").await.unwrap(), None, "a revoked point cannot be reissued");
    assert!(app.store.point_context(&old.slug).await.unwrap().unwrap().closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_comments_are_erased_and_ratings_kept() {
    let app = TestApp::spawn().await;
    let points = app.seed().await;
    let mut old = response(points[0].id, datetime!(2025-08-01 03:00 UTC).unix_timestamp() * 1000, 5);
    old.comment = hailong::domain::answer::Comment::parse("cũ").unwrap();
    let mut new = response(points[0].id, app.now_ms(), 4);
    new.comment = hailong::domain::answer::Comment::parse("mới").unwrap();
    let stored = app.store.commit_group(&[old, new]).await.unwrap();
    assert!(stored.iter().all(|o| matches!(o, WriteOutcome::Stored(_))), "{stored:?}");
    assert_eq!(app.store.purge_comments(app.now_ms() - 86_400_000).await.unwrap(), 1);
    assert_eq!(app.store.comments(10).await.unwrap(), vec!["mới".to_owned()]);
    assert_eq!(app.responses().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_point_is_not_brought_back_by_the_next_import() {
    let app = TestApp::spawn().await;
    let points = app.seed().await;
    let revoked = points.iter().find(|p| p.officer_code.is_some()).unwrap();
    assert!(app.store.revoke_point(&revoked.slug, "test").await.unwrap());
    let again = app.store.import_org(&hailong::demo::organisation(), "mot-cua", "test", &|_| {}).await.unwrap();
    assert_eq!(again.points_created, 0);
    let now = app.store.active_points().await.unwrap();
    assert!(now.iter().all(|p| p.officer_code != revoked.officer_code), "the officer has no active point");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn points_follow_their_desk_and_officer_and_close_with_them() {
    use hailong::domain::org::{Code, Name, NewAssignment, NewDesk, Validity};
    let app = TestApp::spawn().await;
    let points = app.seed().await;
    let desk_point = points.iter().find(|p| p.desk_code.as_deref() == Some("HL.BM.Q2") && p.officer_code.is_none());
    let desk_point = desk_point.unwrap().clone();
    let officer_point = points.iter().find(|p| p.officer_code.as_deref() == Some("CB022")).unwrap().clone();
    let today = app.today();
    let code = |c: &str| Code::parse(c).unwrap();

    // The desk moves to another unit; the officer's assignment ends yesterday.
    let mut batch = hailong::store::OrgBatch::default();
    batch.desks.push(NewDesk {
        code: code("HL.BM.Q2"),
        name: Name::parse("Quầy 2").unwrap(),
        unit: code("HL.TAN-LOC.TT"),
    });
    batch.assignments.push(NewAssignment {
        officer: code("CB022"),
        full_name: Name::parse("Huỳnh Văn Sơn").unwrap(),
        unit: code("HL.BINH-MINH.TT"),
        desk: Some(code("HL.BM.Q1")),
        validity: Validity::new(time::macros::date!(2025 - 07 - 01), Some(today.previous_day().unwrap())).unwrap(),
    });
    app.store.import_org(&batch, "mot-cua", "test", &|_| {}).await.unwrap();

    let now = app.now_ms();
    let outcomes =
        app.store.commit_group(&[response(desk_point.id, now, 5), response(officer_point.id, now, 5)]).await.unwrap();
    assert!(matches!(outcomes[0], WriteOutcome::Stored(_)));
    assert_eq!(outcomes[1], WriteOutcome::PointClosed, "an officer with no assignment today takes no ratings");
    let today_bucket = clock::day_bucket(now);
    let by_unit = app.store.answer_counts(CountBy::Unit, today_bucket, today_bucket).await.unwrap();
    assert_eq!(by_unit.iter().map(|c| c.target_code.as_str()).collect::<Vec<_>>(), vec!["HL.TAN-LOC.TT"]);
    assert!(app.store.point_context(&officer_point.slug).await.unwrap().unwrap().closed);
    let listed = app.store.active_points().await.unwrap();
    assert!(listed.iter().all(|p| p.slug != officer_point.slug), "a closed point is not listed");
    let moved = listed.iter().find(|p| p.slug == desk_point.slug).unwrap();
    assert_eq!(moved.unit_code, "HL.TAN-LOC.TT", "lists and posters show the desk's unit now");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kept_counts_are_the_history_recounted() {
    let app = TestApp::spawn().await;
    let questionnaires = hailong::startup::load_questionnaires(&app.store).await.unwrap();
    hailong::demo::seed(&app.store, &questionnaires, 1500, 7, |_| {}).await.unwrap();
    // And some through the web form, with a repeat that must not count twice.
    let point = app.store.active_points().await.unwrap().into_iter().find(|p| p.officer_code.is_some()).unwrap();
    let key = app.form_key(point.slug.as_str()).await;
    for _ in 0..2 {
        let form = [("key", key.as_str()), ("q_hai_long_chung", "4"), ("q_ct1_thoi_gian", "1"), ("field", "HT")];
        assert_eq!(app.post(point.slug.as_str(), &form).await.status(), 303);
    }
    for by in [CountBy::Unit, CountBy::Desk, CountBy::Officer] {
        let kept = app.store.answer_counts(by, 0, 99_999_999).await.unwrap();
        let recounted = app.store.recount_answers(by, 0, 99_999_999).await.unwrap();
        assert!(!kept.is_empty());
        assert_eq!(kept, recounted, "{by:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn month_sums_and_day_counts_read_as_the_history_recounted() {
    use hailong::store::Grain;
    use time::macros::date;
    let app = TestApp::spawn().await;
    let questionnaires = hailong::startup::load_questionnaires(&app.store).await.unwrap();
    hailong::demo::seed(&app.store, &questionnaires, 1200, 11, |_| {}).await.unwrap();
    let (first, last) = app.store.counted_days().await.unwrap().unwrap();
    let periods = [(first, last), (date!(2026 - 01 - 15), date!(2026 - 03 - 10)), (last, last)];
    let check = |label: &'static str| {
        let store = app.store.clone();
        async move {
            for grain in Grain::ALL {
                for (from, to) in periods {
                    let kept = store.grain_counts(grain, from, to).await.unwrap();
                    let recounted = store.recount_grain(grain, from, to).await.unwrap();
                    assert_eq!(kept, recounted, "{label}: {grain:?} {from}..{to}");
                }
            }
        }
    };
    check("before any fold").await;

    let yesterday = last.previous_day().unwrap();
    let folded = app.store.fold_counts(yesterday).await.unwrap();
    assert!(folded.rebuilt >= 12, "{folded:?}");
    check("folded").await;
    assert_eq!(app.store.fold_counts(yesterday).await.unwrap(), Default::default(), "nothing left to fold");

    // A rating committed into a folded day (a commit just after midnight) sends its month back.
    let point = app.store.active_points().await.unwrap().into_iter().find(|p| p.officer_code.is_some()).unwrap();
    let late = (first.midnight().assume_offset(time::macros::offset!(+7)).unix_timestamp() + 9 * 3600) * 1000;
    let outcome = app.store.commit_group(&[response(point.id, late, 1)]).await.unwrap();
    assert!(matches!(outcome[..], [WriteOutcome::Stored(_)]));
    check("written into a folded month").await;
    let refolded = app.store.fold_counts(yesterday).await.unwrap();
    assert_eq!((refolded.rebuilt, refolded.extended), (1, 0));
    check("folded anew").await;
}

/// Runs statements straight on the database, as an older version of the service left it.
/// Runs one statement with a connection of its own, as another tool would, and says whether the
/// database took it.
async fn try_sql(url: &str, sql: &str) -> Result<u64, String> {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let done = sqlx::query(sql).execute(&pool).await.map(|r| r.rows_affected()).map_err(|e| e.to_string());
        pool.close().await;
        done
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let done = sqlx::query(sql).execute(&pool).await.map(|r| r.rows_affected()).map_err(|e| e.to_string());
        pool.close().await;
        done
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_and_answers_are_append_only_but_a_comment_may_be_erased() {
    let app = TestApp::spawn().await;
    let point = app.officer_point().await;
    let now = app.now_ms();
    let mut commented = response(point.id, now - 1000, 5);
    commented.comment = hailong::domain::answer::Comment::parse("Cán bộ nhiệt tình").unwrap();
    commented.answers.push(("ct7_thai_do".into(), 2));
    let outcomes = app.store.commit_group(&[commented, response(point.id, now - 500, 2)]).await.unwrap();
    assert!(outcomes.iter().all(|o| matches!(o, WriteOutcome::Stored(_))), "{outcomes:?}");
    let url = app.db_url();
    let mut attempts = vec![
        "UPDATE responses SET channel = 'demo'",
        "UPDATE responses SET comment = 'sửa lời góp ý' WHERE comment IS NOT NULL",
        "UPDATE responses SET comment = NULL, officer_id = NULL WHERE comment IS NOT NULL",
        "UPDATE responses SET local_day = local_day + 1",
        "DELETE FROM responses",
        "UPDATE answers SET value = 1",
        "DELETE FROM answers",
    ];
    if url.starts_with("sqlite:") {
        attempts.extend([
            "INSERT OR REPLACE INTO responses SELECT * FROM responses LIMIT 1",
            "REPLACE INTO answers (response_id, question_id, value) SELECT response_id, question_id, 1 FROM answers LIMIT 1",
        ]);
    } else {
        attempts.extend(["TRUNCATE answers", "TRUNCATE responses CASCADE"]);
    }
    for sql in attempts {
        let result = try_sql(&url, sql).await;
        assert!(result.is_err(), "{sql} was taken: {result:?}");
        assert!(result.unwrap_err().contains("append-only"), "{sql}: refused by the guard");
    }
    assert_eq!(app.responses().await, 2, "nothing changed");
    // The retention purge is the one exception: it erases the comment, and only that.
    assert_eq!(app.store.purge_comments(now + 1).await.unwrap(), 1);
    assert_eq!(app.responses().await, 2);
    let counts = app.store.answer_counts(CountBy::Unit, 0, 99_999_999).await.unwrap();
    assert!(counts.iter().any(|c| c.question_id == "ct7_thai_do"), "answers kept");
}

pub(crate) async fn raw_sql(url: &str, statements: &[&str]) {
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        for sql in statements {
            sqlx::query(sqlx::AssertSqlSafe(*sql)).execute(&pool).await.unwrap();
        }
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        for sql in statements {
            sqlx::query(sqlx::AssertSqlSafe(*sql)).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_stored_before_derived_answers_were_kept_get_them_once() {
    use std::collections::BTreeMap;

    use hailong::app::reports::build;
    use hailong::domain::account::Scope;
    use hailong::domain::period::Period;
    use hailong::domain::report::Level;
    use hailong::domain::report::Query;
    use hailong::store::Grain;

    let app = TestApp::spawn().await;
    let registry = hailong::startup::load_questionnaires(&app.store).await.unwrap();
    hailong::demo::seed(&app.store, &registry, 1500, 7, |_| {}).await.unwrap();
    let (first, last) = app.store.counted_days().await.unwrap().unwrap();
    app.store.fold_counts(last.previous_day().unwrap()).await.unwrap();
    let settings = hailong::config::Settings::default();
    let period = Period::parse(&format!("{}..{}", clock::iso(first), clock::iso(last))).unwrap();
    let query = Query {
        period,
        level: Level::Unit,
        unit: None,
        questionnaire: "sipas-2017".into(),
        channel: None,
        without_flagged: false,
    };
    let alpha = || async {
        let report = build(&app.store, &registry, &settings, &query, &Scope::All).await.unwrap();
        report.rows.into_iter().map(|r| (r.target.code, r.figures.alpha)).collect::<BTreeMap<_, _>>()
    };
    let kept = alpha().await;
    assert!(kept.values().filter(|a| !a.is_empty()).count() >= 3, "{kept:?}");
    let effective_n = || async {
        let report = build(&app.store, &registry, &settings, &query, &Scope::All).await.unwrap();
        report.rows.into_iter().map(|r| (r.target.code, r.figures.overall_n)).collect::<BTreeMap<_, _>>()
    };
    let kept_n = effective_n().await;

    // A database written before the writer kept derived answers: none of them, nor their
    // counts, nor the record of this repair (which this app's start-up wrote on an empty one).
    let derived = "(question_id >= 'alpha.' AND question_id < 'alpha/') \
                   OR (question_id >= 'composite.' AND question_id < 'composite/')";
    // Answers are append-only: an old database is made by lifting the guard first, as only
    // someone with the owner's rights could.
    let lift = if app.db_url().starts_with("sqlite:") {
        "DROP TRIGGER answers_no_delete"
    } else {
        "ALTER TABLE answers DISABLE TRIGGER answers_no_change"
    };
    raw_sql(
        &app.db_url(),
        &[
            lift,
            &format!("DELETE FROM answers WHERE {derived}"),
            &format!("DELETE FROM answer_counts WHERE {derived}"),
            &format!("DELETE FROM count_months WHERE {derived}"),
            "DELETE FROM data_fixes",
        ],
    )
    .await;
    assert!(alpha().await.values().all(BTreeMap::is_empty));
    assert_ne!(effective_n().await, kept_n, "without the responses' own scores, the answers' effective n");

    let completed = app.store.derive_missing_answers(&registry).await.unwrap();
    assert!(completed.is_some_and(|n| n > 0), "{completed:?}");
    let repaired = alpha().await;
    assert_eq!(repaired.keys().collect::<Vec<_>>(), kept.keys().collect::<Vec<_>>());
    for (code, elements) in &kept {
        for (element, (a, n)) in elements {
            let (b, m) = repaired[code][element];
            assert!((a - b).abs() < 1e-9 && *n == m, "{code} {element}: {a} ({n}) kept, {b} ({m}) repaired");
        }
        assert_eq!(elements.len(), repaired[code].len(), "{code}");
    }
    let repaired_n = effective_n().await;
    for (code, n) in &kept_n {
        assert!((n - repaired_n[code]).abs() < 1e-9, "{code}: effective n {n} kept, {} repaired", repaired_n[code]);
    }
    for grain in Grain::ALL {
        let kept = app.store.grain_counts(grain, first, last).await.unwrap();
        assert_eq!(kept, app.store.recount_grain(grain, first, last).await.unwrap(), "{grain:?}");
    }
    assert_eq!(app.store.derive_missing_answers(&registry).await.unwrap(), None, "done once per database");
}

/// Records a migration this build does not know, as a newer version of hailong would.
async fn migrate_as_a_newer_version(url: &str) {
    use sqlx::Connection;
    let sql = "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
               VALUES (999, 'a newer version', TRUE, $1, 0)";
    if hailong::store::sqlite_file(url).is_some() {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query(sql).bind(vec![0u8; 48]).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sql).bind(vec![0u8; 48]).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_writes_nothing_once_a_newer_version_has_migrated_the_database() {
    // A rolling upgrade: the new version migrates the database while an old one still serves.
    let app = TestApp::spawn().await;
    let point = app.officer_point().await;
    let slug = point.slug.as_str();
    let key = app.form_key(slug).await;
    assert_eq!(app.post(slug, &[("key", &key), ("q_hai_long_chung", "4")]).await.status(), 303);
    assert_eq!(app.get("/readyz").await.status(), 200);

    let key = app.form_key(slug).await;
    let refused = if hailong::store::sqlite_file(&app.db_url()).is_some() {
        migrate_as_a_newer_version(&app.db_url()).await;
        app.post(slug, &[("key", &key), ("q_hai_long_chung", "5")]).await
    } else {
        // PostgreSQL: the newer version migrates under the schema lock; a send that arrives
        // meanwhile waits for it, then finds the schema newer (it is not written into it).
        use sqlx::Connection;
        let mut migrating = sqlx::PgConnection::connect(&app.db_url()).await.unwrap();
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(hailong::store::SCHEMA_LOCK)
            .execute(&mut migrating)
            .await
            .unwrap();
        let form = [("key", key.as_str()), ("q_hai_long_chung", "5")];
        let send = app.post(slug, &form);
        let wait = async {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            migrate_as_a_newer_version(&app.db_url()).await;
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(hailong::store::SCHEMA_LOCK)
                .execute(&mut migrating)
                .await
                .unwrap();
            std::time::Instant::now()
        };
        let started = std::time::Instant::now();
        let (refused, unlocked) = tokio::join!(send, wait);
        assert!(unlocked.duration_since(started) >= std::time::Duration::from_millis(500));
        refused
    };
    assert_eq!(refused.status(), 503, "send again, to an instance of the newer version");
    assert!(refused.text().await.unwrap().contains("chưa lưu được"));
    assert_eq!(app.get("/readyz").await.status(), 503, "out of the proxy's rotation");
    assert_eq!(app.responses().await, 1, "nothing written into the newer schema");

    // Started on it, this build says why it cannot, in words an operator can act on.
    let err = Store::open(&app.db_url(), 1).await.expect_err("refused").to_string();
    assert!(err.contains("version 999") && err.contains("newer"), "{err}");
    let out = crate::helpers::cli(&app.db_url(), &["verify"], &[]);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success() && said.contains("newer version"), "{said}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_kind_of_write_goes_into_a_schema_a_newer_version_has_migrated() {
    use hailong::domain::account::Role;
    use hailong::domain::audit::AuditFilter;
    use hailong::domain::org::{Code, Name};
    use hailong::store::{ServedEntry, StoreError};
    let app = TestApp::spawn().await;
    let point = app.officer_point().await;
    let (unit, officer) = (point.unit_code.clone(), point.officer_code.clone().unwrap());
    let integration = app.staff("motcua", Role::Integration, Some(&unit)).await;
    let audited =
        || async { app.store.audit_entries(&AuditFilter { limit: 10_000, ..Default::default() }).await.unwrap().len() };
    let before = audited().await;
    migrate_as_a_newer_version(&app.db_url()).await;

    let newer = |what: &str, refused: Result<(), StoreError>| {
        assert!(matches!(refused, Err(StoreError::Newer { applied: 999, .. })), "{what}: {refused:?}");
    };
    let code = Code::parse("HL.NEWER.Q1").unwrap();
    let name = Name::parse("Quầy mới").unwrap();
    newer("a desk", app.store.add_desk(&code, &name, &Code::parse(&unit).unwrap(), "test").await);
    newer("an account", app.store.create_user("nguoi.moi", Role::Viewer, None, None, "test").await.map(|_| ()));
    newer(
        "an import",
        app.store.import_org(&hailong::demo::organisation(), "mot-cua", "test", &|_| {}).await.map(|_| ()),
    );
    let served = ServedEntry { day: app.today(), unit: unit.clone(), officer: officer.clone(), dossiers: 3 };
    newer("a served report", app.store.record_served(&[served], "test").await.map(|_| ()));
    // Through the API, as the one-stop software reports: "try again", to a newer instance.
    let body = serde_json::json!([{ "date": clock::iso(app.today()), "unit_code": unit, "officer_code": officer, "dossiers": 3 }]);
    let answer = app
        .client
        .post(format!("{}/api/v1/served", app.base))
        .bearer_auth(&integration.key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 503, "{}", answer.text().await.unwrap());
    assert_eq!(audited().await, before, "nothing written, not even an audit entry");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_server_that_requires_tls_is_reached_over_tls() {
    let db = TestDb::new().await;
    if hailong::store::sqlite_file(&db.url).is_some() {
        return; // SQLite is a file: nothing travels. The PostgreSQL run of the suite checks this.
    }
    // The test server must offer TLS for this test to mean anything (Debian's does).
    use sqlx::Connection;
    let mut plain = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let offered: String = sqlx::query_scalar("SHOW ssl").fetch_one(&mut plain).await.unwrap();
    plain.close().await.unwrap();
    assert_eq!(offered, "on", "the PostgreSQL server of the tests offers TLS (ssl = on)");
    // A managed PostgreSQL asks for TLS: `sslmode=require` in the URL (whatever else it says).
    let (base, params) = db.url.split_once('?').unwrap_or((db.url.as_str(), ""));
    let mut params: Vec<&str> = params.split('&').filter(|p| !p.is_empty() && !p.starts_with("sslmode=")).collect();
    params.push("sslmode=require");
    let url = format!("{base}?{}", params.join("&"));
    let store = Store::open(&url, 1).await.expect("connects over TLS");
    assert_eq!(store.backend_name(), "postgres");
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let tls: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(tls, "the connection is encrypted");
    conn.close().await.unwrap();
    store.close().await;
}
