//! Every management and API route, taken from the route table the router is built from, for
//! every role and every relation between the target and the caller's unit. Zero unexpected
//! allows: a route added without a policy, or a handler that forgets the scope, fails here.

use hailong::domain::account::{self, Permission, Role};
use hailong::domain::org::{Code, Name, NewAssignment, NewDesk, NewUnit, UnitKind, Validity};
use hailong::store::OrgBatch;
use hailong::web::policy::{Access, Param, StaffRoute};
use reqwest::{Method, StatusCode};

use crate::helpers::TestApp;

/// Where a target stands relative to the caller's unit (Xã Tân Lộc, HL.TAN-LOC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Relation {
    Own,
    Descendant,
    Sibling,
    Parent,
    OtherProvince,
}

const RELATIONS: [Relation; 5] =
    [Relation::Own, Relation::Descendant, Relation::Sibling, Relation::Parent, Relation::OtherProvince];

const CALLER_UNIT: &str = "HL.TAN-LOC";
const TARGET_KEY_PREFIX: &str = "hl_target01";

/// The unit and desk a form names, standing in `relation` to the caller's unit.
fn body_unit(relation: Relation) -> (&'static str, &'static str) {
    match relation {
        Relation::Own | Relation::Descendant => ("HL.TAN-LOC.TT", "HL.TL.Q2"),
        Relation::Sibling => ("HL.BINH-MINH.TT", "HL.BM.Q2"),
        Relation::Parent => ("HL.TTPVHCC", "HL.TT.Q02"),
        Relation::OtherProvince => ("XP.TT", "XP.Q1"),
    }
}

/// An officer at the unit of [`body_unit`], with a collection point.
fn body_officer(relation: Relation) -> &'static str {
    match relation {
        Relation::Own | Relation::Descendant => "CB018",
        Relation::Sibling => "CB022",
        Relation::Parent => "CB001",
        Relation::OtherProvince => "XP01",
    }
}

/// A world of its own, with receipts set up.
async fn spawn() -> TestApp {
    TestApp::spawn_with(|s| s.receipt_secret = Some("a receipt secret for the tests".into())).await
}

/// A valid form for each changing route, its unit and desk standing in `relation`.
fn form(path: &str, relation: Relation) -> Vec<(&'static str, String)> {
    let (unit, desk) = body_unit(relation);
    let tomorrow = crate::helpers::TEST_MOMENT.date().next_day().unwrap();
    let day = format!("{}", tomorrow);
    match path {
        "/admin/officers/{code}/move" => vec![("unit", unit.into()), ("desk", desk.into()), ("from", day)],
        "/admin/officers/{code}/end" => vec![("last_day", day)],
        "/admin/desks" => vec![("code", "NEW.Q9".into()), ("name", "Quầy mới".into()), ("unit", unit.into())],
        "/admin/points" => vec![("unit", unit.into()), ("desk", desk.into()), ("questionnaire", "mot-cua".into())],
        "/admin/points/{slug}/questionnaire" => vec![("questionnaire", "sipas-2017".into())],
        "/api/v1/served" => vec![
            ("date", format!("{}", tomorrow.previous_day().and_then(|d| d.previous_day()).unwrap())),
            ("unit_code", unit.into()),
            ("officer_code", body_officer(relation).into()),
            ("dossiers", "12".into()),
        ],
        "/api/v1/receipts" => vec![
            ("dossier_code", "000.00.01.H01-261124-0042".into()),
            ("unit_code", unit.into()),
            ("officer_code", body_officer(relation).into()),
        ],
        "/admin/users" => vec![
            ("name", "new.user".into()),
            ("role", "viewer".into()),
            ("unit", CALLER_UNIT.into()),
            ("password", "một mật khẩu đủ dài".into()),
        ],
        _ => vec![],
    }
}

