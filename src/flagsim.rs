//! The stuffing flags' scenario simulator (`hailong flags simulate`): scenario files of honest
//! days and of stuffing replayed through the real writer (`Store::commit_group`, the flag pass
//! and all) and the real form-key check, on a database of their own and a set clock, and the
//! share of honest ratings flagged and of stuffed ratings caught, per rule and overall. A
//! province runs it on its own `[flags]` settings before adopting them; CI runs the shipped
//! scenarios against the targets.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Poisson};
use serde::Deserialize;
use time::{Date, Time};

use crate::domain::clock::{self, Clock};
use crate::domain::flags::{FlagKind, Rules};
use crate::domain::org::{Code, Name, NewAssignment, NewDesk, NewUnit, UnitKind, Validity};
use crate::domain::questionnaire::{Questionnaire, Registry};
use crate::domain::response::{Channel, FormKeys, IdempotencyKey, NewResponse};
use crate::store::{OrgBatch, Store, WriteOutcome};

/// The shipped scenarios (`scenarios/flags/`), by file name.
pub const SHIPPED: &[(&str, &str)] = &[
    ("honest-officer-qr-shared-wifi.toml", include_str!("../scenarios/flags/honest-officer-qr-shared-wifi.toml")),
    ("honest-desk-qr-three-officers.toml", include_str!("../scenarios/flags/honest-desk-qr-three-officers.toml")),
    ("honest-centre-poster.toml", include_str!("../scenarios/flags/honest-centre-poster.toml")),
    ("honest-excellent-officer.toml", include_str!("../scenarios/flags/honest-excellent-officer.toml")),
    ("honest-one-network-many-phones.toml", include_str!("../scenarios/flags/honest-one-network-many-phones.toml")),
    ("honest-sipas-poster.toml", include_str!("../scenarios/flags/honest-sipas-poster.toml")),
    ("stuffing-one-phone.toml", include_str!("../scenarios/flags/stuffing-one-phone.toml")),
    (
        "stuffing-one-phone-clearing-cookies.toml",
        include_str!("../scenarios/flags/stuffing-one-phone-clearing-cookies.toml"),
    ),
    ("stuffing-script-on-one-address.toml", include_str!("../scenarios/flags/stuffing-script-on-one-address.toml")),
    ("stuffing-five-phones-one-network.toml", include_str!("../scenarios/flags/stuffing-five-phones-one-network.toml")),
    ("stuffing-no-form-drawn.toml", include_str!("../scenarios/flags/stuffing-no-form-drawn.toml")),
    ("stuffing-script-sends-at-once.toml", include_str!("../scenarios/flags/stuffing-script-sends-at-once.toml")),
    ("stuffing-rotating-addresses.toml", include_str!("../scenarios/flags/stuffing-rotating-addresses.toml")),
    ("stuffing-flood-at-a-rival.toml", include_str!("../scenarios/flags/stuffing-flood-at-a-rival.toml")),
];

/// The targets the shipped rules are held to.
pub const HONEST_TARGET: f64 = 0.02;
pub const CAUGHT_TARGET: f64 = 0.95;

/// What a scenario's point is for.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Officer,
    Desk,
    Unit,
}

/// Which answers the stuffed ratings give.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Answers {
    Top,
    Bottom,
}

/// A scenario file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// One line saying what it is.
    pub title: String,
    /// What the point is for.
    pub target: Target,
    /// The questionnaire of the point (`mot-cua` or `sipas-2017`).
    #[serde(default = "default_questionnaire")]
    pub questionnaire: String,
    /// Honest ratings on an ordinary open day, on average (arrivals are Poisson, busier in the
    /// first hours, with a lunch dip).
    pub per_day: f64,
    /// The share of citizens whose phones are on one shared network (the centre's Wi-Fi).
    #[serde(default)]
    pub shared_network: f64,
    /// The share of citizens' browsers that keep the device cookie the form page gives.
    #[serde(default = "default_keeps_cookie")]
    pub keeps_cookie: f64,
    /// How many different `User-Agent` strings the browsers that keep no cookie send (Chrome's
    /// reduced User-Agent makes most phones alike).
    #[serde(default = "default_browsers")]
    pub browsers: u32,
    /// Seconds from drawing the form to sending it: lowest and highest, evenly spread.
    pub fill_seconds: [u32; 2],
    /// The share of citizens who give every question its top answer.
    #[serde(default = "default_top_share")]
    pub top_share: f64,
    /// The stuffing, once on every open day measured; none in an honest scenario.
    pub attack: Option<Attack>,
}

