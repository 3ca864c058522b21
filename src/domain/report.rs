//! The rows of a report: per target and questionnaire version, the figures of
//! [`indices`](super::indices), whether there are enough responses to compare them, a fair
//! rank by the empirical-Bayes shrunk share within the peer group (the targets of the report
//! that answered the same questionnaire version), the funnel-plot flag, the band, the suggested
//! year-end level for officers, and the change since the previous period.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::indices::{Counts, Figures, figures};
use super::method::{Bands, Points, Suggestion};
use super::period::Period;
use super::questionnaire::{Evaluates, QuestionKind, Questionnaire, QuestionnaireId};
use super::stats::{BetaPrior, Funnel, FunnelPosition, two_proportion_p};

/// What the rows of a report are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A unit with every unit under it (and the units merged into them).
    Subtree,
    /// A unit's own ratings.
    Unit,
    Desk,
    /// An officer, followed across desks and units by assignment at rating time.
    Officer,
    /// A procedure field (lĩnh vực).
    Field,
    /// How the citizen reached the form.
    Channel,
    Questionnaire,
}

impl Level {
    pub const ALL: [Self; 7] =
        [Self::Subtree, Self::Unit, Self::Desk, Self::Officer, Self::Field, Self::Channel, Self::Questionnaire];

    pub fn code(self) -> &'static str {
        match self {
            Self::Subtree => "subtree",
            Self::Unit => "unit",
            Self::Desk => "desk",
            Self::Officer => "officer",
            Self::Field => "field",
            Self::Channel => "channel",
            Self::Questionnaire => "questionnaire",
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|l| l.code() == text).ok_or_else(|| {
            let all: Vec<&str> = Self::ALL.iter().map(|l| l.code()).collect();
            format!("unknown level '{text}': use one of {}", all.join(", "))
        })
    }

    /// The Vietnamese name, for headers and pages.
    pub fn vi(self) -> &'static str {
        match self {
            Self::Subtree => "Đơn vị (gồm đơn vị trực thuộc)",
            Self::Unit => "Đơn vị",
            Self::Desk => "Quầy",
            Self::Officer => "Cán bộ",
            Self::Field => "Lĩnh vực",
            Self::Channel => "Kênh",
            Self::Questionnaire => "Phiếu",
        }
    }
}

/// What a row is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Target {
    pub code: String,
    pub name: String,
    /// The unit above (for a unit), the unit of the desk, or the unit where the officer gave
    /// most of the period's ratings.
    pub parent_code: Option<String>,
}

/// One target's counts for one questionnaire version, and the previous period's.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetCounts {
    pub target: Target,
    pub questionnaire_version: i64,
    pub responses: u64,
    pub counts: Counts,
    pub previous: Option<(u64, Counts)>,
    /// Of the responses counted, those that carry a stuffing flag, and the flags by kind.
    pub flagged: Flagged,
}

/// How many of a row's responses carry a stuffing flag, and how many carry each kind (a response
/// may carry several). Counted over the responses the row counts: with `without_flagged`, over
/// those left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Flagged {
    pub responses: u64,
    pub by_kind: BTreeMap<crate::domain::flags::FlagKind, u64>,
}

/// The change of the satisfied share since the previous period.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Change {
    pub previous_pct: f64,
    pub previous_responses: u64,
    /// Two-sided p-value of the two-proportion z test at the effective numbers of answers.
    pub p_value: Option<f64>,
}

/// The province's parameters a report applies.
#[derive(Clone, Copy, Debug)]
pub struct Method<'a> {
    pub min_sample: u64,
    pub bands: &'a Bands,
    pub suggestion: &'a Suggestion,
}

/// One row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub target: Target,
    pub questionnaire_version: i64,
    pub responses: u64,
    pub figures: Figures,
    /// At least the minimum sample of responses: ranked, banded, flagged.
    pub sufficient: bool,
    /// The empirical-Bayes share (percent) and its 95% credible interval.
    pub shrunk: Option<(f64, (f64, f64))>,
    /// 1 = best shrunk share among the sufficient rows of the same questionnaire version.
    pub rank: Option<usize>,
    pub band: Option<String>,
    pub funnel: Option<FunnelPosition>,
    /// Officers only: the level the rule suggests.
    pub suggestion: Option<String>,
    pub change: Option<Change>,
    /// Units and officers, where the one-stop software reported the dossiers served: the
    /// responses per dossier served.
    pub coverage: Option<Coverage>,
    /// Its responses that carry a stuffing flag.
    pub flagged: Flagged,
}

