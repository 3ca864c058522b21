//! Every management and API route, taken from the route table the router is built from, for
//! every role and every relation between the target and the caller's unit. Zero unexpected
//! allows: a route added without a policy, or a handler that forgets the scope, fails here.

use hailong::domain::account::{self, Permission, Role};
use hailong::domain::org::{Code, Name, NewAssignment, NewDesk, NewUnit, UnitKind, Validity};
use hailong::store::{NewSession, OrgBatch};
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
        _ => None,
    }
}

fn in_scope(role: Role, relation: Relation) -> bool {
    role == Role::Admin || matches!(relation, Relation::Own | Relation::Descendant)
}

/// The demo province plus a second one, so that "another province" exists.
async fn world(app: &TestApp) {
    app.seed().await;
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
    };
    app.store.import_org(&batch, "mot-cua", "test", &|_| {}).await.unwrap();
}

/// Credentials of an account of `role` bound to the caller's unit: a session cookie and an
/// API key, made directly in the store.
async fn credentials(app: &TestApp, role: Role) -> (String, String) {
    let unit = (role != Role::Admin).then_some(CALLER_UNIT);
    let name = format!("t-{}", role.code());
    let user_id = app.store.create_user(&name, role, unit, Some("unused"), "test").await.unwrap();
    let token = account::new_session_token();
    app.store.start_session(user_id, &account::token_hash(&token), NewSession::Full).await.unwrap();
    let key = account::new_api_key();
    app.store.create_api_key(&name, &account::token_hash(&key), &key[..11], "test").await.unwrap();
    (format!("hl_session={token}"), key)
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

async fn send(app: &TestApp, route: &StaffRoute, path: &str, who: Option<&(String, String)>) -> reqwest::Response {
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
    if route.method == Method::GET { StatusCode::OK } else { StatusCode::SEE_OTHER }
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
        let reads = TestApp::spawn().await;
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
                if route.param == Param::None && relation != Relation::Own {
                    continue;
                }
                let changes = route.method != Method::GET;
                let owned;
                let (app, who) = if changes {
                    owned = TestApp::spawn().await;
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
                let path = if route.param == Param::None { route.path.to_owned() } else { fill(route.path, &value) };
                let response = send(app, route, &path, who.as_ref()).await;
                let scope = route.param == Param::None || role.is_some_and(|r| in_scope(r, relation));
                let want = expected(route, role, scope);
                let got = response.status();
                checked += 1;
                let label =
                    format!("{} {} as {:?} on {relation:?} ({path})", route.method, route.path, role.map(Role::code));
                if got != want {
                    failures.push(format!("{label}: got {got}, want {want}"));
                    continue;
                }
                // Lists answered to a scoped account hold nothing from outside its scope.
                if got == StatusCode::OK && route.param == Param::None && role.is_some_and(|r| r != Role::Admin) {
                    let body = response.text().await.unwrap();
                    if let Some(leak) = OUTSIDE.iter().find(|m| body.contains(**m)) {
                        failures.push(format!("{label}: lists {leak}, outside the scope"));
                    }
                    if route.path != "/admin/audit" && !INSIDE.iter().any(|m| body.contains(*m)) {
                        failures.push(format!("{label}: lists nothing of its own scope"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {checked} checks failed:\n{}", failures.len(), failures.join("\n"));
    assert!(checked > 150, "only {checked} checks ran");
}
