//! Moderation in the database: events (`moderation_events`, append-only, each a link of the hash
//! chain), the state they make (`excluded_responses`), and the counts following them in the same
//! transaction; the responses a moderator reviews; and the replay `hailong verify` runs.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::flags::id_list;
use super::{Backend, Store, StoreError, StoreResult, batch};
use crate::domain::audit::{Action, Target};
use crate::domain::chain::{self, EventContent, Hash, LinkKind};
use crate::domain::flags::{self, FlagKind};
use crate::domain::moderation;
use crate::domain::response::RESPONSES_QUESTION;

/// What a moderation did: the responses whose state changed, and those already in the state
/// asked for (no event).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Moderated {
    pub changed: Vec<i64>,
    pub unchanged: Vec<i64>,
}

/// A stored response as a moderator reviews it: never who gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub id: i64,
    pub at_ms: i64,
    pub unit_id: i64,
    pub unit_code: String,
    pub desk_code: Option<String>,
    pub officer_code: Option<String>,
    pub channel: String,
    pub flags: Vec<FlagKind>,
    pub excluded: bool,
}

/// Whose responses [`Store::responses_of`] lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListOf {
    Officer(i64),
    Unit(i64),
}

/// A response's attribution and day, to count it: id, unit, desk, officer, field, channel,
/// questionnaire, version, day.
type Counted = (i64, i64, Option<i64>, Option<i64>, Option<i64>, String, String, i64, i64);

