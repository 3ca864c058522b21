//! Stuffing flags in the writer's transaction (`flag_group!`): the device hashes of the open-QR
//! responses just stored, the rules' counters for their points, officers and devices (one row
//! per window step, day or run: a rating costs the same whatever the thresholds), the rules
//! (`domain::flags::assess`), the earlier responses a new one shows to belong with it (read back
//! once, when a burst, device or run is first seen), and the flags that are new stored as
//! derived answers and counted, for earlier responses too.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::responses::CountKey;
use crate::domain::flags::{self, FlagKind, Scope};
use crate::domain::{chain, clock};

/// A flagged response read back for its counts: id, point, officer, unit, desk, field, channel,
/// questionnaire, version, day.
pub(super) type Looked = (i64, i64, Option<i64>, i64, Option<i64>, Option<i64>, String, String, i64, i64);

/// The columns of [`Looked`], for `responses r`.
pub(super) const LOOKED_COLUMNS: &str = "r.id, r.point_id, r.officer_id, r.unit_id, r.desk_id, r.field_id, r.channel, \
     r.questionnaire_id, r.questionnaire_version, r.local_day";

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

/// What the flag pass writes: derived answers `(response, id, value)`, the counts they add, and
/// the responses flagged for the first time (their days no longer count towards the usual day).
#[derive(Debug, Default)]
pub(super) struct FlagWrites {
    pub answers: Vec<(i64, String, i64)>,
    pub counts: BTreeMap<OwnedCountKey, i64>,
    pub first_flagged: Vec<(Scope, i64, i64)>,
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

/// Says what to write for the flags `found`: for each response, the flags it does not have yet
/// (`flag.KIND`), and on its first flag `flag.any` and a `flagged.` copy of each of its answers;
/// counted unless the response is excluded.
pub(super) fn plan(
    found: &BTreeMap<i64, Vec<FlagKind>>,
    looked: &[Looked],
    answers: &[(i64, String, i64)],
    excluded: &HashSet<i64>,
) -> FlagWrites {
    let mut by_response: HashMap<i64, Vec<(&str, i64)>> = HashMap::new();
    for (id, q, v) in answers {
        by_response.entry(*id).or_default().push((q.as_str(), *v));
    }
    let by_id: HashMap<i64, &Looked> = looked.iter().map(|l| (l.0, l)).collect();
    let mut writes = FlagWrites::default();
    for (id, kinds) in found {
        let Some(l) = by_id.get(id) else { continue };
        // Receipt ratings (one per dossier) are never flagged.
        if l.6 != "qr" {
            continue;
        }
        let had: Vec<&str> = by_response.get(id).map(|a| a.iter().map(|(q, _)| *q).collect()).unwrap_or_default();
        let mut rows: Vec<(String, i64)> = kinds
            .iter()
            .map(|k: &FlagKind| flags::answer_id(*k))
            .filter(|q| !had.contains(&q.as_str()))
            .map(|q| (q, 1))
            .collect();
        if rows.is_empty() {
            continue;
        }
        let (_, point, officer, unit, desk, field, channel, qid, version, day) = *l;
        if !had.contains(&flags::ANY_FLAG) {
            rows.push((flags::ANY_FLAG.to_owned(), 1));
            for (q, v) in by_response.get(id).into_iter().flatten() {
                if !q.starts_with("flag.") && !q.starts_with(flags::FLAGGED_PREFIX) {
                    rows.push((format!("{}{q}", flags::FLAGGED_PREFIX), *v));
                }
            }
            writes.first_flagged.push((Scope::Point, *point, *day));
            if let Some(o) = officer {
                writes.first_flagged.push((Scope::Officer, *o, *day));
            }
        }
        let at = (*unit, desk.unwrap_or(0), officer.unwrap_or(0), field.unwrap_or(0));
        for (q, v) in rows {
            if !excluded.contains(id) {
                let key = (*day, at, channel.clone(), qid.clone(), *version, q.clone(), v);
                *writes.counts.entry(key).or_insert(0) += 1;
            }
            writes.answers.push((*id, q, v));
        }
    }
    writes
}

/// Most rows of one upsert of the flags' counters.
pub(super) const TALLIES_MAX: usize = 200;

/// Adds `n` rows of parameters (scope, subject, slot, delta) to the flags' counters.
pub(super) fn upsert_tallies(n: usize) -> String {
    let rows: Vec<String> =
        (0..n).map(|i| format!("(${}, ${}, ${}, ${})", 4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i + 4)).collect();
    format!(
        "INSERT INTO flag_tallies (scope, subject, slot, n) VALUES {} \
         ON CONFLICT (scope, subject, slot) DO UPDATE SET n = flag_tallies.n + excluded.n",
        rows.join(", ")
    )
}

/// The Vietnam day a device hash belongs to.
pub(super) fn day_of(at_ms: i64) -> i64 {
    clock::day_bucket(at_ms)
}

/// The `YYYYMMDD` bucket `days` days before the bucket `day`.
pub(super) fn days_before(day: i64, days: u32) -> i64 {
    let Some(date) = clock::bucket_date(day) else { return day };
    clock::date_bucket(date - time::Duration::days(i64::from(days)))
}

/// The top value of each question of a questionnaire (its definition as stored).
pub(super) fn tops_of(definition: &str) -> HashMap<String, i64> {
    let Ok(q) = crate::domain::questionnaire::Questionnaire::from_json(definition) else { return HashMap::new() };
    q.questions
        .iter()
        .filter_map(|question| q.options(question).iter().map(|l| l.value).max().map(|top| (question.id.clone(), top)))
        .collect()
}

/// Whether every answer in `own` is the top of its question (none answered: no).
pub(super) fn all_top(own: &[(&str, i64)], tops: &HashMap<String, i64>) -> bool {
    !own.is_empty() && own.iter().all(|(q, v)| tops.get(*q) == Some(v))
}

/// What the flag pass remembers between groups in this process: the questionnaires' top values
/// and the burst thresholds of the day (both read once from the database, where they are the
/// same for every instance).
#[derive(Debug, Default)]
pub struct Memo {
    tops: HashMap<(String, i64), std::sync::Arc<HashMap<String, i64>>>,
    thresholds: HashMap<(Scope, i64, i64), u32>,
    /// Days' salts already committed (a salt this transaction made is not kept until a later
    /// one finds it): forgotten with the days they salt.
    salts: HashMap<i64, String>,
    /// Units' codes by id (a unit's code never changes).
    units: HashMap<i64, String>,
}

impl Memo {
    pub(super) fn salt(&self, day: i64) -> Option<String> {
        self.salts.get(&day).cloned()
    }

