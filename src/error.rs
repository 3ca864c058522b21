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
    /// A change refused for a reason the caller can act on: each door words it.
    #[error("{0}")]
    Refused(crate::domain::refusal::Refusal),
    /// The database is unreachable or the queue is full: the user should try again.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
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
