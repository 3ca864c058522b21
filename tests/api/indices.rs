//! Indices: reports, exports from the command line and the API, scoped and audit-logged.

use std::process::Output;

use hailong::domain::account::Role;
use hailong::domain::audit::AuditFilter;
use hailong::domain::clock;

use crate::helpers::{TestApp, TestDb};

const CSV_HEADER: [&str; 19] = [
    "level",
    "code",
    "name",
    "parent_code",
    "period",
    "responses",
    "satisfied_pct",
    "ci_low",
    "ci_high",
    "mean_score",
    "rate_766",
    "sufficient",
    "shrunk_pct",
    "shrunk_low",
    "shrunk_high",
    "rank",
    "band",
    "funnel",
    "funnel_phi",
];

/// The 365 days up to today, where the demo's ratings lie.
fn last_year() -> String {
    let today = crate::helpers::TEST_MOMENT.date();
    format!("{}..{}", clock::iso(today - time::Duration::days(364)), clock::iso(today))
}

fn hailong(db: &TestDb, args: &[&str]) -> Output {
    crate::helpers::cli(&db.url, args, &[("HAILONG_MIN_SAMPLE", "8")])
}

fn two_decimals(cell: &str) -> bool {
    cell.split_once('.')
        .is_some_and(|(whole, frac)| !whole.is_empty() && whole.bytes().all(|b| b.is_ascii_digit()) && frac.len() == 2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_exports_csv_json_and_xlsx_with_the_documented_columns() {
    let db = TestDb::new().await;
    let out = hailong(&db, &["demo", "--responses", "600"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let period = last_year();

    let out = hailong(&db, &["export", "--period", &period, "--level", "officer", "--format", "csv", "--out", "-"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header[..19], CSV_HEADER, "the documented columns, in order");
    assert!(header.contains(&"element_chung_pct".to_owned()) && header.contains(&"points_7".to_owned()));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 25, "every demo officer was rated");
    let (mut sufficient, mut insufficient) = (0, 0);
    for row in &rows {
        assert_eq!(&row[col("level")], "officer");
        assert_eq!(&row[col("period")], period);
        assert!(two_decimals(&row[col("satisfied_pct")]) && two_decimals(&row[col("ci_low")]), "{row:?}");
        let n: u64 = row[col("responses")].parse().unwrap();
        match &row[col("sufficient")] {
            "true" => {
                sufficient += 1;
                assert!(n >= 8);
                assert!(!row[col("rank")].is_empty() && !row[col("band")].is_empty() && !row[col("funnel")].is_empty());
            }
            "false" => {
                insufficient += 1;
                assert!(n < 8);
                assert!(row[col("rank")].is_empty() && row[col("band")].is_empty() && row[col("funnel")].is_empty());
            }
            other => panic!("sufficient = {other:?}"),
        }
        let (p, lo, hi): (f64, f64, f64) = (
            row[col("satisfied_pct")].parse().unwrap(),
            row[col("ci_low")].parse().unwrap(),
            row[col("ci_high")].parse().unwrap(),
        );
        assert!(lo <= p && p <= hi, "{row:?}");
    }
    assert!(sufficient > 0, "{sufficient} sufficient, {insufficient} not");
    let mut ranks: Vec<u64> = rows.iter().filter_map(|r| r[col("rank")].parse().ok()).collect();
    ranks.sort_unstable();
    assert_eq!(ranks[0], 1);

    // Units partition the responses: their counts add up to every response of the period.
    let out = hailong(&db, &["export", "--period", &period, "--level", "unit", "--format", "json", "--out", "-"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let units = json["reports"][0]["rows"].as_array().unwrap();
    let total: u64 = units.iter().map(|r| r["responses"].as_u64().unwrap()).sum();
    assert_eq!(total, 600 - sipas_responses(&db).await);
    assert_eq!(json["reports"][0]["bands_version"], "hailong-mac-dinh-2026");
    // Each row carries its answer distribution per question, blanks excluded.
    for unit in units {
        let overall = unit["distributions"]["hai_long_chung"].as_object().unwrap();
        let answered: u64 = overall.values().map(|n| n.as_u64().unwrap()).sum();
        assert_eq!(answered, unit["responses"].as_u64().unwrap(), "the overall question is required");
        assert_eq!(overall.keys().map(String::as_str).collect::<Vec<_>>(), ["1", "2", "3", "4", "5"]);
    }
    // SIPAS rows carry Cronbach's alpha per element.
    let out = hailong(
        &db,
        &[
            "export",
            "--period",
            &period,
            "--level",
            "questionnaire",
            "--questionnaire",
            "sipas-2017",
            "--format",
            "json",
            "--out",
            "-",
        ],
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let alpha = &json["reports"][0]["rows"][0]["cronbach_alpha"];
    // Which elements have two complete respondents depends on the demo's draw, which depends
    // on today's date: every element listed must be one of SIPAS's, and at least one is there.
    let elements = alpha.as_object().unwrap();
    assert!(!elements.is_empty(), "{alpha}");
    for element in elements.keys().map(String::as_str) {
        assert!(["tiep_can", "thu_tuc", "cong_chuc", "ket_qua", "gop_y"].contains(&element), "{element}");
        let responses = alpha[element]["responses"].as_u64().unwrap();
        assert!(responses >= 2, "{element}: {alpha}");
        // The minimum sample rules the file as it rules the page.
        let sufficient = responses >= 30;
        assert_eq!(alpha[element]["sufficient"], sufficient, "{element}: {alpha}");
        match sufficient {
            true => assert!(alpha[element]["alpha"].as_f64().unwrap() <= 1.0),
            false => assert!(alpha[element]["alpha"].is_null(), "{element}: {alpha}"),
        }
    }

    let file = tempfile::NamedTempFile::with_suffix(".xlsx").unwrap();
    let path = file.path().to_str().unwrap();
    let out =
        hailong(&db, &["export", "--period", &period, "--level", "unit,officer", "--format", "xlsx", "--out", path]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    use calamine::{Data, DataType, Reader};
    let mut workbook = calamine::open_workbook_auto(path).unwrap();
    assert_eq!(workbook.sheet_names(), ["Đơn vị", "Cán bộ", "Phân bố câu trả lời", "Phương pháp"]);
    let distribution = workbook.worksheet_range("Phân bố câu trả lời").unwrap();
    assert_eq!(distribution.get((0, 8)), Some(&Data::String("Số phiếu".into())));
    let overall_answers: f64 = distribution
        .rows()
        .filter(|r| r[0].get_string() == Some("Đơn vị") && r[4].get_string() == Some("hai_long_chung"))
        .map(|r| r[8].get_float().unwrap())
        .sum();
    assert_eq!(overall_answers as u64, total, "the units' distributions add up to their responses");
    let officers = workbook.worksheet_range("Cán bộ").unwrap();
    assert_eq!(officers.get((0, 6)), Some(&Data::String("Tỷ lệ hài lòng (%)".into())));
    assert_eq!(officers.height(), 26, "a header and 25 officers");
    assert!(matches!(officers.get((1, 6)), Some(Data::Float(_))), "numbers are numbers");
    let method = workbook.worksheet_range("Phương pháp").unwrap();
    let text: Vec<String> =
        method.rows().map(|r| r.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(" ")).collect();
    assert!(text.iter().any(|l| l.contains("Wilson")) && text.iter().any(|l| l.contains(&period)), "{text:?}");

    let out = hailong(&db, &["export", "--period", "2026-Q5", "--level", "unit", "--format", "csv", "--out", "-"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--period"));

    let store = hailong::store::Store::open(&db.url, 1).await.unwrap();
    let filter = AuditFilter { action: Some("indices.export".into()), limit: 10, ..AuditFilter::default() };
    let entries = store.audit_entries(&filter).await.unwrap();
    assert_eq!(entries.len(), 4, "each export recorded; the refused one not");
    assert!(entries.iter().all(|e| e.actor == "cli"));
}

async fn sipas_responses(db: &TestDb) -> u64 {
    let store = hailong::store::Store::open(&db.url, 1).await.unwrap();
    let (first, last) = store.counted_days().await.unwrap().unwrap();
    let counts = store.grain_counts(hailong::store::Grain::Unit, first, last).await.unwrap();
    counts
        .iter()
        .filter(|(k, _)| k.questionnaire_id != "mot-cua" && k.question_id.is_empty())
        .map(|(_, c)| *c as u64)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_reports_only_within_the_key_scope_and_records_each_answer() {
    let app = TestApp::spawn().await;
    let questionnaires = hailong::startup::load_questionnaires(&app.store).await.unwrap();
    hailong::demo::seed(&app.store, &questionnaires, 800, 5, |_| {}).await.unwrap();
    let mut keys = Vec::new();
    for (name, role, unit) in [("tl.manager", Role::UnitManager, "HL.TAN-LOC"), ("sonv", Role::HomeAffairs, "HL")] {
        keys.push(app.staff(name, role, Some(unit)).await.key);
    }
    let get = |key: &str, query: &str| {
        let request = app.client.get(format!("{}/api/v1/indices?{query}", app.base)).bearer_auth(key);
        async move { request.send().await.unwrap() }
    };
    let period = last_year();
    let local = get(&keys[0], &format!("period={period}&level=officer")).await;
    assert_eq!(local.status(), 200);
    let local: serde_json::Value = local.json().await.unwrap();
    let rows = local["reports"][0]["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["parent_code"].as_str().unwrap().starts_with("HL.TAN-LOC")), "{rows:?}");
    let province: serde_json::Value =
        get(&keys[1], &format!("period={period}&level=officer")).await.json().await.unwrap();
    assert!(province["reports"][0]["rows"].as_array().unwrap().len() > rows.len());

    assert_eq!(get(&keys[0], &format!("period={period}&level=unit&unit=HL")).await.status(), 404, "above the scope");
    assert_eq!(get(&keys[0], &format!("period={period}&level=unit&unit=HL.BINH-MINH.TT")).await.status(), 404);
    let bad = get(&keys[0], "period=2026-13&level=unit").await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("period"));
    for huge in ["0000-01-01..9999-12-31", "2026-01-01..9999-12-31", "2001-01-01..2012-01-01"] {
        let bad = get(&keys[0], &format!("period={huge}&level=unit")).await;
        assert_eq!(bad.status(), 400, "{huge}");
        let body = bad.text().await.unwrap();
        assert!(body.contains("2000 to 2100") || body.contains("longer than 10 years"), "{huge}: {body}");
    }
    assert_eq!(get(&keys[0], &format!("period={period}&level=officers")).await.status(), 400);

    let csv = get(&keys[0], &format!("period={period}&level=desk&format=csv")).await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(
        csv.text().await.unwrap().starts_with(&format!("\u{feff}{}", CSV_HEADER.join(","))),
        "a BOM, then the header"
    );

    let filter = AuditFilter { action: Some("indices.export".into()), limit: 10, ..AuditFilter::default() };
    let entries = app.store.audit_entries(&filter).await.unwrap();
    assert_eq!(entries.len(), 3, "two JSON answers and one CSV; refusals are not exports");
    assert!(entries.iter().any(|e| e.actor == "user:tl.manager" && e.target.starts_with("desk ")));
}

/// A session cookie of a new account of `role` bound to `unit`.
async fn session(app: &TestApp, name: &str, role: Role, unit: Option<&str>) -> String {
    app.staff(name, role, unit).await.cookie
}

async fn page(app: &TestApp, path: &str, cookie: &str) -> (u16, String) {
    let response = app.client.get(format!("{}{path}", app.base)).header("cookie", cookie).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn seed_ratings(app: &TestApp, n: u64) {
    let questionnaires = hailong::startup::load_questionnaires(&app.store).await.unwrap();
    hailong::demo::seed(&app.store, &questionnaires, n, 7, |_| {}).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unit_and_officer_pages_draw_their_charts_and_the_officer_sheet_prints_a_year() {
    let app = TestApp::spawn_with(|s| s.min_sample = 5).await;
    seed_ratings(&app, 1500).await;
    let manager = session(&app, "quan.ly", Role::UnitManager, Some("HL")).await;
    let period = last_year();

    // The dashboard: this year's figures of the whole scope, its trend, the top units linked.
    let (status, dashboard) = page(&app, "/admin", &manager).await;
    assert_eq!(status, 200);
    let year = app.today().year();
    assert!(dashboard.contains(&format!("Chỉ số hài lòng {year}")), "{dashboard}");
    assert_eq!(dashboard.matches("<svg class=\"chart\"").count(), 2, "the trend and the units' bars");
    assert!(dashboard.contains(&format!("/admin/indices/subtree/HL.TAN-LOC?period={year}")));
    assert!(dashboard.contains("ul class=\"tree\""), "the organisation still follows");

    let (status, unit) = page(&app, &format!("/admin/indices/unit/HL.TTPVHCC?period={period}"), &manager).await;
    assert_eq!(status, 200, "{unit}");
    assert_eq!(unit.matches("<svg class=\"chart\"").count(), 3, "elements, trend and the officers' funnel");
    assert!(unit.contains("Biểu đồ phễu") && unit.contains("class=\"limit998\""));
    assert!(unit.contains("/admin/indices/officer/CB001?"), "the officers link to their pages");
    assert!(unit.contains("Xu hướng 12 tháng") && unit.contains("Phân bố câu trả lời"));
    assert!(unit.contains("Ý kiến góp ý"));
    assert!(unit.contains("Điểm chỉ tiêu đơn vị") && !unit.contains("Điểm chỉ tiêu cán bộ"), "a unit's own points");

    let sipas = format!("/admin/indices/unit/HL.TTPVHCC?period={period}&questionnaire=sipas-2017");
    let (status, sipas) = page(&app, &sipas, &manager).await;
    assert_eq!(status, 200);
    assert!(sipas.contains("Cronbach α") && sipas.contains("Tiếp cận dịch vụ"), "{sipas}");

    let (status, officer) = page(&app, &format!("/admin/indices/officer/CB001?period={period}"), &manager).await;
    assert_eq!(status, 200);
    assert!(officer.contains("Nguyễn Thị Lan") && officer.contains("So với đơn vị"), "{officer}");
    assert!(officer.contains("Hiệu chỉnh Bayes") && officer.contains("Gợi ý mức NĐ 90/2020"));
    assert!(officer.contains("Điểm chỉ tiêu cán bộ") && !officer.contains("Điểm chỉ tiêu đơn vị"));
    assert!(officer.contains("Bình thường (3)"), "five levels unless folded");
    let (_, folded) = page(&app, &format!("/admin/indices/officer/CB001?period={period}&fold=3"), &manager).await;
    assert!(folded.contains("Không hài lòng: <strong>"), "the satisfaction question folded: {folded}");
    // The convenience question has its own levels, which the satisfaction fold's names do not
    // speak for: shown as they are.
    assert!(folded.contains("Rất thuận tiện (5)") && !folded.contains("Hài lòng (4)"), "{folded}");

    let (status, sheet) = page(&app, &format!("/admin/indices/officer/CB001/sheet?period={period}"), &manager).await;
    assert_eq!(status, 200);
    assert!(sheet.contains("PHIẾU TỔNG HỢP") && sheet.contains("KẾT QUẢ ĐÁNH GIÁ SỰ HÀI LÒNG"), "{sheet}");
    // The layout of an administrative document (Decree 30/2020): national title and motto, the
    // issuer (the officer's unit, no letterhead being set), the place and date line, signatures.
    assert!(sheet.contains("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM") && sheet.contains("Độc lập - Tự do - Hạnh phúc"));
    assert!(sheet.contains(", ngày ") && sheet.contains(" tháng ") && sheet.contains(" năm "), "the date line");
    assert!(
        sheet.contains("NGƯỜI LẬP BIỂU") && sheet.contains("THỦ TRƯỞNG ĐƠN VỊ") && sheet.contains("(Ký, ghi rõ họ tên")
    );
    let rank = crate::helpers::texts(&sheet, "table td").into_iter().find(|t| t.contains(" · ")).unwrap_or_default();
    assert!(
        rank.split(" · ").next().is_some_and(|r| r.is_empty() || r.split('/').count() == 2),
        "rank as 14/25: {rank}"
    );
    for q in 1..=4 {
        assert!(sheet.contains(&format!("{year}-Q{q}")), "the four quarters of {year}");
    }
    assert!(!sheet.contains("<nav"), "a sheet prints without the navigation");
    // A sheet people sign says what its three levels gather.
    assert!(
        sheet.contains("Không hài lòng = Bình thường (3) + Không hài lòng (2) + Rất không hài lòng (1)"),
        "the fold is stated: {sheet}"
    );

    // Looking at an officer's figures is recorded, as exporting them is.
    let filter = AuditFilter { action: Some("indices.view".into()), ..AuditFilter::default() };
    let entries = app.store.audit_entries(&filter).await.unwrap();
    assert_eq!(entries.len(), 3, "two views of the page and the sheet of CB001 (the unit page is not personal)");
    assert!(entries.iter().all(|e| e.target == "officer:CB001" && e.actor == "user:quan.ly"));

    // A bad period is a clear message; a code that does not exist is not found.
    let (status, bad) = page(&app, "/admin/indices/officer/CB001?period=2026-13", &manager).await;
    assert_eq!(status, 400);
    assert!(bad.contains("Kỳ báo cáo không đúng"));
    let (status, missing) = page(&app, "/admin/indices/desk/KHONG-CO", &manager).await;
    assert_eq!(status, 404);
    assert!(missing.contains("ngoài phạm vi") && !missing.contains("mã QR"), "a message for staff: {missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_are_listed_for_managers_only_from_five_responses_masked_and_undated() {
    let app = TestApp::spawn().await;
    let point = app.officer_point().await;
    let officer = point.officer_code.clone().unwrap();
    let manager = session(&app, "quan.ly", Role::UnitManager, Some("HL")).await;
    let viewer = session(&app, "xem", Role::Viewer, Some("HL")).await;
    let path = format!("/admin/indices/officer/{officer}");
    let comments = [
        "Cán bộ nhiệt tình, gọi tôi số 0912 345 678",
        "Chờ hơi lâu",
        "Rất tốt",
        "Cần thêm ghế chờ",
        "Hướng dẫn rõ ràng",
    ];
    for (i, comment) in comments.iter().enumerate() {
        let key = app.form_key(point.slug.as_str()).await;
        let posted =
            app.post(point.slug.as_str(), &[("key", &key), ("q_hai_long_chung", "5"), ("comment", comment)]).await;
        assert_eq!(posted.status(), 303, "rating {i}");
        let (_, html) = page(&app, &path, &manager).await;
        if i < 4 {
            assert!(html.contains("cần ít nhất 5 phiếu"), "{} responses: not yet", i + 1);
            assert!(!html.contains("Chờ hơi lâu"));
        }
    }
    let (_, html) = page(&app, &path, &manager).await;
    let listed = crate::helpers::texts(&html, "ul.comments li");
    assert_eq!(listed.len(), 5, "{html}");
    let mut sorted = listed.clone();
    sorted.sort_by(|a, b| hailong::domain::text::compare(a, b));
    assert_eq!(listed, sorted, "in Vietnamese alphabetical order of their text, not of their time");
    assert!(listed.iter().any(|c| c.contains("Cán bộ nhiệt tình") && !c.contains("345 678")), "{listed:?}");
    let (_, html) = page(&app, &path, &viewer).await;
    assert!(html.contains("chỉ hiển thị cho lãnh đạo đơn vị") && !html.contains("Chờ hơi lâu"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_reads_its_target_alone_and_finds_what_the_whole_report_says_of_it() {
    use hailong::app::reports;
    use hailong::domain::account::Scope;
    use hailong::domain::period::Period;
    use hailong::domain::report::Level;
    use hailong::domain::report::Query;

    let app = TestApp::spawn().await;
    seed_ratings(&app, 1500).await;
    // Fold the past months, so that the points read month sums and day counts both.
    let today = app.today();
    app.store.fold_counts(today - time::Duration::days(40)).await.unwrap();
    let registry = hailong::startup::load_questionnaires(&app.store).await.unwrap();
    let settings = hailong::config::Settings::default();
    let period = Period::parse(&last_year()).unwrap();
    for (level, code) in [(Level::Unit, "HL.TTPVHCC"), (Level::Desk, "HL.TT.Q01"), (Level::Officer, "CB001")] {
        let query =
            Query { period, level, unit: None, questionnaire: "mot-cua".into(), channel: None, without_flagged: false };
        let detail = reports::detail(&app.store, &registry, &settings, &query, code, &Scope::All, false).await.unwrap();
        let points: Vec<_> = detail.months.iter().chain(&detail.quarters).collect();
        assert_eq!(points.len(), 16);
        let mut rated = 0;
        for (point, row) in points {
            let whole = Query { period: *point, ..query.clone() };
            let whole = reports::build(&app.store, &registry, &settings, &whole, &Scope::All).await.unwrap();
            let expected = whole.rows.iter().filter(|r| r.target.code == code).max_by_key(|r| r.responses);
            assert_eq!(row.as_ref().map(|r| r.responses), expected.map(|r| r.responses), "{level:?} {code} {point}");
            assert_eq!(row.as_ref().map(|r| &r.figures), expected.map(|r| &r.figures), "{level:?} {code} {point}");
            rated += usize::from(row.is_some());
        }
        assert!(rated >= 8, "{level:?} {code}: most points have ratings ({rated})");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_that_score_alike_are_one_row_and_the_method_says_so() {
    use hailong::domain::response::{Channel, IdempotencyKey, NewResponse};
    let app = TestApp::spawn().await;
    let point = app.officer_point().await;
    let officer = point.officer_code.clone().unwrap();
    let admin = app.staff("so.noi.vu", Role::Admin, None).await;
    let now = app.now_ms();
    let response = |version: i64, overall: i64| NewResponse {
        point_id: point.id,
        questionnaire_id: "mot-cua".into(),
        questionnaire_version: version,
        answers: vec![("hai_long_chung".into(), overall), ("thuan_tien".into(), 4)],
        field: None,
        comment: None,
        channel: Channel::Qr,
        submitted_at_ms: now,
        key: IdempotencyKey::generate_at(now - 60_000),
        receipt: None,
        device: None,
    };
    // Two answered version 1 before the wording changed, one version 2 after.
    app.store.commit_group(&[response(1, 5), response(1, 4), response(2, 2)]).await.unwrap();

    let year = clock::vietnam_date(now).year();
    let json: serde_json::Value =
        admin.api(&format!("/api/v1/indices?period={year}&level=officer")).await.json().await.unwrap();
    let report = &json["reports"][0];
    let rows: Vec<&serde_json::Value> =
        report["rows"].as_array().unwrap().iter().filter(|r| r["code"] == officer.as_str()).collect();
    assert_eq!(rows.len(), 1, "one row for the officer, not one per wording: {rows:?}");
    assert_eq!(rows[0]["responses"], 3);
    assert_eq!(rows[0]["version"], 2, "under the newest version");
    let method = report["method"].to_string();
    assert!(method.contains("mot-cua@2 (gồm phiếu các phiên bản 1, 2"), "{method}");
}
