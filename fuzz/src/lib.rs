//! The checks each fuzz target makes of one input, apart from AFL so that a crash found can be
//! replayed with `target/release/replay TARGET FILE` (built by `cargo afl build --release`).
//!
//! A target fails (panics) when the code under test panics, or when what it accepted breaks
//! a rule the rest of the program relies on.

use hailong::domain::period::Period;
use hailong::domain::receipt::{Key, Token};
use hailong::domain::questionnaire::{Questionnaire, SHIPPED};
use hailong::import::{self, Format};
use hailong::store::KnownCodes;

/// The citizen's form: the body decoder, then each shipped questionnaire's validation.
pub fn form(data: &[u8]) {
    let Some(pairs) = hailong::web::survey::decode_form(data) else { return };
    for text in SHIPPED {
        let Ok(questionnaire) = Questionnaire::from_toml(text) else { panic!("a shipped questionnaire parses") };
        let (_, answers) = questionnaire.read_submission(&pairs, |code| code == "DAT-DAI");
        if let Ok(answers) = answers {
            for (question, value) in &answers.values {
                // (Answers derived from others, such as sums for Cronbach's alpha, have no options.)
                if let Some(known) = questionnaire.question(question) {
                    let options = questionnaire.options(known);
                    assert!(options.iter().any(|level| level.value == *value), "{question} = {value} accepted");
                }
            }
            if let Some(comment) = &answers.comment {
                assert!(comment.as_str().chars().count() <= hailong::domain::answer::COMMENT_MAX_CHARS);
            }
        }
    }
}

/// A reporting period: accepted ones are within the documented bounds and print back to
/// themselves.
pub fn period(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(period) = Period::parse(text) else { return };
    assert!(period.first() <= period.last());
    assert!((2000..=2100).contains(&period.first().year()) && (2000..=2100).contains(&period.last().year()));
    assert_eq!(Period::parse(&period.to_string()), Ok(period), "{text:?} prints back");
    let previous = period.previous();
    assert!(previous.last() < period.first());
}

/// An organisation list: read, then checked row by row.
pub fn import(format: Format, data: &[u8]) {
    let Ok(tables) = import::read_bytes("fuzz", format, data) else { return };
    let Ok(today) = hailong::domain::clock::parse_date("2026-11-18") else { panic!("a date") };
    let _ = import::validate(&tables, &KnownCodes::default(), today);
}

/// A receipt's token: reading never panics; what reads signs back to the same claims; and a tag
/// checks only on the token exactly as signed (no second spelling of a token rates).
pub fn receipt(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(token) = Token::parse(text) else { return };
    let key = Key { id: token.claims.key_id, secret: [0x11; 32] };
    let Ok(signed) = key.sign(&token.claims) else { return };
    assert_eq!(Token::parse(&signed).map(|t| t.claims), Ok(token.claims.clone()), "the claims sign back");
    if key.verify(&token).is_ok() {
        assert_eq!(signed, text.trim(), "only the token as signed verifies");
    }
}

/// A form's one-time key: checking never panics; a key is taken only as issued, under the
/// secret that issued it, with the draw time it was issued at; any change of one character is
/// refused.
pub fn form_key(data: &[u8]) {
    use hailong::domain::response::FormKeys;
    let keys = FormKeys::new([0x22; 32]);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(key) = keys.check(text) {
            assert_eq!(key.as_str(), text, "only the key's own text checks");
            assert!(key.drawn_at_ms().is_some());
        }
        assert!(FormKeys::new([0x23; 32]).check(text).is_none() || keys.check(text).is_none(), "one secret's key");
    }
    // A key issued at a time the input gives is taken back with that time; altered, it is not.
    let at = data.iter().take(6).fold(1_600_000_000_000i64, |t, b| t.wrapping_add(i64::from(*b) << 20));
    let issued = keys.issue(at);
    assert_eq!(keys.check(issued.as_str()).and_then(|k| k.drawn_at_ms()), Some(at));
    if let Some(&b) = data.first() {
        let mut altered = issued.as_str().as_bytes().to_vec();
        let i = usize::from(b) % altered.len();
        altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap_or_default();
        assert!(keys.check(&altered).is_none(), "{altered} altered from {}", issued.as_str());
    }
}
