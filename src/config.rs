//! Typed settings, read once at start-up and passed down.
//!
//! Layers, each overriding the one before: built-in defaults, an optional TOML file
//! (`--config FILE` or `HAILONG_CONFIG`), `HAILONG_*` environment variables, then flags.
//! `hailong config` prints an example file with every setting and its default.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::domain::method::{Bands, Fold, Suggestion};

/// Every setting of the service. Field names are the TOML keys and, upper-cased after
/// `HAILONG_`, the environment variables.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `sqlite://FILE` (created if missing) or `postgres://USER@HOST/DB`.
    pub database_url: String,
    /// Address and port the HTTP server listens on.
    pub bind: SocketAddr,
    /// The address citizens reach the service at; QR codes and posters point here. Unset: the
    /// bind address, which suits a test on this machine but not a printed poster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_base_url: Option<String>,
    /// Accepted ratings per minute from one client address at one collection point; 0 = no limit.
    pub submit_limit_per_minute: u32,
    /// Reverse proxies whose `X-Forwarded-For` header is believed: addresses, or networks
    /// written as ADDRESS/PREFIX (an ingress on a pod network). Empty: the socket address is used.
    pub trusted_proxies: Vec<ProxyNet>,
    /// Most responses the writer commits in one transaction.
    pub writer_batch_max: usize,
    /// Responses that may wait for the writer before new ones are told to try again (503).
    pub writer_queue: usize,
    /// Longest a citizen's send waits for its commit (a stalled disk, a locked database); past
    /// it the form comes back with the answers kept, to send again.
    pub submit_timeout_secs: u64,
    /// Longest a client connection may take to send a request's headers, counted from its
    /// opening or from the end of its previous response: a connection stalled half-way through
    /// a request, or idle between requests, is closed after it.
    pub header_timeout_secs: u64,
    /// Most client connections served at once; further clients wait to be accepted until one
    /// closes.
    pub max_connections: usize,
    /// SQLite only: the most pages (of 4 KiB) the database file may grow to; past it commits
    /// fail as on a full disk and ratings are refused with "send again". Unset: no cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqlite_max_pages: Option<u32>,
    /// Connections in the read pool (and, on PostgreSQL, shared with the writer).
    pub db_max_connections: u32,
    /// Days a written comment is kept before it is erased (the rating itself stays); 0 keeps them.
    pub comment_retention_days: u32,
    /// Tracing filter, e.g. `info` or `hailong=debug,tower_http=info`.
    pub log: String,
    /// `text` (one line per event) or `json` (one object per line, for a log collector).
    pub log_format: crate::telemetry::LogFormat,
    /// The only address `/metrics` is served on: loopback by default, for a scraper on this
    /// machine; a private network's address for a scraper there. Never the citizens' address:
    /// the metrics show live activity.
    pub metrics_bind: SocketAddr,
    /// Responses below which a figure is "chưa đủ dữ liệu": shown with its n and interval, but
    /// not ranked, banded or given a suggested level.
    pub min_sample: u64,
    /// The secret the once-only rule of receipts is kept under (the receipt identities the
    /// database stores are keyed hashes with it, so that the database alone cannot tell which
    /// dossier rated). The same on every instance; at least 16 characters. Unset: receipts off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_secret: Option<String>,
    /// Days after its issue date a receipt's token still rates.
    pub receipt_valid_days: u32,
    /// The file holding the service's Ed25519 signing key, which signs checkpoints of the hash
    /// chain and export manifests; made on first use, readable by the service's user only.
    /// Several instances must share one (a mounted secret). Unset: `hailong-signing.key` beside
    /// the SQLite file (in the working folder on PostgreSQL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key_file: Option<PathBuf>,
    /// The folder the service writes its signed checkpoints into, for Home Affairs to copy and
    /// keep elsewhere. Unset: `checkpoints` beside the SQLite file (in the working folder on
    /// PostgreSQL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_dir: Option<PathBuf>,
    /// Hours between the checkpoints the service makes by itself; 0: none.
    pub checkpoint_interval_hours: u32,
    /// The bands (xếp loại) by satisfied share: a province's table, the default is not law.
    pub bands: Bands,
    /// The rule that suggests an officer's Decree 90/2020 year-end level: a suggestion for the
    /// evaluator, never a decision.
    pub suggestion: Suggestion,
    /// How report pages fold the five-level scale into fewer levels, for provinces that publish
    /// three; the answers stay stored on five.
    pub fold: Fold,
    /// Who issues the printed year-end sheets, as their letterhead says it.
    pub letterhead: Letterhead,
    /// The stuffing flags' rules and thresholds, with their version (printed in the method).
    pub flags: crate::domain::flags::Rules,
    /// For rehearsals and tests only: the moment (RFC 3339, e.g. `2026-12-31T16:00:00+07:00`)
    /// the service's clock starts at, running forward from there. Ratings, sessions, receipts
    /// and "today" follow it. Unset: the system's clock, which is what a real service uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_start: Option<String>,
    /// The clock, made from `clock_start` when the settings are loaded.
    #[serde(skip)]
    pub clock: crate::domain::clock::Clock,
}

