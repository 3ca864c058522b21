//! Questionnaires are versioned data shipped in `questionnaires/` and loaded at start-up.
//!
//! A questionnaire has an id, a version, its scales, its elements (with the weights the indices
//! use) and its questions. A response records the id and version it answered; changing a
//! questionnaire means a new version, and old responses keep theirs.
//!
//! [`Questionnaire::read_submission`] turns the fields of a posted form into [`Answers`], or into
//! [`FormErrors`] that say what is wrong with each question.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::answer::{Comment, Problem};

/// The regime a questionnaire belongs to; reports keep regimes apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Regime {
    /// Per-dossier evaluation at the one-stop desk (Decree 61/2018, Circular 01/2018).
    MotCua,
    /// The Ministry of Home Affairs' SIPAS survey.
    Sipas,
}

/// One answer option: its stored value and its wording.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    pub value: i64,
    pub vi: String,
    pub en: String,
}

/// A named answer scale, e.g. the five satisfaction levels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    pub id: String,
    /// Values at or above this count as satisfied (4 on the five-level scale).
    #[serde(default)]
    pub satisfied_min: Option<i64>,
    /// In the order they are shown.
    pub levels: Vec<Level>,
}

/// A group of questions that gets its own index (a SIPAS element, or the overall judgement).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Element {
    pub id: String,
    pub vi: String,
    pub en: String,
    pub weight: f64,
}

/// What a question measures, which decides how the indices use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QuestionKind {
    /// A satisfaction judgement on a scale with `satisfied_min`; enters the satisfied share.
    Satisfaction,
    /// A SIPAS criterion on the satisfaction scale.
    Criterion,
    /// A one-stop indicator scored 0/1/2 points.
    Indicator,
}

/// Whom a one-stop indicator evaluates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Evaluates {
    Officer,
    Unit,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Lower-case letters, digits and `_`; the form field is `q_<id>`.
    pub id: String,
    pub kind: QuestionKind,
    #[serde(default)]
    pub element: Option<String>,
    /// A scale id, or else `options` below.
    #[serde(default)]
    pub scale: Option<String>,
    #[serde(default)]
    pub options: Vec<Level>,
    pub required: bool,
    pub vi: String,
    pub en: String,
    /// The indicator's number in the one-stop evaluation (spec §6).
    #[serde(default)]
    pub indicator: Option<u8>,
    #[serde(default)]
    pub evaluates: Option<Evaluates>,
    /// The point rule as the province's form states it.
    #[serde(default)]
    pub rule_vi: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Questionnaire {
    pub id: String,
    pub version: i64,
    pub regime: Regime,
    pub title_vi: String,
    pub title_en: String,
    /// Whether the form offers the procedure field (lĩnh vực) list.
    pub asks_field: bool,
    /// Whether the form offers a free comment.
    pub asks_comment: bool,
    pub scales: Vec<Scale>,
    pub elements: Vec<Element>,
    pub questions: Vec<Question>,
}

/// The questionnaires shipped with this build: the newest version of each, and the earlier
/// versions still shipped so that every database knows what its older responses answered.
pub const SHIPPED: [&str; 3] = [
    include_str!("../../questionnaires/mot-cua.toml"),
    include_str!("../../questionnaires/sipas-2017.toml"),
    include_str!("../../questionnaires/mot-cua-v1.toml"),
];

/// The questionnaire a new collection point uses unless told otherwise.
pub const DEFAULT_ID: &str = "mot-cua";

/// A questionnaire's identifier (`mot-cua`, `sipas-2017`), as points, responses, counts and
/// report queries name their questionnaire. Its versions share it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct QuestionnaireId(String);

