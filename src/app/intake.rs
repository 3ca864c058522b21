//! The citizen's send: a validated response handed to the one writer, answered only once its
//! transaction has committed; and whether a commit can succeed now (readiness).

use std::time::Duration;

use super::{App, AppError, AppResult};
use crate::domain::point::Slug;
use crate::domain::response::NewResponse;
use crate::store::WriteOutcome;

/// What became of a response that was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Committed now, or earlier under the same one-time key: either way it is kept, once.
    Kept,
    /// Its point had closed (revoked, its unit merged, its officer unassigned): nothing stored.
    PointClosed,
    /// Its receipt had rated already: nothing stored.
    ReceiptUsed,
}

impl App {
    /// Hands `response` (rated at the point `slug`) to the writer and waits for its commit. A
    /// full queue or a failed commit is [`AppError::Unavailable`]: the citizen sends again,
    /// and the same key keeps it once.
    pub async fn send(&self, slug: &Slug, response: NewResponse) -> AppResult<Sent> {
        let writer = self.writer()?;
        let channel = response.channel.code();
        let outcome = writer.submit(response).await;
        let said = match &outcome {
            Ok(WriteOutcome::Stored(_)) => "stored",
            Ok(WriteOutcome::Duplicate(_)) => "duplicate",
            Ok(WriteOutcome::ReceiptUsed) => "receipt_used",
            Ok(WriteOutcome::PointClosed) => "point_closed",
            Err(crate::store::writer::SubmitError::Busy) => "busy",
            Err(crate::store::writer::SubmitError::Unavailable) => "unavailable",
        };
        count_submission(said, channel);
        match outcome {
            Ok(WriteOutcome::Stored(_) | WriteOutcome::Duplicate(_)) => Ok(Sent::Kept),
            Ok(WriteOutcome::ReceiptUsed) => Ok(Sent::ReceiptUsed),
            Ok(WriteOutcome::PointClosed) => {
                // Another instance, or the command line, closed it: what is cached is stale.
                self.forget_point(slug.as_str());
                Ok(Sent::PointClosed)
            }
            Err(error) => Err(AppError::Unavailable(error.to_string())),
        }
    }

    /// Whether a commit can succeed now, proved by one within `wait`; `Err` says why not.
    pub async fn ready(&self, wait: Duration) -> Result<(), String> {
        self.writer().map_err(|e| e.to_string())?.probe(wait).await
    }

    fn writer(&self) -> AppResult<&crate::store::writer::Writer> {
        self.writer.as_ref().ok_or_else(|| AppError::Internal(anyhow::anyhow!("this instance has no writer")))
    }
}

/// Counts a citizen's send by what became of it (and, when it was not kept, as a refusal).
pub fn count_submission(outcome: &'static str, channel: &'static str) {
    use crate::telemetry::names;
    metrics::counter!(names::SUBMISSIONS, "outcome" => outcome, "channel" => channel).increment(1);
    if !matches!(outcome, "stored" | "duplicate") {
        metrics::counter!(names::REFUSALS, "reason" => outcome).increment(1);
    }
}
