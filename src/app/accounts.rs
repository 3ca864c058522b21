//! Accounts, API keys and the audit log, as administrators (and the console) manage them.
//! Which roles may come here is the route table's rule; passwords are hashed off the async
//! threads.

use super::{App, AppError, AppResult, Caller};
use crate::domain::account::{self, Account, Role};
use crate::domain::audit::{Action, AuditEntry, AuditFilter, Target};
use crate::domain::org::Unit;

/// What the accounts page lists.
#[derive(Clone, Debug)]
pub struct Accounts {
    pub accounts: Vec<Account>,
    /// (prefix, account name, revoked) of every API key, newest first.
    pub api_keys: Vec<(String, String, bool)>,
    /// The units an account may be bound to.
    pub units: Vec<Unit>,
}

/// A new API key: shown once, stored only as its hash.
#[derive(Clone, Debug)]
pub struct NewApiKey {
    pub key: String,
    pub prefix: String,
}

/// Hashes a password on a blocking thread (argon2 takes tens of milliseconds).
pub async fn hash_password(password: String) -> AppResult<String> {
    let hashed = tokio::task::spawn_blocking(move || account::hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    hashed.map_err(|e| AppError::Internal(anyhow::anyhow!(e)))
}

impl App {
    pub async fn accounts(&self, caller: &Caller) -> AppResult<Accounts> {
        Ok(Accounts {
            accounts: self.store.users().await?,
            api_keys: self.store.api_keys().await?,
            units: self.units(caller).await?,
        })
    }

    /// Creates an account; `password` for roles that sign in with one (checked by the door that
    /// read it). Refused when the name is taken or the unit unknown.
    pub async fn create_account(
        &self,
        caller: &Caller,
        name: &str,
        role: Role,
        unit: Option<&str>,
        password: Option<String>,
    ) -> AppResult<()> {
        let hash = match password {
            Some(password) => Some(hash_password(password).await?),
            None => None,
        };
        self.store.create_user(name, role, unit, hash.as_deref(), &caller.actor()).await?;
        Ok(())
    }

    /// Disables an account and revokes its sessions and keys.
    pub async fn disable_account(&self, caller: &Caller, name: &str) -> AppResult<()> {
        if self.store.disable_user(name, &caller.actor()).await? { Ok(()) } else { Err(AppError::NotFound) }
    }

    /// Sets an account's password (the console's reset).
    pub async fn set_password(&self, caller: &Caller, name: &str, password: String) -> AppResult<()> {
        self.store.login_record(name).await?.ok_or(AppError::NotFound)?;
        let hash = hash_password(password).await?;
        if self.store.set_password(name, &hash, &caller.actor()).await? { Ok(()) } else { Err(AppError::NotFound) }
    }

    /// A new API key for an enabled account.
    pub async fn create_api_key(&self, caller: &Caller, name: &str) -> AppResult<NewApiKey> {
        let key = account::new_api_key();
        let prefix: String = key.chars().take(11).collect();
        self.store.create_api_key(name, &account::token_hash(&key), &prefix, &caller.actor()).await?;
        Ok(NewApiKey { key, prefix })
    }

    pub async fn revoke_api_key(&self, caller: &Caller, prefix: &str) -> AppResult<()> {
        if self.store.revoke_api_key(prefix, &caller.actor()).await? { Ok(()) } else { Err(AppError::NotFound) }
    }

    pub async fn audit_entries(&self, filter: &AuditFilter) -> AppResult<Vec<AuditEntry>> {
        Ok(self.store.audit_entries(filter).await?)
    }

    /// Records that the caller read something personal that changed nothing (a page of an
    /// officer's figures, an export).
    pub(super) async fn record_reading(
        &self,
        caller: &Caller,
        action: Action,
        target: &Target,
        detail: &str,
    ) -> AppResult<()> {
        Ok(self.store.audit(&caller.actor(), action, target, Some(detail)).await?)
    }
}
