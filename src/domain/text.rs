//! Text as Vietnamese readers expect it: lists of names in Vietnamese alphabetical order
//! (a ă â b c d đ e ê ... with tones after the letter), by the Unicode collation algorithm with
//! the CLDR Vietnamese tailoring.

use std::cmp::Ordering;
use std::sync::LazyLock;

use icu_collator::options::CollatorOptions;
use icu_collator::{Collator, CollatorBorrowed};
use icu_locale_core::locale;

static VIETNAMESE: LazyLock<Option<CollatorBorrowed<'static>>> =
    LazyLock::new(|| Collator::try_new(locale!("vi").into(), CollatorOptions::default()).ok());

/// The Unicode bidirectional formatting characters (UAX #9): embeddings, overrides, isolates
/// and the directional marks. None belongs in Vietnamese text, and each can make what staff read
/// differ from what was written (U+202E shows the rest of a line backwards).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Whether `text` holds a control character or a bidirectional formatting character: a name or
/// a one-line text that holds one is refused.
pub fn has_control(text: &str) -> bool {
    text.chars().any(|c| c.is_control() || is_bidi_control(c))
}

/// Compares two texts in Vietnamese alphabetical order ("Đất đai" after "Dân số" and "đăng ký", before
/// "Giáo dục"); texts the collation holds equal fall back to code-point order, so that a sort is
/// the same on every run.
pub fn compare(a: &str, b: &str) -> Ordering {
    let collated = VIETNAMESE.as_ref().map_or(Ordering::Equal, |c| c.compare(a, b));
    collated.then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidirectional_characters_are_told_apart_from_vietnamese_letters() {
        assert!(!has_control("Nguyễn Thị Ánh Tuyết — Đăng ký khai sinh (lần 2)"));
        for bad in ["a\u{202E}b", "a\u{2066}b", "a\u{200F}", "\u{061C}x", "one\ntwo", "tab\there"] {
            assert!(has_control(bad), "{bad:?}");
        }
    }

    #[test]
    fn sorts_as_a_vietnamese_dictionary() {
        let mut fields =
            vec!["Xây dựng", "Đất đai", "Dân số", "Ăn uống", "An toàn", "Âm nhạc", "Y tế", "Giáo dục", "đăng ký"];
        fields.sort_by(|a, b| compare(a, b));
        assert_eq!(
            fields,
            ["An toàn", "Ăn uống", "Âm nhạc", "Dân số", "đăng ký", "Đất đai", "Giáo dục", "Xây dựng", "Y tế"]
        );
    }

    #[test]
    fn tones_come_after_the_letter_and_equal_texts_keep_one_order() {
        let mut words = ["mà", "mạ", "ma", "má", "mả", "mã"];
        words.sort_by(|a, b| compare(a, b));
        assert_eq!(words[0], "ma", "the toneless word first");
        assert!(words.iter().all(|w| compare(w, "mb") == Ordering::Less), "every tone of 'ma' before 'mb'");
        assert_eq!(compare("Hà Nội", "Hà Nội"), Ordering::Equal);
    }
}
