//! The write path of citizens' responses: the group commit the writer runs, on the SQLite file
//! this server opened; the readiness probe; and what is kept of free-text comments.

use std::collections::HashMap;

use super::{Backend, PROBE_ROOM_PAGES, Store, StoreError, StoreResult, batch, flags};
use crate::domain::chain::{self, Hash, LinkKind};
use crate::domain::clock;
use crate::domain::response::{NewResponse, RESPONSES_QUESTION};

/// How the writer settled one response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Stored now, with this id.
    Stored(i64),
    /// Its one-time key was stored before: the first response stands.
    Duplicate(i64),
    /// The collection point is closed (revoked, its unit closed, its officer unassigned) or
    /// never existed: nothing stored.
    PointClosed,
    /// Its receipt rated before, under another form: nothing stored.
    ReceiptUsed,
}

/// Whose comments [`Store::comments_of`] lists: the ratings given in any of `units` (all units
/// when `None`), and to the desk or officer when named.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommentsOf {
    pub units: Option<Vec<i64>>,
    pub desk: Option<i64>,
    pub officer: Option<i64>,
}

/// What the responses INSERT returns: id, key, unit, desk, officer, field.
type InsertedRow = (i64, String, i64, Option<i64>, Option<i64>, Option<i64>);
/// Where a stored response was attributed: unit, desk, officer, field (0 for none).
type Attribution = (i64, i64, i64, i64);
/// A row of the answer counts: day, attribution, channel, questionnaire, version, question, value.
pub(super) type CountKey<'a> = (i64, Attribution, &'a str, &'a str, i64, &'a str, i64);

/// Sums a group's stored responses into answer-count rows: one per answered (question, value),
/// and one per response under question '' (the number of responses).
fn count_group<'a>(
    responses: &[&'a NewResponse],
    attributed: &HashMap<String, Attribution>,
) -> std::collections::BTreeMap<CountKey<'a>, i64> {
    let mut counts = std::collections::BTreeMap::new();
    for r in responses {
        let Some(&at) = attributed.get(r.key.as_str()) else { continue };
        let day = clock::day_bucket(r.submitted_at_ms);
        let base = (day, at, r.channel.code(), r.questionnaire_id.as_str(), r.questionnaire_version);
        let mut add = |question: &'a str, value: i64| {
            let key = (base.0, base.1, base.2, base.3, base.4, question, value);
            *counts.entry(key).or_insert(0) += 1;
        };
        add(RESPONSES_QUESTION, 0);
        for (question, value) in &r.answers {
            add(question.as_str(), *value);
        }
    }
    counts
}

impl Store {
    /// Fails when the SQLite file at the configured path is no longer the one opened.
    pub(super) fn check_file(&self, after_commit: bool) -> StoreResult<()> {
        match &self.backend {
            Backend::Sqlite { file: Some(file), .. } => file.check(after_commit),
            _ => Ok(()),
        }
    }

