//! What reports read: answer counts summed over a period at one grain (unit, desk, officer,
//! field), from the month sums where they are folded and from the day counts elsewhere, so that
//! the cost of a report follows the number of targets, not the number of responses. And the
//! fold that keeps the month sums, and the recount of the same figures from the responses.

use std::collections::{BTreeMap, HashMap};

use time::{Date, Duration, Month};

use super::{Backend, Store, StoreError, StoreResult};
use crate::domain::clock::{self, Day, MonthKey};
use crate::domain::response::Channel;

/// The grains reports read counts at. Every grain keeps the unit of the rating, so that a
/// report can be limited to a unit subtree and an officer's figures can follow the officer
/// across units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grain {
    /// Per unit and channel.
    Unit,
    Desk,
    Officer,
    /// Per procedure field (lĩnh vực).
    Field,
}

impl Grain {
    pub const ALL: [Self; 4] = [Self::Unit, Self::Desk, Self::Officer, Self::Field];

    pub fn code(self) -> &'static str {
        match self {
            Self::Unit => "unit",
            Self::Desk => "desk",
            Self::Officer => "officer",
            Self::Field => "field",
        }
    }
}

/// One count of a grain: the unit at rating time, the target (desk, officer or field id; 0 on
/// the unit grain and for "none"), the channel, the questionnaire
/// version, the question ('' with value 0 counts responses) and the value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GrainKey {
    pub unit_id: i64,
    pub target_id: i64,
    pub channel: Option<Channel>,
    pub questionnaire_id: crate::domain::questionnaire::QuestionnaireId,
    pub questionnaire_version: i64,
    pub question_id: String,
    pub value: i64,
}

/// Counts of one grain over a period.
pub type GrainCounts = HashMap<GrainKey, i64>;

/// Where a period's counts are read from: month sums for whole folded months (each with the
/// day counts after its fold), day counts for the rest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadPlan {
    /// Inclusive ranges of months read from `count_months`.
    pub months: Vec<(MonthKey, MonthKey)>,
    /// Inclusive ranges of days read from `answer_counts`.
    pub days: Vec<(Day, Day)>,
}

fn month_start(date: Date) -> Date {
    date.replace_day(1).unwrap_or(date)
}

fn month_end(date: Date) -> Date {
    let (year, month) = match date.month() {
        Month::December => (date.year() + 1, Month::January),
        m => (date.year(), m.next()),
    };
    Date::from_calendar_date(year, month, 1).map_or(date, |d| d - Duration::days(1))
}

fn push_range<T: Copy>(ranges: &mut Vec<(T, T)>, from: T, to: T, adjacent: impl Fn(T, T) -> bool) {
    match ranges.last_mut() {
        Some(last) if adjacent(last.1, from) => last.1 = to,
        _ => ranges.push((from, to)),
    }
}

/// Plans the reading of `[from, to]` given each folded month's last folded day. A month's sums
/// are used only when the period covers every day they hold.
pub fn plan(from: Date, to: Date, folds: &BTreeMap<MonthKey, Day>) -> ReadPlan {
    let mut plan = ReadPlan::default();
    let mut start = month_start(from);
    while start <= to {
        let end = month_end(start);
        let (lo, hi) = (from.max(start), to.min(end));
        let month = MonthKey::of(start);
        let folded = folds.get(&month).and_then(|d| d.date()).filter(|t| *t >= start && *t <= end);
        match folded {
            Some(t) if lo == start && hi >= t => {
                push_range(&mut plan.months, month, month, MonthKey::is_followed_by);
                if t < hi {
                    let after = t.next_day().unwrap_or(t);
                    push_range(&mut plan.days, Day::of(after), Day::of(hi), Day::is_followed_by);
                }
            }
            _ => push_range(&mut plan.days, Day::of(lo), Day::of(hi), Day::is_followed_by),
        }
        match end.next_day() {
            Some(next) => start = next,
            None => break,
        }
    }
    plan
}

/// The same SELECT list and GROUP BY over the three sources, per grain. Constants are not
/// grouped on (SQLite reads an integer in GROUP BY as a column number).
macro_rules! per_grain {
    ($sql:ident) => {
        |grain: Grain| match grain {
            Grain::Unit => $sql!("CAST(0 AS BIGINT)", "channel", "channel, "),
            Grain::Desk => $sql!("desk_id", "channel", "desk_id, channel, "),
            Grain::Officer => $sql!("officer_id", "channel", "officer_id, channel, "),
            Grain::Field => $sql!("field_id", "channel", "field_id, channel, "),
        }
    };
}