impl QuestionnaireId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The questionnaire points use unless told otherwise.
    pub fn default_id() -> Self {
        Self(DEFAULT_ID.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for QuestionnaireId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for QuestionnaireId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

impl From<&str> for QuestionnaireId {
    fn from(id: &str) -> Self {
        Self(id.to_owned())
    }
}

impl PartialEq<str> for QuestionnaireId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for QuestionnaireId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for QuestionnaireId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl AsRef<str> for QuestionnaireId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for QuestionnaireId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Questionnaire {
    /// Reads and checks a questionnaire file.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let q: Questionnaire = toml::from_str(text).map_err(|e| e.to_string())?;
        q.check()?;
        Ok(q)
    }

    /// Reads a definition stored by [`Questionnaire::to_json`].
    pub fn from_json(text: &str) -> Result<Self, String> {
        let q: Questionnaire = serde_json::from_str(text).map_err(|e| e.to_string())?;
        q.check()?;
        Ok(q)
    }

    /// The canonical stored form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A digest of the canonical form, to notice a definition changed without a new version.
    pub fn digest(&self) -> String {
        let hash = Sha256::digest(self.to_json().as_bytes());
        hash.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// What the indices read of this version, without its wording: the regime, the elements
    /// and their weights, and each question's id, kind, element, indicator, whom it evaluates,
    /// and its answer values in order with the satisfied threshold. Versions with the same
    /// scoring are reported together (a reworded answer does not split a year's figures).
    pub fn scoring(&self) -> String {
        let elements: Vec<_> = self.elements.iter().map(|e| (&e.id, e.weight)).collect();
        let questions: Vec<_> = self
            .questions
            .iter()
            .map(|q| {
                let values: Vec<i64> = self.options(q).iter().map(|l| l.value).collect();
                let satisfied_min = q.scale.as_deref().and_then(|s| self.scale(s)).and_then(|s| s.satisfied_min);
                serde_json::json!([q.id, q.kind, q.element, q.indicator, q.evaluates, values, satisfied_min])
            })
            .collect();
        serde_json::json!({ "regime": self.regime, "elements": elements, "questions": questions }).to_string()
    }

    fn check(&self) -> Result<(), String> {
        let ident = |s: &str| {
            !s.is_empty()
                && s.len() <= 40
                && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        };
        if !ident(&self.id) {
            return Err(format!("questionnaire id '{}' is not a short lower-case name", self.id));
        }
        if self.version < 1 {
            return Err("version must be at least 1".into());
        }
        let mut ids = HashSet::new();
        for scale in &self.scales {
            if !ids.insert(("scale", scale.id.as_str())) {
                return Err(format!("scale '{}' is defined twice", scale.id));
            }
            check_levels(&scale.levels).map_err(|e| format!("scale '{}': {e}", scale.id))?;
        }
        for element in &self.elements {
            if !ids.insert(("element", element.id.as_str())) {
                return Err(format!("element '{}' is defined twice", element.id));
            }
            if !(element.weight.is_finite() && element.weight >= 0.0) {
                return Err(format!("element '{}' has a weight that is not a number ≥ 0", element.id));
            }
        }
        if !self.elements.is_empty() && self.elements.iter().map(|e| e.weight).sum::<f64>() <= 0.0 {
            return Err("the element weights add up to 0".into());
        }
        if self.questions.is_empty() {
            return Err("a questionnaire needs at least one question".into());
        }
        for q in &self.questions {
            if !ident(&q.id) || q.id.contains('-') {
                return Err(format!("question id '{}' must be lower-case letters, digits and '_'", q.id));
            }
            if !ids.insert(("question", q.id.as_str())) {
                return Err(format!("question '{}' is defined twice", q.id));
            }
            if let Some(e) = &q.element
                && !self.elements.iter().any(|x| &x.id == e)
            {
                return Err(format!("question '{}' names an unknown element '{e}'", q.id));
            }
            match (&q.scale, q.options.is_empty()) {
                (Some(s), true) => {
                    if self.scale(s).is_none() {
                        return Err(format!("question '{}' names an unknown scale '{s}'", q.id));
                    }
                }
                (None, false) => check_levels(&q.options).map_err(|e| format!("question '{}': {e}", q.id))?,
                _ => return Err(format!("question '{}' needs either a scale or options, not both", q.id)),
            }
            match q.kind {
                QuestionKind::Satisfaction | QuestionKind::Criterion => {
                    let satisfied = q.scale.as_deref().and_then(|s| self.scale(s)).and_then(|s| s.satisfied_min);
                    if satisfied.is_none() {
                        return Err(format!("question '{}' needs a scale with satisfied_min", q.id));
                    }
                }
                QuestionKind::Indicator => {
                    if q.indicator.is_none() || q.evaluates.is_none() {
                        return Err(format!("indicator question '{}' needs indicator and evaluates", q.id));
                    }
                }
            }
        }
        Ok(())
    }

    /// The elements whose criteria Cronbach's alpha measures the consistency of (those with at
    /// least two criteria), each with its criteria.
    pub fn alpha_elements(&self) -> Vec<(&Element, Vec<&Question>)> {
        self.elements
            .iter()
            .map(|e| {
                let criteria = self
                    .questions
                    .iter()
                    .filter(|q| q.kind == QuestionKind::Criterion && q.element.as_deref() == Some(e.id.as_str()))
                    .collect::<Vec<_>>();
                (e, criteria)
            })
            .filter(|(_, criteria)| criteria.len() >= 2)
            .collect()
    }

    /// The answers derived from a response's own, stored and counted beside them so that reports
    /// can compute from counts what needs more than one answer of the same response: the
    /// answers of [`Self::alpha_derived`] and of [`Self::composite_derived`].
    pub fn derived(&self, answers: &[(String, i64)]) -> Vec<(String, i64)> {
        let mut out = self.alpha_derived(answers);
        out.extend(self.composite_derived(answers));
        out
    }

    /// For Cronbach's alpha: for each element of [`Self::alpha_elements`] whose criteria were all
    /// answered, each criterion's value again under [`alpha_item_id`] and their sum under
    /// [`alpha_sum_id`]. (Alpha is computed over the responses that answered every criterion of
    /// the element.)
    pub fn alpha_derived(&self, answers: &[(String, i64)]) -> Vec<(String, i64)> {
        let mut out = Vec::new();
        for (element, criteria) in self.alpha_elements() {
            let values: Option<Vec<(&str, i64)>> = criteria
                .iter()
                .map(|c| answers.iter().find(|(id, _)| *id == c.id).map(|(_, v)| (c.id.as_str(), *v)))
                .collect();
            if let Some(values) = values {
                out.extend(values.iter().map(|(c, v)| (alpha_item_id(&element.id, c), *v)));
                out.push((alpha_sum_id(&element.id), values.iter().map(|(_, v)| v).sum()));
            }
        }
        out
    }

    /// The response's own overall score, under [`COMPOSITE_ID`]: the weighted mean, over the
    /// elements it answered, of its element scores (1 when the element's satisfaction question
    /// was answered satisfied, 0 when not; for an element judged by its criteria, the share of
    /// its answered criteria answered satisfied), in ten-thousandths (0–10,000). The overall
    /// index is the mean of these where every element is answered; their spread is what the
    /// index's interval rests on, since one citizen answers all the elements.
    pub fn composite_derived(&self, answers: &[(String, i64)]) -> Vec<(String, i64)> {
        let satisfied = |question: &Question| -> Option<f64> {
            let value = answers.iter().find(|(id, _)| *id == question.id).map(|(_, v)| *v)?;
            self.options(question).iter().any(|l| l.value == value).then_some(())?;
            let min = question.scale.as_deref().and_then(|s| self.scale(s)).and_then(|s| s.satisfied_min)?;
            Some(if value >= min { 1.0 } else { 0.0 })
        };
        let mut weighted = (0.0, 0.0);
        for element in self.elements.iter().filter(|e| e.weight > 0.0) {
            let in_element = |kind: QuestionKind| {
                self.questions
                    .iter()
                    .filter(move |x| x.kind == kind && x.element.as_deref() == Some(element.id.as_str()))
            };
            let score = match in_element(QuestionKind::Satisfaction).next() {
                Some(question) => satisfied(question),
                None => {
                    let scores: Vec<f64> = in_element(QuestionKind::Criterion).filter_map(satisfied).collect();
                    (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64)
                }
            };
            if let Some(score) = score {
                weighted.0 += element.weight * score;
                weighted.1 += element.weight;
            }
        }
        if weighted.1 <= 0.0 {
            return Vec::new();
        }
        vec![(COMPOSITE_ID.to_owned(), (weighted.0 / weighted.1 * COMPOSITE_SCALE as f64).round() as i64)]
    }

    pub fn scale(&self, id: &str) -> Option<&Scale> {
        self.scales.iter().find(|s| s.id == id)
    }

    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }

    /// The options of a question, in display order.
    pub fn options<'a>(&'a self, question: &'a Question) -> &'a [Level] {
        match &question.scale {
            Some(s) => self.scale(s).map(|s| s.levels.as_slice()).unwrap_or_default(),
            None => &question.options,
        }
    }

    /// Reads a posted form. `form` holds the questionnaire's own fields (`q_<id>`, `field`,
    /// `comment`) in the order posted; anything else in it is an error. `known_field` says whether
    /// a procedure field code exists. Returns what to show again, and the answers or the problems.
    pub fn read_submission(
        &self,
        form: &[(String, String)],
        known_field: impl Fn(&str) -> bool,
    ) -> (Draft, Result<Answers, FormErrors>) {
        let mut draft = Draft::default();
        let mut errors = FormErrors::default();
        let mut seen = HashSet::new();
        for (name, value) in form {
            if !seen.insert(name.as_str()) {
                errors.general.push(Problem::Repeated(name.clone()));
                continue;
            }
            if let Some(id) = name.strip_prefix("q_") {
                if self.question(id).is_some() {
                    draft.values.insert(id.to_owned(), value.clone());
                } else {
                    errors.general.push(Problem::UnknownQuestion(name.clone()));
                }
            } else if name == "comment" && self.asks_comment {
                draft.comment = value.clone();
            } else if name == "field" && self.asks_field {
                draft.field = value.trim().to_owned();
            } else {
                errors.general.push(Problem::UnknownQuestion(name.clone()));
            }
        }

        let mut answers = Vec::new();
        for q in &self.questions {
            let raw = draft.values.get(&q.id).map(|v| v.trim()).unwrap_or("");
            if raw.is_empty() {
                if q.required {
                    errors.questions.insert(q.id.clone(), Problem::Required);
                }
                continue;
            }
            match raw.parse::<i64>() {
                Err(_) => {
                    errors.questions.insert(q.id.clone(), Problem::NotANumber);
                }
                Ok(v) if !self.options(q).iter().any(|l| l.value == v) => {
                    errors.questions.insert(q.id.clone(), Problem::NotAnOption);
                }
                Ok(v) => answers.push((q.id.clone(), v)),
            }
        }

        let field = if draft.field.is_empty() {
            None
        } else if known_field(&draft.field) {
            Some(draft.field.clone())
        } else {
            errors.field = Some(Problem::NotAnOption);
            None
        };

        let comment = match Comment::parse(&draft.comment) {
            Ok(c) => c,
            Err(problem) => {
                errors.comment = Some(problem);
                None
            }
        };

        let derived = self.derived(&answers);
        answers.extend(derived);
        if errors.is_empty() { (draft, Ok(Answers { values: answers, field, comment })) } else { (draft, Err(errors)) }
    }
}

/// Every stored version of every questionnaire, and the newest of each, which new responses use.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    versions: std::collections::HashMap<(String, i64), std::sync::Arc<Questionnaire>>,
    latest: std::collections::HashMap<String, std::sync::Arc<Questionnaire>>,
}

