//! Receipt tokens: one dossier, one rating. The receipt handed to an applicant carries a QR code
//! whose address holds a token that names the unit, the officer (and the desk) and, as a keyed
//! hash, the dossier; it rates once.
//!
//! A token is signed with a key shared with the one-stop software (HMAC-SHA-256), so that the
//! software can mint tokens offline; the server mints its own the same way for the online API.
//! The format, byte by byte (the README documents it with test vectors):
//!
//! ```text
//! 0        version, 1
//! 1..5     key id, unsigned 32-bit, big-endian
//! 5..7     issue date, days since 2020-01-01, unsigned 16-bit, big-endian
//! 7..11    nonce, 4 bytes
//! 11..27   dossier: the first 16 bytes of HMAC-SHA-256(secret, "hailong-dossier\0" ‖ code)
//! 27..     unit code, officer code, desk code: each one length byte then ASCII (desk: 0 = none)
//! last 16  tag: the first 16 bytes of HMAC-SHA-256(secret, every byte before it)
//! ```
//!
//! written in URL-safe base64 without padding. The dossier code is upper-cased and trimmed
//! before it is hashed, so that "h01-261124-0042" and "H01-261124-0042" are one dossier.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::Date;

type HmacSha256 = Hmac<Sha256>;

/// The format's version byte.
pub const VERSION: u8 = 1;
/// Bytes of the dossier hash and of the tag.
pub const HASH_BYTES: usize = 16;
/// Bytes of a key's secret.
pub const SECRET_BYTES: usize = 32;
/// The bytes before the codes.
const HEAD: usize = 1 + 4 + 2 + 4 + HASH_BYTES;
/// Day 0 of the issue date.
const EPOCH: Date = time::macros::date!(2020 - 01 - 01);
/// The longest code a token carries (the organisation's codes are at most 40).
const CODE_MAX: usize = 40;

/// What a token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    pub key_id: u32,
    pub issued: Date,
    pub nonce: [u8; 4],
    /// The keyed hash of the dossier code ([`dossier_hash`]).
    pub dossier: [u8; HASH_BYTES],
    pub unit: String,
    pub officer: String,
    pub desk: Option<String>,
}

/// Why a token cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not URL-safe base64, an unknown version, or codes that do not parse.
    #[error("not a receipt token")]
    Malformed,
    /// Shorter than its own contents say: cut off (a QR code read in part, a link wrapped).
    #[error("the token is cut short")]
    Truncated,
    /// The tag does not match: made without the key, or changed since.
    #[error("the token's signature does not match")]
    Forged,
}

/// Keeps receipt keys' secrets sealed in the database: ChaCha20-Poly1305 under a key derived
/// from `receipt_secret` (outside the database), with the key's id as associated data, so that
/// neither the database, a backup nor a dump holds a secret that signs a token, and a sealed
/// secret moved to another key's row does not open.
#[derive(Clone)]
pub struct Sealer {
    cipher: chacha20poly1305::ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").finish_non_exhaustive()
    }
}

/// The prefix of a sealed secret as the database keeps it.
pub const SEALED_PREFIX: &str = "sealed/1:";

impl Sealer {
    /// The sealer of a deployment's `receipt_secret`.
    pub fn new(receipt_secret: &[u8]) -> Self {
        use chacha20poly1305::KeyInit;
        let Ok(mut mac) = <HmacSha256 as Mac>::new_from_slice(receipt_secret) else {
            unreachable!("HMAC takes a key of any length")
        };
        mac.update(b"hailong receipt key seal/1");
        let key: [u8; 32] = mac.finalize().into_bytes().into();
        Self { cipher: chacha20poly1305::ChaCha20Poly1305::new(&key.into()) }
    }

    /// `secret` of key `id`, sealed: the prefix, then URL-safe base64 of a random 96-bit nonce
    /// and the ciphertext with its tag.
    pub fn seal(&self, id: u32, secret: &[u8; SECRET_BYTES]) -> String {
        use chacha20poly1305::aead::{Aead, Payload};
        let nonce: [u8; 12] = rand::random();
        let aad = id.to_be_bytes();
        let Ok(sealed) = self.cipher.encrypt(&nonce.into(), Payload { msg: secret, aad: &aad }) else {
            unreachable!("sealing 32 bytes cannot fail")
        };
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!("{SEALED_PREFIX}{}", base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes))
    }

    /// The secret of key `id` from what [`Sealer::seal`] wrote; an error for anything else: a
    /// secret in plain text, another deployment's seal, another key's, an altered one.
    pub fn open(&self, id: u32, stored: &str) -> Result<[u8; SECRET_BYTES], String> {
        use chacha20poly1305::aead::{Aead, Payload};
        let text = stored
            .strip_prefix(SEALED_PREFIX)
            .ok_or("its secret is not sealed (it was written outside the service)")?;
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, text)
            .map_err(|_| "its sealed secret is not base64")?;
        if bytes.len() < 12 {
            return Err("its sealed secret is cut short".into());
        }
        let (nonce, sealed) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| "its sealed secret is cut short")?;
        let aad = id.to_be_bytes();
        let secret = self
            .cipher
            .decrypt(&nonce.into(), Payload { msg: sealed, aad: &aad })
            .map_err(|_| "its sealed secret does not open under this receipt_secret (another secret, another key's row, or altered)")?;
        secret.try_into().map_err(|_| format!("its secret is not {SECRET_BYTES} bytes"))
    }
}

