//! Receipts: tokens asked for online and signed offline, the citizen's form opened from one, and
//! the promise that a receipt rates once, however many times and through however many
//! instances it is sent.

use std::collections::HashMap;

use hailong::domain::account::Role;
use hailong::domain::clock;
use hailong::domain::point::Point;
use hailong::domain::receipt::{Claims, Key, Token};
use serde_json::{Value, json};

use crate::helpers::{TestApp, texts};

const SECRET: &str = "a receipt secret for the tests";

async fn app() -> TestApp {
    TestApp::spawn_with(|s| {
        s.receipt_secret = Some(SECRET.into());
        s.submit_limit_per_minute = 0;
    })
    .await
}

/// An officer's point at a desk, and its unit's code.
async fn officer_point(app: &TestApp) -> Point {
    app.seed().await.into_iter().find(|p| p.officer_code.is_some() && p.questionnaire_id == "mot-cua").unwrap()
}

async fn receipt_responses(app: &TestApp) -> u64 {
    let per_channel = app.store.responses_per_channel().await.unwrap();
    per_channel.iter().find(|(c, _)| c == "receipt").map_or(0, |(_, n)| *n as u64)
}

/// Signs a token offline with `key` for the point's officer, issued `days_ago`.
fn offline_token(key: &Key, point: &Point, dossier: &str, days_ago: i64) -> String {
    let today = crate::helpers::TEST_MOMENT.date();
    key.sign(&Claims {
        key_id: key.id,
        issued: today - time::Duration::days(days_ago),
        nonce: [9, 9, 9, 9],
        dossier: key.dossier_hash(dossier),
        unit: point.unit_code.clone(),
        officer: point.officer_code.clone().unwrap(),
        desk: point.desk_code.clone(),
    })
    .unwrap()
}

/// Loads the form a token opens and returns its one-time key.
async fn form_key(app: &TestApp, token: &str) -> String {
    let html = app.client.get(format!("{}/r/{token}", app.base)).send().await.unwrap().text().await.unwrap();
    let doc = scraper::Html::parse_document(&html);
    let sel = scraper::Selector::parse("input[name=key]").unwrap();
    doc.select(&sel).next().and_then(|e| e.value().attr("value")).unwrap_or_default().to_owned()
}

