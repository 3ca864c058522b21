//! Receipt keys, the tokens made online, and which receipts have rated. (A receipt's use is
//! recorded by the writer in the group's transaction: `responses.rs`.)

use super::{Backend, Store, StoreError, StoreResult};
use crate::domain::audit::{Action, Target};
use crate::domain::receipt::Key;

/// What a receipt key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyPurpose {
    /// Shared with the one-stop software, which signs its own tokens.
    Offline,
    /// This server's own, for the tokens of `POST /api/v1/receipts`.
    Online,
}

impl KeyPurpose {
    fn code(self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Online => "online",
        }
    }
}

/// A stored receipt key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredKey {
    pub key: Key,
    pub online: bool,
    pub revoked: bool,
}

/// A token made online, as stored: `token` untagged ([`crate::domain::receipt::untagged`]),
/// for its key to sign again when the same dossier asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    pub token: String,
    pub field_code: Option<String>,
    pub procedure: Option<String>,
}

/// The name under which sealing the secrets kept in plain text before is recorded, once.
const SEALED_FIX: &str = "receipt-keys-sealed-1";

/// The name under which untagging the tokens an older version kept whole is recorded, once.
const UNTAGGED_FIX: &str = "receipt-issues-untagged-1";

impl Store {
    fn sealer(&self) -> StoreResult<&crate::domain::receipt::Sealer> {
        self.receipt_sealer.as_deref().ok_or_else(|| {
            StoreError::Config(
                "receipt_secret is not set: receipt keys are kept sealed under it (set the same one on every \
                 instance and command)"
                    .into(),
            )
        })
    }

    /// The key of a stored row, its secret opened; a secret not sealed by this deployment's
    /// `receipt_secret` (one in plain text, written outside the service) is refused.
    fn key_of(&self, id: i64, stored: &str) -> StoreResult<Key> {
        let id = u32::try_from(id).map_err(|_| StoreError::Config(format!("receipt key id {id} out of range")))?;
        let secret =
            self.sealer()?.open(id, stored).map_err(|e| StoreError::Config(format!("receipt key {id}: {e}")))?;
        Ok(Key { id, secret })
    }

    /// Keeps, once per database, only the claims of the tokens an older version kept whole in
    /// `receipt_issues` (see [`Issued`]); returns how many it untagged.
    pub async fn untag_receipt_issues(&self) -> StoreResult<u64> {
        let mut untagged = 0;
        write_transaction!(self, tx => {
            let claimed = claim_fix!(tx, UNTAGGED_FIX, self.clock.now_ms());
            if claimed {
                let whole: Vec<(String, String)> = sqlx::query_as("SELECT receipt, token FROM receipt_issues ORDER BY receipt")
                    .fetch_all(&mut *tx)
                    .await?;
                for (receipt, token) in &whole {
                    let Ok(kept) = crate::domain::receipt::untagged(token) else { continue };
                    if kept != *token {
                        sqlx::query("UPDATE receipt_issues SET token = $2 WHERE receipt = $1")
                            .bind(receipt)
                            .bind(kept)
                            .execute(&mut *tx)
                            .await?;
                        untagged += 1;
                    }
                }
            }
        });
        Ok(untagged)
    }

    /// Seals, once per database, the receipt keys' secrets an older version kept in plain
    /// text; `None` when done before or when there is no `receipt_secret` to seal them under
    /// (then they are sealed at the first start that has one). A secret in plain text found
    /// after that was written outside the service and never opens.
    pub async fn seal_receipt_keys(&self) -> StoreResult<Option<u64>> {
        let Ok(sealer) = self.sealer() else { return Ok(None) };
        let mut sealed = None;
        write_transaction!(self, tx => {
            let claimed = claim_fix!(tx, SEALED_FIX, self.clock.now_ms());
            if claimed {
            let plain: Vec<(i64, String)> = sqlx::query_as("SELECT id, secret FROM receipt_keys WHERE secret NOT LIKE $1 ORDER BY id")
                .bind(format!("{}%", crate::domain::receipt::SEALED_PREFIX))
                .fetch_all(&mut *tx)
                .await?;
            for (id, secret) in &plain {
                let key = u32::try_from(*id)
                    .ok()
                    .and_then(|id| Key::from_text(id, secret).ok())
                    .ok_or_else(|| StoreError::Config(format!("receipt key {id}: its secret is not one a key has")))?;
                sqlx::query("UPDATE receipt_keys SET secret = $2 WHERE id = $1")
                    .bind(id)
                    .bind(sealer.seal(key.id, &key.secret))
                    .execute(&mut *tx)
                    .await?;
            }
            sealed = Some(plain.len() as u64);
            }
        });
        Ok(sealed)
    }
}

