//! The citizen's form over HTTP.

use std::io::Read;

use crate::helpers::{TestApp, texts};

#[tokio::test]
async fn the_form_says_who_is_rated_and_asks_every_question() {
    let app = TestApp::spawn().await;
    let point = app.officer_point().await;

    let response = app.get(&format!("/s/{}", point.slug)).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();

    let who = texts(&html, ".who").join(" ");
    assert!(who.contains(point.officer_name.as_deref().unwrap()), "{who}");
    assert!(who.contains("Quầy"), "{who}");
    assert_eq!(texts(&html, "html[lang=vi]").len(), 1);
    // One fieldset with a legend per question (7), the field list and the comment.
    assert_eq!(texts(&html, "fieldset > legend").len(), 9);
    // Every radio sits inside its label, so the whole label is the target.
    assert_eq!(texts(&html, "input[type=radio]").len(), texts(&html, "label.opt > input[type=radio]").len());
    assert!(texts(&html, "label.opt").iter().any(|t| t == "Rất hài lòng"));
    assert!(texts(&html, "details.notice summary").iter().any(|t| t.contains("dữ liệu cá nhân")));
    assert_eq!(texts(&html, "script").len(), 0, "no JavaScript");

    let english = app.get(&format!("/s/{}?lang=en", point.slug)).await.text().await.unwrap();
    assert_eq!(texts(&english, "html[lang=en]").len(), 1);
    assert!(texts(&english, "label.opt").iter().any(|t| t == "Very satisfied"));
    assert!(texts(&english, "button").iter().any(|t| t == "Send rating"));
}

