//! A report: the store's counts for a period, limited to a unit subtree and to what the caller
//! may see, grouped into the targets of one level, and turned into rows by
//! [`domain::report`](crate::domain::report). Pages, exports and the API all start here.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::config::Settings;
use crate::domain::account::Scope;
use crate::domain::flags;
use crate::domain::indices::Counts;
use crate::domain::period::Period;
use crate::domain::questionnaire::Registry;
use crate::domain::report::{
    COMMENTS_MIN_RESPONSES, Comments, Detail, Flagged, Level, Method, Overview, PAGE_LEVELS, Query, Report, Row,
    Target, TargetCounts, peer_funnel, rows,
};
use crate::domain::response::{Channel, RESPONSES_QUESTION};
use crate::store::{Grain, GrainCounts, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Something the query names does not exist, or not for this caller.
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
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

/// Per (target, version): responses, answer counts, and the flags' counts (`flag.*`,
/// `flagged.*`) apart.
type Grouped = BTreeMap<(String, i64), (u64, Counts, Counts)>;

/// Splits the flags' counts of a target: how many responses carry a flag and of which kind; and,
/// when the query leaves flagged responses out, takes their answers and their number out of
/// `responses` and `counts`.
fn settle_flags(query: &Query, responses: &mut u64, counts: &mut Counts, flag_counts: &Counts) -> Flagged {
    let mut flagged = Flagged::default();
    for ((question, value), n) in flag_counts {
        if question == flags::ANY_FLAG {
            flagged.responses += n;
        } else if let Some(kind) = flags::kind_of(question) {
            *flagged.by_kind.entry(kind).or_default() += n;
        } else if let Some(answer) = question.strip_prefix(flags::FLAGGED_PREFIX)
            && query.without_flagged
            && let Some(count) = counts.get_mut(&(answer.to_owned(), *value))
        {
            *count = count.saturating_sub(*n);
        }
    }
    if query.without_flagged {
        *responses = responses.saturating_sub(flagged.responses);
        counts.retain(|_, n| *n > 0);
    }
    flagged
}

/// Builds the report of `query` over what `scope` lets the caller see, with the change since the
/// previous period.
pub async fn build(
    store: &Store,
    registry: &Registry,
    settings: &Settings,
    query: &Query,
    scope: &Scope,
) -> Result<Report, ReportError> {
    build_with(store, registry, settings, query, scope, true, None).await
}

///
/// One function because its steps share the period's unit tree, the caller's scope and the target
/// names through small closures; apart, each step would take most of them as arguments.
async fn build_with(
    store: &Store,
    registry: &Registry,
    settings: &Settings,
    query: &Query,
    scope: &Scope,
    compare: bool,
    only: Option<&str>,
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

    let unit_by_id: HashMap<i64, &crate::domain::org::Unit> = units.iter().map(|u| (u.id, u)).collect();
    let names: HashMap<i64, (String, String, Option<String>)> = match query.level {
        Level::Desk => store.desks().await?.into_iter().map(|d| (d.id, (d.code, d.name, Some(d.unit_code)))).collect(),
        Level::Officer => store.officers().await?.into_iter().map(|o| (o.id, (o.code, o.full_name, None))).collect(),
        Level::Field => store.fields().await?.into_iter().map(|f| (f.id, (f.code, f.name, None))).collect(),
        _ => HashMap::new(),
    };

    // One target asked for: where its grain has a column of its own, read its counts alone (an
    // unknown code has none: -1 is no row's id).
    let one = match (only, query.level) {
        (Some(code), Level::Unit) => Some(units.iter().find(|u| u.code == code).map_or(-1, |u| u.id)),
        (Some(code), Level::Desk | Level::Officer | Level::Field) => {
            Some(names.iter().find(|(_, (c, ..))| c == code).map_or(-1, |(id, _)| *id))
        }
        _ => None,
    };
    let grain = grain_of(query.level);
    let (first, last) = (query.period.first(), query.period.last());
    let previous = query.period.previous();
    let now = store.grain_counts_of(grain, first, last, one).await?;
    let before = match compare {
        true => store.grain_counts_of(grain, previous.first(), previous.last(), one).await?,
        false => GrainCounts::new(),
    };
    let gather = gatherers(&links);
    let unit_by_code: HashMap<&str, &crate::domain::org::Unit> = units.iter().map(|u| (u.code.as_str(), u)).collect();
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
            Level::Channel => key.channel.map(|c| c.code().to_owned()).into_iter().collect(),
            Level::Questionnaire => vec![key.questionnaire_id.to_string()],
        }
    };
    // Versions that score alike are one row: counts go to the newest of them.
    let pooled: HashMap<i64, i64> = registry
        .all()
        .into_iter()
        .filter(|q| q.id == query.questionnaire.as_ref())
        .map(|q| (q.version, registry.pooled(&q.id, q.version)))
        .collect();
    let group = |counts: &GrainCounts, units_seen: Option<&mut HashMap<String, HashMap<i64, u64>>>| -> Grouped {
        let mut grouped = Grouped::new();
        let mut units_seen = units_seen;
        for (key, &count) in counts {
            if key.questionnaire_id != query.questionnaire || !in_scope(key.unit_id) {
                continue;
            }
            if query.channel.is_some_and(|c| key.channel != Some(c)) {
                continue;
            }
            let count = u64::try_from(count).unwrap_or(0);
            for code in keys_of(key) {
                let version = pooled.get(&key.questionnaire_version).copied().unwrap_or(key.questionnaire_version);
                let entry = grouped.entry((code.clone(), version)).or_default();
                if key.question_id == RESPONSES_QUESTION {
                    entry.0 += count;
                    if let Some(seen) = units_seen.as_deref_mut() {
                        *seen.entry(code).or_default().entry(key.unit_id).or_default() += count;
                    }
                } else if key.question_id.starts_with("flag.") || key.question_id.starts_with(flags::FLAGGED_PREFIX) {
                    // Stuffing flags and the copies of flagged responses' answers (which a
                    // report without flagged responses takes out): apart from the answers.
                    *entry.2.entry((key.question_id.clone(), key.value)).or_default() += count;
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
            Level::Channel => {
                let name = Channel::parse(code).map_or("Kênh khác", Channel::name_vi);
                Target { code: code.to_owned(), name: name.to_owned(), parent_code: None }
            }
            Level::Questionnaire => Target {
                code: code.to_owned(),
                name: registry.latest(code).map(|q| q.title_vi.clone()).unwrap_or_default(),
                parent_code: None,
            },
        }
    };

    let method = Method { min_sample: settings.min_sample, bands: &settings.bands, suggestion: &settings.suggestion };
    let mut by_version: BTreeMap<i64, Vec<TargetCounts>> = BTreeMap::new();
    for ((code, version), (mut responses, mut counts, flag_counts)) in grouped_now {
        if only.is_some_and(|only| only != code) {
            continue;
        }
        let flagged = settle_flags(query, &mut responses, &mut counts, &flag_counts);
        let previous = grouped_before.remove(&(code.clone(), version)).map(|(mut n, mut counts, flag_counts)| {
            settle_flags(query, &mut n, &mut counts, &flag_counts);
            (n, counts)
        });
        by_version.entry(version).or_default().push(TargetCounts {
            target: target_of(&code),
            questionnaire_version: version,
            responses,
            counts,
            previous,
            flagged,
        });
    }
    let mut versions = Vec::new();
    let mut all_rows = Vec::new();
    let mut funnels = Vec::new();
    for (version, targets) in by_version {
        let Some(q) = registry.version(&query.questionnaire, version) else {
            tracing::warn!(questionnaire = %query.questionnaire, version, "counts of an unknown questionnaire version");
            continue;
        };
        let version_rows = rows(query.level, q, method, targets);
        if let Some(funnel) = peer_funnel(query.level, &version_rows) {
            funnels.push((format!("{}@{}", q.id, q.version), funnel));
        }
        all_rows.extend(version_rows);
        versions.push(Arc::clone(q));
    }
    // Rated ÷ served, where the one-stop software reported the dossiers served.
    let served_by = match query.level {
        Level::Officer => Some(crate::store::ServedBy::Officer),
        Level::Unit => Some(crate::store::ServedBy::Unit),
        _ => None,
    };
    if let Some(by) = served_by {
        let (from, to) = query.period.day_range();
        let served = store.served_by(by, from, to).await?;
        let by_code: HashMap<String, u64> = served
            .into_iter()
            .filter_map(|(id, n)| {
                let code = match by {
                    crate::store::ServedBy::Officer => names.get(&id).map(|(code, ..)| code.clone()),
                    crate::store::ServedBy::Unit => unit_by_id.get(&id).map(|u| u.code.clone()),
                }?;
                Some((code, n))
            })
            .collect();
        crate::domain::report::apply_coverage(query.level, &mut all_rows, &by_code);
    }
    let mut pooled_into: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    let mut seen: Vec<i64> =
        now.keys().filter(|k| k.questionnaire_id == query.questionnaire).map(|k| k.questionnaire_version).collect();
    seen.sort_unstable();
    seen.dedup();
    for version in seen {
        let into = pooled.get(&version).copied().unwrap_or(version);
        if versions.iter().any(|q| q.version == into) {
            pooled_into.entry(into).or_default().push(version);
        }
    }
    Ok(Report {
        query: query.clone(),
        scope_name,
        versions,
        pooled: pooled_into,
        rows: all_rows,
        funnels,
        min_sample: settings.min_sample,
        bands: settings.bands.clone(),
        suggestion: settings.suggestion.clone(),
        flag_rules: settings.flags.clone(),
        generated_at_ms: store.clock().now_ms(),
    })
}

/// The most comments a page lists.
const COMMENTS_LIMIT: i64 = 200;

fn pick(report: &Report, code: &str) -> Option<Row> {
    report.rows.iter().filter(|r| r.target.code == code).max_by_key(|r| (r.responses, r.questionnaire_version)).cloned()
}

/// Builds the page of the target `code` at `query.level` (one of [`PAGE_LEVELS`]), its peers
/// being the report's targets. `comments` says whether the caller's role reads comments.
///
/// One function because it reads a page's parts in order (rows, monthly and quarterly series, the
/// unit to compare with, the officers, the comments), each from the report before it.
pub async fn detail(
    store: &Store,
    registry: &Registry,
    settings: &Settings,
    query: &Query,
    code: &str,
    scope: &Scope,
    comments: bool,
) -> Result<Detail, ReportError> {
    if !PAGE_LEVELS.contains(&query.level) {
        return Err(ReportError::NotFound(format!("no page for the level '{}'", query.level.code())));
    }
    let report = build(store, registry, settings, query, scope).await?;
    let rows: Vec<Row> = report.rows.iter().filter(|r| r.target.code == code).cloned().collect();

    // The target must exist within the scope, rated or not.
    let units = store.units().await?;
    let links = store.unit_links().await?;
    let unknown = || ReportError::NotFound(format!("no {} '{code}' within your scope", query.level.code()));
    let root = match &query.unit {
        Some(root) => {
            let unit = units.iter().find(|u| &u.code == root && scope.contains(u.id)).ok_or_else(unknown)?;
            Some(Scope::subtree(unit.id, &links))
        }
        None => None,
    };
    let visible = |unit_id: i64| scope.contains(unit_id) && root.as_ref().is_none_or(|r| r.contains(unit_id));
    let visible_ids = || -> Option<Vec<i64>> {
        (!matches!(scope, Scope::All) || root.is_some())
            .then(|| units.iter().map(|u| u.id).filter(|id| visible(*id)).collect())
    };
    let (target, of) = match query.level {
        Level::Unit | Level::Subtree => {
            let unit = units.iter().find(|u| u.code == code && visible(u.id)).ok_or_else(unknown)?;
            let ids = match query.level {
                Level::Unit => vec![unit.id],
                _ => {
                    let subtree = Scope::subtree(unit.id, &links);
                    units.iter().map(|u| u.id).filter(|id| visible(*id) && subtree.contains(*id)).collect()
                }
            };
            let target =
                Target { code: unit.code.clone(), name: unit.name.clone(), parent_code: unit.parent_code.clone() };
            (target, crate::store::CommentsOf { units: Some(ids), desk: None, officer: None })
        }
        Level::Desk => {
            let desk =
                store.desks().await?.into_iter().find(|d| d.code == code && visible(d.unit_id)).ok_or_else(unknown)?;
            let target = Target { code: desk.code, name: desk.name, parent_code: Some(desk.unit_code) };
            (target, crate::store::CommentsOf { units: visible_ids(), desk: Some(desk.id), officer: None })
        }
        _ => {
            let officer = store.officers().await?.into_iter().find(|o| o.code == code).ok_or_else(unknown)?;
            if rows.is_empty() && !visible(officer.unit_id) {
                return Err(unknown());
            }
            let parent = rows.last().and_then(|r| r.target.parent_code.clone()).or(Some(officer.unit_code));
            let target = Target { code: officer.code, name: officer.full_name, parent_code: parent };
            (target, crate::store::CommentsOf { units: visible_ids(), desk: None, officer: Some(officer.id) })
        }
    };

    let months = series(store, registry, settings, query, scope, code, query.period.months_to_end(12)).await?;
    let quarters = series(store, registry, settings, query, scope, code, query.period.quarters_of_year()).await?;

    let unit = match (query.level, &target.parent_code) {
        (Level::Desk | Level::Officer, Some(parent)) => {
            let q = Query { level: Level::Unit, unit: None, ..query.clone() };
            pick(&build_with(store, registry, settings, &q, scope, false, Some(parent)).await?, parent)
        }
        _ => None,
    };
    let officers = match query.level {
        Level::Unit | Level::Subtree => {
            let q = Query { level: Level::Officer, unit: Some(code.to_owned()), ..query.clone() };
            let mut r = build_with(store, registry, settings, &q, scope, false, None).await?;
            if query.level == Level::Unit {
                // The unit's own officers: those who gave most of their ratings here.
                r.rows.retain(|row| row.target.parent_code.as_deref() == Some(code));
            }
            Some(r)
        }
        _ => None,
    };

    // The target alone on each channel, as the trend reads it: its own figures by channel.
    let mut channels = Vec::new();
    if query.channel.is_none() {
        for channel in [Channel::Receipt, Channel::Qr] {
            let q = Query { channel: Some(channel), ..query.clone() };
            let report = build_with(store, registry, settings, &q, scope, false, Some(code)).await?;
            channels.push((channel, pick(&report, code)));
        }
    }

    let responses: u64 = rows.iter().map(|r| r.responses).sum();
    let comments = if !comments {
        Comments::NotForRole
    } else if responses < COMMENTS_MIN_RESPONSES {
        Comments::TooFew
    } else {
        let (from, to) = query.period.day_range();
        Comments::Listed(store.comments_of(&of, query.questionnaire.as_str(), from, to, COMMENTS_LIMIT).await?)
    };
    Ok(Detail { report, target, rows, months, quarters, unit, officers, channels, comments })
}

/// The row of `code` in the report of `query` for each of `periods`, without comparison.
async fn series(
    store: &Store,
    registry: &Registry,
    settings: &Settings,
    query: &Query,
    scope: &Scope,
    code: &str,
    periods: Vec<Period>,
) -> Result<Vec<(Period, Option<Row>)>, ReportError> {
    let mut points = Vec::with_capacity(periods.len());
    for period in periods {
        let q = Query { period, ..query.clone() };
        // The target alone: its own figures, without its peers' (a trend compares it with itself).
        let report = build_with(store, registry, settings, &q, scope, false, Some(code)).await?;
        points.push((period, pick(&report, code)));
    }
    Ok(points)
}

/// Builds the dashboard of `scope` for `period` and the questionnaire `questionnaire`.
pub async fn overview(
    store: &Store,
    registry: &Registry,
    settings: &Settings,
    scope: &Scope,
    period: Period,
    questionnaire: &str,
) -> Result<Overview, ReportError> {
    let query = Query {
        period,
        level: Level::Questionnaire,
        unit: None,
        questionnaire: questionnaire.into(),
        channel: None,
        without_flagged: false,
    };
    let total = pick(&build(store, registry, settings, &query, scope).await?, questionnaire);
    let months = series(store, registry, settings, &query, scope, questionnaire, period.months_to_end(12)).await?;

    let units = store.units().await?;
    let visible: Vec<&crate::domain::org::Unit> = units.iter().filter(|u| scope.contains(u.id)).collect();
    let in_scope = |code: &Option<String>| code.as_ref().is_some_and(|c| visible.iter().any(|u| &u.code == c));
    let roots: Vec<&str> = visible.iter().filter(|u| !in_scope(&u.parent_code)).map(|u| u.code.as_str()).collect();
    let subtrees = build(store, registry, settings, &Query { level: Level::Subtree, ..query.clone() }, scope).await?;
    let mut rows = Vec::new();
    for root in &roots {
        rows.extend(subtrees.rows.iter().filter(|r| r.target.code == *root).cloned());
        let mut children: Vec<Row> =
            subtrees.rows.iter().filter(|r| r.target.parent_code.as_deref() == Some(root)).cloned().collect();
        children.sort_by(|a, b| a.target.code.cmp(&b.target.code));
        rows.extend(children);
    }
    for row in &mut rows {
        row.rank = None;
    }
    Ok(Overview {
        period,
        questionnaire: questionnaire.to_owned(),
        total,
        months,
        units: rows,
        min_sample: settings.min_sample,
    })
}
