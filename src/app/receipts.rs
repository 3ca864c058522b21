//! Receipts: one dossier, one rating. The one-stop software asks for a token (online) or signs
//! one itself with a shared key (offline); the citizen's form opened from a token names the unit
//! and officer, and the writer keeps a receipt's rating once (`store::responses`).

use std::sync::Arc;

use time::Date;

use super::{App, AppError, AppResult, Caller};
use crate::domain::clock;
use crate::domain::point::{PointContext, Slug};
use crate::domain::receipt::{self, Claims, Key, Token, TokenError};
use crate::error::ReceiptProblem;
use crate::store::{Issued, KeyPurpose, ServedEntry};

/// What the one-stop software asks a token for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiptRequest {
    pub dossier_code: String,
    pub unit_code: String,
    pub officer_code: String,
    pub desk_code: Option<String>,
    pub field_code: Option<String>,
    pub procedure: Option<String>,
}

/// A request that cannot make a token: the field and why, for a 400 naming it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadField {
    pub field: &'static str,
    pub reason: String,
}

/// A token made for a receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedReceipt {
    pub token: String,
    /// The last day it rates (Vietnam date).
    pub last_day: Date,
}

/// The form a receipt's token opens.
#[derive(Clone, Debug)]
pub struct OpenReceipt {
    /// The officer's collection point, whose questionnaire the form shows.
    pub slug: Slug,
    pub point: Arc<PointContext>,
    /// The identity the once-only rule is kept on.
    pub receipt: String,
    /// The procedure and its field, named when the token was asked for online.
    pub procedure: Option<String>,
    pub field: Option<String>,
}

/// The longest procedure name kept.
const PROCEDURE_MAX: usize = 300;

impl App {
    fn receipt_secret(&self) -> AppResult<&[u8]> {
        self.settings
            .receipt_secret
            .as_deref()
            .map(str::as_bytes)
            .ok_or(AppError::Receipt(ReceiptProblem::NotConfigured))
    }

    /// A new key for the one-stop software (the console only): its id and secret, shown once.
    pub async fn create_receipt_key(&self, caller: &Caller) -> AppResult<Key> {
        Ok(self.store.create_receipt_key(KeyPurpose::Offline, &caller.actor()).await?)
    }

    /// Ends a receipt key. `NoSuchRecord` when there is no active key of that id.
    pub async fn revoke_receipt_key(&self, caller: &Caller, id: u32) -> AppResult<()> {
        match self.store.revoke_receipt_key(id, &caller.actor()).await? {
            true => Ok(()),
            false => Err(AppError::NoSuchRecord),
        }
    }