/// The day counts of a grain; with `$3`, of one target only (the grain's own column: the unit
/// on the unit grain).
macro_rules! per_grain_days {
    () => {
        |grain: Grain, one: bool| match (grain, one) {
            (Grain::Unit, false) => days_sql!("CAST(0 AS BIGINT)", "channel", "channel, ", ""),
            (Grain::Unit, true) => days_sql!("CAST(0 AS BIGINT)", "channel", "channel, ", " AND unit_id = $3"),
            (Grain::Desk, false) => days_sql!("desk_id", "channel", "desk_id, channel, ", ""),
            (Grain::Desk, true) => days_sql!("desk_id", "channel", "desk_id, channel, ", " AND desk_id = $3"),
            (Grain::Officer, false) => days_sql!("officer_id", "channel", "officer_id, channel, ", ""),
            (Grain::Officer, true) => {
                days_sql!("officer_id", "channel", "officer_id, channel, ", " AND officer_id = $3")
            }
            (Grain::Field, false) => days_sql!("field_id", "channel", "field_id, channel, ", ""),
            (Grain::Field, true) => days_sql!("field_id", "channel", "field_id, channel, ", " AND field_id = $3"),
        }
    };
}

macro_rules! days_sql {
    ($target:literal, $channel:literal, $group:literal, $one:literal) => {
        concat!(
            "SELECT unit_id, ",
            $target,
            ", ",
            $channel,
            ", questionnaire_id, questionnaire_version, question_id, value, CAST(SUM(count) AS BIGINT) \
             FROM answer_counts WHERE local_day BETWEEN $1 AND $2",
            $one,
            " GROUP BY unit_id, ",
            $group,
            "questionnaire_id, questionnaire_version, question_id, value"
        )
    };
}

macro_rules! fold_sql {
    ($target:literal, $channel:literal, $group:literal) => {
        concat!(
            "INSERT INTO count_months (grain, month, unit_id, target_id, channel, questionnaire_id, \
                questionnaire_version, question_id, value, count) \
             SELECT $1, $2, unit_id, ",
            $target,
            ", ",
            $channel,
            ", questionnaire_id, questionnaire_version, question_id, value, CAST(SUM(count) AS BIGINT) \
             FROM answer_counts WHERE local_day BETWEEN $3 AND $4 \
             GROUP BY unit_id, ",
            $group,
            "questionnaire_id, questionnaire_version, question_id, value \
             ON CONFLICT (grain, month, unit_id, target_id, channel, questionnaire_id, questionnaire_version, \
                question_id, value) \
             DO UPDATE SET count = count_months.count + excluded.count"
        )
    };
}

macro_rules! recount_sql {
    ($target:literal, $channel:literal, $group:literal) => {
        concat!(
            "SELECT unit_id, ",
            $target,
            ", ",
            $channel,
            ", questionnaire_id, questionnaire_version, question_id, value, CAST(COUNT(*) AS BIGINT) \
             FROM (SELECT r.unit_id, COALESCE(r.desk_id, 0) AS desk_id, COALESCE(r.officer_id, 0) AS officer_id, \
                          COALESCE(r.field_id, 0) AS field_id, r.channel, r.questionnaire_id, \
                          r.questionnaire_version, a.question_id, a.value \
                   FROM responses r JOIN answers a ON a.response_id = r.id \
                   WHERE r.local_day BETWEEN $1 AND $2 \
                     AND NOT EXISTS (SELECT 1 FROM excluded_responses ex WHERE ex.response_id = r.id) \
                   UNION ALL \
                   SELECT r.unit_id, COALESCE(r.desk_id, 0), COALESCE(r.officer_id, 0), COALESCE(r.field_id, 0), \
                          r.channel, r.questionnaire_id, r.questionnaire_version, '', 0 \
                   FROM responses r WHERE r.local_day BETWEEN $1 AND $2 \
                     AND NOT EXISTS (SELECT 1 FROM excluded_responses ex WHERE ex.response_id = r.id)) x \
             GROUP BY unit_id, ",
            $group,
            "questionnaire_id, questionnaire_version, question_id, value"
        )
    };
}

macro_rules! months_sql {
    ($one:literal) => {
        concat!(
            "SELECT unit_id, target_id, channel, questionnaire_id, questionnaire_version, question_id, \
                value, CAST(SUM(count) AS BIGINT) \
             FROM count_months WHERE grain = $1 AND month BETWEEN $2 AND $3",
            $one,
            " GROUP BY unit_id, target_id, channel, questionnaire_id, questionnaire_version, question_id, value"
        )
    };
}

