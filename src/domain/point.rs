//! Collection points: what a QR code opens. A point targets a unit, a desk of that unit, or an
//! officer at a desk, and is reached through an unguessable slug that can be revoked and reissued.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

/// Random bytes in a new slug: 72 bits, written as 12 URL-safe characters.
const SLUG_BYTES: usize = 9;

/// A collection point's public identifier.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    /// A fresh slug from the operating system's random source. It begins with a letter or a
    /// digit: a leading `-` reads as a flag on a command line and as a formula in a spreadsheet.
    pub fn generate() -> Self {
        let mut bytes = [0u8; SLUG_BYTES];
        loop {
            rand::rng().fill_bytes(&mut bytes);
            let slug = URL_SAFE_NO_PAD.encode(bytes);
            if slug.starts_with(|c: char| c.is_ascii_alphanumeric()) {
                return Self(slug);
            }
        }
    }

    /// Accepts what a URL may carry as a slug; whether it exists is the store's question.
    pub fn parse(text: &str) -> Result<Self, String> {
        let ok_len = (8..=64).contains(&text.len());
        let ok_chars = text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok_len && ok_chars {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!("'{text}' is not a collection point slug"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Slug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a point is for, in the order of precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Unit,
    Desk,
    Officer,
}

/// The public address of a point's form.
pub fn form_url(public_base_url: &str, slug: &Slug) -> String {
    format!("{public_base_url}/s/{slug}")
}

/// What a citizen's form needs to know about its collection point.
#[derive(Clone, Debug, PartialEq)]
pub struct PointContext {
    pub point_id: i64,
    pub questionnaire_id: crate::domain::questionnaire::QuestionnaireId,
    /// Revoked, or its unit has closed, or its officer has no assignment today.
    pub closed: bool,
    pub unit_name: String,
    pub desk_name: Option<String>,
    pub officer_name: Option<String>,
}

/// An active collection point as lists and posters show it.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub id: i64,
    pub slug: Slug,
    /// The unit the point rates for today.
    pub unit_id: i64,
    pub unit_code: String,
    pub unit_name: String,
    pub desk_code: Option<String>,
    pub desk_name: Option<String>,
    pub officer_code: Option<String>,
    pub officer_name: Option<String>,
    pub label: String,
    pub questionnaire_id: crate::domain::questionnaire::QuestionnaireId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_slugs_are_long_url_safe_and_distinct() {
        let a = Slug::generate();
        let b = Slug::generate();
        assert_eq!(a.as_str().len(), 12);
        assert_ne!(a, b);
        assert!(Slug::parse(a.as_str()).is_ok());
        assert!((0..2000).all(|_| Slug::generate().as_str().starts_with(|c: char| c.is_ascii_alphanumeric())));
    }

    #[test]
    fn rejects_what_cannot_be_a_slug() {
        for bad in ["", "short", "has space in it", "semi;colon12", "../../etc/passwd", &"x".repeat(65)] {
            assert!(Slug::parse(bad).is_err(), "{bad:?}");
        }
    }
}
