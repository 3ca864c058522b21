//! Who is calling: sessions (a password, and for admins and Home Affairs a one-time code) and
//! API keys. Sessions live in the database, so several instances share them; only a token's
//! SHA-256 is stored. Carrying the token (a cookie, a header) is the web's part.

use super::{App, AppError, AppResult, Caller};
use crate::domain::account::{self, Role, Scope};
use crate::store::{CallerRecord, NewSession, PendingSecondFactor};

/// A session ends after this long without a request...
pub const IDLE_MS: i64 = 30 * 60 * 1000;
/// ...and in any case this long after sign-in.
pub const ABSOLUTE_MS: i64 = 12 * 3600 * 1000;
/// How long the one-time code may take after the password, and how many tries it gets.
pub const SECOND_FACTOR_MS: i64 = 5 * 60 * 1000;
const SECOND_FACTOR_ATTEMPTS: i64 = 5;
/// Failed sign-ins in a row that lock an account, and for how long.
const LOCK_AFTER: i64 = 5;
const LOCK_MS: i64 = 15 * 60 * 1000;

/// How a sign-in with a password went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignIn {
    /// Wrong name or password, a disabled or locked account: one answer for all.
    Refused,
    /// Signed in with this new session token.
    Done { token: String },
    /// The password was right; the one-time code is still to come on this token.
    AwaitingCode { token: String },
}

impl App {
    async fn caller_of(&self, record: CallerRecord) -> AppResult<Caller> {
        let scope = match (record.role, record.unit_id) {
            (Role::Admin, _) => Scope::All,
            (_, Some(unit)) => Scope::subtree(unit, &self.store.unit_links().await?),
            (_, None) => Scope::Units(Default::default()),
        };
        Ok(Caller::account(record.name, record.role, scope))
    }

    /// The caller of a session token; `None` when unknown, expired or not yet past its code.
    pub async fn session_caller(&self, token: &str) -> AppResult<Option<Caller>> {
        match self.store.session_caller(&account::token_hash(token), IDLE_MS, ABSOLUTE_MS).await? {
            Some(record) => Ok(Some(self.caller_of(record).await?)),
            None => Ok(None),
        }
    }

    /// The caller of an API key; `None` when unknown or revoked.
    pub async fn api_caller(&self, key: &str) -> AppResult<Option<Caller>> {
        match self.store.api_caller(&account::token_hash(key)).await? {
            Some(record) => Ok(Some(self.caller_of(record).await?)),
            None => Ok(None),
        }
    }

    /// Signs in with a password. Every failure is the same answer and costs the same time,
    /// whether the name exists or not; failures in a row lock the account for a while (a
    /// sign-in during the lock neither counts nor extends it).
    pub async fn sign_in(&self, name: &str, password: String) -> AppResult<SignIn> {
        let record = self.store.login_record(name.trim()).await?;
        let usable = record.as_ref().filter(|r| {
            !r.disabled
                && r.role.has_password()
                && r.locked_until.is_none_or(|until| until <= self.store.clock().now_ms())
        });
        let stored = usable.and_then(|r| r.password_hash.clone()).unwrap_or_else(|| account::dummy_hash().to_owned());
        let matches = tokio::task::spawn_blocking(move || account::verify_password(&password, &stored))
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        let Some(user) = usable.filter(|_| matches) else {
            if let Some(r) = &record {
                self.store.login_failed(r.id, LOCK_AFTER, LOCK_MS).await?;
            }
            tracing::info!("sign-in refused");
            return Ok(SignIn::Refused);
        };
        // A new token at every sign-in: whatever cookie the browser had before is worthless.
        let token = account::new_session_token();
        if user.role.needs_second_factor() {
            let enrol = (!user.has_second_factor).then(account::new_totp_secret);
            let awaiting = NewSession::AwaitingCode { enrolling: enrol.as_deref() };
            self.store.start_session(user.id, &account::token_hash(&token), awaiting).await?;
            return Ok(SignIn::AwaitingCode { token });
        }
        self.store.start_session(user.id, &account::token_hash(&token), NewSession::Full).await?;
        Ok(SignIn::Done { token })
    }

    /// The session of `token` waiting for its one-time code, if any.
    pub async fn pending_second_factor(&self, token: &str) -> AppResult<Option<PendingSecondFactor>> {
        Ok(self.store.pending_second_factor(&account::token_hash(token), SECOND_FACTOR_MS).await?)
    }

    /// Checks the one-time code of a pending session: on success the session is replaced by a
    /// full one under a new token, which is returned; a wrong or reused code counts a failure.
    pub async fn second_factor(
        &self,
        token: &str,
        pending: &PendingSecondFactor,
        code: &str,
    ) -> AppResult<Option<String>> {
        let token_hash = account::token_hash(token);
        let now_secs = (self.store.clock().now_ms() / 1000) as u64;
        let step = account::totp_step(&pending.secret, code, now_secs).and_then(|s| i64::try_from(s).ok());
        let fresh = account::new_session_token();
        let done = match step {
            Some(step) => {
                self.store.complete_second_factor(&token_hash, &account::token_hash(&fresh), pending, step).await?
            }
            None => false,
        };
        if done {
            return Ok(Some(fresh));
        }
        self.store.second_factor_failed(&token_hash, SECOND_FACTOR_ATTEMPTS).await?;
        Ok(None)
    }

    /// Ends a session.
    pub async fn sign_out(&self, token: &str) -> AppResult<()> {
        Ok(self.store.end_session(&account::token_hash(token)).await?)
    }
}
