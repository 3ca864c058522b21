//! The parameters of the methodology that are a province's choice, not law (the domain spec
//! §5–§6): the minimum sample, the bands (xếp loại) and the rule that suggests an officer's
//! Decree 90/2020 year-end level. Each table names its version, printed beside every figure it
//! produced. The defaults here are defaults, documented as such in the README.

use serde::{Deserialize, Serialize};

use super::exact::{Exact, at_least_pct};

/// One band: the lowest satisfied share (percent) that earns it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub name: String,
    pub min_pct: f64,
}

/// The bands from the highest down; the last must start at 0 so every sufficient figure has one.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Bands {
    pub version: String,
    pub levels: Vec<Band>,
}

impl Default for Bands {
    fn default() -> Self {
        let band = |name: &str, min_pct: f64| Band { name: name.into(), min_pct };
        Self {
            version: "hailong-mac-dinh-2026".into(),
            levels: vec![
                band("Xuất sắc", 95.0),
                band("Tốt", 85.0),
                band("Khá", 70.0),
                band("Trung bình", 50.0),
                band("Yếu", 0.0),
            ],
        }
    }
}

impl Bands {
    /// The band of a satisfied share (exact, 0–1): compared exactly with the thresholds.
    pub fn of(&self, share: &Exact) -> Option<&str> {
        self.levels.iter().find(|b| at_least_pct(share, b.min_pct)).map(|b| b.name.as_str())
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.version.trim().is_empty() {
            return Err("bands.version must name the table".into());
        }
        if self.levels.is_empty() {
            return Err("bands.levels must hold at least one band".into());
        }
        for pair in self.levels.windows(2) {
            if pair[0].min_pct <= pair[1].min_pct {
                return Err(format!(
                    "bands.levels must go from the highest min_pct down: '{}' ({}) before '{}' ({})",
                    pair[0].name, pair[0].min_pct, pair[1].name, pair[1].min_pct
                ));
            }
        }
        if self.levels.iter().any(|b| b.name.trim().is_empty() || !(0.0..=100.0).contains(&b.min_pct)) {
            return Err("every band needs a name and a min_pct between 0 and 100".into());
        }
        if self.levels.last().is_some_and(|b| b.min_pct != 0.0) {
            return Err("the last band must have min_pct = 0, so that every figure has a band".into());
        }
        Ok(())
    }
}

/// One Decree 90 level and what an officer's figures must reach for it to be suggested.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SuggestedLevel {
    pub name: String,
    /// Least responses in the period.
    pub min_responses: u64,
    /// Least satisfied share (percent).
    pub min_pct: f64,
    /// Least officer indicator points, as a percentage of the most the answered indicators give.
    pub min_points_pct: f64,
}

/// What an officer's figures hold of the indicator points that judge the officer.
#[derive(Clone, Debug, PartialEq)]
pub enum Points {
    /// The questionnaire has no such indicators (SIPAS): the rule's points minimum does not apply.
    NotAsked,
    /// It has them, but no citizen answered one: meets no points minimum above 0.
    Unanswered,
    /// The points as an exact share (0–1) of the most the answered indicators give.
    Share(Exact),
}

/// The per-province rule that suggests an officer's year-end level: the first level whose
/// conditions the figures meet, else `otherwise`. A suggestion for the evaluator, never a
/// decision.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Suggestion {
    pub version: String,
    pub levels: Vec<SuggestedLevel>,
    pub otherwise: String,
}

impl Default for Suggestion {
    fn default() -> Self {
        let level = |name: &str, min_pct: f64, min_points_pct: f64| SuggestedLevel {
            name: name.into(),
            min_responses: 30,
            min_pct,
            min_points_pct,
        };
        Self {
            version: "hailong-mac-dinh-2026".into(),
            levels: vec![
                level("Hoàn thành xuất sắc nhiệm vụ", 95.0, 90.0),
                level("Hoàn thành tốt nhiệm vụ", 85.0, 75.0),
                level("Hoàn thành nhiệm vụ", 60.0, 50.0),
            ],
            otherwise: "Cần người đánh giá xem xét".into(),
        }
    }
}

impl Suggestion {
    /// The suggested level of an officer with `responses`, a satisfied share (percent) and what
    /// the questionnaire says of the officer's indicator points.
    pub fn suggest(&self, responses: u64, share: &Exact, points: &Points) -> &str {
        self.levels
            .iter()
            .find(|l| {
                responses >= l.min_responses
                    && at_least_pct(share, l.min_pct)
                    && match points {
                        // A questionnaire without indicator points (SIPAS) is judged on what it has.
                        Points::NotAsked => true,
                        Points::Unanswered => l.min_points_pct <= 0.0,
                        Points::Share(p) => at_least_pct(p, l.min_points_pct),
                    }
            })
            .map_or(self.otherwise.as_str(), |l| l.name.as_str())
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.version.trim().is_empty() || self.otherwise.trim().is_empty() {
            return Err("suggestion.version and suggestion.otherwise must not be empty".into());
        }
        for l in &self.levels {
            if l.name.trim().is_empty()
                || !(0.0..=100.0).contains(&l.min_pct)
                || !(0.0..=100.0).contains(&l.min_points_pct)
            {
                return Err(format!(
                    "suggestion level '{}': needs a name, and min_pct and min_points_pct between 0 and 100",
                    l.name
                ));
            }
        }
        Ok(())
    }
}

