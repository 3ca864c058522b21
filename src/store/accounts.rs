//! Accounts, sessions, API keys and the audit log.

use super::{AUDIT_SQL, Backend, Store, StoreError, StoreResult};
use crate::domain::account::{Account, Role};
use crate::domain::audit::{Action, Actor, AuditEntry, AuditFilter, Target};
use crate::domain::refusal::{Missing, Refusal};

/// What sign-in needs to know about an account.
#[derive(Clone, Debug)]
pub struct LoginRecord {
    pub id: i64,
    pub role: Role,
    pub password_hash: Option<String>,
    /// A second factor is enrolled.
    pub has_second_factor: bool,
    pub disabled: bool,
    pub locked_until: Option<i64>,
}

/// Who is calling, as the store knows them.
#[derive(Clone, Debug, PartialEq)]
pub struct CallerRecord {
    pub user_id: i64,
    pub name: String,
    pub role: Role,
    pub unit_id: Option<i64>,
}

/// What a new session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewSession<'a> {
    /// Signed in.
    Full,
    /// The password was right; the one-time code is still to come. `enrolling` is the secret
    /// being enrolled when the account has none yet.
    AwaitingCode { enrolling: Option<&'a str> },
}

/// A session waiting for its one-time code, and the secret to check it against.
#[derive(Clone, Debug)]
pub struct PendingSecondFactor {
    pub user_id: i64,
    pub name: String,
    pub secret: String,
    /// The account has no second factor yet: this secret is being enrolled.
    pub enrolling: bool,
}

fn role(text: &str) -> StoreResult<Role> {
    Role::parse(text).map_err(StoreError::Config)
}

