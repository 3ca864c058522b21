//! Staff accounts: roles, what each may do, the part of the unit tree it may see, and the
//! secrets that prove who is calling (passwords, session tokens, API keys).

use std::collections::{HashMap, HashSet};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// What an account is for. Every role but `Admin` is bound to a unit, and sees that unit's
/// subtree only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, everywhere.
    Admin,
    /// Sở Nội vụ: read and export its province subtree, manage questionnaires.
    HomeAffairs,
    /// Lãnh đạo đơn vị: manage and read its unit subtree.
    UnitManager,
    /// Read its subtree.
    Viewer,
    /// The one-stop software: API keys only, read its subtree.
    Integration,
}

/// Something a route lets a caller do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See the organisation, points and figures of the scope.
    Read,
    /// Revoke, reissue and print collection points.
    ManagePoints,
    /// Read the citizens' written comments (masked, where a group has enough responses).
    ReadComments,
    /// Manage units' desks, officers and their assignments.
    ManageOrg,
    /// Assign questionnaires to points.
    ManageQuestionnaires,
    /// Accounts, API keys and the audit log.
    Administer,
    /// Ask for receipt tokens (the one-stop software).
    IssueReceipts,
    /// Exclude responses from the indices and restore them (moderation), and take checkpoints.
    Moderate,
}

impl Role {
    pub const ALL: [Role; 5] = [Self::Admin, Self::HomeAffairs, Self::UnitManager, Self::Viewer, Self::Integration];

    pub fn code(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::HomeAffairs => "home-affairs",
            Self::UnitManager => "unit-manager",
            Self::Viewer => "viewer",
            Self::Integration => "integration",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Self::Admin => "Quản trị hệ thống",
            Self::HomeAffairs => "Sở Nội vụ",
            Self::UnitManager => "Lãnh đạo đơn vị",
            Self::Viewer => "Xem báo cáo",
            Self::Integration => "Tích hợp phần mềm Một cửa",
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|r| r.code() == text).ok_or_else(|| {
            let codes: Vec<_> = Self::ALL.iter().map(|r| r.code()).collect();
            format!("'{text}' is not a role (one of {})", codes.join(", "))
        })
    }

    /// The one table of who may do what.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Self::Admin => true,
            Self::HomeAffairs => matches!(permission, Read | ManageQuestionnaires | Moderate),
            Self::UnitManager => matches!(permission, Read | ManagePoints | ManageOrg | ReadComments),
            Self::Viewer => matches!(permission, Read),
            Self::Integration => matches!(permission, Read | IssueReceipts),
        }
    }

    /// Whether the role signs in with a password.
    pub fn has_password(self) -> bool {
        self != Self::Integration
    }

    /// Whether the role may use the management pages (the others use API keys only).
    pub fn uses_pages(self) -> bool {
        self.has_password()
    }

    /// Whether the role must prove a second factor at sign-in.
    pub fn needs_second_factor(self) -> bool {
        matches!(self, Self::Admin | Self::HomeAffairs)
    }
}

/// The units a caller may see: everything, or a set of unit ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    Units(HashSet<i64>),
}

impl Scope {
    pub fn contains(&self, unit_id: i64) -> bool {
        match self {
            Self::All => true,
            Self::Units(ids) => ids.contains(&unit_id),
        }
    }

    /// The subtree of `root` in a tree given as `(id, parent, successor)`: its descendants, and
    /// the units merged into any of them (their predecessors, with their own subtrees), so that
    /// a merged commune's history stays visible to the commune that succeeded it.
    pub fn subtree(root: i64, tree: &[(i64, Option<i64>, Option<i64>)]) -> Self {
        let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
        for &(id, parent, successor) in tree {
            if let Some(p) = parent {
                children.entry(p).or_default().push(id);
            }
            if let Some(s) = successor {
                children.entry(s).or_default().push(id);
            }
        }
        let mut seen = HashSet::from([root]);
        let mut stack = vec![root];
        while let Some(id) = stack.pop() {
            for &child in children.get(&id).into_iter().flatten() {
                if seen.insert(child) {
                    stack.push(child);
                }
            }
        }
        Self::Units(seen)
    }
}

/// Who is asking, as every use case sees them: an account (signed in, or through its API key)
/// with its role and scope, or the operator at the command line (every permission, everything).
#[derive(Clone, Debug, PartialEq)]
pub struct Caller {
    pub name: String,
    pub role: Role,
    pub scope: Scope,
    pub actor: crate::domain::audit::Actor,
}

impl Caller {
    /// An account's caller.
    pub fn account(name: impl Into<String>, role: Role, scope: Scope) -> Self {
        let name = name.into();
        Self { actor: crate::domain::audit::Actor::User(name.clone()), name, role, scope }
    }

    /// The operator at the command line.
    pub fn console() -> Self {
        Self {
            name: crate::domain::audit::CONSOLE_ACTOR.to_owned(),
            role: Role::Admin,
            scope: Scope::All,
            actor: crate::domain::audit::Actor::Console,
        }
    }

    /// How the audit log names this caller.
    pub fn actor(&self) -> String {
        self.actor.to_string()
    }

    pub fn allows(&self, permission: Permission) -> bool {
        self.role.allows(permission)
    }

    pub fn sees(&self, unit_id: i64) -> bool {
        self.scope.contains(unit_id)
    }
}