impl Store {
    /// The unit each of these responses was attributed to; ids that name no response are absent.
    pub async fn response_units(&self, ids: &[i64]) -> StoreResult<HashMap<i64, i64>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!("SELECT id, unit_id FROM responses WHERE id IN ({})", id_list(ids.iter().copied()));
        let rows: Vec<(i64, i64)> = on_backend!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(pool).await?
        });
        Ok(rows.into_iter().collect())
    }

    /// Excludes the responses `ids` from the indices, or restores them, with `reason`, as
    /// `actor`: in one transaction, for each response whose state changes, an event (and its
    /// chain link), the new state, its counts taken out or put back, and an audit entry.
    pub async fn moderate(
        &self,
        ids: &[i64],
        action: moderation::Action,
        reason: &str,
        actor: &str,
    ) -> StoreResult<Moderated> {
        let reason = moderation::check_reason(reason).map_err(StoreError::Config)?;
        let wanted: BTreeSet<i64> = ids.iter().copied().collect();
        let list = id_list(wanted.iter().copied());
        let style = self.placeholders();
        let lock = self.head_lock();
        let now = self.clock.now_ms();
        let mut done = Moderated::default();
        if wanted.is_empty() {
            return Ok(done);
        }
        let first = self.lock_first();
        write_transaction!(self, tx => {
            // The state is read under the head's lock (PostgreSQL): a moderation and a writer's
            // flag pass, or two moderations, follow each other.
            if let Some(sql) = first {
                sqlx::query(sql).execute(&mut *tx).await?;
            }
            let sql = format!(
                "SELECT id, unit_id, desk_id, officer_id, field_id, channel, questionnaire_id, questionnaire_version, local_day \
                 FROM responses WHERE id IN ({list})"
            );
            let rows: Vec<Counted> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *tx).await?;
            let sql = format!("SELECT response_id FROM excluded_responses WHERE response_id IN ({list})");
            let excluded: HashSet<i64> =
                sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *tx).await?.into_iter().collect();
            let changing: Vec<&Counted> = rows
                .iter()
                .filter(|r| excluded.contains(&r.0) == (action == moderation::Action::Restore))
                .collect();
            done.changed = changing.iter().map(|r| r.0).collect();
            done.unchanged = rows.iter().map(|r| r.0).filter(|id| !done.changed.contains(id)).collect();
            if !changing.is_empty() {
                let changed = id_list(done.changed.iter().copied());
                let sql = format!("SELECT response_id, question_id, value FROM answers WHERE response_id IN ({changed})");
                let answers: Vec<(i64, String, i64)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *tx).await?;
                let mut by_response: HashMap<i64, Vec<(&str, i64)>> = HashMap::new();
                for (id, q, v) in &answers {
                    by_response.entry(*id).or_default().push((q.as_str(), *v));
                }
                let sign = if action == moderation::Action::Exclude { -1 } else { 1 };
                let mut sums: BTreeMap<super::responses::CountKey<'_>, i64> = BTreeMap::new();
                let mut links: Vec<(LinkKind, i64, String, Hash)> = Vec::with_capacity(changing.len());
                for (id, unit, desk, officer, field, channel, qid, version, day) in changing.iter().copied() {
                    let event: i64 = sqlx::query_scalar(
                        "INSERT INTO moderation_events (response_id, action, reason, actor, at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    )
                    .bind(*id)
                    .bind(action.code())
                    .bind(reason.as_str())
                    .bind(actor)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    let content = EventContent { id: event, response: *id, action: action.code(), reason: &reason, actor, at: now };
                    links.push((LinkKind::Event, event, content.canonical(), chain::erasable(None)));
                    let state = match action {
                        moderation::Action::Exclude => "INSERT INTO excluded_responses (response_id) VALUES ($1)",
                        moderation::Action::Restore => "DELETE FROM excluded_responses WHERE response_id = $1",
                    };
                    sqlx::query(state).bind(*id).execute(&mut *tx).await?;
                    let audit_action = match action {
                        moderation::Action::Exclude => Action::ResponseExclude,
                        moderation::Action::Restore => Action::ResponseRestore,
                    };
                    audit!(tx, now, actor, audit_action, Target::Response(*id), None::<String>, Some(reason.as_str()));
                    let at = (*unit, desk.unwrap_or(0), officer.unwrap_or(0), field.unwrap_or(0));
                    *sums.entry((*day, at, channel.as_str(), qid.as_str(), *version, RESPONSES_QUESTION, 0)).or_insert(0) += sign;
                    for (q, v) in by_response.get(id).into_iter().flatten() {
                        *sums.entry((*day, at, channel.as_str(), qid.as_str(), *version, *q, *v)).or_insert(0) += sign;
                    }
                }
                let counts: Vec<_> = sums.into_iter().collect();
                add_counts!(tx, counts, style);
                append_links!(tx, lock, links, style);
            }
        });
        Ok(done)
    }

    /// The responses of `of` on the Vietnam days `[from_day, to_day]`, newest first, at most
    /// `limit`; with `only_flagged`, those that carry a flag or were excluded.
    pub async fn responses_of(
        &self,
        of: ListOf,
        from_day: i64,
        to_day: i64,
        only_flagged: bool,
        limit: i64,
    ) -> StoreResult<Vec<Listed>> {
        let (column, id) = match of {
            ListOf::Officer(id) => ("officer_id", id),
            ListOf::Unit(id) => ("unit_id", id),
        };
        let flagged = if only_flagged {
            " AND (EXISTS (SELECT 1 FROM answers a WHERE a.response_id = r.id AND a.question_id = 'flag.any') \
               OR EXISTS (SELECT 1 FROM excluded_responses e WHERE e.response_id = r.id))"
        } else {
            ""
        };
        let sql = format!(
            "SELECT r.id, r.submitted_at, r.unit_id, u.code, d.code, o.code, r.channel, \
                    CASE WHEN EXISTS (SELECT 1 FROM excluded_responses e WHERE e.response_id = r.id) THEN 1 ELSE 0 END \
             FROM responses r JOIN units u ON u.id = r.unit_id LEFT JOIN desks d ON d.id = r.desk_id \
             LEFT JOIN officers o ON o.id = r.officer_id \
             WHERE r.{column} = $1 AND r.local_day BETWEEN $2 AND $3{flagged} ORDER BY r.submitted_at DESC, r.id DESC LIMIT $4"
        );
        type Row = (i64, i64, i64, String, Option<String>, Option<String>, String, i32);
        let rows: Vec<Row> = on_backend!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .persistent(false)
                .bind(id)
                .bind(from_day)
                .bind(to_day)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        let mut kinds: HashMap<i64, Vec<FlagKind>> = HashMap::new();
        if !rows.is_empty() {
            let sql = format!(
                "SELECT response_id, question_id FROM answers WHERE response_id IN ({}) \
                 AND question_id >= 'flag.' AND question_id < 'flag/'",
                id_list(rows.iter().map(|r| r.0))
            );
            let found: Vec<(i64, String)> = on_backend!(self, pool => {
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(pool).await?
            });
            for (id, q) in found {
                if let Some(kind) = flags::kind_of(&q) {
                    kinds.entry(id).or_default().push(kind);
                }
            }
        }
        Ok(rows
            .into_iter()
            .map(|(id, at_ms, unit_id, unit_code, desk_code, officer_code, channel, excluded)| {
                let mut flags = kinds.remove(&id).unwrap_or_default();
                flags.sort_unstable();
                Listed {
                    id,
                    at_ms,
                    unit_id,
                    unit_code,
                    desk_code,
                    officer_code,
                    channel,
                    flags,
                    excluded: excluded != 0,
                }
            })
            .collect())
    }

    /// Replays the moderation events and compares the state they make with the one kept; says
    /// the first difference (a response excluded without an event, or restored behind the
    /// events' back), or `None`.
    pub async fn check_moderation(&self) -> StoreResult<Option<String>> {
        let events: Vec<(i64, i64, String)> = on_backend!(self, pool => {
            sqlx::query_as("SELECT id, response_id, action FROM moderation_events ORDER BY id").fetch_all(pool).await?
        });
        let mut state: BTreeSet<i64> = BTreeSet::new();
        for (id, response, action) in &events {
            match moderation::Action::parse(action) {
                Some(moderation::Action::Exclude) => state.insert(*response),
                Some(moderation::Action::Restore) => state.remove(response),
                None => return Ok(Some(format!("moderation event {id} has an unknown action {action:?}"))),
            };
        }
        let kept: BTreeSet<i64> = on_backend!(self, pool => {
            sqlx::query_scalar::<_, i64>("SELECT response_id FROM excluded_responses").fetch_all(pool).await?
        })
        .into_iter()
        .collect();
        if let Some(id) = kept.difference(&state).next() {
            return Ok(Some(format!("response {id} is excluded, but no moderation event excluded it")));
        }
        if let Some(id) = state.difference(&kept).next() {
            return Ok(Some(format!("response {id} was excluded by a moderation event, but counts as not excluded")));
        }
        Ok(None)
    }

    /// The moderation events with these ids, by id: response, action, reason, actor, time.
    pub(super) async fn events_by_id(
        &self,
        ids: &[i64],
    ) -> StoreResult<HashMap<i64, (i64, String, String, String, i64)>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT id, response_id, action, reason, actor, at FROM moderation_events WHERE id IN ({})",
            id_list(ids.iter().copied())
        );
        let rows: Vec<(i64, i64, String, String, String, i64)> = on_backend!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(|(id, r, a, reason, actor, at)| (id, (r, a, reason, actor, at))).collect())
    }
}
