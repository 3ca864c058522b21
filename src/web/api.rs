//! The JSON API `/api/v1`, for the one-stop software and other machines: API keys only, each
//! answer limited to the key's account scope. Something outside the scope is 404, exactly as
//! something that does not exist.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::Method;
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::Caller;
use super::policy::{Access, ApiError, Param, StaffRoute};
use crate::domain::account::Permission;
use crate::domain::org::{Desk, Officer, Unit};
use crate::domain::point::{Point, form_url};

pub fn routes() -> Vec<StaffRoute> {
    use Access::{Api, Public};
    use Permission::Read;
    vec![
        StaffRoute::new(Method::GET, "/api/v1/openapi.json", Public, Param::None, get(openapi)),
        StaffRoute::new(Method::GET, "/api/v1/units", Api(Read), Param::None, get(units)),
        StaffRoute::new(Method::GET, "/api/v1/units/{code}", Api(Read), Param::Unit, get(unit)),
        StaffRoute::new(Method::GET, "/api/v1/desks", Api(Read), Param::None, get(desks)),
        StaffRoute::new(Method::GET, "/api/v1/desks/{code}", Api(Read), Param::Desk, get(desk)),
        StaffRoute::new(Method::GET, "/api/v1/officers", Api(Read), Param::None, get(officers)),
        StaffRoute::new(Method::GET, "/api/v1/officers/{code}", Api(Read), Param::Officer, get(officer)),
        StaffRoute::new(Method::GET, "/api/v1/points", Api(Read), Param::None, get(points)),
        StaffRoute::new(Method::GET, "/api/v1/points/{slug}", Api(Read), Param::Point, get(point)),
        StaffRoute::new(
            Method::POST,
            "/api/v1/served",
            Api(Permission::IssueReceipts),
            Param::None,
            axum::routing::post(record_served),
        ),
        StaffRoute::new(
            Method::POST,
            "/api/v1/receipts",
            Api(Permission::IssueReceipts),
            Param::None,
            axum::routing::post(create_receipt),
        ),
    ]
}

type ApiResult = Result<Json<Value>, ApiError>;

/// What the one-stop software sends for a receipt's token.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiptIn {
    dossier_code: Option<String>,
    unit_code: Option<String>,
    officer_code: Option<String>,
    desk_code: Option<String>,
    field_code: Option<String>,
    procedure: Option<String>,
}

/// One day's dossiers served by an officer, as the one-stop software reports it.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ServedIn {
    date: String,
    unit_code: String,
    officer_code: String,
    dossiers: u64,
}

/// `POST /api/v1/served`: dossiers served per officer and day (one object or a list), for
/// rated ÷ served in the reports. A day reported again replaces the earlier count.
async fn record_served(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> ApiResult {
    use axum::http::StatusCode;
    let bad = |message: String| ApiError(StatusCode::BAD_REQUEST, message.into());
    let value: Value = serde_json::from_slice(&body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    let list = match value {
        Value::Array(items) => items,
        one => vec![one],
    };
    let mut entries = Vec::with_capacity(list.len());
    for (i, item) in list.into_iter().enumerate() {
        let input: ServedIn = serde_json::from_value(item).map_err(|e| bad(format!("entry {}: {e}", i + 1)))?;
        let day =
            crate::domain::clock::parse_date(&input.date).map_err(|e| bad(format!("entry {}: date: {e}", i + 1)))?;
        entries.push(crate::store::ServedEntry {
            day,
            unit: input.unit_code,
            officer: input.officer_code,
            dossiers: input.dossiers,
        });
    }
    match state.app.record_served(&caller, &entries).await? {
        Ok(n) => Ok(Json(json!({ "recorded": n }))),
        Err(field) => Err(bad(format!("{}: {}", field.field, field.reason))),
    }
}

/// `POST /api/v1/receipts`: the token (and its address and QR code) for a dossier's receipt.
/// The same dossier asked for again gets the same token.
async fn create_receipt(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<(axum::http::StatusCode, Json<Value>), ApiError> {
    use axum::http::StatusCode;
    let bad = |message: String| ApiError(StatusCode::BAD_REQUEST, message.into());
    let input: ReceiptIn =
        serde_json::from_slice(&body).map_err(|e| bad(format!("the body is not a receipt request in JSON: {e}")))?;
    let required = |value: Option<String>, name: &str| {
        value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).ok_or_else(|| bad(format!("{name}: required")))
    };
    let blank_to_none = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let request = crate::app::receipts::ReceiptRequest {
        dossier_code: required(input.dossier_code, "dossier_code")?,
        unit_code: required(input.unit_code, "unit_code")?,
        officer_code: required(input.officer_code, "officer_code")?,
        desk_code: blank_to_none(input.desk_code),
        field_code: blank_to_none(input.field_code),
        procedure: blank_to_none(input.procedure),
    };
    let issued = match state.app.issue_receipt(&caller, &request).await? {
        Ok(issued) => issued,
        Err(field) => return Err(bad(format!("{}: {}", field.field, field.reason))),
    };
    let url = format!("{}/r/{}", state.app.settings.public_base_url(), issued.token);
    let qr_svg =
        crate::qr::svg(&url).map_err(|e| ApiError::from(crate::error::AppError::Internal(anyhow::anyhow!(e))))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "url": url,
            "token": issued.token,
            "expires_at": crate::domain::clock::iso(issued.last_day),
            "qr_svg": qr_svg,
        })),
    ))
}