/// Routes whose form names a unit: they are also tried with a unit from outside the scope.
fn form_names_a_unit(route: &StaffRoute) -> bool {
    route.method == Method::POST
        && matches!(
            route.path,
            "/admin/officers/{code}/move" | "/admin/desks" | "/admin/points" | "/api/v1/receipts" | "/api/v1/served"
        )
}

/// Lists that are not about the unit tree (and so hold nothing of a scope).
fn unscoped_list(path: &str) -> bool {
    matches!(path, "/admin/audit" | "/admin/questionnaires" | "/admin/users")
}

/// The code (or point's officer) standing in `relation` for a parameter kind; `None` where the
/// demo has no such thing (a desk of the commune itself, say).
fn target(param: Param, relation: Relation) -> Option<&'static str> {
    use Relation::*;
    match (param, relation) {
        (Param::Unit, Own) => Some("HL.TAN-LOC"),
        (Param::Unit, Descendant) => Some("HL.TAN-LOC.TT"),
        (Param::Unit, Sibling) => Some("HL.BINH-MINH.TT"),
        (Param::Unit, Parent) => Some("HL"),
        (Param::Unit, OtherProvince) => Some("XP.TT"),
        (Param::Desk, Descendant) => Some("HL.TL.Q1"),
        (Param::Desk, Sibling) => Some("HL.BM.Q1"),
        (Param::Desk, Parent) => Some("HL.TT.Q01"),
        (Param::Desk, OtherProvince) => Some("XP.Q1"),
        // Points are named by their officer here and looked up at request time.
        (Param::Officer | Param::Point, Descendant) => Some("CB018"),
        (Param::Officer | Param::Point, Sibling) => Some("CB022"),
        (Param::Officer | Param::Point, Parent) => Some("CB001"),
        (Param::Officer | Param::Point, OtherProvince) => Some("XP01"),
        // Accounts and keys are the admin's alone: one target each.
        (Param::Account, Own) => Some("target.user"),
        (Param::ApiKey, Own) => Some(TARGET_KEY_PREFIX),
        _ => None,
    }
}

fn in_scope(role: Role, relation: Relation) -> bool {
    role == Role::Admin || matches!(relation, Relation::Own | Relation::Descendant)
}

/// The demo province with ratings (so that reports list something), plus a second province,
/// so that "another province" exists.
async fn world(app: &TestApp) {
    let questionnaires = hailong::startup::load_questionnaires(&app.store).await.unwrap();
    hailong::demo::seed(&app.store, &questionnaires, 400, 3, |_| {}).await.unwrap();
    let code = |c: &str| Code::parse(c).unwrap();
    let name = |n: &str| Name::parse(n).unwrap();
    let since = Validity::new(time::macros::date!(2025 - 07 - 01), None).unwrap();
    let batch = OrgBatch {
        units: vec![
            NewUnit {
                code: code("XP"),
                name: name("Tỉnh Xuân Phong"),
                kind: UnitKind::Province,
                parent: None,
                validity: since,
                successor: None,
            },
            NewUnit {
                code: code("XP.TT"),
                name: name("Trung tâm Xuân Phong"),
                kind: UnitKind::ServiceCentre,
                parent: Some(code("XP")),
                validity: since,
                successor: None,
            },
        ],
        desks: vec![NewDesk { code: code("XP.Q1"), name: name("Quầy Xuân Phong"), unit: code("XP.TT") }],
        assignments: vec![NewAssignment {
            officer: code("XP01"),
            full_name: name("Kiều Văn Xa"),
            unit: code("XP.TT"),
            desk: Some(code("XP.Q1")),
            validity: since,
        }],
        fields: vec![],
        served: vec![],
    };
    app.store.import_org(&batch, "mot-cua", "test", &|_| {}).await.unwrap();
    app.store.create_user("target.user", Role::Viewer, Some("HL"), Some("unused"), "test").await.unwrap();
    let key = format!("{TARGET_KEY_PREFIX}{}", "x".repeat(35));
    app.store.create_api_key("target.user", &account::token_hash(&key), TARGET_KEY_PREFIX, "test").await.unwrap();
}

