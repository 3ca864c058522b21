//! The hash chain over what was collected, and the signed checkpoints of its head.
//!
//! Every stored response (and every moderation event) is a link: the SHA-256 of the previous
//! link's hash, the link's place in the chain, and the record's canonical content. Changing,
//! removing, inserting or reordering a record breaks every later link; an insider who rewrites
//! the chain consistently, or puts back an older copy of the database, is caught by a
//! [`Checkpoint`] kept elsewhere: it names the head at a place in the chain, signed with the
//! service's Ed25519 key, and a database that no longer has that head there did not extend it.
//!
//! What the retention purge may erase (a comment) is covered through its own hash
//! ([`erasable`]), kept in the link: the purge leaves the chain verifiable, and a comment that is
//! still there must match it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A link's hash, or the hash of erasable content.
pub type Hash = [u8; 32];

/// The hash before the first link.
pub const GENESIS: Hash = [0; 32];

/// The format of a link's input; changing what a link covers needs a new one.
const LINK_FORMAT: &str = "hailong-chain/1";

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A hash written by [`hex`].
pub fn parse_hex(text: &str) -> Option<Hash> {
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// What a link records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkKind {
    Response,
    Event,
    /// Flags the writer gave a response (a [`FlagEventContent`]).
    Flags,
}

impl LinkKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Response => "response",
            Self::Event => "event",
            Self::Flags => "flags",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [Self::Response, Self::Event, Self::Flags].into_iter().find(|k| k.code() == code)
    }
}

/// Whether an answer is one the citizen gave (and the chain covers), not one derived from them
/// for the reports (derived ids have a '.', question ids none); repairs may add derived answers
/// to old responses without breaking their links.
pub fn is_own_answer(question: &str) -> bool {
    !question.contains('.')
}

/// A response as the chain covers it: everything stored but its comment (see [`erasable`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseContent<'a> {
    pub id: i64,
    pub key: &'a str,
    pub point: i64,
    pub unit: i64,
    pub desk: Option<i64>,
    pub officer: Option<i64>,
    pub field: Option<i64>,
    pub questionnaire: &'a str,
    pub version: i64,
    pub channel: &'a str,
    pub submitted_at: i64,
    pub local_day: i64,
    /// The citizen's own answers, in any order.
    pub answers: Vec<(&'a str, i64)>,
}

fn opt(value: Option<i64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

impl ResponseContent<'_> {
    /// One line of text that changes whenever anything covered changes: fields in a fixed order,
    /// separated by a unit separator (no field may hold one: codes and keys are checked), the
    /// own answers sorted by question.
    pub fn canonical(&self) -> String {
        let mut answers: Vec<(&str, i64)> = self.answers.iter().copied().filter(|(q, _)| is_own_answer(q)).collect();
        answers.sort_unstable();
        let answers: Vec<String> = answers.iter().map(|(q, v)| format!("{q}={v}")).collect();
        [
            self.id.to_string(),
            self.key.to_owned(),
            self.point.to_string(),
            self.unit.to_string(),
            opt(self.desk),
            opt(self.officer),
            opt(self.field),
            self.questionnaire.to_owned(),
            self.version.to_string(),
            self.channel.to_owned(),
            self.submitted_at.to_string(),
            self.local_day.to_string(),
            answers.join(","),
        ]
        .join("\u{1f}")
    }
}

/// A moderation event as the chain covers it: all of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventContent<'a> {
    pub id: i64,
    pub response: i64,
    /// `exclude` or `restore`.
    pub action: &'a str,
    pub reason: &'a str,
    pub actor: &'a str,
    pub at: i64,
}

impl EventContent<'_> {
    /// One line: the fields in a fixed order after the word `event`, separated by a unit
    /// separator (the reason is checked to hold none).
    pub fn canonical(&self) -> String {
        [
            "event",
            &self.id.to_string(),
            &self.response.to_string(),
            self.action,
            self.reason,
            self.actor,
            &self.at.to_string(),
        ]
        .join("\u{1f}")
    }
}

/// Flags given to a response at once, as the chain covers them: all of it. `kinds` are the
/// flags' codes, sorted, comma-separated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagEventContent<'a> {
    pub id: i64,
    pub response: i64,
    pub kinds: &'a str,
    pub at: i64,
}

impl FlagEventContent<'_> {
    /// One line: the fields in a fixed order after the word `flags`, separated by a unit
    /// separator (flag codes hold none).
    pub fn canonical(&self) -> String {
        ["flags", &self.id.to_string(), &self.response.to_string(), self.kinds, &self.at.to_string()].join("\u{1f}")
    }
}