/// The month sums of a grain; with `$4`, of one target only.
fn months_sql(grain: Grain, one: bool) -> &'static str {
    match (grain, one) {
        (_, false) => months_sql!(""),
        (Grain::Unit, true) => months_sql!(" AND unit_id = $4"),
        (_, true) => months_sql!(" AND target_id = $4"),
    }
}

type CountRow = (i64, i64, String, String, i64, String, i64, i64);

/// Adds rows read from the counts; a channel code this version does not know is an error, not
/// a count dropped from the channel report.
fn add_rows(into: &mut GrainCounts, rows: Vec<CountRow>) -> StoreResult<()> {
    for (unit_id, target_id, channel, questionnaire_id, questionnaire_version, question_id, value, count) in rows {
        let questionnaire_id = questionnaire_id.into();
        let channel = match channel.as_str() {
            "" => None,
            code => Some(
                Channel::parse(code)
                    .ok_or_else(|| StoreError::Config(format!("the counts hold an unknown channel '{code}'")))?,
            ),
        };
        let key = GrainKey { unit_id, target_id, channel, questionnaire_id, questionnaire_version, question_id, value };
        *into.entry(key).or_insert(0) += count;
    }
    Ok(())
}

/// What one run of [`Store::fold_counts`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FoldSummary {
    /// Months whose sums were rebuilt from their first day (new, or written into after a fold).
    pub rebuilt: usize,
    /// Months that had days added to their sums.
    pub extended: usize,
}

impl Store {
    /// The counts of `grain` over the Vietnam days `[from, to]`.
    pub async fn grain_counts(&self, grain: Grain, from: Date, to: Date) -> StoreResult<GrainCounts> {
        self.grain_counts_of(grain, from, to, None).await
    }

    /// The counts of `grain` over the Vietnam days `[from, to]`; with `one`, only those of that
    /// target (its id: the unit on the unit grain, else the desk, officer or field).
    pub async fn grain_counts_of(
        &self,
        grain: Grain,
        from: Date,
        to: Date,
        one: Option<i64>,
    ) -> StoreResult<GrainCounts> {
        let folds = self.count_folds().await?;
        let plan = plan(from, to, &folds);
        let mut counts = GrainCounts::new();
        let days = per_grain_days!()(grain, one.is_some());
        let months = months_sql(grain, one.is_some());
        on_backend!(self, pool => {
            for (lo, hi) in &plan.months {
                let mut query = sqlx::query_as::<_, CountRow>(months).bind(grain.code()).bind(lo.get()).bind(hi.get());
                if let Some(id) = one {
                    query = query.bind(id);
                }
                add_rows(&mut counts, query.fetch_all(pool).await?)?;
            }
            for (lo, hi) in &plan.days {
                let mut query = sqlx::query_as::<_, CountRow>(days).bind(lo.get()).bind(hi.get());
                if let Some(id) = one {
                    query = query.bind(id);
                }
                add_rows(&mut counts, query.fetch_all(pool).await?)?;
            }
        });
        // A count that excluded responses brought back to nothing is no count.
        counts.retain(|_, n| *n != 0);
        Ok(counts)
    }

    /// The same counts recounted from the stored responses themselves: what an auditor runs to
    /// check that the kept counts and their month sums are the history's.
    pub async fn recount_grain(&self, grain: Grain, from: Date, to: Date) -> StoreResult<GrainCounts> {
        let sql = per_grain!(recount_sql)(grain);
        let mut counts = GrainCounts::new();
        let rows: Vec<CountRow> = on_backend!(self, pool => {
            sqlx::query_as(sql)
                .bind(clock::date_bucket(from))
                .bind(clock::date_bucket(to))
                .fetch_all(pool)
                .await?
        });
        add_rows(&mut counts, rows)?;
        Ok(counts)
    }

    /// The first and last Vietnam days with counts, if any.
    pub async fn counted_days(&self) -> StoreResult<Option<(Date, Date)>> {
        let (first, last): (Option<i64>, Option<i64>) = on_backend!(self, pool => {
            sqlx::query_as("SELECT MIN(local_day), MAX(local_day) FROM answer_counts").fetch_one(pool).await?
        });
        Ok(first.zip(last).and_then(|(a, b)| Some((clock::bucket_date(a)?, clock::bucket_date(b)?))))
    }

    /// Each folded month and the last day folded into its sums.
    async fn count_folds(&self) -> StoreResult<BTreeMap<MonthKey, Day>> {
        let rows: Vec<(i64, i64)> = on_backend!(self, pool => {
            sqlx::query_as("SELECT month, through_day FROM count_folds WHERE through_day > 0").fetch_all(pool).await?
        });
        Ok(rows.into_iter().filter_map(|(m, d)| Some((MonthKey::from_stored(m), Day::from_stored(d)?))).collect())
    }

