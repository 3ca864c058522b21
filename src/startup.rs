//! Builds the application from settings, binds (port 0 in tests), serves, and shuts down
//! gracefully: in-flight requests finish, and the writer commits what it holds before exit.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, header};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::app::cache::TtlCache;
use crate::app::{App, CACHE_TTL};
use crate::config::Settings;
use crate::domain::clock;
use crate::domain::questionnaire::{Questionnaire, Registry, SHIPPED};
use crate::store::Store;
use crate::store::writer::Writer;
use crate::web::error::{log_errors, time_limit};
use crate::web::{self, AppState};

/// How long a stop waits for requests under way: a little over the time limit of one request
/// (`web::error::REQUEST_TIMEOUT`), within systemd's `TimeoutStopSec` (45 s) in the unit.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(35);

/// Connections `/metrics` serves at once: a scraper or two, and an operator's `curl`.
const METRICS_CONNECTIONS: usize = 16;

/// Largest request body accepted (a form with a 1,000-character comment is far smaller).
const BODY_LIMIT: usize = 64 * 1024;

/// Loads the shipped questionnaires into the store and returns every stored version.
pub async fn load_questionnaires(store: &Store) -> anyhow::Result<Registry> {
    let shipped = SHIPPED
        .iter()
        .map(|text| Questionnaire::from_toml(text).map_err(|e| anyhow::anyhow!("shipped questionnaire: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Registry::new(store.sync_questionnaires(&shipped).await?))
}

/// A bound, ready-to-serve application.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    writer_task: JoinHandle<()>,
    /// Tells the writer to stop taking new responses (it commits what it holds).
    stop_writer: tokio::sync::watch::Sender<bool>,
    /// `/metrics`, on an address of its own (`metrics_bind`) and no other.
    metrics_listener: TcpListener,
}

impl Application {
    /// Opens the database named in the settings and builds on it.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let store = Store::open_capped(
            &settings.database_url,
            settings.db_max_connections,
            settings.sqlite_max_pages,
            crate::store::SERVICE_WAIT,
        )
        .await?;
        Self::build_with_store(settings, store).await
    }

    /// Builds on an open store: questionnaires, the writer, the listener.
    pub async fn build_with_store(settings: Settings, store: Store) -> anyhow::Result<Self> {
        let store = store.with_settings(&settings);
        let questionnaires = Arc::new(load_questionnaires(&store).await?);
        if let Some(completed) = store.derive_missing_answers(&questionnaires).await?.filter(|n| *n > 0) {
            tracing::info!(
                responses = completed,
                "stored the derived answers of responses written before they were kept"
            );
        }
        let untagged = store.untag_receipt_issues().await?;
        if untagged > 0 {
            tracing::info!(tokens = untagged, "kept only the claims of the receipt tokens issued online before");
        }
        if let Some(sealed) = store.seal_receipt_keys().await?.filter(|n| *n > 0) {
            tracing::info!(keys = sealed, "sealed the receipt keys' secrets kept in plain text before");
        }
        if let Some(linked) = store.link_unlinked().await?.filter(|n| *n > 0) {
            tracing::info!(responses = linked, "linked the responses stored before the hash chain");
        }
        let (stop_writer, stop) = tokio::sync::watch::channel(false);
        let (writer, writer_task) =
            Writer::start(store.clone(), settings.writer_queue, settings.writer_batch_max, stop);
        let listener = TcpListener::bind(settings.bind)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind))?;
        let state = AppState {
            app: App::new(store, questionnaires, Arc::new(settings)).with_writer(writer),
            fresh_forms: Arc::new(TtlCache::new(CACHE_TTL)),
        };
        // The signing key of checkpoints and exports: read (or made) now, so that a key that
        // cannot be read stops the start, not the first export.
        let key = state.app.signing_key()?;
        tracing::debug!(key_id = %key.id(), "signing key");
        crate::telemetry::metrics();
        let addr = state.app.settings.metrics_bind;
        let metrics_listener = TcpListener::bind(addr).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot listen for /metrics on {addr} (the metrics_bind setting; another instance on this \
                 machine needs an address of its own): {e}"
            )
        })?;
        Ok(Self { listener, state, writer_task, stop_writer, metrics_listener })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The address `/metrics` is served on.
    pub fn metrics_addr(&self) -> std::io::Result<SocketAddr> {
        self.metrics_listener.local_addr()
    }

    pub fn store(&self) -> &Store {
        &self.state.app.store
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish and waits for the
    /// writer to commit everything it was handed.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Self { listener, state, writer_task, stop_writer, metrics_listener } = self;
        let store = state.app.store.clone();
        let housekeeping = tokio::spawn(housekeeping(store.clone(), state.app.settings.comment_retention_days));
        let checkpoints = tokio::spawn(crate::app::trust::run_checkpoints(state.app.clone()));
        let tls = state.app.settings.public_base_url().starts_with("https://");
        let limits = state.app.settings.connection_limits();
        let metrics_app = web::metrics_only();
        let mut app = web::router(state)
            .layer(axum::middleware::from_fn(time_limit))
            .layer(axum::middleware::from_fn(log_errors));
        for (name, value) in web::policy::security_headers(tls) {
            app = app.layer(SetResponseHeaderLayer::if_not_present(name, value));
        }
        let app = app
            .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
            // gzip at its fastest level: on a form of 7.7 kB it gives 2.5 kB against 2.3 kB at
            // level 9, and brotli saves a few dozen bytes more for several times the CPU
            // (measured in BENCHMARKS.md).
            .layer(CompressionLayer::new().no_br().no_deflate().no_zstd().quality(CompressionLevel::Fastest))
            .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
            // One line per request: method, path, status, latency. Never headers or bodies.
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|request: &axum::http::Request<_>| {
                        let id = request.extensions().get::<web::request_id::RequestId>().map_or("", |r| r.0.as_str());
                        tracing::info_span!(
                            "request",
                            id = %id,
                            method = %request.method(),
                            path = %logged_path(request.uri().path()),
                        )
                    })
                    .on_response(DefaultOnResponse::new().level(Level::INFO))
                    // The response line above gives the status; why a server error happened is
                    // logged once where it is known (the writer logs a change of state once,
                    // not each 503 it causes).
                    .on_failure(()),
            )
            // Outside the trace layer, so that the request's span carries its id.
            .layer(axum::middleware::from_fn(web::request_id::identify))
            .layer(CatchPanicLayer::new());
        // /metrics on its own address. Its router holds no writer handle: the writer stops when
        // the main router is gone.
        // Served as the main address is, bounded in time and number (a scraper needs one or
        // two connections), so that stalled clients cannot hold its sockets either.
        let metrics_limits = web::serve::Limits { max_connections: METRICS_CONNECTIONS, ..limits };
        // The sender lives until the service stops (dropped, it would read as "stop").
        let (_metrics_stop, metrics_heard) = tokio::sync::watch::channel(false);
        let metrics_server =
            tokio::spawn(web::serve::serve(metrics_listener, metrics_app, metrics_limits, metrics_heard));
        // After the signal, requests under way may finish (each is bounded by the request time
        // limit); a connection that has not sent a whole request by then (a client stalled
        // half-way) does not hold the stop for longer.
        let (signalled, heard) = tokio::sync::watch::channel(false);
        let mut grace_heard = heard.clone();
        let serving = web::serve::serve(listener, app, limits, heard);
        let signal = async move {
            shutdown.await;
            let _ = signalled.send(true);
            // Kept until the serving ends: a dropped sender would read as "stop" to no one.
            std::future::pending::<()>().await;
        };
        let grace = async move {
            let _ = grace_heard.wait_for(|s| *s).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        tokio::select! {
            () = serving => {}
            () = signal => {}
            () = grace => tracing::warn!(
                grace_s = SHUTDOWN_GRACE.as_secs(),
                "connections still open after the stop's grace: closing them"
            ),
        }
        let _ = stop_writer.send(true);
        metrics_server.abort();
        housekeeping.abort();
        checkpoints.abort();
        // The router (and with it every writer handle) is gone: the writer drains and stops.
        writer_task.await?;
        store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// A request's path as the logs show it: a receipt's token is a bearer credential (whoever has
/// it may rate once), so it is never written down; the query string is left out too.
fn logged_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/r/") {
        Some(_) => std::borrow::Cow::Borrowed("/r/…"),
        None => std::borrow::Cow::Borrowed(path),
    }
}

