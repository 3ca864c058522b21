//! Stuffing flags: signs that ratings at an open QR code were not given by separate citizens
//! after being served. A flag never removes or changes a response: it is counted beside it (as a
//! derived answer `flag.KIND`, see [`answer_id`]), reports show how many of a row's responses
//! carry one, and a report may leave flagged responses out, saying so.
//!
//! The rules and their thresholds are a province's settings with a version
//! ([`Rules`]), printed in every report's method. They are assessed by the writer in the
//! transaction that stores the responses, on counters of the points, officers and devices
//! (one row each per window step or day, whatever the thresholds); a burst flags its dense
//! part, the earlier responses of it too, not the ordinary ones before it.

use std::collections::{BTreeMap, HashMap};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// A keyed hash of `text` under a day's salt (16 hex digits): of a device, for the stuffing
/// flags, or of a device and a point, for the abuse limits. Enough to tell one day's devices
/// apart; nothing to tell which address it was once the salt is gone.
pub fn keyed_hash(salt: &str, text: &str) -> String {
    // HMAC takes a key of any length: this never fails.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(salt.as_bytes()) else { return String::new() };
    mac.update(text.as_bytes());
    super::chain::hex(&mac.finalize().into_bytes()[..8])
}

/// Why a response is flagged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum FlagKind {
    /// One of more responses at one point, or for one officer, in a short time than its own
    /// history makes likely.
    Burst,
    /// One of many responses from one device (its address and its device cookie, or its browser)
    /// at one point in a day.
    Device,
    /// Sent sooner after the form was drawn than a person can read it.
    Fast,
    /// Given outside the unit's opening hours.
    OffHours,
    /// One of a long run of responses in a row at one point with the same answers.
    Identical,
}

impl FlagKind {
    pub const ALL: [Self; 5] = [Self::Burst, Self::Device, Self::Fast, Self::OffHours, Self::Identical];

    pub fn code(self) -> &'static str {
        match self {
            Self::Burst => "burst",
            Self::Device => "device",
            Self::Fast => "fast",
            Self::OffHours => "off_hours",
            Self::Identical => "identical",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn vi(self) -> &'static str {
        match self {
            Self::Burst => "dồn dập",
            Self::Device => "cùng thiết bị (địa chỉ mạng và cookie)",
            Self::Fast => "gửi quá nhanh",
            Self::OffHours => "ngoài giờ làm việc",
            Self::Identical => "chuỗi phiếu giống nhau",
        }
    }
}

/// The derived answer a flag is counted under (value 1).
pub fn answer_id(kind: FlagKind) -> String {
    format!("flag.{}", kind.code())
}

/// The derived answer every flagged response has once (value 1): the number of flagged responses.
pub const ANY_FLAG: &str = "flag.any";

/// The prefix of the copies of a flagged response's answers, so that a report can take them
/// out: `flagged.Q` for each answer `Q` (own or derived) of the response.
pub const FLAGGED_PREFIX: &str = "flagged.";

/// What is wrong with a response's derived answers, if anything: those its questionnaire
/// derives from its own answers (`alpha.*`, `composite.*`) must be exactly what
/// [`Questionnaire::derived`](super::questionnaire::Questionnaire::derived) gives, and a flagged
/// response has `flag.any` and a `flagged.` copy of each other answer, a response without flags
/// none of them. (Which flags a response has is chained apart: the device hashes they came from
/// are forgotten.)
pub fn derived_problem(q: &super::questionnaire::Questionnaire, answers: &[(String, i64)]) -> Option<String> {
    let is_flag = |id: &str| id.starts_with("flag.") || id.starts_with(FLAGGED_PREFIX);
    let own: Vec<(String, i64)> = answers.iter().filter(|(id, _)| super::chain::is_own_answer(id)).cloned().collect();
    let mut computed = q.derived(&own);
    computed.sort_unstable();
    let mut stored: Vec<(String, i64)> =
        answers.iter().filter(|(id, _)| !super::chain::is_own_answer(id) && !is_flag(id)).cloned().collect();
    stored.sort_unstable();
    if computed != stored {
        let first = stored
            .iter()
            .find(|a| !computed.contains(a))
            .map(|(id, v)| format!("{id} = {v} is stored"))
            .or_else(|| computed.iter().find(|a| !stored.contains(a)).map(|(id, v)| format!("{id} = {v} is missing")))
            .unwrap_or_default();
        return Some(format!("its derived answers are not those its own answers give ({first})"));
    }
    let kinds = answers.iter().filter(|(id, _)| kind_of(id).is_some()).count();
    let any = answers.iter().filter(|(id, _)| id == ANY_FLAG).count();
    let mut copies: Vec<(String, i64)> =
        answers.iter().filter_map(|(id, v)| id.strip_prefix(FLAGGED_PREFIX).map(|q| (q.to_owned(), *v))).collect();
    copies.sort_unstable();
    let mut others: Vec<(String, i64)> = answers.iter().filter(|(id, _)| !is_flag(id)).cloned().collect();
    others.sort_unstable();
    let expected_copies = if kinds > 0 { others } else { Vec::new() };
    if any != usize::from(kinds > 0) || copies != expected_copies {
        return Some("its flags and its flagged copies do not agree".into());
    }
    None
}