    /// Every write transaction's BEGIN: on SQLite it takes the write lock at once. A deferred
    /// one that read first would find, when it came to write, that another process (the
    /// service, while `hailong import` runs; a second instance) had committed meanwhile, and fail
    /// at once with "database is locked" instead of waiting its turn.
    pub(super) fn begin_statement(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite { .. } => "BEGIN IMMEDIATE",
            Backend::Postgres { .. } => "BEGIN",
        }
    }

    /// Commits a one-row write the way the writer commits a group, for the readiness check:
    /// succeeds only when a commit can succeed now (the database reachable, writable, not
    /// full, and on SQLite still the file at the configured path).
    pub async fn probe_write(&self) -> StoreResult<()> {
        let now = self.clock.now_ms();
        write_transaction!(self, tx => {
            sqlx::query("UPDATE writer_probe SET at = $1 WHERE id = 1").bind(now).execute(&mut *tx).await?;
        });
        // Under a page cap the one-row update fits where a group of ratings would not: the
        // room left under the cap is checked too (the cap is set on every connection).
        if let Backend::Sqlite { read, .. } = &self.backend {
            let mut conn = read.acquire().await?;
            let mut pragma = async |name: &'static str| -> StoreResult<i64> {
                Ok(sqlx::query_scalar(name).fetch_one(&mut *conn).await?)
            };
            let (pages, cap, free) = (
                pragma("PRAGMA page_count").await?,
                pragma("PRAGMA max_page_count").await?,
                pragma("PRAGMA freelist_count").await?,
            );
            if cap - pages + free < PROBE_ROOM_PAGES {
                return Err(StoreError::Full(cap));
            }
        }
        Ok(())
    }

    /// How this backend writes statement parameters.
    pub(super) fn placeholders(&self) -> batch::Placeholders {
        match self.backend {
            Backend::Sqlite { .. } => batch::Placeholders::Positional,
            Backend::Postgres { .. } => batch::Placeholders::Numbered,
        }
    }

    /// Stores a group of responses in one transaction and says how each was settled. Everything
    /// that must be atomic with a response happens here: the one-time key (a repeat returns the
    /// first), the point still being open, and the attribution to the unit, desk and officer of
    /// the moment (the officer's assignment on the response's Vietnam date).
    pub async fn commit_group(&self, group: &[NewResponse]) -> StoreResult<Vec<WriteOutcome>> {
        // A key repeated inside the group: the first occurrence is the one written.
        let mut first_of: HashMap<&str, usize> = HashMap::with_capacity(group.len());
        let mut unique: Vec<&NewResponse> = group
            .iter()
            .enumerate()
            .filter(|(i, r)| *first_of.entry(r.key.as_str()).or_insert(*i) == *i)
            .map(|(_, r)| r)
            .collect();
        // In the order of their keys: two instances' groups that hold the same keys (a form sent
        // twice, to each instance) wait on each other's rows in one order, never in a cycle.
        unique.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
        let mut stored: HashMap<String, i64> = HashMap::with_capacity(unique.len());
        let mut earlier: HashMap<String, i64> = HashMap::new();
        let mut receipt_used: std::collections::HashSet<String> = std::collections::HashSet::new();
        let style = self.placeholders();
        let lock = self.head_lock();
        let first = self.lock_first();
        let now = self.clock.now_ms();
        write_transaction!(self, tx => {
            // A receipt rates once: its use is claimed first, by a unique key (concurrent groups,
            // of this instance or another, wait on each other's row); a use claimed under another
            // form's key means this one is not stored. The same form sent again is let through,
            // and its one-time key finds the response it stored.
            let mut claimed: Vec<&str> = Vec::new();
            // In the order of the receipts, for the same reason as the keys.
            let mut claiming: Vec<&NewResponse> = unique.iter().copied().filter(|r| r.receipt.is_some()).collect();
            claiming.sort_by(|a, b| a.receipt.cmp(&b.receipt));
            for r in claiming {
                let receipt = r.receipt.as_deref().unwrap_or_default();
                let won: Option<String> = sqlx::query_scalar(
                    "INSERT INTO receipt_uses (receipt, idempotency_key, used_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (receipt) DO NOTHING RETURNING receipt",
                )
                .bind(receipt)
                .bind(r.key.as_str())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                if won.is_some() {
                    claimed.push(receipt);
                    continue;
                }
                let holder: Option<String> =
                    sqlx::query_scalar("SELECT idempotency_key FROM receipt_uses WHERE receipt = $1")
                        .bind(receipt)
                        .fetch_optional(&mut *tx)
                        .await?;
                if holder.as_deref() != Some(r.key.as_str()) {
                    receipt_used.insert(r.key.as_str().to_owned());
                }
            }
            let insertable: Vec<&NewResponse> =
                unique.iter().copied().filter(|r| !receipt_used.contains(r.key.as_str())).collect();
            let mut attributed: HashMap<String, Attribution> = HashMap::with_capacity(unique.len());
            // The chain's links of what is stored, in the order of the ids given.
            let mut links: Vec<(LinkKind, i64, String, Hash)> = Vec::with_capacity(insertable.len());
            for (chunk, rows) in batch::split(&insertable, batch::RESPONSES_MAX) {
                let mut insert = sqlx::query_as::<_, InsertedRow>(batch::insert_responses(chunk.size, style));
                for r in rows {
                    let day = clock::vietnam_date(r.submitted_at_ms);
                    insert = insert
                        .bind(r.key.as_str())
                        .bind(r.point_id)
                        .bind(r.field.as_deref())
                        .bind(r.questionnaire_id.as_str())
                        .bind(r.questionnaire_version)
                        .bind(r.channel.code())
                        .bind(r.submitted_at_ms)
                        .bind(clock::date_bucket(day))
                        .bind(r.comment.as_ref().map(|c| c.as_str()))
                        .bind(clock::iso(day));
                }
                for _ in 0..chunk.padding() {
                    insert = bind_nulls!(insert; &str, i64, &str, &str, i64, &str, i64, i64, &str, &str);
                }
                let mut inserted = insert.fetch_all(&mut *tx).await?;
                inserted.sort_unstable_by_key(|row| row.0);
                for (id, key, unit, desk, officer, field) in inserted {
                    if let Some(r) = rows.iter().find(|r| r.key.as_str() == key) {
                        let content = chain::ResponseContent {
                            id,
                            key: &key,
                            point: r.point_id,
                            unit,
                            desk,
                            officer,
                            field,
                            questionnaire: r.questionnaire_id.as_str(),
                            version: r.questionnaire_version,
                            channel: r.channel.code(),
                            submitted_at: r.submitted_at_ms,
                            local_day: clock::date_bucket(clock::vietnam_date(r.submitted_at_ms)),
                            answers: r.answers.iter().map(|(q, v)| (q.as_str(), *v)).collect(),
                        };
                        let erasable = chain::erasable(r.comment.as_ref().map(|c| c.as_str()));
                        links.push((LinkKind::Response, id, content.canonical(), erasable));
                    }
                    stored.insert(key.clone(), id);
                    attributed.insert(key, (unit, desk.unwrap_or(0), officer.unwrap_or(0), field.unwrap_or(0)));
                }
            }

            // A receipt claimed for a response that was not stored (its point closed) is not used.
            for r in unique.iter().filter(|r| r.receipt.as_deref().is_some_and(|x| claimed.contains(&x))) {
                if !stored.contains_key(r.key.as_str()) {
                    sqlx::query("DELETE FROM receipt_uses WHERE receipt = $1 AND idempotency_key = $2")
                        .bind(r.receipt.as_deref())
                        .bind(r.key.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
            }

            let answers: Vec<(i64, &str, i64)> = unique
                .iter()
                .filter_map(|r| stored.get(r.key.as_str()).map(|id| (*id, r)))
                .flat_map(|(id, r)| r.answers.iter().map(move |(q, v)| (id, q.as_str(), *v)))
                .collect();
            write_answers!(tx, answers, style);
            // On PostgreSQL the rest follows the other writers and the moderators under the head's
            // row lock: everything so far touches only this group's own new rows (or waits on a
            // unique key), and what comes next reads what others committed (the flags' counters)
            // or adds to rows they share (the counts, the flags, the chain). Taken before the
            // counts, so a moderation (which locks the head first, then adjusts counts) never
            // waits on a writer that waits on it.
            if let Some(sql) = first {
                sqlx::query(sql).execute(&mut *tx).await?;
            }
            // The group's answers, summed per count key, added to the counts in one go.
            let counts: Vec<(CountKey<'_>, i64)> = count_group(&unique, &attributed).into_iter().collect();
            add_counts!(tx, counts, style);
            // Stuffing flags, over the open-QR responses just stored and those before them.
            let fresh: Vec<(i64, &NewResponse, Option<i64>, i64)> = unique
                .iter()
                .filter(|r| r.channel == crate::domain::response::Channel::Qr)
                .filter_map(|r| {
                    let id = *stored.get(r.key.as_str())?;
                    let at = attributed.get(r.key.as_str())?;
                    Some((id, *r, Some(at.2).filter(|o| *o != 0), at.0))
                })
                .collect();
            flag_group!(self, tx, fresh, style, links);
            // Last: the links of what was stored (the head, locked from the start on PostgreSQL).
            append_links!(tx, lock, links, style);

            // Not inserted: a key stored before (a retry), or a point that is closed.
            for r in insertable.iter().filter(|r| !stored.contains_key(r.key.as_str())) {
                let first: Option<i64> = sqlx::query_scalar("SELECT id FROM responses WHERE idempotency_key = $1")
                    .bind(r.key.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(id) = first {
                    earlier.insert(r.key.as_str().to_owned(), id);
                }
            }
        });
        Ok(group
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let key = r.key.as_str();
                match (stored.get(key), earlier.get(key)) {
                    (Some(id), _) if first_of.get(key) == Some(&i) => WriteOutcome::Stored(*id),
                    (Some(id), _) | (None, Some(id)) => WriteOutcome::Duplicate(*id),
                    (None, None) if receipt_used.contains(key) => WriteOutcome::ReceiptUsed,
                    (None, None) => WriteOutcome::PointClosed,
                }
            })
            .collect())
    }

    /// Erases the written comments of responses submitted before `before_ms`; the ratings stay.
    /// The purge is recorded (`comment_purges`, append-only) in the same transaction: `hailong
    /// verify` accepts an erased comment only under a recorded purge's cutoff.
    pub async fn purge_comments(&self, before_ms: i64) -> StoreResult<u64> {
        let now = self.clock.now_ms();
        let retention_days = i32::try_from((now - before_ms).max(0) / 86_400_000).unwrap_or(i32::MAX);
        let mut erased = 0;
        write_transaction!(self, tx => {
            // The day bound lets the index on local_day find the few old rows.
            erased = sqlx::query(
                "UPDATE responses SET comment = NULL \
                 WHERE local_day <= $2 AND submitted_at < $1 AND comment IS NOT NULL",
            )
            .bind(before_ms)
            .bind(clock::day_bucket(before_ms))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if erased > 0 {
                sqlx::query("INSERT INTO comment_purges (cutoff, retention_days, erased, at) VALUES ($1, $2, $3, $4)")
                    .bind(before_ms)
                    .bind(retention_days)
                    .bind(i64::try_from(erased).unwrap_or(i64::MAX))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
        });
        Ok(erased)
    }

    /// The purges recorded: cutoff, retention in days, comments erased, when; oldest first.
    pub async fn comment_purges(&self) -> StoreResult<Vec<(i64, i32, i64, i64)>> {
        Ok(on_backend!(self, pool => {
            sqlx::query_as("SELECT cutoff, retention_days, erased, at FROM comment_purges ORDER BY id")
                .fetch_all(pool)
                .await?
        }))
    }

    /// The written comments of the responses to `questionnaire_id` given on the Vietnam days
    /// `[from_day, to_day]` to `of`: at most `limit` of the newest, returned in the order of
    /// their text so that their order tells nothing of when they were written.
    pub async fn comments_of(
        &self,
        of: &CommentsOf,
        questionnaire_id: &str,
        from_day: i64,
        to_day: i64,
        limit: i64,
    ) -> StoreResult<Vec<String>> {
        // Ids come from the store itself, never from input: written into the text as numbers.
        let mut target = Vec::new();
        if let Some(units) = &of.units {
            if units.is_empty() {
                return Ok(Vec::new());
            }
            target.push(format!("unit_id IN ({})", units.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")));
        }
        target.extend(of.desk.map(|id| format!("desk_id = {id}")));
        target.extend(of.officer.map(|id| format!("officer_id = {id}")));
        let target = if target.is_empty() { String::from("TRUE") } else { target.join(" AND ") };
        let sql = format!(
            "SELECT comment FROM responses \
             WHERE comment IS NOT NULL AND local_day BETWEEN $1 AND $2 AND questionnaire_id = $3 AND {target} \
               AND NOT EXISTS (SELECT 1 FROM excluded_responses ex WHERE ex.response_id = responses.id) \
             ORDER BY id DESC LIMIT $4"
        );
        let mut comments: Vec<String> = on_backend!(self, pool => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .persistent(false)
                .bind(from_day)
                .bind(to_day)
                .bind(questionnaire_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        comments.sort_by(|a, b| crate::domain::text::compare(a, b));
        Ok(comments)
    }

    /// The newest written comments, newest first.
    pub async fn comments(&self, limit: i64) -> StoreResult<Vec<String>> {
        Ok(on_backend!(self, pool => {
            sqlx::query_scalar("SELECT comment FROM responses WHERE comment IS NOT NULL ORDER BY id DESC LIMIT $1")
                .bind(limit)
                .fetch_all(pool)
                .await?
        }))
    }

    /// All responses stored, for checks and the demo.
    pub async fn response_count(&self) -> StoreResult<i64> {
        Ok(on_backend!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM responses").fetch_one(pool).await?
        }))
    }
}
