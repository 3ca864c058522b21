//! The hash chain in the database (`chain_links`, `chain_head`): linking the responses stored
//! before the chain existed, walking the chain to check it, and the checkpoints made of it.
//! The writer appends the links of new responses in its own transaction (`append_links!`).

use std::collections::HashMap;

use super::{Backend, Store, StoreError, StoreResult, batch};
use crate::domain::chain::{self, Hash, LinkKind, ResponseContent};

/// Responses linked per transaction when the chain is caught up, and links read per round of
/// a check.
const ROUND: i64 = 1000;

/// A stored response as the chain covers it: id, key, point, unit, desk, officer, field,
/// questionnaire, version, channel, instant, day, comment.
type ResponseRow =
    (i64, String, i64, i64, Option<i64>, Option<i64>, Option<i64>, String, i64, String, i64, i64, Option<String>);

/// The columns of [`ResponseRow`].
const RESPONSE_COLUMNS: &str = "id, idempotency_key, point_id, unit_id, desk_id, officer_id, field_id, \
     questionnaire_id, questionnaire_version, channel, submitted_at, local_day, comment";

/// The name in `data_fixes` of linking the responses stored before the chain.
const CHAIN_FIX: &str = "chain-1";
/// The repair that chains the flags given before flags were chained, once per database.
const FLAGS_FIX: &str = "chain-flags-1";

/// What a walk of the chain found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainCheck {
    /// Links walked, and of them responses and events.
    pub links: i64,
    pub responses: i64,
    pub events: i64,
    /// The head as recomputed from the records.
    pub head: Hash,
    /// The first thing found wrong, in words: the link it is at and what is wrong with it.
    pub broken: Option<String>,
    /// The recomputed hash at each place asked for (the checkpoints' seqs) that the chain reaches.
    pub at: HashMap<i64, Hash>,
    /// Responses whose derived answers are not what their own answers and their questionnaire
    /// give (the first few, in words), and how many there are.
    pub derived: Vec<String>,
    pub derived_wrong: u64,
    /// Flag events walked.
    pub flag_events: i64,
}

fn content_of<'a>(row: &'a ResponseRow, answers: &'a [(String, i64)]) -> ResponseContent<'a> {
    let (id, key, point, unit, desk, officer, field, questionnaire, version, channel, at, day, _) = row;
    ResponseContent {
        id: *id,
        key,
        point: *point,
        unit: *unit,
        desk: *desk,
        officer: *officer,
        field: *field,
        questionnaire,
        version: *version,
        channel,
        submitted_at: *at,
        local_day: *day,
        answers: answers.iter().map(|(q, v)| (q.as_str(), *v)).collect(),
    }
}

/// `ids` as an SQL list; ids come from the database itself, never from input.
fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

