//! Logs: one line per request and per notable event, to standard error. Never answers,
//! comments, addresses or secrets.

use tracing_subscriber::EnvFilter;

/// Installs the subscriber once; `filter` is a tracing filter such as `info`.
pub fn init(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
