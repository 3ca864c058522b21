//! The command line: every command of the one binary.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use std::sync::Arc;

use crate::app::{App, AppError, Caller};
use crate::config::{Overrides, Settings};
use crate::domain::account::{self, Role};
use crate::domain::point::{Slug, form_url};
use crate::domain::questionnaire::DEFAULT_ID;
use crate::domain::response::Channel;
use crate::export::CsvOut;
use crate::startup::load_questionnaires;
use crate::store::Store;
use crate::{import, qr, telemetry, views};

mod receipts;
mod serve;
mod trust;

use serve::{run_demo, serve};

/// Citizen satisfaction ratings at one-stop desks (Bộ phận Một cửa), and the indices made of them.
///
/// Settings come from defaults, then an optional TOML file (--config), then HAILONG_*
/// environment variables, then these flags. `hailong config` prints every setting.
#[derive(Debug, Parser)]
#[command(name = "hailong", version, about, long_about)]
pub struct Cli {
    /// A TOML settings file.
    #[arg(long, global = true, env = "HAILONG_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database: sqlite://FILE (serve, demo and import create it if missing) or postgres://USER@HOST/DB [env: HAILONG_DATABASE_URL].
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web service (citizens' forms, health check).
    Serve(ServeArgs),
    /// Seed the demo province, its collection points and N synthetic ratings into a database.
    Demo {
        /// Synthetic ratings to add, spread over the past 12 months in office hours (0 allowed).
        #[arg(long, default_value_t = 2000)]
        responses: u64,
        /// Seed of the random generator, for a repeatable demo.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
    /// Load units, desks, officers (with assignments) and procedure fields from CSV or XLSX files,
    /// all in one transaction. The README lists the columns; `examples/` has sample files.
    Import {
        /// .csv files (one table each) or .xlsx workbooks (one table per sheet).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Check the files and report problems without writing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Collection points: what each QR code opens.
    #[command(subcommand)]
    Points(PointsCommand),
    /// Write the QR code of a collection point to a file.
    Qr {
        /// Slugs may begin with '-', as URL-safe base64 may.
        #[arg(allow_hyphen_values = true)]
        slug: String,
        #[arg(long, value_enum, default_value_t = QrFormat::Svg)]
        format: QrFormat,
        /// Output file; `-` writes to standard output.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Smallest width of a PNG, in pixels.
        #[arg(long, default_value_t = 600)]
        size: u32,
        #[command(flatten)]
        public: PublicUrl,
    },
    /// Write a unit's printable poster sheet (HTML, A4, several QR cards a page).
    Posters {
        /// The unit's code.
        #[arg(long)]
        unit: String,
        /// Output file; `-` writes to standard output.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        public: PublicUrl,
    },
    /// Staff accounts (the password is read from standard input).
    #[command(subcommand)]
    User(UserCommand),
    /// API keys for `/api/v1` (`Authorization: Bearer KEY`), with their account's scope.
    #[command(subcommand)]
    Apikey(ApikeyCommand),
    /// Receipt tokens (one dossier, one rating): the keys shared with the one-stop software,
    /// and the reference signer.
    #[command(subcommand)]
    Receipts(receipts::ReceiptsCommand),
    /// Write satisfaction indices for a period, one row per unit, desk, officer or field, as
    /// CSV, XLSX or JSON (the README lists the columns). Recorded in the audit log.
    Export {
        /// 2026, 2026-H1, 2026-Q3, 2026-07 or 2026-01-01..2026-03-31 (Vietnam dates).
        #[arg(long)]
        period: String,
        /// unit, desk, officer or field (also subtree, channel, questionnaire); several,
        /// comma-separated, make one sheet each in XLSX and follow each other in CSV and JSON.
        #[arg(long, value_delimiter = ',', required = true)]
        level: Vec<String>,
        /// Only this unit and the units under it (and the units merged into them).
        #[arg(long, value_name = "CODE")]
        unit: Option<String>,
        /// The questionnaire whose answers are reported.
        #[arg(long, default_value = crate::domain::questionnaire::DEFAULT_ID)]
        questionnaire: String,
        /// Only the responses that came by this channel: receipt (one per dossier) or qr (the
        /// open QR codes at the desks).
        #[arg(long)]
        channel: Option<String>,
        /// Leave out the responses that carry a stuffing flag (said in the method and the
        /// file name); by default every response no one excluded counts.
        #[arg(long)]
        without_flagged: bool,
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Output file; `-` writes to standard output.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// The stuffing flags' rules (`[flags]` of the settings).
    #[command(subcommand)]
    Flags(FlagsCommand),
    /// Check the database: recompute the hash chain over every response from the first link
    /// (naming the first broken one), check it still extends each checkpoint given, and recount
    /// every answer against the counts the reports read. Exits non-zero on anything wrong.
    Verify {
        /// Checkpoint files (from `hailong checkpoint` or the service's checkpoint folder) the
        /// database must extend: one put back to an earlier copy, or rewritten, fails.
        #[arg(long, value_name = "FILE", num_args = 1..)]
        checkpoint: Vec<PathBuf>,
        /// The public key the checkpoints were signed with (`KEY_ID BASE64`, as `hailong keys
        /// public` printed it, or a file holding that): checks them without the signing key.
        #[arg(long, value_name = "KEY", requires = "checkpoint")]
        public_key: Option<String>,
    },
    /// Write a checkpoint: the hash chain's head, its length and the time, signed with the
    /// service's key, for Home Affairs to keep away from the server.
    Checkpoint {
        /// Output file; `-` writes to standard output.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// The signing key of checkpoints and export manifests.
    #[command(subcommand)]
    Keys(trust::KeysCommand),
    /// Moderation: list an officer's or a unit's responses with their stuffing flags, and
    /// exclude them from the indices or restore them, with a reason.
    #[command(subcommand)]
    Responses(trust::ResponsesCommand),
    /// Check an exported file against its signed manifest (FILE.manifest.json beside it, the one
    /// named, or else the one the database kept): a file changed after export fails.
    VerifyExport {
        file: PathBuf,
        #[arg(long, value_name = "MANIFEST")]
        manifest: Option<PathBuf>,
    },
    /// Write a consistent copy of the SQLite database to FILE while the service runs (a new file;
    /// `hailong verify` on it checks it). PostgreSQL is copied with pg_dump (see the README).
    Backup {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Exit 0 when URL (http://HOST:PORT/PATH, e.g. http://127.0.0.1:8080/readyz) answers 200
    /// within 5 seconds: the container image's health check, which has no other HTTP client.
    Probe { url: String },
    /// Print an example settings file holding every setting at its default.
    Config,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account. Roles: admin, home-affairs, unit-manager, viewer, integration. Every
    /// role but admin is bound to a unit (--unit) and sees that unit's subtree. The password
    /// (12 characters or more) is read from standard input; integration accounts have none.
    Add {
        name: String,
        #[arg(long)]
        role: String,
        #[arg(long, value_name = "CODE")]
        unit: Option<String>,
    },
    /// List the accounts as CSV: name,role,unit_code,disabled.
    List,
    /// Disable an account: its sessions end and its API keys stop working.
    Disable { name: String },
    /// Set a new password (read from standard input); the account's sessions end.
    Password { name: String },
}

#[derive(Debug, Subcommand)]
enum ApikeyCommand {
    /// Print a new key for an account (shown once; only its hash is stored).
    Create {
        #[arg(long)]
        user: String,
    },
    /// Revoke a key, named by its first characters as `create` printed them.
    Revoke { prefix: String },
}

#[derive(Debug, Subcommand)]
enum FlagsCommand {
    /// Replay scenarios of honest days and of stuffing through the real writer and the
    /// settings' rules, on a database of their own and a set clock (never touching
    /// `database_url`), and print per scenario the share of honest ratings flagged and of
    /// stuffed ones caught, overall and per rule.
    Simulate {
        /// Scenario files (TOML, as those in `scenarios/flags/`); none: the shipped ones.
        #[arg(long, value_name = "FILE", num_args = 1..)]
        scenario: Vec<PathBuf>,
        /// Open days measured per scenario, after `flags.history_days` of honest ones.
        #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..=2000))]
        days: u32,
        /// Seed of the random generator: the same seed, settings and scenarios give the same
        /// figures.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Exit non-zero when a scenario misses its target (honest flagged at most 2%, also
        /// before an attack; stuffed caught at least 95%).
        #[arg(long)]
        check: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PointsCommand {
    /// Print the active points as CSV: slug,url,unit_code,desk_code,officer_code,label.
    List {
        #[command(flatten)]
        public: PublicUrl,
    },
    /// Stop a point's QR code from accepting ratings.
    Revoke {
        #[arg(allow_hyphen_values = true)]
        slug: String,
    },
    /// Revoke a point and print the new slug that replaces it (a poster must be reprinted).
    Reissue {
        #[arg(allow_hyphen_values = true)]
        slug: String,
    },
    /// Make a point use another questionnaire from now on (e.g. sipas-2017).
    Questionnaire {
        #[arg(allow_hyphen_values = true)]
        slug: String,
        questionnaire: String,
    },
}

#[derive(Debug, Args)]
struct PublicUrl {
    /// The address citizens reach the service at [env: HAILONG_PUBLIC_BASE_URL].
    #[arg(long, value_name = "URL")]
    public_base_url: Option<String>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address and port to listen on [env: HAILONG_BIND].
    #[arg(long, value_name = "ADDR:PORT")]
    bind: Option<std::net::SocketAddr>,
    #[command(flatten)]
    public: PublicUrl,
    /// Seed the demo province (and 2,000 ratings) if the database is empty, and print addresses.
    #[arg(long)]
    demo: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    Csv,
    Xlsx,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum QrFormat {
    Svg,
    Png,
}

impl Cli {
    /// Runs the command; the returned error is printed by `main`.
    ///
    /// One function because it is the table of commands: one short arm per command, each handing
    /// over to its own function.
    pub async fn run(self) -> anyhow::Result<()> {
        let public_base_url = match &self.command {
            Command::Serve(a) => a.public.public_base_url.clone(),
            Command::Qr { public, .. } | Command::Posters { public, .. } => public.public_base_url.clone(),
            Command::Points(PointsCommand::List { public }) => public.public_base_url.clone(),
            _ => None,
        };
        let overrides = Overrides {
            database_url: self.database_url.clone(),
            bind: match &self.command {
                Command::Serve(a) => a.bind,
                _ => None,
            },
            public_base_url,
        };
        let settings = Settings::load(self.config.as_ref(), &overrides)?;
        telemetry::init(&settings.log, settings.log_format);
        match self.command {
            Command::Serve(args) => serve(settings, args.demo).await,
            Command::Demo { responses, seed } => {
                let store = open(&settings, IfMissing::Create).await?;
                run_demo(&settings, &store, responses, seed).await?;
                Ok(())
            }
            Command::Import { files, dry_run } => run_import(&settings, &files, dry_run).await,
            Command::Points(cmd) => points(&settings, cmd).await,
            Command::Qr { slug, format, out, size, .. } => {
                warn_if_local(&settings);
                let app = open_app(&settings, IfMissing::Refuse).await?;
                let point = app.point(&Caller::console(), &slug).await.map_err(|e| {
                    said(e, || {
                        format!(
                            "no active collection point has the slug {slug} (see `{}`)",
                            command_line(&settings, "points list")
                        )
                    })
                })?;
                let url = form_url(&settings.public_base_url(), &point.slug);
                let bytes = match format {
                    QrFormat::Svg => qr::svg(&url).map_err(anyhow::Error::msg)?.into_bytes(),
                    QrFormat::Png => {
                        tokio::task::spawn_blocking(move || qr::png(&url, size)).await?.map_err(anyhow::Error::msg)?
                    }
                };
                write_out(&out, &bytes)
            }
            Command::Posters { unit, out, .. } => {
                warn_if_local(&settings);
                let app = open_app(&settings, IfMissing::Refuse).await?;
                let posters = app
                    .posters(&Caller::console(), &unit)
                    .await
                    .map_err(|e| said(e, || format!("no unit has the code {unit}")))?;
                let (unit_name, points) = (posters.unit_name, posters.points);
                let mut cards = Vec::with_capacity(points.len());
                for p in &points {
                    let url = form_url(&settings.public_base_url(), &p.slug);
                    let svg = qr::svg(&url).map_err(anyhow::Error::msg)?;
                    cards.push(views::poster::Card { point: p, url, svg });
                }
                write_out(
                    &out,
                    views::poster::sheet(&unit_name, &cards, views::poster::Styles::Inline, None)
                        .into_string()
                        .as_bytes(),
                )?;
                if !out.as_os_str().eq("-") {
                    eprintln!("{} poster card(s) of {unit_name} written to {}", cards.len(), out.display());
                }
                Ok(())
            }
            Command::User(cmd) => user(&settings, cmd).await,
            Command::Apikey(cmd) => apikey(&settings, cmd).await,
            Command::Receipts(cmd) => receipts::run(&settings, cmd).await,
            Command::Export { period, level, unit, questionnaire, channel, without_flagged, format, out } => {
                let format = match format {
                    ExportFormat::Csv => crate::export::Format::Csv,
                    ExportFormat::Xlsx => crate::export::Format::Xlsx,
                    ExportFormat::Json => crate::export::Format::Json,
                };
                let channel = channel
                    .map(|code| {
                        Channel::parse(code.trim()).ok_or_else(|| {
                            let codes: Vec<&str> = Channel::ALL.iter().map(|c| c.code()).collect();
                            anyhow::anyhow!("--channel: '{code}' is not a channel (one of {})", codes.join(", "))
                        })
                    })
                    .transpose()?;
                let what = crate::domain::report::Query {
                    period: crate::domain::period::Period::parse(&period)
                        .map_err(|e| anyhow::anyhow!("--period: {e}"))?,
                    level: crate::domain::report::Level::Unit,
                    unit,
                    questionnaire: questionnaire.as_str().into(),
                    channel,
                    without_flagged,
                };
                export(&settings, &what, &level, format, &out).await
            }
            Command::Flags(FlagsCommand::Simulate { scenario, days, seed, check }) => {
                simulate_flags(&settings, &scenario, days, seed, check).await
            }
            Command::Verify { checkpoint, public_key } => {
                let chain = trust::verify_chain(&settings, &checkpoint, public_key.as_deref()).await;
                let counts = verify(&settings).await;
                chain.and(counts)
            }
            Command::Checkpoint { out } => trust::checkpoint(&settings, &out).await,
            Command::Keys(cmd) => trust::keys(&settings, cmd),
            Command::Responses(cmd) => trust::responses(&settings, cmd).await,
            Command::VerifyExport { file, manifest } => {
                trust::verify_export(&settings, &file, manifest.as_deref()).await
            }
            Command::Backup { out } => backup(&settings, &out).await,
            Command::Probe { url } => probe(&url).await,
            Command::Config => {
                print!("{}", Settings::example_toml());
                Ok(())
            }
        }
    }
}

/// Reads a password: prompted without echo on a terminal, else the first line of standard input.
fn read_password(prompt: &str) -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt)?
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    account::check_password_strength(&password).map_err(anyhow::Error::msg)?;
    Ok(password)
}

async fn user(settings: &Settings, cmd: UserCommand) -> anyhow::Result<()> {
    let app = open_app(settings, IfMissing::Refuse).await?;
    let console = Caller::console();
    match cmd {
        UserCommand::Add { name, role, unit } => {
            let role = Role::parse(&role).map_err(anyhow::Error::msg)?;
            let name = name.trim();
            anyhow::ensure!(
                !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_alphanumeric() || "._-@".contains(c)),
                "an account name is 1 to 64 letters, digits, '.', '_', '-' or '@'"
            );
            match (role, &unit) {
                (Role::Admin, Some(_)) => bail!("an admin sees everything: give no --unit"),
                (Role::Admin, None) | (_, Some(_)) => {}
                (_, None) => bail!("a {} account is bound to a unit: give --unit CODE", role.code()),
            }
            let password = if role.has_password() { Some(read_password("Mật khẩu / password: ")?) } else { None };
            app.create_account(&console, name, role, unit.as_deref(), password).await?;
            println!("account {name} created ({})", role.code());
        }
        UserCommand::List => {
            let mut out = CsvOut::new(std::io::stdout().lock());
            out.text_row(["name", "role", "unit_code", "disabled"])?;
            for u in app.accounts(&console).await?.accounts {
                let disabled = if u.disabled { "yes" } else { "no" };
                out.text_row([u.name.as_str(), u.role.code(), u.unit_code.as_deref().unwrap_or(""), disabled])?;
            }
            out.flush()?;
        }
        UserCommand::Disable { name } => {
            app.disable_account(&console, &name)
                .await
                .map_err(|e| said(e, || format!("no enabled account is named {name}")))?;
            println!("account {name} disabled; its sessions and API keys no longer work");
        }
        UserCommand::Password { name } => {
            let record = app.store.login_record(&name).await?.with_context(|| format!("no account is named {name}"))?;
            anyhow::ensure!(record.role.has_password(), "{} accounts sign in with API keys only", record.role.code());
            let password = read_password("Mật khẩu mới / new password: ")?;
            app.set_password(&console, &name, password)
                .await
                .map_err(|e| said(e, || format!("no account is named {name}")))?;
            println!("password of {name} changed; its sessions have ended");
        }
    }
    Ok(())
}

async fn apikey(settings: &Settings, cmd: ApikeyCommand) -> anyhow::Result<()> {
    let app = open_app(settings, IfMissing::Refuse).await?;
    let console = Caller::console();
    match cmd {
        ApikeyCommand::Create { user } => {
            let key = app.create_api_key(&console, &user).await?;
            println!("{}", key.key);
            eprintln!(
                "API key of {user}, shown once; revoke it with `{}`",
                command_line(settings, &format!("apikey revoke {}", key.prefix))
            );
        }
        ApikeyCommand::Revoke { prefix } => {
            app.revoke_api_key(&console, &prefix)
                .await
                .map_err(|e| said(e, || format!("no active API key starts with {prefix}")))?;
            println!("API key {prefix} revoked");
        }
    }
    Ok(())
}

/// Writes the report of `what` (its level aside) at each of `levels`.
async fn export(
    settings: &Settings,
    what: &crate::domain::report::Query,
    levels: &[String],
    format: crate::export::Format,
    out: &PathBuf,
) -> anyhow::Result<()> {
    use crate::domain::report::Level;
    let levels: Vec<Level> = levels
        .iter()
        .map(|l| Level::parse(l.trim()))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("--level: {e}"))?;
    let app = open_app(settings, IfMissing::Refuse).await?;
    let console = Caller::console();
    let mut reports = Vec::with_capacity(levels.len());
    for level in levels {
        let query = crate::domain::report::Query { level, ..what.clone() };
        let report = app.report(&console, &query).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        reports.push(report);
    }
    let rows: usize = reports.iter().map(|r| r.rows.len()).sum();
    let bar = progress(rows as u64, "rows");
    let tick = |n: u64| bar.set_position(n);
    let to_stdout = out.as_os_str() == "-";
    let file = if to_stdout {
        None
    } else {
        Some(std::fs::File::create(out).with_context(|| format!("cannot write {}", out.display()))?)
    };
    let mut sink: Box<dyn Write + Send> = match file {
        Some(f) => Box::new(std::io::BufWriter::new(f)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "-".to_owned());
    let exported = app.export(&console, &reports, format, &name, &mut *sink, &tick).await?;
    drop(sink);
    bar.finish_and_clear();
    if !to_stdout {
        let manifest = trust::manifest_path(out);
        std::fs::write(&manifest, exported.manifest.to_text())
            .with_context(|| format!("cannot write {}", manifest.display()))?;
        eprintln!("{rows} row(s) written to {}, its signed manifest to {}", out.display(), manifest.display());
    }
    Ok(())
}

async fn verify(settings: &Settings) -> anyhow::Result<()> {
    use crate::store::CountBy;
    let store = open(settings, IfMissing::ReadOnly).await?;
    let mut differences = 0;
    for (by, name) in [(CountBy::Unit, "unit"), (CountBy::Desk, "desk"), (CountBy::Officer, "officer")] {
        let kept = store.answer_counts(by, 0, 99_999_999).await?;
        let recounted = store.recount_answers(by, 0, 99_999_999).await?;
        let total: i64 = recounted.iter().map(|c| c.count).sum();
        if kept == recounted {
            println!("{name}: {} count rows, {total} answers: the kept counts match the responses", kept.len());
        } else {
            let kept: std::collections::HashSet<_> = kept.into_iter().collect();
            let recounted: std::collections::HashSet<_> = recounted.into_iter().collect();
            for c in kept.symmetric_difference(&recounted).take(20) {
                eprintln!("{name}: differs: {c:?}");
            }
            differences += kept.symmetric_difference(&recounted).count();
        }
    }
    // What reports read: month sums where folded and day counts elsewhere, per grain.
    if let Some((first, last)) = store.counted_days().await? {
        for grain in crate::store::Grain::ALL {
            let kept = store.grain_counts(grain, first, last).await?;
            let recounted = store.recount_grain(grain, first, last).await?;
            if kept == recounted {
                println!("{} reports: {} count rows match the responses", grain.code(), kept.len());
            } else {
                for (key, count) in kept.iter().filter(|(k, c)| recounted.get(*k) != Some(*c)).take(20) {
                    eprintln!(
                        "{} reports: differs: {key:?} kept {count}, recounted {:?}",
                        grain.code(),
                        recounted.get(key)
                    );
                }
                differences += kept.len().abs_diff(recounted.len()).max(1);
            }
        }
    }
    if differences > 0 {
        bail!("{differences} count row(s) differ from the responses");
    }
    Ok(())
}

/// One `GET` over plain HTTP/1.1, for health checks on the same machine or pod.
async fn probe(url: &str) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").context("the probe takes an http:// URL")?;
    let (authority, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    let answer = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        let mut stream = tokio::net::TcpStream::connect(authority).await?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nUser-Agent: hailong-probe\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut head = vec![0u8; 64];
        let n = stream.read(&mut head).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&head[..n]).into_owned())
    })
    .await
    .with_context(|| format!("{url}: no answer within 5 s"))?
    .with_context(|| format!("{url}: cannot connect"))?;
    let status = answer.split_whitespace().nth(1).unwrap_or_default();
    if status != "200" {
        bail!("{url} answered {status:?}, not 200");
    }
    println!("{url}: 200");
    Ok(())
}

async fn backup(settings: &Settings, out: &std::path::Path) -> anyhow::Result<()> {
    if crate::store::sqlite_file(&settings.database_url).is_none() {
        bail!(
            "hailong backup copies an SQLite database; copy PostgreSQL with its own tools, e.g. \
             `pg_dump --format=custom --file=hailong.dump DATABASE_URL` (restore with pg_restore)"
        );
    }
    if out.as_os_str() == "-" {
        bail!("a backup is a database file: name it, e.g. --out /backups/hailong-2026-12-01.db");
    }
    if out.exists() {
        bail!("{} exists already: name a new file", out.display());
    }
    if let Some(folder) = out.parent().filter(|p| !p.as_os_str().is_empty() && !p.is_dir()) {
        bail!("the folder {} does not exist: make it first, or name a file in a folder that does", folder.display());
    }
    let store = open(settings, IfMissing::Refuse).await?;
    let started = std::time::Instant::now();
    // The copy holds citizens' comments: readable by its owner only, from its first byte
    // (SQLite writes into an empty file that is there already).
    let mut create = std::fs::OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    create.open(out).with_context(|| format!("cannot create {}", out.display()))?;
    if let Err(error) = store.backup_to(out).await {
        let _ = std::fs::remove_file(out);
        return Err(anyhow::Error::new(error).context(format!("cannot write the copy to {}", out.display())));
    }
    // On disk before it is said to be done.
    std::fs::File::open(out)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot flush the copy {} to disk", out.display()))?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    let (links, _) = store.chain_head().await?;
    eprintln!(
        "copied to {} ({} MB in {:.1} s; the chain had {links} links when it began); check it with: \
         hailong --database-url sqlite://{} verify",
        out.display(),
        bytes / 1_000_000,
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

/// Printed codes must reach citizens' phones: say so when they would point at this machine.
fn warn_if_local(settings: &Settings) {
    if settings.public_base_url_is_local() {
        eprintln!(
            "warning: the codes point at {}, which phones cannot reach; set --public-base-url \
             (or HAILONG_PUBLIC_BASE_URL) to the service's public address",
            settings.public_base_url()
        );
    }
}

/// The use cases over the configured database, as the console calls them.
async fn open_app(settings: &Settings, missing: IfMissing) -> anyhow::Result<App> {
    let store = open(settings, missing).await?;
    let registry = load_questionnaires(&store).await?;
    Ok(App::new(store, Arc::new(registry), Arc::new(settings.clone())))
}

/// An error of a use case as the command line says it: "not found" in the words of `missing`,
/// anything else as it is.
fn said(error: AppError, missing: impl FnOnce() -> String) -> anyhow::Error {
    match error {
        AppError::NotFound | AppError::NoSuchRecord => anyhow::Error::msg(missing()),
        other => other.into(),
    }
}

/// An error and its causes in one line, each said once: a cause whose words the message before
/// it already holds (a database error quoting its source) is left out.
pub fn said_once(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(text.as_str()) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// What opening does when an SQLite file is not there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IfMissing {
    /// `serve`, `demo` and `import` make a new database.
    Create,
    /// The commands that read one say that the file does not exist.
    Refuse,
    /// The checks read it as it is: it must exist, and nothing in it changes (not even an
    /// SQLite file's journal mode), nor is it migrated.
    ReadOnly,
}

/// `hailong flags simulate`: every scenario on a database of its own in a temporary folder.
async fn simulate_flags(
    settings: &Settings,
    files: &[PathBuf],
    days: u32,
    seed: u64,
    check: bool,
) -> anyhow::Result<()> {
    let scenarios = crate::flagsim::load(files)?;
    let run = crate::flagsim::Run { days, seed, rules: settings.flags.clone() };
    let mut results = Vec::with_capacity(scenarios.len());
    for (name, scenario) in scenarios {
        let dir = tempfile::tempdir().context("a temporary folder for the simulation")?;
        eprintln!("{name}: {}", scenario.title);
        let outcome = crate::flagsim::simulate(&scenario, &run, dir.path())
            .await
            .with_context(|| format!("the scenario {name}"))?;
        results.push((name, scenario, outcome));
    }
    print!("{}", crate::flagsim::table(&results, &settings.flags));
    let missed: Vec<&str> = results.iter().filter(|(_, _, o)| !o.meets_targets()).map(|(n, _, _)| n.as_str()).collect();
    if check && !missed.is_empty() {
        anyhow::bail!("the rules miss their targets in: {}", missed.join(", "));
    }
    Ok(())
}

async fn open(settings: &Settings, missing: IfMissing) -> anyhow::Result<Store> {
    let (url, max, pages) = (&settings.database_url, settings.db_max_connections, settings.sqlite_max_pages);
    let opened = match missing {
        IfMissing::Create => Store::open_capped(url, max, pages, crate::store::COMMAND_WAIT).await,
        IfMissing::Refuse => Store::open_existing(url, max, pages, crate::store::COMMAND_WAIT).await,
        IfMissing::ReadOnly => Store::open_read_only(url, max).await,
    };
    match opened.map(|store| store.with_settings(settings)) {
        Err(crate::store::StoreError::Config(message)) => Err(anyhow::Error::msg(message)),
        other => other.with_context(|| format!("cannot open the database {}", settings.database_url_redacted())),
    }
}

fn write_out(out: &PathBuf, bytes: &[u8]) -> anyhow::Result<()> {
    if out.as_os_str() == "-" {
        std::io::stdout().write_all(bytes)?;
        return Ok(());
    }
    std::fs::write(out, bytes).with_context(|| format!("cannot write {}", out.display()))
}

/// A progress bar on a terminal, nothing when piped.
fn progress(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

/// How the person at the terminal runs this program: the name it was started by when that is a
/// path (`./target/release/hailong` after `cargo run` or a build), else `hailong` (on the PATH),
/// so that every command it prints works as written.
fn program() -> String {
    let invoked = std::env::args_os().next().map(PathBuf::from);
    match invoked {
        Some(path) if path.components().count() > 1 => {
            let text = path.display().to_string();
            if path.is_relative() && !text.starts_with('.') { format!("./{text}") } else { text }
        }
        _ => "hailong".to_owned(),
    }
}

/// A command to print for the person at the terminal, with the database it was run on when that
/// is not the default one.
fn command_line(settings: &Settings, args: &str) -> String {
    let mut line = format!("{} {args}", program());
    if settings.database_url != Settings::default().database_url {
        line.push_str(&format!(" --database-url {}", settings.database_url_redacted()));
    }
    line
}

async fn run_import(settings: &Settings, files: &[PathBuf], dry_run: bool) -> anyhow::Result<()> {
    let tables = import::read_all(files).map_err(anyhow::Error::msg)?;
    let app = open_app(settings, IfMissing::Create).await?;
    let known = app.store.known_codes().await?;
    let rows: u64 = tables.iter().map(|t| t.rows.len() as u64).sum();
    let batch = match import::validate(&tables, &known, app.store.clock().today()) {
        Ok(batch) => batch,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            bail!("{} problem(s) found; nothing was imported", errors.len());
        }
    };
    if dry_run {
        eprintln!("{rows} row(s) checked, no problems; nothing written (--dry-run)");
        return Ok(());
    }
    let bar = progress(rows, "writing rows");
    let s = app.import(&Caller::console(), &batch, DEFAULT_ID, &|n| bar.inc(n)).await?;
    bar.finish_and_clear();
    println!(
        "units: {} new, {} updated; desks: {} new, {} updated; officers: {} new, {} updated; \
         assignments: {} new, {} updated; fields: {} new, {} updated; collection points created: {}; \
         officer-days served: {}",
        s.units.0,
        s.units.1,
        s.desks.0,
        s.desks.1,
        s.officers.0,
        s.officers.1,
        s.assignments.0,
        s.assignments.1,
        s.fields.0,
        s.fields.1,
        s.points_created,
        s.served
    );
    if s.changed_nothing() {
        println!("nothing changed: everything was already as in the file(s)");
    }
    Ok(())
}

async fn points(settings: &Settings, cmd: PointsCommand) -> anyhow::Result<()> {
    let app = open_app(settings, IfMissing::Refuse).await?;
    let console = Caller::console();
    let no_point = |slug: &str| format!("no active collection point has the slug {slug}");
    match cmd {
        PointsCommand::List { .. } => {
            let mut out = CsvOut::new(std::io::stdout().lock());
            out.text_row(["slug", "url", "unit_code", "desk_code", "officer_code", "label"])?;
            for p in app.points(&console).await? {
                out.text_row([
                    p.slug.as_str(),
                    &form_url(&settings.public_base_url(), &p.slug),
                    &p.unit_code,
                    p.desk_code.as_deref().unwrap_or(""),
                    p.officer_code.as_deref().unwrap_or(""),
                    &p.label,
                ])?;
            }
            out.flush()?;
        }
        PointsCommand::Revoke { slug } => {
            let slug = Slug::parse(&slug).map_err(anyhow::Error::msg)?;
            app.revoke_point(&console, slug.as_str()).await.map_err(|e| said(e, || no_point(slug.as_str())))?;
            println!("revoked {slug}");
        }
        PointsCommand::Reissue { slug } => {
            let slug = Slug::parse(&slug).map_err(anyhow::Error::msg)?;
            let fresh =
                app.reissue_point(&console, slug.as_str()).await.map_err(|e| said(e, || no_point(slug.as_str())))?;
            println!("{fresh}");
            eprintln!("{slug} is revoked; its replacement is {}", form_url(&settings.public_base_url(), &fresh));
        }
        PointsCommand::Questionnaire { slug, questionnaire } => {
            let slug = Slug::parse(&slug).map_err(anyhow::Error::msg)?;
            if app.questionnaires.latest(&questionnaire).is_none() {
                bail!("no questionnaire '{questionnaire}' (known: {})", app.questionnaires.ids().join(", "));
            }
            app.set_point_questionnaire(&console, slug.as_str(), &questionnaire)
                .await
                .map_err(|e| said(e, || no_point(slug.as_str())))?;
            println!("{slug} now uses {questionnaire}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_that_begin_with_a_hyphen_are_slugs() {
        for slug in ["-rAbCdEfGhIj", "--0NOgEGLydd", "_x-y_z012345"] {
            let cli = Cli::try_parse_from(["hailong", "qr", slug, "--out", "-"]).unwrap();
            assert!(matches!(&cli.command, Command::Qr { slug: s, .. } if s == slug), "{slug}");
            for args in [vec!["points", "revoke", slug], vec!["points", "reissue", slug]] {
                let cli = Cli::try_parse_from(std::iter::once("hailong").chain(args)).unwrap();
                assert!(format!("{:?}", cli.command).contains(slug), "{slug}");
            }
            let cli = Cli::try_parse_from(["hailong", "points", "questionnaire", slug, "sipas-2017"]).unwrap();
            assert!(format!("{:?}", cli.command).contains("sipas-2017"));
        }
    }

    #[test]
    fn a_receipt_secret_that_begins_with_a_hyphen_is_a_secret() {
        let secret = "-JabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO";
        let args =
            ["hailong", "receipts", "sign", "--key-id", "1", "--secret", secret, "--unit", "U", "--officer", "O"];
        let more = ["--dossier", "H01-261124-0007", "--base-url", "https://hl.example"];
        let cli = Cli::try_parse_from(args.into_iter().chain(more)).unwrap();
        assert!(format!("{:?}", cli.command).contains(secret));
    }

    #[test]
    fn an_error_says_each_cause_once() {
        #[derive(Debug)]
        struct Quoting(std::io::Error);
        impl std::fmt::Display for Quoting {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "database error: {}", self.0)
            }
        }
        impl std::error::Error for Quoting {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let error = anyhow::Error::new(Quoting(std::io::Error::other("database \"x\" does not exist")))
            .context("cannot open the database");
        assert_eq!(said_once(&error), "cannot open the database: database error: database \"x\" does not exist");
    }
}