/// Rated ÷ served: the responses of a target against the dossiers the one-stop software says it
/// served in the period.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Coverage {
    pub served: u64,
    /// Responses × 100 / served.
    pub pct: f64,
    pub flag: Option<CoverageFlag>,
}

/// Why a coverage is implausible (the rule is [`apply_coverage`]'s, printed in the method).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum CoverageFlag {
    /// More responses than dossiers served.
    Over100,
    /// An officer's coverage at least [`COVERAGE_FAR_FACTOR`] times their unit's, or at most its
    /// inverse.
    FarFromUnit,
}

impl CoverageFlag {
    pub fn code(self) -> &'static str {
        match self {
            Self::Over100 => "over_100",
            Self::FarFromUnit => "far_from_unit",
        }
    }

    pub fn vi(self) -> &'static str {
        match self {
            Self::Over100 => "nhiều phiếu hơn số hồ sơ",
            Self::FarFromUnit => "khác xa mức của đơn vị",
        }
    }
}

/// How far from its unit's coverage an officer's may be before it is flagged: this many times
/// above, or this many times below.
pub const COVERAGE_FAR_FACTOR: f64 = 2.0;
/// The least dossiers served before a coverage is compared with the unit's (a few dossiers
/// make any share).
pub const COVERAGE_MIN_SERVED: u64 = 20;

/// Sets each row's coverage from the dossiers served by its target (`served`, by code), and
/// flags the implausible: over 100 %, or (for officers) at least [`COVERAGE_FAR_FACTOR`] times
/// the coverage of their unit (all the unit's officers in the report together) or at most its
/// inverse, once both have [`COVERAGE_MIN_SERVED`] dossiers.
pub fn apply_coverage(level: Level, rows: &mut [Row], served: &HashMap<String, u64>) {
    let mut per_unit: HashMap<String, (u64, u64)> = HashMap::new();
    for row in rows.iter_mut() {
        let Some(&dossiers) = served.get(&row.target.code).filter(|d| **d > 0) else { continue };
        let pct = row.responses as f64 * 100.0 / dossiers as f64;
        let flag = (row.responses > dossiers).then_some(CoverageFlag::Over100);
        row.coverage = Some(Coverage { served: dossiers, pct, flag });
        if let Some(unit) = &row.target.parent_code {
            let entry = per_unit.entry(unit.clone()).or_default();
            entry.0 += row.responses;
            entry.1 += dossiers;
        }
    }
    if level != Level::Officer {
        return;
    }
    for row in rows.iter_mut() {
        let Some(coverage) = row.coverage.as_mut().filter(|c| c.flag.is_none() && c.served >= COVERAGE_MIN_SERVED)
        else {
            continue;
        };
        let Some(&(rated, dossiers)) = row.target.parent_code.as_ref().and_then(|u| per_unit.get(u)) else { continue };
        if dossiers < COVERAGE_MIN_SERVED || rated == 0 {
            continue;
        }
        let ratio = coverage.pct / (rated as f64 * 100.0 / dossiers as f64);
        if ratio >= COVERAGE_FAR_FACTOR || ratio <= 1.0 / COVERAGE_FAR_FACTOR {
            coverage.flag = Some(CoverageFlag::FarFromUnit);
        }
    }
}

impl Row {
    /// The satisfied share (overall index) as (successes, trials) at its effective n.
    fn binomial(&self) -> Option<(f64, f64)> {
        let n = self.figures.overall_n;
        self.figures.overall.filter(|_| n > 0.0).map(|pct| (pct / 100.0 * n, n))
    }
}

/// Builds the rows of one questionnaire version's targets (the peer group) at `level`.
/// The `(satisfied, n)` of the rows that are peers of each other. Subtrees nest (a province
/// holds its communes, a commune its centre): they are not peers, and pooling them would count a
/// rating once per level. They get no shrinkage, funnel or rank; their band is an absolute
/// threshold and stays.
fn peers(level: Level, rows: &[Row]) -> Vec<(f64, f64)> {
    match level {
        Level::Subtree => Vec::new(),
        _ => rows.iter().filter_map(Row::binomial).collect(),
    }
}

/// The funnel the rows of one questionnaire version were placed on, for the method text: its
/// target, and whether (and by how much) overdispersion widened it.
pub fn peer_funnel(level: Level, rows: &[Row]) -> Option<Funnel> {
    Funnel::fit(&peers(level, rows))
}

