//! The contracts others build on, held as snapshots (`insta`): the CSV header of an export, the
//! JSON of the API (its lists, its errors, the shape of an indices row, its OpenAPI text) and
//! the error pages. A change to any of them shows as a diff to review, never silently.
//! `cargo insta review` (or `INSTA_UPDATE=always cargo test`) accepts an intended change.

use hailong::domain::account::Role;
use insta::assert_snapshot;
use serde_json::Value;

use crate::helpers::TestApp;

/// Seeds the demo province with `ratings` ratings; returns an admin and a manager of one ward.
async fn seeded(ratings: u64) -> (TestApp, crate::helpers::Staff, crate::helpers::Staff) {
    let app = TestApp::spawn().await;
    let questionnaires = hailong::startup::load_questionnaires(&app.store).await.unwrap();
    hailong::demo::seed(&app.store, &questionnaires, ratings, 3, |_| {}).await.unwrap();
    let admin = app.staff("so.noi.vu", Role::Admin, None).await;
    let manager = app.staff("tl.manager", Role::UnitManager, Some("HL.TAN-LOC")).await;
    (app, admin, manager)
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap()
}

/// The JSON with every collection point's slug and address replaced (they are random).
fn without_slugs(mut value: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    match k.as_str() {
                        "slug" => *v = Value::String("[slug]".into()),
                        "url" => *v = Value::String("[url]".into()),
                        _ => walk(v),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

/// The 365 days up to today, where the demo's ratings lie.
fn last_year() -> String {
    use hailong::domain::clock;
    let today = crate::helpers::TEST_MOMENT.date();
    format!("{}..{}", clock::iso(today - time::Duration::days(364)), clock::iso(today))
}

#[tokio::test]
async fn the_api_lists_keep_their_fields() {
    let (app, _admin, manager) = seeded(0).await;
    for path in ["/api/v1/units", "/api/v1/desks", "/api/v1/officers", "/api/v1/units/HL.TAN-LOC"] {
        let response = manager.api(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let name = path.trim_start_matches("/api/v1/").replace('/', "-");
        assert_snapshot!(format!("api-{name}"), pretty(&response.json().await.unwrap()));
    }
    let points: Value = manager.api("/api/v1/points").await.json().await.unwrap();
    assert_snapshot!("api-points", pretty(&without_slugs(points)));
    drop(app);
}

#[tokio::test]
async fn the_api_errors_say_their_meaning() {
    let (app, _admin, manager) = seeded(0).await;
    let mut seen = Vec::new();
    for path in [
        "/api/v1/units/NO-SUCH-UNIT",
        "/api/v1/units/HL",
        "/api/v1/points/not-a-slug",
        "/api/v1/indices?period=2026-13",
        "/api/v1/indices?level=everything",
        "/api/v1/indices?format=pdf",
        "/api/v1/indices?unit=HL",
    ] {
        let response = manager.api(path).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        seen.push(format!("{status} {path}\n{}", pretty(&body)));
    }
    let anonymous = app.client.get(format!("{}/api/v1/units", app.base)).send().await.unwrap();
    let status = anonymous.status().as_u16();
    seen.push(format!("{status} /api/v1/units (no key)\n{}", pretty(&anonymous.json().await.unwrap())));
    assert_snapshot!("api-errors", seen.join("\n\n"));
}

#[tokio::test]
async fn the_openapi_description_is_stable() {
    let app = TestApp::spawn().await;
    let description: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert_snapshot!("openapi", pretty(&description));
}

#[tokio::test]
async fn an_export_keeps_its_csv_header_and_json_row_shape() {
    let (_app, admin, _manager) = seeded(300).await;
    let period = last_year();
    let csv = admin.api(&format!("/api/v1/indices?period={period}&level=officer&format=csv")).await;
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    let text = text.strip_prefix('\u{feff}').expect("the CSV begins with a byte-order mark, for Excel");
    let header = text.lines().next().unwrap().split(',').collect::<Vec<_>>().join("\n");
    assert_snapshot!("csv-header", header);

    let json: Value = admin.api(&format!("/api/v1/indices?period={period}&level=officer")).await.json().await.unwrap();
    let report = &json["reports"][0];
    let shape = |v: &Value| -> String {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys.join("\n")
    };
    assert_snapshot!("json-report-keys", shape(report));
    assert_snapshot!("json-row-keys", shape(&report["rows"][0]));
}

#[tokio::test]
async fn error_pages_keep_their_words() {
    let (app, admin, manager) = seeded(0).await;
    let points = app.store.active_points().await.unwrap();
    let revoked = points.iter().find(|p| p.officer_code.is_some()).unwrap().slug.clone();
    let gone = admin.post(&format!("/admin/points/{revoked}/revoke"), &[]).await;
    assert_eq!(gone.status(), 303);

    let mut pages = Vec::new();
    for path in ["/s/khong-co-ma-nay".to_owned(), format!("/s/{revoked}")] {
        let response = app.get(&path).await;
        pages.push((response.status().as_u16(), "citizen", response.text().await.unwrap()));
    }
    for path in ["/admin/officers/NO-SUCH", "/admin/indices/unit/HL"] {
        let response = manager.get(path).await;
        pages.push((response.status().as_u16(), "manager", response.text().await.unwrap()));
    }
    let refused =
        admin.post("/admin/desks", &[("code", "HL.TL.Q1"), ("name", "Trùng"), ("unit", "HL.TAN-LOC.TT")]).await;
    pages.push((refused.status().as_u16(), "admin adds a desk whose code is taken", refused.text().await.unwrap()));
    let text = pages
        .iter()
        .map(|(status, who, html)| {
            let words = crate::helpers::texts(html, "main h1, main p, main h2");
            format!("{status} ({who})\n{}", words.join("\n"))
        })
        .collect::<Vec<_>>()
        .join("\n\n");
    assert_snapshot!("error-pages", text);
}