fn default_questionnaire() -> String {
    "mot-cua".into()
}

fn default_browsers() -> u32 {
    6
}

fn default_keeps_cookie() -> f64 {
    0.95
}

/// What the stuffing's browsers do with the device cookie.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Cookies {
    /// Each phone keeps its own.
    #[default]
    Kept,
    /// Cleared before every rating (a private window each time): a new one each time.
    Cleared,
    /// Never kept (a script): the address and the `User-Agent` are the device.
    None,
}

fn default_top_share() -> f64 {
    0.3
}

/// Ratings someone sends to move a figure.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attack {
    /// Vietnam time of the first, "HH:MM".
    pub at: String,
    /// How many, evenly spread over `minutes`.
    pub ratings: u32,
    pub minutes: u32,
    /// How many phones (browsers) send them, in turn.
    pub phones: u32,
    /// What their browsers do with the device cookie.
    #[serde(default)]
    pub cookies: Cookies,
    /// How many addresses they come from, in turn; 0: a new address for every rating.
    pub addresses: u32,
    /// Seconds from drawing each form to sending it; 0: sent with a key the service never
    /// issued (no form drawn).
    pub fill_seconds: u32,
    pub answers: Answers,
}

impl Scenario {
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let s: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        s.validate()?;
        Ok(s)
    }

    fn validate(&self) -> Result<(), String> {
        if !(0.0..=5000.0).contains(&self.per_day) {
            return Err("per_day must be between 0 and 5000".into());
        }
        if [self.shared_network, self.top_share, self.keeps_cookie].iter().any(|x| !(0.0..=1.0).contains(x)) {
            return Err("shared_network, top_share and keeps_cookie are shares between 0 and 1".into());
        }
        if self.browsers == 0 {
            return Err("browsers must be at least 1".into());
        }
        if self.fill_seconds[0] > self.fill_seconds[1] {
            return Err("fill_seconds is [lowest, highest]".into());
        }
        if let Some(a) = &self.attack {
            clock_minutes(&a.at).ok_or("attack.at must be a time as HH:MM")?;
            if a.ratings == 0 || a.minutes == 0 || a.phones == 0 {
                return Err("attack: ratings, minutes and phones must be at least 1".into());
            }
        }
        Ok(())
    }
}

fn clock_minutes(text: &str) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// Who sent a rating, for the tally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Truth {
    /// An honest citizen; `before` the day's attack at the same point.
    Honest {
        before: bool,
    },
    Stuffed,
}

/// The shares a scenario gives.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    pub honest: u64,
    pub honest_flagged: u64,
    pub honest_by_kind: BTreeMap<FlagKind, u64>,
    pub before: u64,
    pub before_flagged: u64,
    pub stuffed: u64,
    /// Stuffed ratings flagged, or refused outright (a key the service never issued).
    pub caught: u64,
    pub refused: u64,
    pub stuffed_by_kind: BTreeMap<FlagKind, u64>,
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

impl Outcome {
    pub fn honest_share(&self) -> f64 {
        share(self.honest_flagged, self.honest)
    }

    pub fn caught_share(&self) -> f64 {
        share(self.caught, self.stuffed)
    }

    pub fn before_share(&self) -> f64 {
        share(self.before_flagged, self.before)
    }

    /// Whether the targets hold: in an honest scenario at most [`HONEST_TARGET`] of the honest
    /// ratings flagged; in a stuffing scenario at least [`CAUGHT_TARGET`] of the stuffed ones
    /// caught and at most [`HONEST_TARGET`] of the honest ones given before the attack flagged
    /// (those given during it, in the same burst, nothing tells apart from it).
    pub fn meets_targets(&self) -> bool {
        if self.stuffed > 0 {
            self.caught_share() >= CAUGHT_TARGET && self.before_share() <= HONEST_TARGET
        } else {
            self.honest_share() <= HONEST_TARGET
        }
    }
}

/// How a run is made.
#[derive(Clone, Debug)]
pub struct Run {
    /// Open days measured, after `rules.history_days` of honest days that make the history.
    pub days: u32,
    pub seed: u64,
    pub rules: Rules,
}