///
/// One function because it applies the report's steps (figures, shrinkage, funnel, band,
/// suggestion, change) to each target in one pass over the same peers.
pub fn rows(level: Level, q: &Questionnaire, method: Method<'_>, targets: Vec<TargetCounts>) -> Vec<Row> {
    let asks_officer_points =
        q.questions.iter().any(|x| x.kind == QuestionKind::Indicator && x.evaluates == Some(Evaluates::Officer));
    let mut rows: Vec<Row> = targets
        .into_iter()
        .map(|t| {
            let figures = figures(q, &t.counts);
            let change = t.previous.as_ref().and_then(|(responses, counts)| {
                let before = super::indices::figures(q, counts);
                let previous_pct = before.overall?;
                let now = figures.overall?;
                let (n1, n0) = (figures.overall_n, before.overall_n);
                Some(Change {
                    previous_pct,
                    previous_responses: *responses,
                    p_value: two_proportion_p(now / 100.0 * n1, n1, previous_pct / 100.0 * n0, n0),
                })
            });
            Row {
                sufficient: t.responses >= method.min_sample && figures.overall.is_some(),
                target: t.target,
                questionnaire_version: t.questionnaire_version,
                responses: t.responses,
                figures,
                shrunk: None,
                rank: None,
                band: None,
                funnel: None,
                suggestion: None,
                change,
                coverage: None,
                flagged: t.flagged,
            }
        })
        .collect();

    let peers = peers(level, &rows);
    let prior = BetaPrior::fit(&peers);
    let funnel = Funnel::fit(&peers);
    for row in &mut rows {
        let Some((k, n)) = row.binomial() else { continue };
        if let Some(prior) = prior {
            let credible = prior.credible(k, n, 0.95).unwrap_or((prior.mean(), prior.mean()));
            row.shrunk = Some((prior.shrunk(k, n) * 100.0, (credible.0 * 100.0, credible.1 * 100.0)));
        }
        if !row.sufficient {
            continue;
        }
        row.funnel = funnel.map(|f| f.position(k, n));
        // Bands and levels are decided on the exact share, not on its floating-point figure.
        let Some(share) = row.figures.overall_exact.clone() else { continue };
        row.band = method.bands.of(&share).map(str::to_owned);
        if level == Level::Officer {
            let points = match (asks_officer_points, row.figures.officer_points_exact.clone()) {
                (false, _) => Points::NotAsked,
                (true, None) => Points::Unanswered,
                (true, Some(p)) => Points::Share(p),
            };
            row.suggestion = Some(method.suggestion.suggest(row.responses, &share, &points).to_owned());
        }
    }

    // Rank by the shrunk share (the raw share when no prior could be fitted), best first; ties
    // share a rank (1, 2, 2, 4).
    let score = |r: &Row| r.shrunk.map(|(s, _)| s).or(r.figures.overall).unwrap_or_default();
    let mut order: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].sufficient && level != Level::Subtree).collect();
    order.sort_by(|&a, &b| {
        score(&rows[b]).total_cmp(&score(&rows[a])).then(rows[a].target.code.cmp(&rows[b].target.code))
    });
    let mut last: Option<(f64, usize)> = None;
    for (place, &i) in order.iter().enumerate() {
        let s = score(&rows[i]);
        let rank = match last {
            Some((previous, rank)) if (previous - s).abs() < 1e-9 => rank,
            _ => place + 1,
        };
        rows[i].rank = Some(rank);
        last = Some((s, rank));
    }
    rows.sort_by(|a, b| match (a.rank, b.rank) {
        (Some(x), Some(y)) => x.cmp(&y).then(a.target.code.cmp(&b.target.code)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.target.code.cmp(&b.target.code),
    });
    rows
}

// Reports as the pages, the exports and the API read them.

/// What to report on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub period: Period,
    pub level: Level,
    /// The root of the unit subtree; `None` for everything the caller sees.
    pub unit: Option<String>,
    pub questionnaire: QuestionnaireId,
    /// Only the responses that came by this channel (a receipt, an open QR code); `None`: all.
    pub channel: Option<crate::domain::response::Channel>,
    /// Leave out the responses that carry a stuffing flag (`domain::flags`); by default every
    /// response no one excluded counts.
    pub without_flagged: bool,
}

