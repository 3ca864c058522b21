//! The derived answers of responses stored before the writer kept them.
//!
//! The writer stores and counts, beside each response's own answers, the answers derived from
//! them (`Questionnaire::derived`): since Cronbach's alpha came in, the criteria again per
//! element; since the overall index's interval counts a respondent once, the response's own
//! overall score. Responses stored before each have none, so the figure would rest on the newer
//! responses only. Each repair derives theirs once per database, in one transaction that also
//! records it in `data_fixes`: the derived answers are stored, counted in the day counts of the
//! response's day and attribution, and the months touched are sent back to be folded, so that
//! the kept counts stay the history recounted.

use std::collections::{BTreeMap, HashMap};

use super::responses::CountKey;
use super::{Store, StoreResult, batch};
use crate::domain::questionnaire::{Questionnaire, Registry};

/// One repair: its name in `data_fixes`, the range of answer ids its answers have (ids with a
/// dot, which no question id has), the questionnaires it applies to, and what it derives.
struct Fix {
    name: &'static str,
    ids: (&'static str, &'static str),
    applies: fn(&Questionnaire) -> bool,
    derive: Derive,
}

/// What a repair derives from a response's answers.
type Derive = fn(&Questionnaire, &[(String, i64)]) -> Vec<(String, i64)>;

/// The repairs, in the order they came.
const FIXES: [Fix; 2] = [
    Fix {
        name: "derived-answers-1",
        ids: ("alpha.", "alpha/"),
        applies: |q| !q.alpha_elements().is_empty(),
        derive: Questionnaire::alpha_derived,
    },
    Fix {
        name: "derived-answers-2-composite",
        ids: ("composite.", "composite/"),
        applies: |q| q.elements.iter().any(|e| e.weight > 0.0),
        derive: Questionnaire::composite_derived,
    },
];

/// Responses read and repaired per round.
const ROUND: usize = 500;

/// A stored response: id, unit, desk, officer, field, channel, Vietnam day.
type Stored = (i64, i64, Option<i64>, Option<i64>, Option<i64>, String, i64);

impl Store {
    /// Derives, stores and counts the derived answers of the responses that have none, each
    /// repair once per database. Returns the number of responses completed, or `None` when every
    /// repair was done before (by this instance or another one sharing the database).
    pub async fn derive_missing_answers(&self, registry: &Registry) -> StoreResult<Option<u64>> {
        let mut completed = None;
        for fix in &FIXES {
            if let Some(n) = self.run_fix(fix, registry).await? {
                completed = Some(completed.unwrap_or(0) + n);
            }
        }
        Ok(completed)
    }

    async fn run_fix(&self, fix: &Fix, registry: &Registry) -> StoreResult<Option<u64>> {
        let style = self.placeholders();
        let mut completed = 0u64;
        Ok(write_transaction!(self, tx => {
            // Claimed first: a second instance waits on this row, then finds the work done.
            let claimed = claim_fix!(tx, fix.name, self.clock.now_ms());
            if !claimed {
                return Ok(None);
            }
            for q in registry.all().into_iter().filter(|q| (fix.applies)(q)) {
                // Derived answers have ids with a dot, which no question id has: their range
                // in the answers' key is, for alpha, ['alpha.', 'alpha/').
                let missing: Vec<Stored> = sqlx::query_as(
                    "SELECT r.id, r.unit_id, r.desk_id, r.officer_id, r.field_id, r.channel, r.local_day \
                     FROM responses r WHERE r.questionnaire_id = $1 AND r.questionnaire_version = $2 \
                     AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.response_id = r.id \
                                     AND a.question_id >= $3 AND a.question_id < $4) \
                     ORDER BY r.id",
                )
                .bind(q.id.as_str())
                .bind(q.version)
                .bind(fix.ids.0)
                .bind(fix.ids.1)
                .fetch_all(&mut *tx)
                .await?;
                for round in missing.chunks(ROUND) {
                    // Ids come from the store itself: written into the text as numbers.
                    let ids: Vec<String> = round.iter().map(|r| r.0.to_string()).collect();
                    let sql = format!(
                        "SELECT response_id, question_id, value FROM answers WHERE response_id IN ({}) \
                         ORDER BY response_id, question_id",
                        ids.join(", ")
                    );
                    let rows: Vec<(i64, String, i64)> =
                        sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false).fetch_all(&mut *tx).await?;
                    let mut answers: HashMap<i64, Vec<(String, i64)>> = HashMap::new();
                    for (id, question, value) in rows {
                        answers.entry(id).or_default().push((question, value));
                    }
                    let derived: Vec<(&Stored, Vec<(String, i64)>)> = round
                        .iter()
                        .map(|r| (r, (fix.derive)(q, answers.get(&r.0).map(Vec::as_slice).unwrap_or_default())))
                        .filter(|(_, d)| !d.is_empty())
                        .collect();
                    completed += derived.len() as u64;
                    let new_answers: Vec<(i64, &str, i64)> = derived
                        .iter()
                        .flat_map(|(r, d)| d.iter().map(move |(question, value)| (r.0, question.as_str(), *value)))
                        .collect();
                    write_answers!(tx, new_answers, style);
                    let mut sums: BTreeMap<CountKey<'_>, i64> = BTreeMap::new();
                    for ((_, unit, desk, officer, field, channel, day), d) in &derived {
                        let at = (*unit, desk.unwrap_or(0), officer.unwrap_or(0), field.unwrap_or(0));
                        for (question, value) in d {
                            let key = (*day, at, channel.as_str(), q.id.as_str(), q.version, question.as_str(), *value);
                            *sums.entry(key).or_insert(0) += 1;
                        }
                    }
                    let counts: Vec<(CountKey<'_>, i64)> = sums.into_iter().collect();
                    add_counts!(tx, counts, style);
                }
            }
            Some(completed)
        }))
    }
}
