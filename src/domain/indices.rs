//! The figures of one target (a unit, desk, officer, ...) for one questionnaire version, from
//! its answer counts: per question the distribution, n, satisfied share with its Wilson
//! interval and mean score; per element its index; the overall index as the weighted mean of
//! the elements; the Decision 766 rate; the mean points of each one-stop indicator.

use std::collections::BTreeMap;

use super::exact::{self, Exact};
use super::questionnaire::{
    COMPOSITE_ID, COMPOSITE_SCALE, Evaluates, QuestionKind, Questionnaire, Regime, alpha_item_id, alpha_sum_id,
};
use super::stats::{cronbach_alpha, wilson};

/// Answer counts of one target: (question id, value) → count.
pub type Counts = BTreeMap<(String, i64), u64>;

/// The figures of one satisfaction question.
#[derive(Clone, Debug, PartialEq)]
pub struct QuestionFigures {
    pub question_id: String,
    /// Answers on the scale (blanks excluded).
    pub n: u64,
    /// Answers at or above the scale's `satisfied_min`.
    pub satisfied: u64,
    /// satisfied / n × 100.
    pub share: Option<f64>,
    /// The 95% Wilson interval of the share, in percent.
    pub interval: Option<(f64, f64)>,
    pub mean: Option<f64>,
}

/// The figures of one target for one questionnaire version.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    pub questions: Vec<QuestionFigures>,
    /// Question id → the answers given at each level of its scale, in the scale's order (the
    /// questions with a scale, answered or not; blanks are not a level).
    pub distributions: BTreeMap<String, Vec<(i64, u64)>>,
    /// Element id → index (percent).
    pub elements: BTreeMap<String, f64>,
    /// Element id → the effective number of answers behind its index.
    pub element_n: BTreeMap<String, f64>,
    /// The weighted mean of the element indices, over the elements that have data.
    pub overall: Option<f64>,
    /// The same as an exact share (0–1), for the comparisons that band and suggest.
    pub overall_exact: Option<Exact>,
    /// The effective number of observations behind the overall index, counting a respondent
    /// once: n · p(1 − p) / v, where v is the variance of the responses' own overall scores
    /// ([`COMPOSITE_ID`]) — n when every response answers every element alike, up to the number
    /// of answers when its elements are answered independently; never more than Kish's
    /// 1 / Σ (wᵢ/Σw)² / nᵢ over the element answers, which it falls back to where no response
    /// has its score counted.
    pub overall_n: f64,
    /// The 95% Wilson interval of the overall index at its effective number of answers.
    pub overall_interval: Option<(f64, f64)>,
    /// The mean score on the scale, weighted over the elements as the overall index is.
    pub overall_mean: Option<f64>,
    /// (answers − answers rated 1 or 2) / answers × 100 on the overall question (one-stop only).
    pub rate_766: Option<f64>,
    /// Indicator number → mean points (0–2) of the citizens who answered it.
    pub indicator_points: BTreeMap<u8, f64>,
    /// Sum of the mean points of the indicators that evaluate the officer, and the unit.
    pub officer_points: Option<f64>,
    pub unit_points: Option<f64>,
    /// Element id → Cronbach's alpha of its criteria and the number of responses that answered
    /// all of them (the elements with two criteria or more, from two such responses).
    pub alpha: BTreeMap<String, (f64, u64)>,
    /// The most points those answered indicators could give (their scales' top values).
    pub officer_points_max: Option<f64>,
    pub unit_points_max: Option<f64>,
    /// The officer's points as an exact share (0–1) of the most they could be.
    pub officer_points_exact: Option<Exact>,
}

impl Figures {
    /// The officer's points as a percentage of the most they could be.
    pub fn officer_points_pct(&self) -> Option<f64> {
        points_pct(self.officer_points, self.officer_points_max)
    }

