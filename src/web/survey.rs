//! The citizen's form: `GET /s/{slug}` shows it, `POST /s/{slug}` validates and stores it, and
//! `GET /s/{slug}/cam-on` thanks (Post/Redirect/Get). `GET`/`POST /r/{token}` are the same form
//! opened from a receipt's token: the officer's form, kept once per receipt.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use super::AppState;
use super::client::client_ip;
use super::slotted::{SlottedPage, accepts_gzip};
use crate::app::intake::Sent;
use crate::domain::org::Field;
use crate::domain::point::PointContext;
use crate::domain::point::Slug;
use crate::domain::questionnaire::{Draft, FormErrors, Questionnaire};
use crate::domain::response::{Channel, IdempotencyKey, NewResponse};
use crate::error::AppError;
use crate::views::Lang;
use crate::views::survey::{FormView, form, resend, thanks};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/s/{slug}", get(show).post(submit))
        .route("/s/{slug}/cam-on", get(thank))
        .route("/r/{token}", get(show_receipt).post(submit_receipt))
}

#[derive(Debug, Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

/// The point behind a slug, from the cache or the store; unknown slugs are not cached.
async fn show(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let (slug, point) = state.app.open_point(&slug).await?;
    let lang = Lang::from_param(query.lang.as_deref());
    let key = state.app.issue_form_key()?;
    // A fresh form is the same for every citizen but for its one-time key: it is rendered and
    // compressed once (per point and language, for as long as the point is cached) and the key
    // put in its slot.
    let cache_key = (slug.as_str().to_owned(), lang, point.questionnaire_id.clone());
    let generation = state.app.points_generation();
    let page = match state.fresh_forms.get(&cache_key).filter(|(g, _)| *g == generation) {
        Some((_, page)) => page,
        None => {
            let questionnaire = state.app.questionnaire_of(&point)?;
            let fields = state.app.fields().await?;
            let path = format!("/s/{slug}");
            let view = FormView {
                lang,
                path: &path,
                point: &point,
                procedure: None,
                questionnaire: &questionnaire,
                fields: &fields,
                draft: &Draft::default(),
                errors: None,
                notice: None,
                key: KEY_SLOT,
            };
            let page = SlottedPage::new(&form(&view).into_string(), KEY_SLOT)
                .map(Arc::new)
                .map_err(|e| AppError::Internal(anyhow::anyhow!("the fresh form: {e}")))?;
            state.fresh_forms.put(cache_key, (generation, page.clone()));
            page
        }
    };
    let html = (header::CONTENT_TYPE, "text/html; charset=utf-8");
    let vary = (header::VARY, "accept-encoding");
    let mut response = if accepts_gzip(&headers) {
        // Compressed in advance: the compression layer leaves a body with an encoding alone.
        let encoding = (header::CONTENT_ENCODING, "gzip");
        ([html, vary, encoding], page.gzip(key.as_str())).into_response()
    } else {
        ([html, vary], page.html(key.as_str())).into_response()
    };
    // A phone seen for the first time gets its device cookie (the stuffing flags' device).
    if super::client::device_cookie(&headers).is_none() {
        let secure = state.app.settings.public_base_url().starts_with("https://");
        if let Ok(value) = axum::http::HeaderValue::from_str(&super::client::new_device_cookie(secure)) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// The form a receipt's token opens (not cached: it names the receipt's procedure).
async fn show_receipt(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<LangQuery>,
) -> Result<Response, AppError> {
    let opened = state.app.open_receipt(&token).await?;
    let questionnaire = state.app.questionnaire_of(&opened.point)?;
    let fields = state.app.fields().await?;
    let path = format!("/r/{token}");
    let ctx = FormContext {
        path: &path,
        point: &opened.point,
        procedure: opened.procedure.as_deref(),
        questionnaire: &questionnaire,
        fields: &fields,
    };
    let draft = Draft { field: opened.field.clone().unwrap_or_default(), ..Draft::default() };
    let lang = Lang::from_param(query.lang.as_deref());
    Ok(ctx.render(StatusCode::OK, lang, &draft, None, None, &state.app.issue_form_key()?))
}

/// Stands for the one-time key in a cached form; URL-safe like a key, so escaping leaves it as is.
const KEY_SLOT: &str = "KEY-SLOT-00000000000000000000000000";

/// Decodes an `application/x-www-form-urlencoded` body, refusing bytes that are not UTF-8
/// rather than replacing them: a citizen's words are kept exactly or not at all.
pub fn decode_form(body: &[u8]) -> Option<Vec<(String, String)>> {
    let decode = |part: &[u8]| -> Option<String> {
        let spaced: Vec<u8> = part.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
        let bytes: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
        String::from_utf8(bytes).ok()
    };
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut it = pair.splitn(2, |&b| b == b'=');
            let name = decode(it.next().unwrap_or_default())?;
            let value = decode(it.next().unwrap_or_default())?;
            Some((name, value))
        })
        .collect()
}

