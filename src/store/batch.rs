//! Multi-row statements for the writer. Each statement is a round trip to the database (on
//! SQLite, to its worker thread, which costs two context switches), so a group is written in one
//! statement per table rather than a few per response. Statement texts depend only on row
//! counts: a group's rows are padded with rows of NULLs up to a power of two, which every
//! statement skips (`WHERE ... IS NOT NULL`, or a join no NULL satisfies), so that a handful of
//! texts (and prepared statements) serve every group size.
//!
//! SQLite gets anonymous `?` parameters: it finds a named one (`$7`) by a linear search of the
//! statement's names, which made binding a statement of n parameters cost n² (4.5 % of the
//! server's CPU at 32 clients). PostgreSQL gets `$n`, the only form it takes.

use std::sync::LazyLock;

/// Most responses in one INSERT (10 parameters each).
pub const RESPONSES_MAX: usize = 128;
/// Most answers in one INSERT (3 parameters each).
pub const ANSWERS_MAX: usize = 1024;
/// Most answer-count rows in one upsert (11 parameters each).
pub const COUNTS_MAX: usize = 256;
/// Most chain links in one INSERT (5 parameters each).
pub const LINKS_MAX: usize = 128;
/// Most device hashes in one INSERT (3 parameters each).
pub const DEVICES_MAX: usize = 256;

/// A statement's share of a group: `rows` real rows, padded with NULL rows to `size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub rows: usize,
    pub size: usize,
}

impl Chunk {
    /// The NULL rows that follow the real ones.
    pub fn padding(self) -> usize {
        self.size - self.rows
    }
}

/// Cuts `n` rows into statements of `max` rows (a power of two), the rest padded up to the
/// next power of two: 300 with max 128 gives 128, 128, and 44 padded to 64.
pub fn chunks(mut n: usize, max: usize) -> Vec<Chunk> {
    let mut chunks = Vec::with_capacity(n / max + 1);
    while n > 0 {
        let rows = n.min(max);
        chunks.push(Chunk { rows, size: rows.next_power_of_two() });
        n -= rows;
    }
    chunks
}

/// `rows` cut as [`chunks`] cuts their number: each chunk with its rows.
pub fn split<T>(rows: &[T], max: usize) -> impl Iterator<Item = (Chunk, &[T])> {
    let mut rest = rows;
    chunks(rows.len(), max).into_iter().map(move |chunk| {
        let (these, tail) = rest.split_at(chunk.rows);
        rest = tail;
        (chunk, these)
    })
}

/// How a backend writes parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placeholders {
    /// `$1, $2, ...` (PostgreSQL).
    Numbered,
    /// `?, ?, ...` in order (SQLite).
    Positional,
}

impl Placeholders {
    fn nth(self, n: usize) -> String {
        match self {
            Self::Numbered => format!("${n}"),
            Self::Positional => "?".to_owned(),
        }
    }
}

/// Statement texts for chunk sizes 1, 2, 4, ... `max`, for both placeholder styles.
type Texts = [Vec<String>; 2];

fn texts(max: usize, make: fn(usize, Placeholders) -> String) -> Texts {
    let sizes = || (0..=max.trailing_zeros()).map(|p| 1usize << p);
    [
        sizes().map(|n| make(n, Placeholders::Numbered)).collect(),
        sizes().map(|n| make(n, Placeholders::Positional)).collect(),
    ]
}

fn pick(texts: &Texts, n: usize, max: usize, style: Placeholders) -> &str {
    &texts[usize::from(style == Placeholders::Positional)][chunk_index(n, max)]
}

/// `count` groups of `width` parameters, each group in parentheses, numbered from 1.
fn rows(count: usize, width: usize, style: Placeholders) -> String {
    let rows: Vec<String> = (0..count)
        .map(|i| {
            let p: Vec<String> = (1..=width).map(|j| style.nth(i * width + j)).collect();
            format!("({})", p.join(", "))
        })
        .collect();
    rows.join(", ")
}

/// Inserts `n` responses from parameters in groups of ten (key, point, field code,
/// questionnaire id, version, channel, instant, day bucket, comment, ISO date), settling each
/// one's unit, desk and officer from the point as it stands on that date (see `point_on_day!`),
/// and skipping points closed on that date, keys already stored and rows of NULLs (no point
/// joins them). Returns `(id, key, unit, desk, officer, field)` of the rows inserted.
pub fn insert_responses(n: usize, style: Placeholders) -> &'static str {
    static SQL: LazyLock<Texts> = LazyLock::new(|| {
        texts(RESPONSES_MAX, |n, style| {
            format!(
                "WITH v (k, point_id, field, qid, qver, channel, at, day, comment, iso) AS (VALUES {}) \
                 INSERT INTO responses (idempotency_key, point_id, unit_id, desk_id, officer_id, field_id, \
                    questionnaire_id, questionnaire_version, channel, submitted_at, local_day, comment) \
                 SELECT v.k, p.id, eu.id, ed.id, p.officer_id, f.id, v.qid, v.qver, v.channel, v.at, v.day, v.comment \
                 FROM v JOIN collection_points p ON p.id = v.point_id{}\
                 LEFT JOIN fields f ON f.code = v.field \
                 WHERE p.revoked_at IS NULL AND eu.id IS NOT NULL \
                 ON CONFLICT (idempotency_key) DO NOTHING \
                 RETURNING id, idempotency_key, unit_id, desk_id, officer_id, field_id",
                rows(n, 10, style),
                super::point_on_day!("v.iso"),
            )
        })
    });
    pick(&SQL, n, RESPONSES_MAX, style)
}

