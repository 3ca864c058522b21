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