/// The kind a derived answer id counts, or `None` for an id that is not a flag.
pub fn kind_of(answer: &str) -> Option<FlagKind> {
    answer.strip_prefix("flag.").and_then(FlagKind::parse)
}

/// When a unit's desks are open (Vietnam time).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningHours {
    /// "HH:MM".
    pub open: String,
    pub close: String,
    /// ISO weekdays: 1 = Monday … 7 = Sunday.
    pub days: Vec<u8>,
}

impl Default for OpeningHours {
    fn default() -> Self {
        Self { open: "07:00".into(), close: "17:30".into(), days: vec![1, 2, 3, 4, 5, 6] }
    }
}

fn minutes(text: &str) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && text.len() == 5).then_some(h * 60 + m)
}

impl OpeningHours {
    fn validate(&self, name: &str) -> Result<(), String> {
        let (Some(open), Some(close)) = (minutes(&self.open), minutes(&self.close)) else {
            return Err(format!("{name}: open and close must be times as HH:MM, e.g. \"07:00\""));
        };
        if open >= close {
            return Err(format!("{name}: open ({}) must be before close ({})", self.open, self.close));
        }
        if self.days.is_empty() || self.days.iter().any(|d| !(1..=7).contains(d)) {
            return Err(format!("{name}: days must list weekdays from 1 (Monday) to 7 (Sunday)"));
        }
        Ok(())
    }

    /// Whether the Vietnam local time `weekday` (1 = Monday) and minute of the day are within
    /// the hours, `grace` minutes after closing included.
    pub fn contains(&self, weekday: u8, minute: u32, grace: u32) -> bool {
        let (open, close) = (minutes(&self.open).unwrap_or(0), minutes(&self.close).unwrap_or(24 * 60));
        self.days.contains(&weekday) && minute >= open && minute <= close + grace
    }

    /// How many minutes a day the desks are open.
    pub fn open_minutes(&self) -> u32 {
        let (open, close) = (minutes(&self.open).unwrap_or(0), minutes(&self.close).unwrap_or(24 * 60));
        close.saturating_sub(open)
    }

    fn words(&self) -> String {
        let days: Vec<String> =
            self.days.iter().map(|d| if *d == 7 { "CN".to_owned() } else { format!("T{}", d + 1) }).collect();
        format!("{}–{} ({})", self.open, self.close, days.join(", "))
    }
}

/// The burst window is counted in this many steps (a window of 10 minutes: the last five steps
/// of 2 minutes, the one under way included), so that the writer reads a fixed number of
/// counters per rating whatever the window's length.
pub const STEPS: i64 = 5;

/// How much busier than its usual day's average a point's busiest hours may be.
pub const PEAK_FACTOR: f64 = 3.0;

/// The chance that honest arrivals at a point's usual rate reach the burst threshold within one
/// window.
pub const BURST_ALPHA: f64 = 1e-6;

/// A run of identical answers counts only responses answering at least this many questions: on
/// a one- or two-question form honest citizens agree in long runs.
pub const IDENTICAL_MIN_ANSWERS: u32 = 3;

