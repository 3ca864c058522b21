//! Browser tests: a real Chromium, driven through chromedriver, at phone size.
//! Built only with `--features browser-tests`; `.ci/run` starts chromedriver and sets
//! HAILONG_TEST_WEBDRIVER. Screenshots land in `target/browser-screenshots/` for a human look.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use fantoccini::{Client, ClientBuilder, Locator};
use helpers::TestApp;
use serde_json::json;

/// A headless Chromium with a phone's screen. (Chromium's switch for page scripts also stops
/// chromedriver, so the no-JavaScript promise is checked on the page itself: it has no script.)
async fn browser(width: u32) -> Client {
    browser_sized(width, 720).await
}

/// A headless Chromium with a screen of `width` × `height` CSS pixels.
async fn browser_sized(width: u32, height: u32) -> Client {
    let webdriver = std::env::var("HAILONG_TEST_WEBDRIVER").expect("HAILONG_TEST_WEBDRIVER (see .ci/run)");
    let binary = std::env::var("HAILONG_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let options = json!({
        "binary": binary,
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"],
        "mobileEmulation": { "deviceMetrics": { "width": width, "height": height, "pixelRatio": if width > 1000 { 1.0 } else { 2.0 } } },
    });
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&webdriver)
        .await
        .expect("a chromedriver session")
}

/// Signs in through the form and waits for the dashboard.
async fn sign_in(b: &Client, app: &TestApp, name: &str, password: &str) {
    b.goto(&format!("{}/admin/login", app.base)).await.unwrap();
    b.find(Locator::Css("#name")).await.unwrap().send_keys(name).await.unwrap();
    b.find(Locator::Css("#password")).await.unwrap().send_keys(password).await.unwrap();
    b.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    b.wait().for_element(Locator::Css("ul.tree")).await.unwrap();
}

/// Whether the page is no wider than the screen.
async fn fits(b: &Client) -> (bool, serde_json::Value) {
    let widths = b
        .execute("return [document.documentElement.scrollWidth, document.documentElement.clientWidth];", vec![])
        .await
        .unwrap();
    (widths[0].as_f64() <= widths[1].as_f64(), widths)
}

/// A picture of one element, scrolled into view first (Chromium crops an element below the
/// fold to what the screen shows of it).
async fn element_shot(b: &Client, element: &fantoccini::elements::Element) -> Vec<u8> {
    b.execute("arguments[0].scrollIntoView({block: 'center'});", vec![serde_json::to_value(element).unwrap()])
        .await
        .unwrap();
    element.screenshot().await.unwrap()
}

/// A4 as a browser prints it when asked with no margins of its own: the page's own `@page`
/// margins (those of an administrative document) are what the paper gets, at full scale.
fn a4() -> fantoccini::wd::PrintConfiguration {
    use fantoccini::wd::{PrintConfiguration, PrintMargins, PrintSize};
    PrintConfiguration::builder()
        .size(PrintSize::A4)
        .margins(PrintMargins { top: 0.0, bottom: 0.0, left: 0.0, right: 0.0 })
        .shrink_to_fit(false)
        .build()
        .unwrap()
}

fn screenshot(name: &str, png: &[u8]) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

