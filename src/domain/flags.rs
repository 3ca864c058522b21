//! Stuffing flags: signs that ratings at an open QR code were not given by separate citizens
//! after being served. A flag never removes or changes a response: it is counted beside it (as a
//! derived answer `flag.KIND`, see [`answer_id`]), reports show how many of a row's responses
//! carry one, and a report may leave flagged responses out, saying so.
//!
//! The rules and their thresholds are a province's settings with a version
//! ([`Rules`]), printed in every report's method. They are assessed by the writer in the
//! transaction that stores the responses, over the responses of the last hour or so at the
//! same points and officers; a burst flags every response in it, the earlier ones too.

use std::collections::{BTreeMap, HashMap, HashSet};

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
    /// One of many responses at one point, or for one officer, in a short time.
    Burst,
    /// One of many responses from one device (address) at one point in a day.
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
            Self::Device => "cùng thiết bị",
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

    fn words(&self) -> String {
        let days: Vec<String> =
            self.days.iter().map(|d| if *d == 7 { "CN".to_owned() } else { format!("T{}", d + 1) }).collect();
        format!("{}–{} ({})", self.open, self.close, days.join(", "))
    }
}

/// The rules of stuffing flags, a province's settings (`[flags]`), with a version that the
/// method text prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    pub version: String,
    /// A burst: at least `burst_count` responses at one point, or for one officer, within
    /// `burst_minutes`.
    pub burst_minutes: u32,
    pub burst_count: u32,
    /// At least this many responses from one device (its address) at one point in a day; 0: off.
    pub device_count: u32,
    /// Sent sooner than this many seconds after the form was drawn; 0: off.
    pub min_seconds: u32,
    /// At least this many responses in a row at one point with the same answers, each within
    /// `identical_minutes` of the one before; 0: off.
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
            version: "flags-2026-1".into(),
            burst_minutes: 10,
            burst_count: 10,
            device_count: 5,
            min_seconds: 8,
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
        if self.burst_count == 1 || self.identical_count == 1 || self.device_count == 1 {
            return Err("flags: a count of 1 would flag every response; use 0 to turn a rule off".into());
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

    /// How far back the writer must look at a point for the rules to see a whole burst or run
    /// (a run is at most `identical_count` responses each within `identical_minutes`: longer
    /// ones were flagged already), at most a day.
    pub fn point_lookback_ms(&self) -> i64 {
        let run = self.identical_count.saturating_mul(self.identical_minutes);
        i64::from(self.burst_minutes.max(run).min(24 * 60)) * 60_000
    }

    /// How far back the writer must look at an officer for the rules to see a whole burst.
    pub fn officer_lookback_ms(&self) -> i64 {
        i64::from(self.burst_minutes) * 60_000
    }

    /// The rules in words, for the method text.
    pub fn words(&self) -> String {
        let mut parts = vec![format!("{}: chỉ xét phiếu qua mã QR tại quầy; cờ không xóa hay sửa phiếu", self.version)];
        if self.burst_count > 0 {
            parts.push(format!(
                "dồn dập: từ {} phiếu tại một mã QR, hoặc cho một cán bộ, trong {} phút (gắn cờ mọi phiếu của đợt)",
                self.burst_count, self.burst_minutes
            ));
        }
        if self.device_count > 0 {
            parts.push(format!(
                "cùng thiết bị: từ {} phiếu từ một địa chỉ mạng tại một mã QR trong một ngày",
                self.device_count
            ));
        }
        if self.min_seconds > 0 {
            parts.push(format!("gửi quá nhanh: dưới {} giây sau khi mở phiếu", self.min_seconds));
        }
        if self.identical_count > 0 {
            parts.push(format!(
                "chuỗi phiếu giống nhau: từ {} phiếu liền nhau tại một mã QR có cùng câu trả lời, cách nhau không quá {} phút",
                self.identical_count, self.identical_minutes
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
}

/// A response as the rules see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub id: i64,
    pub point: i64,
    pub officer: Option<i64>,
    /// The code of the unit it was attributed to (for its opening hours).
    pub unit_code: String,
    pub at_ms: i64,
    /// When its form was drawn, as its one-time key says; `None` when the key does not say.
    pub drawn_ms: Option<i64>,
    /// The keyed hash of its device, where known.
    pub device: Option<String>,
    /// Whether it is among the newest at its point, with none missing between it and the new
    /// ones (the look back's part per point): only those make a run of identical answers.
    pub in_a_row: bool,
    /// Its own answers in one canonical text.
    pub answers: String,
}

/// The flags the rules give to responses among `seen` (the new ones, `new`, and those before
/// them at the same points and officers, from the writer's look back): every flag of a new
/// response, and the burst, device and run flags that a new response gives to earlier ones.
pub fn assess(seen: &[Seen], new: &HashSet<i64>, rules: &Rules) -> BTreeMap<i64, Vec<FlagKind>> {
    let mut flags: BTreeMap<i64, Vec<FlagKind>> = BTreeMap::new();
    let mut add = |id: i64, kind: FlagKind| {
        let list = flags.entry(id).or_default();
        if !list.contains(&kind) {
            list.push(kind);
        }
    };
    let mut ordered: Vec<&Seen> = seen.iter().collect();
    ordered.sort_by_key(|s| (s.at_ms, s.id));

    // Bursts: a window of burst_minutes holding burst_count responses, at a point or for an
    // officer, that holds a new response.
    if rules.burst_count > 0 {
        let window = i64::from(rules.burst_minutes) * 60_000;
        let mut by_point: HashMap<i64, Vec<&Seen>> = HashMap::new();
        let mut by_officer: HashMap<i64, Vec<&Seen>> = HashMap::new();
        for s in &ordered {
            by_point.entry(s.point).or_default().push(s);
            if let Some(o) = s.officer {
                by_officer.entry(o).or_default().push(s);
            }
        }
        for list in by_point.values().chain(by_officer.values()) {
            let mut start = 0;
            for end in 0..list.len() {
                while list[end].at_ms - list[start].at_ms >= window {
                    start += 1;
                }
                let run = &list[start..=end];
                if run.len() >= rules.burst_count as usize && run.iter().any(|s| new.contains(&s.id)) {
                    for s in run {
                        add(s.id, FlagKind::Burst);
                    }
                }
            }
        }
    }

    // The same device again and again at one point in a Vietnam day.
    if rules.device_count > 0 {
        let mut by_device: HashMap<(&str, i64, i64), Vec<i64>> = HashMap::new();
        for s in &ordered {
            if let Some(device) = &s.device {
                let day = super::clock::day_bucket(s.at_ms);
                by_device.entry((device.as_str(), s.point, day)).or_default().push(s.id);
            }
        }
        for ids in by_device.values() {
            if ids.len() >= rules.device_count as usize && ids.iter().any(|id| new.contains(id)) {
                for id in ids {
                    add(*id, FlagKind::Device);
                }
            }
        }
    }

    // Runs of identical answers at a point.
    if rules.identical_count > 0 {
        let gap = i64::from(rules.identical_minutes) * 60_000;
        let mut by_point: HashMap<i64, Vec<&Seen>> = HashMap::new();
        for s in ordered.iter().filter(|s| s.in_a_row) {
            by_point.entry(s.point).or_default().push(s);
        }
        for list in by_point.values() {
            let mut start = 0;
            for end in 0..=list.len() {
                let breaks = end == list.len()
                    || (end > start
                        && (list[end].answers != list[start].answers || list[end].at_ms - list[end - 1].at_ms > gap));
                if breaks {
                    let run = &list[start..end];
                    if run.len() >= rules.identical_count as usize && run.iter().any(|s| new.contains(&s.id)) {
                        for s in run {
                            add(s.id, FlagKind::Identical);
                        }
                    }
                    start = end;
                }
            }
        }
    }

    // What a new response shows by itself: its time to fill, its hour.
    for s in ordered.iter().filter(|s| new.contains(&s.id)) {
        if rules.min_seconds > 0 {
            let quick = s.drawn_ms.is_none_or(|drawn| s.at_ms - drawn < i64::from(rules.min_seconds) * 1000);
            if quick {
                add(s.id, FlagKind::Fast);
            }
        }
        if rules.off_hours {
            let hours = rules.units.get(&s.unit_code).unwrap_or(&rules.hours);
            let local = super::clock::vietnam_time(s.at_ms);
            let weekday = local.weekday().number_from_monday();
            let minute = u32::from(local.hour()) * 60 + u32::from(local.minute());
            if !hours.contains(weekday, minute, rules.grace_minutes) {
                add(s.id, FlagKind::OffHours);
            }
        }
    }
    for list in flags.values_mut() {
        list.sort_unstable();
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Monday 2026-11-30 09:00 in Vietnam, in Unix milliseconds.
    const MONDAY_9: i64 = 1_796_004_000_000;

    fn seen(id: i64, point: i64, minute: i64) -> Seen {
        Seen {
            id,
            point,
            officer: Some(point),
            unit_code: "U".into(),
            at_ms: MONDAY_9 + minute * 60_000,
            drawn_ms: Some(MONDAY_9 + minute * 60_000 - 60_000),
            device: None,
            in_a_row: true,
            answers: format!("a={}", id % 5),
        }
    }

    fn rules() -> Rules {
        Rules { burst_count: 4, burst_minutes: 10, device_count: 3, identical_count: 4, ..Rules::default() }
    }

    fn kinds(flags: &BTreeMap<i64, Vec<FlagKind>>, kind: FlagKind) -> Vec<i64> {
        flags.iter().filter(|(_, k)| k.contains(&kind)).map(|(id, _)| *id).collect()
    }

    #[test]
    fn the_clock_constant_is_a_monday_morning() {
        let t = crate::domain::clock::vietnam_time(MONDAY_9);
        assert_eq!((t.weekday().number_from_monday(), t.hour(), t.minute()), (1, 9, 0));
    }

    #[test]
    fn a_burst_flags_all_its_responses_and_a_spread_day_does_not() {
        let burst: Vec<Seen> = (1..=4).map(|i| seen(i, 1, i)).collect();
        let flags = assess(&burst, &HashSet::from([4]), &rules());
        assert_eq!(kinds(&flags, FlagKind::Burst), vec![1, 2, 3, 4], "the earlier ones too");
        let spread: Vec<Seen> = (1..=4).map(|i| seen(i, 1, i * 4)).collect();
        assert!(kinds(&assess(&spread, &HashSet::from([4]), &rules()), FlagKind::Burst).is_empty());
        // Four at four different points of one officer are a burst for the officer.
        let mut officer: Vec<Seen> = (1..=4).map(|i| seen(i, 10 + i, i)).collect();
        officer.iter_mut().for_each(|s| s.officer = Some(7));
        assert_eq!(kinds(&assess(&officer, &HashSet::from([4]), &rules()), FlagKind::Burst).len(), 4);
        // An old burst is not flagged again by a response that is not part of it.
        let mut later = burst.clone();
        later.push(seen(5, 1, 30));
        assert!(kinds(&assess(&later, &HashSet::from([5]), &rules()), FlagKind::Burst).is_empty());
    }

    #[test]
    fn one_device_many_times_at_a_point_is_flagged_and_different_devices_are_not() {
        let mut same: Vec<Seen> = (1..=3).map(|i| seen(i, 1, i * 20)).collect();
        same.iter_mut().for_each(|s| s.device = Some("d1".into()));
        assert_eq!(kinds(&assess(&same, &HashSet::from([3]), &rules()), FlagKind::Device), vec![1, 2, 3]);
        for (i, s) in same.iter_mut().enumerate() {
            s.device = Some(format!("d{i}"));
        }
        assert!(kinds(&assess(&same, &HashSet::from([3]), &rules()), FlagKind::Device).is_empty());
    }

    #[test]
    fn a_form_sent_too_soon_after_it_was_drawn_is_flagged() {
        let mut quick = seen(1, 1, 0);
        quick.drawn_ms = Some(quick.at_ms - 3_000);
        let mut slow = seen(2, 2, 0);
        slow.drawn_ms = Some(slow.at_ms - 45_000);
        let mut unknown = seen(3, 3, 0);
        unknown.drawn_ms = None;
        let flags = assess(&[quick, slow, unknown], &HashSet::from([1, 2, 3]), &rules());
        assert_eq!(kinds(&flags, FlagKind::Fast), vec![1, 3]);
    }

    #[test]
    fn outside_the_units_hours_is_flagged_with_its_own_hours_and_the_grace() {
        let mut night = seen(1, 1, 13 * 60); // 22:00
        let mut evening = seen(2, 2, 9 * 60); // 18:00, within the hour of grace after 17:30
        let mut sunday = seen(3, 3, -24 * 60); // Sunday 09:00
        let mut late_unit = seen(4, 4, 13 * 60); // 22:00 at a unit open until 22:30
        late_unit.unit_code = "LATE".into();
        for s in [&mut night, &mut evening, &mut sunday] {
            s.unit_code = "U".into();
        }
        let mut r = rules();
        r.units.insert(
            "LATE".into(),
            OpeningHours { open: "07:00".into(), close: "22:30".into(), days: vec![1, 2, 3, 4, 5, 6, 7] },
        );
        let flags = assess(&[night, evening, sunday, late_unit], &HashSet::from([1, 2, 3, 4]), &r);
        assert_eq!(kinds(&flags, FlagKind::OffHours), vec![1, 3]);
    }

    #[test]
    fn a_long_run_of_identical_answers_is_flagged_and_a_broken_one_is_not() {
        let mut run: Vec<Seen> = (1..=4).map(|i| seen(i, 1, i * 15)).collect();
        run.iter_mut().for_each(|s| s.answers = "a=5,b=5".into());
        assert_eq!(kinds(&assess(&run, &HashSet::from([4]), &rules()), FlagKind::Identical), vec![1, 2, 3, 4]);
        run[2].answers = "a=4,b=5".into();
        assert!(kinds(&assess(&run, &HashSet::from([4]), &rules()), FlagKind::Identical).is_empty());
        // Too far apart in time is not a run either.
        let mut apart: Vec<Seen> = (1..=4).map(|i| seen(i, 1, i * 45)).collect();
        apart.iter_mut().for_each(|s| s.answers = "a=5".into());
        assert!(kinds(&assess(&apart, &HashSet::from([4]), &rules()), FlagKind::Identical).is_empty());
    }

    #[test]
    fn rules_are_checked_and_said() {
        assert!(Rules::default().validate().is_ok());
        assert!(Rules { burst_count: 1, ..Rules::default() }.validate().is_err());
        let bad = Rules { hours: OpeningHours { open: "7h".into(), ..OpeningHours::default() }, ..Rules::default() };
        assert!(bad.validate().is_err());
        let words = Rules::default().words();
        assert!(
            words.starts_with("flags-2026-1") && words.contains("10 phiếu") && words.contains("07:00–17:30"),
            "{words}"
        );
        assert_eq!(kind_of("flag.off_hours"), Some(FlagKind::OffHours));
        assert_eq!(kind_of("flag.any"), None);
    }
}