/// The hash of what the retention purge may erase from a response: its comment, or that it has
/// none.
pub fn erasable(comment: Option<&str>) -> Hash {
    let mut hasher = Sha256::new();
    match comment {
        Some(text) => {
            hasher.update(b"comment:");
            hasher.update(text.as_bytes());
        }
        None => hasher.update(b"no comment"),
    }
    hasher.finalize().into()
}

/// The hash of link `seq` (the first is 1), which follows `prev`.
pub fn link(prev: &Hash, seq: i64, kind: LinkKind, content: &str, erasable: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    for part in [LINK_FORMAT, &hex(prev), &seq.to_string(), kind.code(), &hex(erasable), content] {
        hasher.update(part.as_bytes());
        hasher.update(b"\n");
    }
    hasher.finalize().into()
}

/// The service's signing key (Ed25519), kept outside the database; its id is the start of the
/// SHA-256 of the public key.
#[derive(Clone)]
pub struct Key {
    signing: SigningKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("id", &self.id()).finish_non_exhaustive()
    }
}

/// The first line of a key file.
const KEY_HEADER: &str = "hailong-signing-key/1";

impl Key {
    /// A new key from the operating system's random numbers.
    pub fn generate() -> Self {
        Self { signing: SigningKey::from_bytes(&rand::random::<[u8; 32]>()) }
    }

    /// A key from its secret bytes (tests, fixed vectors).
    pub fn from_secret(secret: [u8; 32]) -> Self {
        Self { signing: SigningKey::from_bytes(&secret) }
    }

    /// The text of a key file: a header line and the secret in base64.
    pub fn to_text(&self) -> String {
        format!("{KEY_HEADER}\n{}\n", B64.encode(self.signing.to_bytes()))
    }

    /// Reads what [`Key::to_text`] wrote.
    pub fn from_text(text: &str) -> Result<Self, String> {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        if lines.next() != Some(KEY_HEADER) {
            return Err(format!("not a signing key: the first line should be {KEY_HEADER}"));
        }
        let secret = lines.next().ok_or("the key file has no key after its first line")?;
        let bytes = B64.decode(secret).map_err(|e| format!("the key is not base64: {e}"))?;
        let secret: [u8; 32] =
            bytes.try_into().map_err(|b: Vec<u8>| format!("the key has {} bytes, not 32", b.len()))?;
        Ok(Self::from_secret(secret))
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key())
    }

    /// A secret of its own for `purpose` (e.g. the forms' one-time keys), derived from this
    /// key's secret: kept where the key is (outside the database) and shared by every instance
    /// that shares the key, without a second file to hand out.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let Ok(mut mac) = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.signing.to_bytes()) else {
            unreachable!("HMAC takes a key of any length")
        };
        mac.update(b"hailong derived secret\n");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    pub fn id(&self) -> String {
        self.public().id()
    }
}

/// The public half of a signing key, as Home Affairs keeps it to check checkpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// The first 8 bytes of the SHA-256 of the key, in hexadecimal.
    pub fn id(&self) -> String {
        hex(&Sha256::digest(self.0.as_bytes())[..8])
    }

    /// The key in base64 (32 bytes).
    pub fn to_text(&self) -> String {
        B64.encode(self.0.as_bytes())
    }

    pub fn from_text(text: &str) -> Result<Self, String> {
        let bytes = B64.decode(text.trim()).map_err(|e| format!("the public key is not base64: {e}"))?;
        let bytes: [u8; 32] =
            bytes.try_into().map_err(|b: Vec<u8>| format!("the public key has {} bytes, not 32", b.len()))?;
        VerifyingKey::from_bytes(&bytes).map(Self).map_err(|_| "not an Ed25519 public key".to_owned())
    }

    /// Whether `signature` (base64) is this key's over `message`.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        let Ok(bytes) = B64.decode(signature.trim()) else { return false };
        let Ok(bytes) = <[u8; 64]>::try_from(bytes.as_slice()) else { return false };
        self.0.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&bytes)).is_ok()
    }
}

/// A signed statement of the chain's head at one moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub format: String,
    /// The number of links (the head's place in the chain).
    pub seq: i64,
    /// The head's hash (hex); the genesis hash when the chain is empty.
    pub head: String,
    /// Responses and moderation events among the links.
    pub responses: i64,
    pub events: i64,
    /// When it was made (UTC, RFC 3339).
    pub made_at: String,
    pub key_id: String,
    /// Ed25519 over [`Checkpoint::message`], base64.
    pub signature: String,
}

/// The format name a checkpoint carries.
pub const CHECKPOINT_FORMAT: &str = "hailong-checkpoint/1";

/// What made a checkpoint file unusable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointProblem {
    #[error("not a checkpoint: {0}")]
    Unreadable(String),
    #[error("signed with key {found}, not this service's key {expected}")]
    OtherKey { found: String, expected: String },
    #[error("its signature does not match its content: the file was edited after it was signed")]
    BadSignature,
}