async fn send(app: &TestApp, token: &str, key: &str) -> reqwest::StatusCode {
    let form = [("key", key), ("q_hai_long_chung", "5"), ("q_ct7_thai_do", "2")];
    app.client.post(format!("{}/r/{token}", app.base)).form(&form).send().await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_one_stop_software_asks_for_a_token_and_gets_the_same_one_again() {
    let app = app().await;
    let point = officer_point(&app).await;
    let integration = app.staff("motcua", Role::Integration, Some(&point.unit_code)).await;
    let ask = |body: Value| {
        app.client.post(format!("{}/api/v1/receipts", app.base)).bearer_auth(&integration.key).json(&body).send()
    };
    let body = json!({
        "dossier_code": "000.00.01.H01-261124-0042",
        "unit_code": point.unit_code,
        "officer_code": point.officer_code,
        "desk_code": point.desk_code,
        "procedure": "Đăng ký khai sinh",
    });
    let first = ask(body.clone()).await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let token = first["token"].as_str().unwrap().to_owned();
    assert!(first["url"].as_str().unwrap().ends_with(&format!("/r/{token}")), "{first}");
    assert!(first["qr_svg"].as_str().unwrap().contains("<svg"));
    let expires = clock::parse_date(first["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires, app.today() + time::Duration::days(30));

    let again: Value = ask(body.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(again["token"], token, "the same dossier gets the same token");
    let mut lower = body.clone();
    lower["dossier_code"] = json!(" 000.00.01.h01-261124-0042 ");
    let lowered: Value = ask(lower).await.unwrap().json().await.unwrap();
    assert_eq!(lowered["token"], token, "the code is one dossier whatever its case and spaces");

    // The form it opens names the unit, the officer and the procedure.
    let html = app.client.get(format!("{}/r/{token}", app.base)).send().await.unwrap().text().await.unwrap();
    let who = texts(&html, ".who").join(" ");
    assert!(who.contains(&point.officer_name.clone().unwrap()) && who.contains("Đăng ký khai sinh"), "{who}");

    // Bad input: 400 naming the field; nothing made.
    for (change, field) in [
        (json!({ "dossier_code": "hồ sơ" }), "dossier_code"),
        (json!({ "dossier_code": null }), "dossier_code"),
        (json!({ "officer_code": "" }), "officer_code"),
        (json!({ "field_code": "KHONG-CO" }), "field_code"),
        (json!({ "colour": "blue" }), "colour"),
    ] {
        let mut wrong = body.clone();
        for (k, v) in change.as_object().unwrap() {
            wrong[k] = v.clone();
        }
        let answer = ask(wrong).await.unwrap();
        assert_eq!(answer.status(), 400, "{change}");
        let message = answer.json::<Value>().await.unwrap()["error"].as_str().unwrap().to_owned();
        assert!(message.contains(field), "{change}: {message}");
    }
    // Outside the key's scope: 404, as if it did not exist.
    let other = app.seed().await.into_iter().find(|p| p.officer_code.is_some() && p.unit_code != point.unit_code);
    if let Some(other) = other {
        let mut outside = body.clone();
        outside["unit_code"] = json!(other.unit_code);
        outside["officer_code"] = json!(other.officer_code);
        outside["desk_code"] = json!(other.desk_code);
        assert_eq!(ask(outside).await.unwrap().status(), 404);
    }
    // A key of another role may not ask.
    let viewer = app.staff("xem", Role::Viewer, Some(&point.unit_code)).await;
    let refused = app
        .client
        .post(format!("{}/api/v1/receipts", app.base))
        .bearer_auth(&viewer.key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_rates_once_and_then_says_so() {
    let app = app().await;
    let point = officer_point(&app).await;
    let key = app.store.create_receipt_key(hailong::store::KeyPurpose::Offline, "test").await.unwrap();
    let token = offline_token(&key, &point, "H01-261124-0042", 0);

    let first = form_key(&app, &token).await;
    assert_eq!(send(&app, &token, &first).await, 303);
    assert_eq!(receipt_responses(&app).await, 1);
    // The same form sent again (a lost answer): kept once, thanked every time.
    for _ in 0..20 {
        assert_eq!(send(&app, &token, &first).await, 303);
    }
    // Another form of the same receipt: refused, with a page that says only that.
    let page = app.client.get(format!("{}/r/{token}", app.base)).send().await.unwrap();
    assert_eq!(page.status(), 410);
    let html = page.text().await.unwrap();
    assert!(html.contains("đã được dùng để đánh giá"), "{html}");
    assert!(!html.contains(&point.officer_name.clone().unwrap()), "nothing about whom it rated");
    // A form key the service issued, of another form.
    let other = app.form_key(point.slug.as_str()).await;
    assert_eq!(send(&app, &token, &other).await, 410);
    assert_eq!(receipt_responses(&app).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_uses_of_one_token_through_two_instances_store_one() {
    let app = app().await;
    let second = app
        .beside(|s| {
            s.receipt_secret = Some(SECRET.into());
            s.submit_limit_per_minute = 0;
        })
        .await;
    let point = officer_point(&app).await;
    let key = app.store.create_receipt_key(hailong::store::KeyPurpose::Offline, "test").await.unwrap();
    for round in 0..3 {
        let token = offline_token(&key, &point, &format!("H01-261124-{round:04}"), 1);
        // Every citizen has drawn the form (each its own one-time key) before anyone sends.
        let mut keys = Vec::new();
        for i in 0..50 {
            keys.push(form_key(if i % 2 == 0 { &app } else { &second }, &token).await);
        }
        let mut sends = tokio::task::JoinSet::new();
        for (i, k) in keys.into_iter().enumerate() {
            let instance = if i % 2 == 0 { &app } else { &second };
            let (client, url) = (instance.client.clone(), format!("{}/r/{token}", instance.base));
            sends.spawn(async move {
                let form = [("key", k.as_str()), ("q_hai_long_chung", "5")];
                client.post(url).form(&form).send().await.unwrap().status()
            });
        }
        let statuses = sends.join_all().await;
        let kept = statuses.iter().filter(|s| **s == 303).count();
        assert_eq!(kept, 1, "round {round}: exactly one acknowledged: {statuses:?}");
        assert!(statuses.iter().all(|s| *s == 303 || *s == 410), "round {round}: {statuses:?}");
        assert_eq!(receipt_responses(&app).await, round + 1, "round {round}: exactly one stored");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_cut_expired_and_revoked_tokens_each_get_their_page_and_store_nothing() {
    let app = app().await;
    let point = officer_point(&app).await;
    let key = app.store.create_receipt_key(hailong::store::KeyPurpose::Offline, "test").await.unwrap();
    let good = offline_token(&key, &point, "H01-261124-0099", 0);
    let forger = Key { id: key.id, secret: [7; 32] };
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("forged", offline_token(&forger, &point, "H01-261124-0099", 0), 404, "không hợp lệ"),
        ("cut", good[..good.len() - 30].to_owned(), 404, "bị thiếu"),
        ("garbage", "không-phải-mã".to_owned(), 404, "không hợp lệ"),
        ("expired", offline_token(&key, &point, "H01-261124-0098", 31), 410, "hết hạn"),
        ("unknown key", offline_token(&Key { id: 999, secret: [1; 32] }, &point, "H01-1", 0), 404, "không hợp lệ"),
    ];
    for (name, token, status, words) in &cases {
        let page = app.client.get(format!("{}/r/{token}", app.base)).send().await.unwrap();
        assert_eq!(page.status(), *status, "{name}");
        assert!(page.text().await.unwrap().contains(words), "{name}");
        let form = [("key", "AAAAAAAAAAAAAAAAAAAAAA"), ("q_hai_long_chung", "5")];
        let sent = app.client.post(format!("{}/r/{token}", app.base)).form(&form).send().await.unwrap();
        assert_eq!(sent.status(), *status, "{name}: a post is refused alike");
    }
    // A revoked key: its tokens, good until now, rate no more.
    let fresh = form_key(&app, &good).await;
    assert!(app.store.revoke_receipt_key(key.id, "test").await.unwrap());
    let page = app.client.get(format!("{}/r/{good}", app.base)).send().await.unwrap();
    assert_eq!(page.status(), 410);
    assert!(page.text().await.unwrap().contains("thu hồi"));
    assert_eq!(send(&app, &good, &fresh).await, 410);
    assert_eq!(receipt_responses(&app).await, 0, "nothing stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_setting_receipts_are_off_and_say_so() {
    let app = TestApp::spawn().await;
    let point = officer_point(&app).await;
    // No key can be made either: its secret would have nothing to be sealed under.
    let made = app.store.create_receipt_key(hailong::store::KeyPurpose::Offline, "test").await;
    assert!(made.is_err_and(|e| e.to_string().contains("receipt_secret is not set")));
    let key = Key { id: 1, secret: [1; 32] };
    let token = offline_token(&key, &point, "H01-261124-0042", 0);
    let page = app.client.get(format!("{}/r/{token}", app.base)).send().await.unwrap();
    assert_eq!(page.status(), 503);
    assert!(page.text().await.unwrap().contains("Chưa nhận đánh giá qua giấy hẹn"));
}

/// The test vectors the README gives the vendors of one-stop software: each `key = value` line
/// of a block under "Test vectors", a blank line between vectors.
#[test]
fn the_readme_test_vectors_hold() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme.split("#### Test vectors").nth(1).expect("a Test vectors section");
    let block = section.split("```").nth(1).expect("a fenced block");
    let vectors: Vec<HashMap<&str, &str>> = block
        .split("\n\n")
        .map(|v| v.lines().filter_map(|l| l.split_once(" = ")).map(|(k, v)| (k.trim(), v.trim())).collect())
        .filter(|v: &HashMap<&str, &str>| !v.is_empty())
        .collect();
    assert!(vectors.len() >= 2, "{block}");
    for v in vectors {
        let key = Key::from_text(v["key_id"].parse().unwrap(), v["secret"]).unwrap();
        let nonce: Vec<u8> = (0..4).map(|i| u8::from_str_radix(&v["nonce"][2 * i..2 * i + 2], 16).unwrap()).collect();
        let dossier = key.dossier_hash(v["dossier_code"]);
        let hex: String = dossier.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, v["dossier_hash"], "{v:?}");
        let claims = Claims {
            key_id: key.id,
            issued: clock::parse_date(v["issued"]).unwrap(),
            nonce: nonce.try_into().unwrap(),
            dossier,
            unit: v["unit"].to_owned(),
            officer: v["officer"].to_owned(),
            desk: v.get("desk").map(|d| (*d).to_owned()),
        };
        assert_eq!(key.sign(&claims).unwrap(), v["token"], "{v:?}");
        let read = Token::parse(v["token"]).unwrap();
        assert_eq!(read.claims, claims);
        assert_eq!(key.verify(&read), Ok(()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_makes_a_key_and_signs_a_token_that_rates() {
    let app = app().await;
    let point = officer_point(&app).await;
    let url = app.db_url();
    let out = crate::helpers::cli(&url, &["receipts", "key", "create"], &[("HAILONG_RECEIPT_SECRET", SECRET)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let (id, secret) = line.split_once(' ').expect("KEY_ID SECRET");
    assert_eq!(secret.len(), 43, "{line}");
    let sign = |secret: &str| {
        crate::helpers::cli(
            &url,
            &[
                "receipts",
                "sign",
                "--key-id",
                id,
                "--secret",
                secret,
                "--unit",
                &point.unit_code,
                "--officer",
                point.officer_code.as_deref().unwrap(),
                "--dossier",
                "H01-261124-0007",
                "--base-url",
                &app.base,
            ],
            &[("HAILONG_RECEIPT_SECRET", SECRET)],
        )
    };
    let out = sign(secret);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let address = String::from_utf8_lossy(&out.stdout).lines().last().unwrap().to_owned();
    assert!(address.starts_with(&format!("{}/r/", app.base)), "{address}");
    let page = app.client.get(&address).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(&point.officer_name.clone().unwrap()));

    let wrong = sign("not a secret");
    assert!(!wrong.status.success() && String::from_utf8_lossy(&wrong.stderr).contains("--secret"));
    let listed = crate::helpers::cli(&url, &["receipts", "key", "list"], &[("HAILONG_RECEIPT_SECRET", SECRET)]);
    assert!(String::from_utf8_lossy(&listed.stdout).starts_with("key_id,purpose,created,revoked"));
    assert!(!String::from_utf8_lossy(&listed.stdout).contains(secret), "never the secret");
    let out = crate::helpers::cli(&url, &["receipts", "key", "revoke", id], &[("HAILONG_RECEIPT_SECRET", SECRET)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(app.client.get(&address).send().await.unwrap().status(), 410);
    let again = crate::helpers::cli(&url, &["receipts", "key", "revoke", id], &[("HAILONG_RECEIPT_SECRET", SECRET)]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("no active receipt key"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_can_be_limited_to_a_channel_and_pages_show_the_receipt_share() {
    let app = app().await;
    let point = officer_point(&app).await;
    let officer = point.officer_code.clone().unwrap();
    let key = app.store.create_receipt_key(hailong::store::KeyPurpose::Offline, "test").await.unwrap();
    let token = offline_token(&key, &point, "H01-261124-0500", 0);
    assert_eq!(send(&app, &token, &form_key(&app, &token).await).await, 303);
    for _ in 0..3 {
        let key = app.form_key(point.slug.as_str()).await;
        let answered = app.post(point.slug.as_str(), &[("key", &key), ("q_hai_long_chung", "2")]).await;
        assert_eq!(answered.status(), 303);
    }
    let admin = app.staff("so.noi.vu", Role::Admin, None).await;
    let year = app.today().year();
    let (admin_ref, officer_ref) = (&admin, officer.as_str());
    let responses = |channel: &'static str| {
        let (admin, officer) = (admin_ref, officer_ref);
        async move {
            let json: Value = admin
                .api(&format!("/api/v1/indices?period={year}&level=officer&channel={channel}"))
                .await
                .json()
                .await
                .unwrap();
            let rows = json["reports"][0]["rows"].as_array().cloned().unwrap_or_default();
            rows.iter().filter(|r| r["code"] == officer).map(|r| r["responses"].as_u64().unwrap()).sum::<u64>()
        }
    };
    assert_eq!(responses("receipt").await, 1);
    assert_eq!(responses("qr").await, 3);
    assert_eq!(responses("").await, 4, "every channel when none is named");
    // Folded into month sums, the channels stay apart.
    let folded = app.store.fold_counts(app.today()).await.unwrap();
    assert!(folded.rebuilt + folded.extended > 0, "{folded:?}");
    assert_eq!((responses("receipt").await, responses("qr").await), (1, 3), "read from the month sums");
    let bad = admin.api(&format!("/api/v1/indices?period={year}&level=officer&channel=fax")).await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("channel"));

    let page = admin.get(&format!("/admin/indices/officer/{officer}?period={year}")).await.text().await.unwrap();
    assert!(page.contains("Theo kênh đánh giá"), "{page}");
    let rows = texts(&page, "table.audit tr");
    assert!(rows.iter().any(|r| r.contains("giấy hẹn") && r.contains("25,0%")), "1 of 4 by receipt: {rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_one_stop_software_reports_dossiers_served_and_reports_set_ratings_against_them() {
    let app = app().await;
    let point = officer_point(&app).await;
    let officer = point.officer_code.clone().unwrap();
    let integration = app.staff("motcua", Role::Integration, Some(&point.unit_code)).await;
    let post = |body: Value| {
        app.client.post(format!("{}/api/v1/served", app.base)).bearer_auth(&integration.key).json(&body).send()
    };
    for _ in 0..3 {
        let key = app.form_key(point.slug.as_str()).await;
        assert_eq!(app.post(point.slug.as_str(), &[("key", &key), ("q_hai_long_chung", "4")]).await.status(), 303);
    }
    let today = app.today();
    let day = |back: i64| clock::iso(today - time::Duration::days(back));
    let entry = |back: i64, n: u64| json!({ "date": day(back), "unit_code": point.unit_code, "officer_code": officer, "dossiers": n });
    let answer = post(json!([entry(0, 5), entry(1, 7)])).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.json::<Value>().await.unwrap()["recorded"], 2);
    // A day reported again replaces the earlier count.
    assert_eq!(post(entry(1, 1)).await.unwrap().status(), 200);

    let admin = app.staff("so.noi.vu", Role::Admin, None).await;
    let json: Value =
        admin.api(&format!("/api/v1/indices?period={}..{}&level=officer", day(30), day(0))).await.json().await.unwrap();
    let row = json["reports"][0]["rows"].as_array().unwrap().iter().find(|r| r["code"] == officer.as_str()).cloned();
    let row = row.expect("the officer's row");
    assert_eq!(row["served"], 6, "5 + 1 (the corrected day)");
    assert_eq!(row["coverage_pct"], 50.0, "3 ratings of 6 dossiers");
    assert!(row["coverage_flag"].is_null());
    let method = json["reports"][0]["method"].to_string();
    assert!(method.contains("Tỷ lệ phiếu trên số hồ sơ"), "the rule in the method: {method}");
    let page = admin.get(&format!("/admin/indices/officer/{officer}?period={}..{}", day(30), day(0))).await;
    assert!(page.text().await.unwrap().contains("3 phiếu / 6 hồ sơ"));

    // Bad input names what is wrong; another unit's officer is out of scope; nothing recorded.
    for (body, status, words) in [
        (
            json!({ "date": "hôm qua", "unit_code": point.unit_code, "officer_code": officer, "dossiers": 1 }),
            400,
            "date",
        ),
        (json!({ "date": day(-2), "unit_code": point.unit_code, "officer_code": officer, "dossiers": 1 }), 400, "date"),
        (
            json!({ "date": day(0), "unit_code": point.unit_code, "officer_code": officer, "dossiers": -1 }),
            400,
            "entry 1",
        ),
        (json!({ "date": day(0), "unit_code": point.unit_code, "officer_code": officer }), 400, "dossiers"),
        (json!({ "date": day(0), "unit_code": "XP.TT", "officer_code": officer, "dossiers": 1 }), 404, "not found"),
    ] {
        let answer = post(body.clone()).await.unwrap();
        assert_eq!(answer.status(), status, "{body}");
        assert!(answer.text().await.unwrap().contains(words), "{body}");
    }
    let json: Value =
        admin.api(&format!("/api/v1/indices?period={}..{}&level=officer", day(30), day(0))).await.json().await.unwrap();
    let row = json["reports"][0]["rows"].as_array().unwrap().iter().find(|r| r["code"] == officer.as_str()).cloned();
    assert_eq!(row.unwrap()["served"], 6, "the refused reports changed nothing");

    // The same from an import table `served`.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ho-so.csv");
    std::fs::write(
        &file,
        format!("date;unit_code;officer_code;dossiers\n{};{};{officer};9\n", day(2), point.unit_code),
    )
    .unwrap();
    let out = crate::helpers::cli(&app.db_url(), &["import", file.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("officer-days served: 1"));
    let bad = dir.path().join("sai.csv");
    std::fs::write(
        &bad,
        format!("date,unit_code,officer_code,dossiers\n{},{},{officer},nhiều\n", day(2), point.unit_code),
    )
    .unwrap();
    let out = crate::helpers::cli(&app.db_url(), &["import", bad.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("column dossiers"));
}

/// The bytes of every file of a database as a copy of it would hold them: an SQLite file after
/// its write-ahead log is folded in, and a backup of it; a PostgreSQL database as pg_dump dumps it.
async fn database_bytes(app: &TestApp) -> Vec<u8> {
    let url = app.db_url();
    if let Some(file) = hailong::store::sqlite_file(&url) {
        let dir = tempfile::tempdir().unwrap();
        let backup = dir.path().join("copy.db");
        let out = crate::helpers::cli(&url, &["backup", "--out", backup.to_str().unwrap()], &[]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&pool).await.unwrap();
        pool.close().await;
        let mut bytes = std::fs::read(&file).unwrap();
        bytes.extend(std::fs::read(&backup).unwrap());
        bytes.extend(std::fs::read(file.with_extension("db-wal")).unwrap_or_default());
        bytes
    } else {
        let out = std::process::Command::new("pg_dump").arg(url.split('?').next().unwrap()).output().expect("pg_dump");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_that_signs_a_token_is_in_the_database_a_backup_or_a_dump() {
    let app = app().await;
    let point = officer_point(&app).await;
    let url = app.db_url();
    let out = crate::helpers::cli(&url, &["receipts", "key", "create"], &[("HAILONG_RECEIPT_SECRET", SECRET)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let (id, printed) = line.split_once(' ').unwrap();
    let key = Key::from_text(id.parse().unwrap(), printed).unwrap();
    // The online key, made when the API first asks for a token.
    let integration = app.staff("motcua", Role::Integration, Some(&point.unit_code)).await;
    let body =
        json!({ "dossier_code": "H01-261124-0001", "unit_code": point.unit_code, "officer_code": point.officer_code });
    let ask = || app.client.post(format!("{}/api/v1/receipts", app.base)).bearer_auth(&integration.key).json(&body);
    let asked = ask().send().await.unwrap();
    assert_eq!(asked.status(), 201);
    let issued: Value = asked.json().await.unwrap();
    let issued = issued["token"].as_str().unwrap().to_owned();
    let online = app.store.online_receipt_key("test").await.unwrap();

    let bytes = database_bytes(&app).await;
    for secret in [&key, &online] {
        assert!(!holds(&bytes, secret.secret_text().as_bytes()), "key {}'s printed secret", secret.id);
        assert!(!holds(&bytes, &secret.secret), "key {}'s secret bytes", secret.id);
    }
    // Nor a token issued online: a dump cannot rate the dossiers still waiting. Asked again,
    // the same dossier gets the same token, signed anew from its claims.
    let tag = &issued[issued.len() - 16..];
    assert!(!holds(&bytes, issued.as_bytes()) && !holds(&bytes, tag.as_bytes()), "the token issued online");
    let again: Value = ask().send().await.unwrap().json().await.unwrap();
    assert_eq!(again["token"], issued.as_str());
    // The printed secret still signs tokens that rate: the one-stop software keeps its copy.
    let token = offline_token(&key, &point, "H01-261124-0002", 0);
    let form = form_key(&app, &token).await;
    assert_eq!(send(&app, &token, &form).await, 303);

    // A secret written in plain text behind the service's back (as one read from an old
    // backup would be put back) never opens: its tokens are refused.
    let forged = Key { id: key.id + 100, secret: [5; 32] };
    let (plain_id, plain_secret) = (i64::from(forged.id), forged.secret_text());
    let sql = format!(
        "INSERT INTO receipt_keys (id, secret, purpose, created_at) VALUES ({plain_id}, '{plain_secret}', 'offline', 0)"
    );
    crate::store::raw_sql(&url, &[&sql]).await;
    let token = offline_token(&forged, &point, "H01-261124-0003", 0);
    let page = app.client.get(format!("{}/r/{token}", app.base)).send().await.unwrap();
    assert_ne!(page.status(), 200, "a plain-text key does not open");
    assert_eq!(receipt_responses(&app).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secrets_an_older_version_kept_in_plain_text_are_sealed_at_the_next_start() {
    let app = app().await;
    let point = officer_point(&app).await;
    let url = app.db_url();
    // As an older version kept them: the secret as printed, and no record of the sealing.
    let old = Key { id: 41, secret: [3; 32] };
    let sql = format!(
        "INSERT INTO receipt_keys (id, secret, purpose, created_at) VALUES (41, '{}', 'offline', 0)",
        old.secret_text()
    );
    crate::store::raw_sql(&url, &[&sql, "DELETE FROM data_fixes WHERE name LIKE 'receipt-keys-sealed%'"]).await;
    let second = app.beside(|s| s.receipt_secret = Some(SECRET.into())).await;
    assert!(!holds(&database_bytes(&app).await, old.secret_text().as_bytes()), "sealed at the start");
    let token = offline_token(&old, &point, "H01-261124-0004", 0);
    let form = form_key(&second, &token).await;
    assert_eq!(send(&second, &token, &form).await, 303, "its tokens still rate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tokens_an_older_version_kept_whole_keep_only_their_claims_from_the_next_start() {
    let app = app().await;
    let point = officer_point(&app).await;
    let integration = app.staff("motcua", Role::Integration, Some(&point.unit_code)).await;
    let body =
        json!({ "dossier_code": "H01-261124-0005", "unit_code": point.unit_code, "officer_code": point.officer_code });
    let ask = |app: &TestApp| {
        app.client.post(format!("{}/api/v1/receipts", app.base)).bearer_auth(&integration.key).json(&body).send()
    };
    let issued: Value = ask(&app).await.unwrap().json().await.unwrap();
    let issued = issued["token"].as_str().unwrap().to_owned();
    // As an older version kept it: the whole token, and no record of the fix.
    let sql = format!("UPDATE receipt_issues SET token = '{issued}'");
    crate::store::raw_sql(&app.db_url(), &[&sql, "DELETE FROM data_fixes WHERE name LIKE 'receipt-issues-untagged%'"])
        .await;
    assert!(holds(&database_bytes(&app).await, issued.as_bytes()));
    let second = app.beside(|s| s.receipt_secret = Some(SECRET.into())).await;
    assert!(!holds(&database_bytes(&app).await, issued.as_bytes()), "untagged at the start");
    let again: Value = ask(&second).await.unwrap().json().await.unwrap();
    assert_eq!(again["token"], issued.as_str(), "the same token for the same dossier");
    let form = form_key(&second, &issued).await;
    assert_eq!(send(&second, &issued, &form).await, 303, "and it rates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_served_count_is_judged_by_the_assignment_of_the_day_it_reports() {
    let app = app().await;
    app.seed().await;
    let today = app.today();
    let day = |back: i64| clock::iso(today - time::Duration::days(back));
    let tan_loc = app.staff("motcua.tanloc", Role::Integration, Some("HL.TAN-LOC.TT")).await;
    let an_phu = app.staff("motcua.anphu", Role::Integration, Some("HL.AN-PHU.TT")).await;
    let post = |key: &str, body: Value| {
        app.client.post(format!("{}/api/v1/served", app.base)).bearer_auth(key).json(&body).send()
    };
    let entry = |unit: &str, back: i64, n: u64| json!({ "date": day(back), "unit_code": unit, "officer_code": "CB018", "dossiers": n });
    assert_eq!(post(&tan_loc.key, entry("HL.TAN-LOC.TT", 5, 40)).await.unwrap().status(), 200);

    // CB018 moves to An Phú from today.
    let admin = app.staff("so.noi.vu", Role::Admin, None).await;
    let moved =
        admin.post("/admin/officers/CB018/move", &[("unit", "HL.AN-PHU.TT"), ("desk", ""), ("from", &day(0))]).await;
    assert_eq!(moved.status(), 303, "{}", moved.text().await.unwrap());

    // An Phú cannot report (and overwrite) a day CB018 was at Tân Lộc; Tân Lộc still can.
    let refused = post(&an_phu.key, entry("HL.AN-PHU.TT", 5, 1)).await.unwrap();
    assert_eq!(refused.status(), 400);
    let said = refused.text().await.unwrap();
    assert!(said.contains("officer_code") && said.contains("was not at HL.AN-PHU.TT on"), "{said}");
    assert_eq!(post(&tan_loc.key, entry("HL.TAN-LOC.TT", 5, 41)).await.unwrap().status(), 200, "Tân Lộc puts it right");
    assert_eq!(post(&an_phu.key, entry("HL.AN-PHU.TT", 0, 7)).await.unwrap().status(), 200, "today is An Phú's");
    let refused = post(&tan_loc.key, entry("HL.TAN-LOC.TT", 0, 7)).await.unwrap();
    assert_eq!(refused.status(), 400, "and no longer Tân Lộc's");

    // Days before the unit or the assignment existed, and days to come, name the date.
    for (body, words) in [
        (
            json!({ "date": "2025-06-01", "unit_code": "HL.TAN-LOC.TT", "officer_code": "CB018", "dossiers": 1 }),
            "did not exist on 2025-06-01",
        ),
        (
            json!({ "date": day(-1), "unit_code": "HL.AN-PHU.TT", "officer_code": "CB018", "dossiers": 1 }),
            "not a day that has passed",
        ),
    ] {
        let answer = post(&tan_loc.key, body.clone()).await.unwrap();
        let status = answer.status();
        let said = answer.text().await.unwrap();
        assert!(status == 400 && said.contains("date") && said.contains(words), "{body}: {status} {said}");
    }

    // What was reported, and what it replaced, is in the audit log.
    let filter =
        hailong::domain::audit::AuditFilter { action: Some("served.report".into()), limit: 50, ..Default::default() };
    let entries = app.store.audit_entries(&filter).await.unwrap();
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert!(entries.iter().any(|e| e.actor.contains("motcua.tanloc")
        && e.after.as_deref().is_some_and(|a| a.contains("\"dossiers\":41") && a.contains("\"replaced\":40"))));
    let officer = app.store.served_by(hailong::store::ServedBy::Officer, 0, 99_999_999).await.unwrap();
    assert_eq!(officer.values().sum::<u64>(), 48, "41 at Tân Lộc and 7 at An Phú");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_for_a_unit_or_desk_its_officer_was_not_at_does_not_rate() {
    let app = app().await;
    let point = officer_point(&app).await;
    let key = app.store.create_receipt_key(hailong::store::KeyPurpose::Offline, "test").await.unwrap();
    let today = app.today();
    let sign = |unit: &str, desk: Option<&str>| {
        let claims = Claims {
            key_id: key.id,
            issued: today,
            nonce: [1, 2, 3, 4],
            dossier: key.dossier_hash("H01-261124-0077"),
            unit: unit.to_owned(),
            officer: point.officer_code.clone().unwrap(),
            desk: desk.map(str::to_owned),
        };
        key.sign(&claims).unwrap()
    };
    // Another unit, and a desk of another unit, than the officer's.
    let (other_unit, other_desk) = if point.unit_code == "HL.BINH-MINH.TT" {
        ("HL.AN-PHU.TT", "HL.AP.Q1")
    } else {
        ("HL.BINH-MINH.TT", "HL.BM.Q1")
    };
    for token in [sign("HL.NOPE", None), sign(other_unit, None), sign(&point.unit_code, Some(other_desk))] {
        let page = app.client.get(format!("{}/r/{token}", app.base)).send().await.unwrap();
        assert_eq!(page.status(), 404);
        assert!(page.text().await.unwrap().contains("không hợp lệ"));
        let form = [("key", app.form_key(point.slug.as_str()).await), ("q_hai_long_chung", "5".to_owned())];
        let sent = app.client.post(format!("{}/r/{token}", app.base)).form(&form).send().await.unwrap();
        assert_eq!(sent.status(), 404);
    }
    assert_eq!(receipt_responses(&app).await, 0, "nothing stored");
    let good = sign(&point.unit_code, point.desk_code.as_deref());
    let form = form_key(&app, &good).await;
    assert_eq!(send(&app, &good, &form).await, 303, "the officer's own unit and desk rate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_services_own_online_key_is_marked_and_revoked_only_on_purpose() {
    let app = app().await;
    let url = app.db_url();
    let env = [("HAILONG_RECEIPT_SECRET", SECRET)];
    let online = app.store.online_receipt_key("test").await.unwrap();
    let listed = crate::helpers::cli(&url, &["receipts", "key", "list"], &env);
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(listed.contains("this service's own key"), "{listed}");
    let id = online.id.to_string();
    let out = crate::helpers::cli(&url, &["receipts", "key", "revoke", &id], &env);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains("own online key") && said.contains("--force"), "{said}");
    assert!(!app.store.receipt_key(online.id).await.unwrap().unwrap().revoked, "not revoked by mistake");
    let out = crate::helpers::cli(&url, &["receipts", "key", "revoke", &id, "--force"], &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(app.store.receipt_key(online.id).await.unwrap().unwrap().revoked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_judged_by_the_officers_assignment_on_the_day_it_was_issued() {
    // CB018 served at Tân Lộc until yesterday and is at An Phú from today. A token issued at
    // Tân Lộc three days ago still rates; one naming Tân Lộc issued today, or An Phú three days
    // ago, does not.
    let app = app().await;
    let points = app.seed().await;
    let point = points.iter().find(|p| p.officer_code.as_deref() == Some("CB018")).expect("CB018's point").clone();
    assert_eq!(point.unit_code, "HL.TAN-LOC.TT");
    let key = app.store.create_receipt_key(hailong::store::KeyPurpose::Offline, "test").await.unwrap();
    let today = app.today();
    let admin = app.staff("so.noi.vu", Role::Admin, None).await;
    let moved = admin
        .post("/admin/officers/CB018/move", &[("unit", "HL.AN-PHU.TT"), ("desk", ""), ("from", &clock::iso(today))])
        .await;
    assert_eq!(moved.status(), 303, "{}", moved.text().await.unwrap());
    let sign = |unit: &str, desk: Option<&str>, days_ago: i64, dossier: &str| {
        key.sign(&Claims {
            key_id: key.id,
            issued: today - time::Duration::days(days_ago),
            nonce: [4, 3, 2, 1],
            dossier: key.dossier_hash(dossier),
            unit: unit.to_owned(),
            officer: "CB018".to_owned(),
            desk: desk.map(str::to_owned),
        })
        .unwrap()
    };
    for token in [
        sign("HL.TAN-LOC.TT", point.desk_code.as_deref(), 0, "H01-261118-0001"),
        sign("HL.AN-PHU.TT", None, 3, "H01-261115-0002"),
    ] {
        let page = app.client.get(format!("{}/r/{token}", app.base)).send().await.unwrap();
        assert_eq!(page.status(), 404, "{token}");
    }
    assert_eq!(receipt_responses(&app).await, 0);
    let then = sign("HL.TAN-LOC.TT", point.desk_code.as_deref(), 3, "H01-261115-0003");
    let form = form_key(&app, &then).await;
    assert!(!form.is_empty(), "the token of three days ago opens its form");
    assert_eq!(send(&app, &then, &form).await, 303);
    assert_eq!(receipt_responses(&app).await, 1);
    let now = sign("HL.AN-PHU.TT", None, 0, "H01-261118-0004");
    let form = form_key(&app, &now).await;
    assert_eq!(send(&app, &now, &form).await, 303, "today's token names An Phú");
    assert_eq!(receipt_responses(&app).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipts_form_sent_from_another_site_or_with_a_key_made_by_hand_stores_nothing() {
    let app = app().await;
    let point = officer_point(&app).await;
    let key = app.store.create_receipt_key(hailong::store::KeyPurpose::Offline, "test").await.unwrap();
    let token = offline_token(&key, &point, "H01-261118-0100", 0);
    let url = format!("{}/r/{token}", app.base);
    let issued = form_key(&app, &token).await;
    let sent = app
        .client
        .post(&url)
        .header("origin", "http://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&[("key", issued.as_str()), ("q_hai_long_chung", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 403);
    assert!(sent.text().await.unwrap().contains("trang web khác"));
    // A key of the right shape that the service did not issue: the form again, answers kept.
    let forged = format!("{}x", &issued[..issued.len() - 1]);
    let forged = if forged == issued { format!("{}y", &issued[..issued.len() - 1]) } else { forged };
    let sent = app.client.post(&url).form(&[("key", forged.as_str()), ("q_hai_long_chung", "2")]).send().await.unwrap();
    assert_eq!(sent.status(), 422);
    let html = sent.text().await.unwrap();
    assert!(html.contains("chưa được lưu"), "{html}");
    assert_eq!(texts(&html, "input[name=q_hai_long_chung][checked]").len(), 1, "the answer kept: {html}");
    assert_eq!(receipt_responses(&app).await, 0, "nothing stored, the receipt not used");
    assert_eq!(send(&app, &token, &issued).await, 303, "the receipt still rates, from its own form");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bidirectional_controls_never_reach_what_staff_read() {
    // A comment keeps its words without the characters that reorder them (U+202E would show
    // "tốt" after the rest of the line backwards); a procedure name holding one is refused.
    let app = app().await;
    let point = officer_point(&app).await;
    let slug = point.slug.as_str();
    let key = app.form_key(slug).await;
    let comment = "Cán bộ \u{202E}không\u{202C} tốt \u{2067}lắm\u{2069}\u{200F}";
    let sent = app.post(slug, &[("key", key.as_str()), ("q_hai_long_chung", "2"), ("comment", comment)]).await;
    assert_eq!(sent.status(), 303);
    assert_eq!(app.store.comments(10).await.unwrap(), vec!["Cán bộ không tốt lắm".to_owned()]);

    let integration = app.staff("motcua", Role::Integration, Some(&point.unit_code)).await;
    let asked = app
        .client
        .post(format!("{}/api/v1/receipts", app.base))
        .bearer_auth(&integration.key)
        .json(&json!({
            "dossier_code": "000.00.01.H01-261118-0200",
            "unit_code": point.unit_code,
            "officer_code": point.officer_code,
            "desk_code": point.desk_code,
            "procedure": "Đăng ký \u{202E}hnis iahk",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 400);
    let said = asked.text().await.unwrap();
    assert!(said.contains("procedure") && said.contains("bidirectional"), "{said}");
}
