//! Vietnam time. Periods and day buckets are in UTC+07:00, which has no daylight saving.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use time::{Date, OffsetDateTime, UtcOffset};

/// Indochina Time, the legal time of Vietnam.
pub const VIETNAM: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// Milliseconds since the Unix epoch, UTC, by the system's clock. Code that needs the time
/// asks its [`Clock`], so that tests and rehearsals can set it.
fn system_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Where the time comes from: the system's clock, or a clock set to start at a given moment
/// that then runs forward at the system's pace (tests, and a rehearsal of a period to come).
/// Either can be moved forward by hand ([`Clock::advance`]), as a test does instead of waiting
/// for a window to pass. Clones share one clock.
#[derive(Clone, Debug, Default)]
pub struct Clock(Arc<Source>);

#[derive(Debug, Default)]
struct Source {
    /// The moment set and the instant it was set at; `None`: the system's clock.
    set: Option<(i64, Instant)>,
    /// Milliseconds moved forward by hand.
    advanced: AtomicI64,
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that reads `ms` now and runs forward from there.
    pub fn starting_at(ms: i64) -> Self {
        Self(Arc::new(Source { set: Some((ms, Instant::now())), advanced: AtomicI64::new(0) }))
    }

    /// A clock starting at `at` (see [`Clock::starting_at`]).
    pub fn starting(at: OffsetDateTime) -> Self {
        Self::starting_at((at.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    /// Whether this clock was set rather than the system's.
    pub fn is_set(&self) -> bool {
        self.0.set.is_some()
    }

    /// Milliseconds since the Unix epoch, UTC.
    pub fn now_ms(&self) -> i64 {
        let base = match self.0.set {
            Some((ms, at)) => ms + i64::try_from(at.elapsed().as_millis()).unwrap_or(i64::MAX / 2),
            None => system_ms(),
        };
        base + self.0.advanced.load(Ordering::Relaxed)
    }

    /// The Vietnam calendar date now.
    pub fn today(&self) -> Date {
        vietnam_date(self.now_ms())
    }

    /// Moves the clock forward by `ms` (never back: a negative amount does nothing).
    pub fn advance(&self, ms: i64) {
        self.0.advanced.fetch_add(ms.max(0), Ordering::Relaxed);
    }
}

/// Two settings hold the same clock when they share it, or both read the system's.
impl PartialEq for Clock {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || (self.0.set.is_none() && other.0.set.is_none())
    }
}

/// Parses a moment written as RFC 3339 (`2026-01-01T08:00:00+07:00`), into milliseconds.
pub fn parse_moment(text: &str) -> Result<i64, String> {
    OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .map(|at| (at.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| format!("'{text}' is not a moment (expected RFC 3339, e.g. 2026-01-01T08:00:00+07:00)"))
}

/// The Vietnam calendar date of an instant.
pub fn vietnam_date(ms: i64) -> Date {
    let at =
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    at.to_offset(VIETNAM).date()
}

/// An instant in Vietnam time.
pub fn vietnam_time(ms: i64) -> OffsetDateTime {
    let at =
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    at.to_offset(VIETNAM)
}

/// The day bucket of an instant: its Vietnam date as the integer `YYYYMMDD`, so that a month is
/// `day / 100` and any date range is a plain integer range in SQL.
pub fn day_bucket(ms: i64) -> i64 {
    date_bucket(vietnam_date(ms))
}

/// The date of a `YYYYMMDD` bucket; `None` when it names no date.
pub fn bucket_date(bucket: i64) -> Option<Date> {
    let month = time::Month::try_from(u8::try_from(bucket / 100 % 100).ok()?).ok()?;
    Date::from_calendar_date(i32::try_from(bucket / 10_000).ok()?, month, u8::try_from(bucket % 100).ok()?).ok()
}

/// A Vietnam calendar day as counts are kept by: `YYYYMMDD`, so that any date range is a plain
/// integer range in SQL. Made only from a date (or read back from the database).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Day(i64);

impl Day {
    pub fn of(date: Date) -> Self {
        Self(date_bucket(date))
    }

    /// A `YYYYMMDD` read from the database; `None` when it names no date.
    pub fn from_stored(bucket: i64) -> Option<Self> {
        bucket_date(bucket).map(Self::of)
    }

    /// What the database stores.
    pub fn get(self) -> i64 {
        self.0
    }

    pub fn date(self) -> Option<Date> {
        bucket_date(self.0)
    }

    /// The month the day is in.
    pub fn month(self) -> MonthKey {
        MonthKey(self.0 / 100)
    }

    /// Whether `other` is the day after this one.
    pub fn is_followed_by(self, other: Self) -> bool {
        self.date().and_then(Date::next_day).is_some_and(|d| Self::of(d) == other)
    }
}

/// A calendar month as month sums are kept by: `YYYYMM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MonthKey(i64);

impl MonthKey {
    pub fn of(date: Date) -> Self {
        Day::of(date).month()
    }

    /// A `YYYYMM` read from the database.
    pub fn from_stored(key: i64) -> Self {
        Self(key)
    }

    /// What the database stores.
    pub fn get(self) -> i64 {
        self.0
    }

    /// Whether `other` is the month after this one.
    pub fn is_followed_by(self, other: Self) -> bool {
        if self.0 % 100 == 12 { other.0 == (self.0 / 100 + 1) * 100 + 1 } else { other.0 == self.0 + 1 }
    }
}

/// An instant as `YYYY-MM-DD HH:MM (UTC+07:00)` in Vietnam time, for people to read.
pub fn format_vietnam(ms: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(VIETNAM);
    format!("{} {:02}:{:02} (UTC+07:00)", iso(at.date()), at.hour(), at.minute())
}

/// `YYYYMMDD` of a date.
pub fn date_bucket(date: Date) -> i64 {
    i64::from(date.year()) * 10_000 + i64::from(u8::from(date.month())) * 100 + i64::from(date.day())
}

/// ISO `YYYY-MM-DD`, the form dates are stored and exchanged in.
pub fn iso(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

/// Parses `YYYY-MM-DD`, or the `DD/MM/YYYY` Vietnamese spreadsheets often hold.
pub fn parse_date(text: &str) -> Result<Date, String> {
    let text = text.trim();
    let iso_format = time::macros::format_description!("[year]-[month]-[day]");
    let vn_format = time::macros::format_description!("[day padding:none]/[month padding:none]/[year]");
    Date::parse(text, &iso_format)
        .or_else(|_| Date::parse(text, &vn_format))
        .map_err(|_| format!("'{text}' is not a date (expected YYYY-MM-DD or DD/MM/YYYY)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn day_bucket_uses_vietnam_time() {
        // 2026-03-31 17:30 UTC is already 1 April 00:30 in Hanoi.
        let ms = datetime!(2026-03-31 17:30 UTC).unix_timestamp() * 1000;
        assert_eq!(day_bucket(ms), 20260401);
        let ms = datetime!(2026-03-31 16:59 UTC).unix_timestamp() * 1000;
        assert_eq!(day_bucket(ms), 20260331);
    }

    #[test]
    fn a_set_clock_starts_where_it_is_set_and_moves_forward_only() {
        let start = datetime!(2028-02-29 20:00 +7);
        let clock = Clock::starting(start);
        let first = clock.now_ms();
        assert!(first >= start.unix_timestamp() * 1000 && first < start.unix_timestamp() * 1000 + 60_000);
        assert_eq!(clock.today(), date!(2028 - 02 - 29));
        clock.advance(4 * 3_600_000);
        assert_eq!(clock.clone().today(), date!(2028 - 03 - 01), "clones share the clock");
        clock.advance(-86_400_000);
        assert_eq!(clock.today(), date!(2028 - 03 - 01), "never back");
        assert!(clock.is_set() && !Clock::system().is_set());
        assert_eq!(parse_moment("2028-02-29T20:00:00+07:00"), Ok(start.unix_timestamp() * 1000));
        assert!(parse_moment("29/02/2028").is_err());
    }

    #[test]
    fn parses_both_date_forms() {
        assert_eq!(parse_date("2025-07-01").unwrap(), date!(2025 - 07 - 01));
        assert_eq!(parse_date("1/7/2025").unwrap(), date!(2025 - 07 - 01));
        assert_eq!(parse_date(" 31/12/2024 ").unwrap(), date!(2024 - 12 - 31));
        assert!(parse_date("2025-13-01").is_err());
        assert!(parse_date("hôm qua").is_err());
        assert_eq!(iso(date!(2025 - 07 - 01)), "2025-07-01");
    }
}