/// A Monday: the first day of every simulation (time is a parameter, never today).
fn first_day() -> Date {
    time::macros::date!(2026 - 01 - 05)
}

/// One rating to send.
struct Send {
    at_ms: i64,
    drawn_ms: i64,
    forged: bool,
    device: String,
    answers: Vec<(String, i64)>,
    truth: Truth,
}

/// Runs `scenario` in a database of its own under `dir`.
pub async fn simulate(scenario: &Scenario, run: &Run, dir: &Path) -> anyhow::Result<Outcome> {
    let start = first_day().with_time(Time::from_hms(6, 0, 0)?).assume_offset(clock::VIETNAM);
    let clock = Clock::starting(start);
    let url = format!("sqlite://{}", dir.join("simulation.db").display());
    let store = Store::open(&url, 2).await?.with_flag_rules(run.rules.clone()).with_clock(clock.clone());
    let registry = crate::startup::load_questionnaires(&store).await?;
    let questionnaire = registry
        .latest(&scenario.questionnaire)
        .cloned()
        .with_context(|| format!("no questionnaire {}", scenario.questionnaire))?;
    let point = make_point(&store, scenario, &registry).await?;
    let keys = FormKeys::new(rand::random());
    let mut rng = StdRng::seed_from_u64(run.seed);
    let mut truths: HashMap<i64, Truth> = HashMap::new();
    let mut outcome = Outcome::default();
    let hours = run.rules.hours_of("SIM").clone();
    let open = clock_minutes(&hours.open).unwrap_or(7 * 60);
    let close = clock_minutes(&hours.close).unwrap_or(17 * 60 + 30);
    let warm_up = run.rules.history_days;
    let mut day = first_day();
    let mut done = 0;
    while done < warm_up + run.days {
        let weekday = day.weekday().number_from_monday();
        if !hours.days.contains(&weekday) {
            day = day.next_day().context("a day after")?;
            continue;
        }
        let measured = done >= warm_up;
        let mut sends = honest_day(&mut rng, scenario, &questionnaire, day, open, close)?;
        if let (true, Some(attack)) = (measured, &scenario.attack) {
            let stuffed = attack_day(&mut rng, attack, &questionnaire, day)?;
            let first = stuffed.iter().map(|s| s.at_ms).min().unwrap_or(i64::MAX);
            for s in &mut sends {
                s.truth = Truth::Honest { before: s.at_ms < first };
            }
            sends.extend(stuffed);
        }
        sends.sort_by_key(|s| s.at_ms);
        // One group per hour, as a writer takes what arrived together (the rules read the
        // ratings of a group one after the other, as if each came alone).
        let mut groups: BTreeMap<i64, Vec<(NewResponse, Truth)>> = BTreeMap::new();
        for s in sends {
            let key = if s.forged { IdempotencyKey::generate_at(s.drawn_ms) } else { keys.issue(s.drawn_ms) };
            // The web's gate: a key the service did not issue stores nothing.
            if keys.check(key.as_str()).is_none() {
                if measured && s.truth == Truth::Stuffed {
                    outcome.stuffed += 1;
                    outcome.caught += 1;
                    outcome.refused += 1;
                }
                continue;
            }
            let response = NewResponse {
                point_id: point,
                questionnaire_id: questionnaire.id.as_str().into(),
                questionnaire_version: questionnaire.version,
                answers: s.answers,
                field: None,
                comment: None,
                channel: Channel::Qr,
                submitted_at_ms: s.at_ms,
                key,
                receipt: None,
                device: Some(s.device),
            };
            let truth = if measured { s.truth } else { Truth::Honest { before: false } };
            groups.entry(s.at_ms.div_euclid(3_600_000)).or_default().push((response, truth));
        }
        for (_, group) in groups {
            let (responses, labels): (Vec<NewResponse>, Vec<Truth>) = group.into_iter().unzip();
            let outcomes = store.commit_group(&responses).await?;
            for (written, truth) in outcomes.into_iter().zip(labels) {
                if let (WriteOutcome::Stored(id), true) = (written, measured) {
                    truths.insert(id, truth);
                }
            }
        }
        done += 1;
        day = day.next_day().context("a day after")?;
    }
    let mut kinds: HashMap<i64, Vec<FlagKind>> = HashMap::new();
    for (id, question) in store.flag_answers().await? {
        if let Some(kind) = crate::domain::flags::kind_of(&question) {
            kinds.entry(id).or_default().push(kind);
        }
    }
    for (id, truth) in truths {
        let flags = kinds.get(&id).cloned().unwrap_or_default();
        match truth {
            Truth::Honest { before } => {
                outcome.honest += 1;
                outcome.honest_flagged += u64::from(!flags.is_empty());
                if before && scenario.attack.is_some() {
                    outcome.before += 1;
                    outcome.before_flagged += u64::from(!flags.is_empty());
                }
                for k in flags {
                    *outcome.honest_by_kind.entry(k).or_default() += 1;
                }
            }
            Truth::Stuffed => {
                outcome.stuffed += 1;
                outcome.caught += u64::from(!flags.is_empty());
                for k in flags {
                    *outcome.stuffed_by_kind.entry(k).or_default() += 1;
                }
            }
        }
    }
    store.close().await;
    Ok(outcome)
}