    /// The unit's points (the indicators that judge the unit) as a percentage of the most.
    pub fn unit_points_pct(&self) -> Option<f64> {
        points_pct(self.unit_points, self.unit_points_max)
    }

    /// The points a target is judged on, an officer's own indicators or else the unit's, as
    /// (points, most, percent of the most).
    pub fn points_of(&self, officer: bool) -> Option<(f64, f64, f64)> {
        match officer {
            true => Some((self.officer_points?, self.officer_points_max?, self.officer_points_pct()?)),
            false => Some((self.unit_points?, self.unit_points_max?, self.unit_points_pct()?)),
        }
    }
}

fn points_pct(points: Option<f64>, most: Option<f64>) -> Option<f64> {
    points.zip(most).filter(|(_, most)| *most > 0.0).map(|(p, most)| percent(p / most))
}

/// The effective number of observations behind a weighted mean of independent shares
/// (Kish 1965): 1 / Σ (wᵢ / Σw)² / nᵢ.
pub fn effective_n(parts: &[(f64, f64)]) -> f64 {
    let total: f64 = parts.iter().map(|(w, _)| w).sum();
    let sum: f64 = parts.iter().filter(|(_, n)| *n > 0.0).map(|(w, n)| (w / total).powi(2) / n).sum();
    if total > 0.0 && sum > 0.0 { 1.0 / sum } else { 0.0 }
}

/// The effective number of observations behind a share `p` that is the mean of the responses'
/// own scores, from the scores' counts: n · p(1 − p) / v, v their variance; n when they do not
/// vary. `None` without counted scores.
fn respondent_n(scores: &[(i64, u64)], p: f64) -> Option<f64> {
    let n: u64 = scores.iter().map(|(_, c)| c).sum();
    if n == 0 {
        return None;
    }
    let n = n as f64;
    let scale = COMPOSITE_SCALE as f64;
    let mean = scores.iter().map(|(v, c)| *v as f64 / scale * *c as f64).sum::<f64>() / n;
    let variance = scores.iter().map(|(v, c)| (*v as f64 / scale - mean).powi(2) * *c as f64).sum::<f64>() / n;
    let binomial = p * (1.0 - p);
    if variance <= 1e-12 || binomial <= 0.0 {
        return Some(n);
    }
    Some(n * binomial / variance)
}

fn percent(x: f64) -> f64 {
    x * 100.0
}

