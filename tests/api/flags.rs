//! Stuffing flags: each rule flags what it should and not what it should not, in the writer's
//! transaction, earlier responses of a burst included; reports count them and can leave them out.

use std::collections::HashMap;

use hailong::domain::flags::Rules;
use hailong::domain::point::Point;
use hailong::domain::response::{Channel, IdempotencyKey, NewResponse};
use hailong::store::CountBy;

use crate::helpers::{TestApp, cli};

/// 09:00 today in Vietnam. The ratings are given today: the service's own housekeeping
/// forgets the device hashes (and salts) of the days before yesterday, and would race a test
/// that sends them on a day long past.
fn today_9() -> i64 {
    let today = crate::helpers::TEST_MOMENT.date();
    time::PrimitiveDateTime::new(today, time::macros::time!(9:00))
        .assume_offset(time::macros::offset!(+7))
        .unix_timestamp()
        * 1000
}

/// Today's Vietnam day as counts keep it (`YYYYMMDD`).
fn today() -> i64 {
    hailong::domain::clock::day_bucket(today_9())
}
const MINUTE: i64 = 60_000;

fn rules() -> Rules {
    Rules {
        burst_count: 4,
        burst_minutes: 10,
        device_count: 3,
        min_seconds: 8,
        identical_count: 4,
        identical_minutes: 30,
        // Open every day from 07:00 to 17:30: the test runs on any day of the week.
        hours: hailong::domain::flags::OpeningHours { days: (1..=7).collect(), ..Default::default() },
        ..Rules::default()
    }
}

/// A rating at `point` sent at `at`, its form drawn `read_ms` before.
fn rating(point: &Point, at: i64, read_ms: i64, answers: &[(&str, i64)], device: Option<&str>) -> NewResponse {
    NewResponse {
        point_id: point.id,
        questionnaire_id: "mot-cua".into(),
        questionnaire_version: 2,
        answers: crate::helpers::with_derived(
            "mot-cua",
            2,
            answers.iter().map(|(q, v)| ((*q).to_owned(), *v)).collect(),
        ),
        field: None,
        comment: None,
        channel: Channel::Qr,
        submitted_at_ms: at,
        key: IdempotencyKey::generate_at(at - read_ms),
        receipt: None,
        device: device.map(str::to_owned),
    }
}

/// The flags counted per officer code and kind on that Monday.
async fn flags_by_officer(app: &TestApp) -> HashMap<(String, String), i64> {
    let counts = app.store.answer_counts(CountBy::Officer, today(), today()).await.unwrap();
    let mut out = HashMap::new();
    for c in counts.into_iter().filter(|c| c.question_id.starts_with("flag.")) {
        *out.entry((c.target_code, c.question_id)).or_insert(0) += c.count;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_rule_flags_what_it_should_and_nothing_else() {
    let app = TestApp::spawn_with(|s| s.flags = rules()).await;
    let points: Vec<Point> =
        app.seed().await.into_iter().filter(|p| p.officer_code.is_some() && p.questionnaire_id == "mot-cua").collect();
    let [burst, calm, device, devices, fast, hours, run, broken, ..] = &points[..] else { panic!("officer points") };
    let code = |p: &Point| p.officer_code.clone().unwrap_or_default();
    let five = [("hai_long_chung", 5)];
    let slow = MINUTE;
    let mut groups: Vec<Vec<NewResponse>> = Vec::new();
    // A burst of four in four minutes, each its own commit: the last flags the first three too.
    for i in 0..4 {
        groups.push(vec![rating(burst, today_9() + i * MINUTE, slow, &[("hai_long_chung", 5 - i % 2)], None)]);
    }
    // Four spread over the morning: no burst.
    groups.push(
        (0..4)
            .map(|i| rating(calm, today_9() + i * 40 * MINUTE, slow, &[("hai_long_chung", 4 + i % 2)], None))
            .collect(),
    );
    // One address three times at a point in a day; and three addresses.
    for i in 0..3 {
        groups.push(vec![rating(
            device,
            today_9() + i * 60 * MINUTE,
            slow,
            &[("hai_long_chung", 3 + i)],
            Some("203.0.113.7"),
        )]);
        let other = format!("198.51.100.{i}");
        groups.push(vec![rating(
            devices,
            today_9() + i * 60 * MINUTE,
            slow,
            &[("hai_long_chung", 3 + i)],
            Some(&other),
        )]);
    }
    // Sent two seconds after the form was drawn; and after a minute.
    groups.push(vec![
        rating(fast, today_9(), 2_000, &five, None),
        rating(fast, today_9() + 90 * MINUTE, 60_000, &five, None),
    ]);
    // At 22:00, and at 18:00 (within the hour of grace after closing at 17:30).
    groups.push(vec![rating(hours, today_9() + 13 * 60 * MINUTE, slow, &five, None)]);
    groups.push(vec![rating(hours, today_9() + 9 * 60 * MINUTE, slow, &[("hai_long_chung", 4)], None)]);
    // Four identical answers in a row, a quarter of an hour apart; and four with one different.
    // (Three questions answered, not all at the top of their scales: those are no run.)
    for i in 0..4 {
        let answers = [("hai_long_chung", 4), ("thuan_tien", 4), ("ct7_thai_do", 1)];
        groups.push(vec![rating(run, today_9() + i * 15 * MINUTE, slow, &answers, None)]);
        let other = [("hai_long_chung", if i == 2 { 3 } else { 4 }), ("thuan_tien", 4), ("ct7_thai_do", 1)];
        groups.push(vec![rating(broken, today_9() + i * 15 * MINUTE, slow, &other, None)]);
    }
    for group in &groups {
        app.store.commit_group(group).await.unwrap();
    }

    let flags = flags_by_officer(&app).await;
    let flagged = |p: &Point, kind: &str| flags.get(&(code(p), format!("flag.{kind}"))).copied().unwrap_or(0);
    assert_eq!(flagged(burst, "burst"), 4, "every response of the burst, the earlier ones too: {flags:?}");
    assert_eq!(flagged(calm, "burst"), 0);
    assert_eq!(flagged(device, "device"), 3);
    assert_eq!(flagged(devices, "device"), 0);
    assert_eq!(flagged(fast, "fast"), 1);
    assert_eq!(flagged(hours, "off_hours"), 1);
    assert_eq!(flagged(run, "identical"), 4);
    assert_eq!(flagged(broken, "identical"), 0);
    // Nothing else was flagged: each officer's flags are the ones above.
    let expected: i64 = 4 + 3 + 1 + 1 + 4;
    let kinds: i64 = flags.iter().filter(|((_, q), _)| q != "flag.any").map(|(_, n)| n).sum();
    assert_eq!(kinds, expected, "{flags:?}");
    let any: i64 = flags.iter().filter(|((_, q), _)| q == "flag.any").map(|(_, n)| n).sum();
    assert_eq!(any, expected, "one response, one flag here");

    // What is kept is what the responses recount to, flags included; the chain is whole.
    let out = cli(&app.db_url(), &["verify"], &[]);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));

    // The next day's housekeeping forgets that day's six device hashes and its salt.
    assert_eq!(app.store.forget_devices(today() + 1).await.unwrap(), 6);
    assert_eq!(app.store.forget_devices(today() + 1).await.unwrap(), 0);
    app.stop().await;
}