    pub(super) fn keep_salt(&mut self, day: i64, salt: String) {
        let oldest = days_before(day, 1);
        self.salts.retain(|d, _| *d >= oldest);
        self.salts.insert(day, salt);
    }

    /// Forgets the salts of the days before `day`.
    pub(super) fn forget_salts(&mut self, day: i64) {
        self.salts.retain(|d, _| *d >= day);
    }

    pub(super) fn unit(&self, id: i64) -> Option<String> {
        self.units.get(&id).cloned()
    }

    pub(super) fn keep_unit(&mut self, id: i64, code: String) {
        if self.units.len() > 100_000 {
            self.units.clear();
        }
        self.units.insert(id, code);
    }

    pub(super) fn tops(&self, qid: &str, version: i64) -> Option<std::sync::Arc<HashMap<String, i64>>> {
        self.tops.get(&(qid.to_owned(), version)).cloned()
    }

    pub(super) fn keep_tops(&mut self, qid: &str, version: i64, tops: HashMap<String, i64>) {
        self.tops.insert((qid.to_owned(), version), std::sync::Arc::new(tops));
    }

    pub(super) fn threshold(&self, key: &(Scope, i64, i64)) -> Option<u32> {
        self.thresholds.get(key).copied()
    }

    /// Keeps a threshold, forgetting those of days before yesterday.
    pub(super) fn keep_threshold(&mut self, key: (Scope, i64, i64), threshold: u32) {
        let oldest = days_before(key.2, 1);
        if self.thresholds.len() > 10_000 || self.thresholds.keys().any(|k| k.2 < oldest) {
            self.thresholds.retain(|k, _| k.2 >= oldest);
        }
        self.thresholds.insert(key, threshold);
    }
}

/// Runs the flag pass for `$stored` (a `Vec<(id, &NewResponse, officer, unit)>` of the open-QR
/// responses just stored) in the transaction `$tx`; each response given flags gets a flag event,
/// whose chain link is pushed onto `$links`.
macro_rules! flag_group {
    ($store:expr, $tx:expr, $stored:expr, $style:expr, $links:expr) => {{
        let rules = &*$store.flag_rules;
        if !$stored.is_empty() && rules.any() {
            use crate::domain::flags::{Back, Scope, State, Streak};
            // The devices, under their day's salt (made by the first writer to need it).
            let mut salts: std::collections::HashMap<i64, String> = std::collections::HashMap::new();
            let mut devices: Vec<(i64, i64, String)> = Vec::new();
            // Devices are kept only for their rule.
            for (id, r, _, _) in $stored.iter().filter(|_| rules.device_count > 0) {
                let Some(device) = r.device.as_deref() else { continue };
                let day = flags::day_of(r.submitted_at_ms);
                if !salts.contains_key(&day) {
                    let known = $store.flag_memo.lock().map(|m| m.salt(day)).unwrap_or(None);
                    let salt = match known {
                        Some(salt) => salt,
                        None => {
                            let made = sqlx::query("INSERT INTO device_salts (local_day, salt) VALUES ($1, $2) ON CONFLICT (local_day) DO NOTHING")
                                .bind(day)
                                .bind(flags::new_salt())
                                .execute(&mut *$tx)
                                .await?
                                .rows_affected();
                            let salt: String = sqlx::query_scalar("SELECT salt FROM device_salts WHERE local_day = $1")
                                .bind(day)
                                .fetch_one(&mut *$tx)
                                .await?;
                            if made == 0 && let Ok(mut memo) = $store.flag_memo.lock() {
                                memo.keep_salt(day, salt.clone());
                            }
                            salt
                        }
                    };
                    salts.insert(day, salt);
                }
                let hash = crate::domain::flags::keyed_hash(salts.get(&day).map(String::as_str).unwrap_or_default(), device);
                devices.push((*id, day, hash));
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
            let device_of: std::collections::HashMap<i64, String> = devices.iter().map(|(id, _, h)| (*id, h.clone())).collect();

            // The units' codes (for their hours) and the questionnaires' top values.
            let mut unit_codes: std::collections::HashMap<i64, String> = std::collections::HashMap::new();
            let mut unknown: std::collections::BTreeSet<i64> = std::collections::BTreeSet::new();
            for unit in $stored.iter().map(|s| s.3) {
                match $store.flag_memo.lock().map(|m| m.unit(unit)).unwrap_or(None) {
                    Some(code) => {
                        unit_codes.insert(unit, code);
                    }
                    None => {
                        unknown.insert(unit);
                    }
                }
            }
            if !unknown.is_empty() {
                let sql = format!("SELECT id, code FROM units WHERE id IN ({})", flags::id_list(unknown.iter().copied()));
                let rows: Vec<(i64, String)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *$tx).await?;
                for (id, code) in rows {
                    if let Ok(mut memo) = $store.flag_memo.lock() {
                        memo.keep_unit(id, code.clone());
                    }
                    unit_codes.insert(id, code);
                }
            }
            let mut tops: std::collections::HashMap<(String, i64), std::sync::Arc<std::collections::HashMap<String, i64>>> =
                std::collections::HashMap::new();
            for (_, r, _, _) in &$stored {
                let key = (r.questionnaire_id.as_str().to_owned(), r.questionnaire_version);
                if tops.contains_key(&key) {
                    continue;
                }
                let known = $store.flag_memo.lock().map(|m| m.tops(&key.0, key.1)).unwrap_or(None);
                let found = match known {
                    Some(found) => found,
                    None => {
                        let definition: Option<String> =
                            sqlx::query_scalar("SELECT definition FROM questionnaires WHERE id = $1 AND version = $2")
                                .bind(&key.0)
                                .bind(key.1)
                                .fetch_optional(&mut *$tx)
                                .await?;
                        let found = flags::tops_of(definition.as_deref().unwrap_or_default());
                        if let Ok(mut memo) = $store.flag_memo.lock() {
                            memo.keep_tops(&key.0, key.1, found.clone());
                        }
                        std::sync::Arc::new(found)
                    }
                };
                tops.insert(key, found);
            }
            let fresh: Vec<crate::domain::flags::Fresh> = $stored
                .iter()
                .map(|(id, r, officer, unit)| {
                    let mut own: Vec<(&str, i64)> =
                        r.answers.iter().filter(|(q, _)| chain::is_own_answer(q)).map(|(q, v)| (q.as_str(), *v)).collect();
                    own.sort_unstable();
                    let top = tops.get(&(r.questionnaire_id.as_str().to_owned(), r.questionnaire_version));
                    crate::domain::flags::Fresh {
                        id: *id,
                        point: r.point_id,
                        officer: *officer,
                        unit_code: unit_codes.get(unit).cloned().unwrap_or_default(),
                        at_ms: r.submitted_at_ms,
                        drawn_ms: r.key.drawn_at_ms(),
                        device: device_of.get(id).cloned(),
                        answered: u32::try_from(own.len()).unwrap_or(u32::MAX),
                        answers: own.iter().map(|(q, v)| format!("{q}={v}")).collect::<Vec<_>>().join(","),
                        all_top: top.is_some_and(|t| flags::all_top(&own, t)),
                    }
                })
                .collect();

            // The counters the group reads: window steps, runs, thresholds, devices, streaks.
            let mut state = State::default();
            let first = fresh.iter().map(|f| f.at_ms).min().unwrap_or(0);
            let last = fresh.iter().map(|f| f.at_ms).max().unwrap_or(0);
            let (lo, hi) = (rules.step(first) - (crate::domain::flags::STEPS - 1), rules.step(last));
            // The window steps and the runs of the group's points and officers, in one read each.
            let mut wheres: Vec<(Scope, String)> = Vec::new();
            for scope in Scope::ALL {
                let subjects: std::collections::BTreeSet<i64> = fresh
                    .iter()
                    .filter_map(|f| if scope == Scope::Point { Some(f.point) } else { f.officer })
                    .collect();
                if !subjects.is_empty() {
                    wheres.push((scope, flags::id_list(subjects.iter().copied())));
                }
            }
            let scope_of = |code: &str| Scope::ALL.into_iter().find(|s| s.codes().0 == code);
            if !wheres.is_empty() {
                let any = |wheres: &[(Scope, String)]| {
                    wheres
                        .iter()
                        .map(|(scope, list)| format!("(scope = '{}' AND subject IN ({list}))", scope.codes().0))
                        .collect::<Vec<_>>()
                        .join(" OR ")
                };
                let sql = format!(
                    "SELECT scope, subject, slot, n FROM flag_tallies WHERE ({}) AND slot >= {lo} AND slot <= {hi}",
                    any(&wheres)
                );
                let rows: Vec<(String, i64, i64, i64)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *$tx).await?;
                for (scope, subject, slot, n) in rows {
                    if let Some(scope) = scope_of(&scope) {
                        state.steps.insert((scope, subject, slot), u32::try_from(n.max(0)).unwrap_or(u32::MAX));
                    }
                }
                let sql = format!("SELECT scope, subject, last_at FROM flag_runs WHERE {}", any(&wheres));
                let rows: Vec<(String, i64, i64)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *$tx).await?;
                for (scope, subject, at) in rows {
                    if let Some(scope) = scope_of(&scope) {
                        state.runs.insert((scope, subject), at);
                    }
                }
            }
            for (scope, _) in &wheres {
                let (scope, days) = (*scope, scope.codes().1);
                if rules.burst_count == 0 {
                    continue;
                }
                // The thresholds of the days in the group, from the subjects' usual days.
                let mut wanted: std::collections::BTreeMap<(i64, i64), String> = std::collections::BTreeMap::new();
                for f in &fresh {
                    let subject = if scope == Scope::Point { Some(f.point) } else { f.officer };
                    if let Some(subject) = subject {
                        wanted.entry((subject, clock::day_bucket(f.at_ms))).or_insert_with(|| f.unit_code.clone());
                    }
                }
                for ((subject, day), unit_code) in wanted {
                    let key = (scope, subject, day);
                    let known = $store.flag_memo.lock().map(|m| m.threshold(&key)).unwrap_or(None);
                    let threshold = match known {
                        Some(t) => t,
                        None => {
                            let counts: Vec<i64> = sqlx::query_scalar(
                                "SELECT n FROM flag_tallies WHERE scope = $1 AND subject = $2 AND slot >= $3 AND slot < $4",
                            )
                            .bind(days)
                            .bind(subject)
                            .bind(flags::days_before(day, rules.history_days))
                            .bind(day)
                            .fetch_all(&mut *$tx)
                            .await?;
                            let counts: Vec<u32> = counts.into_iter().map(|n| u32::try_from(n.max(0)).unwrap_or(u32::MAX)).collect();
                            let t = rules.burst_threshold(crate::domain::flags::usual_day(&counts), rules.hours_of(&unit_code));
                            if let Ok(mut memo) = $store.flag_memo.lock() {
                                memo.keep_threshold(key, t);
                            }
                            t
                        }
                    };
                    state.thresholds.insert(key, threshold);
                }
            }
            if !devices.is_empty() {
                let days = flags::id_list(devices.iter().map(|d| d.1).collect::<std::collections::BTreeSet<_>>());
                // Device hashes are the writer's own hexadecimal: written into the text.
                let hashes = devices.iter().map(|d| format!("'{}'", d.2)).collect::<std::collections::BTreeSet<_>>();
                let hashes = hashes.into_iter().collect::<Vec<_>>().join(", ");
                let sql = format!(
                    "SELECT point_id, device, local_day, n FROM flag_device_days WHERE local_day IN ({days}) AND device IN ({hashes})"
                );
                let rows: Vec<(i64, String, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *$tx).await?;
                for (point, device, day, n) in rows {
                    state.devices.insert((point, device, day), u32::try_from(n.max(0)).unwrap_or(u32::MAX));
                }
            }
            if rules.identical_count > 0 {
                let points = flags::id_list(fresh.iter().map(|f| f.point).collect::<std::collections::BTreeSet<_>>());
                let sql = format!(
                    "SELECT point_id, answers, length, first_id, first_at, last_at FROM flag_streaks WHERE point_id IN ({points})"
                );
                let rows: Vec<(i64, String, i64, i64, i64, i64)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *$tx).await?;
                for (point, answers, length, first_id, first_ms, last_ms) in rows {
                    let length = u32::try_from(length.max(0)).unwrap_or(u32::MAX);
                    state.streaks.insert(point, Streak { answers, length, first_id, first_ms, last_ms });
                }
            }

            // The rules, then the counters as they moved.
            let before = state.clone();
            let pass = crate::domain::flags::assess(&fresh, &mut state, rules);
            // The steps' and days' counts moved, written at the end in one statement.
            let mut tallies: Vec<(&'static str, i64, i64, i64)> = Vec::new();
            for ((scope, subject, slot), n) in &state.steps {
                let delta = i64::from(*n) - i64::from(before.steps.get(&(*scope, *subject, *slot)).copied().unwrap_or(0));
                if delta != 0 {
                    tallies.push((scope.codes().0, *subject, *slot, delta));
                }
            }
            let mut day_deltas: std::collections::BTreeMap<(Scope, i64, i64), i64> = std::collections::BTreeMap::new();
            for f in &fresh {
                *day_deltas.entry((Scope::Point, f.point, clock::day_bucket(f.at_ms))).or_insert(0) += 1;
                if let Some(o) = f.officer {
                    *day_deltas.entry((Scope::Officer, o, clock::day_bucket(f.at_ms))).or_insert(0) += 1;
                }
            }
            for ((scope, subject), at) in &state.runs {
                if before.runs.get(&(*scope, *subject)) != Some(at) {
                    sqlx::query(
                        "INSERT INTO flag_runs (scope, subject, last_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (scope, subject) DO UPDATE SET last_at = excluded.last_at",
                    )
                    .bind(scope.codes().0)
                    .bind(*subject)
                    .bind(*at)
                    .execute(&mut *$tx)
                    .await?;
                }
            }
            for ((point, device, day), n) in &state.devices {
                let delta = i64::from(*n) - i64::from(before.devices.get(&(*point, device.clone(), *day)).copied().unwrap_or(0));
                if delta != 0 {
                    sqlx::query(
                        "INSERT INTO flag_device_days (point_id, device, local_day, n) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (point_id, device, local_day) DO UPDATE SET n = flag_device_days.n + excluded.n",
                    )
                    .bind(*point)
                    .bind(device.as_str())
                    .bind(*day)
                    .bind(delta)
                    .execute(&mut *$tx)
                    .await?;
                }
            }
            for (point, streak) in &state.streaks {
                if before.streaks.get(point) != Some(streak) {
                    sqlx::query(
                        "INSERT INTO flag_streaks (point_id, answers, length, first_id, first_at, last_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (point_id) DO UPDATE SET answers = excluded.answers, \
                         length = excluded.length, first_id = excluded.first_id, first_at = excluded.first_at, \
                         last_at = excluded.last_at",
                    )
                    .bind(*point)
                    .bind(streak.answers.as_str())
                    .bind(i64::from(streak.length))
                    .bind(streak.first_id)
                    .bind(streak.first_ms)
                    .bind(streak.last_ms)
                    .execute(&mut *$tx)
                    .await?;
                }
            }

            // What the new responses show about earlier ones, read back once.
            let mut found = pass.flags;
            for back in &pass.back {
                let (kind, ids): (crate::domain::flags::FlagKind, Vec<i64>) = match back {
                    Back::Burst { scope, subject, from_ms, to_ms, limit, gap_ms } => {
                        let column = if *scope == Scope::Point { "point_id" } else { "officer_id" };
                        let sql = format!(
                            "SELECT id, submitted_at FROM responses WHERE {column} = $1 AND channel = 'qr' \
                             AND submitted_at >= $2 AND submitted_at <= $3 ORDER BY submitted_at DESC, id DESC LIMIT $4"
                        );
                        let rows: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                            .bind(*subject)
                            .bind(*from_ms)
                            .bind(*to_ms)
                            .bind(i64::from(*limit))
                            .fetch_all(&mut *$tx)
                            .await?;
                        (crate::domain::flags::FlagKind::Burst, crate::domain::flags::dense_run(&rows, *gap_ms))
                    }
                    Back::Device { point, device, day } => {
                        let ids: Vec<i64> = sqlx::query_scalar(
                            "SELECT d.response_id FROM response_devices d JOIN responses r ON r.id = d.response_id \
                             WHERE d.local_day = $1 AND d.device = $2 AND r.point_id = $3",
                        )
                        .bind(*day)
                        .bind(device.as_str())
                        .bind(*point)
                        .fetch_all(&mut *$tx)
                        .await?;
                        (crate::domain::flags::FlagKind::Device, ids)
                    }
                    Back::Streak { point, first_id, last_id, from_ms, to_ms } => {
                        let ids: Vec<i64> = sqlx::query_scalar(
                            "SELECT id FROM responses WHERE point_id = $1 AND channel = 'qr' AND id >= $2 AND id <= $3 \
                             AND submitted_at >= $4 AND submitted_at <= $5",
                        )
                        .bind(*point)
                        .bind(*first_id)
                        .bind(*last_id)
                        .bind(*from_ms)
                        .bind(*to_ms)
                        .fetch_all(&mut *$tx)
                        .await?;
                        (crate::domain::flags::FlagKind::Identical, ids)
                    }
                };
                for id in ids {
                    let list = found.entry(id).or_default();
                    if !list.contains(&kind) {
                        list.push(kind);
                        list.sort_unstable();
                    }
                }
            }

            if !found.is_empty() {
                let list = flags::id_list(found.keys().copied());
                let sql = format!("SELECT {} FROM responses r WHERE r.id IN ({list})", flags::LOOKED_COLUMNS);
                let looked: Vec<flags::Looked> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *$tx).await?;
                let sql = format!("SELECT response_id, question_id, value FROM answers WHERE response_id IN ({list})");
                let answers: Vec<(i64, String, i64)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *$tx).await?;
                let sql = format!("SELECT response_id FROM excluded_responses WHERE response_id IN ({list})");
                let excluded: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *$tx).await?;
                let writes = flags::plan(&found, &looked, &answers, &excluded.into_iter().collect());
                let rows: Vec<(i64, &str, i64)> = writes.answers.iter().map(|(id, q, v)| (*id, q.as_str(), *v)).collect();
                write_answers!($tx, rows, $style);
                let counts = writes.count_rows();
                add_counts!($tx, counts, $style);
                // A flagged rating does not make its point's or officer's usual day.
                for key in &writes.first_flagged {
                    *day_deltas.entry(*key).or_insert(0) -= 1;
                }
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
            tallies.extend(day_deltas.into_iter().filter(|(_, d)| *d != 0).map(|((scope, subject, day), d)| (scope.codes().1, subject, day, d)));
            for rows in tallies.chunks(flags::TALLIES_MAX) {
                let mut upsert = sqlx::query(sqlx::AssertSqlSafe(flags::upsert_tallies(rows.len())));
                for (scope, subject, slot, delta) in rows {
                    upsert = upsert.bind(*scope).bind(*subject).bind(*slot).bind(*delta);
                }
                upsert.execute(&mut *$tx).await?;
            }
        }
    }};
}

