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
pub enum KeysCommand {
    /// Print the public key (`KEY_ID BASE64`) that checks checkpoints and export manifests;
    /// makes the key first if there is none.
    Public,
}

pub fn keys(settings: &Settings, cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Public => {
            let path = key_path(settings);
            let key = load_key(&path, true)?;
            println!("{} {}", key.id(), key.public().to_text());
            eprintln!("the signing key is kept in {}", path.display());
            Ok(())
        }
    }
}

/// The manifest written beside an exported file.
pub fn manifest_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".manifest.json");
    PathBuf::from(name)
}

pub async fn checkpoint(settings: &Settings, out: &PathBuf) -> anyhow::Result<()> {
    let app = open_app(settings, IfMissing::Refuse).await?;
    let checkpoint = app.make_checkpoint().await?;
    write_out(out, checkpoint.to_text().as_bytes())?;
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

/// Recomputes the chain and checks the checkpoints against it; prints what holds, and fails
/// naming the first thing that does not.
pub async fn verify_chain(settings: &Settings, files: &[PathBuf]) -> anyhow::Result<()> {
    let mut checkpoints = Vec::with_capacity(files.len());
    if !files.is_empty() {
        let public = load_key(&key_path(settings), false)?.public();
        for file in files {
            let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
            let checkpoint =
                Checkpoint::read(&text, &public).map_err(|e| anyhow::anyhow!("checkpoint {}: {e}", file.display()))?;
            checkpoints.push((file, checkpoint));
        }
    }
    let store = open(settings, IfMissing::Refuse).await?;
    let places: Vec<i64> = checkpoints.iter().map(|(_, c)| c.seq).collect();
    let (length, _) = store.chain_head().await?;
    let bar = progress(u64::try_from(length).unwrap_or(0), "links");
    let check = store.check_chain(&places, &|n| bar.set_position(u64::try_from(n).unwrap_or(0))).await?;
    bar.finish_and_clear();
    let mut problems = Vec::new();
    match &check.broken {
        None => println!(
            "chain: {} links ({} responses, {} events) recomputed from the records, head {}: intact",
            check.links,
            check.responses,
            check.events,
            chain::hex(&check.head)
        ),
        Some(broken) => problems.push(format!("chain: {broken}")),
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
