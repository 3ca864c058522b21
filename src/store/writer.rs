//! The one writer of citizens' responses.
//!
//! Handlers send a validated [`NewResponse`] over a bounded queue with a reply channel. The
//! writer takes whatever is queued (up to `batch_max`), commits it in one transaction, and only
//! then answers each sender. A full queue is refused at once ([`SubmitError::Busy`]); a failed
//! commit is answered [`SubmitError::Unavailable`]: nothing uncommitted is ever acknowledged and
//! memory stays bounded. When the database refuses a group (a constraint), its responses are
//! retried one by one so that one bad response cannot take the others down with it; when the
//! database cannot be reached or written, the whole group is answered at once.
//!
//! After a failed commit the store closes the write connection, so the next group starts on a
//! new one; nothing else needs doing for service to resume when the fault clears. The writer
//! logs each change between committing and failing once, not once per group, and answers the
//! readiness check ([`Writer::probe`]) from a real commit.

use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{Store, StoreError, WriteOutcome};
use crate::domain::response::NewResponse;
use crate::telemetry::names;

/// Why a response was not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error("the write queue is full")]
    Busy,
    #[error("the database could not commit")]
    Unavailable,
}

/// What the writer is handed: a response to store, or a readiness probe to answer with a
/// commit.
enum Job {
    Store { response: NewResponse, reply: oneshot::Sender<Result<WriteOutcome, SubmitError>> },
    Probe { reply: oneshot::Sender<Result<(), String>> },
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
    /// Starts the writer task over `store`. It stops once every handle is dropped, or once
    /// `stop` says so (true), after committing what was queued before.
    pub fn start(
        store: Store,
        queue: usize,
        batch_max: usize,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(queue);
        let task = tokio::spawn(run(store, rx, batch_max, stop));
        (Self { queue: tx }, task)
    }

    /// Stores one response; returns once its transaction has committed (or failed).
    pub async fn submit(&self, response: NewResponse) -> Result<WriteOutcome, SubmitError> {
        let (reply, answer) = oneshot::channel();
        self.queue.try_send(Job::Store { response, reply }).map_err(|_| SubmitError::Busy)?;
        answer.await.unwrap_or(Err(SubmitError::Unavailable))
    }

    /// Whether the writer can commit now: answered by the next commit (a group's, or a one-row
    /// write when nothing else is queued). `Err` says why not, or that no commit came within
    /// `wait`.
    pub async fn probe(&self, wait: Duration) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        self.queue.try_send(Job::Probe { reply }).map_err(|_| "the write queue is full".to_owned())?;
        match tokio::time::timeout(wait, answer).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err("the writer has stopped".to_owned()),
            Err(_) => Err(format!("no commit within {} s", wait.as_secs_f32())),
        }
    }
}

/// Whether commits succeed, remembered so that a change is logged once.
#[derive(Debug, Default)]
struct Health {
    /// Since when commits have been failing, and how many groups were refused since.
    failing: Option<(Instant, u64)>,
}

impl Health {
    fn committed(&mut self) {
        if let Some((since, refused)) = self.failing.take() {
            tracing::warn!(after_s = since.elapsed().as_secs(), groups_refused = refused, "the writer commits again");
        }
    }

    fn failed(&mut self, error: &StoreError, group: usize) {
        match &mut self.failing {
            Some((_, refused)) => *refused += 1,
            None => {
                tracing::error!(
                    %error, group,
                    "the writer cannot commit: ratings are refused with \"send again\" until it can"
                );
                self.failing = Some((Instant::now(), 1));
            }
        }
    }
}

async fn run(
    store: Store,
    mut rx: mpsc::Receiver<Job>,
    batch_max: usize,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut health = Health::default();
    let mut jobs = Vec::with_capacity(batch_max);
    let mut watching = true;
    loop {
        let taken = tokio::select! {
            // Cancel-safe: what a cancelled call took stays queued.
            taken = rx.recv_many(&mut jobs, batch_max) => taken,
            // Told to stop while handles remain (a connection that never finished its request
            // holds one): nothing new is taken, what was queued is still committed.
            changed = stop.changed(), if watching => {
                match changed {
                    Ok(()) if *stop.borrow() => {
                        rx.close();
                        watching = false;
                    }
                    Ok(()) => {}
                    Err(_) => watching = false,
                }
                continue;
            }
        };
        if taken == 0 {
            break;
        }
        metrics::gauge!(names::QUEUE_DEPTH).set(rx.len() as f64);
        let mut responses = Vec::with_capacity(jobs.len());
        let mut replies = Vec::with_capacity(jobs.len());
        let mut probes = Vec::new();
        for job in jobs.drain(..) {
            match job {
                Job::Store { response, reply } => {
                    responses.push(response);
                    replies.push(reply);
                }
                Job::Probe { reply } => probes.push(reply),
            }
        }
        let batch_size = responses.len();
        let started = Instant::now();
        let committed =
            if responses.is_empty() { store.probe_write().await } else { commit(&store, responses, replies).await };
        match &committed {
            Ok(()) => {
                health.committed();
                if batch_size > 0 {
                    metrics::histogram!(names::GROUP_SIZE).record(batch_size as f64);
                    metrics::histogram!(names::COMMIT_SECONDS).record(started.elapsed().as_secs_f64());
                }
            }
            Err(error) => {
                metrics::counter!(names::COMMIT_FAILURES).increment(1);
                health.failed(error, batch_size);
            }
        }
        metrics::gauge!(names::QUEUE_DEPTH).set(rx.len() as f64);
        let answer = committed.map_err(|e| e.to_string());
        for reply in probes {
            let _ = reply.send(answer.clone());
        }
    }
    tracing::info!("response writer stopped");
}

/// Commits a group and answers its senders; `Err` when the database could not commit at all.
async fn commit(
    store: &Store,
    responses: Vec<NewResponse>,
    replies: Vec<oneshot::Sender<Result<WriteOutcome, SubmitError>>>,
) -> Result<(), StoreError> {
    match store.commit_group(&responses).await {
        Ok(outcomes) => {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
            Ok(())
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
            Ok(())
        }
        // The database is gone, full or locked: retrying each would only keep citizens
        // waiting. Everyone in the group is told at once to send again.
        Err(error) => {
            for reply in replies {
                let _ = reply.send(Err(SubmitError::Unavailable));
            }
            Err(error)
        }
    }
}
