//! The paths that depend on the date, run at set moments: the turn of the year from both sides,
//! a Sunday, an evening in Vietnam that is still afternoon in UTC, a leap day just after
//! midnight (still 28 February in UTC). At each: the demo seeds its year up to that moment, a
//! rating goes through the form onto that Vietnam day and into this year's report, counts fold
//! up to yesterday and still equal a recount, a receipt asked for today rates, and a served
//! count for today is taken but not one for tomorrow. The shipped stuffing flags run too: the
//! one rule that reads the hour and the weekday (outside the unit's hours) flags the rating on
//! the Sunday, in the evening and after midnight, and not on the working days.

use hailong::domain::account::Role;
use hailong::domain::clock::{self, Clock};
use hailong::store::{CountBy, Grain};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::helpers::TestApp;

/// Each moment, and whether a rating then is outside the shipped opening hours (07:00–17:30
/// Monday to Saturday, an hour of grace after closing).
const MOMENTS: [(&str, OffsetDateTime, bool); 5] = [
    ("1 January", datetime!(2027-01-01 08:30 +7), false),
    ("31 December", datetime!(2026-12-31 16:45 +7), false),
    ("a Sunday", datetime!(2026-06-21 10:00 +7), true),
    ("20:00 Vietnam time", datetime!(2026-06-17 20:00 +7), true),
    ("29 February 2028", datetime!(2028-02-29 00:30 +7), true),
];

#[tokio::test]
async fn the_date_sensitive_paths_hold_at_the_turn_of_the_year_on_a_sunday_in_the_evening_and_on_a_leap_day() {
    for (name, moment, off_hours) in MOMENTS {
        at(name, moment, off_hours).await;
    }
}

async fn at(name: &str, moment: OffsetDateTime, off_hours: bool) {
    let app = TestApp::spawn_with(|s| {
        s.clock = Clock::starting(moment);
        s.flags = hailong::domain::flags::Rules::default();
        s.receipt_secret = Some("a receipt secret for the tests".into());
        s.submit_limit_per_minute = 0;
    })
    .await;
    let today = moment.date();
    assert_eq!(app.today(), today, "{name}");
    let registry = hailong::startup::load_questionnaires(&app.store).await.unwrap();
    hailong::demo::seed(&app.store, &registry, 300, 3, |_| {}).await.unwrap();
    let (first, last) = app.store.counted_days().await.unwrap().unwrap();
    assert!(last <= today && first >= today - time::Duration::days(366), "{name}: the demo's year ends today");

    // A rating through the form is counted on today's Vietnam day.
    let point = app
        .store
        .active_points()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.officer_code.is_some() && p.questionnaire_id == "mot-cua")
        .unwrap();
    let officer = point.officer_code.clone().unwrap();
    let day = clock::date_bucket(today);
    let before = officer_responses(&app, &officer, day).await;
    let flagged_before = officer_count(&app, &officer, day, "flag.off_hours").await;
    let key = app.form_key(point.slug.as_str()).await;
    app.clock().advance(60_000);
    let sent = app.post(point.slug.as_str(), &[("key", &key), ("q_hai_long_chung", "5")]).await;
    assert_eq!(sent.status(), 303, "{name}");
    assert_eq!(officer_responses(&app, &officer, day).await, before + 1, "{name}: counted on {today}");
    let flagged = officer_count(&app, &officer, day, "flag.off_hours").await - flagged_before;
    assert_eq!(flagged, i64::from(off_hours), "{name}: outside the unit's hours is {off_hours}");

    // This year's report (the default period) holds it.
    let admin = app.staff("so.noi.vu", Role::Admin, None).await;
    let json: Value = admin.api("/api/v1/indices?level=officer&questionnaire=mot-cua").await.json().await.unwrap();
    let period = json["reports"][0]["period"].to_string();
    assert!(period.contains(&today.year().to_string()), "{name}: {period}");
    let row = json["reports"][0]["rows"].as_array().unwrap().iter().find(|r| r["code"] == officer.as_str()).cloned();
    assert!(row.is_some_and(|r| r["responses"].as_u64().unwrap_or(0) >= 1), "{name}: {json}");

    // Counts fold up to yesterday and still equal a recount, at every grain.
    app.store.fold_counts(today.previous_day().unwrap()).await.unwrap();
    for grain in Grain::ALL {
        let kept = app.store.grain_counts(grain, first, today).await.unwrap();
        assert_eq!(kept, app.store.recount_grain(grain, first, today).await.unwrap(), "{name}: {grain:?}");
    }

    // A receipt asked for today opens and rates once; it expires after its days.
    let integration = app.staff("motcua", Role::Integration, Some(&point.unit_code)).await;
    let asked = app
        .client
        .post(format!("{}/api/v1/receipts", app.base))
        .bearer_auth(&integration.key)
        .json(&json!({ "dossier_code": "H01-261124-0042", "unit_code": point.unit_code, "officer_code": officer, "desk_code": point.desk_code }))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 201, "{name}");
    let asked: Value = asked.json().await.unwrap();
    assert_eq!(asked["expires_at"], clock::iso(today + time::Duration::days(30)), "{name}");
    let token = asked["token"].as_str().unwrap().to_owned();
    let form = app.client.get(format!("{}/r/{token}", app.base)).send().await.unwrap();
    assert_eq!(form.status(), 200, "{name}");
    let key = crate::helpers::key_in(&form.text().await.unwrap());
    let sent =
        app.client.post(format!("{}/r/{token}", app.base)).form(&[("key", key.as_str()), ("q_hai_long_chung", "4")]);
    assert_eq!(sent.send().await.unwrap().status(), 303, "{name}");

    // Dossiers served: today's count is taken, tomorrow's is refused naming the date.
    let served = |date: time::Date| {
        app.client
            .post(format!("{}/api/v1/served", app.base))
            .bearer_auth(&integration.key)
            .json(&json!({ "date": clock::iso(date), "unit_code": point.unit_code, "officer_code": officer, "dossiers": 3 }))
            .send()
    };
    assert_eq!(served(today).await.unwrap().status(), 200, "{name}");
    let tomorrow = served(today.next_day().unwrap()).await.unwrap();
    assert_eq!(tomorrow.status(), 400, "{name}");
    assert!(tomorrow.text().await.unwrap().contains("date"), "{name}");
}

async fn officer_responses(app: &TestApp, officer: &str, day: i64) -> i64 {
    officer_count(app, officer, day, "hai_long_chung").await
}

async fn officer_count(app: &TestApp, officer: &str, day: i64, question: &str) -> i64 {
    let counts = app.store.answer_counts(CountBy::Officer, day, day).await.unwrap();
    counts.iter().filter(|c| c.target_code == officer && c.question_id == question).map(|c| c.count).sum()
}