impl Registry {
    pub fn new(all: Vec<Questionnaire>) -> Self {
        let mut registry = Self::default();
        for q in all {
            let q = std::sync::Arc::new(q);
            let newer = registry.latest.get(&q.id).is_none_or(|have| have.version < q.version);
            if newer {
                registry.latest.insert(q.id.clone(), q.clone());
            }
            registry.versions.insert((q.id.clone(), q.version), q);
        }
        registry
    }

    pub fn latest(&self, id: impl AsRef<str>) -> Option<&std::sync::Arc<Questionnaire>> {
        self.latest.get(id.as_ref())
    }

    pub fn version(&self, id: impl AsRef<str>, version: i64) -> Option<&std::sync::Arc<Questionnaire>> {
        self.versions.get(&(id.as_ref().to_owned(), version))
    }

    /// The version whose figures include `version`'s: the newest version of the same id with the
    /// same [`Questionnaire::scoring`] (itself when no newer one scores alike; unknown versions
    /// stand alone).
    pub fn pooled(&self, id: impl AsRef<str>, version: i64) -> i64 {
        let Some(q) = self.version(id.as_ref(), version) else { return version };
        let scoring = q.scoring();
        self.versions
            .values()
            .filter(|other| other.id == q.id && other.version > version && other.scoring() == scoring)
            .map(|other| other.version)
            .max()
            .unwrap_or(version)
    }