/// A key shared with the one-stop software: its id and secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    pub id: u32,
    pub secret: [u8; SECRET_BYTES],
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("id", &self.id).finish_non_exhaustive()
    }
}

impl Key {
    /// A new key with a random secret.
    pub fn generate(id: u32) -> Self {
        let mut secret = [0u8; SECRET_BYTES];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut secret);
        Self { id, secret }
    }

    /// The secret as it is printed and stored: URL-safe base64, 43 characters.
    pub fn secret_text(&self) -> String {
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, self.secret)
    }

    /// A key from its id and printed secret.
    pub fn from_text(id: u32, secret: &str) -> Result<Self, String> {
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, secret.trim())
            .map_err(|_| "the secret is not URL-safe base64 (43 characters)".to_owned())?;
        let secret: [u8; SECRET_BYTES] =
            bytes.try_into().map_err(|_| format!("the secret is not {SECRET_BYTES} bytes (43 characters)"))?;
        Ok(Self { id, secret })
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes a key of any length.
        <HmacSha256 as Mac>::new_from_slice(&self.secret).unwrap_or_else(|_| unreachable!("HMAC accepts any key"))
    }

    /// The keyed hash of a dossier code, as a token carries it.
    pub fn dossier_hash(&self, dossier_code: &str) -> [u8; HASH_BYTES] {
        let mut mac = self.mac();
        mac.update(b"hailong-dossier\0");
        mac.update(normalise_dossier(dossier_code).as_bytes());
        first(&mac.finalize().into_bytes())
    }

    /// The token of `claims`, signed with this key (whose id it must carry).
    pub fn sign(&self, claims: &Claims) -> Result<String, String> {
        if claims.key_id != self.id {
            return Err(format!("the claims name key {}, not {}", claims.key_id, self.id));
        }
        let mut bytes = payload(claims)?;
        let mut mac = self.mac();
        mac.update(&bytes);
        bytes.extend_from_slice(&first(&mac.finalize().into_bytes()));
        Ok(base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes))
    }

    /// Checks a read token's tag against this key, in constant time.
    pub fn verify(&self, token: &Token) -> Result<(), TokenError> {
        let mut mac = self.mac();
        mac.update(&token.signed);
        mac.verify_truncated_left(&token.tag).map_err(|_| TokenError::Forged)
    }
}

fn first(bytes: &[u8]) -> [u8; HASH_BYTES] {
    let mut out = [0u8; HASH_BYTES];
    out.copy_from_slice(&bytes[..HASH_BYTES]);
    out
}

/// A dossier code as it is hashed: trimmed and upper-cased.
pub fn normalise_dossier(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

/// Whether a dossier code looks like one: 4 to 60 characters of letters, digits and `. - _ /`,
/// with at least one digit. Loose on purpose: the national formats
/// (`000.00.01.H01-261124-0042`, Circular 04/2025's `MX1X2.Y1Y2Y3.Z1Z2-YYMMDD-AAXXXX`) pass,
/// and so does a province's own scheme of that alphabet.
pub fn check_dossier_code(code: &str) -> Result<(), String> {
    let code = code.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_/".contains(c);
    if !(4..=60).contains(&code.chars().count()) {
        return Err("a dossier code has 4 to 60 characters".into());
    }
    if !code.chars().all(allowed) {
        return Err("a dossier code has only letters, digits and . - _ /".into());
    }
    if !code.chars().any(|c| c.is_ascii_digit()) {
        return Err("a dossier code has at least one digit".into());
    }
    Ok(())
}

/// The bytes a tag covers.
fn payload(claims: &Claims) -> Result<Vec<u8>, String> {
    let days = (claims.issued - EPOCH).whole_days();
    let days = u16::try_from(days).map_err(|_| format!("the issue date {} is outside 2020–2199", claims.issued))?;
    let mut bytes = Vec::with_capacity(HEAD + 3 * 16 + HASH_BYTES);
    bytes.push(VERSION);
    bytes.extend_from_slice(&claims.key_id.to_be_bytes());
    bytes.extend_from_slice(&days.to_be_bytes());
    bytes.extend_from_slice(&claims.nonce);
    bytes.extend_from_slice(&claims.dossier);
    for code in [Some(claims.unit.as_str()), Some(claims.officer.as_str()), claims.desk.as_deref()] {
        let code = code.unwrap_or_default();
        if code.len() > CODE_MAX || !code.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!("'{code}' is not a code (ASCII, at most {CODE_MAX})"));
        }
        bytes.push(code.len() as u8);
        bytes.extend_from_slice(code.as_bytes());
    }
    if claims.unit.is_empty() || claims.officer.is_empty() {
        return Err("a token names a unit and an officer".into());
    }
    Ok(bytes)
}