/// The letterhead of a printed year-end sheet (Decree 30/2020/NĐ-CP on administrative
/// documents): the body above the issuer, the issuer, and the place in the date line.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Letterhead {
    /// The governing body (cơ quan chủ quản), e.g. "UBND TỈNH QUẢNG TRỊ"; empty: none printed.
    pub authority: String,
    /// The issuing body (cơ quan ban hành), e.g. "SỞ NỘI VỤ"; empty: the unit the sheet is about
    /// (an officer's unit).
    pub issuer: String,
    /// The place of the date line (địa danh), e.g. "Quảng Trị"; empty: a dotted blank to fill in
    /// by hand.
    pub place: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: "sqlite://hailong.db".into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_base_url: None,
            submit_limit_per_minute: 10,
            trusted_proxies: Vec::new(),
            writer_batch_max: 512,
            writer_queue: 4096,
            submit_timeout_secs: 15,
            header_timeout_secs: 20,
            max_connections: 1024,
            sqlite_max_pages: None,
            db_max_connections: 8,
            comment_retention_days: 730,
            log: "info".into(),
            log_format: crate::telemetry::LogFormat::Text,
            metrics_bind: SocketAddr::from(([127, 0, 0, 1], 9100)),
            min_sample: 30,
            bands: Bands::default(),
            suggestion: Suggestion::default(),
            fold: Fold::default(),
            letterhead: Letterhead::default(),
            flags: crate::domain::flags::Rules::default(),
            receipt_secret: None,
            receipt_valid_days: 30,
            signing_key_file: None,
            checkpoint_dir: None,
            checkpoint_interval_hours: 24,
            clock_start: None,
            clock: crate::domain::clock::Clock::system(),
        }
    }
}

/// A trusted proxy: one address (`10.0.0.2`), or a network (`10.0.0.0/8`, `fd00::/8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProxyNet(ipnet::IpNet);

impl ProxyNet {
    /// Whether `ip` is this proxy, or in this network.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.0.contains(ip)
    }
}

impl TryFrom<String> for ProxyNet {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let text = text.trim();
        if let Ok(net) = text.parse::<ipnet::IpNet>() {
            return Ok(Self(net.trunc()));
        }
        text.parse::<IpAddr>()
            .map(|ip| Self(ip.to_canonical().into()))
            .map_err(|_| format!("trusted proxy '{text}' is neither an address (10.0.0.2) nor a network (10.0.0.0/8)"))
    }
}

impl From<ProxyNet> for String {
    fn from(net: ProxyNet) -> Self {
        if net.0.prefix_len() == net.0.max_prefix_len() { net.0.addr().to_string() } else { net.0.to_string() }
    }
}

/// Values given on the command line; `None` leaves the lower layers in force.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_base_url: Option<String>,
}

impl Settings {
    /// The settings' names, as TOML keys and (upper-cased, after `HAILONG_`) variables.
    pub const KEYS: [&'static str; 28] = [
        "database_url",
        "bind",
        "public_base_url",
        "submit_limit_per_minute",
        "trusted_proxies",
        "writer_batch_max",
        "writer_queue",
        "submit_timeout_secs",
        "header_timeout_secs",
        "max_connections",
        "sqlite_max_pages",
        "db_max_connections",
        "comment_retention_days",
        "log",
        "log_format",
        "metrics_bind",
        "min_sample",
        "bands",
        "suggestion",
        "fold",
        "letterhead",
        "receipt_secret",
        "receipt_valid_days",
        "signing_key_file",
        "checkpoint_dir",
        "checkpoint_interval_hours",
        "flags",
        "clock_start",
    ];