    /// Every stored version, by id and version.
    pub fn all(&self) -> Vec<&Questionnaire> {
        let mut all: Vec<&Questionnaire> = self.versions.values().map(|q| q.as_ref()).collect();
        all.sort_by(|a, b| (&a.id, a.version).cmp(&(&b.id, b.version)));
        all
    }

    /// The newest version of each questionnaire, by id.
    pub fn latest_all(&self) -> Vec<&Questionnaire> {
        let mut all: Vec<&Questionnaire> = self.latest.values().map(|q| q.as_ref()).collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// The ids of the questionnaires known, sorted.
    pub fn ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.latest.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids
    }
}

fn check_levels(levels: &[Level]) -> Result<(), String> {
    if levels.len() < 2 {
        return Err("needs at least two levels".into());
    }
    let mut values = HashSet::new();
    for l in levels {
        if !values.insert(l.value) {
            return Err(format!("value {} appears twice", l.value));
        }
    }
    Ok(())
}

/// The id under which a response's own overall score is counted (see
/// [`Questionnaire::composite_derived`]).
pub const COMPOSITE_ID: &str = "composite.overall";
/// A composite score of 1 is counted as this many.
pub const COMPOSITE_SCALE: i64 = 10_000;

/// The id under which a response's sum over an element's criteria is counted (question ids have
/// no '.', so a derived id never meets a question's).
pub fn alpha_sum_id(element: &str) -> String {
    format!("alpha.{element}")
}

