//! Each request's id: taken from a proxy's `X-Request-Id` when it is a plain token, made here
//! otherwise; carried by every log line of the request (its span), returned in `X-Request-Id`,
//! and shown on error pages so that whoever saw one can quote it. Also where each request's
//! duration is measured, by route family and status class.

use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::telemetry::names;

tokio::task_local! {
    static CURRENT: String;
}

/// A request's id, as the span and the pages name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The id of the request being answered, where there is one.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// An incoming id is kept when it is 1 to 64 letters, digits, '-', '_' or '.'.
fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The family a path belongs to, for the metrics' `route` label (few values, never a slug or a
/// token).
pub fn route_of(method: &axum::http::Method, path: &str) -> &'static str {
    match path {
        "/healthz" | "/readyz" => "probe",
        "/metrics" => "metrics",
        _ if path.starts_with("/s/") && method == axum::http::Method::POST => "submit",
        _ if path.starts_with("/s/") => "form",
        _ if path.starts_with("/r/") && method == axum::http::Method::POST => "receipt_submit",
        _ if path.starts_with("/r/") => "receipt_form",
        _ if path.starts_with("/api/") => "api",
        _ if path.starts_with("/admin/indices") => "indices",
        _ if path.starts_with("/admin") => "admin",
        _ if path.starts_with("/static/") => "static",
        _ => "other",
    }
}

/// The middleware: names the request, runs it in that name, and measures it.
pub async fn identify(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map_or_else(|| crate::domain::chain::hex(&rand::random::<[u8; 8]>()), str::to_owned);
    let route = route_of(request.method(), request.uri().path());
    request.extensions_mut().insert(RequestId(id.clone()));
    let started = Instant::now();
    let mut response = CURRENT.scope(id.clone(), next.run(request)).await;
    let status = match response.status().as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    metrics::histogram!(names::REQUEST_SECONDS, "route" => route, "status" => status)
        .record(started.elapsed().as_secs_f64());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_tokens_are_taken_from_outside_and_routes_are_few() {
        assert!(acceptable("b3a1-77_x.9"));
        assert!(!acceptable(""));
        assert!(!acceptable("has space"));
        assert!(!acceptable(&"a".repeat(65)));
        assert_eq!(route_of(&axum::http::Method::POST, "/s/abc"), "submit");
        assert_eq!(route_of(&axum::http::Method::GET, "/r/TOKEN"), "receipt_form");
        assert_eq!(route_of(&axum::http::Method::GET, "/admin/indices/officer/CB1"), "indices");
    }
}
