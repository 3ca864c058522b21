//! The commands of tamper evidence: checkpoints, the signing key, and checking the chain and
//! exported files.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;

use super::{IfMissing, open, open_app, progress, write_out};
use crate::app::trust::{key_path, load_key, sha256_hex};
use crate::config::Settings;
use crate::domain::chain::{self, Checkpoint, Manifest};

#[derive(Debug, Subcommand)]
pub enum ResponsesCommand {
    /// List an officer's or a unit's responses in a period as CSV (id, time, unit, desk,
    /// officer, channel, flags, excluded), newest first; never who gave them.
    List {
        #[arg(long, value_name = "CODE", conflicts_with = "unit", required_unless_present = "unit")]
        officer: Option<String>,
        #[arg(long, value_name = "CODE")]
        unit: Option<String>,
        /// 2026, 2026-H1, 2026-Q3, 2026-07 or 2026-01-01..2026-03-31.
        #[arg(long)]
        period: String,
        /// Only those that carry a stuffing flag or were excluded.
        #[arg(long)]
        flagged: bool,
    },
    /// Leave responses out of the indices, with a reason (an event in the audit log and the
    /// hash chain; the responses themselves are kept).
    Exclude {
        #[arg(long)]
        reason: String,
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// Count excluded responses again, with a reason.
    Restore {
        #[arg(long)]
        reason: String,
        #[arg(required = true)]
        ids: Vec<i64>,
    },
}

pub async fn responses(settings: &Settings, cmd: ResponsesCommand) -> anyhow::Result<()> {
    use crate::app::moderation::Reviewed;
    use crate::domain::moderation::Action;
    let app = open_app(settings, IfMissing::Refuse).await?;
    let console = crate::app::Caller::console();
    let (ids, action, reason) = match cmd {
        ResponsesCommand::List { officer, unit, period, flagged } => {
            let period = crate::domain::period::Period::parse(&period).map_err(|e| anyhow::anyhow!("--period: {e}"))?;
            let of = match (&officer, &unit) {
                (Some(code), _) => Reviewed::Officer(code),
                (None, Some(code)) => Reviewed::Unit(code),
                (None, None) => bail!("name --officer CODE or --unit CODE"),
            };
            let listed = app.review(&console, of, &period, flagged).await.map_err(|e| match e {
                crate::app::AppError::NoSuchRecord => match of {
                    Reviewed::Officer(code) => anyhow::anyhow!("no officer with code {code}"),
                    Reviewed::Unit(code) => anyhow::anyhow!("no unit with code {code}"),
                },
                other => other.into(),
            })?;
            let mut out = crate::export::CsvOut::new(std::io::stdout().lock());
            out.text_row(["id", "at", "unit_code", "desk_code", "officer_code", "channel", "flags", "excluded"])?;
            for l in &listed {
                let flags: Vec<&str> = l.flags.iter().map(|k| k.code()).collect();
                out.text_row([
                    l.id.to_string().as_str(),
                    crate::domain::clock::format_vietnam(l.at_ms).as_str(),
                    &l.unit_code,
                    l.desk_code.as_deref().unwrap_or_default(),
                    l.officer_code.as_deref().unwrap_or_default(),
                    &l.channel,
                    &flags.join(" "),
                    if l.excluded { "true" } else { "false" },
                ])?;
            }
            out.flush()?;
            return Ok(());
        }
        ResponsesCommand::Exclude { reason, ids } => (ids, Action::Exclude, reason),
        ResponsesCommand::Restore { reason, ids } => (ids, Action::Restore, reason),
    };
    let done = app.moderate(&console, &ids, action, &reason).await.map_err(|e| match e {
        crate::app::AppError::NoSuchRecord => anyhow::anyhow!("not every id names a stored response"),
        other => other.into(),
    })?;
    for id in &done.changed {
        println!("{} {id}", action.code());
    }
    for id in &done.unchanged {
        eprintln!("response {id} was already {}", if action == Action::Exclude { "excluded" } else { "counted" });
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print the public key (`KEY_ID BASE64`) that checks checkpoints and export manifests
    /// (`verify --public-key`). On SQLite it makes the key first if there is none.
    Public,
    /// Make the signing key at signing_key_file (for PostgreSQL: once, then the same file on
    /// every instance); refused when one is there. Prints its public key.
    Create,
}

pub fn keys(settings: &Settings, cmd: KeysCommand) -> anyhow::Result<()> {
    let path = key_path(settings);
    let key = match cmd {
        KeysCommand::Public => load_key(&path, crate::app::trust::may_make_key(settings))?,
        KeysCommand::Create => {
            if path.exists() {
                bail!("{} exists already: the signing key is made once (keep it, and its backups)", path.display());
            }
            load_key(&path, true)?
        }
    };
    println!("{} {}", key.id(), key.public().to_text());
    eprintln!("the signing key is kept in {}", path.display());
    Ok(())
}

/// The public key to check signatures with: given (`KEY_ID BASE64` as `hailong keys public`
/// prints it, or a file holding that), or the half of the service's own key.
fn public_key(settings: &Settings, given: Option<&str>) -> anyhow::Result<chain::PublicKey> {
    let Some(given) = given else { return Ok(load_key(&key_path(settings), false)?.public()) };
    let text = match std::fs::read_to_string(given) {
        Ok(text) => text,
        Err(_) => given.to_owned(),
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    let (id, encoded) = match words.as_slice() {
        [id, encoded] => (Some(*id), *encoded),
        [encoded] => (None, *encoded),
        _ => bail!("--public-key: give `KEY_ID BASE64` as `hailong keys public` printed it, or a file holding it"),
    };
    let public = chain::PublicKey::from_text(encoded).map_err(|e| anyhow::anyhow!("--public-key: {e}"))?;
    if let Some(id) = id.filter(|id| *id != public.id()) {
        bail!("--public-key: the key's id is {}, not {id}: the two halves do not belong together", public.id());
    }
    Ok(public)
}

/// The manifest written beside an exported file.
pub fn manifest_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".manifest.json");
    PathBuf::from(name)
}

pub async fn checkpoint(settings: &Settings, out: &PathBuf) -> anyhow::Result<()> {
    // A checkpoint is evidence: an older one is never overwritten.
    if out.as_os_str() != "-" && out.exists() {
        anyhow::bail!("{} exists already: name a new file (checkpoints are kept, not replaced)", out.display());
    }
    let app = open_app(settings, IfMissing::Refuse).await?;
    let checkpoint = app.make_checkpoint().await?;
    if out.as_os_str() == "-" {
        write_out(out, checkpoint.to_text().as_bytes())?;
    } else {
        // Created new (a file that appeared meanwhile is not overwritten either), and on disk.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(out)
            .with_context(|| format!("cannot create {} (a checkpoint is written to a new file)", out.display()))?;
        std::io::Write::write_all(&mut file, checkpoint.to_text().as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    if out.as_os_str() != "-" {
        eprintln!(
            "checkpoint of link {} ({} responses, {} events), head {}, written to {}",
            checkpoint.seq,
            checkpoint.responses,
            checkpoint.events,
            checkpoint.head,
            out.display()
        );
    }
    Ok(())
}

/// Checks that every erased comment is under a recorded purge's cutoff, and that each purge is
/// one the service could have made (its cutoff its retention before its time, not dated ahead;
/// a purge without a retention only first, recording at the upgrade the comments erased
/// before purges were recorded); prints the purges, and returns what is wrong.
async fn check_comments(store: &crate::store::Store, retention: u32, chain_whole: bool) -> anyhow::Result<Vec<String>> {
    use crate::domain::clock::format_vietnam;
    let now_ms = || store.clock().now_ms();
    const DAY: i64 = 86_400_000;
    let mut problems = Vec::new();
    let purges = store.comment_purges().await?;
    for (i, (cutoff, days, erased, at)) in purges.iter().enumerate() {
        let when = format_vietnam(*at);
        if *at > now_ms() + DAY {
            problems
                .push(format!("comments: a purge is dated {when}, ahead of now: it was written outside the service"));
        } else if *days <= 0 && i > 0 {
            problems.push(format!(
                "comments: a purge at {when} erased {erased} comment(s) under no retention: the service never purges \
                 so (comment_retention_days is at least 1 when it purges); it was written outside it"
            ));
        } else if *days > 0 && *cutoff > at - i64::from(*days) * DAY {
            problems.push(format!(
                "comments: a purge at {when} erased comments of ratings up to {}, younger than its retention of \
                 {days} days: the service never purges so; it was written outside it",
                format_vietnam(*cutoff)
            ));
        }
    }
    let covered = purges.iter().map(|p| p.0).max();
    let erased = if chain_whole { store.erased_comments(covered).await? } else { Vec::new() };
    if let Some((id, at)) = erased.first() {
        problems.push(format!(
            "comments: the comment of response {id} (rated {}) was erased, and no purge covers it{}",
            format_vietnam(*at),
            if erased.len() > 1 { " (nor others after it)" } else { "" }
        ));
    }
    match purges.last() {
        None => println!("comments: none erased"),
        Some((cutoff, days, _, at)) => {
            let total: i64 = purges.iter().map(|p| p.2).sum();
            let how = if *days > 0 {
                format!("retention {days} days")
            } else {
                "erased before purges were recorded".to_owned()
            };
            println!(
                "comments: {total} erased by {} purge(s), the last at {} (ratings before {}, {how}); none otherwise",
                purges.len(),
                format_vietnam(*at),
                format_vietnam(*cutoff)
            );
            if *days > 0 && i64::from(*days) != i64::from(retention) {
                println!(
                    "comments: note: the last purge ran with a retention of {days} days; comment_retention_days here is {retention}"
                );
            }
        }
    }
    Ok(problems)
}

/// Recomputes the chain and checks the checkpoints against it; prints what holds, and fails
/// naming the first thing that does not.
pub async fn verify_chain(
    settings: &Settings,
    files: &[PathBuf],
    public_key_given: Option<&str>,
) -> anyhow::Result<()> {
    let mut checkpoints = Vec::with_capacity(files.len());
    if !files.is_empty() {
        let public = public_key(settings, public_key_given)?;
        for file in files {
            let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
            let checkpoint =
                Checkpoint::read(&text, &public).map_err(|e| anyhow::anyhow!("checkpoint {}: {e}", file.display()))?;
            checkpoints.push((file, checkpoint));
        }
    }
    let store = open(settings, IfMissing::ReadOnly).await?;
    let places: Vec<i64> = checkpoints.iter().map(|(_, c)| c.seq).collect();
    let (length, _) = store.chain_head().await?;
    let bar = progress(u64::try_from(length).unwrap_or(0), "links");
    let registry = crate::domain::questionnaire::Registry::new(store.stored_questionnaires().await?);
    let check = store.check_chain(&places, &registry, &|n| bar.set_position(u64::try_from(n).unwrap_or(0))).await?;
    bar.finish_and_clear();
    let mut problems = Vec::new();
    match &check.broken {
        None => println!(
            "chain: {} links ({} responses, {} events, {} flag events) recomputed from the records, head {}: intact",
            check.links,
            check.responses,
            check.events,
            check.flag_events,
            chain::hex(&check.head)
        ),
        Some(broken) => problems.push(format!("chain: {broken}")),
    }
    // What is derived from a response's own answers is recomputed from them.
    if check.derived_wrong == 0 {
        println!("derived answers: those of every response are what its own answers and its chained flags give");
    } else {
        problems.push(format!(
            "derived answers: {} response(s) hold derived answers or flags other than their own answers and their \
             chained flag events give; the first: {}",
            check.derived_wrong,
            check.derived.join("; ")
        ));
    }
    // The guards that make the history append-only: one dropped and put back leaves no trace
    // in the records, so each must be as the migrations made it.
    let guards = store.check_guards().await?;
    if guards.is_empty() {
        println!("guards: every append-only trigger is as this version's migrations made it");
    }
    problems.extend(guards);
    // Comments are erased by the retention purge only, each purge recorded with its cutoff.
    problems.extend(check_comments(&store, settings.comment_retention_days, check.broken.is_none()).await?);
    match store.check_moderation().await? {
        None => println!("moderation: the excluded responses are those the {} event(s) leave excluded", check.events),
        Some(problem) => problems.push(format!("moderation: {problem}")),
    }
    for (file, checkpoint) in &checkpoints {
        let name = format!("checkpoint {} (link {}, made {})", file.display(), checkpoint.seq, checkpoint.made_at);
        match check.at.get(&checkpoint.seq) {
            Some(hash) if *hash == checkpoint.head_hash() => {
                println!("{name}: the database extends it");
            }
            Some(hash) => problems.push(format!(
                "{name}: the database's link {} is {}, the checkpoint's {}: the history before it was rewritten",
                checkpoint.seq,
                chain::hex(hash),
                checkpoint.head
            )),
            None if check.broken.is_none() => problems.push(format!(
                "{name}: the database's chain ends at link {}, before the checkpoint's: the database was put back \
                 to an earlier copy, or its newest records were removed",
                check.links
            )),
            None => problems.push(format!("{name}: not reached, the chain breaks before it")),
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    bail!("{}", problems[0])
}

pub async fn verify_export(settings: &Settings, file: &Path, manifest: Option<&Path>) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let public = load_key(&key_path(settings), false)?.public();
    let beside = manifest_path(file);
    let given = manifest.map(Path::to_path_buf).or_else(|| beside.exists().then_some(beside));
    let manifest = match given {
        Some(path) => {
            let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
            Manifest::check(&text, &public, &bytes)
                .map_err(|e| anyhow::anyhow!("{} against {}: {e}", file.display(), path.display()))?
        }
        None => {
            let app = open_app(settings, IfMissing::Refuse).await?;
            let sha = sha256_hex(&bytes);
            let kept = app.store.manifests_of(&sha).await?;
            let Some(text) = kept.first() else {
                bail!(
                    "{}: no export with this content was made here (SHA-256 {sha}): the file was changed after \
                     export, or another service made it",
                    file.display()
                );
            };
            Manifest::check(text, &public, &bytes)
                .map_err(|e| anyhow::anyhow!("{}: the kept manifest: {e}", file.display()))?
        }
    };
    println!(
        "{}: as exported ({} bytes, SHA-256 {}), made {} at link {} of the chain, for {}; signed by key {}",
        file.display(),
        manifest.bytes,
        manifest.sha256,
        manifest.made_at,
        manifest.seq,
        manifest.query,
        manifest.key_id
    );
    Ok(())
}