/// The rules of stuffing flags, a province's settings (`[flags]`), with a version that the
/// method text prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    pub version: String,
    /// A burst: more responses at one point, or for one officer, within `burst_minutes` than its
    /// own history makes likely (see [`Rules::burst_threshold`]), and never fewer than
    /// `burst_count`; 0: off.
    pub burst_minutes: u32,
    pub burst_count: u32,
    /// How many days before today a point's or officer's usual day is judged on.
    pub history_days: u32,
    /// At least this many responses from one device (its address and its device cookie, or its
    /// browser when it keeps no cookie) at one point in a day; 0: off.
    pub device_count: u32,
    /// Sent sooner after the form was drawn than `min_seconds`, or than `seconds_per_answer`
    /// for each question answered if that is longer; 0 for both: off.
    pub min_seconds: u32,
    pub seconds_per_answer: u32,
    /// At least this many responses in a row at one point with the same answers, each within
    /// `identical_minutes` of the one before; 0: off. Answers at the top of every scale are not
    /// a run (an excellent officer's citizens agree; a fast pace of them is a burst).
    pub identical_count: u32,
    pub identical_minutes: u32,
    /// Opening hours of every unit but those listed in `units` (by unit code).
    pub hours: OpeningHours,
    pub units: BTreeMap<String, OpeningHours>,
    /// Minutes after closing that still count as open (the last citizens served).
    pub grace_minutes: u32,
    /// Whether to flag responses outside the opening hours.
    pub off_hours: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            version: "flags-2026-2".into(),
            burst_minutes: 10,
            burst_count: 10,
            history_days: 14,
            device_count: 3,
            min_seconds: 3,
            seconds_per_answer: 1,
            identical_count: 12,
            identical_minutes: 30,
            hours: OpeningHours::default(),
            units: BTreeMap::new(),
            grace_minutes: 60,
            off_hours: true,
        }
    }
}

impl Rules {
    /// No rule applies: nothing is flagged.
    pub fn off() -> Self {
        Self {
            version: "off".into(),
            burst_count: 0,
            device_count: 0,
            min_seconds: 0,
            seconds_per_answer: 0,
            identical_count: 0,
            off_hours: false,
            ..Self::default()
        }
    }

    /// Whether any rule applies: none, and the writer skips the flag pass altogether.
    pub fn any(&self) -> bool {
        self.burst_count > 0
            || self.device_count > 0
            || self.min_seconds > 0
            || self.seconds_per_answer > 0
            || self.identical_count > 0
            || self.off_hours
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.version.trim().is_empty() {
            return Err("flags.version must name the rules' version".into());
        }
        if self.burst_count > 0 && !(1..=24 * 60).contains(&self.burst_minutes) {
            return Err("flags.burst_minutes must be between 1 and 1440".into());
        }
        if self.burst_count > 0 && !(1..=366).contains(&self.history_days) {
            return Err("flags.history_days must be between 1 and 366".into());
        }
        if self.burst_count == 1 || self.identical_count == 1 || self.device_count == 1 {
            return Err("flags: a count of 1 would flag every response; use 0 to turn a rule off".into());
        }
        if self.min_seconds > 3600 || self.seconds_per_answer > 600 {
            return Err("flags: min_seconds is at most 3600 and seconds_per_answer at most 600".into());
        }
        if self.identical_count > 0 && !(1..=24 * 60).contains(&self.identical_minutes) {
            return Err("flags.identical_minutes must be between 1 and 1440".into());
        }
        self.hours.validate("flags.hours")?;
        for (code, hours) in &self.units {
            hours.validate(&format!("flags.units.{code}"))?;
        }
        Ok(())
    }

    /// The opening hours of the unit `unit_code`.
    pub fn hours_of(&self, unit_code: &str) -> &OpeningHours {
        self.units.get(unit_code).unwrap_or(&self.hours)
    }

    /// The length of one step of the burst window.
    pub fn step_ms(&self) -> i64 {
        (i64::from(self.burst_minutes.max(1)) * 60_000 / STEPS).max(1)
    }

    /// The step an instant falls in.
    pub fn step(&self, at_ms: i64) -> i64 {
        at_ms.div_euclid(self.step_ms())
    }

    /// The burst threshold of a point or officer whose usual day (the median of its days with
    /// ratings over the last `history_days`, flagged ones not counted) holds `usual_day`
    /// responses, at a unit open as `hours` say: the count a window reaches by chance with
    /// probability below [`BURST_ALPHA`] when arrivals come at [`PEAK_FACTOR`] times the usual
    /// day's average rate; never below `burst_count`. A point with no history is judged by
    /// `burst_count` alone.
    pub fn burst_threshold(&self, usual_day: f64, hours: &OpeningHours) -> u32 {
        use statrs::distribution::{DiscreteCDF, Poisson};
        let open = f64::from(hours.open_minutes().max(60));
        let lambda = usual_day * PEAK_FACTOR * f64::from(self.burst_minutes) / open;
        let by_history = Poisson::new(lambda)
            .ok()
            .map(|p| u32::try_from(p.inverse_cdf(1.0 - BURST_ALPHA).saturating_add(1)).unwrap_or(u32::MAX))
            .unwrap_or(0);
        self.burst_count.max(by_history)
    }