/// The simulation's unit, desk and officer, and the point the scenario is for.
async fn make_point(store: &Store, scenario: &Scenario, registry: &Registry) -> anyhow::Result<i64> {
    let code = |text: &str| Code::parse(text).map_err(anyhow::Error::msg);
    let name = |text: &str| Name::parse(text).map_err(anyhow::Error::msg);
    let validity = Validity::new(time::macros::date!(2020 - 01 - 01), None).map_err(anyhow::Error::msg)?;
    let batch = OrgBatch {
        units: vec![NewUnit {
            code: code("SIM")?,
            name: name("Bộ phận Một cửa mô phỏng")?,
            kind: UnitKind::Commune,
            parent: None,
            validity,
            successor: None,
        }],
        desks: vec![NewDesk { code: code("SIM.TT")?, name: name("Quầy mô phỏng")?, unit: code("SIM")? }],
        assignments: vec![NewAssignment {
            officer: code("CB-SIM")?,
            full_name: name("Cán bộ mô phỏng")?,
            unit: code("SIM")?,
            desk: Some(code("SIM.TT")?),
            validity,
        }],
        fields: Vec::new(),
        served: Vec::new(),
    };
    store.import_org(&batch, crate::domain::questionnaire::DEFAULT_ID, "simulate", &|_| {}).await?;
    let points = store.active_points().await?;
    let point = points
        .iter()
        .find(|p| match scenario.target {
            Target::Officer => p.officer_code.is_some(),
            Target::Desk => p.desk_code.is_some() && p.officer_code.is_none(),
            Target::Unit => p.desk_code.is_none() && p.officer_code.is_none(),
        })
        .context("the simulation's point")?;
    if registry.latest(&scenario.questionnaire).is_some() && point.questionnaire_id.as_str() != scenario.questionnaire {
        store.set_point_questionnaire(&point.slug, &scenario.questionnaire, "simulate").await?;
    }
    Ok(point.id)
}

/// The Unix milliseconds of `minute` (of the day, Vietnam time) on `day`, plus `seconds`.
fn moment(day: Date, minute: f64) -> i64 {
    let midnight = day.with_time(Time::MIDNIGHT).assume_offset(clock::VIETNAM).unix_timestamp() * 1000;
    midnight + (minute * 60_000.0) as i64
}

/// How busy the desk is at `minute` of the day, relative to its average: busier in the first
/// hours, a dip over lunch.
fn busyness(minute: f64, open: u32, close: u32) -> f64 {
    if minute < f64::from(open) || minute >= f64::from(close) {
        0.0
    } else if (690.0..810.0).contains(&minute) {
        0.3
    } else if minute < f64::from(open) + 150.0 {
        1.6
    } else {
        1.0
    }
}

/// One citizen's answers: every question at its top, or a spread of good and middling ones.
fn answers(rng: &mut StdRng, q: &Questionnaire, all_top: bool, bottom: bool) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for question in &q.questions {
        let mut values: Vec<i64> = q.options(question).iter().map(|l| l.value).collect();
        values.sort_unstable_by(|a, b| b.cmp(a));
        let Some(top) = values.first().copied() else { continue };
        let value = if bottom {
            values.last().copied().unwrap_or(top)
        } else if all_top {
            top
        } else {
            // Top 40%, the next 35%, any other 25%.
            let roll: f64 = rng.random();
            let i = if roll < 0.4 {
                0
            } else if roll < 0.75 || values.len() < 3 {
                1.min(values.len() - 1)
            } else {
                rng.random_range(2..values.len())
            };
            values[i]
        };
        out.push((question.id.clone(), value));
    }
    // A citizen who gives every question its top answer is the all-top case; the spread may
    // land there too, as it does.
    let derived = q.derived(&out);
    out.extend(derived);
    out
}

