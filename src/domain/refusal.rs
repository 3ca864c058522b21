//! Why a change to the organisation, a point or an account was refused: typed, so that each
//! layer that shows a refusal says it in its own words (Vietnamese on the pages, English at the
//! command line and in the API). No text for people is made here.

use std::fmt;

/// What a change named that does not exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Missing {
    Unit(String),
    Officer(String),
    /// An enabled account of this name.
    Account(String),
}

/// Why a change cannot be made as asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    Missing(Missing),
    /// A desk's code is in use.
    DeskCodeTaken(String),
    /// The desk does not belong to the unit named with it.
    DeskNotInUnit {
        desk: String,
        unit: String,
    },
    /// The officer already has an assignment from this day (ISO) on: a move must start after it.
    AssignedFrom(String),
    /// The officer has no open assignment to end.
    NoOpenAssignment(String),
    /// An assignment cannot end before it started (ISO).
    EndsBeforeStart(String),
    /// An account of this name exists.
    AccountExists(String),
    /// A date outside what the calendar can hold.
    DateOutOfRange,
    /// A date that could not be read.
    DateUnreadable,
    /// A code that breaks the rule of codes (what is wrong, from `org::Code::parse`).
    BadCode(String),
    /// A name that breaks the rule of names (from `org::Name::parse`).
    BadName(String),
    /// A moderation's reason that breaks the rule of reasons (from `moderation::check_reason`).
    BadReason(String),
    /// A moderation that names no response.
    NothingChosen,
}

/// English, for the command line, the API and the logs.
impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(Missing::Unit(code)) => write!(f, "no unit has the code {code}"),
            Self::Missing(Missing::Officer(code)) => write!(f, "no officer has the code {code}"),
            Self::Missing(Missing::Account(name)) => write!(f, "no enabled account is named {name}"),
            Self::DeskCodeTaken(code) => write!(f, "the desk code {code} is in use"),
            Self::DeskNotInUnit { desk, unit } => write!(f, "desk {desk} does not belong to unit {unit}"),
            Self::AssignedFrom(day) => {
                write!(f, "the officer has an assignment from {day}; a move must start after that day")
            }
            Self::NoOpenAssignment(code) => write!(f, "officer {code} has no open assignment"),
            Self::EndsBeforeStart(since) => write!(f, "the last day must be {since} or later"),
            Self::AccountExists(name) => write!(f, "an account named {name} exists already"),
            Self::DateOutOfRange => f.write_str("the date is out of range"),
            Self::BadCode(why) => write!(f, "code: {why}"),
            Self::BadName(why) => write!(f, "name: {why}"),
            Self::BadReason(why) => write!(f, "reason: {why}"),
            Self::NothingChosen => f.write_str("no response was named"),
            Self::DateUnreadable => f.write_str("the date cannot be read: write it as YYYY-MM-DD"),
        }
    }
}

impl std::error::Error for Refusal {}

impl From<Missing> for Refusal {
    fn from(missing: Missing) -> Self {
        Self::Missing(missing)
    }
}
