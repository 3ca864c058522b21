//! One error type for every use case, by meaning: what is not there (or not for this caller),
//! what was refused and why, what cannot be answered now, and what broke. Each door says it in
//! its own way: the web maps it to a status and a page or JSON body in one place
//! (`web::error`), the command line prints it.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No such page, or a collection point that never existed.
    #[error("not found")]
    NotFound,
    /// A staff page's unit, desk, officer or questionnaire that does not exist within the
    /// caller's scope.
    #[error("no such record within the caller's scope")]
    NoSuchRecord,
    /// A collection point that was revoked.
    #[error("collection point revoked")]
    PointRevoked,
    #[error("too many submissions")]
    TooManyRequests,
    /// A receipt's token that does not rate: why, for the citizen's page.
    #[error("{0}")]
    Receipt(ReceiptProblem),
    /// A change refused for a reason the caller can act on: each door words it.
    #[error("{0}")]
    Refused(crate::domain::refusal::Refusal),
    /// The database is unreachable or the queue is full: the user should try again.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Why a receipt's token does not open a form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptProblem {
    /// Not a token, or not one signed by a key this service knows (changed, made up).
    #[error("the receipt token is not valid")]
    Invalid,
    /// Cut short: part of the address was lost.
    #[error("the receipt token is cut short")]
    Truncated,
    /// Older than the setting `receipt_valid_days` allows.
    #[error("the receipt token has expired")]
    Expired,
    /// Signed with a key that was revoked.
    #[error("the receipt token's key was revoked")]
    KeyRevoked,
    /// The receipt has rated already.
    #[error("this receipt has already been used to rate")]
    Used,
    /// The service has no `receipt_secret` setting: receipts are off.
    #[error("receipts are not set up on this service (the setting receipt_secret)")]
    NotConfigured,
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Refused(refusal) => Self::Refused(refusal),
            e if e.is_unavailable() => Self::Unavailable(e.to_string()),
            e => Self::Internal(e.into()),
        }
    }
}
