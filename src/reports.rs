//! A report: the store's counts for a period, limited to a unit subtree and to what the caller
//! may see, grouped into the targets of one level, and turned into rows by
//! [`domain::report`](crate::domain::report). Pages, exports and the API all start here.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::config::Settings;
use crate::domain::account::Scope;
use crate::domain::clock;
use crate::domain::indices::Counts;
use crate::domain::method::{Bands, Suggestion};
use crate::domain::period::Period;
use crate::domain::questionnaire::{Questionnaire, Registry};
use crate::domain::report::{Level, Method, Row, Target, TargetCounts, rows};
use crate::store::{Grain, GrainCounts, Store, StoreError};

/// What to report on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub period: Period,
    pub level: Level,
    /// The root of the unit subtree; `None` for everything the caller sees.
    pub unit: Option<String>,
    pub questionnaire: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Something the query names does not exist, or not for this caller.
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A computed report.
#[derive(Clone, Debug)]
pub struct Report {
    pub query: Query,
    /// The name of the subtree's root unit, or of the whole scope.
    pub scope_name: String,
    /// The questionnaire versions that have rows, oldest first.
    pub versions: Vec<Arc<Questionnaire>>,
    pub rows: Vec<Row>,
    pub min_sample: u64,
    pub bands: Bands,
    pub suggestion: Suggestion,
    pub generated_at_ms: i64,
}

impl Report {
    /// The latest version of the questionnaire with rows (its elements and indicators name the
    /// export's columns).
    pub fn latest(&self) -> Option<&Arc<Questionnaire>> {
        self.versions.last()
    }
}

fn grain_of(level: Level) -> Grain {
    match level {
        Level::Desk => Grain::Desk,
        Level::Officer => Grain::Officer,
        Level::Field => Grain::Field,
        Level::Subtree | Level::Unit | Level::Channel | Level::Questionnaire => Grain::Unit,
    }
}

/// Each unit and the units whose figures it gathers: itself, its parent's, and its
/// successor's, up the tree.
fn gatherers(links: &[(i64, Option<i64>, Option<i64>)]) -> HashMap<i64, Vec<i64>> {
    let up: HashMap<i64, Vec<i64>> =
        links.iter().map(|&(id, parent, successor)| (id, parent.into_iter().chain(successor).collect())).collect();
    links
        .iter()
        .map(|&(id, ..)| {
            let mut seen = vec![id];
            let mut stack = vec![id];
            while let Some(u) = stack.pop() {
                for &next in up.get(&u).into_iter().flatten() {
                    if !seen.contains(&next) {
                        seen.push(next);
                        stack.push(next);
                    }
                }
            }
            (id, seen)
        })
        .collect()
}

type Grouped = BTreeMap<(String, i64), (u64, Counts)>;