/// Computes the figures from counts; questions without answers have no share.
///
/// One function because it follows the methodology's formulas in their published order, each figure
/// reading the ones before it; the steps are named by comments.
pub fn figures(q: &Questionnaire, counts: &Counts) -> Figures {
    let count_of = |question: &str| -> Vec<(i64, u64)> {
        counts
            .range((question.to_owned(), i64::MIN)..=(question.to_owned(), i64::MAX))
            .map(|((_, v), c)| (*v, *c))
            .collect()
    };
    let mut questions = Vec::new();
    let mut exact_shares: BTreeMap<&str, Exact> = BTreeMap::new();
    let mut exact_points: BTreeMap<u8, Exact> = BTreeMap::new();
    let mut indicator_points = BTreeMap::new();
    let mut distributions = BTreeMap::new();
    for question in &q.questions {
        let values = count_of(&question.id);
        let levels = q.options(question);
        if !levels.is_empty() {
            let at = |level: i64| values.iter().find(|(v, _)| *v == level).map_or(0, |(_, c)| *c);
            distributions.insert(question.id.clone(), levels.iter().map(|l| (l.value, at(l.value))).collect());
        }
        let on_scale: Vec<(i64, u64)> =
            values.into_iter().filter(|(v, _)| levels.iter().any(|l| l.value == *v)).collect();
        let n: u64 = on_scale.iter().map(|(_, c)| c).sum();
        let mean = (n > 0).then(|| on_scale.iter().map(|(v, c)| *v as f64 * *c as f64).sum::<f64>() / n as f64);
        match question.kind {
            QuestionKind::Satisfaction | QuestionKind::Criterion => {
                let min = question.scale.as_deref().and_then(|s| q.scale(s)).and_then(|s| s.satisfied_min);
                let satisfied: u64 =
                    on_scale.iter().filter(|(v, _)| min.is_some_and(|m| *v >= m)).map(|(_, c)| c).sum();
                if let Some(share) = exact::ratio(satisfied, n) {
                    exact_shares.insert(question.id.as_str(), share);
                }
                questions.push(QuestionFigures {
                    question_id: question.id.clone(),
                    n,
                    satisfied,
                    share: (n > 0).then(|| percent(satisfied as f64 / n as f64)),
                    interval: wilson(satisfied as f64, n as f64, 0.95).map(|(lo, hi)| (percent(lo), percent(hi))),
                    mean,
                });
            }
            QuestionKind::Indicator => {
                if let (Some(number), Some(mean)) = (question.indicator, mean) {
                    let points: i64 = on_scale.iter().map(|(v, c)| v * *c as i64).sum();
                    if let Some(exact) = exact::ratio(points.max(0) as u64, n) {
                        exact_points.insert(number, exact);
                    }
                    indicator_points.insert(number, mean);
                }
            }
        }
    }

    let share_of =
        |id: &str| questions.iter().find(|f| f.question_id == id).and_then(|f| Some((f.share?, f.n as f64, f.mean?)));
    let mut element_mean: BTreeMap<String, f64> = BTreeMap::new();
    let mut element_exact: BTreeMap<&str, Exact> = BTreeMap::new();
    let mut elements = BTreeMap::new();
    let mut element_n = BTreeMap::new();
    for element in &q.elements {
        let in_element = |kind: QuestionKind| {
            q.questions.iter().filter(move |x| x.kind == kind && x.element.as_deref() == Some(element.id.as_str()))
        };
        let index = match in_element(QuestionKind::Satisfaction).find_map(|x| share_of(&x.id)) {
            Some(share) => Some(share),
            None => {
                let shares: Vec<(f64, f64, f64)> =
                    in_element(QuestionKind::Criterion).filter_map(|x| share_of(&x.id)).collect();
                let parts: Vec<(f64, f64)> = shares.iter().map(|(_, n, _)| (1.0, *n)).collect();
                let m = shares.len() as f64;
                (!shares.is_empty()).then(|| {
                    let share = shares.iter().map(|(s, ..)| s).sum::<f64>() / m;
                    (share, effective_n(&parts), shares.iter().map(|(.., mean)| mean).sum::<f64>() / m)
                })
            }
        };
        let exact = match in_element(QuestionKind::Satisfaction).find_map(|x| exact_shares.get(x.id.as_str())) {
            Some(share) => Some(share.clone()),
            None => {
                let shares: Vec<Exact> = in_element(QuestionKind::Criterion)
                    .filter_map(|x| exact_shares.get(x.id.as_str()).cloned())
                    .collect();
                exact::mean(&shares)
            }
        };
        if let Some(exact) = exact {
            element_exact.insert(element.id.as_str(), exact);
        }
        if let Some((index, n, mean)) = index {
            elements.insert(element.id.clone(), index);
            element_n.insert(element.id.clone(), n);
            element_mean.insert(element.id.clone(), mean);
        }
    }
    let weighted: Vec<(f64, f64, f64)> = q
        .elements
        .iter()
        .filter(|e| e.weight > 0.0)
        .filter_map(|e| Some((e.weight, *elements.get(&e.id)?, *element_n.get(&e.id)?)))
        .collect();
    let weight: f64 = weighted.iter().map(|(w, ..)| w).sum();
    let overall = (weight > 0.0).then(|| weighted.iter().map(|(w, i, _)| w * i).sum::<f64>() / weight);
    let overall_exact = exact::weighted_mean(
        &q.elements
            .iter()
            .filter(|e| e.weight > 0.0)
            .filter_map(|e| Some((exact::decimal(e.weight), element_exact.get(e.id.as_str())?.clone())))
            .collect::<Vec<_>>(),
    );
    let overall_mean = (weight > 0.0).then(|| {
        q.elements
            .iter()
            .filter(|e| e.weight > 0.0)
            .filter_map(|e| Some(e.weight * element_mean.get(&e.id)?))
            .sum::<f64>()
            / weight
    });
    let kish_n = effective_n(&weighted.iter().map(|(w, _, n)| (*w, *n)).collect::<Vec<_>>());
    let overall_n = overall
        .and_then(|share| respondent_n(&count_of(COMPOSITE_ID), share / 100.0))
        .map_or(kish_n, |n| n.min(kish_n));
    let overall_interval = overall.and_then(|share| {
        wilson(share / 100.0 * overall_n, overall_n, 0.95).map(|(lo, hi)| (percent(lo), percent(hi)))
    });

    let rate_766 = match q.regime {
        Regime::MotCua => q.questions.iter().find(|x| x.kind == QuestionKind::Satisfaction).and_then(|x| {
            let f = questions.iter().find(|f| f.question_id == x.id)?;
            let low: u64 = count_of(&x.id).iter().filter(|(v, _)| *v <= 2).map(|(_, c)| c).sum();
            (f.n > 0).then(|| percent((f.n - low) as f64 / f.n as f64))
        }),
        Regime::Sipas => None,
    };

    let total = |who: Evaluates| {
        let answered: Vec<(f64, f64)> = q
            .questions
            .iter()
            .filter(|x| x.kind == QuestionKind::Indicator && x.evaluates == Some(who))
            .filter_map(|x| {
                let mean = x.indicator.and_then(|i| indicator_points.get(&i)).copied()?;
                let top = q.options(x).iter().map(|l| l.value).max()? as f64;
                Some((mean, top))
            })
            .collect();
        let sum = |pick: fn(&(f64, f64)) -> f64| (!answered.is_empty()).then(|| answered.iter().map(pick).sum());
        (sum(|a| a.0), sum(|a| a.1))
    };
    let variance = |id: &str| -> Option<(f64, u64)> {
        let values = count_of(id);
        let n: u64 = values.iter().map(|(_, c)| c).sum();
        (n >= 2).then(|| {
            let mean = values.iter().map(|(v, c)| *v as f64 * *c as f64).sum::<f64>() / n as f64;
            let squares = values.iter().map(|(v, c)| (*v as f64 - mean).powi(2) * *c as f64).sum::<f64>();
            (squares / (n - 1) as f64, n)
        })
    };
    let alpha = q
        .alpha_elements()
        .into_iter()
        .filter_map(|(element, criteria)| {
            let (total_variance, n) = variance(&alpha_sum_id(&element.id))?;
            let items: Vec<f64> =
                criteria.iter().map(|c| variance(&alpha_item_id(&element.id, &c.id)).map_or(0.0, |(v, _)| v)).collect();
            Some((element.id.clone(), (cronbach_alpha(&items, total_variance)?, n)))
        })
        .collect();

    let (officer_points, officer_points_max) = total(Evaluates::Officer);
    let officer_points_exact = {
        let answered: Vec<(Exact, i64)> = q
            .questions
            .iter()
            .filter(|x| x.kind == QuestionKind::Indicator && x.evaluates == Some(Evaluates::Officer))
            .filter_map(|x| {
                Some((exact_points.get(&x.indicator?)?.clone(), q.options(x).iter().map(|l| l.value).max()?))
            })
            .collect();
        let most: i64 = answered.iter().map(|(_, top)| top).sum();
        let points: Exact = answered.iter().map(|(p, _)| p.clone()).sum();
        (most > 0).then(|| points / Exact::from_integer(most.into()))
    };
    let (unit_points, unit_points_max) = total(Evaluates::Unit);
    Figures {
        questions,
        distributions,
        elements,
        element_n,
        overall,
        overall_exact,
        overall_n,
        overall_interval,
        overall_mean,
        rate_766,
        alpha,
        officer_points,
        unit_points,
        officer_points_max,
        unit_points_max,
        officer_points_exact,
        indicator_points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::questionnaire::SHIPPED;

    fn counts(pairs: &[(&str, i64, u64)]) -> Counts {
        pairs.iter().map(|(q, v, c)| ((q.to_string(), *v), *c)).collect()
    }

    /// The one-stop form's two elements, satisfied x₁ of n₁ and x₂ of n₂ times.
    fn two_elements(x1: u64, n1: u64, x2: u64, n2: u64) -> Counts {
        counts(&[
            ("hai_long_chung", 5, x1),
            ("hai_long_chung", 1, n1 - x1),
            ("thuan_tien", 5, x2),
            ("thuan_tien", 1, n2 - x2),
        ])
    }

    /// Every pair of element shares x₁/n₁ and x₂/n₂ (n up to 120) whose mean lands exactly on
    /// a band's or a suggested level's threshold is put on the threshold's side: found by
    /// integer arithmetic, then run through the figures and the bands as a report runs them.
    #[test]
    fn exact_thresholds_are_met_for_every_pair_of_shares_up_to_120() {
        use crate::domain::method::{Bands, Points, Suggestion};
        let q = Questionnaire::from_toml(SHIPPED[0]).unwrap();
        let (bands, rule) = (Bands::default(), Suggestion::default());
        let mut thresholds: Vec<u64> = bands.levels.iter().map(|b| b.min_pct as u64).collect();
        thresholds.extend(rule.levels.iter().map(|l| l.min_pct as u64));
        thresholds.sort_unstable();
        thresholds.dedup();
        let mut on_threshold = 0;
        for n1 in 1..=120u64 {
            for n2 in n1..=120u64 {
                for x1 in 0..=n1 {
                    for x2 in 0..=n2 {
                        // mean × 100 = T  ⇔  100 (x₁ n₂ + x₂ n₁) = 2 T n₁ n₂
                        let lhs = 100 * (x1 * n2 + x2 * n1);
                        let Some(&t) = thresholds.iter().find(|&&t| lhs == 2 * t * n1 * n2) else { continue };
                        on_threshold += 1;
                        let f = figures(&q, &two_elements(x1, n1, x2, n2));
                        let share = f.overall_exact.clone().unwrap();
                        let band = bands.levels.iter().find(|b| b.min_pct as u64 <= t).unwrap();
                        assert_eq!(bands.of(&share), Some(band.name.as_str()), "{x1}/{n1}, {x2}/{n2} at {t}");
                        let level = rule
                            .levels
                            .iter()
                            .find(|l| l.min_pct as u64 <= t)
                            .map_or(rule.otherwise.as_str(), |l| l.name.as_str());
                        assert_eq!(rule.suggest(200, &share, &Points::NotAsked), level, "{x1}/{n1}, {x2}/{n2} at {t}");
                    }
                }
            }
        }
        assert!(on_threshold > 1000, "{on_threshold} cases on a threshold");
        // The audit's cases.
        let f = figures(&q, &two_elements(10, 30, 20, 30));
        assert_eq!(bands.of(&f.overall_exact.unwrap()), Some("Trung bình"), "10/30 and 20/30 are 50 %");
        let f = figures(&q, &two_elements(9, 35, 33, 35));
        assert_eq!(
            rule.suggest(200, &f.overall_exact.unwrap(), &Points::NotAsked),
            "Hoàn thành nhiệm vụ",
            "9/35 and 33/35"
        );
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn one_stop_figures_by_hand() {
        let q = Questionnaire::from_toml(SHIPPED[0]).unwrap();
        // Overall: 40 × 5, 30 × 4, 10 × 3, 15 × 2, 5 × 1 → n 100, satisfied 70, mean 3.85,
        // 766 rate (100 − 20)/100 = 80 %. Convenience: 8 × 5, 2 × 2 → 80 %.
        // Indicators: ct1 2,2,1,0 → 1.25; ct7 2,2 → 2; ct6 (unit) 1 → 1.
        let c = counts(&[
            ("hai_long_chung", 5, 40),
            ("hai_long_chung", 4, 30),
            ("hai_long_chung", 3, 10),
            ("hai_long_chung", 2, 15),
            ("hai_long_chung", 1, 5),
            ("thuan_tien", 5, 8),
            ("thuan_tien", 2, 2),
            ("ct1_thoi_gian", 2, 2),
            ("ct1_thoi_gian", 1, 1),
            ("ct1_thoi_gian", 0, 1),
            ("ct7_thai_do", 2, 2),
            ("ct6_cong_khai", 1, 1),
        ]);
        let f = figures(&q, &c);
        let overall_q = &f.questions[0];
        assert_eq!((overall_q.n, overall_q.satisfied), (100, 70));
        assert!(close(overall_q.share.unwrap(), 70.0));
        assert!(close(overall_q.mean.unwrap(), 3.85));
        // statsmodels 0.15.0 proportion_confint(70, 100, method="wilson") = (0.604151, 0.781051)
        let (lo, hi) = overall_q.interval.unwrap();
        assert!((lo - 60.4151).abs() < 1e-3 && (hi - 78.1051).abs() < 1e-3, "({lo}, {hi})");
        assert!(close(f.elements["chung"], 70.0) && close(f.elements["thuan_tien"], 80.0));
        assert!(close(f.overall.unwrap(), 75.0), "equal weights");
        // Means 3.85 and (8·5 + 2·2)/10 = 4.4, weighted equally.
        assert!(close(f.overall_mean.unwrap(), (3.85 + 4.4) / 2.0));
        assert!(close(f.rate_766.unwrap(), 80.0));
        assert!(close(f.indicator_points[&1], 1.25) && close(f.indicator_points[&7], 2.0));
        assert!(close(f.officer_points.unwrap(), 3.25), "indicators 1 and 7 answered");
        assert!(close(f.unit_points.unwrap(), 1.0));
        assert!(close(f.officer_points_max.unwrap(), 4.0) && close(f.officer_points_pct().unwrap(), 81.25));
        // Overall 75 % over the two elements: n_eff = 1 / (0.25/100 + 0.25/10) = 36.3636…;
        // statsmodels 0.15.0 proportion_confint(300/11, 400/11, method="wilson")
        // = (0.590152, 0.862075).
        assert!(close(f.overall_n, 400.0 / 11.0));
        assert_eq!(f.distributions["hai_long_chung"], vec![(5, 40), (4, 30), (3, 10), (2, 15), (1, 5)]);
        assert_eq!(f.distributions["ct7_thai_do"].iter().map(|(_, c)| c).sum::<u64>(), 2);
        let (lo, hi) = f.overall_interval.unwrap();
        assert!((lo - 59.0152).abs() < 1e-3 && (hi - 86.2075).abs() < 1e-3, "({lo}, {hi})");
    }

    /// The counts of responses given as (answers, how many), with what the writer derives.
    fn counts_of(q: &Questionnaire, responses: &[(Vec<(String, i64)>, u64)]) -> Counts {
        let mut c = Counts::new();
        for (answers, times) in responses {
            for (id, v) in answers.iter().cloned().chain(q.derived(answers)) {
                *c.entry((id, v)).or_default() += times;
            }
        }
        c
    }

    /// The satisfaction question of each element with a weight, in the questionnaire's order.
    fn element_questions(q: &Questionnaire) -> Vec<String> {
        q.elements
            .iter()
            .filter(|e| e.weight > 0.0)
            .filter_map(|e| {
                q.questions
                    .iter()
                    .find(|x| x.kind == QuestionKind::Satisfaction && x.element.as_deref() == Some(e.id.as_str()))
                    .map(|x| x.id.clone())
            })
            .collect()
    }

    #[test]
    fn a_respondent_counts_once_when_all_their_answers_agree() {
        for text in SHIPPED {
            let q = Questionnaire::from_toml(text).unwrap();
            let ids = element_questions(&q);
            let alike = |v: i64| ids.iter().map(|id| (id.clone(), v)).collect::<Vec<_>>();
            let f = figures(&q, &counts_of(&q, &[(alike(5), 40), (alike(2), 20)]));
            assert!(close(f.overall.unwrap(), 200.0 / 3.0), "{}", q.id);
            assert!(close(f.overall_n, 60.0), "{}: 60 respondents, not {} answers", q.id, f.overall_n);
            let (lo, hi) = wilson(40.0, 60.0, 0.95).unwrap();
            let (a, b) = f.overall_interval.unwrap();
            assert!(close(a, lo * 100.0) && close(b, hi * 100.0), "{}: Wilson's at n responses exactly", q.id);
        }
    }

    /// Citizens whose answers to the elements correlate by ρ (a shared latent factor): the 95%
    /// interval of the overall index covers the true index 93–97% of the time, whatever ρ.
    #[test]
    fn the_overall_interval_covers_95_percent_however_the_answers_correlate() {
        use rand::{Rng, SeedableRng};
        use statrs::distribution::{ContinuousCDF, Normal};
        let normal = Normal::new(0.0, 1.0).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
        const RESPONSES: usize = 150;
        const REPLICATIONS: usize = 800;
        for (text, shares) in [(SHIPPED[0], vec![0.75, 0.85]), (SHIPPED[1], vec![0.7, 0.8, 0.85, 0.9, 0.75])] {
            let q = Questionnaire::from_toml(text).unwrap();
            let ids = element_questions(&q);
            assert_eq!(ids.len(), shares.len(), "{}", q.id);
            let truth = shares.iter().sum::<f64>() / shares.len() as f64 * 100.0;
            let cuts: Vec<f64> = shares.iter().map(|p| normal.inverse_cdf(*p)).collect();
            for rho in [0.0f64, 0.5, 0.85, 1.0] {
                let mut covered = 0;
                for _ in 0..REPLICATIONS {
                    // Responses by pattern (a bit per element satisfied): few patterns, counted.
                    let mut patterns = vec![0u64; 1 << ids.len()];
                    for _ in 0..RESPONSES {
                        let mut draw = || normal.inverse_cdf(rng.random_range(1e-12..1.0 - 1e-12));
                        let shared = draw();
                        let pattern = cuts.iter().enumerate().fold(0usize, |bits, (i, cut)| {
                            let x = rho.sqrt() * shared + (1.0 - rho).sqrt() * draw();
                            bits | (usize::from(x < *cut) << i)
                        });
                        patterns[pattern] += 1;
                    }
                    let responses: Vec<(Vec<(String, i64)>, u64)> = patterns
                        .iter()
                        .enumerate()
                        .filter(|(_, n)| **n > 0)
                        .map(|(bits, n)| {
                            let answers = ids
                                .iter()
                                .enumerate()
                                .map(|(i, id)| (id.clone(), if bits >> i & 1 == 1 { 5 } else { 2 }));
                            (answers.collect(), *n)
                        })
                        .collect();
                    let (lo, hi) = figures(&q, &counts_of(&q, &responses)).overall_interval.unwrap();
                    covered += usize::from(lo <= truth && truth <= hi);
                }
                let coverage = covered as f64 / REPLICATIONS as f64;
                assert!((0.93..=0.97).contains(&coverage), "{} at ρ = {rho}: coverage {coverage}", q.id);
            }
        }
    }

    #[test]
    fn the_effective_n_of_one_question_is_its_answers() {
        assert!(close(effective_n(&[(1.0, 57.0)]), 57.0));
        assert!(close(effective_n(&[(2.0, 50.0), (2.0, 50.0)]), 100.0), "two equal halves add up");
        assert_eq!(effective_n(&[]), 0.0);
        // Unequal weights give less than the sum: 1 / (0.75²/100 + 0.25²/100) = 160.
        assert!(close(effective_n(&[(3.0, 100.0), (1.0, 100.0)]), 160.0));
    }

    #[test]
    fn blanks_and_off_scale_values_stay_out_of_the_denominator() {
        let q = Questionnaire::from_toml(SHIPPED[0]).unwrap();
        let f = figures(&q, &counts(&[("hai_long_chung", 5, 3), ("hai_long_chung", 9, 4)]));
        assert_eq!(f.questions[0].n, 3);
        assert!(f.questions[1].share.is_none(), "no answers, no share");
        assert!(!f.elements.contains_key("thuan_tien"));
        assert!(close(f.overall.unwrap(), 100.0), "the overall weighs only elements with data");
    }

    #[test]
    fn cronbach_alpha_per_element_from_the_derived_counts_of_complete_responses() {
        let q = Questionnaire::from_toml(SHIPPED[1]).unwrap();
        let mut c = Counts::new();
        let mut add = |answers: Vec<(String, i64)>| {
            let derived = q.derived(&answers);
            for (id, v) in answers.into_iter().chain(derived) {
                *c.entry((id, v)).or_default() += 1;
            }
        };
        let tiep_can =
            [[5, 4, 5, 4], [4, 4, 4, 3], [3, 3, 2, 3], [5, 5, 5, 5], [2, 3, 2, 2], [4, 5, 4, 4], [3, 2, 3, 3]];
        for row in tiep_can {
            add(row.iter().enumerate().map(|(i, v)| (format!("tc1_{}", i + 1), *v)).collect());
        }
        // An incomplete response stays out of alpha (listwise), though its answers count elsewhere.
        add(vec![("tc1_1".into(), 1), ("tc1_2".into(), 5)]);
        for row in [[4, 5, 3], [5, 5, 4], [3, 4, 4], [2, 3, 2], [4, 4, 5]] {
            add(row.iter().enumerate().map(|(i, v)| (format!("tc4_{}", i + 1), *v)).collect());
        }
        let f = figures(&q, &c);
        // pingouin 0.7.0: cronbach_alpha(DataFrame(rows)) = 0.9439853076216711 and 0.821917808219178.
        let (alpha, n) = f.alpha["tiep_can"];
        assert!((alpha - 0.9439853076216711).abs() < 1e-12 && n == 7, "{alpha} over {n}");
        let (alpha, n) = f.alpha["ket_qua"];
        assert!((alpha - 0.821917808219178).abs() < 1e-12 && n == 5, "{alpha} over {n}");
        assert!(!f.alpha.contains_key("thu_tuc"), "no complete responses, no alpha");
        assert_eq!(f.distributions["tc1_1"].iter().map(|(_, n)| n).sum::<u64>(), 8, "the incomplete one counts here");
    }

    #[test]
    fn sipas_elements_fall_back_on_their_criteria() {
        let q = Questionnaire::from_toml(SHIPPED[1]).unwrap();
        // tiep_can has no answer to its satisfaction question: the mean of its criteria shares,
        // 100 % and 50 %, is 75 %. thu_tuc's satisfaction question answers 1 of 4 satisfied.
        let f = figures(
            &q,
            &counts(&[("tc1_1", 5, 2), ("tc1_2", 4, 1), ("tc1_2", 2, 1), ("hl_thu_tuc", 5, 1), ("hl_thu_tuc", 3, 3)]),
        );
        assert!(close(f.elements["tiep_can"], 75.0));
        assert!(close(f.elements["thu_tuc"], 25.0));
        assert!(close(f.overall.unwrap(), 50.0));
        assert_eq!(f.rate_766, None, "the 766 rate is a one-stop figure");
    }
}