    /// Reads the layers in order. `file` is the TOML file, if any; a named file that does not
    /// exist is an error, not a silent default.
    pub fn load(file: Option<&PathBuf>, overrides: &Overrides) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            anyhow::ensure!(path.exists(), "config file {} does not exist", path.display());
            figment = figment.merge(Toml::file_exact(path));
        }
        let mut settings: Settings = figment
            // Only the settings' own names: other HAILONG_* variables (tests, scripts) are not ours.
            .merge(Env::prefixed("HAILONG_").only(&Self::KEYS))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid settings: {e}"))?;
        settings.validate()?;
        if let Some(start) = &settings.clock_start {
            settings.clock = crate::domain::clock::Clock::starting_at(
                crate::domain::clock::parse_moment(start).map_err(|e| anyhow::anyhow!("clock_start: {e}"))?,
            );
        }
        for name in Self::unknown_variables(std::env::vars().map(|(name, _)| name)) {
            eprintln!(
                "warning: {name} is not a setting of hailong and is ignored (the settings are HAILONG_ and one of: {})",
                Self::KEYS.map(str::to_uppercase).join(", ")
            );
        }
        Ok(settings)
    }

    /// The `HAILONG_` variables among `names` that name no setting (a typo would otherwise leave
    /// the default in force unnoticed): not `HAILONG_CONFIG` (the settings file) nor the test
    /// suites' `HAILONG_TEST_*`.
    pub fn unknown_variables(names: impl Iterator<Item = String>) -> Vec<String> {
        let mut unknown: Vec<String> = names
            .filter(|name| {
                name.strip_prefix("HAILONG_").is_some_and(|key| {
                    let key = key.to_lowercase();
                    key != "config" && !key.starts_with("test_") && !Self::KEYS.contains(&key.as_str())
                })
            })
            .collect();
        unknown.sort();
        unknown
    }

    fn validate(&self) -> anyhow::Result<()> {
        if let Some(base) = &self.public_base_url {
            anyhow::ensure!(
                (base.starts_with("http://") || base.starts_with("https://")) && !base.ends_with('/'),
                "public_base_url must start with http:// or https:// and not end with '/': {base}"
            );
        }
        anyhow::ensure!(self.writer_batch_max >= 1, "writer_batch_max must be at least 1");
        anyhow::ensure!(self.writer_queue >= 1, "writer_queue must be at least 1");
        anyhow::ensure!((1..=600).contains(&self.submit_timeout_secs), "submit_timeout_secs must be between 1 and 600");
        anyhow::ensure!((1..=600).contains(&self.header_timeout_secs), "header_timeout_secs must be between 1 and 600");
        anyhow::ensure!(
            (1..=1_000_000).contains(&self.max_connections),
            "max_connections must be between 1 and 1000000"
        );
        anyhow::ensure!(self.db_max_connections >= 1, "db_max_connections must be at least 1");
        anyhow::ensure!(self.min_sample >= 1, "min_sample must be at least 1");
        if let Some(secret) = &self.receipt_secret {
            anyhow::ensure!(secret.chars().count() >= 16, "receipt_secret must have at least 16 characters");
        }
        anyhow::ensure!((1..=3650).contains(&self.receipt_valid_days), "receipt_valid_days must be between 1 and 3650");
        self.bands.validate().map_err(anyhow::Error::msg)?;
        self.suggestion.validate().map_err(anyhow::Error::msg)?;
        self.fold.validate().map_err(anyhow::Error::msg)?;
        self.flags.validate().map_err(anyhow::Error::msg)?;
        if let Some(start) = &self.clock_start {
            crate::domain::clock::parse_moment(start).map_err(|e| anyhow::anyhow!("clock_start: {e}"))?;
        }
        Ok(())
    }

    /// How long and how many client connections are kept.
    pub fn connection_limits(&self) -> crate::web::serve::Limits {
        crate::web::serve::Limits {
            header_timeout: std::time::Duration::from_secs(self.header_timeout_secs),
            max_connections: self.max_connections,
        }
    }

    /// How long a citizen's send waits for its commit.
    pub fn submit_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.submit_timeout_secs)
    }

    /// The address in QR codes, posters and printed links: the setting, or else the bind address.
    pub fn public_base_url(&self) -> String {
        self.public_base_url.clone().unwrap_or_else(|| format!("http://{}", self.bind))
    }

    /// True when the public address could only be reached from this machine or its network
    /// card's own address: fine for a test, wrong on a printed poster.
    pub fn public_base_url_is_local(&self) -> bool {
        let base = self.public_base_url();
        let host = base.split("://").nth(1).unwrap_or_default();
        let host = host.split('/').next().unwrap_or_default();
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h).trim_matches(['[', ']']);
        host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
    }

    /// The database URL with any password replaced, for logs and messages.
    pub fn database_url_redacted(&self) -> String {
        redact_url(&self.database_url)
    }

    /// An example TOML file holding every setting at its default.
    pub fn example_toml() -> String {
        let body = toml::to_string_pretty(&Settings::default()).unwrap_or_default();
        format!(
            "# hailong settings. Every key may also be set as HAILONG_<KEY> in the environment\n\
             # (for example HAILONG_DATABASE_URL); flags override both.\n\
             # The address citizens reach the service at, printed in QR codes (default: http://<bind>):\n\
             # public_base_url = \"https://danhgia.example.gov.vn\"\n\
             # SQLite only: cap the database file at this many 4 KiB pages (default: no cap):\n\
             # sqlite_max_pages = 2621440\n\
             # Receipts (one dossier, one rating) are off until this is set, the same on every\n\
             # instance and kept out of the database (at least 16 characters):\n\
             # receipt_secret = \"a long random text\"\n\
             # The signing key of checkpoints and export manifests (default: hailong-signing.key\n\
             # beside the SQLite file), and the folder of the service's checkpoints (default:\n\
             # checkpoints beside the SQLite file):\n\
             # signing_key_file = \"/var/lib/hailong/hailong-signing.key\"\n\
             # checkpoint_dir = \"/var/lib/hailong/checkpoints\"\n\
             # For rehearsals and tests only: start the service's clock at this moment:\n\
             # clock_start = \"2026-12-31T16:00:00+07:00\"\n{body}"
        )
    }
}

