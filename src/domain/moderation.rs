//! Moderation: an `admin` or `home-affairs` user leaves a response out of the indices, or counts
//! it again, with a reason. Each is an event that is never changed (and a link of the hash
//! chain); the response itself is never touched.

/// What a moderation event does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Exclude,
    Restore,
}

impl Action {
    pub fn code(self) -> &'static str {
        match self {
            Self::Exclude => "exclude",
            Self::Restore => "restore",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [Self::Exclude, Self::Restore].into_iter().find(|a| a.code() == code.trim())
    }

    pub fn vi(self) -> &'static str {
        match self {
            Self::Exclude => "loại khỏi chỉ số",
            Self::Restore => "tính lại",
        }
    }
}

/// The longest reason kept.
pub const REASON_MAX: usize = 500;

/// A reason as typed: trimmed, 5 to [`REASON_MAX`] characters, no control characters (the
/// chain's canonical text separates fields with one).
pub fn check_reason(text: &str) -> Result<String, String> {
    let reason = text.trim();
    let n = reason.chars().count();
    if n < 5 {
        return Err("a reason of at least 5 characters is needed".into());
    }
    if n > REASON_MAX {
        return Err(format!("the reason is {n} characters long; at most {REASON_MAX}"));
    }
    if super::text::has_control(reason) {
        return Err("the reason holds a control or bidirectional formatting character".into());
    }
    Ok(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_checked() {
        assert_eq!(check_reason("  Đợt phiếu dồn dập lúc 22h  ").as_deref(), Ok("Đợt phiếu dồn dập lúc 22h"));
        assert!(check_reason("x").is_err());
        assert!(check_reason(&"a".repeat(501)).is_err());
        assert!(check_reason("line\u{1f}break").is_err());
        assert_eq!(Action::parse(" exclude"), Some(Action::Exclude));
        assert_eq!(Action::parse("delete"), None);
    }
}