impl Store {
    /// How the writer reads the head it appends to: on PostgreSQL it locks the row until commit.
    pub(super) fn head_lock(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite { .. } => "SELECT seq, hash FROM chain_head WHERE id = 1",
            Backend::Postgres { .. } => "SELECT seq, hash FROM chain_head WHERE id = 1 FOR UPDATE",
        }
    }

    /// On PostgreSQL, the head's row lock, taken by every transaction that writes the chain's
    /// tables before its first read of what others share (the flags' counters, the state of an
    /// exclusion) and before it adds to shared rows (the counts): so the writers of several
    /// instances and the moderators follow each other from there to their commit, and never
    /// wait on each other in a cycle. A writer takes it after storing its group's own new rows
    /// (those need no order), a moderation and the one-off linking at their start. SQLite's
    /// writer holds the file's write lock from `BEGIN IMMEDIATE`: nothing to add.
    pub(super) fn lock_first(&self) -> Option<&'static str> {
        match self.backend {
            Backend::Sqlite { .. } => None,
            Backend::Postgres { .. } => Some("SELECT seq FROM chain_head WHERE id = 1 FOR UPDATE"),
        }
    }

    /// The chain's head as stored: its place and hash.
    pub async fn chain_head(&self) -> StoreResult<(i64, Hash)> {
        let (seq, hash): (i64, String) = on_backend!(self, pool => {
            sqlx::query_as("SELECT seq, hash FROM chain_head WHERE id = 1").fetch_one(pool).await?
        });
        let hash = chain::parse_hex(&hash)
            .ok_or_else(|| StoreError::Chain(format!("the chain head {hash:?} is not a hash")))?;
        Ok((seq, hash))
    }

    /// Links the responses stored before the chain existed, in the order of their ids, once per
    /// database: the repair is claimed in `data_fixes` in the same transaction, so that it never
    /// runs again (a response added behind the service's back later stays unlinked, and
    /// `hailong verify` names it). Returns how many were linked, or `None` when it was done
    /// before.
    pub async fn link_unlinked(&self) -> StoreResult<Option<u64>> {
        let style = self.placeholders();
        let lock = self.head_lock();
        let mut linked: Option<u64> = None;
        let first = self.lock_first();
        write_transaction!(self, tx => {
            if let Some(sql) = first {
                sqlx::query(sql).execute(&mut *tx).await?;
            }
            let claimed = claim_fix!(tx, CHAIN_FIX, self.clock.now_ms());
            if claimed {
                let mut after = 0i64;
                let mut count = 0u64;
                loop {
                    let sql = format!(
                        "SELECT {RESPONSE_COLUMNS} FROM responses r WHERE id > {after} AND NOT EXISTS \
                         (SELECT 1 FROM chain_links l WHERE l.kind = 'response' AND l.record_id = r.id) ORDER BY id LIMIT {ROUND}"
                    );
                    let rows: Vec<ResponseRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *tx).await?;
                    let Some(last) = rows.last() else { break };
                    after = last.0;
                    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
                    let sql = format!(
                        "SELECT response_id, question_id, value FROM answers WHERE response_id IN ({})",
                        id_list(&ids)
                    );
                    let answers: Vec<(i64, String, i64)> =
                        sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *tx).await?;
                    let mut by_response: HashMap<i64, Vec<(String, i64)>> = HashMap::new();
                    for (id, q, v) in answers {
                        by_response.entry(id).or_default().push((q, v));
                    }
                    let links: Vec<(LinkKind, i64, String, Hash)> = rows
                        .iter()
                        .map(|row| {
                            let answers = by_response.get(&row.0).map(Vec::as_slice).unwrap_or_default();
                            let content = content_of(row, answers).canonical();
                            (LinkKind::Response, row.0, content, chain::erasable(row.12.as_deref()))
                        })
                        .collect();
                    append_links!(tx, lock, links, style);
                    count += rows.len() as u64;
                }
                linked = Some(count);
            }
        });
        self.chain_old_flags().await?;
        Ok(linked)
    }

    /// Chains, once per database, the flags responses were given before flags were chained:
    /// one flag event per flagged response, with the kinds it has, dated now.
    async fn chain_old_flags(&self) -> StoreResult<()> {
        let style = self.placeholders();
        let lock = self.head_lock();
        let first = self.lock_first();
        write_transaction!(self, tx => {
            if let Some(sql) = first {
                sqlx::query(sql).execute(&mut *tx).await?;
            }
            let claimed = claim_fix!(tx, FLAGS_FIX, self.clock.now_ms());
            if claimed {
                let flagged: Vec<(i64, String)> = sqlx::query_as(
                    "SELECT response_id, question_id FROM answers WHERE question_id >= 'flag.' AND question_id < 'flag/' \
                     AND question_id <> 'flag.any' ORDER BY response_id, question_id",
                )
                .fetch_all(&mut *tx)
                .await?;
                let mut kinds: std::collections::BTreeMap<i64, Vec<String>> = std::collections::BTreeMap::new();
                for (response, question) in flagged {
                    if let Some(kind) = crate::domain::flags::kind_of(&question) {
                        kinds.entry(response).or_default().push(kind.code().to_owned());
                    }
                }
                let at = self.clock.now_ms();
                let mut links: Vec<(LinkKind, i64, String, Hash)> = Vec::with_capacity(kinds.len());
                for (response, mut codes) in kinds {
                    codes.sort_unstable();
                    let codes = codes.join(",");
                    let id: i64 = sqlx::query_scalar("INSERT INTO flag_events (response_id, kinds, at) VALUES ($1, $2, $3) RETURNING id")
                        .bind(response)
                        .bind(codes.as_str())
                        .bind(at)
                        .fetch_one(&mut *tx)
                        .await?;
                    let content = chain::FlagEventContent { id, response, kinds: &codes, at };
                    links.push((LinkKind::Flags, id, content.canonical(), chain::erasable(None)));
                }
                append_links!(tx, lock, links, style);
            }
        });
        Ok(())
    }

    /// The flag events of `ids`: id → (response, kinds, at).
    async fn flag_events_by_id(&self, ids: &[i64]) -> StoreResult<HashMap<i64, (i64, String, i64)>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!("SELECT id, response_id, kinds, at FROM flag_events WHERE id IN ({})", id_list(ids));
        let rows: Vec<(i64, i64, String, i64)> = on_backend!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(|(id, r, k, at)| (id, (r, k, at))).collect())
    }

    /// Responses whose flag answers are not the union of their flag events' kinds (the first
    /// few), and how many.
    async fn check_flags(&self) -> StoreResult<(u64, Vec<String>)> {
        type PerResponse = Vec<(i64, String)>;
        let (events, answers): (PerResponse, PerResponse) = on_backend!(self, pool => {
            (
                sqlx::query_as("SELECT response_id, kinds FROM flag_events").fetch_all(pool).await?,
                sqlx::query_as(
                    "SELECT response_id, question_id FROM answers WHERE question_id >= 'flag.' AND question_id < 'flag/' \
                     AND question_id <> 'flag.any'",
                )
                .fetch_all(pool)
                .await?,
            )
        });
        let mut given: std::collections::BTreeMap<i64, std::collections::BTreeSet<String>> = Default::default();
        for (response, kinds) in events {
            given.entry(response).or_default().extend(kinds.split(',').filter(|k| !k.is_empty()).map(str::to_owned));
        }
        let mut held: std::collections::BTreeMap<i64, std::collections::BTreeSet<String>> = Default::default();
        for (response, question) in answers {
            held.entry(response).or_default().insert(question.trim_start_matches("flag.").to_owned());
        }
        let mut wrong = 0u64;
        let mut first = Vec::new();
        for response in given.keys().chain(held.keys()).collect::<std::collections::BTreeSet<_>>() {
            let (g, h) = (given.get(response), held.get(response));
            if g != h {
                wrong += 1;
                if first.len() < 10 {
                    let say = |s: Option<&std::collections::BTreeSet<String>>| {
                        s.map_or_else(|| "none".to_owned(), |s| s.iter().cloned().collect::<Vec<_>>().join(","))
                    };
                    first.push(format!("response {response}: flags {} held, {} given", say(h), say(g)));
                }
            }
        }
        Ok((wrong, first))
    }

    /// Walks the whole chain from the first link, recomputing each link from its record, and
    /// says what it found: the first broken link, the recomputed head, the hashes at `places`,
    /// and (as broken) responses that no link covers or a head that is not the chain's end.
    /// The derived answers of each response are recomputed from its own answers (which the
    /// chain covers) under its questionnaire in `registry`.
    pub async fn check_chain(
        &self,
        places: &[i64],
        registry: &crate::domain::questionnaire::Registry,
        progress: &dyn Fn(i64),
    ) -> StoreResult<ChainCheck> {
        let mut check = ChainCheck {
            links: 0,
            responses: 0,
            events: 0,
            head: chain::GENESIS,
            broken: None,
            at: HashMap::new(),
            derived: Vec::new(),
            derived_wrong: 0,
            flag_events: 0,
        };
        let mut after = 0i64;
        let mut caught_up_at: Option<i64> = None;
        'walk: loop {
            let links: Vec<(i64, String, i64, String, String)> = on_backend!(self, pool => {
                sqlx::query_as(
                    "SELECT seq, kind, record_id, erasable, hash FROM chain_links WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .bind(after)
                .bind(ROUND)
                .fetch_all(pool)
                .await?
            });
            if links.is_empty() {
                // A running service may have appended since the walk began: walk on to its head
                // as it is now, once (a head ahead of the links that stays so is for the check
                // after the walk to name).
                let (seq, _) = self.chain_head().await?;
                if seq > check.links && caught_up_at != Some(check.links) {
                    caught_up_at = Some(check.links);
                    continue;
                }
                break;
            }
            let ids: Vec<i64> = links.iter().filter(|l| l.1 == LinkKind::Response.code()).map(|l| l.2).collect();
            let (rows, answers) = self.responses_by_id(&ids).await?;
            let event_ids: Vec<i64> = links.iter().filter(|l| l.1 == LinkKind::Event.code()).map(|l| l.2).collect();
            let events = self.events_by_id(&event_ids).await?;
            let flag_ids: Vec<i64> = links.iter().filter(|l| l.1 == LinkKind::Flags.code()).map(|l| l.2).collect();
            let flag_events = self.flag_events_by_id(&flag_ids).await?;
            for (seq, kind, record, erasable, hash) in &links {
                after = *seq;
                let here = format!("link {seq} ({kind} {record})");
                if *seq != check.links + 1 {
                    check.broken = Some(format!(
                        "link {} is missing: after link {} comes link {seq}: links were removed",
                        check.links + 1,
                        check.links
                    ));
                    break 'walk;
                }
                let Some(stored_erasable) = chain::parse_hex(erasable) else {
                    check.broken = Some(format!("{here}: its erasable hash {erasable:?} is not a hash"));
                    break 'walk;
                };
                let content = match LinkKind::parse(kind) {
                    Some(LinkKind::Response) => {
                        let Some(row) = rows.get(record) else {
                            check.broken =
                                Some(format!("{here}: response {record} is not in the database: it was removed"));
                            break 'walk;
                        };
                        if let Some(comment) = row.12.as_deref()
                            && chain::erasable(Some(comment)) != stored_erasable
                        {
                            check.broken = Some(format!("{here}: the comment of response {record} was changed"));
                            break 'walk;
                        }
                        check.responses += 1;
                        let all = answers.get(record).map(Vec::as_slice).unwrap_or_default();
                        let content = content_of(row, all);
                        let problem = match registry.version(content.questionnaire, content.version) {
                            Some(q) => crate::domain::flags::derived_problem(q, all),
                            None => Some(format!(
                                "its questionnaire {}@{} is not stored",
                                content.questionnaire, content.version
                            )),
                        };
                        if let Some(problem) = problem {
                            check.derived_wrong += 1;
                            if check.derived.len() < 10 {
                                check.derived.push(format!("response {record}: {problem}"));
                            }
                        }
                        content.canonical()
                    }
                    Some(LinkKind::Event) => {
                        let Some((response, action, reason, actor, at)) = events.get(record) else {
                            check.broken = Some(format!(
                                "{here}: moderation event {record} is not in the database: it was removed"
                            ));
                            break 'walk;
                        };
                        check.events += 1;
                        chain::EventContent { id: *record, response: *response, action, reason, actor, at: *at }
                            .canonical()
                    }
                    Some(LinkKind::Flags) => {
                        let Some((response, kinds, at)) = flag_events.get(record) else {
                            check.broken =
                                Some(format!("{here}: flag event {record} is not in the database: it was removed"));
                            break 'walk;
                        };
                        check.flag_events += 1;
                        chain::FlagEventContent { id: *record, response: *response, kinds, at: *at }.canonical()
                    }
                    None => {
                        check.broken = Some(format!("{here}: this program cannot read links of kind {kind:?}"));
                        break 'walk;
                    }
                };
                let kind = LinkKind::parse(kind).unwrap_or(LinkKind::Response);
                let computed = chain::link(&check.head, *seq, kind, &content, &stored_erasable);
                if chain::parse_hex(hash) != Some(computed) {
                    check.broken = Some(format!(
                        "{here} does not match its record and the link before it: the record, or the chain, was changed"
                    ));
                    break 'walk;
                }
                check.head = computed;
                check.links = *seq;
                if places.contains(seq) {
                    check.at.insert(*seq, computed);
                }
            }
            progress(check.links);
        }
        if check.broken.is_none() {
            let (seq, hash) = self.chain_head().await?;
            if seq != check.links || hash != check.head {
                check.broken = Some(format!(
                    "the stored head (link {seq}, {}) is not the chain's last link (link {}, {}): the head or the chain's end was changed",
                    chain::hex(&hash),
                    check.links,
                    chain::hex(&check.head)
                ));
            }
        }
        if check.broken.is_none() {
            let unlinked: Vec<i64> = on_backend!(self, pool => {
                sqlx::query_scalar(
                    "SELECT id FROM responses r WHERE NOT EXISTS \
                     (SELECT 1 FROM chain_links l WHERE l.kind = 'response' AND l.record_id = r.id) ORDER BY id LIMIT 5",
                )
                .fetch_all(pool)
                .await?
            });
            if let Some(first) = unlinked.first() {
                check.broken = Some(format!(
                    "response {first} is in no link of the chain{}: it was added outside the service",
                    if unlinked.len() > 1 { " (nor are others after it)" } else { "" }
                ));
            }
        }
        if check.broken.is_none() {
            let unlinked: Option<i64> = on_backend!(self, pool => {
                sqlx::query_scalar(
                    "SELECT id FROM moderation_events m WHERE NOT EXISTS \
                     (SELECT 1 FROM chain_links l WHERE l.kind = 'event' AND l.record_id = m.id) ORDER BY id LIMIT 1",
                )
                .fetch_optional(pool)
                .await?
            });
            if let Some(id) = unlinked {
                check.broken =
                    Some(format!("moderation event {id} is in no link of the chain: it was added outside the service"));
            }
        }
        if check.broken.is_none() {
            let unlinked: Option<i64> = on_backend!(self, pool => {
                sqlx::query_scalar(
                    "SELECT id FROM flag_events f WHERE NOT EXISTS \
                     (SELECT 1 FROM chain_links l WHERE l.kind = 'flags' AND l.record_id = f.id) ORDER BY id LIMIT 1",
                )
                .fetch_optional(pool)
                .await?
            });
            if let Some(id) = unlinked {
                check.broken =
                    Some(format!("flag event {id} is in no link of the chain: it was added outside the service"));
            }
        }
        // Flags are what the chained flag events gave, no more and no fewer.
        let (wrong, first) = self.check_flags().await?;
        check.derived_wrong += wrong;
        for problem in first {
            if check.derived.len() < 10 {
                check.derived.push(problem);
            }
        }
        if places.contains(&0) {
            check.at.insert(0, chain::GENESIS);
        }
        Ok(check)
    }

    /// Responses whose comment is gone though their link says they had one, rated at or after
    /// `since` (Unix ms; every one when `None`): id and instant, the first five by id. The
    /// retention purge erases comments older than the retention only, so these were erased by
    /// something else. (The link's record of the comment is checked by the walk of the chain.)
    pub async fn erased_comments(&self, since: Option<i64>) -> StoreResult<Vec<(i64, i64)>> {
        let none = chain::hex(&chain::erasable(None));
        Ok(on_backend!(self, pool => {
            sqlx::query_as(
                "SELECT r.id, r.submitted_at FROM responses r \
                 JOIN chain_links l ON l.kind = 'response' AND l.record_id = r.id \
                 WHERE r.comment IS NULL AND l.erasable <> $1 AND r.submitted_at >= $2 ORDER BY r.id LIMIT 5",
            )
            .bind(none)
            .bind(since.unwrap_or(i64::MIN))
            .fetch_all(pool)
            .await?
        }))
    }

    /// The responses with these ids and their answers, by id.
    async fn responses_by_id(
        &self,
        ids: &[i64],
    ) -> StoreResult<(HashMap<i64, ResponseRow>, HashMap<i64, Vec<(String, i64)>>)> {
        if ids.is_empty() {
            return Ok((HashMap::new(), HashMap::new()));
        }
        let list = id_list(ids);
        let sql = format!("SELECT {RESPONSE_COLUMNS} FROM responses WHERE id IN ({list})");
        let rows: Vec<ResponseRow> = on_backend!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(pool).await?
        });
        let sql = format!("SELECT response_id, question_id, value FROM answers WHERE response_id IN ({list})");
        let answers: Vec<(i64, String, i64)> = on_backend!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(pool).await?
        });
        let mut by_response: HashMap<i64, Vec<(String, i64)>> = HashMap::new();
        for (id, q, v) in answers {
            by_response.entry(id).or_default().push((q, v));
        }
        Ok((rows.into_iter().map(|r| (r.0, r)).collect(), by_response))
    }

    /// Keeps a checkpoint the service made (its file is what counts; this row shows it on the
    /// admin pages).
    pub async fn record_checkpoint(&self, checkpoint: &chain::Checkpoint, made_at_ms: i64) -> StoreResult<()> {
        write_transaction!(self, tx => {
            sqlx::query("INSERT INTO checkpoints (seq, head, made_at, body) VALUES ($1, $2, $3, $4)")
                .bind(checkpoint.seq)
                .bind(&checkpoint.head)
                .bind(made_at_ms)
                .bind(checkpoint.to_text())
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// The newest checkpoint kept, with when it was made.
    pub async fn latest_checkpoint(&self) -> StoreResult<Option<(chain::Checkpoint, i64)>> {
        let row: Option<(String, i64)> = on_backend!(self, pool => {
            sqlx::query_as("SELECT body, made_at FROM checkpoints ORDER BY made_at DESC, id DESC LIMIT 1")
                .fetch_optional(pool)
                .await?
        });
        Ok(row.and_then(|(body, at)| serde_json::from_str(&body).ok().map(|c| (c, at))))
    }

    /// Responses and events among the first `upto` links.
    pub async fn chain_tally(&self, upto: i64) -> StoreResult<(i64, i64)> {
        let rows: Vec<(String, i64)> = on_backend!(self, pool => {
            sqlx::query_as("SELECT kind, COUNT(*) FROM chain_links WHERE seq <= $1 GROUP BY kind")
                .bind(upto)
                .fetch_all(pool)
                .await?
        });
        let get = |kind: LinkKind| rows.iter().find(|(k, _)| k == kind.code()).map_or(0, |(_, n)| *n);
        Ok((get(LinkKind::Response), get(LinkKind::Event)))
    }
}

impl Store {
    /// Keeps the signed manifest of an export.
    pub async fn record_manifest(&self, manifest: &chain::Manifest, made_at_ms: i64) -> StoreResult<()> {
        write_transaction!(self, tx => {
            sqlx::query("INSERT INTO export_manifests (sha256, made_at, body) VALUES ($1, $2, $3)")
                .bind(&manifest.sha256)
                .bind(made_at_ms)
                .bind(manifest.to_text())
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// The manifests of exports whose file had this SHA-256 (hex), oldest first.
    pub async fn manifests_of(&self, sha256: &str) -> StoreResult<Vec<String>> {
        Ok(on_backend!(self, pool => {
            sqlx::query_scalar("SELECT body FROM export_manifests WHERE sha256 = $1 ORDER BY id")
                .bind(sha256)
                .fetch_all(pool)
                .await?
        }))
    }
}