    /// Folds the day counts up to `through` (inclusive; yesterday in Vietnam, so that the day
    /// still being written is not folded) into the month sums. Each month is one transaction
    /// that shuts out the writer while it reads: a response committed into a folded day marks
    /// its month for a rebuild, so the sums never miss one and never count one twice.
    pub async fn fold_counts(&self, through: Date) -> StoreResult<FoldSummary> {
        let mut summary = FoldSummary::default();
        let Some((first, _)) = self.counted_days().await? else { return Ok(summary) };
        let folded = self.count_folds().await?;
        let mut start = month_start(first);
        while start <= through {
            let end = month_end(start).min(through);
            let (month, target) = (MonthKey::of(start), Day::of(end));
            if folded.get(&month) != Some(&target) {
                match self.fold_month(month, start, end).await? {
                    Some(true) => summary.rebuilt += 1,
                    Some(false) => summary.extended += 1,
                    None => {}
                }
            }
            match month_end(start).next_day() {
                Some(next) => start = next,
                None => break,
            }
        }
        Ok(summary)
    }

    /// Folds `month` up to `end`: `Some(true)` when rebuilt from its first day, `Some(false)`
    /// when extended, `None` when another instance had already done it.
    async fn fold_month(&self, month: MonthKey, start: Date, end: Date) -> StoreResult<Option<bool>> {
        let (month, target) = (month.get(), Day::of(end).get());
        let fold = per_grain!(fold_sql);
        Ok(write_transaction!(self, tx => {
            if let Backend::Postgres { .. } = self.backend {
                // Waits for the writers in flight and holds new ones back until the commit;
                // self-exclusive, so two instances never fold the same days.
                sqlx::query("LOCK TABLE answer_counts IN SHARE ROW EXCLUSIVE MODE").execute(&mut *tx).await?;
            }
            let through: i64 = sqlx::query_scalar("SELECT through_day FROM count_folds WHERE month = $1")
                .bind(month)
                .fetch_optional(&mut *tx)
                .await?
                .unwrap_or(0);
            if through == target {
                return Ok(None);
            }
            let valid = clock::bucket_date(through).filter(|t| *t >= start && *t < end);
            let from = match valid {
                Some(t) => t.next_day().unwrap_or(t),
                None => {
                    sqlx::query("DELETE FROM count_months WHERE month = $1").bind(month).execute(&mut *tx).await?;
                    start
                }
            };
            for grain in Grain::ALL {
                sqlx::query(fold(grain))
                    .bind(grain.code())
                    .bind(month)
                    .bind(clock::date_bucket(from))
                    .bind(target)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO count_folds (month, through_day) VALUES ($1, $2) \
                 ON CONFLICT (month) DO UPDATE SET through_day = excluded.through_day",
            )
            .bind(month)
            .bind(target)
            .execute(&mut *tx)
            .await?;
            Some(valid.is_none())
        }))
    }
}

/// Answers counted per target, day, questionnaire version, question and value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AnswerCount {
    pub target_code: String,
    pub local_day: i64,
    pub questionnaire_id: crate::domain::questionnaire::QuestionnaireId,
    pub questionnaire_version: i64,
    pub question_id: String,
    pub value: i64,
    pub count: i64,
}

/// Whose answers [`Store::answer_counts`] groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountBy {
    Unit,
    Desk,
    Officer,
}

impl Store {
    /// Answer counts per target and Vietnam day in `[from_day, to_day]` (both `YYYYMMDD`), per
    /// questionnaire version, question and value, read from the counts the writer keeps.
    pub async fn answer_counts(&self, by: CountBy, from_day: i64, to_day: i64) -> StoreResult<Vec<AnswerCount>> {
        macro_rules! kept {
            ($target:literal) => {
                concat!(
                    "SELECT t.code, c.local_day, c.questionnaire_id, c.questionnaire_version, c.question_id, c.value, \
                            CAST(SUM(c.count) AS BIGINT) FROM answer_counts c JOIN ",
                    $target,
                    " WHERE c.local_day BETWEEN $1 AND $2 AND c.question_id <> '' \
                     GROUP BY t.code, c.local_day, c.questionnaire_id, c.questionnaire_version, c.question_id, c.value \
                     HAVING SUM(c.count) <> 0"
                )
            };
        }
        let sql = match by {
            CountBy::Unit => kept!("units t ON t.id = c.unit_id"),
            CountBy::Desk => kept!("desks t ON t.id = c.desk_id"),
            CountBy::Officer => kept!("officers t ON t.id = c.officer_id"),
        };
        self.counts_query(sql, from_day, to_day).await
    }

