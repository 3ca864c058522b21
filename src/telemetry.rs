//! Logs: one line per request and per notable event, to standard error. Never answers,
//! comments, addresses or secrets.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the subscriber once; `filter` is a tracing filter such as `info`. Colours only on a
/// terminal (and not when `NO_COLOR` is set): a log file or journal gets plain text.
pub fn init(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(colour).with_writer(std::io::stderr).try_init();
}