/// A computed report.
#[derive(Clone, Debug)]
pub struct Report {
    pub query: Query,
    /// The name of the subtree's root unit, or of the whole scope.
    pub scope_name: String,
    /// The questionnaire versions that have rows, oldest first.
    pub versions: Vec<Arc<Questionnaire>>,
    /// Per version of `versions`, the versions whose responses its rows include: those that
    /// score alike (the same questions, values and weights, in other words), itself among them.
    pub pooled: std::collections::BTreeMap<i64, Vec<i64>>,
    pub rows: Vec<Row>,
    /// Per questionnaire version (`id@version`), the funnel its rows were placed on.
    pub funnels: Vec<(String, Funnel)>,
    pub min_sample: u64,
    pub bands: Bands,
    pub suggestion: Suggestion,
    /// The stuffing flags' rules the flags were given under.
    pub flag_rules: crate::domain::flags::Rules,
    pub generated_at_ms: i64,
}

impl Report {
    /// The latest version of the questionnaire with rows (its elements and indicators name the
    /// export's columns).
    pub fn latest(&self) -> Option<&Arc<Questionnaire>> {
        self.versions.last()
    }

    /// The flagged responses of the report's rows (counted in them, or left out of them).
    pub fn flagged_total(&self) -> u64 {
        self.rows.iter().map(|r| r.flagged.responses).sum()
    }

    /// Whether leaving the flagged responses out took `row` below the minimum sample.
    pub fn dropped_below_minimum(&self, row: &Row) -> bool {
        self.query.without_flagged
            && row.responses < self.min_sample
            && row.responses + row.flagged.responses >= self.min_sample
    }

    /// The rows leaving the flagged responses out took below the minimum sample.
    pub fn rows_dropped_below_minimum(&self) -> Vec<&Row> {
        self.rows.iter().filter(|r| self.dropped_below_minimum(r)).collect()
    }

    /// What the report did with the flagged responses, with their number, in one Vietnamese
    /// sentence, for every page, file and sheet made from it; and the rows it took below the
    /// minimum sample, when it left them out.
    pub fn flagged_statement(&self) -> String {
        let n = self.flagged_total();
        let version = &self.flag_rules.version;
        let mut text = if self.query.without_flagged {
            format!(
                "Không tính {n} phiếu gắn cờ (quy tắc {version}): số phiếu và mọi tỷ lệ chỉ trên các phiếu không có cờ."
            )
        } else {
            format!("Có tính {n} phiếu gắn cờ (quy tắc {version}) trong số phiếu và mọi tỷ lệ.")
        };
        let dropped = self.rows_dropped_below_minimum();
        if !dropped.is_empty() {
            let codes: Vec<&str> = dropped.iter().map(|r| r.target.code.as_str()).collect();
            text.push_str(&format!(
                " Cảnh báo: vì bỏ phiếu gắn cờ, {} dòng xuống dưới {} phiếu (chưa đủ dữ liệu, không xếp hạng, không xếp \
                 loại): {}.",
                dropped.len(),
                self.min_sample,
                codes.join(", ")
            ));
        }
        text
    }
}

/// The least responses a group must have before its comments are shown (domain spec §8).
pub const COMMENTS_MIN_RESPONSES: u64 = 5;

/// The written comments of a target, for those who may read them.
#[derive(Clone, Debug, PartialEq)]
pub enum Comments {
    /// The caller's role does not read comments.
    NotForRole,
    /// Fewer than [`COMMENTS_MIN_RESPONSES`] responses: listing them could point at a citizen.
    TooFew,
    /// In the order of their text, without dates.
    Listed(Vec<String>),
}

/// A target's page: its rows in the report of its level (whose targets are its peers), its
/// trend, the unit to compare it with, the officers under a unit, and its comments.
#[derive(Clone, Debug)]
pub struct Detail {
    pub report: Report,
    pub target: Target,
    /// The target's rows, one per questionnaire version, oldest version first.
    pub rows: Vec<Row>,
    /// The twelve months up to the period's end, each with the target's row (the version with
    /// the most responses), without comparison with peers.
    pub months: Vec<(Period, Option<Row>)>,
    /// The quarters of the year the period ends in, likewise.
    pub quarters: Vec<(Period, Option<Row>)>,
    /// For a desk or an officer: the row of its unit (the officer's: where most of the
    /// period's ratings were given) in the same period.
    pub unit: Option<Row>,
    /// For a unit or subtree: the report of the officers who were rated in it.
    pub officers: Option<Report>,
    /// The target's row by channel (a receipt, an open QR code), when the page is not already
    /// limited to one: the receipt-verified share beside the open one.
    pub channels: Vec<(crate::domain::response::Channel, Option<Row>)>,
    pub comments: Comments,
}

impl Detail {
    /// The row of the latest questionnaire version.
    pub fn row(&self) -> Option<&Row> {
        self.rows.last()
    }