/// A day of honest citizens: Poisson arrivals shaped by [`busyness`], each drawing the form a
/// little after being served and sending it after filling it in.
fn honest_day(
    rng: &mut StdRng,
    scenario: &Scenario,
    q: &Questionnaire,
    day: Date,
    open: u32,
    close: u32,
) -> anyhow::Result<Vec<Send>> {
    let mut sends = Vec::new();
    if scenario.per_day <= 0.0 {
        return Ok(sends);
    }
    let n = Poisson::new(scenario.per_day).map_err(|e| anyhow::anyhow!("per_day: {e}"))?.sample(rng) as u64;
    let peak = 1.6;
    let shared = format!("192.0.2.{}", 1 + day.ordinal() % 200);
    for _ in 0..n {
        // The moment served, by rejection against the day's shape.
        let served = loop {
            let minute = rng.random_range(f64::from(open)..f64::from(close));
            if rng.random::<f64>() * peak < busyness(minute, open, close) {
                break minute;
            }
        };
        let drawn = moment(day, served) + rng.random_range(10_000..180_000);
        let fill = i64::from(rng.random_range(scenario.fill_seconds[0]..=scenario.fill_seconds[1])) * 1000;
        let address = if rng.random_bool(scenario.shared_network) {
            shared.clone()
        } else {
            format!("100.{}.{}.{}", rng.random_range(64..128), rng.random_range(0..=255), rng.random_range(1..255))
        };
        // As the web's `client::flag_device_of` makes it: the cookie, or the browser.
        let device = if rng.random_bool(scenario.keeps_cookie) {
            format!("{address} c:{:022x}", rng.random::<u128>())
        } else {
            let version = 130 + rng.random_range(0..scenario.browsers);
            format!("{address} ua:Mozilla/5.0 (Linux; Android 10; K) Chrome/{version}.0.0.0 Mobile Safari/537.36")
        };
        let all_top = rng.random_bool(scenario.top_share);
        sends.push(Send {
            at_ms: drawn + fill,
            drawn_ms: drawn,
            forged: false,
            device,
            answers: answers(rng, q, all_top, false),
            truth: Truth::Honest { before: false },
        });
    }
    Ok(sends)
}

/// The day's stuffing, as the scenario's attack says.
fn attack_day(rng: &mut StdRng, attack: &Attack, q: &Questionnaire, day: Date) -> anyhow::Result<Vec<Send>> {
    let first = f64::from(clock_minutes(&attack.at).context("attack.at")?);
    let step = f64::from(attack.minutes) / f64::from(attack.ratings);
    let mut sends = Vec::new();
    for i in 0..attack.ratings {
        let at = moment(day, first + step * f64::from(i));
        let phone = i % attack.phones;
        let address = if attack.addresses == 0 {
            format!("198.18.{}.{}", rng.random_range(0..=255), rng.random_range(1..255))
        } else {
            format!("203.0.113.{}", 1 + i % attack.addresses)
        };
        let fill = i64::from(attack.fill_seconds) * 1000;
        sends.push(Send {
            at_ms: at,
            drawn_ms: at - fill.max(1000),
            forged: attack.fill_seconds == 0,
            device: match attack.cookies {
                Cookies::Kept => format!("{address} c:stuffer-phone-{phone:08}"),
                Cookies::Cleared => format!("{address} c:{:022x}", rng.random::<u128>()),
                Cookies::None => format!("{address} ua:Mozilla/5.0 (X11; Linux x86_64) stuffer-{phone}"),
            },
            answers: answers(rng, q, attack.answers == Answers::Top, attack.answers == Answers::Bottom),
            truth: Truth::Stuffed,
        });
    }
    Ok(sends)
}

/// Reads the scenarios named (or the shipped ones): (name, scenario).
pub fn load(files: &[std::path::PathBuf]) -> anyhow::Result<Vec<(String, Scenario)>> {
    if files.is_empty() {
        return SHIPPED
            .iter()
            .map(|(name, text)| {
                let scenario =
                    Scenario::from_toml(text).map_err(|e| anyhow::anyhow!("shipped scenario {name}: {e}"))?;
                Ok((name.trim_end_matches(".toml").to_owned(), scenario))
            })
            .collect();
    }
    files
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
            let scenario = Scenario::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            Ok((name, scenario))
        })
        .collect()
}