/// Builds the report of `query` over what `scope` lets the caller see.
pub async fn build(
    store: &Store,
    registry: &Registry,
    settings: &Settings,
    query: &Query,
    scope: &Scope,
) -> Result<Report, ReportError> {
    if registry.latest(&query.questionnaire).is_none() {
        return Err(ReportError::NotFound(format!("unknown questionnaire '{}'", query.questionnaire)));
    }
    let units = store.units().await?;
    let links = store.unit_links().await?;
    let (root_scope, scope_name) = match &query.unit {
        Some(code) => {
            let unit = units
                .iter()
                .find(|u| &u.code == code && scope.contains(u.id))
                .ok_or_else(|| ReportError::NotFound(format!("no unit '{code}' within your scope")))?;
            (Scope::subtree(unit.id, &links), unit.name.clone())
        }
        None => (scope.clone(), String::from("Toàn bộ phạm vi")),
    };
    let in_scope = |unit_id: i64| root_scope.contains(unit_id) && scope.contains(unit_id);

    let grain = grain_of(query.level);
    let (first, last) = (query.period.first(), query.period.last());
    let previous = query.period.previous();
    let now = store.grain_counts(grain, first, last).await?;
    let before = store.grain_counts(grain, previous.first(), previous.last()).await?;

    let unit_by_id: HashMap<i64, &crate::store::UnitRow> = units.iter().map(|u| (u.id, u)).collect();
    let names: HashMap<i64, (String, String, Option<String>)> = match query.level {
        Level::Desk => store.desks().await?.into_iter().map(|d| (d.id, (d.code, d.name, Some(d.unit_code)))).collect(),
        Level::Officer => store.officers().await?.into_iter().map(|o| (o.id, (o.code, o.full_name, None))).collect(),
        Level::Field => store.fields().await?.into_iter().map(|f| (f.id, (f.code, f.name, None))).collect(),
        _ => HashMap::new(),
    };
    let gather = gatherers(&links);
    let unit_by_code: HashMap<&str, &crate::store::UnitRow> = units.iter().map(|u| (u.code.as_str(), u)).collect();
    let name_by_code: HashMap<&str, (&str, Option<&str>)> =
        names.values().map(|(code, name, parent)| (code.as_str(), (name.as_str(), parent.as_deref()))).collect();

    // The target codes each count goes to.
    let keys_of = |key: &crate::store::GrainKey| -> Vec<String> {
        match query.level {
            Level::Unit => unit_by_id.get(&key.unit_id).map(|u| u.code.clone()).into_iter().collect(),
            Level::Subtree => gather
                .get(&key.unit_id)
                .into_iter()
                .flatten()
                .filter(|id| in_scope(**id))
                .filter_map(|id| unit_by_id.get(id).map(|u| u.code.clone()))
                .collect(),
            Level::Desk | Level::Officer | Level::Field => {
                names.get(&key.target_id).map(|(code, ..)| code.clone()).into_iter().collect()
            }
            Level::Channel => vec![key.channel.clone()],
            Level::Questionnaire => vec![key.questionnaire_id.clone()],
        }
    };
    let group = |counts: &GrainCounts, units_seen: Option<&mut HashMap<String, HashMap<i64, u64>>>| -> Grouped {
        let mut grouped = Grouped::new();
        let mut units_seen = units_seen;
        for (key, &count) in counts {
            if key.questionnaire_id != query.questionnaire || !in_scope(key.unit_id) {
                continue;
            }
            let count = u64::try_from(count).unwrap_or(0);
            for code in keys_of(key) {
                let entry = grouped.entry((code.clone(), key.questionnaire_version)).or_default();
                if key.question_id.is_empty() {
                    entry.0 += count;
                    if let Some(seen) = units_seen.as_deref_mut() {
                        *seen.entry(code).or_default().entry(key.unit_id).or_default() += count;
                    }
                } else {
                    *entry.1.entry((key.question_id.clone(), key.value)).or_default() += count;
                }
            }
        }
        grouped
    };
    let mut officer_units: HashMap<String, HashMap<i64, u64>> = HashMap::new();
    let grouped_now = group(&now, Some(&mut officer_units));
    let mut grouped_before = group(&before, None);

    let target_of = |code: &str| -> Target {
        match query.level {
            Level::Unit | Level::Subtree => {
                let unit = unit_by_code.get(code);
                Target {
                    code: code.to_owned(),
                    name: unit.map(|u| u.name.clone()).unwrap_or_default(),
                    parent_code: unit.and_then(|u| u.parent_code.clone()),
                }
            }
            Level::Desk | Level::Field | Level::Officer => {
                let (name, parent) = name_by_code.get(code).copied().unwrap_or_default();
                let parent = match query.level {
                    // Where the officer gave most of the period's ratings (the latest unit id on a tie).
                    Level::Officer => officer_units
                        .get(code)
                        .and_then(|by_unit| by_unit.iter().max_by_key(|(id, n)| (**n, **id)))
                        .and_then(|(id, _)| unit_by_id.get(id).map(|u| u.code.clone())),
                    _ => parent.map(str::to_owned),
                };
                Target { code: code.to_owned(), name: name.to_owned(), parent_code: parent }
            }
            Level::Channel => Target { code: code.to_owned(), name: channel_name(code).to_owned(), parent_code: None },
            Level::Questionnaire => Target {
                code: code.to_owned(),
                name: registry.latest(code).map(|q| q.title_vi.clone()).unwrap_or_default(),
                parent_code: None,
            },
        }
    };

    let method = Method { min_sample: settings.min_sample, bands: &settings.bands, suggestion: &settings.suggestion };
    let mut by_version: BTreeMap<i64, Vec<TargetCounts>> = BTreeMap::new();
    for ((code, version), (responses, counts)) in grouped_now {
        let previous = grouped_before.remove(&(code.clone(), version));
        by_version.entry(version).or_default().push(TargetCounts {
            target: target_of(&code),
            questionnaire_version: version,
            responses,
            counts,
            previous,
        });
    }
    let mut versions = Vec::new();
    let mut all_rows = Vec::new();
    for (version, targets) in by_version {
        let Some(q) = registry.version(&query.questionnaire, version) else {
            tracing::warn!(questionnaire = %query.questionnaire, version, "counts of an unknown questionnaire version");
            continue;
        };
        all_rows.extend(rows(query.level, q, method, targets));
        versions.push(Arc::clone(q));
    }
    Ok(Report {
        query: query.clone(),
        scope_name,
        versions,
        rows: all_rows,
        min_sample: settings.min_sample,
        bands: settings.bands.clone(),
        suggestion: settings.suggestion.clone(),
        generated_at_ms: clock::now_ms(),
    })
}

/// The Vietnamese name of a channel code.
pub fn channel_name(code: &str) -> &'static str {
    match code {
        "qr" => "Mã QR tại quầy hoặc trên giấy hẹn",
        "demo" => "Dữ liệu mẫu",
        _ => "Kênh khác",
    }
}