    /// The questionnaire of a row.
    pub fn questionnaire(&self, row: &Row) -> Option<&Arc<Questionnaire>> {
        self.report.versions.iter().find(|q| q.version == row.questionnaire_version)
    }
}

/// The levels that have a page.
pub const PAGE_LEVELS: [Level; 4] = [Level::Subtree, Level::Unit, Level::Desk, Level::Officer];

/// The dashboard of a caller: the figures of everything in their scope for a period, its
/// monthly trend, and the units at the top of their tree with their subtrees' figures.
#[derive(Clone, Debug)]
pub struct Overview {
    pub period: Period,
    pub questionnaire: String,
    /// The whole scope as one target.
    pub total: Option<Row>,
    pub months: Vec<(Period, Option<Row>)>,
    /// The subtree rows of the units at the top of the caller's tree and of their children, in
    /// the tree's order (a unit before its children); not ranked against each other, since a
    /// unit and its own children are not peers.
    pub units: Vec<Row>,
    pub min_sample: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::questionnaire::SHIPPED;

    fn target(code: &str, satisfied: u64, n: u64) -> TargetCounts {
        let mut counts = Counts::new();
        counts.insert(("hai_long_chung".into(), 5), satisfied);
        if n > satisfied {
            counts.insert(("hai_long_chung".into(), 2), n - satisfied);
        }
        TargetCounts {
            target: Target { code: code.into(), name: code.into(), parent_code: None },
            questionnaire_version: 1,
            responses: n,
            counts,
            previous: None,
            flagged: Flagged::default(),
        }
    }

    fn method<'a>(bands: &'a Bands, rule: &'a Suggestion) -> Method<'a> {
        Method { min_sample: 30, bands, suggestion: rule }
    }

    #[test]
    fn coverage_is_rated_over_served_and_the_implausible_is_flagged() {
        let q = Questionnaire::from_toml(SHIPPED[0]).unwrap();
        let (bands, rule) = (Bands::default(), Suggestion::default());
        let officer = |code: &str, n: u64| {
            let mut t = target(code, n / 2, n);
            t.target.parent_code = Some("DV".into());
            t
        };
        // Four officers of one unit; served 100 dossiers each.
        let targets = vec![officer("A", 40), officer("B", 45), officer("C", 150), officer("D", 8), officer("E", 30)];
        let mut rows = rows(Level::Officer, &q, method(&bands, &rule), targets);
        let served: HashMap<String, u64> = [("A", 100), ("B", 100), ("C", 100), ("D", 100), ("E", 10)]
            .iter()
            .map(|(c, n)| ((*c).to_owned(), *n))
            .collect();
        apply_coverage(Level::Officer, &mut rows, &served);
        let of = |code: &str| rows.iter().find(|r| r.target.code == code).and_then(|r| r.coverage).unwrap();
        assert_eq!(of("A").pct, 40.0);
        assert_eq!(of("A").flag, None, "near the unit's (273 of 410 = 67 %)");
        assert_eq!(of("C").flag, Some(CoverageFlag::Over100), "150 ratings of 100 dossiers");
        assert_eq!(of("D").flag, Some(CoverageFlag::FarFromUnit), "8 % against the unit's 67 %");
        assert_eq!(of("E").flag, Some(CoverageFlag::Over100), "30 of 10");
        assert_eq!(of("E").served, 10);
        let mut unserved = rows.clone();
        for r in &mut unserved {
            r.coverage = None;
        }
        apply_coverage(Level::Officer, &mut unserved, &HashMap::new());
        assert!(unserved.iter().all(|r| r.coverage.is_none()), "no count, no coverage");
    }

    #[test]
    fn nested_subtrees_are_banded_but_not_ranked_shrunk_or_put_on_a_funnel() {
        let q = Questionnaire::from_toml(SHIPPED[0]).unwrap();
        let (bands, rule) = (Bands::default(), Suggestion::default());
        let province = target("TINH", 160, 200);
        let rows = rows(Level::Subtree, &q, method(&bands, &rule), vec![province, target("XA", 90, 100)]);
        for row in &rows {
            assert!(row.sufficient && row.band.is_some(), "{row:?}");
            assert!(row.rank.is_none() && row.shrunk.is_none() && row.funnel.is_none(), "{row:?}");
        }
        let codes: Vec<&str> = rows.iter().map(|r| r.target.code.as_str()).collect();
        assert_eq!(codes, vec!["TINH", "XA"], "in code order, the tree's");
    }