    /// The same counts recounted from the stored responses themselves: what an auditor runs to
    /// check that the kept counts are the history's.
    pub async fn recount_answers(&self, by: CountBy, from_day: i64, to_day: i64) -> StoreResult<Vec<AnswerCount>> {
        macro_rules! recount {
            ($target:literal) => {
                concat!(
                    "SELECT t.code, r.local_day, r.questionnaire_id, r.questionnaire_version, a.question_id, a.value, \
                            COUNT(*) FROM responses r JOIN answers a ON a.response_id = r.id JOIN ",
                    $target,
                    " WHERE r.local_day BETWEEN $1 AND $2 \
                     AND NOT EXISTS (SELECT 1 FROM excluded_responses ex WHERE ex.response_id = r.id) \
                     GROUP BY t.code, r.local_day, r.questionnaire_id, r.questionnaire_version, a.question_id, a.value"
                )
            };
        }
        let sql = match by {
            CountBy::Unit => recount!("units t ON t.id = r.unit_id"),
            CountBy::Desk => recount!("desks t ON t.id = r.desk_id"),
            CountBy::Officer => recount!("officers t ON t.id = r.officer_id"),
        };
        self.counts_query(sql, from_day, to_day).await
    }

    async fn counts_query(&self, sql: &'static str, from_day: i64, to_day: i64) -> StoreResult<Vec<AnswerCount>> {
        type CountRow = (String, i64, String, i64, String, i64, i64);
        let mut rows: Vec<CountRow> = on_backend!(self, pool => {
            sqlx::query_as(sql).bind(from_day).bind(to_day).fetch_all(pool).await?
        });
        // Sorted here, not in SQL: the backends' collations order text differently.
        rows.sort_unstable();
        Ok(rows
            .into_iter()
            .map(|(target_code, local_day, questionnaire_id, questionnaire_version, question_id, value, count)| {
                AnswerCount {
                    target_code,
                    local_day,
                    questionnaire_id: questionnaire_id.into(),
                    questionnaire_version,
                    question_id,
                    value,
                    count,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn folds(pairs: &[(i64, i64)]) -> BTreeMap<MonthKey, Day> {
        pairs.iter().map(|&(m, d)| (MonthKey::from_stored(m), Day::from_stored(d).unwrap())).collect()
    }

    fn months(p: &ReadPlan) -> Vec<(i64, i64)> {
        p.months.iter().map(|(a, b)| (a.get(), b.get())).collect()
    }

    fn days(p: &ReadPlan) -> Vec<(i64, i64)> {
        p.days.iter().map(|(a, b)| (a.get(), b.get())).collect()
    }

    #[test]
    fn a_year_reads_its_folded_months_and_the_days_after_the_fold() {
        let f = folds(&[(202601, 20260131), (202602, 20260228), (202603, 20260310)]);
        let p = plan(date!(2026 - 01 - 01), date!(2026 - 12 - 31), &f);
        assert_eq!(months(&p), vec![(202601, 202603)]);
        assert_eq!(days(&p), vec![(20260311, 20261231)]);
    }

    #[test]
    fn a_period_that_cuts_a_month_reads_that_month_by_day() {
        let f = folds(&[(202601, 20260131), (202602, 20260228), (202603, 20260331)]);
        let p = plan(date!(2026 - 01 - 15), date!(2026 - 03 - 10), &f);
        assert_eq!(months(&p), vec![(202602, 202602)]);
        assert_eq!(days(&p), vec![(20260115, 20260131), (20260301, 20260310)]);
        // A period ending before a month's fold cannot use it.
        let p = plan(date!(2026 - 03 - 01), date!(2026 - 03 - 20), &folds(&[(202603, 20260325)]));
        assert_eq!((months(&p), days(&p)), (Vec::new(), vec![(20260301, 20260320)]));
    }

    #[test]
    fn months_and_days_join_across_the_year_end() {
        let f = folds(&[(202512, 20251231), (202601, 20260131)]);
        let p = plan(date!(2025 - 12 - 01), date!(2026 - 01 - 31), &f);
        assert_eq!(months(&p), vec![(202512, 202601)]);
        let p = plan(date!(2025 - 12 - 01), date!(2026 - 01 - 31), &folds(&[]));
        assert_eq!(days(&p), vec![(20251201, 20260131)]);
        let p = plan(date!(2025 - 12 - 01), date!(2026 - 02 - 28), &folds(&[(202601, 20260131)]));
        assert_eq!(months(&p), vec![(202601, 202601)]);
        assert_eq!(days(&p), vec![(20251201, 20251231), (20260201, 20260228)]);
    }
}