/// Credentials of an account of `role` bound to the caller's unit: a session cookie and an
/// API key, made directly in the store.
async fn credentials(app: &TestApp, role: Role) -> (String, String) {
    let unit = (role != Role::Admin).then_some(CALLER_UNIT);
    let staff = app.staff(&format!("t-{}", role.code()), role, unit).await;
    (staff.cookie, staff.key)
}

async fn point_of(app: &TestApp, officer: &str) -> Option<String> {
    let points = app.store.active_points().await.unwrap();
    points.into_iter().find(|p| p.officer_code.as_deref() == Some(officer)).map(|p| p.slug.as_str().to_owned())
}

fn fill(path: &str, value: &str) -> String {
    let start = path.find('{').unwrap();
    let end = path.find('}').unwrap();
    format!("{}{}{}", &path[..start], value, &path[end + 1..])
}

async fn send(
    app: &TestApp,
    route: &StaffRoute,
    path: &str,
    who: Option<&(String, String)>,
    body: &[(&'static str, String)],
) -> reqwest::Response {
    let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
    let mut request = app.client.request(method, format!("{}{path}", app.base));
    if let Some((cookie, key)) = who {
        request = match route.access {
            Access::Api(_) => request.bearer_auth(key),
            _ => request.header("cookie", cookie),
        };
    }
    if route.method != Method::GET {
        request = request.header("origin", app.base.clone()).header("sec-fetch-site", "same-origin");
        request = match route.access {
            // The API takes JSON.
            Access::Api(_) => {
                // Counts as numbers, everything else as text.
                let value = |v: &String| match v.parse::<u64>() {
                    Ok(n) => serde_json::Value::from(n),
                    Err(_) => serde_json::Value::String(v.clone()),
                };
                let object: serde_json::Map<String, serde_json::Value> =
                    body.iter().map(|(k, v)| ((*k).to_owned(), value(v))).collect();
                request.json(&object)
            }
            _ => request.form(body),
        };
    }
    request.send().await.unwrap()
}

fn permission(access: Access) -> Option<Permission> {
    match access {
        Access::Public => None,
        Access::Page(p) | Access::Api(p) => Some(p),
    }
}

/// What a request should get: (status, whether it is an allow).
fn expected(route: &StaffRoute, role: Option<Role>, in_scope: bool) -> StatusCode {
    let Some(role) = role else {
        return match route.access {
            Access::Api(_) => StatusCode::UNAUTHORIZED,
            _ => StatusCode::SEE_OTHER, // to the sign-in page
        };
    };
    let pages_closed = matches!(route.access, Access::Page(_)) && !role.uses_pages();
    let permitted = !pages_closed && permission(route.access).is_none_or(|p| role.allows(p));
    if !permitted {
        return StatusCode::FORBIDDEN;
    }
    if !in_scope {
        return StatusCode::NOT_FOUND;
    }
    if route.path == "/api/v1/receipts" {
        StatusCode::CREATED
    } else if route.method == Method::POST && route.path.ends_with("/responses") {
        // The form ticks no response: refused, and the page says so.
        StatusCode::UNPROCESSABLE_ENTITY
    } else if route.method == Method::GET
        // A new API key is shown on the page that made it, once.
        || route.path == "/admin/users/{name}/apikeys"
        || route.path == "/api/v1/served"
        // A checkpoint is made and handed over as a file.
        || route.path == "/admin/checkpoint"
    {
        StatusCode::OK
    } else {
        StatusCode::SEE_OTHER
    }
}

/// Markers that must not appear in a list answered to an account bound to Xã Tân Lộc.
const OUTSIDE: [&str; 6] = ["CB022", "Huỳnh Văn Sơn", "HL.BM.Q1", "XP01", "Kiều Văn Xa", "XP.TT"];
/// And one of these must (the lists are not trivially empty).
const INSIDE: [&str; 4] = ["CB018", "Nguyễn Hữu Thắng", "HL.TAN-LOC.TT", "HL.TL.Q1"];

#[tokio::test]
async fn no_route_lets_anyone_past_their_role_or_scope() {
    let routes = hailong::web::staff_routes();
    assert!(
        routes.iter().any(|r| matches!(r.access, Access::Page(_)))
            && routes.iter().any(|r| matches!(r.access, Access::Api(_)))
    );
    let mut checked = 0;
    let mut failures = Vec::new();
    let roles: Vec<Option<Role>> = std::iter::once(None).chain(Role::ALL.into_iter().map(Some)).collect();
    for role in roles {
        // Reads share one world per role; each change gets a world of its own.
        let reads = spawn().await;
        world(&reads).await;
        let reads_who = match role {
            Some(r) => Some(credentials(&reads, r).await),
            None => None,
        };
        for route in routes.iter().filter(|r| r.access != Access::Public) {
            for relation in RELATIONS {
                let Some(target) = (if route.param == Param::None { Some("") } else { target(route.param, relation) })
                else {
                    continue;
                };
                let changes = route.method != Method::GET;
                // A changing route whose form names a unit is tried with every unit relation
                // (ids swapped in the body); otherwise with the target's own relation.
                let cases: Vec<(Relation, Relation)> = match route.param {
                    Param::None if relation != Relation::Own => continue,
                    Param::None if form_names_a_unit(route) => RELATIONS.iter().map(|r| (Relation::Own, *r)).collect(),
                    Param::Officer if form_names_a_unit(route) && relation == Relation::Descendant => {
                        RELATIONS.iter().map(|r| (relation, *r)).collect()
                    }
                    _ => vec![(relation, Relation::Own)],
                };
                for (path_relation, body_relation) in cases {
                    let owned;
                    let (app, who) = if changes {
                        owned = spawn().await;
                        world(&owned).await;
                        let who = match role {
                            Some(r) => Some(credentials(&owned, r).await),
                            None => None,
                        };
                        (&owned, who)
                    } else {
                        (&reads, reads_who.clone())
                    };
                    let value = match route.param {
                        Param::Point => point_of(app, target).await.expect("the target officer has a point"),
                        _ => target.to_owned(),
                    };
                    let path =
                        if route.param == Param::None { route.path.to_owned() } else { fill(route.path, &value) };
                    let body = form(route.path, body_relation);
                    let response = send(app, route, &path, who.as_ref(), &body).await;
                    let scope = role.is_some_and(|r| {
                        let path_ok = route.param == Param::None || in_scope(r, path_relation);
                        let body_ok = !form_names_a_unit(route) || in_scope(r, body_relation);
                        path_ok && body_ok
                    });
                    let want = expected(route, role, scope || role.is_none());
                    let got = response.status();
                    checked += 1;
                    let label = format!(
                        "{} {} as {:?} on {path_relation:?} with a body on {body_relation:?} ({path})",
                        route.method,
                        route.path,
                        role.map(Role::code)
                    );
                    if got != want {
                        failures.push(format!("{label}: got {got}, want {want}"));
                        continue;
                    }
                    // Lists answered to a scoped account hold nothing from outside its scope.
                    let scoped_list = route.param == Param::None && !changes && role.is_some_and(|r| r != Role::Admin);
                    if got == StatusCode::OK && scoped_list {
                        let text = response.text().await.unwrap();
                        if let Some(leak) = OUTSIDE.iter().find(|m| text.contains(**m)) {
                            failures.push(format!("{label}: lists {leak}, outside the scope"));
                        }
                        if !unscoped_list(route.path) && !INSIDE.iter().any(|m| text.contains(*m)) {
                            failures.push(format!("{label}: lists nothing of its own scope"));
                        }
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {checked} checks failed:\n{}", failures.len(), failures.join("\n"));
    assert!(checked > 150, "only {checked} checks ran");
}