    #[test]
    fn few_ratings_are_shown_but_not_ranked_banded_or_suggested() {
        let q = Questionnaire::from_toml(SHIPPED[0]).unwrap();
        let (bands, rule) = (Bands::default(), Suggestion::default());
        let rows = rows(
            Level::Officer,
            &q,
            method(&bands, &rule),
            vec![target("A", 90, 100), target("B", 5, 5), target("C", 70, 100), target("D", 40, 50)],
        );
        let codes: Vec<&str> = rows.iter().map(|r| r.target.code.as_str()).collect();
        assert_eq!(codes, vec!["A", "D", "C", "B"], "ranked first, the insufficient after");
        let b = rows.iter().find(|r| r.target.code == "B").unwrap();
        assert!(!b.sufficient && b.rank.is_none() && b.band.is_none() && b.suggestion.is_none());
        assert_eq!(b.figures.overall, Some(100.0), "still shown");
        let (shrunk, _) = b.shrunk.unwrap();
        assert!(shrunk < 100.0, "five perfect ratings are pulled toward the peers");
        let a = &rows[0];
        assert_eq!((a.rank, a.band.as_deref()), (Some(1), Some("Tốt")));
        assert_eq!(a.suggestion.as_deref(), Some("Cần người đánh giá xem xét"), "no indicator points answered");
    }

    #[test]
    fn the_shrunk_share_lies_between_the_raw_share_and_the_peer_mean_and_ranks_fairly() {
        let q = Questionnaire::from_toml(SHIPPED[0]).unwrap();
        let (bands, rule) = (Bands::default(), Suggestion::default());
        // 31/31 beats 290/300 on the raw share, not on the evidence, among peers near 85 %.
        let peers = vec![
            target("FEW", 31, 31),
            target("MANY", 290, 300),
            target("P1", 170, 200),
            target("P2", 172, 200),
            target("P3", 166, 200),
            target("P4", 175, 200),
        ];
        let total: (u64, u64) = (31 + 290 + 170 + 172 + 166 + 175, 31 + 300 + 800);
        let rows = rows(Level::Officer, &q, method(&bands, &rule), peers);
        let pooled = total.0 as f64 / total.1 as f64 * 100.0;
        for r in &rows {
            let raw = r.figures.overall.unwrap();
            let (shrunk, (lo, hi)) = r.shrunk.unwrap();
            let (a, b) = if raw < pooled { (raw, pooled) } else { (pooled, raw) };
            assert!(
                a - 1e-9 <= shrunk && shrunk <= b + 1e-9,
                "{}: {shrunk} not between {raw} and {pooled}",
                r.target.code
            );
            assert!(lo <= shrunk && shrunk <= hi);
        }
        let rank = |code: &str| rows.iter().find(|r| r.target.code == code).unwrap().rank.unwrap();
        assert!(rank("MANY") < rank("FEW"), "{rows:#?}");
    }

    #[test]
    fn the_funnel_flags_a_unit_far_below_its_peers() {
        let q = Questionnaire::from_toml(SHIPPED[0]).unwrap();
        let (bands, rule) = (Bands::default(), Suggestion::default());
        let peers = ["A", "B", "C", "D", "E", "F", "G", "H", "I"].iter().map(|c| target(c, 170, 200));
        let rows = rows(Level::Unit, &q, method(&bands, &rule), peers.chain([target("LOW", 60, 100)]).collect());
        let flag = |code: &str| rows.iter().find(|r| r.target.code == code).unwrap().funnel;
        assert_eq!(flag("LOW"), Some(FunnelPosition::WellBelow));
        assert_eq!(flag("A"), Some(FunnelPosition::Within));
    }

    #[test]
    fn the_change_since_the_previous_period_is_tested() {
        let q = Questionnaire::from_toml(SHIPPED[0]).unwrap();
        let (bands, rule) = (Bands::default(), Suggestion::default());
        let mut now = target("A", 180, 200);
        now.previous = Some((200, target("A", 150, 200).counts));
        let rows = rows(Level::Unit, &q, method(&bands, &rule), vec![now]);
        let change = rows[0].change.unwrap();
        assert_eq!((change.previous_pct, change.previous_responses), (75.0, 200));
        // statsmodels 0.15.0: proportions_ztest([180, 150], [200, 200]) -> p = 7.890224e-05.
        assert!((change.p_value.unwrap() - 7.890224e-05).abs() < 1e-9);
        assert!(rows[0].suggestion.is_none(), "suggestions are for officers");
    }
}