/// Hides the password in `scheme://user:password@host/...`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mistyped_variable_is_named() {
        let names = ["HAILONG_METRIC_BIND", "HAILONG_METRICS_BIND", "HAILONG_CONFIG", "HAILONG_TEST_WEBDRIVER", "PATH"];
        let unknown = Settings::unknown_variables(names.iter().map(|n| (*n).to_owned()));
        assert_eq!(unknown, ["HAILONG_METRIC_BIND"]);
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        // As HAILONG_TRUSTED_PROXIES and the TOML list give them.
        let parsed: Vec<ProxyNet> = serde_json::from_str(r#"["127.0.0.1", "10.244.0.0/16", "fd00::/8"]"#).unwrap();
        let shown: Vec<String> = parsed.iter().map(|p| String::from(*p)).collect();
        assert_eq!(shown, ["127.0.0.1", "10.244.0.0/16", "fd00::/8"]);
        let refused = serde_json::from_str::<Vec<ProxyNet>>(r#"["ingress.local"]"#).unwrap_err().to_string();
        assert!(refused.contains("neither an address"), "{refused}");
    }

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn example_config_parses_back_to_the_defaults() {
        let parsed: Settings = toml::from_str(&Settings::example_toml()).unwrap();
        assert_eq!(parsed, Settings::default());
    }

    #[test]
    fn keys_name_every_setting() {
        let example = Settings::example_toml()
            .replace("# public_base_url", "public_base_url")
            .replace("# sqlite_max_pages", "sqlite_max_pages")
            .replace("# receipt_secret", "receipt_secret")
            .replace("# signing_key_file", "signing_key_file")
            .replace("# checkpoint_dir", "checkpoint_dir")
            .replace("# clock_start", "clock_start");
        let table: toml::Table = toml::from_str(&example).unwrap();
        let mut keys: Vec<&str> = table.keys().map(String::as_str).collect();
        let mut listed = Settings::KEYS.to_vec();
        keys.sort_unstable();
        listed.sort_unstable();
        assert_eq!(keys, listed);
    }

    #[test]
    fn rejects_a_base_url_with_trailing_slash() {
        let s = Settings { public_base_url: Some("https://x.vn/".into()), ..Settings::default() };
        assert!(s.validate().is_err());
    }

    #[test]
    fn the_public_address_defaults_to_the_bind_address() {
        let s = Settings { bind: "0.0.0.0:9000".parse().unwrap(), ..Settings::default() };
        assert_eq!(s.public_base_url(), "http://0.0.0.0:9000");
        assert!(s.public_base_url_is_local());
        let s = Settings { public_base_url: Some("https://danhgia.tinh.gov.vn".into()), ..Settings::default() };
        assert!(!s.public_base_url_is_local());
    }
}
