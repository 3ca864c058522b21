//! The one writer of citizens' responses.
//!
//! Handlers send a validated [`NewResponse`] over a bounded queue with a reply channel. The
//! writer takes whatever is queued (up to `batch_max`), commits it in one transaction, and only
//! then answers each sender. A full queue is refused at once ([`SubmitError::Busy`]); a failed
//! commit is answered [`SubmitError::Unavailable`]: nothing uncommitted is ever acknowledged and
//! memory stays bounded. When the database refuses a group (a constraint), its responses are
//! retried one by one so that one bad response cannot take the others down with it; when the
//! database cannot be reached or written, the whole group is answered at once.

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{Store, WriteOutcome};
use crate::domain::response::NewResponse;

/// Why a response was not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error("the write queue is full")]
    Busy,
    #[error("the database could not commit")]
    Unavailable,
}

struct Job {
    response: NewResponse,
    reply: oneshot::Sender<Result<WriteOutcome, SubmitError>>,
}

/// The handle handlers use; cheap to clone. When every handle is dropped the writer drains its
/// queue, commits, and stops.
#[derive(Clone, Debug)]
pub struct Writer {
    queue: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts the writer task over `store`.
    pub fn start(store: Store, queue: usize, batch_max: usize) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(queue);
        let task = tokio::spawn(run(store, rx, batch_max));
        (Self { queue: tx }, task)
    }

    /// Stores one response; returns once its transaction has committed (or failed).
    pub async fn submit(&self, response: NewResponse) -> Result<WriteOutcome, SubmitError> {
        let (reply, answer) = oneshot::channel();
        self.queue.try_send(Job { response, reply }).map_err(|_| SubmitError::Busy)?;
        answer.await.unwrap_or(Err(SubmitError::Unavailable))
    }
}

async fn run(store: Store, mut rx: mpsc::Receiver<Job>, batch_max: usize) {
    let mut jobs = Vec::with_capacity(batch_max);
    while rx.recv_many(&mut jobs, batch_max).await > 0 {
        let (responses, replies): (Vec<_>, Vec<_>) = jobs.drain(..).map(|j| (j.response, j.reply)).unzip();
        match store.commit_group(&responses).await {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            // The database refused one statement (a constraint): find the response at fault by
            // committing one at a time, so that the others are still stored.
            Err(error) if responses.len() > 1 && error.is_refusal() => {
                tracing::warn!(%error, group = responses.len(), "group commit refused; retrying one by one");
                for (response, reply) in responses.iter().zip(replies) {
                    let answer = match store.commit_group(std::slice::from_ref(response)).await {
                        Ok(mut outcomes) => outcomes.pop().ok_or(SubmitError::Unavailable),
                        Err(error) => {
                            tracing::error!(%error, "could not commit a response");
                            Err(SubmitError::Unavailable)
                        }
                    };
                    let _ = reply.send(answer);
                }
            }
            // The database is gone, full or locked: retrying each would only keep citizens
            // waiting. Everyone in the group is told at once to send again.
            Err(error) => {
                tracing::error!(%error, group = responses.len(), "could not commit a group");
                for reply in replies {
                    let _ = reply.send(Err(SubmitError::Unavailable));
                }
            }
        }
    }
    tracing::info!("response writer stopped");
}
