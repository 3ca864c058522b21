//! Signing in, sessions, API keys, the audit log and the headers of the management surface.

use hailong::domain::account::{self, Role};
use hailong::domain::audit::AuditFilter;
use hailong::store::NewSession;

use crate::helpers::TestApp;

const PASSWORD: &str = "mật khẩu thử nghiệm 2026";

async fn with_account(app: &TestApp, name: &str, role: Role, unit: Option<&str>) {
    let hash = account::hash_password(PASSWORD).unwrap();
    app.store.create_user(name, role, unit, Some(&hash), "test").await.unwrap();
}

async fn sign_in(app: &TestApp, name: &str, password: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/admin/login", app.base))
        .header("origin", app.base.clone())
        .form(&[("name", name), ("password", password), ("next", "/admin/points")])
        .send()
        .await
        .unwrap()
}

/// Signs in an account that needs a one-time code: enrols (reading the secret off the page) or
/// uses `secret`, with the code `steps_ahead` 30-second steps from now. Returns the full
/// session cookie and the secret.
async fn sign_in_with_code(app: &TestApp, name: &str, secret: Option<&str>, steps_ahead: u64) -> (String, String) {
    let first = sign_in(app, name, PASSWORD).await;
    assert_eq!(first.status(), 303);
    let location = first.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/admin/login/second-factor"), "{location}");
    let waiting = cookie_of(&first);
    let page = get_with(app, &location, &waiting).await.text().await.unwrap();
    let secret = match secret {
        Some(s) => s.to_owned(),
        None => crate::helpers::texts(&page, "p.small code").pop().expect("an enrolment secret"),
    };
    let now = app.now_ms() as u64 / 1000;
    let code = account::totp_code(&secret, now + 30 * steps_ahead).unwrap();
    let done = app
        .client
        .post(format!("{}/admin/login/second-factor", app.base))
        .header("cookie", &waiting)
        .header("origin", app.base.clone())
        .form(&[("code", code.as_str()), ("next", "/admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303, "{}", done.text().await.unwrap_or_default());
    (cookie_of(&done), secret)
}

fn cookie_of(response: &reqwest::Response) -> String {
    let set = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    set.split(';').next().unwrap().to_owned()
}

async fn get_with(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    app.client.get(format!("{}{path}", app.base)).header("cookie", cookie).send().await.unwrap()
}

#[tokio::test]
async fn signing_in_gives_a_fresh_strict_cookie_and_signing_out_ends_it() {
    let app = TestApp::spawn().await;
    app.seed().await;
    with_account(&app, "lan.nv", Role::UnitManager, Some("HL.TAN-LOC")).await;

    let first = sign_in(&app, "lan.nv", PASSWORD).await;
    assert_eq!(first.status(), 303);
    assert_eq!(first.headers()["location"], "/admin/points");
    let set = first.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attribute), "{set}");
    }
    assert!(!set.contains("Secure"), "not over TLS in this test");
    let cookie = cookie_of(&first);
    let page = get_with(&app, "/admin/points", &cookie).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");

    let second = cookie_of(&sign_in(&app, "lan.nv", PASSWORD).await);
    assert_ne!(cookie, second, "every sign-in makes a new session id");

    let out = app
        .client
        .post(format!("{}/admin/logout", app.base))
        .header("cookie", &cookie)
        .header("origin", app.base.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(get_with(&app, "/admin/points", &cookie).await.status(), 303, "the session is over");
    assert_eq!(get_with(&app, "/admin/points", &second).await.status(), 200, "other sessions stay");
}

#[tokio::test]
async fn admins_need_a_one_time_code_enrolled_at_first_sign_in() {
    let app = TestApp::spawn().await;
    with_account(&app, "root", Role::Admin, None).await;

    let first = sign_in(&app, "root", PASSWORD).await;
    let waiting = cookie_of(&first);
    assert!(first.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=300"));
    assert_eq!(get_with(&app, "/admin", &waiting).await.status(), 303, "a password alone opens nothing");
    let page = get_with(&app, "/admin/login/second-factor", &waiting).await.text().await.unwrap();
    assert_eq!(crate::helpers::texts(&page, ".enrol svg").len(), 1, "a QR code to enrol");
    let secret = crate::helpers::texts(&page, "p.small code").pop().unwrap();
    let post_code = |code: String| {
        let client = app.client.clone();
        let (url, waiting, origin) =
            (format!("{}/admin/login/second-factor", app.base), waiting.clone(), app.base.clone());
        async move {
            client
                .post(url)
                .header("cookie", waiting)
                .header("origin", origin)
                .form(&[("code", code)])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(post_code("000000".into()).await.status(), 401);
    let now = app.now_ms() as u64 / 1000;
    let code = account::totp_code(&secret, now).unwrap();
    let done = post_code(code.clone()).await;
    assert_eq!(done.status(), 303);
    let full = cookie_of(&done);
    assert_ne!(full, waiting, "a new session id once the code is right");
    assert_eq!(get_with(&app, "/admin", &full).await.status(), 200);
    assert_eq!(get_with(&app, "/admin", &waiting).await.status(), 303, "the waiting session is gone");

    // The same code again (someone looking over a shoulder) is spent.
    let again = cookie_of(&sign_in(&app, "root", PASSWORD).await);
    let page = get_with(&app, "/admin/login/second-factor", &again).await.text().await.unwrap();
    assert!(crate::helpers::texts(&page, ".enrol svg").is_empty(), "enrolled once");
    let replay = app
        .client
        .post(format!("{}/admin/login/second-factor", app.base))
        .header("cookie", &again)
        .header("origin", app.base.clone())
        .form(&[("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401);
    let filter = AuditFilter { action: Some("user.second-factor.enrol".into()), ..Default::default() };
    assert_eq!(app.store.audit_entries(&filter).await.unwrap().len(), 1);
}

#[tokio::test]
async fn failures_look_alike_and_lock_the_account() {
    let app = TestApp::spawn().await;
    app.seed().await;
    with_account(&app, "hoa.lt", Role::Viewer, Some("HL")).await;

    let wrong = sign_in(&app, "hoa.lt", "không phải mật khẩu").await;
    let unknown = sign_in(&app, "khong-co-ai", PASSWORD).await;
    assert_eq!((wrong.status().as_u16(), unknown.status().as_u16()), (401, 401));
    let (wrong, unknown) = (wrong.text().await.unwrap(), unknown.text().await.unwrap());
    assert_eq!(crate::helpers::texts(&wrong, "[role=alert]"), crate::helpers::texts(&unknown, "[role=alert]"));

    for _ in 0..4 {
        sign_in(&app, "hoa.lt", "sai mật khẩu nữa").await;
    }
    assert_eq!(sign_in(&app, "hoa.lt", PASSWORD).await.status(), 401, "locked after five failures");

    // Attempts during the lock do not prolong it: it ends on time whatever is sent.
    let locked_until = || async { app.store.login_record("hoa.lt").await.unwrap().unwrap().locked_until };
    let until = locked_until().await.expect("locked");
    for _ in 0..3 {
        sign_in(&app, "hoa.lt", "vẫn sai").await;
    }
    assert_eq!(locked_until().await, Some(until), "the lock is not extended");
    // The lock ends (its end moved into the past behind the program's back): the right
    // password works at once, and a later failure starts counting afresh.
    let sql = "UPDATE users SET locked_until = 1 WHERE name = 'hoa.lt'";
    execute_raw(&app.db_url(), sql).await.unwrap();
    sign_in(&app, "hoa.lt", "sai sau khi hết khóa").await;
    assert_eq!(locked_until().await, None, "one failure after a lock does not lock again");
    assert_eq!(sign_in(&app, "hoa.lt", PASSWORD).await.status(), 303);
}

/// Runs one statement on the test's database behind the program's back.
async fn execute_raw(url: &str, sql: &str) -> Result<(), sqlx::Error> {
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await?;
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&pool).await.map(drop)
    } else {
        let pool = sqlx::PgPool::connect(url).await?;
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&pool).await.map(drop)
    }
}

#[tokio::test]
async fn disabling_or_a_new_password_ends_sessions_and_keys() {
    let app = TestApp::spawn().await;
    app.seed().await;
    with_account(&app, "minh.dc", Role::HomeAffairs, Some("HL")).await;
    let (cookie, secret) = sign_in_with_code(&app, "minh.dc", None, 0).await;
    let key = account::new_api_key();
    app.store.create_api_key("minh.dc", &account::token_hash(&key), &key[..11], "test").await.unwrap();
    let api = |key: String| {
        let client = app.client.clone();
        let url = format!("{}/api/v1/units", app.base);
        async move { client.get(url).bearer_auth(key).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(api(key.clone()).await, 200);

    app.store.set_password("minh.dc", &account::hash_password(PASSWORD).unwrap(), "test").await.unwrap();
    assert_eq!(get_with(&app, "/admin", &cookie).await.status(), 303, "a new password ends sessions");
    let (cookie, _) = sign_in_with_code(&app, "minh.dc", Some(&secret), 1).await;
    assert!(app.store.disable_user("minh.dc", "test").await.unwrap());
    assert_eq!(get_with(&app, "/admin", &cookie).await.status(), 303);
    assert_eq!(api(key).await, 401, "a disabled account's keys stop working");
    assert_eq!(sign_in(&app, "minh.dc", PASSWORD).await.status(), 401);
}

#[tokio::test]
async fn sessions_expire_when_idle_or_old() {
    let app = TestApp::spawn().await;
    with_account(&app, "root", Role::Admin, None).await;
    let id = app.store.login_record("root").await.unwrap().unwrap().id;
    let token = account::token_hash("a session token");
    app.store.start_session(id, &token, NewSession::Full).await.unwrap();
    assert!(app.store.session_caller(&token, 60_000, 60_000).await.unwrap().is_some());
    assert!(app.store.session_caller(&token, -1, 60_000).await.unwrap().is_none(), "idle too long");
    assert!(app.store.session_caller(&token, 60_000, 60_000).await.unwrap().is_none(), "and gone for good");
    app.store.start_session(id, &account::token_hash("another"), NewSession::Full).await.unwrap();
    assert!(app.store.session_caller(&account::token_hash("another"), 60_000, -1).await.unwrap().is_none(), "too old");
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = TestApp::spawn().await;
    let points = app.seed().await;
    with_account(&app, "root", Role::Admin, None).await;
    let (cookie, _) = sign_in_with_code(&app, "root", None, 0).await;
    let url = format!("{}/admin/points/{}/revoke", app.base, points[0].slug);
    let post = |headers: Vec<(&'static str, &'static str)>| {
        let mut request = app.client.post(url.clone()).header("cookie", &cookie);
        for (k, v) in headers {
            request = request.header(k, v);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(post(vec![("origin", "https://evil.example")]).await, 403);
    assert_eq!(post(vec![("sec-fetch-site", "cross-site")]).await, 403);
    assert_eq!(app.store.active_points().await.unwrap().len(), points.len(), "nothing revoked");
    assert_eq!(post(vec![("sec-fetch-site", "same-origin")]).await, 303);
    assert_eq!(app.store.active_points().await.unwrap().len(), points.len() - 1);

    // The change is in the audit log, which cannot be rewritten.
    let filter = AuditFilter { action: Some("point.revoke".into()), ..Default::default() };
    let entries = app.store.audit_entries(&filter).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor, "user:root");
    assert_eq!(entries[0].target, format!("point:{}", points[0].slug));
    let url = app.db_url();
    let id = entries[0].id;
    let mut tampering = vec![
        "UPDATE audit_log SET actor = 'nobody'".to_owned(),
        "DELETE FROM audit_log".to_owned(),
        format!(
            "INSERT INTO audit_log (id, at, actor, action, target) VALUES ({id}, 0, 'x', 'point.revoke', 'x') ON CONFLICT (id) DO UPDATE SET actor = 'nobody'"
        ),
    ];
    if url.starts_with("sqlite:") {
        tampering.push(format!("INSERT OR REPLACE INTO audit_log (id, at, actor, action, target) VALUES ({id}, 0, 'x', 'point.revoke', 'x')"));
        tampering.push(format!(
            "REPLACE INTO audit_log (id, at, actor, action, target) VALUES ({id}, 0, 'x', 'point.revoke', 'x')"
        ));
    } else {
        tampering.push("TRUNCATE audit_log".to_owned());
        tampering.push("TRUNCATE audit_log CASCADE".to_owned());
    }
    for sql in &tampering {
        assert!(execute_raw(&url, sql).await.is_err(), "the database refuses: {sql}");
    }
    assert_eq!(app.store.audit_entries(&filter).await.unwrap(), entries, "the entry is as it was");
    let page = get_with(&app, "/admin/audit?action=point.revoke", &cookie).await.text().await.unwrap();
    assert_eq!(crate::helpers::texts(&page, "table.audit tbody tr").len(), 1);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let point = app.officer_point().await;
    for path in [format!("/s/{}", point.slug), "/admin/login".into(), "/".into(), "/api/v1/units".into()] {
        let response = app.get(&path).await;
        let h = response.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
    }
    let api = app.get("/api/v1/units").await;
    assert_eq!(api.status(), 401);
    assert_eq!(api.headers()["cache-control"], "no-store");
    let body: serde_json::Value = api.json().await.unwrap();
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn the_api_is_described_and_answers_within_the_scope() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let spec: serde_json::Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    for route in
        hailong::web::staff_routes().iter().filter(|r| r.path.starts_with("/api/v1/") && !r.path.ends_with(".json"))
    {
        assert!(spec["paths"][route.path].is_object(), "{} is described", route.path);
    }

    with_account(&app, "bm.viewer", Role::Viewer, Some("HL.BINH-MINH")).await;
    let key = account::new_api_key();
    app.store.create_api_key("bm.viewer", &account::token_hash(&key), &key[..11], "test").await.unwrap();
    let units: serde_json::Value = app
        .client
        .get(format!("{}/api/v1/units", app.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let codes: Vec<&str> = units["units"].as_array().unwrap().iter().map(|u| u["code"].as_str().unwrap()).collect();
    assert_eq!(codes, vec!["HL.BINH-MINH", "HL.BINH-MINH.TT"]);
    assert_eq!(units["units"][1]["parent_code"], "HL.BINH-MINH");
}

#[tokio::test]
async fn a_next_with_control_characters_is_not_followed() {
    let app = TestApp::spawn().await;
    app.seed().await;
    with_account(&app, "hoa.lt", Role::Viewer, Some("HL")).await;
    for next in ["/admin\r\nSet-Cookie: x=1", "/admin/\0", "/admin/đơn vị", "/admin\\..\\evil"] {
        let response = app
            .client
            .post(format!("{}/admin/login", app.base))
            .header("origin", app.base.clone())
            .form(&[("name", "hoa.lt"), ("password", PASSWORD), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{next:?}");
        assert_eq!(response.headers()["location"], "/admin", "{next:?}");
        let wrong = app
            .client
            .post(format!("{}/admin/login", app.base))
            .header("origin", app.base.clone())
            .form(&[("name", "hoa.lt"), ("password", "sai"), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{next:?}");
        assert!(wrong.headers().get("set-cookie").is_none(), "no session for a failed sign-in");
    }
}
