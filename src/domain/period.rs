//! Reporting periods in Vietnam time: a year (`2026`), a half-year (`2026-H1`), a quarter
//! (`2026-Q3`), a month (`2026-07`), or a range of days (`2026-01-01..2026-03-31`, both ends
//! included). Each knows the period before it, for the change between periods.

use time::{Date, Month};

use super::clock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Year,
    Half,
    Quarter,
    Month,
    Range,
}

/// A period: its first and last day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    kind: Kind,
    first: Date,
    last: Date,
}

fn date(year: i32, month: u8, day: u8) -> Result<Date, String> {
    let month = Month::try_from(month).map_err(|_| format!("there is no month {month}"))?;
    Date::from_calendar_date(year, month, day).map_err(|_| format!("{year}-{month}-{day} is not a date"))
}

fn month_end(year: i32, month: u8) -> Result<Date, String> {
    let first = date(year, month, 1)?;
    date(year, month, first.month().length(year))
}

fn year(text: &str) -> Result<i32, String> {
    match text.parse::<i32>() {
        Ok(y) if (2000..=2100).contains(&y) => Ok(y),
        _ => Err(format!("'{text}' is not a year between 2000 and 2100")),
    }
}

/// The longest range of days a report may span.
pub const RANGE_MAX_YEARS: i64 = 10;

impl Period {
    /// Parses the forms listed in the module documentation.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad = || format!("'{text}' is not a period: use 2026, 2026-H1, 2026-Q3, 2026-07 or 2026-01-01..2026-03-31");
        if let Some((from, to)) = text.split_once("..") {
            let first = clock::parse_date(from).map_err(|_| bad())?;
            let last = clock::parse_date(to).map_err(|_| bad())?;
            if last < first {
                return Err(format!("the range {text} ends before it starts"));
            }
            for end in [first, last] {
                if !(2000..=2100).contains(&end.year()) {
                    return Err(format!("the range {text} must lie within the years 2000 to 2100"));
                }
            }
            // Ten years from the first day: 2016-01-01..2025-12-31 is the longest from 2016.
            let years_on = first.replace_year(first.year() + RANGE_MAX_YEARS as i32);
            let limit = years_on.unwrap_or_else(|_| date(first.year() + RANGE_MAX_YEARS as i32, 3, 1).unwrap_or(first));
            if last >= limit {
                return Err(format!("the range {text} is longer than {RANGE_MAX_YEARS} years"));
            }
            return Ok(Self { kind: Kind::Range, first, last });
        }
        let (y, rest) = text.split_once('-').map_or((text, None), |(y, r)| (y, Some(r)));
        let y = year(y).map_err(|_| bad())?;
        let (kind, first, last) = match rest {
            None => (Kind::Year, date(y, 1, 1)?, date(y, 12, 31)?),
            Some(r) if r.eq_ignore_ascii_case("h1") => (Kind::Half, date(y, 1, 1)?, date(y, 6, 30)?),
            Some(r) if r.eq_ignore_ascii_case("h2") => (Kind::Half, date(y, 7, 1)?, date(y, 12, 31)?),
            // (Bytes, not characters: `r` may hold any text, and only an ASCII q opens a quarter.)
            Some(r) if r.len() == 2 && r.as_bytes()[0].eq_ignore_ascii_case(&b'q') => {
                let q: u8 = r[1..].parse().ok().filter(|q| (1..=4).contains(q)).ok_or_else(bad)?;
                (Kind::Quarter, date(y, 3 * q - 2, 1)?, month_end(y, 3 * q)?)
            }
            Some(r) if r.len() == 2 => {
                let m: u8 = r.parse().ok().filter(|m| (1..=12).contains(m)).ok_or_else(bad)?;
                (Kind::Month, date(y, m, 1)?, month_end(y, m)?)
            }
            Some(_) => return Err(bad()),
        };
        Ok(Self { kind, first, last })
    }

    pub fn first(&self) -> Date {
        self.first
    }

    pub fn last(&self) -> Date {
        self.last
    }

    /// The month of `year` numbered `month` (1–12).
    pub fn month(year: i32, month: u8) -> Result<Self, String> {
        Ok(Self { kind: Kind::Month, first: date(year, month, 1)?, last: month_end(year, month)? })
    }

    /// The quarter of `year` numbered `quarter` (1–4).
    pub fn quarter(year: i32, quarter: u8) -> Result<Self, String> {
        if !(1..=4).contains(&quarter) {
            return Err(format!("there is no quarter {quarter}"));
        }
        Ok(Self { kind: Kind::Quarter, first: date(year, 3 * quarter - 2, 1)?, last: month_end(year, 3 * quarter)? })
    }

    /// The `count` months ending with the month of the period's last day, oldest first.
    pub fn months_to_end(&self, count: u8) -> Vec<Self> {
        let end = self.last.year() * 12 + i32::from(u8::from(self.last.month())) - 1;
        (0..i32::from(count))
            .rev()
            .filter_map(|back| {
                let total = end - back;
                Self::month(total.div_euclid(12), (total.rem_euclid(12) + 1) as u8).ok()
            })
            .collect()
    }

    /// The four quarters of the year the period ends in.
    pub fn quarters_of_year(&self) -> Vec<Self> {
        (1..=4).filter_map(|q| Self::quarter(self.last.year(), q).ok()).collect()
    }

    /// The day buckets (`YYYYMMDD`) of the first and last day.
    pub fn day_range(&self) -> (i64, i64) {
        (clock::date_bucket(self.first), clock::date_bucket(self.last))
    }

    /// The period just before, of the same kind (for a range: as many days, ending the day
    /// before this one starts).
    pub fn previous(&self) -> Self {
        let shift_months = |months: i32| -> Self {
            let total = self.first.year() * 12 + i32::from(u8::from(self.first.month())) - 1 - months;
            let (y, m) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u8);
            let first = date(y, m, 1).unwrap_or(self.first);
            let end_total = total + months - 1;
            let (ey, em) = (end_total.div_euclid(12), (end_total.rem_euclid(12) + 1) as u8);
            Self { kind: self.kind, first, last: month_end(ey, em).unwrap_or(self.last) }
        };
        match self.kind {
            Kind::Year => shift_months(12),
            Kind::Half => shift_months(6),
            Kind::Quarter => shift_months(3),
            Kind::Month => shift_months(1),
            Kind::Range => {
                let days = self.last - self.first;
                let last = self.first.previous_day().unwrap_or(self.first);
                Self { kind: Kind::Range, first: last - days, last }
            }
        }
    }
}