// The wire types: what the API promises, field by field, apart from how the store keeps
// things. The OpenAPI description below lists the same fields.

/// A unit as the API shows it.
#[derive(Debug, Serialize)]
pub struct UnitOut<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub parent_code: Option<&'a str>,
    pub valid_from: &'a str,
    pub valid_to: Option<&'a str>,
    pub successor_code: Option<&'a str>,
}

impl<'a> From<&'a Unit> for UnitOut<'a> {
    fn from(u: &'a Unit) -> Self {
        Self {
            code: &u.code,
            name: &u.name,
            kind: &u.kind,
            parent_code: u.parent_code.as_deref(),
            valid_from: &u.valid_from,
            valid_to: u.valid_to.as_deref(),
            successor_code: u.successor_code.as_deref(),
        }
    }
}

/// A desk as the API shows it.
#[derive(Debug, Serialize)]
pub struct DeskOut<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub unit_code: &'a str,
}

impl<'a> From<&'a Desk> for DeskOut<'a> {
    fn from(d: &'a Desk) -> Self {
        Self { code: &d.code, name: &d.name, unit_code: &d.unit_code }
    }
}

/// An officer with their latest assignment, as the API shows it.
#[derive(Debug, Serialize)]
pub struct OfficerOut<'a> {
    pub code: &'a str,
    pub full_name: &'a str,
    pub unit_code: &'a str,
    pub desk_code: Option<&'a str>,
    pub valid_from: &'a str,
    pub valid_to: Option<&'a str>,
}

impl<'a> From<&'a Officer> for OfficerOut<'a> {
    fn from(o: &'a Officer) -> Self {
        Self {
            code: &o.code,
            full_name: &o.full_name,
            unit_code: &o.unit_code,
            desk_code: o.desk_code.as_deref(),
            valid_from: &o.valid_from,
            valid_to: o.valid_to.as_deref(),
        }
    }
}

/// A collection point as the API shows it, with the address its QR code holds.
#[derive(Debug, Serialize)]
pub struct PointOut<'a> {
    pub slug: &'a str,
    pub url: String,
    pub unit_code: &'a str,
    pub desk_code: Option<&'a str>,
    pub officer_code: Option<&'a str>,
    pub label: &'a str,
    pub questionnaire: &'a str,
}

impl<'a> PointOut<'a> {
    fn of(state: &AppState, p: &'a Point) -> Self {
        Self {
            slug: p.slug.as_str(),
            url: form_url(&state.app.settings.public_base_url(), &p.slug),
            unit_code: &p.unit_code,
            desk_code: p.desk_code.as_deref(),
            officer_code: p.officer_code.as_deref(),
            label: &p.label,
            questionnaire: p.questionnaire_id.as_str(),
        }
    }
}