impl Store {
    /// Makes a receipt key with a random secret, recorded in the audit log under `actor`.
    pub async fn create_receipt_key(&self, purpose: KeyPurpose, actor: &str) -> StoreResult<Key> {
        let fresh = Key::generate(0);
        let sealer = self.sealer()?;
        let now = self.clock.now_ms();
        Ok(write_transaction!(self, tx => {
            // The id is the seal's associated data: the row is made, then given its seal.
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO receipt_keys (secret, purpose, created_at) VALUES ('', $1, $2) RETURNING id",
            )
            .bind(purpose.code())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let key = Key {
                id: u32::try_from(id).map_err(|_| StoreError::Config(format!("receipt key id {id} out of range")))?,
                secret: fresh.secret,
            };
            sqlx::query("UPDATE receipt_keys SET secret = $2 WHERE id = $1")
                .bind(id)
                .bind(sealer.seal(key.id, &key.secret))
                .execute(&mut *tx)
                .await?;
            let after = serde_json::json!({ "purpose": purpose.code() }).to_string();
            audit!(tx, now, actor, Action::ReceiptKeyCreate, Target::ReceiptKey(key.id), None::<String>, Some(after));
            key
        }))
    }

    /// Ends a receipt key: tokens it signed rate no more. False when there is no such active key.
    pub async fn revoke_receipt_key(&self, id: u32, actor: &str) -> StoreResult<bool> {
        let now = self.clock.now_ms();
        Ok(write_transaction!(self, tx => {
            let done = sqlx::query("UPDATE receipt_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(i64::from(id))
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if done == 0 {
                return Ok(false);
            }
            audit!(tx, now, actor, Action::ReceiptKeyRevoke, Target::ReceiptKey(id), None::<String>, None::<String>);
            true
        }))
    }

    /// A receipt key by id, revoked or not.
    pub async fn receipt_key(&self, id: u32) -> StoreResult<Option<StoredKey>> {
        let row: Option<(i64, String, String, Option<i64>)> = on_backend!(self, pool => {
            sqlx::query_as("SELECT id, secret, purpose, revoked_at FROM receipt_keys WHERE id = $1")
                .bind(i64::from(id))
                .fetch_optional(pool)
                .await?
        });
        row.map(|(id, secret, purpose, revoked)| {
            Ok(StoredKey { key: self.key_of(id, &secret)?, online: purpose == "online", revoked: revoked.is_some() })
        })
        .transpose()
    }

    /// Every receipt key: id, purpose, created, revoked (never the secrets).
    pub async fn receipt_keys(&self) -> StoreResult<Vec<(u32, String, i64, Option<i64>)>> {
        let rows: Vec<(i64, String, i64, Option<i64>)> = on_backend!(self, pool => {
            sqlx::query_as("SELECT id, purpose, created_at, revoked_at FROM receipt_keys ORDER BY id")
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().filter_map(|(id, p, c, r)| Some((u32::try_from(id).ok()?, p, c, r))).collect())
    }

    /// This server's online key: the oldest active one, made (under `actor` in the audit log)
    /// the first time it is needed. (Two instances making one at once each make one; both sign
    /// validly.)
    pub async fn online_receipt_key(&self, actor: &str) -> StoreResult<Key> {
        let row: Option<(i64, String)> = on_backend!(self, pool => {
            sqlx::query_as(
                "SELECT id, secret FROM receipt_keys WHERE purpose = 'online' AND revoked_at IS NULL ORDER BY id LIMIT 1",
            )
            .fetch_optional(pool)
            .await?
        });
        match row {
            Some((id, secret)) => self.key_of(id, &secret),
            None => self.create_receipt_key(KeyPurpose::Online, actor).await,
        }
    }

    /// The token made online for a receipt, if one was.
    pub async fn receipt_issue(&self, receipt: &str) -> StoreResult<Option<Issued>> {
        let row: Option<(String, Option<String>, Option<String>)> = on_backend!(self, pool => {
            sqlx::query_as("SELECT token, field_code, procedure FROM receipt_issues WHERE receipt = $1")
                .bind(receipt)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(token, field_code, procedure)| Issued { token, field_code, procedure }))
    }

    /// Records a token made online for a receipt and returns the one that stands: the first
    /// made, when two requests for the same dossier race.
    pub async fn record_receipt_issue(&self, receipt: &str, issued: &Issued) -> StoreResult<Issued> {
        let untagged = crate::domain::receipt::untagged(&issued.token)
            .map_err(|e| StoreError::Config(format!("a token to record: {e}")))?;
        write_transaction!(self, tx => {
            sqlx::query(
                "INSERT INTO receipt_issues (receipt, token, field_code, procedure, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (receipt) DO NOTHING",
            )
            .bind(receipt)
            .bind(&untagged)
            .bind(issued.field_code.as_deref())
            .bind(issued.procedure.as_deref())
            .bind(self.clock.now_ms())
            .execute(&mut *tx)
            .await?;
        });
        self.receipt_issue(receipt).await?.ok_or_else(|| StoreError::Config("a receipt issue vanished".into()))
    }

    /// The one-time key of the form a receipt rated with, if it has.
    pub async fn receipt_use_key(&self, receipt: &str) -> StoreResult<Option<String>> {
        Ok(on_backend!(self, pool => {
            sqlx::query_scalar("SELECT idempotency_key FROM receipt_uses WHERE receipt = $1")
                .bind(receipt)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Whether a receipt has rated.
    pub async fn receipt_used(&self, receipt: &str) -> StoreResult<bool> {
        let found: Option<String> = on_backend!(self, pool => {
            sqlx::query_scalar("SELECT receipt FROM receipt_uses WHERE receipt = $1")
                .bind(receipt)
                .fetch_optional(pool)
                .await?
        });
        Ok(found.is_some())
    }

    /// The stored responses per channel (`qr`, `receipt`, `demo`), as counted from the responses.
    pub async fn responses_per_channel(&self) -> StoreResult<Vec<(String, i64)>> {
        Ok(on_backend!(self, pool => {
            sqlx::query_as("SELECT channel, COUNT(*) FROM responses GROUP BY channel ORDER BY channel")
                .fetch_all(pool)
                .await?
        }))
    }
}
