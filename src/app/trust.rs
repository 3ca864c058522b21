//! Tamper evidence as the service and the command line use it: the signing key (outside the
//! database), signed checkpoints of the hash chain (made on demand and periodically, kept as
//! files for Home Affairs and as rows for the admin pages), and the signed manifests of exports.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sha2::{Digest, Sha256};

use super::{App, AppResult};
use crate::config::Settings;
use crate::domain::chain::{self, Checkpoint, Hash, Key, Manifest};

/// Where the signing key is kept: the setting, else beside the SQLite file, else in the
/// working folder.
pub fn key_path(settings: &Settings) -> PathBuf {
    settings.signing_key_file.clone().unwrap_or_else(|| beside_database(settings, "hailong-signing.key"))
}

/// Where the service writes its checkpoints.
pub fn checkpoint_dir(settings: &Settings) -> PathBuf {
    settings.checkpoint_dir.clone().unwrap_or_else(|| beside_database(settings, "checkpoints"))
}

fn beside_database(settings: &Settings, name: &str) -> PathBuf {
    crate::store::sqlite_file(&settings.database_url)
        .and_then(|file| file.parent().map(|dir| dir.join(name)))
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Whether a missing signing key may be made where it is looked for: on one SQLite server, yes
/// (the service makes its key at its first start); on PostgreSQL, where several instances must
/// sign with one key, no: it is made once, on purpose (`hailong keys create`), and given to each.
pub fn may_make_key(settings: &Settings) -> bool {
    crate::store::sqlite_file(&settings.database_url).is_some()
}

/// Reads the key at `path`; when there is none and `create` is set, makes one there (readable
/// by this user only; a key another process made meanwhile wins).
pub fn load_key(path: &Path, create: bool) -> anyhow::Result<Key> {
    match std::fs::read_to_string(path) {
        Ok(text) => Key::from_text(&text).map_err(|e| anyhow::anyhow!("the signing key {}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            // Written whole under a name of its own, then linked into place: a process that
            // reads the key meanwhile finds none or all of it, and of two makers one wins. The
            // name is this call's own (two threads of one process make keys at once too).
            let key = Key::generate();
            let mut partial = path.as_os_str().to_owned();
            partial.push(format!(".{}.{:016x}.new", std::process::id(), rand::random::<u64>()));
            let partial = PathBuf::from(partial);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let written = options
                .open(&partial)
                .and_then(|mut file| file.write_all(key.to_text().as_bytes()).and_then(|()| file.sync_all()));
            if let Err(e) = written {
                let _ = std::fs::remove_file(&partial);
                return Err(e).with_context(|| format!("cannot make the signing key {}", path.display()));
            }
            let linked = std::fs::hard_link(&partial, path);
            let _ = std::fs::remove_file(&partial);
            match linked {
                Ok(()) => {
                    tracing::info!(path = %path.display(), key_id = %key.id(), "made a new signing key");
                    Ok(key)
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_key(path, false),
                Err(e) => Err(e).with_context(|| format!("cannot make the signing key {}", path.display())),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(
            "there is no signing key at {}: set signing_key_file to the service's key; on PostgreSQL make it \
             once with `hailong keys create` (written to signing_key_file) and give the same file to every \
             instance; to check checkpoints without the key, pass `--public-key` with what `hailong keys \
             public` printed",
            path.display()
        ),
        Err(e) => Err(e).with_context(|| format!("cannot read the signing key {}", path.display())),
    }
}

/// UTC, to the second, as RFC 3339.
fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// A writer that passes bytes on and keeps their SHA-256 and number.
pub struct Hashing<'a> {
    inner: &'a mut (dyn Write + Send),
    hasher: Sha256,
    bytes: u64,
}

impl<'a> Hashing<'a> {
    pub fn new(inner: &'a mut (dyn Write + Send)) -> Self {
        Self { inner, hasher: Sha256::new(), bytes: 0 }
    }

    pub fn finish(self) -> (Hash, u64) {
        (self.hasher.finalize().into(), self.bytes)
    }
}

impl Write for Hashing<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl App {
    /// The service's signing key, read (or made) once.
    pub fn signing_key(&self) -> AppResult<Arc<Key>> {
        if let Some(key) = self.signing.get() {
            return Ok(key.clone());
        }
        let key = Arc::new(load_key(&key_path(&self.settings), may_make_key(&self.settings))?);
        Ok(self.signing.get_or_init(|| key).clone())
    }

    /// The forms' one-time keys, under a secret derived from the signing key (outside the
    /// database, the same on every instance that shares the key).
    pub fn form_keys(&self) -> AppResult<crate::domain::response::FormKeys> {
        let key = self.signing_key()?;
        Ok(crate::domain::response::FormKeys::new(key.derive(crate::domain::response::FORM_KEY_PURPOSE)))
    }

    /// A one-time key for a form drawn now.
    pub fn issue_form_key(&self) -> AppResult<crate::domain::response::IdempotencyKey> {
        Ok(self.form_keys()?.issue(self.store.clock().now_ms()))
    }

    /// Signs the chain's head as it is now, keeps the checkpoint in the database and returns it.
    pub async fn make_checkpoint(&self) -> AppResult<Checkpoint> {
        let key = self.signing_key()?;
        let (seq, head) = self.store.chain_head().await?;
        let (responses, events) = self.store.chain_tally(seq).await?;
        let now = self.store.clock().now_ms();
        let checkpoint = Checkpoint::sign(&key, seq, &head, responses, events, rfc3339(now));
        self.store.record_checkpoint(&checkpoint, now).await?;
        Ok(checkpoint)
    }

    /// The newest checkpoint the service made, and when (Unix milliseconds).
    pub async fn latest_checkpoint(&self) -> AppResult<Option<(Checkpoint, i64)>> {
        Ok(self.store.latest_checkpoint().await?)
    }

    /// Signs and keeps the manifest of an exported file.
    pub async fn sign_export(&self, file: &str, sha256: &Hash, bytes: u64, query: String) -> AppResult<Manifest> {
        let key = self.signing_key()?;
        let (seq, head) = self.store.chain_head().await?;
        let now = self.store.clock().now_ms();
        let manifest = Manifest::sign(&key, file, sha256, bytes, query, seq, &head, rfc3339(now));
        self.store.record_manifest(&manifest, now).await?;
        Ok(manifest)
    }
}

/// Writes `checkpoint` into `dir` as `checkpoint-SEQ-TIME.json`, whole or not at all.
pub fn write_checkpoint_file(dir: &Path, checkpoint: &Checkpoint) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot make the folder {}", dir.display()))?;
    let stamp: String = checkpoint.made_at.chars().filter(char::is_ascii_alphanumeric).collect();
    let path = dir.join(format!("checkpoint-{:010}-{stamp}.json", checkpoint.seq));
    let partial = dir.join(format!(".checkpoint-{}.partial", std::process::id()));
    let written = std::fs::File::create(&partial)
        .and_then(|mut f| f.write_all(checkpoint.to_text().as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&partial, &path));
    written.with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// The service's own checkpoints: when the newest kept is older than the interval (or there is
/// none and something was collected), makes one and writes it into the checkpoint folder. Checks
/// every ten minutes; with several instances, the first to see it due makes it.
pub async fn run_checkpoints(app: App) {
    let hours = app.settings.checkpoint_interval_hours;
    if hours == 0 {
        return;
    }
    let interval_ms = i64::from(hours) * 3_600_000;
    let dir = checkpoint_dir(&app.settings);
    loop {
        let due = match app.latest_checkpoint().await {
            Ok(Some((_, at))) => app.store.clock().now_ms() - at >= interval_ms,
            Ok(None) => app.store.chain_head().await.is_ok_and(|(seq, _)| seq > 0),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the latest checkpoint");
                false
            }
        };
        // An instance of an older build, once a newer one has migrated, leaves it to that one.
        let newer = app.store.schema_is_newer().await.unwrap_or(false);
        if due && !newer {
            match app.make_checkpoint().await.map_err(anyhow::Error::from).and_then(|c| {
                let path = write_checkpoint_file(&dir, &c)?;
                Ok((c, path))
            }) {
                Ok((c, path)) => tracing::info!(seq = c.seq, head = %c.head, path = %path.display(), "checkpoint made"),
                Err(e) => tracing::warn!(error = %e, "cannot make the periodic checkpoint"),
            }
        }
        tokio::time::sleep(Duration::from_secs(600)).await;
    }
}

/// The hex SHA-256 of a file's bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    chain::hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_that_make_the_key_at_once_all_get_the_one_that_won() {
        let dir = tempfile::tempdir().expect("a folder");
        let path = dir.path().join("signing.key");
        let ids: Vec<String> = std::thread::scope(|scope| {
            let makers: Vec<_> = (0..16).map(|_| scope.spawn(|| load_key(&path, true).map(|k| k.id()))).collect();
            makers.into_iter().map(|m| m.join().expect("a maker").expect("the key")).collect()
        });
        assert!(ids.iter().all(|id| *id == ids[0]), "one key for all: {ids:?}");
        assert_eq!(load_key(&path, false).expect("the key on disk").id(), ids[0]);
        let left: Vec<_> =
            std::fs::read_dir(dir.path()).expect("list").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("signing.key")], "no partial file left");
    }
}