/// An account as lists show it.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub unit_code: Option<String>,
    pub disabled: bool,
    pub created_at: i64,
}

/// A password as typed: 12 to 256 characters.
pub fn check_password_strength(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < 12 {
        return Err(format!("the password has {n} characters; use at least 12"));
    }
    if n > 256 {
        return Err("the password is longer than 256 characters".into());
    }
    Ok(())
}

/// Argon2id with the OWASP-recommended cost (19 MiB, 2 passes, 1 lane); see BENCHMARKS.md.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A PHC-format Argon2id hash. CPU-heavy: call it off the async threads.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

/// Whether `password` matches a stored hash. CPU-heavy: call it off the async threads.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| argon2().verify_password(password.as_bytes(), &hash).is_ok())
}

/// A hash to verify against when the account does not exist, so that the time taken does not
/// tell whether a name is in use.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| hash_password("not a real password, only for timing").unwrap_or_default());
    &DUMMY
}

/// A random secret of 32 bytes, URL-safe, with a prefix saying what it is.
fn secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A new session cookie value.
pub fn new_session_token() -> String {
    secret("")
}

/// A new API key (`hl_...`), shown once.
pub fn new_api_key() -> String {
    secret("hl_")
}

/// What the database keeps of a session token or API key: its SHA-256. The secrets are long
/// and random, so a fast hash is enough, and a stolen database holds no usable credential.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A new TOTP secret (160 bits), in base32 as authenticator apps take it.
pub fn new_totp_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    totp_rs::Secret::from(bytes).to_base32()
}

fn totp(secret_base32: &str, account: &str) -> Result<totp_rs::Totp, String> {
    let secret = totp_rs::Secret::try_from_base32(secret_base32).map_err(|e| format!("{e:?}"))?;
    totp_rs::Builder::new()
        .with_secret(secret)
        .with_account_name(account)
        .with_issuer(Some("hailong"))
        .build()
        .map_err(|e| e.to_string())
}

/// The `otpauth://` address an authenticator app reads from a QR code.
pub fn totp_url(secret_base32: &str, account: &str) -> Result<String, String> {
    totp(secret_base32, account)?.to_url().map_err(|e| e.to_string())
}

/// The 30-second step a six-digit code belongs to (one step of clock skew either way), if it
/// is right. The caller accepts each step once.
pub fn totp_step(secret_base32: &str, code: &str, now_secs: u64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    totp(secret_base32, "").ok()?.check(&code, now_secs)
}

/// The code of a step, for tests and for nothing else a server needs.
pub fn totp_code(secret_base32: &str, now_secs: u64) -> Option<String> {
    Some(totp(secret_base32, "").ok()?.generate(now_secs).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_permission_table() {
        use Permission::*;
        assert!(Role::Admin.allows(Administer));
        assert!(Role::HomeAffairs.allows(ManageQuestionnaires) && !Role::HomeAffairs.allows(ManagePoints));
        assert!(Role::UnitManager.allows(ManagePoints) && !Role::UnitManager.allows(Administer));
        assert!(Role::Viewer.allows(Read) && !Role::Viewer.allows(ManagePoints));
        assert!(!Role::Integration.allows(ManageOrg));
        for role in Role::ALL {
            assert_eq!(Role::parse(role.code()), Ok(role));
        }
    }

    #[test]
    fn a_subtree_holds_descendants_and_merged_predecessors() {
        // 1 province; 2, 3 communes of it; 4 a centre of 2; 5 an old commune merged into 2.
        let tree = [(1, None, None), (2, Some(1), None), (3, Some(1), None), (4, Some(2), None), (5, None, Some(2))];
        let Scope::Units(ids) = Scope::subtree(2, &tree) else { panic!() };
        assert_eq!(ids, HashSet::from([2, 4, 5]));
        assert!(Scope::subtree(1, &tree).contains(5));
        assert!(!Scope::subtree(3, &tree).contains(2));
        assert!(Scope::All.contains(99));
    }

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("mật khẩu đủ dài 2026").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("mật khẩu đủ dài 2026", &hash));
        assert!(!verify_password("mật khẩu sai", &hash));
        assert!(!verify_password("x", "not a hash"));
        assert!(check_password_strength("short").is_err());
        assert!(check_password_strength("twelve chars").is_ok());
    }

    #[test]
    fn one_time_codes_follow_rfc_6238() {
        // RFC 6238 appendix B, SHA-1, secret "12345678901234567890", 59 s -> 94287082 (8 digits);
        // the 6-digit code is its last six digits.
        let secret = totp_rs::Secret::from(b"12345678901234567890".to_vec()).to_base32();
        assert_eq!(totp_code(&secret, 59).as_deref(), Some("287082"));
        assert_eq!(totp_step(&secret, "287 082", 59), Some(1));
        assert_eq!(totp_step(&secret, "287082", 59 + 30), Some(1), "one step of skew");
        assert_eq!(totp_step(&secret, "287082", 59 + 90), None);
        assert_eq!(totp_step(&secret, "000000", 59), None);
        let fresh = new_totp_secret();
        assert!(totp_url(&fresh, "root").unwrap().starts_with("otpauth://totp/hailong:root?"));
    }

    #[test]
    fn secrets_are_random_and_stored_hashed() {
        let (a, b) = (new_api_key(), new_api_key());
        assert!(a.starts_with("hl_") && a.len() == 46 && a != b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
    }
}
