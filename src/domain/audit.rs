//! The audit log's vocabulary: who did what to which thing. The log itself is append-only in the
//! database; these types say what an entry may name, so that a misspelt action cannot be written.

use std::fmt;

/// What an audit entry records. The text form (`as_str`) is what the log stores and what the
/// audit page and `hailong audit` filter by; it never changes for an existing action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    DeskCreate,
    OfficerMove,
    OfficerEnd,
    PointCreate,
    PointRevoke,
    PointReissue,
    PointQuestionnaire,
    OrgImport,
    UserCreate,
    UserDisable,
    UserPassword,
    UserSecondFactorEnrol,
    ApiKeyCreate,
    ApiKeyRevoke,
    /// A report downloaded, exported or read through the API (personal data about officers).
    IndicesExport,
    /// An officer's figures looked at on a page.
    IndicesView,
    /// A receipt key made for the one-stop software.
    ReceiptKeyCreate,
    /// A receipt key ended: its tokens rate no more.
    ReceiptKeyRevoke,
    /// A response left out of the indices, with a reason (a moderation event).
    ResponseExclude,
    /// An excluded response counted again.
    ResponseRestore,
    /// Dossiers served, as the one-stop software reported them for a unit's officers.
    ServedReport,
}

impl Action {
    pub const ALL: [Self; 21] = [
        Self::DeskCreate,
        Self::OfficerMove,
        Self::OfficerEnd,
        Self::PointCreate,
        Self::PointRevoke,
        Self::PointReissue,
        Self::PointQuestionnaire,
        Self::OrgImport,
        Self::UserCreate,
        Self::UserDisable,
        Self::UserPassword,
        Self::UserSecondFactorEnrol,
        Self::ApiKeyCreate,
        Self::ApiKeyRevoke,
        Self::IndicesExport,
        Self::IndicesView,
        Self::ReceiptKeyCreate,
        Self::ReceiptKeyRevoke,
        Self::ResponseExclude,
        Self::ResponseRestore,
        Self::ServedReport,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeskCreate => "desk.create",
            Self::OfficerMove => "officer.move",
            Self::OfficerEnd => "officer.end",
            Self::PointCreate => "point.create",
            Self::PointRevoke => "point.revoke",
            Self::PointReissue => "point.reissue",
            Self::PointQuestionnaire => "point.questionnaire",
            Self::OrgImport => "org.import",
            Self::UserCreate => "user.create",
            Self::UserDisable => "user.disable",
            Self::UserPassword => "user.password",
            Self::UserSecondFactorEnrol => "user.second-factor.enrol",
            Self::ApiKeyCreate => "apikey.create",
            Self::ApiKeyRevoke => "apikey.revoke",
            Self::IndicesExport => "indices.export",
            Self::IndicesView => "indices.view",
            Self::ReceiptKeyCreate => "receipt-key.create",
            Self::ReceiptKeyRevoke => "receipt-key.revoke",
            Self::ResponseExclude => "response.exclude",
            Self::ResponseRestore => "response.restore",
            Self::ServedReport => "served.report",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The thing an entry is about, as the log names it (`kind:code`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Desk(String),
    Officer(String),
    Point(String),
    User(String),
    ApiKey(String),
    /// The whole organisation (an import).
    Organisation,
    /// A report: what `domain::report` names it by (`unit:…`, `officer:…`, ...).
    Report(String),
    /// A receipt key, by its id.
    ReceiptKey(u32),
    /// A stored response, by its id.
    Response(i64),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Desk(code) => write!(f, "desk:{code}"),
            Self::Officer(code) => write!(f, "officer:{code}"),
            Self::Point(slug) => write!(f, "point:{slug}"),
            Self::User(name) => write!(f, "user:{name}"),
            Self::ApiKey(prefix) => write!(f, "apikey:{prefix}"),
            Self::Organisation => f.write_str("organisation"),
            Self::Report(text) => f.write_str(text),
            Self::ReceiptKey(id) => write!(f, "receipt-key:{id}"),
            Self::Response(id) => write!(f, "response:{id}"),
        }
    }
}

/// Who did it, as the log names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in account, or an API key's account.
    User(String),
    /// The operator at the command line.
    Console,
}

/// How the log names changes made from the command line.
pub const CONSOLE_ACTOR: &str = "cli";

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(name) => write!(f, "user:{name}"),
            Self::Console => f.write_str(CONSOLE_ACTOR),
        }
    }
}

/// One audit entry.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Which audit entries to read; empty fields match everything.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub limit: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_have_distinct_stable_names() {
        let names: std::collections::HashSet<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names.len(), Action::ALL.len());
        assert_eq!(Action::UserSecondFactorEnrol.to_string(), "user.second-factor.enrol");
        assert_eq!(Target::Point("abc".into()).to_string(), "point:abc");
        assert_eq!(Actor::Console.to_string(), "cli");
    }
}
