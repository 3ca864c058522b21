//! Logs and metrics. Logs: one line per request and per notable event, to standard error, as
//! text or JSON, each line of a request carrying its id. Metrics: counters and histograms in
//! the Prometheus text format (`/metrics`). Never answers, comments, addresses or secrets.

use std::io::IsTerminal;
use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One line of text per event (colours only on a terminal).
    #[default]
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

/// Installs the subscriber once; `filter` is a tracing filter such as `info`. Colours only on a
/// terminal (and not when `NO_COLOR` is set): a log file or journal gets plain text.
pub fn init(filter: &str, format: LogFormat) {
    // PostgreSQL's notices at start ("relation ... already exists, skipping" as the migrations
    // are checked) are not news: said only when a filter asks for sqlx by name.
    let filter =
        if filter.contains("sqlx") { filter.to_owned() } else { format!("{filter},sqlx::postgres::notice=warn") };
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(colour).try_init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
    };
}

/// The metrics' names, each once.
pub mod names {
    /// Citizens' sends by `outcome` (stored, duplicate, point_closed, receipt_used, invalid,
    /// rate_limited, busy, unavailable, timeout) and `channel`.
    pub const SUBMISSIONS: &str = "hailong_submissions_total";
    /// Requests refused by `reason` (the same words as the outcomes above, and sign_in_limited).
    pub const REFUSALS: &str = "hailong_refusals_total";
    /// Request durations by `route` (a coarse family of paths) and `status` class.
    pub const REQUEST_SECONDS: &str = "hailong_http_request_duration_seconds";
    /// Responses waiting for the writer.
    pub const QUEUE_DEPTH: &str = "hailong_writer_queue_depth";
    /// Responses per committed group, and the time a group's commit took.
    pub const GROUP_SIZE: &str = "hailong_writer_group_size";
    pub const COMMIT_SECONDS: &str = "hailong_writer_commit_seconds";
    /// Groups the database could not commit.
    pub const COMMIT_FAILURES: &str = "hailong_writer_commit_failures_total";
    /// The time a report took to build, by `level`.
    pub const REPORT_SECONDS: &str = "hailong_report_seconds";

    /// What becomes of a citizen's send (`outcome` of [`SUBMISSIONS`]); all but the first two
    /// are refusals too.
    pub const OUTCOMES: [&str; 11] = [
        "stored",
        "duplicate",
        "point_closed",
        "receipt_used",
        "invalid",
        "bad_key",
        "cross_site",
        "rate_limited",
        "busy",
        "unavailable",
        "timeout",
    ];
    /// The channels a send comes by.
    pub const CHANNELS: [&str; 2] = ["qr", "receipt"];
    /// A sign-in refused by the per-device limit (a reason of [`REFUSALS`]).
    pub const SIGN_IN_LIMITED: &str = "sign_in_limited";
}

/// The process's metrics, installed once (every service instance of a test process shares them).
pub fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let seconds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
        let sizes = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0];
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(names::GROUP_SIZE.into()), &sizes));
        match builder.map(PrometheusBuilder::build_recorder) {
            Ok(recorder) => {
                let handle = recorder.handle();
                if metrics::set_global_recorder(recorder).is_err() {
                    tracing::warn!("a metrics recorder was installed before this one");
                }
                // Every counter is there from the start, at 0, so that an alert on its rate
                // sees data before the first event.
                for outcome in names::OUTCOMES {
                    for channel in names::CHANNELS {
                        metrics::counter!(names::SUBMISSIONS, "outcome" => outcome, "channel" => channel).increment(0);
                    }
                    if !matches!(outcome, "stored" | "duplicate") {
                        metrics::counter!(names::REFUSALS, "reason" => outcome).increment(0);
                    }
                }
                metrics::counter!(names::REFUSALS, "reason" => names::SIGN_IN_LIMITED).increment(0);
                metrics::counter!(names::COMMIT_FAILURES).increment(0);
                handle
            }
            Err(error) => {
                tracing::warn!(%error, "metrics are off");
                PrometheusBuilder::new().build_recorder().handle()
            }
        }
    })
}
