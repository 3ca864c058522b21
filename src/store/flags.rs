//! Stuffing flags in the writer's transaction (`flag_group!`): the device hashes of the open-QR
//! responses just stored, a look back over the responses at the same points and officers (and
//! from the same devices that day), the rules (`domain::flags::assess`), and the flags that are
//! new stored as derived answers and counted, for earlier responses too.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::responses::CountKey;
use crate::domain::flags::{self, FlagKind, Rules, Seen};
use crate::domain::{chain, clock};

/// An open-QR response the writer just stored, as the flag pass needs it.
#[derive(Clone, Debug)]
pub(super) struct Fresh {
    pub id: i64,
    pub point: i64,
    pub officer: Option<i64>,
    pub at_ms: i64,
    pub device: Option<String>,
}

/// A response read back for the rules: id, point, officer, unit code, instant, one-time key,
/// device hash, unit, desk, field, channel, questionnaire, version, day.
pub(super) type Looked = (
    i64,
    i64,
    Option<i64>,
    String,
    i64,
    String,
    Option<String>,
    i64,
    Option<i64>,
    Option<i64>,
    String,
    String,
    i64,
    i64,
);

/// The columns of [`Looked`], for `responses r JOIN units u LEFT JOIN response_devices d`.
pub(super) const LOOKED_COLUMNS: &str = "r.id, r.point_id, r.officer_id, u.code, r.submitted_at, r.idempotency_key, \
     d.device, r.unit_id, r.desk_id, r.field_id, r.channel, r.questionnaire_id, r.questionnaire_version, r.local_day";

/// A new day's salt: 32 random bytes in hexadecimal.
pub(super) fn new_salt() -> String {
    chain::hex(&rand::random::<[u8; 32]>())
}

