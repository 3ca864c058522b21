//! The organisation: a tree of units of any depth, dated, with successor links for merged units;
//! desks (quầy) that belong to units; officers (CBCCVC) with dated assignments to a unit and desk.
//!
//! These are the validated shapes that imports and the demo hand to the store.

use time::Date;

/// A code as provinces write them in their lists: 1 to 40 letters, digits, `.`, `_` or `-`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(String);

impl Code {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("is empty".into());
        }
        if text.chars().count() > 40 {
            return Err("is longer than 40 characters".into());
        }
        if let Some(bad) = text.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
            return Err(format!("'{text}' has '{bad}'; a code may hold only A-Z, a-z, 0-9, '.', '_', '-'"));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A display name: trimmed, 1 to 200 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("is empty".into());
        }
        if text.chars().count() > 200 {
            return Err("is longer than 200 characters".into());
        }
        if super::text::has_control(text) {
            return Err("contains control or bidirectional formatting characters".into());
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The kind of a unit, for labels and filters. The tree itself gives the levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitKind {
    Province,
    Department,
    ServiceCentre,
    Commune,
    Ward,
    SpecialZone,
    District,
    Other,
}

impl UnitKind {
    pub const ALL: [UnitKind; 8] = [
        Self::Province,
        Self::Department,
        Self::ServiceCentre,
        Self::Commune,
        Self::Ward,
        Self::SpecialZone,
        Self::District,
        Self::Other,
    ];

    /// The code used in files and in the database.
    pub fn code(self) -> &'static str {
        match self {
            Self::Province => "tinh",
            Self::Department => "so",
            Self::ServiceCentre => "trung-tam",
            Self::Commune => "xa",
            Self::Ward => "phuong",
            Self::SpecialZone => "dac-khu",
            Self::District => "huyen",
            Self::Other => "khac",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Self::Province => "Tỉnh/Thành phố",
            Self::Department => "Sở, ban, ngành",
            Self::ServiceCentre => "Trung tâm Phục vụ hành chính công",
            Self::Commune => "Xã",
            Self::Ward => "Phường",
            Self::SpecialZone => "Đặc khu",
            Self::District => "Huyện (trước 01/7/2025)",
            Self::Other => "Khác",
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        Self::ALL.into_iter().find(|k| k.code() == text).ok_or_else(|| {
            let codes: Vec<_> = Self::ALL.iter().map(|k| k.code()).collect();
            format!("'{text}' is not a unit kind (one of {})", codes.join(", "))
        })
    }
}

/// A dated validity: `valid_to`, when given, is the last day and is not before `valid_from`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    from: Date,
    to: Option<Date>,
}

impl Validity {
    pub fn new(from: Date, to: Option<Date>) -> Result<Self, String> {
        match to {
            Some(to) if to < from => Err(format!("valid_to {to} is before valid_from {from}")),
            _ => Ok(Self { from, to }),
        }
    }

    pub fn from(&self) -> Date {
        self.from
    }

    pub fn to(&self) -> Option<Date> {
        self.to
    }

    pub fn contains(&self, day: Date) -> bool {
        self.from <= day && self.to.is_none_or(|to| day <= to)
    }
}

/// A unit as an import row or the demo describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct NewUnit {
    pub code: Code,
    pub name: Name,
    pub kind: UnitKind,
    pub parent: Option<Code>,
    pub validity: Validity,
    pub successor: Option<Code>,
}

/// A desk of a unit.
#[derive(Clone, Debug, PartialEq)]
pub struct NewDesk {
    pub code: Code,
    pub name: Name,
    pub unit: Code,
}

/// An officer with one dated assignment. Several rows for one officer give the history.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAssignment {
    pub officer: Code,
    pub full_name: Name,
    pub unit: Code,
    pub desk: Option<Code>,
    pub validity: Validity,
}