/// One level of a folded scale and the values of the stored scale it gathers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FoldedLevel {
    pub name: String,
    pub values: Vec<i64>,
}

/// How reports fold the five-level scale into the fewer levels some provinces publish (the
/// answers are always stored on five). Applies to the questions whose scale values it covers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Fold {
    pub version: String,
    pub levels: Vec<FoldedLevel>,
}

impl Default for Fold {
    fn default() -> Self {
        let level = |name: &str, values: &[i64]| FoldedLevel { name: name.into(), values: values.to_vec() };
        Self {
            version: "3-muc-mac-dinh".into(),
            levels: vec![level("Rất hài lòng", &[5]), level("Hài lòng", &[4]), level("Không hài lòng", &[3, 2, 1])],
        }
    }
}

impl Fold {
    /// The folded distribution of a question's `(value, count)` pairs, or `None` when the fold
    /// does not cover the question's scale exactly.
    pub fn apply(&self, distribution: &[(i64, u64)]) -> Option<Vec<(&str, u64)>> {
        let covered: Vec<i64> = self.levels.iter().flat_map(|l| l.values.iter().copied()).collect();
        let values: Vec<i64> = distribution.iter().map(|(v, _)| *v).collect();
        if covered.len() != values.len() || !values.iter().all(|v| covered.contains(v)) {
            return None;
        }
        Some(
            self.levels
                .iter()
                .map(|l| {
                    let sum = distribution.iter().filter(|(v, _)| l.values.contains(v)).map(|(_, c)| c).sum();
                    (l.name.as_str(), sum)
                })
                .collect(),
        )
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.version.trim().is_empty() || self.levels.len() < 2 {
            return Err("fold.version must name the table and fold.levels hold at least two levels".into());
        }
        let mut seen = Vec::new();
        for l in &self.levels {
            if l.name.trim().is_empty() || l.values.is_empty() {
                return Err("every fold level needs a name and at least one value".into());
            }
            for v in &l.values {
                if seen.contains(v) {
                    return Err(format!("fold: the value {v} is in more than one level"));
                }
                seen.push(*v);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::exact::decimal;

    /// A percentage as an exact share.
    fn pct(x: f64) -> Exact {
        decimal(x) / Exact::from_integer(100.into())
    }

    #[test]
    fn the_default_fold_gathers_five_levels_into_three() {
        let fold = Fold::default();
        fold.validate().unwrap();
        let five = [(5, 40), (4, 30), (3, 10), (2, 15), (1, 5)];
        assert_eq!(fold.apply(&five).unwrap(), vec![("Rất hài lòng", 40), ("Hài lòng", 30), ("Không hài lòng", 30)]);
        assert_eq!(fold.apply(&[(2, 1), (1, 3), (0, 2)]), None, "the 0–2 points of an indicator are not folded");
        let mut twice = Fold::default();
        twice.levels[1].values.push(5);
        assert!(twice.validate().unwrap_err().contains("more than one level"));
    }

    #[test]
    fn the_default_tables_are_valid_and_cover_every_share() {
        let bands = Bands::default();
        bands.validate().unwrap();
        assert_eq!(bands.of(&pct(100.0)), Some("Xuất sắc"));
        assert_eq!(bands.of(&pct(95.0)), Some("Xuất sắc"), "a threshold belongs to the band it opens");
        assert_eq!(bands.of(&pct(94.99)), Some("Tốt"));
        assert_eq!(bands.of(&pct(0.0)), Some("Yếu"));
        Suggestion::default().validate().unwrap();
    }

    #[test]
    fn bands_out_of_order_or_open_at_the_bottom_are_refused() {
        let mut bands = Bands::default();
        bands.levels.swap(0, 1);
        assert!(bands.validate().unwrap_err().contains("highest min_pct down"));
        let mut bands = Bands::default();
        bands.levels.pop();
        assert!(bands.validate().unwrap_err().contains("min_pct = 0"));
    }

    #[test]
    fn the_first_level_met_is_suggested() {
        let rule = Suggestion::default();
        let points = |x: f64| Points::Share(pct(x));
        assert_eq!(rule.suggest(120, &pct(97.0), &points(95.0)), "Hoàn thành xuất sắc nhiệm vụ");
        assert_eq!(rule.suggest(120, &pct(97.0), &points(80.0)), "Hoàn thành tốt nhiệm vụ", "points hold it back");
        assert_eq!(
            rule.suggest(120, &pct(97.0), &Points::Unanswered),
            "Cần người đánh giá xem xét",
            "no points answered, no level that asks for them"
        );
        assert_eq!(
            rule.suggest(120, &pct(97.0), &Points::NotAsked),
            "Hoàn thành xuất sắc nhiệm vụ",
            "a questionnaire without points (SIPAS) is judged on its share"
        );
        assert_eq!(rule.suggest(120, &pct(59.0), &Points::NotAsked), "Cần người đánh giá xem xét");
        assert_eq!(rule.suggest(29, &pct(100.0), &points(100.0)), "Cần người đánh giá xem xét", "too few responses");
        assert_eq!(rule.suggest(40, &pct(61.0), &points(50.0)), "Hoàn thành nhiệm vụ");
    }
}