async fn units(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> ApiResult {
    let units = state.app.units(&caller).await?;
    Ok(Json(json!({ "units": units.iter().map(UnitOut::from).collect::<Vec<_>>() })))
}

async fn unit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
) -> ApiResult {
    Ok(Json(json!(UnitOut::from(&state.app.unit(&caller, &code).await?))))
}

async fn desks(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> ApiResult {
    let desks = state.app.desks(&caller).await?;
    Ok(Json(json!({ "desks": desks.iter().map(DeskOut::from).collect::<Vec<_>>() })))
}

async fn desk(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
) -> ApiResult {
    Ok(Json(json!(DeskOut::from(&state.app.desk(&caller, &code).await?))))
}

async fn officers(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> ApiResult {
    let officers = state.app.officers(&caller).await?;
    Ok(Json(json!({ "officers": officers.iter().map(OfficerOut::from).collect::<Vec<_>>() })))
}

async fn officer(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(code): Path<String>,
) -> ApiResult {
    Ok(Json(json!(OfficerOut::from(&state.app.officer(&caller, &code).await?))))
}

async fn points(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> ApiResult {
    let points = state.app.points(&caller).await?;
    Ok(Json(json!({ "points": points.iter().map(|p| PointOut::of(&state, p)).collect::<Vec<_>>() })))
}

async fn point(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
) -> ApiResult {
    let point = state.app.point(&caller, &slug).await?;
    Ok(Json(json!(PointOut::of(&state, &point))))
}

/// The OpenAPI 3.1 description of this API.
async fn openapi() -> Json<Value> {
    let list = |name: &str, item: Value| {
        json!({ "get": {
            "summary": format!("The {name} in the key's scope"),
            "security": [{ "apiKey": [] }],
            "responses": {
                "200": { "description": "OK", "content": { "application/json": { "schema": {
                    "type": "object", "properties": { name: { "type": "array", "items": item } } } } } },
                "401": { "$ref": "#/components/responses/Unauthorized" }
            }
        }})
    };
    let one = |what: &str, param: &str, item: Value| {
        json!({ "get": {
            "summary": format!("One {what}; 404 when it is not in the key's scope"),
            "security": [{ "apiKey": [] }],
            "parameters": [{ "name": param, "in": "path", "required": true, "schema": { "type": "string" } }],
            "responses": {
                "200": { "description": "OK", "content": { "application/json": { "schema": item } } },
                "401": { "$ref": "#/components/responses/Unauthorized" },
                "404": { "description": "Not found, or outside the key's scope" }
            }
        }})
    };
    let s = |t: &str| json!({ "type": t });
    let opt = || json!({ "type": ["string", "null"] });
    let unit = json!({ "type": "object", "required": ["code", "name", "parent_code"], "properties": {
        "code": s("string"), "name": s("string"), "kind": s("string"), "parent_code": opt(),
        "valid_from": { "type": "string", "format": "date" }, "valid_to": opt(), "successor_code": opt() } });
    let desk = json!({ "type": "object", "required": ["code", "name", "unit_code"], "properties": {
        "code": s("string"), "name": s("string"), "unit_code": s("string") } });
    let officer = json!({ "type": "object", "required": ["code", "full_name", "unit_code"], "properties": {
        "code": s("string"), "full_name": s("string"), "unit_code": s("string"), "desk_code": opt(),
        "valid_from": s("string"), "valid_to": opt() } });
    let point = json!({ "type": "object", "required": ["slug", "url", "unit_code"], "properties": {
        "slug": s("string"), "url": s("string"), "unit_code": s("string"), "desk_code": opt(),
        "officer_code": opt(), "label": s("string"), "questionnaire": s("string") } });
    let query = |name: &str, description: &str| json!({ "name": name, "in": "query", "required": false, "description": description, "schema": s("string") });
    let indices = json!({ "get": {
        "summary": "Satisfaction indices of one level and period, within the key's scope (recorded in the audit log)",
        "description": "The rows and columns of `hailong export`; the README documents each column and the method.",
        "security": [{ "apiKey": [] }],
        "parameters": [
            query("period", "2026, 2026-H1, 2026-Q3, 2026-07 or 2026-01-01..2026-03-31 (Vietnam dates); default: this year"),
            query("level", "unit, subtree, desk, officer, field, channel or questionnaire; default: unit"),
            query("unit", "only this unit's subtree"),
            query("questionnaire", "default: mot-cua"),
            query("format", "json (default), csv or xlsx"),
        ],
        "responses": {
            "200": { "description": "The report", "content": {
                "application/json": { "schema": { "type": "object", "required": ["reports"] } },
                "text/csv": {},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {} } },
            "400": { "description": "A period, level or format that cannot be read; the error says which" },
            "401": { "$ref": "#/components/responses/Unauthorized" },
            "404": { "description": "A unit or questionnaire that does not exist, or outside the key's scope" }
        }
    }});
    let served_entry = json!({ "type": "object", "required": ["date", "unit_code", "officer_code", "dossiers"],
        "additionalProperties": false, "properties": { "date": { "type": "string", "format": "date" },
            "unit_code": s("string"), "officer_code": s("string"), "dossiers": { "type": "integer", "minimum": 0 } } });
    let served = json!({ "post": {
        "summary": "Dossiers served per officer and Vietnam day (integration keys), for rated ÷ served; a day reported again replaces the earlier count",
        "security": [{ "apiKey": [] }],
        "requestBody": { "required": true, "content": { "application/json": { "schema": {
            "oneOf": [served_entry.clone(), { "type": "array", "items": served_entry }] } } } },
        "responses": {
            "200": { "description": "How many were recorded", "content": { "application/json": { "schema": {
                "type": "object", "required": ["recorded"], "properties": { "recorded": s("integer") } } } } },
            "400": { "description": "An entry missing a field or wrong; the error names the entry and the field" },
            "401": { "$ref": "#/components/responses/Unauthorized" },
            "403": { "description": "The key's role may not report dossiers served" },
            "404": { "description": "A unit or officer that does not exist, or is outside the key's scope" }
        }
    }});
    let receipts = json!({ "post": {
        "summary": "The token of a dossier's receipt: one rating per dossier (integration keys); the same dossier gets the same token",
        "security": [{ "apiKey": [] }],
        "requestBody": { "required": true, "content": { "application/json": { "schema": {
            "type": "object", "required": ["dossier_code", "unit_code", "officer_code"], "additionalProperties": false,
            "properties": { "dossier_code": s("string"), "unit_code": s("string"), "officer_code": s("string"),
                "desk_code": opt(), "field_code": opt(), "procedure": opt() } } } } },
        "responses": {
            "201": { "description": "The token, the address it opens, its last day and its QR code", "content": {
                "application/json": { "schema": { "type": "object", "required": ["url", "token", "expires_at", "qr_svg"],
                    "properties": { "url": s("string"), "token": s("string"),
                        "expires_at": { "type": "string", "format": "date" }, "qr_svg": s("string") } } } } },
            "400": { "description": "A field missing or wrong; the error names it" },
            "401": { "$ref": "#/components/responses/Unauthorized" },
            "403": { "description": "The key's role may not ask for receipts" },
            "404": { "description": "The unit, desk or officer does not exist, or is outside the key's scope" },
            "503": { "description": "Receipts are not set up (the setting receipt_secret), or the database cannot answer now" }
        }
    }});
    Json(json!({
        "openapi": "3.1.0",
        "info": { "title": "hailong API", "version": "1" },
        "components": {
            "securitySchemes": { "apiKey": { "type": "http", "scheme": "bearer",
                "description": "A key from `hailong apikey create`" } },
            "responses": { "Unauthorized": { "description": "No valid API key" } }
        },
        "paths": {
            "/api/v1/units": list("units", unit.clone()),
            "/api/v1/units/{code}": one("unit", "code", unit),
            "/api/v1/desks": list("desks", desk.clone()),
            "/api/v1/desks/{code}": one("desk", "code", desk),
            "/api/v1/officers": list("officers", officer.clone()),
            "/api/v1/officers/{code}": one("officer", "code", officer),
            "/api/v1/points": list("points", point.clone()),
            "/api/v1/points/{slug}": one("collection point", "slug", point),
            "/api/v1/indices": indices,
            "/api/v1/receipts": receipts,
            "/api/v1/served": served,
        }
    }))
}
