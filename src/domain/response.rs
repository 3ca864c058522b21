//! A citizen's response, validated and ready for the writer.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use super::answer::Comment;
use super::questionnaire::QuestionnaireId;

/// The one-time key a form carries, so that a double tap or a retry stores one response.
///
/// A form's key is 26 bytes, URL-safe base64 (35 characters): the millisecond the form was
/// drawn (6 bytes, big-endian), 80 random bits, so that a key cannot be guessed (and used first
/// to make a citizen's own rating look like a repeat), and an 80-bit MAC of both under the
/// service's form secret ([`FormKeys`]), so that neither a key nor its draw time can be made
/// without the server. Keys drawn close in time share their first characters, so the store's
/// index of keys takes new ones into a few pages instead of one random page per rating.
///
/// Records made without a form (the demo's, older ones) have 16-byte keys: the time and the
/// random bits only. The store takes a key as given: the door that reads a form checks it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

/// Bytes of the draw time, the random part and the MAC.
const TIME_LEN: usize = 6;
const BODY_LEN: usize = 16;
const MAC_LEN: usize = 10;

impl IdempotencyKey {
    /// A key drawn at `at_ms` (milliseconds since the Unix epoch), with no MAC: for responses
    /// made without a form (the demo's synthetic ratings, tests of the store).
    pub fn generate_at(at_ms: i64) -> Self {
        Self(URL_SAFE_NO_PAD.encode(body_at(at_ms)))
    }

    /// The text of a key as stored, read back; `None` for text no key could be.
    pub fn parse(text: &str) -> Option<Self> {
        let ok = (16..=64).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The millisecond the form was drawn, as the key says; `None` for a key of neither shape
    /// (its length or its time is wrong). Only a form's key checked by [`FormKeys::check`]
    /// says a time the server wrote.
    pub fn drawn_at_ms(&self) -> Option<i64> {
        let bytes =
            URL_SAFE_NO_PAD.decode(&self.0).ok().filter(|b| b.len() == BODY_LEN || b.len() == BODY_LEN + MAC_LEN)?;
        let mut time = [0u8; 8];
        time[2..].copy_from_slice(&bytes[..TIME_LEN]);
        let ms = i64::from_be_bytes(time);
        (ms > 1_577_836_800_000).then_some(ms)
    }
}

fn body_at(at_ms: i64) -> [u8; BODY_LEN] {
    let mut bytes = [0u8; BODY_LEN];
    bytes[..TIME_LEN].copy_from_slice(&at_ms.to_be_bytes()[2..]);
    rand::rng().fill_bytes(&mut bytes[TIME_LEN..]);
    bytes
}

/// Issues and checks the forms' one-time keys under the service's form secret (derived from
/// the signing key, outside the database: `chain::Key::derive`).
#[derive(Clone)]
pub struct FormKeys {
    secret: [u8; 32],
}

impl std::fmt::Debug for FormKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormKeys").finish_non_exhaustive()
    }
}

/// What the form secret is derived for.
pub const FORM_KEY_PURPOSE: &str = "form one-time keys/1";

impl FormKeys {
    pub fn new(secret: [u8; 32]) -> Self {
        Self { secret }
    }

    /// A key for a form drawn at `at_ms`.
    pub fn issue(&self, at_ms: i64) -> IdempotencyKey {
        let body = body_at(at_ms);
        let mut bytes = [0u8; BODY_LEN + MAC_LEN];
        bytes[..BODY_LEN].copy_from_slice(&body);
        let mut mac = self.mac();
        hmac::Mac::update(&mut mac, &body);
        bytes[BODY_LEN..].copy_from_slice(&hmac::Mac::finalize(mac).into_bytes()[..MAC_LEN]);
        IdempotencyKey(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The key in `text` if this server issued it (its MAC is right); `None` for anything
    /// else: a key made by hand, one of another deployment, an older form's 16-byte key, a
    /// truncated or altered one.
    pub fn check(&self, text: &str) -> Option<IdempotencyKey> {
        use hmac::Mac;
        if text.len() > 64 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(text.as_bytes()).ok().filter(|b| b.len() == BODY_LEN + MAC_LEN)?;
        let (body, tag) = bytes.split_at(BODY_LEN);
        let mut mac = self.mac();
        mac.update(body);
        // Compared in constant time; a key decoded from other text than its own is refused.
        let key = IdempotencyKey(URL_SAFE_NO_PAD.encode(&bytes));
        (mac.verify_truncated_left(tag).is_ok() && key.0 == text && key.drawn_at_ms().is_some()).then_some(key)
    }

    fn mac(&self) -> hmac::Hmac<sha2::Sha256> {
        use hmac::Mac;
        match <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.secret) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes a key of any length"),
        }
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
        let key = IdempotencyKey::generate_at(1_795_000_000_123);
        assert_eq!(IdempotencyKey::parse(key.as_str()), Some(key));
        assert_eq!(IdempotencyKey::parse("short"), None);
        assert_eq!(IdempotencyKey::parse("has spaces in it, sixteen+"), None);
    }

    #[test]
    fn only_a_key_the_server_issued_is_taken_with_its_draw_time() {
        let at = 1_795_000_000_123;
        let keys = FormKeys::new([7; 32]);
        let issued = keys.issue(at);
        assert_eq!(issued.as_str().len(), 35);
        assert_eq!(keys.check(issued.as_str()), Some(issued.clone()));
        assert_eq!(issued.drawn_at_ms(), Some(at));
        // Made by hand: a time set back and random bytes, with or without a tag.
        assert_eq!(keys.check(IdempotencyKey::generate_at(at - 30_000).as_str()), None);
        let mut bytes = URL_SAFE_NO_PAD.decode(issued.as_str()).unwrap();
        bytes[5] ^= 0x40; // the draw time moved back
        assert_eq!(keys.check(&URL_SAFE_NO_PAD.encode(&bytes)), None);
        bytes[5] ^= 0x40;
        bytes[25] ^= 1; // the tag
        assert_eq!(keys.check(&URL_SAFE_NO_PAD.encode(&bytes)), None);
        assert_eq!(FormKeys::new([8; 32]).check(issued.as_str()), None, "another deployment's key");
        assert_eq!(keys.check(&issued.as_str()[..34]), None);
        assert_eq!(keys.check(&format!("{}A", issued.as_str())), None);
        assert_eq!(keys.check(""), None);
        assert_eq!(keys.check(&"A".repeat(10_000)), None);
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