/// A percentage with one decimal.
fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// The table the command prints: one row per scenario.
pub fn table(results: &[(String, Scenario, Outcome)], rules: &Rules) -> String {
    let mut out = format!(
        "Stuffing flags {} on simulated days (honest flagged: at most {}; stuffed caught: at least {})\n\n",
        rules.version,
        percent(HONEST_TARGET),
        percent(CAUGHT_TARGET)
    );
    out.push_str(&format!(
        "{:<38} {:>8} {:>8} {:>9} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7}  {}\n",
        "scenario",
        "honest",
        "flagged",
        "before",
        "stuffed",
        "caught",
        "burst",
        "device",
        "fast",
        "off_hrs",
        "ident",
        "target"
    ));
    for (name, _, o) in results {
        let by = |kind: FlagKind| -> String {
            if o.stuffed > 0 {
                percent(share(o.stuffed_by_kind.get(&kind).copied().unwrap_or(0), o.stuffed))
            } else {
                percent(share(o.honest_by_kind.get(&kind).copied().unwrap_or(0), o.honest))
            }
        };
        let before = if o.before > 0 { percent(o.before_share()) } else { "—".into() };
        let (stuffed, caught) = if o.stuffed > 0 {
            (o.stuffed.to_string(), percent(o.caught_share()))
        } else {
            ("—".into(), "—".into())
        };
        out.push_str(&format!(
            "{:<38} {:>8} {:>8} {:>9} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7}  {}\n",
            name,
            o.honest,
            percent(o.honest_share()),
            before,
            stuffed,
            caught,
            by(FlagKind::Burst),
            by(FlagKind::Device),
            by(FlagKind::Fast),
            by(FlagKind::OffHours),
            by(FlagKind::Identical),
            if o.meets_targets() { "met" } else { "MISSED" }
        ));
    }
    out.push_str(
        "\nhonest, flagged: honest ratings measured and the share flagged (in a stuffing scenario, those given \
         during the attack at the same point included); before: the share flagged of the honest \
         ratings given before the day's attack at the same point; stuffed, caught: stuffed ratings and the share \
         flagged or refused (a key the service never issued); per rule: the share of the stuffed ratings (of the \
         honest ones where there is no attack) the rule flags.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_scenarios_read_and_a_bad_one_is_refused_with_its_reason() {
        let all = load(&[]).expect("the shipped scenarios");
        assert_eq!(all.len(), SHIPPED.len());
        assert!(all.iter().any(|(_, s)| s.attack.is_some()) && all.iter().any(|(_, s)| s.attack.is_none()));
        let bad = "title = \"x\"\ntarget = \"officer\"\nper_day = 60\nfill_seconds = [90, 20]\n";
        assert_eq!(Scenario::from_toml(bad).err().as_deref(), Some("fill_seconds is [lowest, highest]"));
        let unknown = "title = \"x\"\ntarget = \"kiosk\"\nper_day = 60\nfill_seconds = [20, 90]\n";
        assert!(Scenario::from_toml(unknown).is_err());
    }

    #[test]
    fn an_honest_day_is_shaped_by_the_desks_hours() {
        let q = Questionnaire::from_toml(crate::domain::questionnaire::SHIPPED[0]).expect("a questionnaire");
        let scenario = Scenario::from_toml(SHIPPED[0].1).expect("a scenario");
        let mut rng = StdRng::seed_from_u64(7);
        let day = first_day();
        let sends = honest_day(&mut rng, &scenario, &q, day, 7 * 60, 17 * 60 + 30).expect("a day");
        assert!((40..=80).contains(&sends.len()), "{}", sends.len());
        let (opens, closes) = (moment(day, 420.0), moment(day, 1050.0 + 10.0));
        assert!(sends.iter().all(|s| s.at_ms > opens && s.at_ms < closes));
        let lunch = sends.iter().filter(|s| (moment(day, 700.0)..moment(day, 800.0)).contains(&s.at_ms)).count();
        let morning = sends.iter().filter(|s| (moment(day, 440.0)..moment(day, 540.0)).contains(&s.at_ms)).count();
        assert!(lunch < morning, "lunch {lunch}, morning {morning}");
    }
}