#[tokio::test]
async fn a_valid_rating_is_stored_then_thanked() {
    let app = TestApp::spawn().await;
    let point = app.officer_point().await;
    let key = app.form_key(point.slug.as_str()).await;

    let response = app
        .post(
            point.slug.as_str(),
            &[
                ("key", &key),
                ("lang", "vi"),
                ("website", ""),
                ("q_hai_long_chung", "4"),
                ("q_thuan_tien", ""),
                ("q_ct7_thai_do", "2"),
                ("field", "HT"),
                ("comment", "Gọi lại cho tôi số 0987 654 321 nhé"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, format!("/s/{}/cam-on?lang=vi", point.slug));
    let thanks = app.get(&location).await;
    assert_eq!(thanks.status(), 200);
    assert!(texts(&thanks.text().await.unwrap(), "h1")[0].contains("Cảm ơn"));

    assert_eq!(app.responses().await, 1);
    let counts = app.store.answer_counts(hailong::store::CountBy::Officer, 0, 99_999_999).await.unwrap();
    let answered: Vec<_> = counts.iter().map(|c| (c.question_id.as_str(), c.value, c.count)).collect();
    // The blank stays unanswered; the response's own overall score (one element answered,
    // satisfied) is counted beside its answers.
    assert_eq!(
        answered,
        vec![("composite.overall", 10_000, 1), ("ct7_thai_do", 2, 1), ("hai_long_chung", 4, 1)],
        "blank stays unanswered"
    );
    assert!(counts.iter().all(|c| c.target_code == point.officer_code.clone().unwrap()));
    let comments = app.store.comments(10).await.unwrap();
    assert_eq!(comments, vec!["Gọi lại cho tôi số [đã ẩn] nhé".to_owned()]);
}

#[tokio::test]
async fn a_double_tap_or_a_retry_stores_one_rating() {
    let app = TestApp::spawn().await;
    let point = app.officer_point().await;
    let slug = point.slug.as_str().to_owned();
    let key = app.form_key(&slug).await;
    let form = [("key", key.as_str()), ("q_hai_long_chung", "5")];

    // Two taps at once, then the back button and a resubmission.
    let (a, b) = tokio::join!(app.post(&slug, &form), app.post(&slug, &form));
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (303, 303));
    assert_eq!(app.post(&slug, &form).await.status(), 303);
    assert_eq!(app.responses().await, 1);

    // A fresh form is a fresh rating.
    let key2 = app.form_key(&slug).await;
    assert_ne!(key, key2);
    assert_eq!(app.post(&slug, &[("key", &key2), ("q_hai_long_chung", "3")]).await.status(), 303);
    assert_eq!(app.responses().await, 2);
}

#[tokio::test]
async fn bad_input_is_shown_again_with_a_message_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let point = app.officer_point().await;
    let slug = point.slug.as_str();
    let key = app.form_key(slug).await;
    let long = "ồ".repeat(1001);

    // (case, fields, status, message)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case<'_>> = vec![
        ("required answer missing", vec![("q_ct1_thoi_gian", "2")], 422, "Xin vui lòng chọn một mức"),
        ("out of range", vec![("q_hai_long_chung", "6")], 422, "Lựa chọn không hợp lệ"),
        ("not a number", vec![("q_hai_long_chung", "năm")], 422, "Lựa chọn không hợp lệ"),
        ("unknown question", vec![("q_hai_long_chung", "5"), ("q_la", "1")], 422, "không thuộc phiếu"),
        ("oversize comment", vec![("q_hai_long_chung", "5"), ("comment", &long)], 422, "vượt quá 1000 ký tự"),
        ("unknown procedure field", vec![("q_hai_long_chung", "5"), ("field", "KHONG")], 422, "Lựa chọn không hợp lệ"),
    ];
    for (case, mut fields, status, message) in cases {
        fields.push(("key", &key));
        let response = app.post(slug, &fields).await;
        assert_eq!(response.status().as_u16(), status, "{case}");
        let html = response.text().await.unwrap();
        assert!(html.contains(message), "{case}: no message {message:?}");
        assert_eq!(texts(&html, "[role=alert]").len(), 1, "{case}: one summary");
        // The summary lists every problem it counts (a question, the field or the comment as a
        // linked item; a problem of the whole form as a line of its own).
        let counted: usize = html.split("có ").nth(1).and_then(|s| s.split(' ').next()).unwrap().parse().unwrap();
        let listed = texts(&html, "[role=alert] li").len() + texts(&html, "[role=alert] > p").len() - 1;
        assert_eq!(listed, counted, "{case}: {counted} counted, {listed} listed");
    }

    // The citizen's choices survive the round trip.
    let response = app.post(slug, &[("key", &key), ("q_ct1_thoi_gian", "2"), ("comment", "Chờ lâu")]).await;
    let html = response.text().await.unwrap();
    let doc = scraper::Html::parse_document(&html);
    let checked = scraper::Selector::parse("input[name=q_ct1_thoi_gian][checked]").unwrap();
    assert_eq!(doc.select(&checked).next().and_then(|e| e.value().attr("value")), Some("2"));
    assert_eq!(texts(&html, "textarea[name=comment]"), vec!["Chờ lâu"]);
    assert_eq!(texts(&html, "#f_hai_long_chung.err .msg").len(), 1, "the message sits beside the question");

    // Bytes that are not UTF-8, and a form without its one-time key.
    let response = app.post_raw(slug, format!("key={key}&q_hai_long_chung=5&comment=%FF%FE")).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("lỗi mã hóa"));
    let response = app.post(slug, &[("q_hai_long_chung", "5")]).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("đã cũ"));

    assert_eq!(app.responses().await, 0);
}

#[tokio::test]
async fn unknown_and_revoked_points_are_refused() {
    let app = TestApp::spawn().await;
    let point = app.officer_point().await;
    let slug = point.slug.as_str().to_owned();
    let key = app.form_key(&slug).await;

    assert_eq!(app.get("/s/AAAAAAAAAAAA").await.status(), 404);
    assert_eq!(app.get("/s/..%2F..%2Fetc").await.status(), 404);
    assert_eq!(app.post("AAAAAAAAAAAA", &[("key", &key), ("q_hai_long_chung", "5")]).await.status(), 404);

    assert!(app.store.revoke_point(&point.slug, "test").await.unwrap());
    // The form was open when the point was revoked: the writer refuses it inside its transaction.
    let response = app.post(&slug, &[("key", &key), ("q_hai_long_chung", "5")]).await;
    assert_eq!(response.status(), 410);
    assert!(response.text().await.unwrap().contains("ngừng sử dụng"));
    assert_eq!(app.get(&format!("/s/{slug}")).await.status(), 410);
    assert_eq!(app.responses().await, 0);
}