/// The form's own fields, apart from the questionnaire's answers.
struct Envelope {
    /// The one-time key as sent, not yet checked.
    key: Option<String>,
    /// The questionnaire (`id@version`) the form was rendered from.
    version: Option<(String, i64)>,
    lang: Lang,
    honeypot_filled: bool,
    answers: Vec<(String, String)>,
}

fn split_envelope(pairs: Vec<(String, String)>) -> Envelope {
    let mut envelope =
        Envelope { key: None, version: None, lang: Lang::Vi, honeypot_filled: false, answers: Vec::new() };
    for (name, value) in pairs {
        match name.as_str() {
            "key" => envelope.key = Some(value),
            "v" => {
                envelope.version =
                    value.split_once('@').and_then(|(id, v)| Some((id.to_owned(), v.parse::<i64>().ok()?)))
            }
            "lang" => envelope.lang = Lang::from_param(Some(&value)),
            "website" => envelope.honeypot_filled |= !value.trim().is_empty(),
            _ => envelope.answers.push((name, value)),
        }
    }
    envelope
}

/// The parts of a form that stay the same while a citizen corrects it.
struct FormContext<'a> {
    /// `/s/SLUG` or `/r/TOKEN`.
    path: &'a str,
    point: &'a PointContext,
    procedure: Option<&'a str>,
    questionnaire: &'a Questionnaire,
    fields: &'a [Field],
}

impl FormContext<'_> {
    fn render(
        &self,
        status: StatusCode,
        lang: Lang,
        draft: &Draft,
        errors: Option<&FormErrors>,
        notice: Option<(&str, &str)>,
        key: &IdempotencyKey,
    ) -> Response {
        let view = FormView {
            lang,
            path: self.path,
            point: self.point,
            procedure: self.procedure,
            questionnaire: self.questionnaire,
            fields: self.fields,
            draft,
            errors,
            notice,
            key: key.as_str(),
        };
        (status, form(&view)).into_response()
    }
}

/// Stores a citizen's form. The whole of it is bounded in time: the writer's answer by the
/// `submit_timeout_secs` setting (past it the form comes back with the answers kept), and
/// everything before it by a little more, for a database that does not answer even for the
/// point (then the answers come back as they were sent, to send again).
async fn submit(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let slug = Slug::parse(&slug).map_err(|_| AppError::NotFound)?;
    bounded(&state, Via::Point(slug), peer, &headers, &body).await
}

/// Stores a citizen's form opened from a receipt's token, as [`submit`] does.
async fn submit_receipt(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    bounded(&state, Via::Receipt(token), peer, &headers, &body).await
}

/// How a form was reached: a collection point's open QR code, or a receipt's token.
#[derive(Clone, Debug)]
enum Via {
    Point(Slug),
    Receipt(String),
}

impl Via {
    /// The form's address.
    fn path(&self) -> String {
        match self {
            Self::Point(slug) => format!("/s/{slug}"),
            Self::Receipt(token) => format!("/r/{token}"),
        }
    }
}