use super::Backend;

impl super::Store {
    /// Every flag answer kept, `(response, flag.KIND or flag.any)`: what the scenario simulator
    /// tallies.
    pub async fn flag_answers(&self) -> super::StoreResult<Vec<(i64, String)>> {
        Ok(on_backend!(self, pool => {
            sqlx::query_as("SELECT response_id, question_id FROM answers WHERE question_id LIKE 'flag.%'")
                .fetch_all(pool)
                .await?
        }))
    }

    /// Forgets the device hashes of the days before `day` (a `YYYYMMDD` bucket) and those days'
    /// salts: afterwards nothing can tell which address a stored hash was, nor match a new one
    /// with it. The flags' counters of those days go too (a point's and officer's days are
    /// kept for the history their thresholds are judged on). Returns the hashes forgotten.
    pub async fn forget_devices(&self, day: i64) -> super::StoreResult<u64> {
        let keep_days = days_before(day, self.flag_rules.history_days.max(1) + 1);
        let keep_steps = self.flag_rules.step(self.clock.now_ms() - 86_400_000);
        if let Ok(mut memo) = self.flag_memo.lock() {
            memo.forget_salts(day);
        }
        Ok(write_transaction!(self, tx => {
            let forgotten = sqlx::query("DELETE FROM response_devices WHERE local_day < $1")
                .bind(day)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query("DELETE FROM device_salts WHERE local_day < $1").bind(day).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM flag_device_days WHERE local_day < $1").bind(day).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM flag_tallies WHERE scope IN ('point-step', 'officer-step') AND slot < $1")
                .bind(keep_steps)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM flag_tallies WHERE scope IN ('point-day', 'officer-day') AND slot < $1")
                .bind(keep_days)
                .execute(&mut *tx)
                .await?;
            forgotten
        }))
    }
}