    /// How soon after its form was drawn a response with `answered` questions answered is sent
    /// too fast, in milliseconds; 0 when the rule is off.
    pub fn fast_ms(&self, answered: u32) -> i64 {
        i64::from(self.min_seconds.max(self.seconds_per_answer.saturating_mul(answered))) * 1000
    }

    /// The rules in words, for the method text.
    pub fn words(&self) -> String {
        let mut parts = vec![format!("{}: chỉ xét phiếu qua mã QR tại quầy; cờ không xóa hay sửa phiếu", self.version)];
        if self.burst_count > 0 {
            parts.push(format!(
                "dồn dập: tại một mã QR, hoặc cho một cán bộ, số phiếu trong {} phút vượt mức mà nhịp thường ngày \
                 của chính nó ({} ngày trước, lúc đông nhất gấp {} lần bình quân) chỉ đạt với xác suất dưới một phần \
                 triệu, và không dưới {} phiếu (gắn cờ các phiếu liền nhau của đợt)",
                self.burst_minutes, self.history_days, PEAK_FACTOR, self.burst_count
            ));
        }
        if self.device_count > 0 {
            parts.push(format!(
                "cùng thiết bị: từ {} phiếu từ một thiết bị (cùng địa chỉ mạng và cùng cookie thiết bị do trang phiếu cấp; \
                 trình duyệt không giữ cookie: cùng địa chỉ mạng và cùng trình duyệt) tại một mã QR trong một ngày",
                self.device_count
            ));
        }
        if self.min_seconds > 0 || self.seconds_per_answer > 0 {
            parts.push(format!(
                "gửi quá nhanh: dưới {} giây sau khi mở phiếu, hoặc dưới {} giây cho mỗi câu đã trả lời nếu lâu hơn",
                self.min_seconds, self.seconds_per_answer
            ));
        }
        if self.identical_count > 0 {
            parts.push(format!(
                "chuỗi phiếu giống nhau: từ {} phiếu liền nhau tại một mã QR có cùng câu trả lời cho từ {} câu trở lên \
                 (trừ khi mọi câu đều ở mức cao nhất), cách nhau không quá {} phút",
                self.identical_count, IDENTICAL_MIN_ANSWERS, self.identical_minutes
            ));
        }
        if self.off_hours {
            let mut hours = format!(
                "ngoài giờ làm việc: ngoài {} và {} phút sau giờ đóng cửa",
                self.hours.words(),
                self.grace_minutes
            );
            for (code, h) in &self.units {
                hours.push_str(&format!("; đơn vị {code}: {}", h.words()));
            }
            parts.push(hours);
        }
        parts.join("; ")
    }

    /// Whether a response at `at_ms` at the unit `unit_code` is outside its hours and grace.
    pub fn is_off_hours(&self, unit_code: &str, at_ms: i64) -> bool {
        let local = super::clock::vietnam_time(at_ms);
        let weekday = local.weekday().number_from_monday();
        let minute = u32::from(local.hour()) * 60 + u32::from(local.minute());
        !self.hours_of(unit_code).contains(weekday, minute, self.grace_minutes)
    }
}

/// What the burst rule counts over: a point, or an officer (all their points).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Point,
    Officer,
}

impl Scope {
    pub const ALL: [Self; 2] = [Self::Point, Self::Officer];

    /// How the store names the scope's counters: (steps, days).
    pub fn codes(self) -> (&'static str, &'static str) {
        match self {
            Self::Point => ("point-step", "point-day"),
            Self::Officer => ("officer-step", "officer-day"),
        }
    }
}