/// A token as read: what it says, and the bytes its tag covers (checked by [`Key::verify`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub claims: Claims,
    signed: Vec<u8>,
    tag: [u8; HASH_BYTES],
}

/// A token with its tag zeroed: its claims, which do not rate (no key gives a zero tag but by
/// chance), and which its key signs back into the token. What the service keeps of a token it
/// issued online, so that the database, a backup or a dump holds no token a citizen could use.
pub fn untagged(token: &str) -> Result<String, TokenError> {
    let read = Token::parse(token)?;
    let mut bytes = read.signed;
    bytes.extend_from_slice(&[0; HASH_BYTES]);
    Ok(base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes))
}

impl Token {
    /// Reads a token without checking its tag: the key it names is looked up next.
    pub fn parse(text: &str) -> Result<Self, TokenError> {
        let text = text.trim();
        if text.is_empty() || text.len() > 400 {
            return Err(TokenError::Malformed);
        }
        if !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(TokenError::Malformed);
        }
        // Characters of the alphabet that do not decode are a token cut off (a QR code read in
        // part, a link wrapped in a message): its length or its last character cannot end one.
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, text)
            .map_err(|_| TokenError::Truncated)?;
        if bytes.first().is_some_and(|v| *v != VERSION) {
            return Err(TokenError::Malformed);
        }
        if bytes.len() < HEAD + 3 + HASH_BYTES {
            return Err(TokenError::Truncated);
        }
        let (signed, tag) = bytes.split_at(bytes.len() - HASH_BYTES);
        let mut at = HEAD;
        let mut codes: Vec<String> = Vec::with_capacity(3);
        for _ in 0..3 {
            let len = usize::from(*signed.get(at).ok_or(TokenError::Truncated)?);
            let code = signed.get(at + 1..at + 1 + len).ok_or(TokenError::Truncated)?;
            if len > CODE_MAX || !code.iter().all(u8::is_ascii_graphic) {
                return Err(TokenError::Malformed);
            }
            codes.push(String::from_utf8_lossy(code).into_owned());
            at += 1 + len;
        }
        if at != signed.len() {
            // Bytes left over between the codes and the tag: cut short or padded.
            return Err(if at > signed.len() { TokenError::Truncated } else { TokenError::Malformed });
        }
        let days = u16::from_be_bytes([signed[5], signed[6]]);
        let issued = EPOCH.checked_add(time::Duration::days(i64::from(days))).ok_or(TokenError::Malformed)?;
        let desk = codes.pop().filter(|d| !d.is_empty());
        let officer = codes.pop().unwrap_or_default();
        let unit = codes.pop().unwrap_or_default();
        if unit.is_empty() || officer.is_empty() {
            return Err(TokenError::Malformed);
        }
        Ok(Self {
            claims: Claims {
                key_id: u32::from_be_bytes([signed[1], signed[2], signed[3], signed[4]]),
                issued,
                nonce: [signed[7], signed[8], signed[9], signed[10]],
                dossier: first(&signed[11..11 + HASH_BYTES]),
                unit,
                officer,
                desk,
            },
            signed: signed.to_vec(),
            tag: first(tag),
        })
    }
}

/// The one-dossier identity the once-only rule is kept on, as the database stores it: a keyed
/// hash (with `secret`, a setting kept out of the database) of the key id and the token's dossier
/// hash, so that the database alone cannot tell which dossier rated.
pub fn receipt_id(secret: &[u8], key_id: u32, dossier: &[u8; HASH_BYTES]) -> String {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC accepts any key"));
    mac.update(b"hailong-receipt\0");
    mac.update(&key_id.to_be_bytes());
    mac.update(dossier);
    mac.finalize().into_bytes()[..HASH_BYTES].iter().map(|b| format!("{b:02x}")).collect()
}