/// Once at start and then hourly: erases comments past their retention, forgets the device
/// hashes of past days (stuffing flags compare devices within a day) and the abuse limits'
/// past windows, and folds the day
/// counts up to yesterday (Vietnam) into month sums so that reports over long periods stay fast.
async fn housekeeping(store: Store, retention_days: u32) {
    let mut every = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every.tick().await;
        // Once a newer version has migrated the database, its instances keep it.
        if store.schema_is_newer().await.unwrap_or(false) {
            continue;
        }
        if retention_days > 0 {
            let cutoff = store.clock().now_ms() - i64::from(retention_days) * 86_400_000;
            match store.purge_comments(cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(comments = n, "erased comments past their retention"),
                Err(error) => tracing::warn!(%error, "could not erase old comments"),
            }
        }
        if store.is_shared() {
            // The abuse limits' windows last at most a quarter of an hour.
            match store.forget_windows(store.clock().now_ms() / 1000 - 3600).await {
                Ok(n) => tracing::debug!(windows = n, "forgot the abuse limits' past windows"),
                Err(error) => tracing::warn!(%error, "could not forget the abuse limits' past windows"),
            }
        }
        if let Some(yesterday) = clock::vietnam_date(store.clock().now_ms()).previous_day() {
            // Devices are compared within a day: yesterday's hashes and salt are kept for a
            // response sent just after midnight, older ones forgotten.
            match store.forget_devices(clock::date_bucket(yesterday)).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(hashes = n, "forgot the device hashes of past days"),
                Err(error) => tracing::warn!(%error, "could not forget past days' device hashes"),
            }
            match store.fold_counts(yesterday).await {
                Ok(done) if done == Default::default() => {}
                // Routine upkeep, said only at `debug`: it is not news to an operator.
                Ok(done) => tracing::debug!(rebuilt = done.rebuilt, extended = done.extended, "folded answer counts"),
                Err(error) => tracing::warn!(%error, "could not fold answer counts"),
            }
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests and committing the last group");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_token_never_reaches_the_logs() {
        assert_eq!(logged_path("/r/AQAAAAEJ1wECAwQ557h54Hxf"), "/r/…");
        assert_eq!(logged_path("/s/gCVCufmrZ8Bv"), "/s/gCVCufmrZ8Bv");
        assert_eq!(logged_path("/admin/indices"), "/admin/indices");
    }
}