impl Store {
    /// Creates an account bound to `unit_code` (none for admins). Refuses a name in use.
    pub async fn create_user(
        &self,
        name: &str,
        role: Role,
        unit_code: Option<&str>,
        password_hash: Option<&str>,
        actor: &str,
    ) -> StoreResult<i64> {
        let now = self.clock.now_ms();
        let after = serde_json::json!({ "name": name, "role": role.code(), "unit": unit_code }).to_string();
        Ok(write_transaction!(self, tx => {
            let unit_id: Option<i64> = match unit_code {
                Some(code) => Some(
                    sqlx::query_scalar("SELECT id FROM units WHERE code = $1")
                        .bind(code)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or_else(|| StoreError::Refused(Missing::Unit(code.to_string()).into()))?,
                ),
                None => None,
            };
            let taken: Option<i64> =
                sqlx::query_scalar("SELECT id FROM users WHERE name = $1").bind(name).fetch_optional(&mut *tx).await?;
            if taken.is_some() {
                return Err(StoreError::Refused(Refusal::AccountExists(name.to_string())));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO users (name, role, unit_id, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(name)
            .bind(role.code())
            .bind(unit_id)
            .bind(password_hash)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            audit!(tx, now, actor, Action::UserCreate, Target::User(name.to_string()), None::<String>, Some(after));
            id
        }))
    }

    /// Every account, by name.
    pub async fn users(&self) -> StoreResult<Vec<Account>> {
        type Raw = (i64, String, String, Option<String>, Option<i64>, i64);
        let rows: Vec<Raw> = on_backend!(self, pool => {
            sqlx::query_as(
                "SELECT u.id, u.name, u.role, n.code, u.disabled_at, u.created_at \
                 FROM users u LEFT JOIN units n ON n.id = u.unit_id",
            )
            .fetch_all(pool)
            .await?
        });
        let mut users = rows
            .into_iter()
            .map(|(id, name, r, unit_code, disabled_at, created_at)| {
                Ok(Account { id, name, role: role(&r)?, unit_code, disabled: disabled_at.is_some(), created_at })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        users.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(users)
    }

    /// Disables an account, ends its sessions and revokes its API keys. False if no such
    /// active account.
    pub async fn disable_user(&self, name: &str, actor: &str) -> StoreResult<bool> {
        let now = self.clock.now_ms();
        Ok(write_transaction!(self, tx => {
            let id: Option<i64> =
                sqlx::query_scalar("UPDATE users SET disabled_at = $2 WHERE name = $1 AND disabled_at IS NULL RETURNING id")
                    .bind(name)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(id) = id else { return Ok(false) };
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            audit!(tx, now, actor, Action::UserDisable, Target::User(name.to_string()), None::<String>, None::<String>);
            true
        }))
    }

    /// Replaces an account's password and ends its sessions. False if no such account.
    pub async fn set_password(&self, name: &str, password_hash: &str, actor: &str) -> StoreResult<bool> {
        let now = self.clock.now_ms();
        Ok(write_transaction!(self, tx => {
            let id: Option<i64> = sqlx::query_scalar(
                "UPDATE users SET password_hash = $2, failed_logins = 0, locked_until = NULL WHERE name = $1 RETURNING id",
            )
            .bind(name)
            .bind(password_hash)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(id) = id else { return Ok(false) };
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
            audit!(tx, now, actor, Action::UserPassword, Target::User(name.to_string()), None::<String>, None::<String>);
            true
        }))
    }

    /// What sign-in needs about the account called `name`.
    pub async fn login_record(&self, name: &str) -> StoreResult<Option<LoginRecord>> {
        type Raw = (i64, String, Option<String>, Option<i64>, Option<i64>, Option<String>);
        let row: Option<Raw> = on_backend!(self, pool => {
            sqlx::query_as(
                "SELECT id, role, password_hash, disabled_at, locked_until, totp_secret FROM users WHERE name = $1",
            )
                .bind(name)
                .fetch_optional(pool)
                .await?
        });
        row.map(|(id, r, password_hash, disabled_at, locked_until, totp)| {
            Ok(LoginRecord {
                id,
                role: role(&r)?,
                password_hash,
                has_second_factor: totp.is_some(),
                disabled: disabled_at.is_some(),
                locked_until,
            })
        })
        .transpose()
    }

    /// Counts a failed sign-in; after `limit` in a row the account is locked for `lock_ms`. An
    /// attempt while the lock holds counts for nothing: the lock ends on time whatever is sent
    /// meanwhile (the attempts themselves are limited per device at the door). After a lock
    /// has ended the count starts again.
    pub async fn login_failed(&self, user_id: i64, limit: i64, lock_ms: i64) -> StoreResult<()> {
        let now = self.clock.now_ms();
        write_transaction!(self, tx => {
            sqlx::query(
                "UPDATE users SET \
                    failed_logins = CASE WHEN locked_until IS NULL THEN failed_logins + 1 ELSE 1 END, \
                    locked_until = CASE \
                        WHEN (CASE WHEN locked_until IS NULL THEN failed_logins + 1 ELSE 1 END) >= $2 THEN $3 \
                        ELSE NULL END \
                 WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $4)",
            )
            .bind(user_id)
            .bind(limit)
            .bind(now + lock_ms)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// Starts a session after a right password, clearing the failure count.
    pub async fn start_session(&self, user_id: i64, token_hash: &str, kind: NewSession<'_>) -> StoreResult<()> {
        let now = self.clock.now_ms();
        let (stage, pending_secret) = match kind {
            NewSession::Full => ("full", None),
            NewSession::AwaitingCode { enrolling } => ("second-factor", enrolling),
        };
        write_transaction!(self, tx => {
            sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, stage, pending_secret) \
                 VALUES ($1, $2, $3, $3, $4, $5)",
            )
            .bind(token_hash)
            .bind(user_id)
            .bind(now)
            .bind(stage)
            .bind(pending_secret)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// A session waiting for its one-time code, if it is younger than `max_age_ms`.
    pub async fn pending_second_factor(
        &self,
        token_hash: &str,
        max_age_ms: i64,
    ) -> StoreResult<Option<PendingSecondFactor>> {
        type Raw = (i64, String, Option<String>, Option<String>, i64);
        let row: Option<Raw> = on_backend!(self, pool => {
            sqlx::query_as(
                "SELECT u.id, u.name, u.totp_secret, s.pending_secret, s.created_at \
                 FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.token_hash = $1 AND s.stage = 'second-factor' AND u.disabled_at IS NULL",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.filter(|r| self.clock.now_ms() - r.4 <= max_age_ms).and_then(|(user_id, name, secret, pending, _)| {
            let (secret, enrolling) = match (secret, pending) {
                (Some(secret), _) => (secret, false),
                (None, Some(pending)) => (pending, true),
                (None, None) => return None,
            };
            Some(PendingSecondFactor { user_id, name, secret, enrolling })
        }))
    }

    /// Turns a waiting session into a full one under a new token, once the code of `step` was
    /// right: each step is accepted once per account, so a code seen over a shoulder is spent.
    /// An enrolment stores the secret. False if the step was used before (nothing changes).
    pub async fn complete_second_factor(
        &self,
        pending_token_hash: &str,
        new_token_hash: &str,
        pending: &PendingSecondFactor,
        step: i64,
    ) -> StoreResult<bool> {
        let now = self.clock.now_ms();
        Ok(write_transaction!(self, tx => {
            let fresh = sqlx::query(
                "UPDATE users SET totp_last_step = $2, totp_secret = $3 \
                 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
            )
            .bind(pending.user_id)
            .bind(step)
            .bind(&pending.secret)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if fresh == 0 {
                return Ok(false);
            }
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(pending_token_hash).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at) VALUES ($1, $2, $3, $3)")
                .bind(new_token_hash)
                .bind(pending.user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            if pending.enrolling {
                audit!(tx, now, Actor::User(pending.name.clone()).to_string(), Action::UserSecondFactorEnrol, Target::User(pending.name.clone()), None::<String>, None::<String>);
            }
            true
        }))
    }

    /// Counts a wrong one-time code; after `limit` the waiting session is dropped.
    pub async fn second_factor_failed(&self, token_hash: &str, limit: i64) -> StoreResult<()> {
        write_transaction!(self, tx => {
            sqlx::query("UPDATE sessions SET attempts = attempts + 1 WHERE token_hash = $1")
                .bind(token_hash)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1 AND attempts >= $2")
                .bind(token_hash)
                .bind(limit)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// The caller behind a session, if it is still valid: not idle longer than `idle_ms`, not
    /// older than `absolute_ms`, its account enabled. A valid session's idle clock restarts; an
    /// expired one is deleted.
    pub async fn session_caller(
        &self,
        token_hash: &str,
        idle_ms: i64,
        absolute_ms: i64,
    ) -> StoreResult<Option<CallerRecord>> {
        let now = self.clock.now_ms();
        type Raw = (i64, String, String, Option<i64>, i64, i64);
        let row: Option<Raw> = on_backend!(self, pool => {
            sqlx::query_as(
                "SELECT u.id, u.name, u.role, u.unit_id, s.created_at, s.last_seen_at \
                 FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.token_hash = $1 AND s.stage = 'full' AND u.disabled_at IS NULL",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
        });
        let Some((user_id, name, r, unit_id, created_at, last_seen_at)) = row else { return Ok(None) };
        let valid = now - last_seen_at <= idle_ms && now - created_at <= absolute_ms;
        write_transaction!(self, tx => {
            let sql = if valid {
                "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1"
            } else {
                "DELETE FROM sessions WHERE token_hash = $1 AND $2 > 0"
            };
            sqlx::query(sql).bind(token_hash).bind(now).execute(&mut *tx).await?;
        });
        if !valid {
            return Ok(None);
        }
        Ok(Some(CallerRecord { user_id, name, role: role(&r)?, unit_id }))
    }

    /// Ends one session (sign-out).
    pub async fn end_session(&self, token_hash: &str) -> StoreResult<()> {
        write_transaction!(self, tx => {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Records a new API key of an enabled account. `prefix` is what lists show of it.
    pub async fn create_api_key(&self, user: &str, key_hash: &str, prefix: &str, actor: &str) -> StoreResult<()> {
        let now = self.clock.now_ms();
        write_transaction!(self, tx => {
            let user_id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE name = $1 AND disabled_at IS NULL")
                .bind(user)
                .fetch_optional(&mut *tx)
                .await?;
            let user_id = user_id.ok_or_else(|| StoreError::Refused(Missing::Account(user.to_string()).into()))?;
            sqlx::query("INSERT INTO api_keys (user_id, key_hash, prefix, created_at) VALUES ($1, $2, $3, $4)")
                .bind(user_id)
                .bind(key_hash)
                .bind(prefix)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            audit!(tx, now, actor, Action::ApiKeyCreate, Target::ApiKey(prefix.to_string()), None::<String>, Some(serde_json::json!({ "user": user }).to_string()));
        });
        Ok(())
    }

    /// Revokes the API key shown as `prefix`. False if no such active key.
    pub async fn revoke_api_key(&self, prefix: &str, actor: &str) -> StoreResult<bool> {
        let now = self.clock.now_ms();
        Ok(write_transaction!(self, tx => {
            let n = sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE prefix = $1 AND revoked_at IS NULL")
                .bind(prefix)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Ok(false);
            }
            audit!(tx, now, actor, Action::ApiKeyRevoke, Target::ApiKey(prefix.to_string()), None::<String>, None::<String>);
            true
        }))
    }

    /// Every API key as `(prefix, account, active)`, newest first.
    pub async fn api_keys(&self) -> StoreResult<Vec<(String, String, bool)>> {
        let rows: Vec<(String, String, Option<i64>)> = on_backend!(self, pool => {
            sqlx::query_as(
                "SELECT k.prefix, u.name, k.revoked_at FROM api_keys k JOIN users u ON u.id = k.user_id ORDER BY k.id DESC",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(prefix, user, revoked)| (prefix, user, revoked.is_none())).collect())
    }

    /// The caller behind an API key, if the key and its account are active.
    pub async fn api_caller(&self, key_hash: &str) -> StoreResult<Option<CallerRecord>> {
        type Raw = (i64, String, String, Option<i64>);
        let row: Option<Raw> = on_backend!(self, pool => {
            sqlx::query_as(
                "SELECT u.id, u.name, u.role, u.unit_id FROM api_keys k JOIN users u ON u.id = k.user_id \
                 WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND u.disabled_at IS NULL",
            )
            .bind(key_hash)
            .fetch_optional(pool)
            .await?
        });
        row.map(|(user_id, name, r, unit_id)| Ok(CallerRecord { user_id, name, role: role(&r)?, unit_id })).transpose()
    }

    /// The unit tree as `(id, parent, successor)`, for scopes.
    pub async fn unit_links(&self) -> StoreResult<Vec<(i64, Option<i64>, Option<i64>)>> {
        Ok(on_backend!(self, pool => {
            sqlx::query_as("SELECT id, parent_id, successor_id FROM units").fetch_all(pool).await?
        }))
    }

    /// Appends an audit entry on its own (for changes made outside a store transaction).
    pub async fn audit(&self, actor: &str, action: Action, target: &Target, after: Option<&str>) -> StoreResult<()> {
        write_transaction!(self, tx => {
            sqlx::query(AUDIT_SQL)
                .bind(self.clock.now_ms())
                .bind(actor)
                .bind(action.as_str())
                .bind(target.to_string())
                .bind(None::<String>)
                .bind(after)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Audit entries matching the filter, newest first.
    pub async fn audit_entries(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
        type Raw = (i64, i64, String, String, String, Option<String>, Option<String>);
        let rows: Vec<Raw> = on_backend!(self, pool => {
            sqlx::query_as(
                "SELECT id, at, actor, action, target, before, after FROM audit_log \
                 WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR action = $2) AND ($3 IS NULL OR target = $3) \
                 ORDER BY id DESC LIMIT $4",
            )
            .bind(filter.actor.as_deref())
            .bind(filter.action.as_deref())
            .bind(filter.target.as_deref())
            .bind(if filter.limit > 0 { filter.limit } else { 200 })
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, at, actor, action, target, before, after)| AuditEntry {
                id,
                at,
                actor,
                action,
                target,
                before,
                after,
            })
            .collect())
    }
}