/// `ids` as an SQL list (ids come from the database, never from input).
pub(super) fn id_list(ids: impl IntoIterator<Item = i64>) -> String {
    ids.into_iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

/// A count row with owned texts: day, (unit, desk, officer, field), channel, questionnaire,
/// version, question, value.
type OwnedCountKey = (i64, (i64, i64, i64, i64), String, String, i64, String, i64);

/// What the flag pass writes: derived answers `(response, id, value)` and the counts they add.
#[derive(Debug, Default)]
pub(super) struct FlagWrites {
    pub answers: Vec<(i64, String, i64)>,
    pub counts: BTreeMap<OwnedCountKey, i64>,
}

impl FlagWrites {
    /// The flags given now, per response: `(response, kinds sorted and comma-separated)`.
    pub fn given(&self) -> Vec<(i64, String)> {
        let mut by: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
        for (id, question, _) in &self.answers {
            if let Some(kind) = crate::domain::flags::kind_of(question) {
                by.entry(*id).or_default().push(kind.code());
            }
        }
        by.into_iter()
            .map(|(id, mut kinds)| {
                kinds.sort_unstable();
                (id, kinds.join(","))
            })
            .collect()
    }

    /// The counts as the writer's count rows.
    pub fn count_rows(&self) -> Vec<(CountKey<'_>, i64)> {
        self.counts
            .iter()
            .map(|((day, at, channel, qid, version, question, value), n)| {
                ((*day, *at, channel.as_str(), qid.as_str(), *version, question.as_str(), *value), *n)
            })
            .collect()
    }
}

/// Applies the rules to what was looked up, and says what to write: for each response the rules
/// flag, the flags it does not have yet (`flag.KIND`), and on its first flag `flag.any` and a
/// `flagged.` copy of each of its answers; counted unless the response is excluded.
pub(super) fn plan(
    looked: &[Looked],
    answers: &[(i64, String, i64)],
    excluded: &HashSet<i64>,
    fresh: &HashSet<i64>,
    contiguous: &std::collections::BTreeSet<i64>,
    rules: &Rules,
) -> FlagWrites {
    let mut by_response: HashMap<i64, Vec<(&str, i64)>> = HashMap::new();
    for (id, q, v) in answers {
        by_response.entry(*id).or_default().push((q.as_str(), *v));
    }
    let seen: Vec<Seen> = looked
        .iter()
        .filter(|l| l.10 == "qr")
        .map(|l| {
            let mut own: Vec<(&str, i64)> = by_response
                .get(&l.0)
                .map(|a| a.iter().copied().filter(|(q, _)| chain::is_own_answer(q)).collect())
                .unwrap_or_default();
            own.sort_unstable();
            let drawn = crate::domain::response::IdempotencyKey::parse(&l.5).and_then(|k| k.drawn_at_ms());
            Seen {
                id: l.0,
                point: l.1,
                officer: l.2,
                unit_code: l.3.clone(),
                at_ms: l.4,
                drawn_ms: drawn,
                device: l.6.clone(),
                in_a_row: contiguous.contains(&l.0),
                answers: own.iter().map(|(q, v)| format!("{q}={v}")).collect::<Vec<_>>().join(","),
            }
        })
        .collect();
    let found = flags::assess(&seen, fresh, rules);
    let by_id: HashMap<i64, &Looked> = looked.iter().map(|l| (l.0, l)).collect();
    let mut writes = FlagWrites::default();
    for (id, kinds) in found {
        let Some(l) = by_id.get(&id) else { continue };
        let had: Vec<&str> = by_response.get(&id).map(|a| a.iter().map(|(q, _)| *q).collect()).unwrap_or_default();
        let mut rows: Vec<(String, i64)> = kinds
            .iter()
            .map(|k: &FlagKind| flags::answer_id(*k))
            .filter(|q| !had.contains(&q.as_str()))
            .map(|q| (q, 1))
            .collect();
        if rows.is_empty() {
            continue;
        }
        if !had.contains(&flags::ANY_FLAG) {
            rows.push((flags::ANY_FLAG.to_owned(), 1));
            for (q, v) in by_response.get(&id).into_iter().flatten() {
                if !q.starts_with("flag.") && !q.starts_with(flags::FLAGGED_PREFIX) {
                    rows.push((format!("{}{q}", flags::FLAGGED_PREFIX), *v));
                }
            }
        }
        let (_, _, officer, _, _, _, _, unit, desk, field, channel, qid, version, day) = *l;
        let at = (*unit, desk.unwrap_or(0), officer.unwrap_or(0), field.unwrap_or(0));
        for (q, v) in rows {
            if !excluded.contains(&id) {
                let key = (*day, at, channel.clone(), qid.clone(), *version, q.clone(), v);
                *writes.counts.entry(key).or_insert(0) += 1;
            }
            writes.answers.push((id, q, v));
        }
    }
    writes
}

/// Most parts of one look-back statement (SQLite takes at most 500 terms in a compound SELECT).
const LOOK_BACK_PARTS: usize = 200;

/// The look back as statements of index seeks, each a `UNION` of at most [`LOOK_BACK_PARTS`]
/// parts: first those at the group's points (per point the newest
/// `max(burst_count, identical_count)` since the look back began, plus the group's own: the
/// responses in a row there), then those for its officers (the newest `burst_count` within the
/// burst window) and devices (per device at a point that day, the newest `device_count`). Every
/// number in them is the writer's own (ids, instants, counts) and the device hashes are its own
/// hexadecimal: written into the text.
pub(super) fn look_back_sql(
    fresh: &[Fresh],
    devices: &[(i64, i64, String)],
    rules: &Rules,
) -> (Vec<String>, Vec<String>) {
    let first = fresh.iter().map(|f| f.at_ms).min().unwrap_or(0);
    let (lo_point, lo_officer) = (first - rules.point_lookback_ms(), first - rules.officer_lookback_ms());
    let mut per_point: BTreeMap<i64, usize> = BTreeMap::new();
    let mut per_officer: BTreeMap<i64, usize> = BTreeMap::new();
    for f in fresh {
        *per_point.entry(f.point).or_default() += 1;
        if let Some(o) = f.officer {
            *per_officer.entry(o).or_default() += 1;
        }
    }
    let point_cap = rules.burst_count.max(rules.identical_count) as usize;
    let mut in_a_row: Vec<String> =
        vec![format!("SELECT id FROM responses WHERE id IN ({})", id_list(fresh.iter().map(|f| f.id)))];
    if point_cap > 0 {
        for (point, n) in &per_point {
            in_a_row.push(format!(
                "SELECT id FROM (SELECT id FROM responses WHERE point_id = {point} AND submitted_at >= {lo_point} \
                 ORDER BY submitted_at DESC LIMIT {}) p{point}",
                point_cap + n
            ));
        }
    }
    let mut others: Vec<String> = Vec::new();
    if rules.burst_count > 0 {
        for (officer, n) in &per_officer {
            others.push(format!(
                "SELECT id FROM (SELECT id FROM responses WHERE officer_id = {officer} AND submitted_at >= {lo_officer} \
                 ORDER BY submitted_at DESC LIMIT {}) o{officer}",
                rules.burst_count as usize + n
            ));
        }
    }
    if rules.device_count > 0 {
        let point_of: HashMap<i64, i64> = fresh.iter().map(|f| (f.id, f.point)).collect();
        let mut seen: BTreeMap<(i64, &str, i64), usize> = BTreeMap::new();
        for (id, day, hash) in devices {
            *seen.entry((*day, hash.as_str(), point_of.get(id).copied().unwrap_or(0))).or_default() += 1;
        }
        for (i, ((day, hash, point), n)) in seen.iter().enumerate() {
            others.push(format!(
                "SELECT response_id FROM (SELECT d.response_id FROM response_devices d JOIN responses r ON r.id = d.response_id \
                 WHERE d.local_day = {day} AND d.device = '{hash}' AND r.point_id = {point} \
                 ORDER BY d.response_id DESC LIMIT {}) d{i}",
                rules.device_count as usize + n
            ));
        }
    }
    let statements = |parts: Vec<String>| parts.chunks(LOOK_BACK_PARTS).map(|c| c.join(" UNION ")).collect::<Vec<_>>();
    (statements(in_a_row), statements(others))
}

/// The Vietnam day a device hash belongs to.
pub(super) fn day_of(at_ms: i64) -> i64 {
    clock::day_bucket(at_ms)
}

/// Runs the flag pass for `$fresh` (a `Vec<Fresh>`) in the transaction `$tx`; each response
/// given flags gets a flag event, whose chain link is pushed onto `$links`.
macro_rules! flag_group {
    ($store:expr, $tx:expr, $fresh:expr, $style:expr, $links:expr) => {{
        let rules = &*$store.flag_rules;
        if !$fresh.is_empty() && rules.any() {
            // The devices, under their day's salt (made by the first writer to need it).
            let mut salts: std::collections::HashMap<i64, String> = std::collections::HashMap::new();
            let mut devices: Vec<(i64, i64, String)> = Vec::new();
            // Devices are kept only for their rule.
            for f in $fresh.iter().filter(|_| rules.device_count > 0) {
                let Some(device) = f.device.as_deref() else { continue };
                let day = flags::day_of(f.at_ms);
                if !salts.contains_key(&day) {
                    sqlx::query("INSERT INTO device_salts (local_day, salt) VALUES ($1, $2) ON CONFLICT (local_day) DO NOTHING")
                        .bind(day)
                        .bind(flags::new_salt())
                        .execute(&mut *$tx)
                        .await?;
                    let salt: String = sqlx::query_scalar("SELECT salt FROM device_salts WHERE local_day = $1")
                        .bind(day)
                        .fetch_one(&mut *$tx)
                        .await?;
                    salts.insert(day, salt);
                }
                let hash = crate::domain::flags::keyed_hash(salts.get(&day).map(String::as_str).unwrap_or_default(), device);
                devices.push((f.id, day, hash));
            }
            for (chunk, rows) in batch::split(&devices, batch::DEVICES_MAX) {
                let mut insert = sqlx::query(batch::insert_devices(chunk.size, $style));
                for (id, day, hash) in rows {
                    insert = insert.bind(*id).bind(*day).bind(hash.as_str());
                }
                for _ in 0..chunk.padding() {
                    insert = bind_nulls!(insert; i64, i64, &str);
                }
                insert.execute(&mut *$tx).await?;
            }

            // The look back: the newest responses at the same points and for the same officers,
            // and from the same devices that day, each bounded in time and in number (a burst is
            // seen in its last `burst_count`; earlier ones were flagged when they came), so that a
            // flood at one point costs each group no more than a few index seeks.
            let (in_a_row, others) = flags::look_back_sql(&$fresh, &devices, rules);
            let mut contiguous: std::collections::BTreeSet<i64> = std::collections::BTreeSet::new();
            for sql in in_a_row {
                let found: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *$tx).await?;
                contiguous.extend(found);
            }
            let mut ids = contiguous.clone();
            for sql in others {
                let found: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *$tx).await?;
                ids.extend(found);
            }
            let list = flags::id_list(ids.iter().copied());
            let sql = format!(
                "SELECT {} FROM responses r JOIN units u ON u.id = r.unit_id \
                 LEFT JOIN response_devices d ON d.response_id = r.id WHERE r.id IN ({list})",
                flags::LOOKED_COLUMNS
            );
            let looked: Vec<flags::Looked> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *$tx).await?;
            let sql = format!("SELECT response_id, question_id, value FROM answers WHERE response_id IN ({list})");
            let answers: Vec<(i64, String, i64)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *$tx).await?;
            let sql = format!("SELECT response_id FROM excluded_responses WHERE response_id IN ({list})");
            let excluded: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *$tx).await?;
            let fresh_ids: std::collections::HashSet<i64> = $fresh.iter().map(|f| f.id).collect();
            let writes = flags::plan(&looked, &answers, &excluded.into_iter().collect(), &fresh_ids, &contiguous, rules);
            let rows: Vec<(i64, &str, i64)> = writes.answers.iter().map(|(id, q, v)| (*id, q.as_str(), *v)).collect();
            write_answers!($tx, rows, $style);
            let counts = writes.count_rows();
            add_counts!($tx, counts, $style);
            let at = $store.clock.now_ms();
            for (response, kinds) in writes.given() {
                let id: i64 = sqlx::query_scalar("INSERT INTO flag_events (response_id, kinds, at) VALUES ($1, $2, $3) RETURNING id")
                    .bind(response)
                    .bind(kinds.as_str())
                    .bind(at)
                    .fetch_one(&mut *$tx)
                    .await?;
                let content = crate::domain::chain::FlagEventContent { id, response, kinds: &kinds, at };
                $links.push((crate::domain::chain::LinkKind::Flags, id, content.canonical(), crate::domain::chain::erasable(None)));
            }
        }
    }};
}

impl super::Store {
    /// Forgets the device hashes of the days before `day` (a `YYYYMMDD` bucket) and those days'
    /// salts: afterwards nothing can tell which address a stored hash was, nor match a new one
    /// with it. Returns the hashes forgotten.
    pub async fn forget_devices(&self, day: i64) -> super::StoreResult<u64> {
        Ok(write_transaction!(self, tx => {
            let forgotten = sqlx::query("DELETE FROM response_devices WHERE local_day < $1")
                .bind(day)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query("DELETE FROM device_salts WHERE local_day < $1").bind(day).execute(&mut *tx).await?;
            forgotten
        }))
    }
}
