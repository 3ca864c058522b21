//! What an operator sees: /metrics, request ids in logs, headers and error pages, JSON logs.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::TestApp;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn metrics_count_submissions_refusals_requests_and_the_writer() {
    let app = TestApp::spawn_with(|s| s.submit_limit_per_minute = 1).await;
    let point = app.officer_point().await;
    let slug = point.slug.to_string();
    crate::helpers::inside_one_window(app.clock(), 60, 15);
    let key = app.form_key(&slug).await;
    assert_eq!(app.post(&slug, &[("key", key.as_str()), ("q_hai_long_chung", "5")]).await.status(), 303);
    let key = app.form_key(&slug).await;
    assert_eq!(app.post(&slug, &[("key", key.as_str()), ("q_hai_long_chung", "4")]).await.status(), 429);
    let key = app.form_key(&slug).await;
    assert_eq!(app.post(&slug, &[("key", key.as_str()), ("q_hai_long_chung", "9")]).await.status(), 422);

    let response = reqwest::get(format!("{}/metrics", app.metrics_base)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = response.text().await.unwrap();
    for needle in [
        "hailong_submissions_total{outcome=\"stored\",channel=\"qr\"}",
        "hailong_refusals_total{reason=\"rate_limited\"}",
        "hailong_refusals_total{reason=\"invalid\"}",
        "hailong_http_request_duration_seconds_bucket{route=\"submit\",status=\"3xx\",le=\"0.1\"}",
        "hailong_http_request_duration_seconds_count{route=\"form\",status=\"2xx\"}",
        "hailong_writer_group_size_bucket",
        "hailong_writer_commit_seconds_bucket",
        "hailong_writer_queue_depth",
        // There from the start, at 0 until the first event, so that alerts on them have data.
        "hailong_writer_commit_failures_total",
        "hailong_refusals_total{reason=\"sign_in_limited\"}",
        "hailong_submissions_total{outcome=\"timeout\",channel=\"receipt\"}",
    ] {
        assert!(text.contains(needle), "{needle} in:\n{text}");
    }
    assert!(!text.contains(&slug), "no slug, token or code in the metrics");
    app.stop().await;
}

#[tokio::test]
async fn metrics_are_served_on_their_own_address_only() {
    // Loopback unless set otherwise: live counts of ratings and sign-ins are no one's business
    // on the citizens' address.
    assert!(hailong::config::Settings::default().metrics_bind.ip().is_loopback());
    let port = free_port();
    let app = TestApp::spawn_with(|s| s.metrics_bind = format!("127.0.0.1:{port}").parse().unwrap()).await;
    assert_eq!(app.get("/metrics").await.status(), 404, "not on the public address");
    let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap().text().await.unwrap();
    assert!(text.contains("hailong_http_request_duration_seconds"), "{text}");
    app.stop().await;
}

#[tokio::test]
async fn every_answer_carries_its_request_id_and_error_pages_show_it() {
    let app = TestApp::spawn().await;
    let response = app.get("/s/khong-co-ma-nay").await;
    assert_eq!(response.status(), 404);
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 16);
    let page = response.text().await.unwrap();
    assert!(page.contains(&format!("Mã yêu cầu (request id): <code>{id}</code>")), "{page}");
    // A link that names no page at all (mistyped from a receipt) gets the same page, not an
    // empty answer; the API answers in JSON.
    for path in ["/khong-co-trang-nay", "/s/", "/admin/khong-co"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        let page = response.text().await.unwrap();
        assert!(page.contains("Không tìm thấy trang") && page.contains(&id), "{path}: {page}");
    }
    let api = app.get("/api/v1/khong-co").await;
    assert_eq!(api.status(), 404);
    assert_eq!(api.json::<serde_json::Value>().await.unwrap()["error"], "no such route");
    // A proxy's id is kept when it is a plain token, replaced when it is not.
    let kept =
        app.client.get(format!("{}/healthz", app.base)).header("x-request-id", "edge-42.a").send().await.unwrap();
    assert_eq!(kept.headers()["x-request-id"], "edge-42.a");
    let replaced =
        app.client.get(format!("{}/healthz", app.base)).header("x-request-id", "<script>").send().await.unwrap();
    assert_ne!(replaced.headers()["x-request-id"], "<script>");
    app.stop().await;
}

#[test]
fn json_logs_give_each_request_line_its_id() {
    if std::env::var("HAILONG_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty()) {
        return; // The log format does not depend on the backend.
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hailong"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("HAILONG_DATABASE_URL", format!("sqlite://{}", dir.path().join("j.db").display()))
        .env("HAILONG_METRICS_BIND", "127.0.0.1:0")
        .env("HAILONG_LOG_FORMAT", "json")
        .env("HAILONG_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if client.get(format!("http://127.0.0.1:{port}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let r =
            client.get(format!("http://127.0.0.1:{port}/s/none")).header("x-request-id", "json-test-7").send().await;
        assert_eq!(r.unwrap().status(), 404);
    });
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<serde_json::Value> =
        logs.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    let ours: Vec<&serde_json::Value> = lines.iter().filter(|l| l["span"]["id"] == "json-test-7").collect();
    assert!(!ours.is_empty(), "a line of the request, with its id:\n{logs}");
    assert!(
        ours.iter()
            .any(|l| l["fields"]["status"] == 404
                || l["fields"]["message"].as_str().is_some_and(|m| m.contains("response"))),
        "{logs}"
    );
}

/// Reads from a raw connection until the server closes it: what it sent, or `None` when it was
/// still open after `within`.
async fn until_closed(stream: &mut tokio::net::TcpStream, within: Duration) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()
    .map(|()| got)
}

#[tokio::test]
async fn stalled_and_idle_connections_are_closed_and_their_number_is_capped() {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::spawn_with(|s| {
        s.header_timeout_secs = 1;
        s.max_connections = 8;
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    // Eight clients take every place, each having sent half a request line.
    let mut stalled = Vec::new();
    for _ in 0..8 {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        stream.write_all(b"GET /healthz HT").await.unwrap();
        stalled.push(stream);
    }
    // A ninth waits for a place (it is not refused), and is served once one is freed: not
    // before the stalled ones' time is up.
    let asked = std::time::Instant::now();
    let answer = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert!(asked.elapsed() >= Duration::from_millis(500), "served only once a stalled connection was closed");
    for stream in &mut stalled {
        assert!(until_closed(stream, Duration::from_secs(10)).await.is_some(), "a stalled connection is closed");
    }
    // A connection idle after its answer is closed too.
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    idle.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()).await.unwrap();
    let sent = until_closed(&mut idle, Duration::from_secs(10)).await.expect("an idle connection is closed");
    assert!(String::from_utf8_lossy(&sent).starts_with("HTTP/1.1 200"), "its request was answered first");
    // With the stalled ones gone, clients are served at once again.
    for _ in 0..20 {
        assert_eq!(app.get("/healthz").await.status(), 200);
    }
    // `/metrics` on its own address closes a stalled connection the same way.
    let metrics = app.metrics_base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&metrics).await.unwrap();
    stream.write_all(b"GET /metrics HT").await.unwrap();
    assert!(until_closed(&mut stream, Duration::from_secs(10)).await.is_some(), "a stalled scrape is closed");
    assert_eq!(app.client.get(format!("{}/metrics", app.metrics_base)).send().await.unwrap().status(), 200);
}