#[tokio::test]
async fn a_citizen_rates_on_a_small_phone_with_a_page_that_has_no_script() {
    let app = TestApp::spawn().await;
    let point = app.officer_point().await;
    let b = browser(360).await;

    b.goto(&format!("{}/s/{}", app.base, point.slug)).await.unwrap();
    let scripts = b.find_all(Locator::Css("script, [onclick], [onchange], [onsubmit]")).await.unwrap();
    assert!(scripts.is_empty(), "the form works by plain HTML: no script, no handlers");
    let who = b.find(Locator::Css(".who")).await.unwrap().text().await.unwrap();
    assert!(who.contains(point.officer_name.as_deref().unwrap()), "{who}");

    // Tap the labels, as a thumb does: the whole label is the target.
    let tap = |question: &'static str, value: &'static str| {
        let b = b.clone();
        async move {
            let css = format!("label.opt:has(input[name=q_{question}][value='{value}'])");
            b.find(Locator::Css(&css)).await.unwrap().click().await.unwrap();
        }
    };
    tap("hai_long_chung", "4").await;
    tap("ct1_thoi_gian", "2").await;
    tap("ct7_thai_do", "2").await;
    let chosen = b.find(Locator::Css("input[name=q_hai_long_chung][value='4']")).await.unwrap();
    assert!(chosen.is_selected().await.unwrap());
    b.find(Locator::Css("select#field option[value=HT]")).await.unwrap().click().await.unwrap();
    b.find(Locator::Css("textarea#comment")).await.unwrap().send_keys("Cán bộ hướng dẫn tận tình").await.unwrap();
    screenshot("form-filled-360.png", &b.screenshot().await.unwrap());

    b.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    if b.wait().for_element(Locator::Css("div.ok")).await.is_err() {
        panic!("no thank-you page after the send: {}", b.source().await.unwrap_or_default());
    }
    let url = b.current_url().await.unwrap();
    assert!(url.path().ends_with("/cam-on"), "Post/Redirect/Get lands on the thank-you page: {url}");
    let heading = b.find(Locator::Css("h1")).await.unwrap().text().await.unwrap();
    assert!(heading.contains("Cảm ơn"), "{heading}");
    screenshot("thanks-360.png", &b.screenshot().await.unwrap());
    b.close().await.unwrap();

    assert_eq!(app.responses().await, 1);
    assert_eq!(app.store.comments(1).await.unwrap(), vec!["Cán bộ hướng dẫn tận tình".to_owned()]);
}