/// A send under its deadline; past it the answers come back as sent, to send again.
async fn bounded(
    state: &AppState,
    via: Via,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, AppError> {
    let deadline = tokio::time::Instant::now() + state.app.settings.submit_timeout();
    let received = receive(state, via.clone(), peer, headers, body, deadline);
    match tokio::time::timeout_at(deadline + LOOKUP_GRACE, received).await {
        Ok(answer) => answer,
        Err(_) => {
            let pairs = decode_form(body).unwrap_or_default();
            let lang = split_envelope(pairs.clone()).lang;
            Ok((StatusCode::SERVICE_UNAVAILABLE, resend(lang, &via.path(), &pairs)).into_response())
        }
    }
}

/// How much longer than the writer's deadline the whole of a send may take.
const LOOKUP_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

///
/// One function because it is one send under one deadline, in order: the point, the questionnaire,
/// the body, the rate limit, the writer, and the answer for each outcome.
async fn receive(
    state: &AppState,
    via: Via,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: &[u8],
    deadline: tokio::time::Instant,
) -> Result<Response, AppError> {
    let path = via.path();
    let (slug, point, receipt, procedure) = match via {
        Via::Point(slug) => {
            let (slug, point) = state.app.open_point(slug.as_str()).await?;
            (slug, point, None, None)
        }
        Via::Receipt(token) => {
            let opened = match state.app.open_receipt(&token).await {
                Err(AppError::Receipt(crate::error::ReceiptProblem::Used)) => {
                    // The same form sent again (its first answer lost on the way): thanked, as
                    // a repeat of an open-QR form is; any other form of the receipt is refused.
                    let sent = decode_form(body).map(split_envelope);
                    if let Some(envelope) = sent
                        && let Some(key) = envelope.key.as_deref()
                        && let Some(slug) = state.app.receipt_used_by(&token, key).await?
                    {
                        let thanks = format!("/s/{slug}/cam-on?lang={}", envelope.lang.code());
                        return Ok(Redirect::to(&thanks).into_response());
                    }
                    return Err(AppError::Receipt(crate::error::ReceiptProblem::Used));
                }
                other => other?,
            };
            (opened.slug, opened.point, Some(opened.receipt), opened.procedure)
        }
    };
    let procedure = procedure.as_deref();
    let fields = state.app.fields().await?;
    if super::client::from_another_site(headers, state.app.settings.public_base_url.as_deref()) {
        // Another site's page made the browser send this: nothing is kept, not even the answers
        // as drafts (that page chose them); the citizen is offered the form itself.
        crate::app::intake::count_submission("cross_site", if receipt.is_some() { "receipt" } else { "qr" });
        let current = state.app.questionnaire_of(&point)?;
        let ctx = FormContext { path: &path, point: &point, procedure, questionnaire: &current, fields: &fields };
        let notice = (
            "Phiếu này được gửi từ một trang web khác nên chưa được lưu. Nếu Ông/Bà muốn đánh giá, xin vui lòng trả lời phiếu dưới đây.",
            "This form was sent from another website, so it was not saved. If you wish to rate, please answer the form below.",
        );
        let lang = decode_form(body).map(split_envelope).map_or(Lang::Vi, |e| e.lang);
        let fresh = state.app.issue_form_key()?;
        return Ok(ctx.render(StatusCode::FORBIDDEN, lang, &Draft::default(), None, Some(notice), &fresh));
    }
    let pairs = decode_form(body);
    let envelope = pairs.map(split_envelope);
    // Validate against the version of the point's questionnaire the form was drawn from, even
    // if the point has moved to a newer version since: that is what the citizen answered. A
    // point takes only its own questionnaire: a form naming another one (the point changed
    // questionnaires while it was open, or a hand-made post) is shown again as the point's.
    let current = state.app.questionnaire_of(&point)?;
    let named = envelope.as_ref().and_then(|e| e.version.clone());
    let drawn_from = named.as_ref().and_then(|(id, version)| {
        (point.questionnaire_id == *id).then(|| state.app.questionnaires.version(id, *version).cloned()).flatten()
    });
    let questionnaire = drawn_from.clone().unwrap_or_else(|| current.clone());
    if let (Some(envelope), Some(_), None) = (&envelope, &named, &drawn_from) {
        let ctx = FormContext { path: &path, point: &point, procedure, questionnaire: &current, fields: &fields };
        let notice = (
            "Phiếu đánh giá tại quầy này đã thay đổi nên phiếu vừa gửi chưa được lưu. Xin vui lòng trả lời phiếu dưới đây.",
            "The rating form at this desk has changed, so the form you sent was not saved. Please answer the form below.",
        );
        let key = state.app.issue_form_key()?;
        let draft = Draft::default();
        return Ok(ctx.render(StatusCode::UNPROCESSABLE_ENTITY, envelope.lang, &draft, None, Some(notice), &key));
    }
    let ctx = FormContext { path: &path, point: &point, procedure, questionnaire: &questionnaire, fields: &fields };

    let Some(envelope) = envelope else {
        let notice = (
            "Phiếu gửi lên bị lỗi mã hóa ký tự và chưa được lưu. Xin vui lòng chọn lại và gửi lại.",
            "The form arrived with broken character encoding and was not saved. Please fill it in again.",
        );
        let draft = Draft::default();
        return Ok(ctx.render(
            StatusCode::BAD_REQUEST,
            Lang::Vi,
            &draft,
            None,
            Some(notice),
            &state.app.issue_form_key()?,
        ));
    };
    let lang = envelope.lang;
    if envelope.honeypot_filled {
        // A robot filled the hidden field: thank it and keep nothing.
        return Ok(Redirect::to(&format!("/s/{slug}/cam-on?lang={}", lang.code())).into_response());
    }

    let (draft, answers) =
        questionnaire.read_submission(&envelope.answers, |code| fields.iter().any(|f| f.code == code));
    // Only a key this service issued is taken (its MAC under the form secret): a key made by
    // hand, with a draw time of its choosing, stores nothing. The answers come back to send
    // again on a fresh key.
    let form_keys = state.app.form_keys()?;
    let Some(key) = envelope.key.as_deref().and_then(|text| form_keys.check(text)) else {
        crate::app::intake::count_submission("bad_key", if receipt.is_some() { "receipt" } else { "qr" });
        let notice = (
            "Phiếu này đã cũ hoặc thiếu mã phiếu nên chưa được lưu. Xin vui lòng kiểm tra và bấm Gửi đánh giá lần nữa.",
            "This form was outdated or incomplete and was not saved. Please check it and press Send again.",
        );
        let errors = answers.as_ref().err();
        let fresh = form_keys.issue(state.app.store.clock().now_ms());
        return Ok(ctx.render(StatusCode::UNPROCESSABLE_ENTITY, lang, &draft, errors, Some(notice), &fresh));
    };
    let answers = match answers {
        Ok(answers) => answers,
        Err(errors) => {
            crate::app::intake::count_submission("invalid", if receipt.is_some() { "receipt" } else { "qr" });
            return Ok(ctx.render(StatusCode::UNPROCESSABLE_ENTITY, lang, &draft, Some(&errors), None, &key));
        }
    };

    let now = state.app.store.clock().now_ms();
    let ip = client_ip(peer, headers, &state.app.settings.trusted_proxies);
    // A receipt rates once whoever sends it: the per-address limit is for the open QR codes.
    let channel = if receipt.is_some() { Channel::Receipt } else { Channel::Qr };
    let device = super::client::device_of(ip);
    if receipt.is_none() && !state.app.allow_rating(&device, point.point_id).await {
        crate::app::intake::count_submission("rate_limited", channel.code());
        return Err(AppError::TooManyRequests);
    }

    let response = NewResponse {
        point_id: point.point_id,
        questionnaire_id: questionnaire.id.as_str().into(),
        questionnaire_version: questionnaire.version,
        answers: answers.values,
        field: answers.field,
        comment: answers.comment,
        channel,
        submitted_at_ms: now,
        key: key.clone(),
        device: receipt.is_none().then(|| super::client::flag_device_of(ip, headers)),
        receipt,
    };
    // Past the deadline the response may still be committed: the same key sent again finds it.
    let sent = tokio::time::timeout_at(deadline, state.app.send(&slug, response)).await.unwrap_or_else(|_| {
        crate::app::intake::count_submission("timeout", channel.code());
        Err(AppError::Unavailable("no commit before the deadline".into()))
    });
    match sent {
        Ok(Sent::Kept) => Ok(Redirect::to(&format!("/s/{slug}/cam-on?lang={}", lang.code())).into_response()),
        Ok(Sent::PointClosed) => Err(AppError::PointRevoked),
        Ok(Sent::ReceiptUsed) => Err(AppError::Receipt(crate::error::ReceiptProblem::Used)),
        Err(AppError::Unavailable(reason)) => {
            // The writer logs why it cannot commit, once per change; here only the outcome.
            tracing::debug!(%reason, "response not stored; asking the citizen to send again");
            let notice = (
                "Hệ thống đang bận nên chưa lưu được đánh giá của Ông/Bà. Các lựa chọn vẫn còn nguyên: xin vui lòng bấm Gửi đánh giá lần nữa.",
                "The system is busy and your rating was not saved yet. Your answers are kept: please press Send again.",
            );
            Ok(ctx.render(StatusCode::SERVICE_UNAVAILABLE, lang, &draft, None, Some(notice), &key))
        }
        Err(other) => Err(other),
    }
}

async fn thank(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<LangQuery>,
) -> Result<Response, AppError> {
    let (_, point) = state.app.point_context(&slug).await?;
    Ok(thanks(Lang::from_param(query.lang.as_deref()), &point).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_forms_strictly() {
        let pairs = decode_form(b"q_a=5&comment=C%C3%A1n+b%E1%BB%99&empty=").unwrap();
        assert_eq!(pairs[1], ("comment".into(), "Cán bộ".into()));
        assert_eq!(pairs[2], ("empty".into(), String::new()));
        assert!(decode_form(b"comment=%FF%FE").is_none(), "invalid UTF-8 is refused");
        assert!(decode_form(b"comment=\xff").is_none());
    }
}