/// The last day a token issued on `issued` rates, `valid_days` later.
pub fn last_day(issued: Date, valid_days: u32) -> Date {
    issued.checked_add(time::Duration::days(i64::from(valid_days))).unwrap_or(Date::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_under_its_secret_for_its_key() {
        let sealer = Sealer::new(b"a receipt secret for the tests");
        let secret = [9u8; SECRET_BYTES];
        let sealed = sealer.seal(3, &secret);
        assert!(sealed.starts_with(SEALED_PREFIX));
        assert!(!sealed.contains(&Key { id: 3, secret }.secret_text()), "the secret's text is not in it");
        assert_eq!(sealer.open(3, &sealed), Ok(secret));
        assert_ne!(sealer.seal(3, &secret), sealed, "a fresh nonce each time");
        assert!(sealer.open(4, &sealed).is_err(), "another key's row");
        assert!(Sealer::new(b"another deployment's secret").open(3, &sealed).is_err());
        assert!(sealer.open(3, &Key { id: 3, secret }.secret_text()).is_err(), "plain text is refused");
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert!(sealer.open(3, &String::from_utf8(altered).unwrap()).is_err());
        assert!(sealer.open(3, "sealed/1:AAAA").is_err());
    }

    fn key() -> Key {
        Key { id: 7, secret: [0x11; SECRET_BYTES] }
    }

    fn claims(key: &Key) -> Claims {
        Claims {
            key_id: key.id,
            issued: time::macros::date!(2026 - 11 - 24),
            nonce: [1, 2, 3, 4],
            dossier: key.dossier_hash("000.00.01.H01-261124-0042"),
            unit: "HL.TAN-LOC.TT".into(),
            officer: "CB001".into(),
            desk: Some("HL.TL.Q1".into()),
        }
    }

    #[test]
    fn a_signed_token_reads_back_and_verifies() {
        let key = key();
        let token = key.sign(&claims(&key)).unwrap();
        let read = Token::parse(&token).unwrap();
        assert_eq!(read.claims, claims(&key));
        assert_eq!(key.verify(&read), Ok(()));
        assert!(token.len() < 110, "short enough for a small QR code: {} characters", token.len());
        let other = Key { id: 7, secret: [0x22; SECRET_BYTES] };
        assert_eq!(other.verify(&read), Err(TokenError::Forged));
    }

    #[test]
    fn every_change_of_a_byte_and_every_cut_is_refused() {
        let key = key();
        let token = key.sign(&claims(&key)).unwrap();
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &token).unwrap();
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut changed = bytes.clone();
                changed[i] ^= flip;
                let text = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &changed);
                let verdict = Token::parse(&text).and_then(|t| key.verify(&t));
                assert!(verdict.is_err(), "byte {i} ^ {flip:#x} accepted");
            }
        }
        for cut in 0..token.len() {
            let verdict = Token::parse(&token[..cut]).and_then(|t| key.verify(&t));
            assert!(verdict.is_err(), "cut at {cut} accepted");
        }
    }

    #[test]
    fn random_mutations_of_a_token_are_refused() {
        use rand::{Rng, SeedableRng};
        let key = key();
        let token = key.sign(&claims(&key)).unwrap();
        let alphabet: Vec<char> = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".chars().collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
        for _ in 0..20_000 {
            let mut chars: Vec<char> = token.chars().collect();
            for _ in 0..rng.random_range(1..=3) {
                let at = rng.random_range(0..chars.len());
                match rng.random_range(0..3) {
                    0 => chars[at] = alphabet[rng.random_range(0..alphabet.len())],
                    1 => chars.insert(at, alphabet[rng.random_range(0..alphabet.len())]),
                    _ => {
                        chars.remove(at);
                    }
                }
            }
            let mutated: String = chars.into_iter().collect();
            if mutated == token {
                continue;
            }
            let verdict = Token::parse(&mutated).and_then(|t| key.verify(&t));
            assert!(verdict.is_err(), "{mutated} accepted");
        }
    }

    #[test]
    fn dossier_codes_are_checked_loosely_and_hashed_alike() {
        for good in ["000.00.01.H01-261124-0042", "M01.H48.01-250705-AB0012", "HS/2026/123", "h01-0042"] {
            assert_eq!(check_dossier_code(good), Ok(()), "{good}");
        }
        for bad in ["", "ab", "HỒ-SƠ-1", "no digits here", "a b 1 2"] {
            assert!(check_dossier_code(bad).is_err(), "{bad}");
        }
        let key = key();
        assert_eq!(key.dossier_hash(" h01-261124-0042 "), key.dossier_hash("H01-261124-0042"));
        assert_ne!(key.dossier_hash("H01-261124-0042"), key.dossier_hash("H01-261124-0043"));
    }

    #[test]
    fn the_receipt_identity_is_keyed_by_the_setting() {
        let dossier = key().dossier_hash("H01-261124-0042");
        assert_eq!(receipt_id(b"a", 7, &dossier), receipt_id(b"a", 7, &dossier));
        assert_ne!(receipt_id(b"a", 7, &dossier), receipt_id(b"b", 7, &dossier));
        assert_ne!(receipt_id(b"a", 7, &dossier), receipt_id(b"a", 8, &dossier));
    }
}