/// A response the writer just stored at an open QR code, as the rules see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fresh {
    pub id: i64,
    pub point: i64,
    pub officer: Option<i64>,
    /// The code of the unit it was attributed to (for its opening hours).
    pub unit_code: String,
    pub at_ms: i64,
    /// When its form was drawn, as its one-time key says; `None` when the key does not say.
    pub drawn_ms: Option<i64>,
    /// The keyed hash of its device (address and cookie, or browser), where known.
    pub device: Option<String>,
    /// How many of its questions were answered.
    pub answered: u32,
    /// Its own answers in one canonical text.
    pub answers: String,
    /// Whether every answer is the top of its scale.
    pub all_top: bool,
}

/// A run of identical answers at a point, as the writer keeps it between groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Streak {
    pub answers: String,
    pub length: u32,
    pub first_id: i64,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// The counters the rules read and move, as the writer loads them for a group: each is one
/// row, so a rating costs the same whatever the thresholds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct State {
    /// Responses per (scope, subject, step).
    pub steps: HashMap<(Scope, i64, i64), u32>,
    /// The burst threshold per (scope, subject, day), from the subject's history.
    pub thresholds: HashMap<(Scope, i64, i64), u32>,
    /// When a response of the burst under way was last flagged, per (scope, subject).
    pub runs: HashMap<(Scope, i64), i64>,
    /// Responses per (point, device, day).
    pub devices: HashMap<(i64, String, i64), u32>,
    /// The run of identical answers at each point.
    pub streaks: HashMap<i64, Streak>,
}

/// Earlier responses a new one shows to belong with it, for the writer to read back once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Back {
    /// The dense part of a burst: the newest `limit` responses of the subject between `from_ms`
    /// and `to_ms`, followed back while each is within `gap_ms` of the one after it.
    Burst { scope: Scope, subject: i64, from_ms: i64, to_ms: i64, limit: u32, gap_ms: i64 },
    /// Every response of the device at the point that day.
    Device { point: i64, device: String, day: i64 },
    /// The responses of a run of identical answers at a point.
    Streak { point: i64, first_id: i64, last_id: i64, from_ms: i64, to_ms: i64 },
}

/// What a group's pass gives: the flags of the new responses, and what to read back.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pass {
    pub flags: BTreeMap<i64, Vec<FlagKind>>,
    pub back: Vec<Back>,
}

impl Pass {
    fn add(&mut self, id: i64, kind: FlagKind) {
        let list = self.flags.entry(id).or_default();
        if !list.contains(&kind) {
            list.push(kind);
            list.sort_unstable();
        }
    }
}

/// The newest responses `rows` (id, instant), newest first, followed back from the first while
/// each is within `gap_ms` of the one after it: the dense part of a burst.
pub fn dense_run(rows: &[(i64, i64)], gap_ms: i64) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut after: Option<i64> = None;
    for (id, at) in rows {
        if after.is_some_and(|later| later - at > gap_ms) {
            break;
        }
        ids.push(*id);
        after = Some(*at);
    }
    ids
}