/// The rows of a CSV export by code: column name → cell.
fn csv_rows(bytes: &[u8]) -> HashMap<String, HashMap<String, String>> {
    let text = String::from_utf8_lossy(bytes).trim_start_matches('\u{feff}').to_owned();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let row: HashMap<String, String> = header.iter().cloned().zip(r.iter().map(str::to_owned)).collect();
            (row["code"].clone(), row)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_from_one_client_is_flagged_in_the_exports_and_can_be_left_out() {
    let rules = Rules {
        burst_count: 5,
        device_count: 6,
        min_seconds: 0,
        seconds_per_answer: 0,
        identical_count: 0,
        off_hours: false,
        ..Rules::default()
    };
    let app = TestApp::spawn_with(|s| {
        s.flags = rules;
        s.submit_limit_per_minute = 0;
        // Six flagged of six: leaving them out takes the officer below the minimum.
        s.min_sample = 5;
    })
    .await;
    let points: Vec<Point> =
        app.seed().await.into_iter().filter(|p| p.officer_code.is_some() && p.questionnaire_id == "mot-cua").collect();
    let (stuffed, honest) = (&points[0], &points[1]);
    for i in 0..6 {
        let key = app.form_key(stuffed.slug.as_str()).await;
        let value = (5 - i % 2).to_string();
        let sent =
            app.post(stuffed.slug.as_str(), &[("key", key.as_str()), ("q_hai_long_chung", value.as_str())]).await;
        assert_eq!(sent.status(), 303);
    }
    let key = app.form_key(honest.slug.as_str()).await;
    assert_eq!(app.post(honest.slug.as_str(), &[("key", key.as_str()), ("q_hai_long_chung", "4")]).await.status(), 303);

    let year = app.today().year().to_string();
    let dir = tempfile::tempdir().unwrap();
    let export = |name: &str, extra: &[&str]| {
        let file = dir.path().join(name);
        let mut args = vec!["export", "--period", &year, "--level", "officer", "--format", "csv", "--out"];
        let path = file.to_str().unwrap().to_owned();
        let mut owned: Vec<String> = args.drain(..).map(str::to_owned).collect();
        owned.push(path);
        owned.extend(extra.iter().map(|s| (*s).to_owned()));
        let owned: Vec<&str> = owned.iter().map(String::as_str).collect();
        // The command reads the same minimum as the service.
        let out = cli(&app.db_url(), &owned, &[("HAILONG_MIN_SAMPLE", "5")]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        std::fs::read(file).unwrap()
    };
    let all = csv_rows(&export("all.csv", &[]));
    let (s, h) = (stuffed.officer_code.clone().unwrap(), honest.officer_code.clone().unwrap());
    assert_eq!((all[&s]["responses"].as_str(), all[&s]["flagged"].as_str()), ("6", "6"), "{:?}", all[&s]);
    assert_eq!((all[&s]["flag_burst"].as_str(), all[&s]["flag_device"].as_str()), ("6", "6"));
    assert_eq!(all[&s]["flag_fast"], "0");
    assert_eq!((all[&h]["responses"].as_str(), all[&h]["flagged"].as_str()), ("1", "0"));
    // Every row says whether the flagged were counted.
    assert_eq!(
        (all[&s]["flagged_counted"].as_str(), all[&s]["below_minimum_without_flagged"].as_str()),
        ("true", "false")
    );

    let without = csv_rows(&export("without.csv", &["--without-flagged"]));
    assert!(without.get(&s).is_none_or(|r| r["responses"] == "0"), "{:?}", without.get(&s));
    assert_eq!(without[&h]["responses"], "1");
    assert_eq!(without[&h]["flagged_counted"], "false");
    if let Some(row) = without.get(&s) {
        assert_eq!(row["below_minimum_without_flagged"], "true", "{row:?}");
    }

    // The same from the pages' download: the file name and the method say it.
    let staff = app.staff("so-noi-vu", hailong::domain::account::Role::Admin, None).await;
    let response = staff.api(&format!("/api/v1/indices?level=officer&period={year}&format=json&flagged=exclude")).await;
    assert_eq!(response.status(), 200);
    let json: serde_json::Value = response.json().await.unwrap();
    let method = json["reports"][0]["method"]["Phiếu gắn cờ"].as_str().unwrap();
    assert!(method.contains("KHÔNG tính") && method.contains("không dưới 5 phiếu"), "{method}");
    assert!(method.starts_with("Không tính 6 phiếu gắn cờ (quy tắc flags-2026-2)"), "{method}");
    assert!(
        method.contains("Cảnh báo: vì bỏ phiếu gắn cờ, 1 dòng xuống dưới 5 phiếu") && method.contains(&s),
        "{method}"
    );
    let counted = staff.api(&format!("/api/v1/indices?level=officer&period={year}&format=json")).await;
    let json: serde_json::Value = counted.json().await.unwrap();
    let method = json["reports"][0]["method"]["Phiếu gắn cờ"].as_str().unwrap();
    assert!(method.starts_with("Có tính 6 phiếu gắn cờ") && !method.contains("Cảnh báo"), "{method}");
    // The page and the year-end sheet say it too, the warning where the minimum is lost.
    let page =
        staff.get(&format!("/admin/indices?level=officer&period={year}&flagged=exclude")).await.text().await.unwrap();
    assert!(page.contains("Không tính 6 phiếu gắn cờ") && page.contains("Cảnh báo: vì bỏ phiếu gắn cờ"), "{page}");
    let sheet = staff.get(&format!("/admin/indices/officer/{s}/sheet?period={year}")).await.text().await.unwrap();
    assert!(sheet.contains("Có tính 6 phiếu gắn cờ (quy tắc flags-2026-2)"), "{sheet}");
    let sheet = staff
        .get(&format!("/admin/indices/officer/{s}/sheet?period={year}&flagged=exclude"))
        .await
        .text()
        .await
        .unwrap();
    assert!(sheet.contains("Không tính 6 phiếu gắn cờ"), "{sheet}");
    let page =
        staff.get(&format!("/admin/indices/export?level=officer&period={year}&format=csv&flagged=exclude")).await;
    let disposition = page.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.contains("khong-co-phieu-gan-co"), "{disposition}");
    let bad = staff.api(&format!("/api/v1/indices?level=officer&period={year}&flagged=maybe")).await;
    assert_eq!(bad.status(), 400);
    app.stop().await;
}

fn as_pairs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The ids of the responses a review page lists (its checkboxes `r{ID}`).
fn listed_ids(html: &str) -> Vec<i64> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("input[type=checkbox]").unwrap();
    doc.select(&sel).filter_map(|e| e.value().attr("name")?.strip_prefix('r')?.parse().ok()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moderator_excludes_a_burst_and_restores_part_of_it_as_events_that_verify_replays() {
    let rules = Rules { burst_count: 5, min_seconds: 0, identical_count: 0, off_hours: false, ..Rules::default() };
    let app = TestApp::spawn_with(|s| s.flags = rules).await;
    let points: Vec<Point> =
        app.seed().await.into_iter().filter(|p| p.officer_code.is_some() && p.questionnaire_id == "mot-cua").collect();
    let point = &points[0];
    let officer = point.officer_code.clone().unwrap();
    let now = app.now_ms();
    // Six in six minutes (a burst), and two an hour apart before them.
    let mut group: Vec<NewResponse> =
        (0..6).map(|i| rating(point, now - (6 - i) * MINUTE, MINUTE, &[("hai_long_chung", 5)], None)).collect();
    group.push(rating(point, now - 180 * MINUTE, MINUTE, &[("hai_long_chung", 2)], None));
    group.push(rating(point, now - 120 * MINUTE, MINUTE, &[("hai_long_chung", 3)], None));
    app.store.commit_group(&group).await.unwrap();

    let staff = app.staff("noi-vu", hailong::domain::account::Role::HomeAffairs, Some("HL")).await;
    let year = hailong::domain::clock::vietnam_date(now).year().to_string();
    let page = staff.get(&format!("/admin/officers/{officer}/responses?period={year}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let burst = listed_ids(&html);
    assert_eq!(burst.len(), 6, "the flagged ones only: {html}");
    assert!(html.contains("dồn dập"));
    let everything = listed_ids(
        &staff.get(&format!("/admin/officers/{officer}/responses?period={year}&all=1")).await.text().await.unwrap(),
    );
    assert_eq!(everything.len(), 8);

    let responses_of_officer = || async {
        let api = staff.api(&format!("/api/v1/indices?level=officer&period={year}")).await;
        let json: serde_json::Value = api.json().await.unwrap();
        json["reports"][0]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["code"] == officer.as_str())
            .map(|r| r["responses"].as_i64().unwrap())
    };
    assert_eq!(responses_of_officer().await, Some(8));

    // Nothing ticked: nothing changes, and the page says so.
    let reason = "Sáu phiếu trong sáu phút tại quầy, cùng lúc vắng khách";
    let none = [("period", year.as_str()), ("action", "exclude"), ("reason", reason)];
    let refused = staff.post(&format!("/admin/officers/{officer}/responses"), &none).await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("Chưa chọn phiếu nào"));

    // A reason too short changes nothing, and says why in Vietnamese.
    let mut form: Vec<(String, String)> = burst.iter().map(|id| (format!("r{id}"), "on".to_owned())).collect();
    form.push(("period".into(), year.clone()));
    form.push(("action".into(), "exclude".into()));
    form.push(("reason".into(), "x".into()));
    let refused = staff.post(&format!("/admin/officers/{officer}/responses"), &as_pairs(&form)).await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("Lý do"));
    assert_eq!(responses_of_officer().await, Some(8));

    form.pop();
    form.push(("reason".into(), "Sáu phiếu trong sáu phút tại quầy, cùng lúc vắng khách".into()));
    let done = staff.post(&format!("/admin/officers/{officer}/responses"), &as_pairs(&form)).await;
    assert_eq!(done.status(), 303);
    let back = done.headers()["location"].to_str().unwrap().to_owned();
    assert!(staff.get(&back).await.text().await.unwrap().contains("Đã loại khỏi chỉ số 6 phiếu"));
    assert_eq!(responses_of_officer().await, Some(2), "the indices follow the events");

    // Restoring two of them counts them again; the same exclusion twice changes nothing more.
    let restore: Vec<String> = burst[..2].iter().map(|id| id.to_string()).collect();
    let mut args = vec!["responses", "restore", "--reason", "Hai phiếu xác minh là của người dân"];
    args.extend(restore.iter().map(String::as_str));
    let out = cli(&app.db_url(), &args, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(responses_of_officer().await, Some(4));
    let again = staff.post(&format!("/admin/officers/{officer}/responses"), &as_pairs(&form)).await;
    assert_eq!(again.status(), 303);
    assert_eq!(responses_of_officer().await, Some(2));

    // Each change is in the audit log, with its reason.
    let audit = app.staff("quan-tri", hailong::domain::account::Role::Admin, None).await;
    let log = audit.get("/admin/audit?action=response.exclude").await.text().await.unwrap();
    assert_eq!(log.matches("response:").count(), 8, "six, then two again");

    // A response outside the moderator's units does not exist for them.
    let other = app.staff("noi-vu-xa", hailong::domain::account::Role::HomeAffairs, Some("HL.TAN-LOC")).await;
    let outside = other.post(&format!("/admin/officers/{officer}/responses"), &as_pairs(&form)).await;
    assert_eq!(outside.status(), 404);

    // verify replays the events and recounts without the excluded; a checkpoint taken from
    // the page covers the events too.
    let checkpoint = staff.post("/admin/checkpoint", &[]).await;
    assert_eq!(checkpoint.status(), 200);
    let body = checkpoint.text().await.unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((parsed["responses"].as_i64(), parsed["events"].as_i64()), (Some(8), Some(10)));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("checkpoint.json");
    std::fs::write(&file, body).unwrap();
    let out = cli(&app.db_url(), &["verify", "--checkpoint", file.to_str().unwrap()], &[]);
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.contains("10 events") && said.contains("the database extends it"), "{said}");

    // An insider who quietly restores one behind the events' back is named.
    if let Some(file) = hailong::store::sqlite_file(&app.db_url()) {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display())).await.unwrap();
        sqlx::query(
            "DELETE FROM excluded_responses WHERE response_id = (SELECT MAX(response_id) FROM excluded_responses)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
        let out = cli(&app.db_url(), &["verify"], &[]);
        let said = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success() && said.contains("moderation: response"), "{said}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_over_hundreds_of_points_officers_and_devices_is_flagged_in_one_commit() {
    use hailong::domain::org::{Code, Name, NewAssignment, NewUnit, UnitKind, Validity};
    // The flags' counters of 300 points, 300 officers and 300 devices, read and written in one
    // group, must still be one commit that succeeds.
    let app = TestApp::spawn_with(|s| s.flags = rules()).await;
    let code = |c: &str| Code::parse(c).unwrap();
    let name = |n: &str| Name::parse(n).unwrap();
    let since = Validity::new(time::macros::date!(2025 - 07 - 01), None).unwrap();
    let batch = hailong::store::OrgBatch {
        units: vec![NewUnit {
            code: code("BIG"),
            name: name("Trung tâm lớn"),
            kind: UnitKind::ServiceCentre,
            parent: None,
            validity: since,
            successor: None,
        }],
        desks: vec![hailong::domain::org::NewDesk { code: code("BIG.Q1"), name: name("Quầy 1"), unit: code("BIG") }],
        assignments: (0..300)
            .map(|i| NewAssignment {
                officer: code(&format!("BIG{i:03}")),
                full_name: name(&format!("Cán bộ {i}")),
                unit: code("BIG"),
                desk: Some(code("BIG.Q1")),
                validity: since,
            })
            .collect(),
        fields: vec![],
        served: vec![],
    };
    app.store.import_org(&batch, "mot-cua", "test", &|_| {}).await.unwrap();
    let points: Vec<Point> =
        app.store.active_points().await.unwrap().into_iter().filter(|p| p.officer_code.is_some()).collect();
    assert!(points.len() >= 300, "{}", points.len());
    let group: Vec<NewResponse> = points
        .iter()
        .take(300)
        .enumerate()
        .map(|(i, p)| {
            rating(p, today_9(), MINUTE, &[("hai_long_chung", 5)], Some(&format!("203.0.{}.{}", i / 200, i % 200)))
        })
        .collect();
    let outcomes = app.store.commit_group(&group).await.unwrap();
    assert_eq!(outcomes.len(), 300);
    assert!(outcomes.iter().all(|o| matches!(o, hailong::store::WriteOutcome::Stored(_))));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_moderators_restoring_the_same_response_at_once_count_it_once() {
    use hailong::domain::moderation::Action;
    let app = TestApp::spawn().await;
    let point = app.officer_point().await;
    let now = app.now_ms();
    let group: Vec<NewResponse> =
        (0..3).map(|i| rating(&point, now - i * MINUTE, MINUTE, &[("hai_long_chung", 4)], None)).collect();
    let ids: Vec<i64> = app
        .store
        .commit_group(&group)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|o| match o {
            hailong::store::WriteOutcome::Stored(id) => Some(id),
            _ => None,
        })
        .collect();
    app.store.moderate(&ids, Action::Exclude, "Kiểm tra đồng thời", "a").await.unwrap();
    let second = app.beside(|_| {}).await;
    for _ in 0..3 {
        let (a, b) = tokio::join!(
            app.store.moderate(&ids, Action::Restore, "Người thứ nhất khôi phục", "a"),
            second.store.moderate(&ids, Action::Restore, "Người thứ hai khôi phục", "b"),
        );
        let changed = a.unwrap().changed.len() + b.unwrap().changed.len();
        assert_eq!(changed, 3, "each response restored by one of them");
        app.store.moderate(&ids, Action::Exclude, "Loại lại để thử lần nữa", "a").await.unwrap();
    }
    drop(second);
    let out = cli(&app.db_url(), &["verify"], &[]);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_flag_a_burst_split_between_them_once_while_a_moderator_works_between_them() {
    use hailong::domain::moderation::Action;
    use hailong::store::WriteOutcome;
    // Both backends; on PostgreSQL the two writers store their groups side by side and follow
    // each other from the flags' pass to the commit, with a moderator among them.
    let app = TestApp::spawn_with(|s| s.flags = rules()).await;
    let point = app.officer_point().await;
    let second = app.beside(|s| s.flags = rules()).await;
    let at = |i: i64| today_9() + i * 20_000;
    let answers = |i: i64| [("hai_long_chung", 1 + i % 5), ("ct7_thai_do", 1 + (i / 5) % 5)];
    let stored = |outcomes: Vec<WriteOutcome>| -> Vec<i64> {
        outcomes
            .into_iter()
            .map(|o| match o {
                WriteOutcome::Stored(id) => id,
                other => panic!("not stored: {other:?}"),
            })
            .collect()
    };
    let mut ids = stored(app.store.commit_group(&[rating(&point, at(0), MINUTE, &answers(0), None)]).await.unwrap());
    for round in 1..=10 {
        let a = vec![rating(&point, at(2 * round - 1), MINUTE, &answers(2 * round - 1), None)];
        let b = vec![rating(&point, at(2 * round), MINUTE, &answers(2 * round), None)];
        let action = if round % 2 == 1 { Action::Exclude } else { Action::Restore };
        let (a, b, m) = tokio::join!(
            app.store.commit_group(&a),
            second.store.commit_group(&b),
            app.store.moderate(&ids[..1], action, "Kiểm tra khi đang ghi", "a"),
        );
        ids.extend(stored(a.unwrap()));
        ids.extend(stored(b.unwrap()));
        assert_eq!(m.unwrap().changed, ids[..1].to_vec(), "round {round}: the moderation changed its response");
    }
    let flags = flags_by_officer(&app).await;
    let officer = point.officer_code.clone().unwrap_or_default();
    let count = |kind: &str| flags.get(&(officer.clone(), kind.to_owned())).copied().unwrap_or(0);
    assert_eq!(ids.len(), 21);
    assert_eq!((count("flag.burst"), count("flag.any")), (21, 21), "every one once: {flags:?}");
    assert_eq!(flags.len(), 2, "no other flag: {flags:?}");
    let out = cli(&app.db_url(), &["verify"], &[]);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    drop(second);
    app.stop().await;
}

/// Counts made anew from the responses, as an insider who changed answers would, so that the
/// kept counts still equal a recount (SQLite).
const RECOUNT: [&str; 3] = [
    "DELETE FROM answer_counts",
    "INSERT INTO answer_counts (local_day, unit_id, desk_id, officer_id, field_id, channel, questionnaire_id, \
     questionnaire_version, question_id, value, count) \
     SELECT r.local_day, r.unit_id, COALESCE(r.desk_id, 0), COALESCE(r.officer_id, 0), COALESCE(r.field_id, 0), \
     r.channel, r.questionnaire_id, r.questionnaire_version, a.question_id, a.value, COUNT(*) \
     FROM answers a JOIN responses r ON r.id = a.response_id \
     WHERE r.id NOT IN (SELECT response_id FROM excluded_responses) GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 \
     UNION ALL SELECT r.local_day, r.unit_id, COALESCE(r.desk_id, 0), COALESCE(r.officer_id, 0), \
     COALESCE(r.field_id, 0), r.channel, r.questionnaire_id, r.questionnaire_version, '', 0, COUNT(*) \
     FROM responses r WHERE r.id NOT IN (SELECT response_id FROM excluded_responses) GROUP BY 1, 2, 3, 4, 5, 6, 7, 8",
    "UPDATE count_folds SET through_day = 0",
];

/// Runs `edits` on a database as its owner would. On SQLite the guards are dropped first and,
/// when `put_back`, made again as they were; on PostgreSQL the owner's session sets
/// `session_replication_role = replica`, under which no guard fires and whose use leaves no
/// trace in the triggers (or, when not `put_back`, the edits themselves break the guards). Either
/// way nothing but the edit is different.
async fn behind_the_service(url: &str, edits: &[&str], put_back: bool) {
    use sqlx::Connection;
    if let Some(file) = hailong::store::sqlite_file(url) {
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(file);
        let mut conn = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
        let guards: Vec<(String, String)> =
            sqlx::query_as("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
                .fetch_all(&mut conn)
                .await
                .unwrap();
        for (name, _) in &guards {
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP TRIGGER {name}"))).execute(&mut conn).await.unwrap();
        }
        for sql in edits {
            sqlx::query(sqlx::AssertSqlSafe((*sql).to_owned())).execute(&mut conn).await.unwrap();
        }
        if put_back {
            for (_, sql) in &guards {
                sqlx::query(sqlx::AssertSqlSafe(sql.clone())).execute(&mut conn).await.unwrap();
            }
        }
        conn.close().await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        if put_back {
            sqlx::query("SET session_replication_role = replica").execute(&mut conn).await.unwrap();
        }
        for sql in edits {
            sqlx::query(sqlx::AssertSqlSafe((*sql).to_owned())).execute(&mut conn).await.unwrap();
        }
        conn.close().await.unwrap();
    }
}

/// A database with a burst of six flagged ratings at one point and one rating elsewhere, and a
/// checkpoint of it; the service stopped (its database kept by the returned handle).
async fn flagged_database(dir: &std::path::Path) -> (crate::helpers::TestDb, std::path::PathBuf) {
    let app = TestApp::spawn_with(|s| s.flags = rules()).await;
    let points: Vec<Point> =
        app.seed().await.into_iter().filter(|p| p.officer_code.is_some() && p.questionnaire_id == "mot-cua").collect();
    // A burst of six at one point, each its own commit: every one flagged.
    for i in 0..6 {
        let answers = [("hai_long_chung", 4 + i % 2), ("thuan_tien", 3)];
        app.store.commit_group(&[rating(&points[0], today_9() + i * MINUTE, MINUTE, &answers, None)]).await.unwrap();
    }
    app.store.commit_group(&[rating(&points[1], today_9(), MINUTE, &[("hai_long_chung", 2)], None)]).await.unwrap();
    let checkpoint = dir.join(format!("checkpoint-{}.json", rand::random::<u32>()));
    let made = cli(&app.db_url(), &["checkpoint", "--out", checkpoint.to_str().unwrap()], &[]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    (app.stop().await, checkpoint)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_and_derived_answers_changed_behind_the_service_are_seen_by_verify() {
    // Both backends; each case on a database of its own, edited in place.
    let dir = tempfile::tempdir().unwrap();
    let postgres = std::env::var("HAILONG_TEST_POSTGRES_URL").is_ok_and(|v| !v.is_empty());
    let first_flagged = "(SELECT MIN(response_id) FROM answers WHERE question_id = 'flag.any')";
    let drop_one = format!(
        "DELETE FROM answers WHERE response_id = {first_flagged} AND (question_id LIKE 'flag.%' OR question_id LIKE 'flagged.%')"
    );
    let drop_all = "DELETE FROM answers WHERE question_id LIKE 'flag.%' OR question_id LIKE 'flagged.%'".to_owned();
    let composite = "UPDATE answers SET value = value + 1 \
                     WHERE response_id = (SELECT MIN(id) FROM responses) AND question_id = 'composite.overall'"
        .to_owned();
    let (drop_guard, guard_gone) = if postgres {
        ("DROP TRIGGER answers_no_change ON answers".to_owned(), "guard answers_no_change is missing")
    } else {
        (String::new(), "guard answers_no_delete is missing")
    };
    let cases: Vec<(&str, Vec<String>, bool, Option<&str>)> = vec![
        ("the counts made anew, nothing else changed", vec![], true, None),
        ("one rating's flags deleted, the counts lowered", vec![drop_one], true, Some("flags none held")),
        ("every rating's flags deleted, the counts lowered", vec![drop_all], true, Some("6 response(s)")),
        ("a composite score edited, the counts made anew", vec![composite], true, Some("composite.overall")),
        (
            "the guards dropped",
            vec![drop_guard].into_iter().filter(|s| !s.is_empty()).collect(),
            false,
            Some(guard_gone),
        ),
    ];
    for (name, edits, put_back, seen) in cases {
        let (db, checkpoint) = flagged_database(dir.path()).await;
        let mut all: Vec<&str> = edits.iter().map(String::as_str).collect();
        if put_back {
            all.extend(RECOUNT);
        }
        behind_the_service(&db.url, &all, put_back).await;
        // Seen with and without the checkpoint: what is derived is recomputed either way.
        for with_checkpoint in [true, false] {
            let mut args = vec!["verify"];
            if with_checkpoint {
                args.extend(["--checkpoint", checkpoint.to_str().unwrap()]);
            }
            let out = cli(&db.url, &args, &[]);
            let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            match seen {
                None => assert!(out.status.success(), "{name}: {said}"),
                Some(words) => {
                    assert!(!out.status.success(), "{name} went unseen: {said}");
                    assert!(said.contains(words), "{name}: {words:?} in {said}");
                    assert!(said.contains("count rows match"), "{name}: the recount alone would not see it: {said}");
                    if put_back {
                        assert!(said.contains("guards: every append-only trigger is as"), "{name}: {said}");
                    }
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_dropped_disabled_or_made_anew_on_other_terms_fails_verify() {
    // Each break on a database of its own.
    let postgres = std::env::var("HAILONG_TEST_POSTGRES_URL").is_ok_and(|v| !v.is_empty());
    let cases: Vec<(Vec<&str>, &str)> = if postgres {
        vec![
            (vec!["DROP TRIGGER answers_no_change ON answers"], "guard answers_no_change is missing"),
            (
                vec!["ALTER TABLE answers DISABLE TRIGGER answers_no_change"],
                "guard answers_no_change on answers is disabled",
            ),
            (
                vec!["ALTER TABLE answers ENABLE REPLICA TRIGGER answers_no_change"],
                "guard answers_no_change on answers fires only in replication sessions",
            ),
            (
                vec![
                    "DROP TRIGGER answers_no_change ON answers",
                    "CREATE TRIGGER answers_no_change BEFORE UPDATE OR DELETE ON answers FOR EACH ROW \
                     WHEN (OLD.question_id NOT LIKE 'flag%') EXECUTE FUNCTION answers_append_only()",
                ],
                "guard answers_no_change was made anew on other terms",
            ),
            (
                vec![
                    "DROP TRIGGER answers_no_change ON answers",
                    "CREATE TRIGGER answers_no_change BEFORE UPDATE OF value OR DELETE ON answers FOR EACH ROW \
                     EXECUTE FUNCTION answers_append_only()",
                ],
                "guard answers_no_change was made anew on other terms",
            ),
            (
                vec![
                    "CREATE OR REPLACE FUNCTION answers_append_only() RETURNS trigger LANGUAGE plpgsql AS \
                     $$ BEGIN RETURN COALESCE(NEW, OLD); END; $$",
                ],
                "guard answers_no_change was altered",
            ),
        ]
    } else {
        vec![
            (vec!["DROP TRIGGER answers_no_delete"], "guard answers_no_delete is missing"),
            (
                vec![
                    "DROP TRIGGER answers_no_delete",
                    "CREATE TRIGGER answers_no_delete BEFORE DELETE ON answers WHEN 0 BEGIN SELECT RAISE(ABORT, 'no'); END",
                ],
                "guard answers_no_delete was altered",
            ),
        ]
    };
    for (breaks, words) in cases {
        let app = TestApp::spawn().await;
        let url = app.db_url();
        let out = cli(&url, &["verify"], &[]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        crate::store::raw_sql(&url, &breaks).await;
        let out = cli(&url, &["verify"], &[]);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && said.contains(words), "{breaks:?}: {words:?} in {said}");
        app.stop().await;
    }
}

/// A phone's browser: it keeps the cookies the service gives it, and sends its `User-Agent`.
fn phone(browser: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .user_agent(browser)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Sends one citizen's rating from `phone`: loads the form, fills it in for `fill_ms` on the
/// service's clock, sends it.
async fn rate_from(app: &TestApp, phone: &reqwest::Client, slug: &str, fill_ms: i64, value: &str) -> u16 {
    let page = phone.get(format!("{}/s/{slug}", app.base)).send().await.unwrap();
    let key = crate::helpers::key_in(&page.text().await.unwrap());
    app.clock().advance(fill_ms);
    let sent = phone
        .post(format!("{}/s/{slug}", app.base))
        .form(&[("key", key.as_str()), ("q_hai_long_chung", value)])
        .send()
        .await
        .unwrap();
    sent.status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citizens_behind_one_address_with_their_own_phones_are_not_one_device() {
    // The shipped rules; 40 citizens over a day on the centre's one Wi-Fi (the tests' address),
    // every phone with the same browser, as Chrome's reduced User-Agent makes most of them.
    let app = TestApp::spawn_with(|s| s.flags = Rules::default()).await;
    let points: Vec<Point> =
        app.seed().await.into_iter().filter(|p| p.officer_code.is_some() && p.questionnaire_id == "mot-cua").collect();
    let (shared, again, bot) = (&points[0], &points[1], &points[2]);
    let chrome = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
    for _ in 0..40 {
        // The one-question form, filled in four seconds: a person can.
        assert_eq!(rate_from(&app, &phone(chrome), shared.slug.as_str(), 4_000, "4").await, 303);
        app.clock().advance(10 * MINUTE);
    }
    // One phone three times at another point: that is one device, the first two too.
    let same = phone(chrome);
    for _ in 0..3 {
        assert_eq!(rate_from(&app, &same, again.slug.as_str(), 30_000, "5").await, 303);
        app.clock().advance(5 * MINUTE);
    }
    // A script that keeps no cookie: its address and its browser are its device.
    for _ in 0..3 {
        let page = app.client.get(format!("{}/s/{}", app.base, bot.slug)).send().await.unwrap();
        assert!(page.headers().get("set-cookie").is_some_and(|c| {
            let c = c.to_str().unwrap();
            c.starts_with("hl_d=") && c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Path=/s")
        }));
        let key = crate::helpers::key_in(&page.text().await.unwrap());
        app.clock().advance(20_000);
        assert_eq!(
            app.post(bot.slug.as_str(), &[("key", key.as_str()), ("q_hai_long_chung", "5")]).await.status(),
            303
        );
        app.clock().advance(5 * MINUTE);
    }
    let day = hailong::domain::clock::day_bucket(crate::helpers::TEST_MOMENT.unix_timestamp() * 1000);
    let counts = app.store.answer_counts(CountBy::Officer, day, day).await.unwrap();
    let count = |officer: &Option<String>, q: &str| -> i64 {
        counts.iter().filter(|c| Some(&c.target_code) == officer.as_ref() && c.question_id == q).map(|c| c.count).sum()
    };
    assert_eq!(count(&shared.officer_code, "hai_long_chung"), 40, "all forty kept: {counts:?}");
    assert_eq!(count(&shared.officer_code, "flag.any"), 0, "none of the forty flagged: {counts:?}");
    assert_eq!(count(&again.officer_code, "flag.device"), 3, "{counts:?}");
    assert_eq!(count(&bot.officer_code, "flag.device"), 3, "{counts:?}");
    let out = cli(&app.db_url(), &["verify"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_rules_meet_their_targets_in_every_shipped_scenario() {
    if std::env::var_os("HAILONG_TEST_POSTGRES_URL").is_some() {
        return; // The simulator keeps its own SQLite database: the SQLite run covers it.
    }
    let run = hailong::flagsim::Run { days: 8, seed: 7, rules: Rules::default() };
    for (name, scenario) in hailong::flagsim::load(&[]).unwrap() {
        let dir = tempfile::tempdir().unwrap();
        let o = hailong::flagsim::simulate(&scenario, &run, dir.path()).await.unwrap();
        assert!(o.honest > 0, "{name}: {o:?}");
        assert!(o.meets_targets(), "{name}: {o:?}");
        if scenario.attack.is_some() {
            assert!(o.stuffed > 0 && o.before > 0, "{name}: {o:?}");
        } else {
            assert_eq!(o.stuffed, 0, "{name}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_province_simulates_its_own_settings_and_scenarios_before_adopting_them() {
    if std::env::var_os("HAILONG_TEST_POSTGRES_URL").is_some() {
        return; // As above: nothing of the test database is used.
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("quay-mot.toml");
    std::fs::write(&scenario, "title = \"Quầy một\"\ntarget = \"officer\"\nper_day = 50\nfill_seconds = [15, 90]\n")
        .unwrap();
    // Not a database the command touches: it makes its own.
    let url = format!("sqlite://{}", dir.path().join("never.db").display());
    let args = ["flags", "simulate", "--scenario", scenario.to_str().unwrap(), "--days", "2", "--check"];
    let out = cli(&url, &args, &[]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{table}{}", String::from_utf8_lossy(&out.stderr));
    assert!(table.contains("flags-2026-2") && table.contains("quay-mot") && table.contains("met"), "{table}");
    assert!(!dir.path().join("never.db").exists());
    // Settings that would flag honest citizens: the table says so, and --check fails naming it.
    let settings = dir.path().join("hailong.toml");
    std::fs::write(&settings, "[flags]\nversion = \"thu-nghiem\"\nmin_seconds = 120\n").unwrap();
    let out = cli(&url, &args, &[("HAILONG_CONFIG", settings.to_str().unwrap())]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{table}");
    assert!(table.contains("thu-nghiem") && table.contains("MISSED"), "{table}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("quay-mot"), "{}", String::from_utf8_lossy(&out.stderr));
    // A scenario that does not read is refused with what is wrong, and nothing runs.
    std::fs::write(&scenario, "title = \"x\"\ntarget = \"officer\"\nper_day = 50\nfill_seconds = [90, 15]\n").unwrap();
    let out = cli(&url, &args, &[]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains("fill_seconds is [lowest, highest]"), "{said}");
}