/// A procedure field (lĩnh vực) of the catalogue.
#[derive(Clone, Debug, PartialEq)]
pub struct NewField {
    pub code: Code,
    pub name: Name,
}

/// Finds a loop in the parent links, given `(code, parent)` pairs; returns the codes of the
/// loop in order, starting and ending with the same code.
pub fn find_parent_cycle<'a>(edges: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Option<Vec<String>> {
    let parent: std::collections::HashMap<&str, Option<&str>> = edges.into_iter().collect();
    let mut starts: Vec<&str> = parent.keys().copied().collect();
    starts.sort_unstable();
    for start in starts {
        let mut path: Vec<&str> = Vec::new();
        let mut at = Some(start);
        while let Some(code) = at {
            if let Some(i) = path.iter().position(|c| *c == code) {
                let mut cycle: Vec<String> = path[i..].iter().map(|c| (*c).to_owned()).collect();
                cycle.push(code.to_owned());
                return Some(cycle);
            }
            path.push(code);
            at = parent.get(code).copied().flatten();
        }
    }
    None
}

// Records of the organisation as lists, pages and the API show them.

#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub parent_code: Option<String>,
    pub valid_from: String,
    pub valid_to: Option<String>,
    pub successor_code: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Desk {
    pub id: i64,
    pub unit_id: i64,
    pub code: String,
    pub name: String,
    pub unit_code: String,
}

/// An officer with their latest assignment.
#[derive(Clone, Debug, PartialEq)]
pub struct Officer {
    pub id: i64,
    pub unit_id: i64,
    pub code: String,
    pub full_name: String,
    pub unit_code: String,
    pub desk_code: Option<String>,
    pub valid_from: String,
    pub valid_to: Option<String>,
}

/// One dated assignment of an officer.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    pub unit_code: String,
    pub unit_name: String,
    pub desk_code: Option<String>,
    pub valid_from: String,
    pub valid_to: Option<String>,
}

/// A procedure field of the catalogue.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub id: i64,
    pub code: String,
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn codes_are_checked() {
        assert_eq!(Code::parse(" UB-X.01 ").unwrap().as_str(), "UB-X.01");
        assert!(Code::parse("").is_err());
        assert!(Code::parse("có dấu").is_err());
        assert!(Code::parse(&"A".repeat(41)).is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("  Sở Tư pháp ").unwrap().as_str(), "Sở Tư pháp");
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse("a\u{7}b").is_err());
        assert!(Name::parse(&"ă".repeat(201)).is_err());
    }

    #[test]
    fn validity_orders_its_dates() {
        assert!(Validity::new(date!(2025 - 07 - 01), Some(date!(2025 - 06 - 30))).is_err());
        let v = Validity::new(date!(2020 - 01 - 01), Some(date!(2025 - 06 - 30))).unwrap();
        assert!(v.contains(date!(2025 - 06 - 30)));
        assert!(!v.contains(date!(2025 - 07 - 01)));
        assert!(Validity::new(date!(2020 - 01 - 01), None).unwrap().contains(date!(2099 - 01 - 01)));
    }

    #[test]
    fn unit_kinds_round_trip() {
        for kind in UnitKind::ALL {
            assert_eq!(UnitKind::parse(kind.code()).unwrap(), kind);
        }
        assert!(UnitKind::parse("quận").is_err());
    }

    #[test]
    fn finds_cycles_in_the_parent_chain() {
        assert_eq!(find_parent_cycle([("A", None), ("B", Some("A"))]), None);
        assert_eq!(
            find_parent_cycle([("A", Some("B")), ("B", Some("A"))]),
            Some(vec!["A".into(), "B".into(), "A".into()])
        );
        assert_eq!(find_parent_cycle([("A", Some("A"))]), Some(vec!["A".into(), "A".into()]));
        assert_eq!(find_parent_cycle([("X", Some("A")), ("A", Some("B")), ("B", Some("A"))]).map(|c| c.len()), Some(3));
    }
}
