//! A citizen's response, validated and ready for the writer.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use super::answer::Comment;
use super::questionnaire::QuestionnaireId;

/// The one-time key a form carries, so that a double tap or a retry stores one response.
///
/// 16 bytes, URL-safe base64 (22 characters): the millisecond the form was drawn (6 bytes,
/// big-endian), then 80 random bits, so that a key cannot be guessed (and used first to make a
/// citizen's own rating look like a repeat). Keys drawn close in time share their first
/// characters, so the store's index of keys takes new ones into a few pages instead of one
/// random page per rating: fewer pages written at each commit.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn generate() -> Self {
        Self::generate_at(super::clock::now_ms())
    }

    /// A key drawn at `at_ms` (milliseconds since the Unix epoch).
    pub fn generate_at(at_ms: i64) -> Self {
        let mut bytes = [0u8; 16];
        bytes[..6].copy_from_slice(&at_ms.to_be_bytes()[2..]);
        rand::rng().fill_bytes(&mut bytes[6..]);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn parse(text: &str) -> Option<Self> {
        let ok = (16..=64).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The millisecond the form was drawn, as the key says; `None` for a key not made by
    /// [`IdempotencyKey::generate_at`] (its length or its time is wrong).
    pub fn drawn_at_ms(&self) -> Option<i64> {
        let bytes = URL_SAFE_NO_PAD.decode(&self.0).ok().filter(|b| b.len() == 16)?;
        let mut time = [0u8; 8];
        time[2..].copy_from_slice(&bytes[..6]);
        let ms = i64::from_be_bytes(time);
        (ms > 1_577_836_800_000).then_some(ms)
    }
}

/// The question id under which the counts keep the number of responses (with value 0): one
/// row per response, beside its answers' rows.
pub const RESPONSES_QUESTION: &str = "";

/// How a response reached us.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// The open QR code of a collection point (a poster at the desk): anyone may rate.
    Qr,
    /// Synthetic responses seeded by `hailong demo`.
    Demo,
    /// The QR code on a dossier's receipt: one rating per dossier, by its token.
    Receipt,
}

impl Channel {
    pub const ALL: [Self; 3] = [Self::Qr, Self::Demo, Self::Receipt];

    /// The code the database keeps and exports show.
    pub fn code(self) -> &'static str {
        match self {
            Self::Qr => "qr",
            Self::Demo => "demo",
            Self::Receipt => "receipt",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    /// Its Vietnamese name, as reports show it.
    pub fn name_vi(self) -> &'static str {
        match self {
            Self::Qr => "Mã QR tại quầy",
            Self::Demo => "Dữ liệu mẫu",
            Self::Receipt => "Mã QR trên giấy hẹn (mỗi hồ sơ một lần)",
        }
    }
}

/// A response the writer will store. Where it is attributed (unit, desk, officer at that
/// moment) is settled inside the writer's transaction from the point and the assignments.
#[derive(Clone, Debug, PartialEq)]
pub struct NewResponse {
    pub point_id: i64,
    pub questionnaire_id: QuestionnaireId,
    pub questionnaire_version: i64,
    pub answers: Vec<(String, i64)>,
    pub field: Option<String>,
    pub comment: Option<Comment>,
    pub channel: Channel,
    pub submitted_at_ms: i64,
    pub key: IdempotencyKey,
    /// The receipt this rating uses ([`crate::domain::receipt::receipt_id`]): stored once in the
    /// writer's transaction, a second use of it stores nothing.
    pub receipt: Option<String>,
    /// The device it came from (its address: IPv4, or an IPv6 /64), for the stuffing flags;
    /// stored only as a keyed hash under a salt kept for two days.
    pub device: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_checked() {
        let key = IdempotencyKey::generate();
        assert_eq!(IdempotencyKey::parse(key.as_str()), Some(key));
        assert_eq!(IdempotencyKey::parse("short"), None);
        assert_eq!(IdempotencyKey::parse("has spaces in it, sixteen+"), None);
    }

    #[test]
    fn keys_drawn_close_in_time_share_a_prefix_and_nothing_else() {
        let at = 1_795_000_000_123; // 2026-11-18
        let same_ms: Vec<IdempotencyKey> = (0..1000).map(|_| IdempotencyKey::generate_at(at)).collect();
        let distinct: std::collections::HashSet<&str> = same_ms.iter().map(IdempotencyKey::as_str).collect();
        assert_eq!(distinct.len(), 1000, "80 random bits tell keys of the same millisecond apart");
        assert!(same_ms.iter().all(|k| k.as_str().len() == 22 && k.as_str()[..8] == same_ms[0].as_str()[..8]));
        // The first 8 characters are the 48-bit millisecond.
        let decoded = URL_SAFE_NO_PAD.decode(&same_ms[0].as_str()[..8]).unwrap();
        assert_eq!(decoded, at.to_be_bytes()[2..].to_vec());
        assert!(same_ms.iter().all(|k| k.drawn_at_ms() == Some(at)));
        assert_eq!(IdempotencyKey::parse("AAAAAAAAAAAAAAAAAAAAAA").and_then(|k| k.drawn_at_ms()), None);
        let later = IdempotencyKey::generate_at(at + 50);
        assert_eq!(later.as_str()[..6], same_ms[0].as_str()[..6], "50 ms later: the same leading characters");
        assert_ne!(later.as_str()[..8], same_ms[0].as_str()[..8]);
    }
}
