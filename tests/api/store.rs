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
        answers: vec![("hai_long_chung".into(), overall)],
        field: None,
        comment: None,
        channel: Channel::Qr,
        submitted_at_ms: at_ms,
        key: IdempotencyKey::generate(),
    }
}

#[tokio::test]
async fn migrations_and_questionnaires_load_once() {
    let db = TestDb::new().await;
    let store = Store::open(&db.url, 2).await.unwrap();
    let again = Store::open(&db.url, 2).await.unwrap();
    let shipped: Vec<Questionnaire> = SHIPPED.iter().map(|t| Questionnaire::from_toml(t).unwrap()).collect();
    assert_eq!(store.sync_questionnaires(&shipped).await.unwrap().len(), 2);
    assert_eq!(again.sync_questionnaires(&shipped).await.unwrap().len(), 2, "loading twice adds nothing");

    // Changed wording without a new version is refused; a new version sits beside the old.
    let mut changed = shipped[0].clone();
    changed.title_vi.push_str(" (sửa)");
    let refused = store.sync_questionnaires(std::slice::from_ref(&changed)).await.unwrap_err();
    assert!(refused.to_string().contains("new version"), "{refused}");
    changed.version = 2;
    let all = store.sync_questionnaires(&[changed]).await.unwrap();
    assert_eq!(all.iter().filter(|q| q.id == "mot-cua").map(|q| q.version).collect::<Vec<_>>(), vec![1, 2]);
    store.close().await;
    again.close().await;
}

#[tokio::test]
async fn importing_the_same_organisation_twice_changes_nothing() {
    let app = TestApp::spawn().await;
    let first = app.store.import_org(&hailong::demo::organisation(), "mot-cua", &|_| {}).await.unwrap();
    assert_eq!(first.units.0, 14);
    assert_eq!(first.officers.0, 25);
    assert!(first.points_created > 0);
    let points = app.store.active_points().await.unwrap();
    let second = app.store.import_org(&hailong::demo::organisation(), "mot-cua", &|_| {}).await.unwrap();
    assert!(second.changed_nothing(), "{second:?}");
    assert_eq!(app.store.active_points().await.unwrap(), points);

    // Every unit with a desk, every desk and every officer at a desk has exactly one point.
    let units = points.iter().filter(|p| p.desk_code.is_none() && p.officer_code.is_none()).count();
    let desks = points.iter().filter(|p| p.desk_code.is_some() && p.officer_code.is_none()).count();
    let officers = points.iter().filter(|p| p.officer_code.is_some()).count();
    assert_eq!((units, desks, officers), (4, 10, 25));
}

#[tokio::test]
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

#[tokio::test]
async fn the_writer_keeps_one_response_per_key_and_none_for_closed_points() {
    let app = TestApp::spawn().await;
    let points = app.seed().await;
    let point = &points[0];
    let now = clock::now_ms();
    let first = response(point.id, now, 4);
    let mut repeat = response(point.id, now, 1);
    repeat.key = first.key.clone();
    let outcomes = app.store.commit_group(&[first.clone(), repeat.clone()]).await.unwrap();
    let WriteOutcome::Stored(id) = outcomes[0] else { panic!("{outcomes:?}") };
    assert_eq!(outcomes[1], WriteOutcome::Duplicate(id));
    assert_eq!(app.store.commit_group(&[repeat]).await.unwrap(), vec![WriteOutcome::Duplicate(id)]);

    assert!(app.store.revoke_point(&point.slug).await.unwrap());
    assert!(!app.store.revoke_point(&point.slug).await.unwrap(), "already revoked");
    let closed = app.store.commit_group(&[response(point.id, now, 5)]).await.unwrap();
    assert_eq!(closed, vec![WriteOutcome::PointClosed]);
    assert_eq!(app.responses().await, 1);
}

#[tokio::test]
async fn a_reissued_point_replaces_the_old_one() {
    let app = TestApp::spawn().await;
    let points = app.seed().await;
    let old = points.iter().find(|p| p.desk_code.is_some() && p.officer_code.is_none()).unwrap();
    let fresh = app.store.reissue_point(&old.slug).await.unwrap().unwrap();
    assert_ne!(fresh, old.slug);
    let now = app.store.active_points().await.unwrap();
    assert!(now.iter().all(|p| p.slug != old.slug));
    let new = now.iter().find(|p| p.slug == fresh).unwrap();
    assert_eq!((&new.desk_code, &new.label), (&old.desk_code, &old.label));
    assert_eq!(app.store.reissue_point(&old.slug).await.unwrap(), None, "a revoked point cannot be reissued");
    assert!(app.store.point_context(&old.slug).await.unwrap().unwrap().revoked);
}

#[tokio::test]
async fn old_comments_are_erased_and_ratings_kept() {
    let app = TestApp::spawn().await;
    let points = app.seed().await;
    let mut old = response(points[0].id, 1_000, 5);
    old.comment = hailong::domain::response::Comment::parse("cũ").unwrap();
    let mut new = response(points[0].id, clock::now_ms(), 4);
    new.comment = hailong::domain::response::Comment::parse("mới").unwrap();
    app.store.commit_group(&[old, new]).await.unwrap();
    assert_eq!(app.store.purge_comments(clock::now_ms() - 86_400_000).await.unwrap(), 1);
    assert_eq!(app.store.comments(10).await.unwrap(), vec!["mới".to_owned()]);
    assert_eq!(app.responses().await, 2);
}