impl Checkpoint {
    /// Signs the head `head` at `seq`.
    pub fn sign(key: &Key, seq: i64, head: &Hash, responses: i64, events: i64, made_at: String) -> Self {
        let mut checkpoint = Self {
            format: CHECKPOINT_FORMAT.to_owned(),
            seq,
            head: hex(head),
            responses,
            events,
            made_at,
            key_id: key.id(),
            signature: String::new(),
        };
        checkpoint.signature = B64.encode(key.signing.sign(checkpoint.message().as_bytes()).to_bytes());
        checkpoint
    }

    /// The signed text: every field but the signature, one per line.
    pub fn message(&self) -> String {
        format!(
            "{}\nseq {}\nhead {}\nresponses {}\nevents {}\nmade_at {}\nkey_id {}\n",
            self.format, self.seq, self.head, self.responses, self.events, self.made_at, self.key_id
        )
    }

    /// Reads a checkpoint file and checks its signature with `public`.
    pub fn read(text: &str, public: &PublicKey) -> Result<Self, CheckpointProblem> {
        let checkpoint: Self = serde_json::from_str(text).map_err(|e| CheckpointProblem::Unreadable(e.to_string()))?;
        if checkpoint.format != CHECKPOINT_FORMAT {
            return Err(CheckpointProblem::Unreadable(format!("format {:?}", checkpoint.format)));
        }
        if parse_hex(&checkpoint.head).is_none() || checkpoint.seq < 0 {
            return Err(CheckpointProblem::Unreadable("its head is not a SHA-256 in hexadecimal".to_owned()));
        }
        if checkpoint.key_id != public.id() {
            return Err(CheckpointProblem::OtherKey { found: checkpoint.key_id, expected: public.id() });
        }
        if !public.verifies(checkpoint.message().as_bytes(), &checkpoint.signature) {
            return Err(CheckpointProblem::BadSignature);
        }
        Ok(checkpoint)
    }

    pub fn head_hash(&self) -> Hash {
        parse_hex(&self.head).unwrap_or(GENESIS)
    }

    /// The file's text: pretty JSON with a final newline.
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// A signed statement that a file is an export made at a checkpoint, for a query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    /// The exported file's name as it was written.
    pub file: String,
    /// SHA-256 of the file's bytes (hex).
    pub sha256: String,
    pub bytes: u64,
    /// What was asked: the query's own words (level, period, scope, options).
    pub query: String,
    /// The chain's head when the export was made.
    pub seq: i64,
    pub head: String,
    pub made_at: String,
    pub key_id: String,
    pub signature: String,
}

/// The format name a manifest carries.
pub const MANIFEST_FORMAT: &str = "hailong-export-manifest/1";

/// What a check of an exported file against its manifest found wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ManifestProblem {
    #[error("not a manifest: {0}")]
    Unreadable(String),
    #[error("signed with key {found}, not this service's key {expected}")]
    OtherKey { found: String, expected: String },
    #[error("the manifest's signature does not match its content: the manifest was edited")]
    BadSignature,
    #[error(
        "the file differs from the one exported (SHA-256 {found}, the manifest says {expected}): it was changed after export"
    )]
    FileChanged { found: String, expected: String },
}