/// Applies the rules to the responses of one group, in the order they were sent, moving the
/// counters in `state` as it goes: the flags each new response earns by itself and what it
/// shows about earlier ones (a burst's dense part, the device's other ratings that day, the
/// run), to read back once, when the burst, device or run is first seen.
pub fn assess(fresh: &[Fresh], state: &mut State, rules: &Rules) -> Pass {
    let mut pass = Pass::default();
    let mut ordered: Vec<&Fresh> = fresh.iter().collect();
    ordered.sort_by_key(|f| (f.at_ms, f.id));
    let window = i64::from(rules.burst_minutes) * 60_000;
    for f in ordered {
        let day = super::clock::day_bucket(f.at_ms);
        let step = rules.step(f.at_ms);

        // Bursts at the point and for the officer.
        let subjects = [(Scope::Point, Some(f.point)), (Scope::Officer, f.officer)];
        for (scope, subject) in subjects {
            let Some(subject) = subject else { continue };
            *state.steps.entry((scope, subject, step)).or_insert(0) += 1;
            if rules.burst_count == 0 {
                continue;
            }
            let count: u32 =
                (step - (STEPS - 1)..=step).map(|s| state.steps.get(&(scope, subject, s)).copied().unwrap_or(0)).sum();
            let threshold = state.thresholds.get(&(scope, subject, day)).copied().unwrap_or(rules.burst_count);
            if count < threshold {
                continue;
            }
            pass.add(f.id, FlagKind::Burst);
            let under_way = state.runs.get(&(scope, subject)).is_some_and(|last| f.at_ms - last <= window);
            if !under_way {
                pass.back.push(Back::Burst {
                    scope,
                    subject,
                    from_ms: f.at_ms - window,
                    to_ms: f.at_ms,
                    limit: count,
                    gap_ms: window / i64::from(threshold.max(1)),
                });
            }
            state.runs.insert((scope, subject), f.at_ms);
        }

        // The same device again and again at one point in a Vietnam day.
        if let (true, Some(device)) = (rules.device_count > 0, f.device.as_ref()) {
            let n = state.devices.entry((f.point, device.clone(), day)).or_insert(0);
            *n += 1;
            if *n >= rules.device_count {
                pass.add(f.id, FlagKind::Device);
                if *n == rules.device_count {
                    pass.back.push(Back::Device { point: f.point, device: device.clone(), day });
                }
            }
        }

        // Runs of identical answers at a point.
        if rules.identical_count > 0 {
            let gap = i64::from(rules.identical_minutes) * 60_000;
            let streak = state.streaks.entry(f.point).or_insert_with(|| Streak {
                answers: String::new(),
                length: 0,
                first_id: f.id,
                first_ms: f.at_ms,
                last_ms: f.at_ms,
            });
            if streak.length > 0 && streak.answers == f.answers && f.at_ms - streak.last_ms <= gap {
                streak.length += 1;
                streak.last_ms = f.at_ms;
            } else {
                *streak = Streak {
                    answers: f.answers.clone(),
                    length: 1,
                    first_id: f.id,
                    first_ms: f.at_ms,
                    last_ms: f.at_ms,
                };
            }
            if !f.all_top && f.answered >= IDENTICAL_MIN_ANSWERS && streak.length >= rules.identical_count {
                pass.add(f.id, FlagKind::Identical);
                if streak.length == rules.identical_count {
                    pass.back.push(Back::Streak {
                        point: f.point,
                        first_id: streak.first_id,
                        last_id: f.id,
                        from_ms: streak.first_ms,
                        to_ms: f.at_ms,
                    });
                }
            }
        }

        // What a new response shows by itself: its time to fill, its hour.
        let fast = rules.fast_ms(f.answered);
        if fast > 0 && f.drawn_ms.is_none_or(|drawn| f.at_ms - drawn < fast) {
            pass.add(f.id, FlagKind::Fast);
        }
        if rules.off_hours && rules.is_off_hours(&f.unit_code, f.at_ms) {
            pass.add(f.id, FlagKind::OffHours);
        }
    }
    pass
}