impl std::fmt::Display for Period {
    /// The form `parse` takes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m) = (self.first.year(), u8::from(self.first.month()));
        match self.kind {
            Kind::Year => write!(f, "{y}"),
            Kind::Half => write!(f, "{y}-H{}", if m == 1 { 1 } else { 2 }),
            Kind::Quarter => write!(f, "{y}-Q{}", (m - 1) / 3 + 1),
            Kind::Month => write!(f, "{y}-{m:02}"),
            Kind::Range => write!(f, "{}..{}", clock::iso(self.first), clock::iso(self.last)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn range(text: &str) -> (Date, Date) {
        let p = Period::parse(text).unwrap();
        (p.first(), p.last())
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(range("2026"), (date!(2026 - 01 - 01), date!(2026 - 12 - 31)));
        assert_eq!(range("2026-H1"), (date!(2026 - 01 - 01), date!(2026 - 06 - 30)));
        assert_eq!(range("2026-h2"), (date!(2026 - 07 - 01), date!(2026 - 12 - 31)));
        assert_eq!(range("2026-Q3"), (date!(2026 - 07 - 01), date!(2026 - 09 - 30)));
        assert_eq!(range("2024-02"), (date!(2024 - 02 - 01), date!(2024 - 02 - 29)));
        assert_eq!(range("2026-01-01..2026-03-31"), (date!(2026 - 01 - 01), date!(2026 - 03 - 31)));
        assert_eq!(Period::parse("2026-Q3").unwrap().day_range(), (20260701, 20260930));
        // "2016-Â" was found by the fuzzer: it sliced a character in two.
        for bad in [
            "",
            "26",
            "2026-Q5",
            "2026-13",
            "2026-H3",
            "2026-03-31..2026-01-01",
            "năm nay",
            "2026-1",
            "2016-Â",
            "2026-Ĥ",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ranges_are_bounded_in_years_and_length() {
        for bad in
            ["0000-01-01..9999-12-31", "2026-01-01..9999-12-31", "1999-12-31..2000-01-31", "2100-12-01..2101-01-01"]
        {
            let error = Period::parse(bad).unwrap_err();
            assert!(error.contains("2000 to 2100"), "{bad}: {error}");
        }
        let error = Period::parse("2001-01-01..2011-01-05").unwrap_err();
        assert!(error.contains("longer than 10 years"), "{error}");
        assert!(Period::parse("2016-01-01..2025-12-31").is_ok(), "ten years");
        assert!(Period::parse("2000-01-01..2000-01-01").is_ok());
        assert!(Period::parse("2016-01-01..2026-01-01").is_err(), "ten years and a day");
        assert!(Period::parse("2016-02-29..2026-02-28").is_ok(), "from a leap day");
        assert!(Period::parse("2016-02-29..2026-03-01").is_err());
        // The period before the earliest one still has a date.
        assert_eq!(Period::parse("2000-01-01..2009-12-31").unwrap().previous().first().year(), 1989);
    }

    #[test]
    fn lists_the_months_and_quarters_for_trends() {
        let names = |ps: Vec<Period>| ps.iter().map(Period::to_string).collect::<Vec<_>>();
        let q = Period::parse("2026-Q1").unwrap();
        assert_eq!(names(q.months_to_end(4)), ["2025-12", "2026-01", "2026-02", "2026-03"]);
        assert_eq!(names(Period::parse("2026").unwrap().months_to_end(12)).first().unwrap(), "2026-01");
        assert_eq!(names(q.quarters_of_year()), ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]);
        assert!(Period::quarter(2026, 5).is_err() && Period::month(2026, 13).is_err());
    }

    #[test]
    fn knows_the_period_before() {
        for (now, before) in [
            ("2026", "2025"),
            ("2026-H1", "2025-H2"),
            ("2026-H2", "2026-H1"),
            ("2026-Q1", "2025-Q4"),
            ("2026-Q3", "2026-Q2"),
            ("2026-01", "2025-12"),
            ("2026-03", "2026-02"),
            ("2026-01-11..2026-01-20", "2026-01-01..2026-01-10"),
        ] {
            let p = Period::parse(now).unwrap();
            assert_eq!(p.to_string(), now);
            assert_eq!(p.previous().to_string(), before, "before {now}");
        }
    }
}