impl Manifest {
    /// Signs the statement that the file `file`, of `bytes` bytes with SHA-256 `sha256`, was
    /// exported for `query` when the chain's head was `head` at `seq`.
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        key: &Key,
        file: &str,
        sha256: &Hash,
        bytes: u64,
        query: String,
        seq: i64,
        head: &Hash,
        made_at: String,
    ) -> Self {
        let mut manifest = Self {
            format: MANIFEST_FORMAT.to_owned(),
            file: file.to_owned(),
            sha256: hex(sha256),
            bytes,
            query,
            seq,
            head: hex(head),
            made_at,
            key_id: key.id(),
            signature: String::new(),
        };
        manifest.signature = B64.encode(key.signing.sign(manifest.message().as_bytes()).to_bytes());
        manifest
    }

    pub fn message(&self) -> String {
        format!(
            "{}\nfile {}\nsha256 {}\nbytes {}\nquery {}\nseq {}\nhead {}\nmade_at {}\nkey_id {}\n",
            self.format, self.file, self.sha256, self.bytes, self.query, self.seq, self.head, self.made_at, self.key_id
        )
    }

    /// Reads a manifest, checks its signature with `public` and the file's bytes against it.
    pub fn check(text: &str, public: &PublicKey, file: &[u8]) -> Result<Self, ManifestProblem> {
        let manifest = Self::read(text, public)?;
        let found = hex(&Sha256::digest(file));
        if found != manifest.sha256 {
            return Err(ManifestProblem::FileChanged { found, expected: manifest.sha256 });
        }
        Ok(manifest)
    }

    /// Reads a manifest and checks its signature with `public`.
    pub fn read(text: &str, public: &PublicKey) -> Result<Self, ManifestProblem> {
        let manifest: Self = serde_json::from_str(text).map_err(|e| ManifestProblem::Unreadable(e.to_string()))?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(ManifestProblem::Unreadable(format!("format {:?}", manifest.format)));
        }
        if manifest.key_id != public.id() {
            return Err(ManifestProblem::OtherKey { found: manifest.key_id, expected: public.id() });
        }
        if !public.verifies(manifest.message().as_bytes(), &manifest.signature) {
            return Err(ManifestProblem::BadSignature);
        }
        Ok(manifest)
    }

    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(id: i64) -> ResponseContent<'static> {
        ResponseContent {
            id,
            key: "AAAAAAAAAAAAAAAAAAAAAA",
            point: 3,
            unit: 1,
            desk: None,
            officer: Some(7),
            field: None,
            questionnaire: "mot-cua",
            version: 2,
            channel: "qr",
            submitted_at: 1_780_000_000_000,
            local_day: 20260528,
            answers: vec![("b", 4), ("a", 5), ("alpha.x", 9)],
        }
    }

    #[test]
    fn every_covered_field_changes_the_content_and_derived_answers_do_not() {
        let base = content(1).canonical();
        assert!(base.ends_with("a=5,b=4"), "{base}");
        let mut changed = Vec::new();
        let mut c = content(1);
        c.desk = Some(0);
        changed.push(c.canonical());
        let mut c = content(1);
        c.officer = None;
        changed.push(c.canonical());
        let mut c = content(1);
        c.answers[0].1 = 5;
        changed.push(c.canonical());
        let mut c = content(1);
        c.submitted_at += 1;
        changed.push(c.canonical());
        changed.push(content(2).canonical());
        assert!(changed.iter().all(|x| *x != base));
        let mut c = content(1);
        c.answers.push(("composite.overall", 1));
        c.answers.reverse();
        assert_eq!(c.canonical(), base, "order and derived answers do not count");
    }

    #[test]
    fn a_link_depends_on_everything_before_it() {
        let e = erasable(None);
        let one = link(&GENESIS, 1, LinkKind::Response, "x", &e);
        assert_ne!(link(&one, 2, LinkKind::Response, "y", &e), link(&GENESIS, 2, LinkKind::Response, "y", &e));
        assert_ne!(link(&GENESIS, 1, LinkKind::Event, "x", &e), one);
        assert_ne!(link(&GENESIS, 1, LinkKind::Response, "x", &erasable(Some(""))), one);
        assert_eq!(parse_hex(&hex(&one)), Some(one));
        assert_eq!(parse_hex("zz"), None);
    }

    #[test]
    fn checkpoints_are_signed_and_any_change_is_seen() {
        let key = Key::from_secret([7; 32]);
        let public = key.public();
        let checkpoint = Checkpoint::sign(&key, 10, &[1; 32], 9, 1, "2026-12-01T00:00:00Z".to_owned());
        let text = checkpoint.to_text();
        assert_eq!(Checkpoint::read(&text, &public), Ok(checkpoint.clone()));
        let edited = text.replace("\"seq\": 10", "\"seq\": 11");
        assert_eq!(Checkpoint::read(&edited, &public), Err(CheckpointProblem::BadSignature));
        let other = Key::from_secret([8; 32]).public();
        assert!(matches!(Checkpoint::read(&text, &other), Err(CheckpointProblem::OtherKey { .. })));
        assert!(matches!(Checkpoint::read("{}", &public), Err(CheckpointProblem::Unreadable(_))));
        let again = Key::from_text(&key.to_text()).map(|k| k.id());
        assert_eq!(again, Ok(key.id()));
        assert_eq!(PublicKey::from_text(&public.to_text()), Ok(public));
    }

    #[test]
    fn a_manifest_catches_an_edited_file_and_an_edited_manifest() {
        let key = Key::from_secret([9; 32]);
        let file = b"level,code\nunit,H01\n";
        let sha: Hash = Sha256::digest(file).into();
        let manifest =
            Manifest::sign(&key, "x.csv", &sha, file.len() as u64, "level=unit".into(), 4, &[2; 32], "t".into());
        let text = manifest.to_text();
        assert!(Manifest::check(&text, &key.public(), file).is_ok());
        assert!(matches!(
            Manifest::check(&text, &key.public(), b"level,code\nunit,H02\n"),
            Err(ManifestProblem::FileChanged { .. })
        ));
        let edited = text.replace(&manifest.sha256, &hex(&Sha256::digest(b"other")));
        assert_eq!(Manifest::check(&edited, &key.public(), b"other"), Err(ManifestProblem::BadSignature));
    }
}
