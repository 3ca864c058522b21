//! What a citizen typed, checked: why an answer is refused ([`Problem`], which each door words
//! in its own language) and a free-text comment made safe to keep ([`Comment`]).

use std::sync::LazyLock;

use regex::Regex;

/// One thing wrong with a submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    Required,
    NotANumber,
    NotAnOption,
    CommentTooLong { max: usize, got: usize },
    UnknownQuestion(String),
    Repeated(String),
}

/// Longest comment accepted, in characters.
pub const COMMENT_MAX_CHARS: usize = 1000;

/// What replaces a masked phone or identity-card number.
pub const MASK: &str = "[đã ẩn]";

/// Runs of eight or more digits, possibly split by spaces, dots or dashes, with an optional
/// leading `+`: Vietnamese phone numbers (10 digits, or +84 and 9), CMND (9) and CCCD (12)
/// numbers, written the ways people write them.
static PERSONAL_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\+?\d(?:[ .\-]?\d){7,}").unwrap_or_else(|_| unreachable!("the pattern is fixed")));

/// A free-text comment: at most [`COMMENT_MAX_CHARS`], control characters removed, and phone or
/// identity-card numbers masked before it is ever stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment(String);

use super::text::is_bidi_control;

impl Comment {
    /// `Ok(None)` for a blank comment.
    pub fn parse(text: &str) -> Result<Option<Self>, Problem> {
        // Counted as the browser's maxlength counts: a line break is one character, although
        // the form sends it as CR LF.
        let text = text.replace("\r\n", "\n");
        let got = text.chars().count();
        if got > COMMENT_MAX_CHARS {
            return Err(Problem::CommentTooLong { max: COMMENT_MAX_CHARS, got });
        }
        // Control characters go, and so do the bidirectional controls, which would reorder what
        // staff read (a right-to-left override makes "không hài lòng" display otherwise).
        let cleaned: String =
            text.chars().filter(|c| (!c.is_control() || *c == '\n') && !is_bidi_control(*c)).collect();
        let cleaned = cleaned.trim();
        if cleaned.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self(PERSONAL_NUMBER.replace_all(cleaned, MASK).into_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidirectional_controls_are_removed_and_the_words_kept() {
        let sent = "Cán bộ \u{202E}gnòl iàh gnôhk\u{202C} \u{2066}tốt\u{2069}\u{200F} lắm";
        assert_eq!(Comment::parse(sent).unwrap().unwrap().as_str(), "Cán bộ gnòl iàh gnôhk tốt lắm");
        assert_eq!(Comment::parse("\u{202E}\u{202D}\u{200E}").unwrap(), None, "nothing but controls is no comment");
        let emoji = "Rất tốt 👨\u{200D}👩\u{200D}👧";
        assert_eq!(Comment::parse(emoji).unwrap().unwrap().as_str(), emoji, "a joiner is not a bidi control");
    }

    #[test]
    fn masks_phone_and_id_numbers() {
        let cases = [
            ("Gọi tôi 0912345678 nhé", "Gọi tôi [đã ẩn] nhé"),
            ("sđt +84 912 345 678", "sđt [đã ẩn]"),
            ("CCCD 001203004567", "CCCD [đã ẩn]"),
            ("CMND 012.345.678", "CMND [đã ẩn]"),
            ("0912-345-678", "[đã ẩn]"),
            ("Chờ 45 phút, quầy số 3", "Chờ 45 phút, quầy số 3"),
            ("ngày 12/03/2026", "ngày 12/03/2026"),
        ];
        for (input, want) in cases {
            let got = Comment::parse(input).unwrap().unwrap();
            assert_eq!(got.as_str(), want, "{input}");
        }
    }

    #[test]
    fn comments_are_bounded_and_cleaned() {
        assert_eq!(Comment::parse("   \r\n ").unwrap(), None);
        assert!(Comment::parse(&"ồ".repeat(1000)).unwrap().is_some());
        assert_eq!(Comment::parse(&"ồ".repeat(1001)), Err(Problem::CommentTooLong { max: 1000, got: 1001 }));
        assert_eq!(Comment::parse("a\u{0}b\r\nc").unwrap().unwrap().as_str(), "ab\nc");
        let with_breaks = format!("{}{}", "x\r\n".repeat(10), "y".repeat(980));
        assert!(Comment::parse(&with_breaks).is_ok(), "a line break counts as one character");
    }
}