#[tokio::test]
async fn the_form_fits_320_pixels_with_large_targets() {
    let app = TestApp::spawn().await;
    let point = app.officer_point().await;
    let b = browser(320).await;
    b.goto(&format!("{}/s/{}", app.base, point.slug)).await.unwrap();

    let measures = b
        .execute(
            "const opts = [...document.querySelectorAll('label.opt')].map(l => l.getBoundingClientRect());
             return { scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
                      minHeight: Math.min(...opts.map(r => r.height)), count: opts.length,
                      button: document.querySelector('button[type=submit]').getBoundingClientRect().height };",
            vec![],
        )
        .await
        .unwrap();
    assert!(measures["scroll"].as_f64() <= measures["client"].as_f64(), "no sideways scrolling: {measures}");
    assert!(measures["minHeight"].as_f64().unwrap() >= 44.0, "every option is a ≥ 44 px target: {measures}");
    assert!(measures["button"].as_f64().unwrap() >= 44.0, "{measures}");
    screenshot("form-320.png", &b.screenshot().await.unwrap());

    // Keyboard users see where they are.
    let outline = b
        .execute(
            "const i = document.querySelector('input[type=radio]'); i.focus();
             return getComputedStyle(i.closest('label')).outlineStyle;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(outline, "solid", "focus is visible");
    b.close().await.unwrap();
}

#[tokio::test]
async fn a_unit_manager_signs_in_and_revokes_a_point_on_a_phone() {
    use hailong::domain::account::{Role, hash_password};
    let app = TestApp::spawn().await;
    app.seed().await;
    let hash = hash_password("mật khẩu thử nghiệm 2026").unwrap();
    app.store.create_user("lan.nv", Role::UnitManager, Some("HL.TAN-LOC"), Some(&hash), "test").await.unwrap();
    let b = browser(360).await;

    b.goto(&format!("{}/admin", app.base)).await.unwrap();
    b.wait().for_element(Locator::Css("input[name=password]")).await.unwrap();
    b.find(Locator::Css("#name")).await.unwrap().send_keys("lan.nv").await.unwrap();
    b.find(Locator::Css("#password")).await.unwrap().send_keys("mật khẩu thử nghiệm 2026").await.unwrap();
    b.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    b.wait().for_element(Locator::Css("ul.tree")).await.unwrap();
    let page = b.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
    assert!(page.contains("Xã Tân Lộc") && !page.contains("Xã Bình Minh"), "{page}");
    screenshot("admin-dashboard-360.png", &b.screenshot().await.unwrap());

    b.goto(&format!("{}/admin/points", app.base)).await.unwrap();
    let before = b.find_all(Locator::Css("ul.points li")).await.unwrap().len();
    screenshot("admin-points-360.png", &b.screenshot().await.unwrap());
    // Revoking takes two taps: open the confirmation, then confirm.
    let item = b.find(Locator::Css("ul.points li")).await.unwrap();
    item.find(Locator::XPath(".//summary[contains(., 'Thu hồi')]")).await.unwrap().click().await.unwrap();
    item.find(Locator::Css("form[action$='/revoke'] button")).await.unwrap().click().await.unwrap();
    // The form posts and the page comes back by redirect; while the new page loads the list can
    // be briefly absent, so wait for the list as it should be rather than for any change.
    let mut after = before;
    for _ in 0..50 {
        after = b.find_all(Locator::Css("ul.points li")).await.unwrap().len();
        if after == before - 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(after, before - 1, "one point revoked through the page");
    b.close().await.unwrap();
}

#[tokio::test]
async fn the_management_pages_fit_a_phone() {
    use hailong::domain::account::{Role, hash_password};
    let app = TestApp::spawn().await;
    app.seed().await;
    let hash = hash_password("mật khẩu thử nghiệm 2026").unwrap();
    app.store.create_user("lan.nv", Role::UnitManager, Some("HL.TAN-LOC"), Some(&hash), "test").await.unwrap();
    let b = browser(360).await;
    sign_in(&b, &app, "lan.nv", "mật khẩu thử nghiệm 2026").await;

    for (path, shot) in [
        ("/admin/officers", "admin-officers-360.png"),
        ("/admin/officers/CB018", "admin-officer-360.png"),
        ("/admin/desks", "admin-desks-360.png"),
        ("/admin/questionnaires", "admin-questionnaires-360.png"),
    ] {
        b.goto(&format!("{}{path}", app.base)).await.unwrap();
        let (fits, widths) = fits(&b).await;
        assert!(fits, "{path}: no sideways scrolling ({widths})");
        screenshot(shot, &b.screenshot().await.unwrap());
    }

    // Move an officer through the form: the history shows the new assignment.
    b.goto(&format!("{}/admin/officers/CB018", app.base)).await.unwrap();
    b.find(Locator::Css("#unit option[value='HL.TAN-LOC.TT']")).await.unwrap().click().await.unwrap();
    b.find(Locator::Css("#desk option[value='HL.TL.Q2']")).await.unwrap().click().await.unwrap();
    b.find(Locator::Css("#from")).await.unwrap().send_keys("01012027").await.unwrap();
    b.find(Locator::Css("form[action$='/move'] button")).await.unwrap().click().await.unwrap();
    let mut rows = 0;
    for _ in 0..50 {
        rows = b.find_all(Locator::Css("table.audit tbody tr")).await.unwrap().len();
        if rows == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(rows, 2, "the old assignment closed and the new one listed");
    screenshot("admin-officer-moved-360.png", &b.screenshot().await.unwrap());
    b.close().await.unwrap();
}

#[tokio::test]
async fn the_report_pages_and_their_charts_fit_a_phone() {
    use hailong::domain::account::{Role, hash_password};
    let app = TestApp::spawn().await;
    let questionnaires = hailong::startup::load_questionnaires(&app.store).await.unwrap();
    hailong::demo::seed(&app.store, &questionnaires, 1500, 7, |_| {}).await.unwrap();
    let hash = hash_password("mật khẩu thử nghiệm 2026").unwrap();
    app.store.create_user("lan.nv", Role::UnitManager, Some("HL"), Some(&hash), "test").await.unwrap();
    let today = app.today();
    let period = format!(
        "{}..{}",
        hailong::domain::clock::iso(today - time::Duration::days(364)),
        hailong::domain::clock::iso(today)
    );
    let b = browser(360).await;
    sign_in(&b, &app, "lan.nv", "mật khẩu thử nghiệm 2026").await;
    assert_eq!(b.find_all(Locator::Css("svg.chart")).await.unwrap().len(), 2, "the dashboard's trend and units");
    screenshot("dashboard-indices-360.png", &b.screenshot().await.unwrap());
    for (i, chart) in b.find_all(Locator::Css("svg.chart")).await.unwrap().iter().enumerate() {
        screenshot(&format!("dashboard-360-chart{i}.png"), &element_shot(&b, chart).await);
    }

    // From the table of units to a unit's page, by its link.
    b.goto(&format!("{}/admin/indices?period={period}&level=unit", app.base)).await.unwrap();
    screenshot("indices-table-360.png", &b.screenshot().await.unwrap());
    b.find(Locator::Css("a[href^='/admin/indices/unit/HL.TTPVHCC?']")).await.unwrap().click().await.unwrap();
    b.wait().for_element(Locator::Css("svg.chart")).await.unwrap();
    for (path, shot, charts) in [
        (None, "indices-unit-360.png", 3),
        (Some(format!("/admin/indices/officer/CB001?period={period}")), "indices-officer-360.png", 2),
        (Some(format!("/admin/indices/officer/CB001/sheet?period={period}")), "indices-sheet-360.png", 0),
    ] {
        if let Some(path) = path {
            b.goto(&format!("{}{path}", app.base)).await.unwrap();
        }
        let (fits, widths) = fits(&b).await;
        assert!(fits, "{shot}: no sideways scrolling ({widths})");
        // Every chart is drawn at a readable size: as wide as the page, and not squashed.
        let sizes = b
            .execute(
                "return [...document.querySelectorAll('svg.chart')].map(s => { const r = s.getBoundingClientRect(); return [r.width, r.height]; });",
                vec![],
            )
            .await
            .unwrap();
        let sizes = sizes.as_array().unwrap();
        assert_eq!(sizes.len(), charts, "{shot}");
        for size in sizes {
            let (w, h) = (size[0].as_f64().unwrap(), size[1].as_f64().unwrap());
            assert!(w >= 300.0 && h >= 60.0, "{shot}: a chart of {w}×{h}");
        }
        for (i, chart) in b.find_all(Locator::Css("svg.chart")).await.unwrap().iter().enumerate() {
            screenshot(&shot.replace(".png", &format!("-chart{i}.png")), &element_shot(&b, chart).await);
        }
        b.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
        screenshot(shot, &b.screenshot().await.unwrap());
    }
    // The sheet as the printer gets it: A4, kept for a human look.
    let pdf = b.print(a4()).await.unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    screenshot("indices-sheet-a4.pdf", &pdf);
    // The page tree's count, which Chromium writes uncompressed.
    let text = String::from_utf8_lossy(&pdf);
    let pages: String =
        text.split_once("/Count ").map(|(_, rest)| rest.chars().take_while(char::is_ascii_digit).collect()).unwrap();
    assert_eq!(pages, "1", "the year-end sheet prints on one A4 page");

    // A unit's sheet on the SIPAS questionnaire (22 criteria and 5 elements) too.
    let sipas = format!("/admin/indices/unit/HL.TTPVHCC/sheet?period={period}&questionnaire=sipas-2017");
    b.goto(&format!("{}{sipas}", app.base)).await.unwrap();
    let pdf = b.print(a4()).await.unwrap();
    screenshot("indices-sheet-sipas-a4.pdf", &pdf);
    let text = String::from_utf8_lossy(&pdf);
    let pages: String =
        text.split_once("/Count ").map(|(_, rest)| rest.chars().take_while(char::is_ascii_digit).collect()).unwrap();
    assert_eq!(pages, "1", "the SIPAS year-end sheet prints on one A4 page");
    b.close().await.unwrap();
}

/// The number at `script`'s `return`.
async fn number(b: &Client, script: &str) -> f64 {
    b.execute(script, vec![]).await.unwrap().as_f64().unwrap_or(f64::NAN)
}

/// Every page, at a phone's width and at a desktop's, each kept as a picture in
/// `target/browser-screenshots/page-NAME-WIDTH.png` for a person to look at; none scrolls
/// sideways, and on a desktop the management pages use the width: the menu on one line, the
/// content wider than a phone's column, the report table and an officer's figures and chart on
/// the first screen.
#[tokio::test]
async fn every_page_at_a_phone_and_a_desktop_width() {
    use hailong::domain::account::Role;
    let app = TestApp::spawn_with(|s| s.receipt_secret = Some("a receipt secret for the tests".into())).await;
    let questionnaires = hailong::startup::load_questionnaires(&app.store).await.unwrap();
    hailong::demo::seed(&app.store, &questionnaires, 1500, 7, |_| {}).await.unwrap();
    let admin = app.staff("so.noi.vu", Role::Admin, None).await;
    let points = app.store.active_points().await.unwrap();
    let officer = points.iter().find(|p| p.officer_code.is_some()).unwrap();
    let unit = points.iter().find(|p| p.desk_code.is_none() && p.officer_code.is_none()).unwrap();
    // A change in the audit log, with a before and an after.
    let revoked = points.iter().filter(|p| p.officer_code.is_some()).nth(3).unwrap();
    assert_eq!(admin.post(&format!("/admin/points/{}/revoke", revoked.slug), &[]).await.status(), 303);
    let today = app.today();
    let period = format!(
        "{}..{}",
        hailong::domain::clock::iso(today - time::Duration::days(364)),
        hailong::domain::clock::iso(today)
    );
    // A receipt's form, signed as the one-stop software signs it offline.
    let key = app.store.create_receipt_key(hailong::store::KeyPurpose::Offline, "test").await.unwrap();
    let receipt = key
        .sign(&hailong::domain::receipt::Claims {
            key_id: key.id,
            issued: today,
            nonce: [1, 2, 3, 4],
            dossier: key.dossier_hash("000.00.01.H01-261124-0042"),
            unit: officer.unit_code.clone(),
            officer: officer.officer_code.clone().unwrap(),
            desk: officer.desk_code.clone(),
        })
        .unwrap();
    let pages = [
        ("receipt-form", format!("/r/{receipt}")),
        ("receipt-invalid", "/r/AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned()),
        ("start", "/".to_owned()),
        ("form", format!("/s/{}", officer.slug)),
        ("form-sipas", format!("/s/{}", unit.slug)),
        ("not-found", "/s/AAAAAAAAAAAA".to_owned()),
        ("dashboard", "/admin".to_owned()),
        ("indices", format!("/admin/indices?period={period}&level=officer")),
        ("indices-unit", format!("/admin/indices/unit/HL.TTPVHCC?period={period}")),
        ("indices-officer", format!("/admin/indices/officer/CB001?period={period}")),
        ("sheet", format!("/admin/indices/officer/CB001/sheet?period={period}")),
        ("points", "/admin/points".to_owned()),
        ("posters", "/admin/units/HL.TTPVHCC/posters".to_owned()),
        ("officers", "/admin/officers".to_owned()),
        ("officer", "/admin/officers/CB001".to_owned()),
        ("responses-officer", "/admin/officers/CB001/responses".to_owned()),
        ("responses-unit", "/admin/units/HL.TTPVHCC/responses".to_owned()),
        ("responses-all", "/admin/officers/CB001/responses?all=1".to_owned()),
        ("desks", "/admin/desks".to_owned()),
        ("questionnaires", "/admin/questionnaires".to_owned()),
        ("users", "/admin/users".to_owned()),
        ("audit", "/admin/audit".to_owned()),
    ];
    let mut enrolled: Option<(String, u64)> = None;
    let hash = hailong::domain::account::hash_password("mật khẩu quản trị thử nghiệm").unwrap();
    app.store.create_user("quan.tri", Role::Admin, None, Some(&hash), "test").await.unwrap();
    for (width, height) in [(360, 720), (1280, 800)] {
        let b = browser_sized(width, height).await;
        b.goto(&format!("{}/admin/login", app.base)).await.unwrap();
        screenshot(&format!("page-login-{width}.png"), &b.screenshot().await.unwrap());
        // Signed in through the forms, the one-time code step included (enrolled the first time).
        b.find(Locator::Css("#name")).await.unwrap().send_keys("quan.tri").await.unwrap();
        b.find(Locator::Css("#password")).await.unwrap().send_keys("mật khẩu quản trị thử nghiệm").await.unwrap();
        b.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
        b.wait().for_element(Locator::Css("#code")).await.unwrap();
        screenshot(&format!("page-second-factor-{width}.png"), &b.screenshot().await.unwrap());
        // Enrolled at the first sign-in; the second uses the step after the first's (a code is
        // taken once).
        let (secret, at) = match enrolled.clone() {
            Some((secret, first)) => (secret, first + 30),
            None => {
                let secret = b.find(Locator::Css("p.small code")).await.unwrap().text().await.unwrap();
                (secret, app.now_ms() as u64 / 1000)
            }
        };
        enrolled = Some((secret.clone(), at));
        let code = hailong::domain::account::totp_code(&secret, at).unwrap();
        b.find(Locator::Css("#code")).await.unwrap().send_keys(&code).await.unwrap();
        b.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
        b.wait().for_element(Locator::Css("ul.tree")).await.unwrap();
        for (name, path) in &pages {
            b.goto(&format!("{}{path}", app.base)).await.unwrap();
            let (fits, widths) = fits(&b).await;
            assert!(fits, "{name} at {width}: no sideways scrolling ({widths})");
            screenshot(&format!("page-{name}-{width}.png"), &b.screenshot().await.unwrap());
        }
        if width == 1280 {
            b.goto(&format!("{}/admin", app.base)).await.unwrap();
            let menu = number(&b, "return document.querySelector('nav.admin').getBoundingClientRect().height;").await;
            assert!(menu < 60.0, "the menu on one line: {menu} px high");
            let main = number(&b, "return document.querySelector('main').getBoundingClientRect().width;").await;
            assert!(main > 1000.0, "the content uses the screen: {main} px wide");
            b.goto(&format!("{}/admin/indices?period={period}&level=officer", app.base)).await.unwrap();
            let first_row =
                number(&b, "return document.querySelector('table.audit tbody tr').getBoundingClientRect().bottom;")
                    .await;
            assert!(first_row < f64::from(height), "the report's first row on the first screen: at {first_row} px");
            b.goto(&format!("{}/admin/indices/officer/CB001?period={period}", app.base)).await.unwrap();
            let chart = number(&b, "return document.querySelector('svg.chart').getBoundingClientRect().top;").await;
            assert!(chart < f64::from(height), "the officer's element chart beside the figures: at {chart} px");
        }
        b.close().await.unwrap();
    }
}

/// A moderator of Home Affairs, on a phone, reviews an officer's flagged ratings, ticks two of
/// a burst and excludes them with a reason; the page shows what a moderator decides on without
/// scrolling the table sideways.
#[tokio::test]
async fn a_moderator_excludes_two_ratings_of_a_burst_on_a_phone() {
    use hailong::domain::account::Role;
    use hailong::domain::response::{Channel, IdempotencyKey, NewResponse};
    let app = TestApp::spawn_with(|s| s.flags = hailong::domain::flags::Rules::default()).await;
    let point = app.officer_point().await;
    let now = app.now_ms();
    // Twelve ratings half a minute apart, each read for a minute: a burst (ten in ten minutes).
    let group: Vec<NewResponse> = (1..=12)
        .map(|i| {
            let at = now - (13 - i) * 30_000;
            NewResponse {
                point_id: point.id,
                questionnaire_id: "mot-cua".into(),
                questionnaire_version: 2,
                answers: helpers::with_derived("mot-cua", 2, vec![("hai_long_chung".to_owned(), 1 + i % 5)]),
                field: None,
                comment: None,
                channel: Channel::Qr,
                submitted_at_ms: at,
                key: IdempotencyKey::generate_at(at - 60_000),
                receipt: None,
                device: None,
            }
        })
        .collect();
    app.store.commit_group(&group).await.unwrap();
    let moderator = app.staff("so.noi.vu", Role::HomeAffairs, Some("HL")).await;
    let b = browser(360).await;
    b.goto(&format!("{}/healthz", app.base)).await.unwrap();
    let token = moderator.cookie.trim_start_matches("hl_session=").to_owned();
    // The session of an account signed in with its second factor, as the browser keeps it.
    b.execute(&format!("document.cookie = 'hl_session={token}; path=/';"), vec![]).await.unwrap();
    let officer = point.officer_code.clone().unwrap();
    b.goto(&format!("{}/admin/officers/{officer}/responses", app.base)).await.unwrap();
    let rows = b.find_all(Locator::Css("table.audit tbody tr")).await.unwrap();
    let shown = b.find(Locator::Css("body")).await.unwrap().text().await.unwrap_or_default();
    assert_eq!(rows.len(), 12, "the burst is listed at {officer}: {shown}");
    let (fits, widths) = fits(&b).await;
    assert!(fits, "no sideways scrolling of the page ({widths})");
    // The tick box, the time, the flags and the state are on the screen.
    let right = number(
        &b,
        "return document.querySelector('table.audit tbody tr td:nth-child(4)').getBoundingClientRect().right;",
    )
    .await;
    assert!(right <= 360.0, "the state column on the screen: its right edge at {right} px");
    let first = rows[0].text().await.unwrap();
    assert!(first.contains("dồn dập") && first.contains("Được tính"), "{first}");
    screenshot("moderation-review-360.png", &b.screenshot().await.unwrap());

    let boxes = b.find_all(Locator::Css("table.audit input[type=checkbox]")).await.unwrap();
    boxes[0].click().await.unwrap();
    boxes[1].click().await.unwrap();
    b.find(Locator::Css("#reason"))
        .await
        .unwrap()
        .send_keys("Hai phiếu gửi từ máy của quầy, đã xác minh")
        .await
        .unwrap();
    b.find(Locator::Css("button[value=exclude]")).await.unwrap().click().await.unwrap();
    let mut excluded = 0;
    for _ in 0..50 {
        let text = b.find(Locator::Css("main")).await.unwrap().text().await.unwrap_or_default();
        excluded =
            b.find_all(Locator::XPath("//tbody//td[strong[contains(., 'Đã loại khỏi chỉ số')]]")).await.unwrap().len();
        let said = text.contains("Đã loại khỏi chỉ số 2 phiếu.");
        if excluded == 2 && said {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    screenshot("moderation-excluded-360.png", &b.screenshot().await.unwrap());
    assert_eq!(excluded, 2, "two ratings excluded through the page");
    b.close().await.unwrap();
    let (responses, events) = app.store.chain_tally(i64::MAX).await.unwrap();
    assert_eq!((responses, events), (12, 2), "each exclusion is an event of the chain");
}