/// The median of the days that had ratings: a subject's usual day.
pub fn usual_day(days: &[u32]) -> f64 {
    let mut days: Vec<u32> = days.iter().copied().filter(|n| *n > 0).collect();
    if days.is_empty() {
        return 0.0;
    }
    days.sort_unstable();
    let mid = days.len() / 2;
    if days.len() % 2 == 1 { f64::from(days[mid]) } else { (f64::from(days[mid - 1]) + f64::from(days[mid])) / 2.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Monday 2026-11-30 09:00 in Vietnam, in Unix milliseconds.
    const MONDAY_9: i64 = 1_796_004_000_000;
    const MINUTE: i64 = 60_000;

    fn fresh(id: i64, point: i64, minute: i64) -> Fresh {
        Fresh {
            id,
            point,
            officer: Some(point),
            unit_code: "U".into(),
            at_ms: MONDAY_9 + minute * MINUTE,
            drawn_ms: Some(MONDAY_9 + minute * MINUTE - MINUTE),
            device: None,
            answered: 3,
            answers: format!("a={}", id % 5),
            all_top: false,
        }
    }

    fn rules() -> Rules {
        Rules { burst_count: 4, burst_minutes: 10, device_count: 3, identical_count: 4, ..Rules::default() }
    }

    /// Each response in its own group, as the writer sees them one after the other.
    fn one_by_one(all: &[Fresh], state: &mut State, rules: &Rules) -> Pass {
        let mut out = Pass::default();
        for f in all {
            let pass = assess(std::slice::from_ref(f), state, rules);
            out.flags.extend(pass.flags);
            out.back.extend(pass.back);
        }
        out
    }

    fn with(pass: &Pass, kind: FlagKind) -> Vec<i64> {
        pass.flags.iter().filter(|(_, k)| k.contains(&kind)).map(|(id, _)| *id).collect()
    }

    #[test]
    fn the_clock_constant_is_a_monday_morning() {
        let t = crate::domain::clock::vietnam_time(MONDAY_9);
        assert_eq!((t.weekday().number_from_monday(), t.hour(), t.minute()), (1, 9, 0));
    }

    #[test]
    fn a_burst_is_seen_once_and_read_back_and_a_spread_day_is_not_a_burst() {
        let mut state = State::default();
        let burst: Vec<Fresh> = (1..=6).map(|i| fresh(i, 1, i)).collect();
        let pass = one_by_one(&burst, &mut state, &rules());
        assert_eq!(with(&pass, FlagKind::Burst), vec![4, 5, 6]);
        // Read back once, when the fourth is seen: for the point and for its officer.
        let backs: Vec<&Back> = pass.back.iter().filter(|b| matches!(b, Back::Burst { .. })).collect();
        assert_eq!(backs.len(), 2, "{backs:?}");
        let Back::Burst { limit, gap_ms, from_ms, to_ms, .. } = backs[0] else { unreachable!() };
        assert_eq!((*limit, *gap_ms, *to_ms - *from_ms), (4, 10 * MINUTE / 4, 10 * MINUTE));
        let mut state = State::default();
        let spread: Vec<Fresh> = (1..=8).map(|i| fresh(i, 1, i * 4)).collect();
        assert!(with(&one_by_one(&spread, &mut state, &rules()), FlagKind::Burst).is_empty());
    }

    #[test]
    fn a_busy_point_is_judged_by_its_own_usual_day() {
        let r = Rules::default();
        let hours = OpeningHours::default();
        assert_eq!(r.burst_threshold(0.0, &hours), 10, "no history: the floor");
        let officer = r.burst_threshold(60.0, &hours);
        let poster = r.burst_threshold(480.0, &hours);
        assert!((10..=16).contains(&officer), "{officer}");
        assert!((35..=60).contains(&poster), "{poster}");
        // A point that usually takes 480 a day is not in a burst at 20 in 10 minutes.
        let mut state = State::default();
        state.thresholds.insert((Scope::Point, 1, crate::domain::clock::day_bucket(MONDAY_9)), poster);
        let mut busy: Vec<Fresh> = (0..20).map(|i| fresh(i, 1, i / 2)).collect();
        busy.iter_mut().for_each(|f| f.officer = None);
        assert!(with(&one_by_one(&busy, &mut state, &r), FlagKind::Burst).is_empty());
        assert_eq!(usual_day(&[0, 50, 70, 60]), 60.0);
        assert_eq!(usual_day(&[40, 60]), 50.0);
        assert_eq!(usual_day(&[]), 0.0);
    }

    #[test]
    fn the_dense_part_of_a_burst_leaves_the_ordinary_ones_before_it() {
        // Newest first: a flood every 30 s after one given eight minutes before.
        let rows = [(9, 300_000), (8, 270_000), (7, 240_000), (6, 210_000), (2, -180_000)];
        assert_eq!(dense_run(&rows, 60_000), vec![9, 8, 7, 6]);
        assert_eq!(dense_run(&[], 60_000), Vec::<i64>::new());
    }

    #[test]
    fn one_device_many_times_at_a_point_is_flagged_and_different_devices_are_not() {
        let mut state = State::default();
        let mut same: Vec<Fresh> = (1..=4).map(|i| fresh(i, 1, i * 20)).collect();
        same.iter_mut().for_each(|f| f.device = Some("d1".into()));
        let pass = one_by_one(&same, &mut state, &rules());
        assert_eq!(with(&pass, FlagKind::Device), vec![3, 4]);
        let day = crate::domain::clock::day_bucket(MONDAY_9);
        assert_eq!(
            pass.back.iter().filter(|b| matches!(b, Back::Device { .. })).collect::<Vec<_>>(),
            vec![&Back::Device { point: 1, device: "d1".into(), day }],
            "the earlier ones are read back once"
        );
        let mut state = State::default();
        for (i, f) in same.iter_mut().enumerate() {
            f.device = Some(format!("d{i}"));
        }
        assert!(with(&one_by_one(&same, &mut state, &rules()), FlagKind::Device).is_empty());
    }

    #[test]
    fn too_fast_depends_on_how_many_questions_were_answered() {
        let r = rules();
        let mut one_question = fresh(1, 1, 0);
        one_question.answered = 1;
        one_question.drawn_ms = Some(one_question.at_ms - 4_000);
        let mut long = fresh(2, 2, 0);
        long.answered = 27;
        long.drawn_ms = Some(long.at_ms - 20_000);
        let mut quick = fresh(3, 3, 0);
        quick.drawn_ms = Some(quick.at_ms - 2_000);
        let mut unknown = fresh(4, 4, 0);
        unknown.drawn_ms = None;
        let pass = assess(&[one_question, long, quick, unknown], &mut State::default(), &r);
        assert_eq!(with(&pass, FlagKind::Fast), vec![2, 3, 4]);
        assert_eq!((r.fast_ms(1), r.fast_ms(27)), (3_000, 27_000));
    }

    #[test]
    fn outside_the_units_hours_is_flagged_with_its_own_hours_and_the_grace() {
        let night = fresh(1, 1, 13 * 60); // 22:00
        let evening = fresh(2, 2, 9 * 60); // 18:00, within the hour of grace after 17:30
        let sunday = fresh(3, 3, -24 * 60); // Sunday 09:00
        let mut late_unit = fresh(4, 4, 13 * 60); // 22:00 at a unit open until 22:30
        late_unit.unit_code = "LATE".into();
        let mut r = rules();
        r.units.insert(
            "LATE".into(),
            OpeningHours { open: "07:00".into(), close: "22:30".into(), days: vec![1, 2, 3, 4, 5, 6, 7] },
        );
        let pass = assess(&[night, evening, sunday, late_unit], &mut State::default(), &r);
        assert_eq!(with(&pass, FlagKind::OffHours), vec![1, 3]);
    }

    #[test]
    fn a_long_run_of_identical_answers_is_flagged_unless_they_are_all_top() {
        let mut state = State::default();
        let mut run: Vec<Fresh> = (1..=5).map(|i| fresh(i, 1, i * 15)).collect();
        run.iter_mut().for_each(|f| f.answers = "a=3,b=3".into());
        let pass = one_by_one(&run, &mut state, &rules());
        assert_eq!(with(&pass, FlagKind::Identical), vec![4, 5]);
        assert!(pass.back.contains(&Back::Streak {
            point: 1,
            first_id: 1,
            last_id: 4,
            from_ms: run[0].at_ms,
            to_ms: run[3].at_ms
        }));
        // One different breaks it; too far apart in time is not a run either.
        let mut state = State::default();
        let mut broken = run.clone();
        broken[2].answers = "a=4,b=3".into();
        assert!(with(&one_by_one(&broken, &mut state, &rules()), FlagKind::Identical).is_empty());
        let mut state = State::default();
        let mut apart: Vec<Fresh> = (1..=5).map(|i| fresh(i, 1, i * 45)).collect();
        apart.iter_mut().for_each(|f| f.answers = "a=3".into());
        assert!(with(&one_by_one(&apart, &mut state, &rules()), FlagKind::Identical).is_empty());
        // An excellent officer's citizens giving the top answers, at their pace, are no run.
        let mut state = State::default();
        let mut top = run.clone();
        top.iter_mut().for_each(|f| f.all_top = true);
        assert!(with(&one_by_one(&top, &mut state, &rules()), FlagKind::Identical).is_empty());
        // Nor are citizens agreeing on a one-question form.
        let mut state = State::default();
        let mut short = run.clone();
        short.iter_mut().for_each(|f| f.answered = 1);
        assert!(with(&one_by_one(&short, &mut state, &rules()), FlagKind::Identical).is_empty());
    }

    #[test]
    fn rules_are_checked_and_said() {
        assert!(Rules::default().validate().is_ok());
        assert!(Rules { burst_count: 1, ..Rules::default() }.validate().is_err());
        assert!(Rules { history_days: 0, ..Rules::default() }.validate().is_err());
        let bad = Rules { hours: OpeningHours { open: "7h".into(), ..OpeningHours::default() }, ..Rules::default() };
        assert!(bad.validate().is_err());
        let words = Rules::default().words();
        assert!(
            words.starts_with("flags-2026-2") && words.contains("không dưới 10 phiếu") && words.contains("07:00–17:30"),
            "{words}"
        );
        assert!(words.contains("cùng địa chỉ mạng và cùng cookie thiết bị"), "{words}");
        assert_eq!(kind_of("flag.off_hours"), Some(FlagKind::OffHours));
        assert_eq!(kind_of("flag.any"), None);
        assert!(!Rules::off().any());
    }
}