/// The id under which a criterion's value is counted again when the response answered every
/// criterion of its element.
pub fn alpha_item_id(element: &str, criterion: &str) -> String {
    format!("alpha.{element}.{criterion}")
}

/// The answers of a valid submission. Blank optional questions are absent, never a default;
/// the answers derived for Cronbach's alpha follow the citizen's own.
#[derive(Clone, Debug, PartialEq)]
pub struct Answers {
    pub values: Vec<(String, i64)>,
    pub field: Option<String>,
    pub comment: Option<Comment>,
}

/// What the citizen entered, to show again beside the problems.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Draft {
    pub values: BTreeMap<String, String>,
    pub field: String,
    pub comment: String,
}

/// The problems of a submission, per question and for the form as a whole.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FormErrors {
    pub questions: BTreeMap<String, Problem>,
    pub field: Option<Problem>,
    pub comment: Option<Problem>,
    pub general: Vec<Problem>,
}

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.questions.is_empty() && self.field.is_none() && self.comment.is_none() && self.general.is_empty()
    }

    /// A form-level problem that the web layer found (bad encoding, an outdated form).
    pub fn general(problem: Problem) -> Self {
        Self { general: vec![problem], ..Self::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mot_cua() -> Questionnaire {
        Questionnaire::from_toml(SHIPPED[0]).unwrap()
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn shipped_questionnaires_load() {
        for text in SHIPPED {
            let q = Questionnaire::from_toml(text).unwrap();
            assert!(q.version >= 1);
            let round = Questionnaire::from_json(&q.to_json()).unwrap();
            assert_eq!(round, q);
            assert_eq!(round.digest(), q.digest());
        }
        let sipas = Questionnaire::from_toml(SHIPPED[1]).unwrap();
        assert_eq!(sipas.elements.len(), 5);
        let criteria = sipas.questions.iter().filter(|q| q.kind == QuestionKind::Criterion).count();
        assert_eq!(criteria, 22, "Decision 2640/2017 has 22 criteria");
    }

    #[test]
    fn a_valid_submission_keeps_blanks_unanswered() {
        let q = mot_cua();
        let (_, result) = q
            .read_submission(&form(&[("q_hai_long_chung", "5"), ("q_ct1_thoi_gian", ""), ("comment", "  ")]), |_| true);
        let answers = result.unwrap();
        // The citizen's one answer, and the response's own overall score derived from it.
        assert_eq!(
            answers.values,
            vec![("hai_long_chung".to_string(), 5), (COMPOSITE_ID.to_string(), COMPOSITE_SCALE)]
        );
        assert_eq!(answers.comment, None);
        assert_eq!(answers.field, None);
    }

    #[test]
    fn an_element_answered_in_full_gets_its_alpha_answers() {
        let q = Questionnaire::from_toml(SHIPPED[1]).unwrap();
        let fields = [
            ("q_tc4_1", "4"),
            ("q_tc4_2", "5"),
            ("q_tc4_3", "3"),
            ("q_tc1_1", "5"),
            ("q_hl_tiep_can", "4"),
            ("q_hl_thu_tuc", "4"),
            ("q_hl_cong_chuc", "4"),
            ("q_hl_ket_qua", "4"),
            ("q_hl_gop_y", "4"),
        ];
        let (_, result) = q.read_submission(&form(&fields), |_| true);
        let values = result.unwrap().values;
        let derived: Vec<&(String, i64)> = values.iter().filter(|(id, _)| id.starts_with("alpha.")).collect();
        assert_eq!(
            derived,
            vec![
                &("alpha.ket_qua.tc4_1".to_string(), 4),
                &("alpha.ket_qua.tc4_2".to_string(), 5),
                &("alpha.ket_qua.tc4_3".to_string(), 3),
                &("alpha.ket_qua".to_string(), 12),
            ],
            "only the element whose criteria were all answered"
        );
        assert!(mot_cua().alpha_elements().is_empty(), "the one-stop form has no criteria");
    }

    #[test]
    fn bad_submissions_say_what_is_wrong() {
        let q = mot_cua();
        let cases: Vec<(Vec<(String, String)>, &str)> = vec![
            (form(&[]), "required answer missing"),
            (form(&[("q_hai_long_chung", "nam")]), "not a number"),
            (form(&[("q_hai_long_chung", "9")]), "out of range"),
            (form(&[("q_hai_long_chung", "5"), ("q_khong_co", "1")]), "unknown question"),
            (form(&[("q_hai_long_chung", "5"), ("q_hai_long_chung", "4")]), "repeated"),
            (form(&[("q_hai_long_chung", "5"), ("field", "KHONG-CO")]), "unknown field"),
            (form(&[("q_hai_long_chung", "5"), ("comment", &"a".repeat(1001))]), "comment too long"),
            (form(&[("q_hai_long_chung", "5"), ("q_ct1_thoi_gian", "3")]), "indicator out of range"),
        ];
        for (input, case) in cases {
            let (_, result) = q.read_submission(&input, |code| code == "HT");
            let errors = result.expect_err(case);
            assert!(!errors.is_empty(), "{case}");
        }
    }

    #[test]
    fn the_draft_keeps_what_was_entered() {
        let q = mot_cua();
        let (draft, result) =
            q.read_submission(&form(&[("q_ct1_thoi_gian", "2"), ("comment", "Cán bộ nhiệt tình")]), |_| true);
        assert!(result.is_err());
        assert_eq!(draft.values.get("ct1_thoi_gian").map(String::as_str), Some("2"));
        assert_eq!(draft.comment, "Cán bộ nhiệt tình");
    }

    #[test]
    fn definitions_are_checked() {
        let bad = SHIPPED[0].replacen("scale = \"hl5\"", "scale = \"khong-co\"", 1);
        assert!(Questionnaire::from_toml(&bad).is_err());
    }

    #[test]
    fn versions_pool_when_only_their_wording_differs() {
        let shipped: Vec<Questionnaire> = SHIPPED.iter().map(|t| Questionnaire::from_toml(t).unwrap()).collect();
        let mut scored_otherwise = shipped[0].clone();
        scored_otherwise.version = 3;
        scored_otherwise.elements[1].weight = 2.0;
        let registry = Registry::new(shipped.into_iter().chain([scored_otherwise]).collect());
        let (v1, v2) = (registry.version("mot-cua", 1).unwrap(), registry.version("mot-cua", 2).unwrap());
        assert_ne!(v1.digest(), v2.digest(), "the wording changed");
        assert_eq!(v1.scoring(), v2.scoring(), "the scoring did not");
        assert_eq!(registry.pooled("mot-cua", 1), 2);
        assert_eq!(registry.pooled("mot-cua", 2), 2);
        assert_eq!(registry.pooled("mot-cua", 3), 3, "a weight changed: reported apart");
        assert_eq!(registry.pooled("sipas-2017", 1), 1);
        assert_eq!(registry.pooled("mot-cua", 99), 99, "an unknown version stands alone");
    }

    #[test]
    fn the_convenience_question_has_its_own_scale() {
        let q = Questionnaire::from_toml(SHIPPED[0]).unwrap();
        let convenience = q.questions.iter().find(|x| x.id == "thuan_tien").unwrap();
        let levels: Vec<&str> = q.options(convenience).iter().map(|l| l.vi.as_str()).collect();
        assert_eq!(levels, ["Rất thuận tiện", "Thuận tiện", "Bình thường", "Không thuận tiện", "Rất không thuận tiện"]);
        let indicator4 = q.questions.iter().find(|x| x.indicator == Some(4)).unwrap();
        let answers: Vec<&str> = q.options(indicator4).iter().map(|l| l.vi.as_str()).collect();
        assert!(
            answers.iter().all(|a| !a.is_empty()) && answers[0].starts_with("Không") && answers[1].starts_with("Có"),
            "{answers:?}"
        );
    }
}