#[tokio::test]
async fn the_honeypot_thanks_a_robot_and_keeps_nothing() {
    let app = TestApp::spawn().await;
    let point = app.officer_point().await;
    let key = app.form_key(point.slug.as_str()).await;
    let response =
        app.post(point.slug.as_str(), &[("key", &key), ("q_hai_long_chung", "5"), ("website", "http://spam")]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(app.responses().await, 0);
}

#[tokio::test]
async fn one_device_cannot_flood_a_point_but_other_points_stay_open() {
    let app = TestApp::spawn_with(|s| s.submit_limit_per_minute = 2).await;
    let points = app.seed().await;
    let officers: Vec<_> = points.iter().filter(|p| p.officer_code.is_some()).take(2).collect();
    let (first, second) = (officers[0].slug.as_str(), officers[1].slug.as_str());
    crate::helpers::inside_one_window(app.clock(), 60, 15);

    for _ in 0..2 {
        let key = app.form_key(first).await;
        assert_eq!(app.post(first, &[("key", &key), ("q_hai_long_chung", "5")]).await.status(), 303);
    }
    let key = app.form_key(first).await;
    let response = app.post(first, &[("key", &key), ("q_hai_long_chung", "5")]).await;
    assert_eq!(response.status(), 429);
    assert!(response.text().await.unwrap().contains("chờ một phút"));

    let key = app.form_key(second).await;
    assert_eq!(app.post(second, &[("key", &key), ("q_hai_long_chung", "5")]).await.status(), 303);
    assert_eq!(app.responses().await, 3);
}

#[tokio::test]
async fn instances_sharing_a_database_keep_one_limit_for_a_device() {
    // Two instances behind a proxy that sends one citizen's requests to either of them.
    let app = TestApp::spawn_with(|s| s.submit_limit_per_minute = 2).await;
    let point = app.officer_point().await;
    let second = app.beside(|s| s.submit_limit_per_minute = 2).await;
    let slug = point.slug.as_str();
    // The limits count in fixed windows (a minute; a quarter of an hour for sign-ins).
    crate::helpers::inside_one_window(app.clock(), 900, 40);
    crate::helpers::inside_one_window(app.clock(), 60, 20);
    let mut ratings = Vec::new();
    for i in 0..4 {
        let instance = if i % 2 == 0 { &app } else { &second };
        let key = instance.form_key(slug).await;
        ratings.push(instance.post(slug, &[("key", &key), ("q_hai_long_chung", "5")]).await.status().as_u16());
    }
    let sign_in = |instance: &TestApp| {
        instance
            .client
            .post(format!("{}/admin/login", instance.base))
            .header("origin", instance.base.clone())
            .form(&[("name", "nobody"), ("password", "not the password"), ("next", "/admin")])
            .send()
    };
    let mut sign_ins = Vec::new();
    for i in 0..32 {
        let instance = if i % 2 == 0 { &app } else { &second };
        sign_ins.push(sign_in(instance).await.unwrap().status().as_u16());
    }
    let refused = sign_ins.iter().filter(|s| **s == 429).count();
    if app.store.is_shared() {
        // PostgreSQL: the limits are counted in the database, whichever instance is asked.
        assert_eq!(ratings, [303, 303, 429, 429]);
        assert_eq!(app.responses().await, 2);
        assert_eq!(refused, 2, "thirty attempts in all, then refused: {sign_ins:?}");
    } else {
        // A single SQLite server counts in memory: a second process on the file has its own.
        assert_eq!(ratings, [303, 303, 303, 303]);
        assert_eq!(refused, 0, "{sign_ins:?}");
    }
    drop(second);
    app.stop().await;
}

#[tokio::test]
async fn a_database_that_cannot_commit_gets_try_again_never_thanks() {
    let app = TestApp::spawn().await;
    let point = app.officer_point().await;
    let slug = point.slug.as_str();
    let key = app.form_key(slug).await; // the point and field list are now cached

    app.store.close().await;
    let response = app.post(slug, &[("key", &key), ("q_hai_long_chung", "2"), ("comment", "Giữ nguyên")]).await;
    assert_eq!(response.status(), 503);
    let html = response.text().await.unwrap();
    assert!(html.contains("chưa lưu được"), "says it was not saved");
    assert_eq!(texts(&html, "textarea[name=comment]"), vec!["Giữ nguyên"], "answers kept");
    assert_eq!(app.get("/readyz").await.status(), 503, "not ready: it cannot commit");
    assert_eq!(app.get("/healthz").await.status(), 200, "but alive");
}

#[tokio::test]
async fn the_first_visit_is_small_and_assets_are_cached() {
    let app = TestApp::spawn().await;
    let point = app.officer_point().await;
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let get_gz = |path: String| {
        let raw = raw.clone();
        let base = app.base.clone();
        async move { raw.get(format!("{base}{path}")).header("accept-encoding", "gzip").send().await.unwrap() }
    };

    let page = get_gz(format!("/s/{}", point.slug)).await;
    assert_eq!(page.headers()["content-encoding"], "gzip");
    let page_bytes = page.bytes().await.unwrap();
    let mut html = String::new();
    flate2_decode(&page_bytes, &mut html);
    let mut total = page_bytes.len();
    for path in [texts_attr(&html, "link[rel=stylesheet]", "href"), texts_attr(&html, "link[rel=icon]", "href")] {
        let asset = get_gz(path).await;
        assert_eq!(asset.status(), 200);
        assert!(asset.headers()["cache-control"].to_str().unwrap().contains("immutable"));
        total += asset.bytes().await.unwrap().len();
    }
    assert!(total <= 14 * 1024, "first visit is {total} bytes compressed");
    assert_eq!(app.get("/static/app-0000000000.css").await.status(), 404);

    // The form is compressed once with a slot for its one-time key: every copy, compressed or
    // not, is the same page with a key of its own, and the key it carries is the one stored.
    let key_of = |html: &str| texts_attr(html, "input[name=key]", "value");
    let second = get_gz(format!("/s/{}", point.slug)).await.bytes().await.unwrap();
    let mut second_html = String::new();
    flate2_decode(&second, &mut second_html);
    let plain =
        raw.get(format!("{}/s/{}", app.base, point.slug)).header("accept-encoding", "identity").send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let plain_html = plain.text().await.unwrap();
    let keys = [key_of(&html), key_of(&second_html), key_of(&plain_html)];
    assert!(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2], "{keys:?}");
    assert_eq!(second_html.replace(&keys[1], &keys[0]), html);
    assert_eq!(plain_html.replace(&keys[2], &keys[0]), html);
    let answers = [("key", keys[1].as_str()), ("q_hai_long_chung", "5"), ("q_ct7_thai_do", "2")];
    assert_eq!(app.post(point.slug.as_str(), &answers).await.status(), 303);
    assert_eq!(app.responses().await, 1);
}