/// Inserts `n` answers from parameters in groups of three (response id, question, value),
/// skipping rows of NULLs.
pub fn insert_answers(n: usize, style: Placeholders) -> &'static str {
    static SQL: LazyLock<Texts> = LazyLock::new(|| {
        texts(ANSWERS_MAX, |n, style| {
            format!(
                "WITH v (r, q, x) AS (VALUES {}) \
                 INSERT INTO answers (response_id, question_id, value) SELECT r, q, x FROM v WHERE r IS NOT NULL",
                rows(n, 3, style)
            )
        })
    });
    pick(&SQL, n, ANSWERS_MAX, style)
}

/// Adds `n` rows to the answer counts, from parameters in groups of eleven (day, unit, desk,
/// officer, field, channel, questionnaire, version, question, value, count), skipping rows of
/// NULLs. (SQLite needs the WHERE to read `ON CONFLICT` after a SELECT as an upsert.)
pub fn upsert_counts(n: usize, style: Placeholders) -> &'static str {
    static SQL: LazyLock<Texts> = LazyLock::new(|| {
        texts(COUNTS_MAX, |n, style| {
            format!(
                "WITH v (d, u, k, o, f, c, qid, qver, q, x, n) AS (VALUES {}) \
                 INSERT INTO answer_counts (local_day, unit_id, desk_id, officer_id, field_id, channel, \
                    questionnaire_id, questionnaire_version, question_id, value, count) \
                 SELECT d, u, k, o, f, c, qid, qver, q, x, n FROM v WHERE d IS NOT NULL \
                 ON CONFLICT (local_day, unit_id, desk_id, officer_id, field_id, channel, questionnaire_id, \
                    questionnaire_version, question_id, value) \
                 DO UPDATE SET count = answer_counts.count + excluded.count",
                rows(n, 11, style)
            )
        })
    });
    pick(&SQL, n, COUNTS_MAX, style)
}

/// Inserts `n` chain links from parameters in groups of five (seq, kind, record id, erasable
/// hash, hash), skipping rows of NULLs.
pub fn insert_links(n: usize, style: Placeholders) -> &'static str {
    static SQL: LazyLock<Texts> = LazyLock::new(|| {
        texts(LINKS_MAX, |n, style| {
            format!(
                "WITH v (s, k, r, e, h) AS (VALUES {}) \
                 INSERT INTO chain_links (seq, kind, record_id, erasable, hash) SELECT s, k, r, e, h FROM v WHERE s IS NOT NULL",
                rows(n, 5, style)
            )
        })
    });
    pick(&SQL, n, LINKS_MAX, style)
}

/// Inserts `n` device hashes from parameters in groups of three (response id, day, hash),
/// skipping rows of NULLs.
pub fn insert_devices(n: usize, style: Placeholders) -> &'static str {
    static SQL: LazyLock<Texts> = LazyLock::new(|| {
        texts(DEVICES_MAX, |n, style| {
            format!(
                "WITH v (r, d, h) AS (VALUES {}) \
                 INSERT INTO response_devices (response_id, local_day, device) SELECT r, d, h FROM v WHERE r IS NOT NULL",
                rows(n, 3, style)
            )
        })
    });
    pick(&SQL, n, DEVICES_MAX, style)
}

fn chunk_index(n: usize, max: usize) -> usize {
    debug_assert!(n.is_power_of_two() && n <= max, "chunk sizes come from chunks()");
    n.trailing_zeros() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_hold_every_row_in_powers_of_two() {
        for n in 0..3000 {
            let chunks = chunks(n, 128);
            assert_eq!(chunks.iter().map(|c| c.rows).sum::<usize>(), n);
            assert!(chunks.iter().all(|c| c.size.is_power_of_two() && c.size <= 128 && c.rows <= c.size));
            assert!(chunks.iter().all(|c| c.rows > c.size / 2), "at most half of a statement is padding");
            assert_eq!(chunks.len(), n.div_ceil(128), "one statement per 128 rows");
        }
        let sizes = |n| chunks(n, 128).iter().map(|c| (c.rows, c.size)).collect::<Vec<_>>();
        assert_eq!(sizes(37), vec![(37, 64)]);
        assert_eq!(sizes(300), vec![(128, 128), (128, 128), (44, 64)]);
        assert_eq!(sizes(1), vec![(1, 1)]);
        let rows: Vec<usize> = (0..300).collect();
        let cut: Vec<(Chunk, &[usize])> = split(&rows, 128).collect();
        assert_eq!(
            cut.iter().map(|(c, r)| (c.rows, r.len())).collect::<Vec<_>>(),
            vec![(128, 128), (128, 128), (44, 44)]
        );
        assert_eq!(cut[2].1.first(), Some(&256));
    }

    #[test]
    fn statements_have_one_parameter_set_per_row() {
        use Placeholders::*;
        assert!(insert_answers(2, Numbered).contains("VALUES ($1, $2, $3), ($4, $5, $6))"));
        assert!(insert_answers(2, Positional).contains("VALUES (?, ?, ?), (?, ?, ?))"));
        assert!(insert_responses(1, Numbered).contains("VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10))"));
        assert!(insert_responses(128, Numbered).contains("$1280)"));
        assert_eq!(upsert_counts(4, Positional).matches('?').count(), 44);
    }
}