    /// The token for a dossier, made online: the unit and officer (and desk) must be within the
    /// caller's scope (else `NoSuchRecord`, 404), the officer at that unit and taking ratings.
    /// The same dossier asked again gets the same token.
    ///
    /// One function because it is one check after another, then one token.
    pub async fn issue_receipt(
        &self,
        caller: &Caller,
        request: &ReceiptRequest,
    ) -> AppResult<Result<IssuedReceipt, BadField>> {
        let secret = self.receipt_secret()?.to_vec();
        let bad = |field: &'static str, reason: String| Ok(Err(BadField { field, reason }));
        if let Err(reason) = receipt::check_dossier_code(&request.dossier_code) {
            return bad("dossier_code", reason);
        }
        let unit = self.unit(caller, &request.unit_code).await?;
        let officer = self.officer(caller, &request.officer_code).await?;
        if officer.unit_code != unit.code || officer.valid_to.is_some() {
            return bad(
                "officer_code",
                format!("the officer {} has no current assignment at {}", officer.code, unit.code),
            );
        }
        if let Some(desk) = &request.desk_code {
            let desk = self.desk(caller, desk).await?;
            if desk.unit_code != unit.code {
                return bad("desk_code", format!("the desk {} is not at {}", desk.code, unit.code));
            }
        }
        if let Some(field) = &request.field_code
            && !self.fields().await?.iter().any(|f| &f.code == field)
        {
            return bad("field_code", format!("no procedure field has the code {field}"));
        }
        let procedure = request.procedure.as_deref().map(str::trim).filter(|p| !p.is_empty());
        if procedure.is_some_and(|p| p.chars().count() > PROCEDURE_MAX || crate::domain::text::has_control(p)) {
            return bad(
                "procedure",
                format!(
                    "a procedure name is at most {PROCEDURE_MAX} characters, on one line, with no control or bidirectional formatting character"
                ),
            );
        }
        if self.officer_point(&officer.code).await?.is_none() {
            return bad("officer_code", format!("the officer {} has no collection point taking ratings", officer.code));
        }

        let key = self.store.online_receipt_key(&caller.actor()).await?;
        let dossier = key.dossier_hash(&request.dossier_code);
        let identity = receipt::receipt_id(&secret, key.id, &dossier);
        let issued = match self.store.receipt_issue(&identity).await? {
            Some(issued) => issued,
            None => {
                let mut nonce = [0u8; 4];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut nonce);
                let claims = Claims {
                    key_id: key.id,
                    issued: self.store.clock().today(),
                    nonce,
                    dossier,
                    unit: unit.code.clone(),
                    officer: officer.code.clone(),
                    desk: request.desk_code.clone(),
                };
                let token = key.sign(&claims).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
                let fresh =
                    Issued { token, field_code: request.field_code.clone(), procedure: procedure.map(str::to_owned) };
                self.store.record_receipt_issue(&identity, &fresh).await?
            }
        };
        // Kept without its tag: the key that signed it signs its claims again.
        let read =
            Token::parse(&issued.token).map_err(|e| AppError::Internal(anyhow::anyhow!("a stored token: {e}")))?;
        let signer = if read.claims.key_id == key.id {
            key
        } else {
            let stored = self.store.receipt_key(read.claims.key_id).await?;
            stored.map(|s| s.key).ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("the key {} of a stored token is gone", read.claims.key_id))
            })?
        };
        let token = signer.sign(&read.claims).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
        Ok(Ok(IssuedReceipt {
            last_day: receipt::last_day(read.claims.issued, self.settings.receipt_valid_days),
            token,
        }))
    }

    /// The officer's collection point, whose form a receipt opens, if it takes ratings today.
    async fn officer_point(&self, officer: &str) -> AppResult<Option<Slug>> {
        let Some(slug) = self.store.officer_point(officer).await? else { return Ok(None) };
        let (slug, point) = self.point_context(slug.as_str()).await?;
        Ok((!point.closed).then_some(slug))
    }

    /// The form a receipt's token opens, if it rates: read, its key known and not revoked, its
    /// tag right (compared in constant time), not expired, not used, and its officer taking
    /// ratings. Each failure is its own [`ReceiptProblem`].
    pub async fn open_receipt(&self, token: &str) -> AppResult<OpenReceipt> {
        let secret = self.receipt_secret()?.to_vec();
        let read = Token::parse(token).map_err(|e| {
            AppError::Receipt(match e {
                TokenError::Truncated => ReceiptProblem::Truncated,
                TokenError::Malformed | TokenError::Forged => ReceiptProblem::Invalid,
            })
        })?;
        let claims = &read.claims;
        let stored = self.store.receipt_key(claims.key_id).await?.ok_or(AppError::Receipt(ReceiptProblem::Invalid))?;
        stored.key.verify(&read).map_err(|_| AppError::Receipt(ReceiptProblem::Invalid))?;
        if stored.revoked {
            return Err(AppError::Receipt(ReceiptProblem::KeyRevoked));
        }
        let today = self.store.clock().today();
        if claims.issued > today.next_day().unwrap_or(today) {
            // Dated after tomorrow: not a receipt handed out yet.
            return Err(AppError::Receipt(ReceiptProblem::Invalid));
        }
        if today > receipt::last_day(claims.issued, self.settings.receipt_valid_days) {
            return Err(AppError::Receipt(ReceiptProblem::Expired));
        }
        // The unit and desk the token names are the officer's on the day it was issued: a key
        // cannot sign a rating for a unit the officer was not at.
        let issued = clock::iso(claims.issued);
        let on_issue_day = self.store.assignments_of(&claims.officer).await?.into_iter().find(|a| {
            a.valid_from.as_str() <= issued.as_str() && a.valid_to.as_deref().is_none_or(|to| issued.as_str() <= to)
        });
        let agrees = on_issue_day.is_some_and(|a| {
            a.unit_code == claims.unit && claims.desk.as_ref().is_none_or(|desk| a.desk_code.as_ref() == Some(desk))
        });
        if !agrees {
            return Err(AppError::Receipt(ReceiptProblem::Invalid));
        }
        let identity = receipt::receipt_id(&secret, claims.key_id, &claims.dossier);
        if self.store.receipt_used(&identity).await? {
            return Err(AppError::Receipt(ReceiptProblem::Used));
        }
        let slug = self.officer_point(&claims.officer).await?.ok_or(AppError::PointRevoked)?;
        let (slug, point) = self.open_point(slug.as_str()).await?;
        let issued = self.store.receipt_issue(&identity).await?;
        let (procedure, field) = issued.map_or((None, None), |i| (i.procedure, i.field_code));
        Ok(OpenReceipt { slug, point, receipt: identity, procedure, field })
    }

    /// The officer's point whose thank-you page a receipt's form sent again should see: when
    /// the receipt rated with the form whose one-time key is `key` (the same form sent again,
    /// its first answer lost). `None` for any other form, or a token that does not read.
    pub async fn receipt_used_by(&self, token: &str, key: &str) -> AppResult<Option<Slug>> {
        let secret = self.receipt_secret()?.to_vec();
        let Ok(read) = Token::parse(token) else { return Ok(None) };
        let Some(stored) = self.store.receipt_key(read.claims.key_id).await? else { return Ok(None) };
        if stored.key.verify(&read).is_err() {
            return Ok(None);
        }
        let identity = receipt::receipt_id(&secret, read.claims.key_id, &read.claims.dossier);
        if self.store.receipt_use_key(&identity).await?.as_deref() != Some(key) {
            return Ok(None);
        }
        Ok(self.store.officer_point(&read.claims.officer).await?)
    }

    /// Records dossiers served (the one-stop software's counts, for rated ÷ served): each unit
    /// and officer within the caller's scope (else `NoSuchRecord`, 404), the officer at that
    /// unit. All or nothing.
    pub async fn record_served(&self, caller: &Caller, entries: &[ServedEntry]) -> AppResult<Result<u64, BadField>> {
        let today = self.store.clock().today();
        for (i, e) in entries.iter().enumerate() {
            let bad = |field: &'static str, reason: String| {
                Ok(Err(BadField { field, reason: format!("entry {}: {reason}", i + 1) }))
            };
            let day = clock::iso(e.day);
            if e.day > today || e.day.year() < 2000 {
                return bad("date", format!("{day} is not a day that has passed"));
            }
            if e.dossiers > MAX_DOSSIERS_A_DAY {
                return bad("dossiers", format!("{} is more than {MAX_DOSSIERS_A_DAY} dossiers in a day", e.dossiers));
            }
            // The unit must be the caller's; the officer is judged by the assignment of the day
            // reported, not of today: an officer who has moved since is still the old unit's
            // for the days before, and not the new unit's.
            let unit = self.unit(caller, &e.unit).await?;
            if unit.valid_from.as_str() > day.as_str() || unit.valid_to.as_deref().is_some_and(|to| to < day.as_str()) {
                let until = unit.valid_to.as_deref().map_or(String::new(), |to| format!(" to {to}"));
                return bad(
                    "date",
                    format!("{} did not exist on {day} (it exists from {}{until})", unit.code, unit.valid_from),
                );
            }
            let assignments = self.store.assignments_of(&e.officer).await?;
            if assignments.is_empty() {
                return Err(AppError::NoSuchRecord);
            }
            let on_day = |a: &&crate::domain::org::Assignment| {
                a.valid_from.as_str() <= day.as_str() && a.valid_to.as_deref().is_none_or(|to| day.as_str() <= to)
            };
            match assignments.iter().find(on_day) {
                Some(a) if a.unit_code == unit.code => {}
                Some(_) => {
                    return bad("officer_code", format!("the officer {} was not at {} on {day}", e.officer, unit.code));
                }
                None => {
                    let first = assignments.iter().map(|a| a.valid_from.as_str()).min().unwrap_or_default();
                    return bad(
                        "date",
                        format!("the officer {} had no assignment on {day} (the first begins {first})", e.officer),
                    );
                }
            }
        }
        Ok(Ok(self.store.record_served(entries, &caller.actor()).await?))
    }
}

/// The most dossiers one officer may be reported to serve in a day.
pub const MAX_DOSSIERS_A_DAY: u64 = 10_000;