fn texts_attr(html: &str, selector: &str, attr: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel).next().and_then(|e| e.value().attr(attr)).unwrap().to_owned()
}

fn flate2_decode(bytes: &[u8], out: &mut String) {
    let mut decoder = flate2::read::GzDecoder::new(bytes);
    decoder.read_to_string(out).unwrap();
}

#[tokio::test]
async fn ratings_in_flight_at_shutdown_are_committed() {
    let app = TestApp::spawn().await;
    let point = app.officer_point().await;
    let slug = point.slug.as_str().to_owned();
    let mut keys = Vec::new();
    for _ in 0..40 {
        keys.push(app.form_key(&slug).await);
    }
    let client = app.client.clone();
    let url = format!("{}/s/{slug}", app.base);
    let posts: Vec<_> = keys
        .into_iter()
        .map(|key| {
            let client = client.clone();
            let url = url.clone();
            tokio::spawn(async move {
                client.post(url).form(&[("key", key.as_str()), ("q_hai_long_chung", "5")]).send().await
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let db_url = app.db_url();
    let db = app.stop().await;
    let mut acknowledged = 0;
    for post in posts {
        if let Ok(Ok(r)) = post.await
            && r.status() == 303
        {
            acknowledged += 1;
        }
    }
    let reopened = hailong::store::Store::open(&db_url, 1).await.unwrap();
    let stored = reopened.response_count().await.unwrap();
    assert!(stored >= acknowledged, "{acknowledged} acknowledged but only {stored} stored");
    reopened.close().await;
    drop(db);
}

#[tokio::test]
async fn health_and_start_page() {
    let app = TestApp::spawn().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    let start = app.get("/").await;
    assert_eq!(start.status(), 200);
    assert!(texts(&start.text().await.unwrap(), "h1")[0].contains("hài lòng"));
    assert_eq!(app.get("/khong-co").await.status(), 404);
}

#[tokio::test]
async fn a_point_takes_only_its_own_questionnaire() {
    let app = TestApp::spawn().await;
    let points = app.seed().await;
    let unit_point = points.iter().find(|p| p.questionnaire_id == "sipas-2017").unwrap();
    let officer_point = points.iter().find(|p| p.questionnaire_id == "mot-cua").unwrap();
    let sipas = |key: String| -> Vec<(String, String)> {
        ["tiep_can", "thu_tuc", "cong_chuc", "ket_qua", "gop_y"]
            .iter()
            .map(|e| (format!("q_hl_{e}"), "4".to_owned()))
            .chain([("key".to_owned(), key), ("v".to_owned(), "sipas-2017@1".to_owned())])
            .collect()
    };
    let post =
        |slug: &str, form: Vec<(String, String)>| app.client.post(format!("{}/s/{slug}", app.base)).form(&form).send();

    // SIPAS answers posted to a one-stop point: refused, the point's own form shown again.
    let key = app.form_key(officer_point.slug.as_str()).await;
    let response = post(officer_point.slug.as_str(), sipas(key.clone())).await.unwrap();
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert_eq!(texts_attr(&html, "input[name=v]", "value"), "mot-cua@2");
    assert!(html.contains("đã thay đổi"));
    // An unknown version of the point's own questionnaire too. (The unit point's form is not
    // loaded, so that its point is not cached before it moves below.)
    let forged = [("key", key.as_str()), ("v", "mot-cua@99"), ("q_hai_long_chung", "4")];
    assert_eq!(app.post(officer_point.slug.as_str(), &forged).await.status(), 422);
    assert_eq!(app.responses().await, 0, "nothing stored");

    // The point moves to the one-stop form while a citizen is filling in SIPAS: that form is
    // no longer the point's, and the citizen is shown the new one.
    assert!(app.store.set_point_questionnaire(&unit_point.slug, "mot-cua", "test").await.unwrap());
    let response = post(unit_point.slug.as_str(), sipas(key.clone())).await.unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(app.responses().await, 0);
    // Its own questionnaire is taken, on the same key.
    let own = [("key", key.as_str()), ("v", "mot-cua@1"), ("q_hai_long_chung", "4")];
    assert_eq!(app.post(unit_point.slug.as_str(), &own).await.status(), 303);
    let counts = app.store.answer_counts(hailong::store::CountBy::Unit, 0, 99_999_999).await.unwrap();
    assert!(counts.iter().all(|c| c.questionnaire_id == "mot-cua"), "{counts:?}");
}

#[tokio::test]
async fn only_a_key_the_service_issued_stores_and_its_draw_time_cannot_be_forged() {
    let app = TestApp::spawn_with(|s| {
        s.flags = hailong::domain::flags::Rules::default();
        s.submit_limit_per_minute = 0;
    })
    .await;
    let point = app.officer_point().await;
    let slug = point.slug.as_str();
    // Made by hand, never loading the form: a draw time set 30 s back, then random bytes, as
    // the unauthenticated key was; and keys of the right length with a wrong tag.
    let forged_old = hailong::domain::response::IdempotencyKey::generate_at(app.now_ms() - 30_000);
    let real = app.form_key(slug).await;
    let mut flipped = real.clone().into_bytes();
    flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    for key in [forged_old.as_str(), flipped.as_str(), "", "zzzz000000000000000001"] {
        let sent = app.post(slug, &[("key", key), ("q_hai_long_chung", "5"), ("comment", "Giữ nguyên")]).await;
        assert_eq!(sent.status(), 422, "{key:?}");
        let html = sent.text().await.unwrap();
        assert!(html.contains("chưa được lưu"), "{html}");
        assert_eq!(texts(&html, "textarea[name=comment]"), vec!["Giữ nguyên"], "the answers kept");
        let fresh = crate::helpers::key_in(&html);
        assert!(fresh != key && fresh.len() == 35, "a fresh key to send again: {fresh}");
    }
    assert_eq!(app.responses().await, 0, "nothing stored");
    // The real form, sent a second after it was drawn: its time is the server's, so `fast`.
    app.clock().advance(1_000);
    assert_eq!(app.post(slug, &[("key", &real), ("q_hai_long_chung", "5")]).await.status(), 303);
    assert_eq!(app.responses().await, 1);
    let today = hailong::domain::clock::date_bucket(app.today());
    let counts = app.store.answer_counts(hailong::store::CountBy::Officer, today, today).await.unwrap();
    assert_eq!(counts.iter().filter(|c| c.question_id == "flag.fast").map(|c| c.count).sum::<i64>(), 1);
}

#[tokio::test]
async fn a_send_from_another_site_stores_nothing_and_offers_the_form() {
    let app = TestApp::spawn_with(|s| s.submit_limit_per_minute = 0).await;
    let point = app.officer_point().await;
    let slug = point.slug.as_str();
    let url = format!("{}/s/{slug}", app.base);
    let post = |key: String, headers: &[(&'static str, &'static str)]| {
        let mut request = app.client.post(&url).form(&[("key", key.as_str()), ("q_hai_long_chung", "1")]);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    for headers in [
        &[("origin", "http://evil.example"), ("sec-fetch-site", "cross-site")][..],
        &[("origin", "http://evil.example")][..],
        &[("origin", "null")][..],
        &[("sec-fetch-site", "cross-site")][..],
    ] {
        let sent = post(app.form_key(slug).await, headers).await.unwrap();
        assert_eq!(sent.status(), 403, "{headers:?}");
        let html = sent.text().await.unwrap();
        assert!(html.contains("trang web khác"), "{html}");
        assert_eq!(texts(&html, "input[name=key]").len(), 1, "the form offered again");
        assert!(texts(&html, "input[type=radio][checked]").is_empty(), "not with that page's answers");
    }
    assert_eq!(app.responses().await, 0, "nothing stored");
    // The service's own page, and an old browser that says neither, are taken.
    let own: &'static str = Box::leak(app.base.clone().into_boxed_str());
    assert_eq!(
        post(app.form_key(slug).await, &[("origin", own), ("sec-fetch-site", "same-origin")]).await.unwrap().status(),
        303
    );
    assert_eq!(post(app.form_key(slug).await, &[]).await.unwrap().status(), 303);
    // A browser without fetch metadata sends its page's origin: the service's own pages let it
    // (`Referrer-Policy: same-origin`; under `no-referrer` it would send `Origin: null`).
    let page = app.client.get(&url).send().await.unwrap();
    assert_eq!(page.headers()["referrer-policy"], "same-origin");
    assert_eq!(post(app.form_key(slug).await, &[("origin", own)]).await.unwrap().status(), 303);
    assert_eq!(app.responses().await, 3);
}
