//! The abuse limits: accepted open-QR ratings per device and collection point per minute
//! (`submit_limit_per_minute`), and sign-in attempts per device per quarter hour. A device is
//! what `web::client` makes of the client's address (an IPv4 address, an IPv6 /64).
//!
//! One server on SQLite counts in memory, under keyed hashes with a key drawn at start-up. On
//! PostgreSQL several instances may serve one deployment and a proxy may send one citizen's
//! requests to any of them, so the counts are kept in the database where all see them
//! ([`Store::count_in_window`]), under keyed hashes with the day's salt, never an address.
//! Should the database not answer, a request is let through: the limit guards against floods,
//! and a database that does not answer stores nothing anyway.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;

use super::App;
use crate::domain::{clock, flags};
use crate::store::Store;

/// Sign-in attempts one device may make per window, whatever the accounts.
pub const SIGN_IN_ATTEMPTS_PER_WINDOW: u32 = 30;
pub const SIGN_IN_WINDOW_SECS: u64 = 15 * 60;
/// The window of the ratings' limit.
pub const RATING_WINDOW_SECS: u64 = 60;

/// A fixed-window counter per key, in memory: at most `limit` events per window of
/// `window_secs`. Keys are kept as keyed hashes (key drawn at start-up).
#[derive(Debug)]
pub struct Limiter {
    limit: u32,
    window_secs: u64,
    key: std::collections::hash_map::RandomState,
    windows: Mutex<HashMap<u64, (u64, u32)>>,
}

/// Above this many tracked keys, windows that have ended are dropped.
const PRUNE_ABOVE: usize = 50_000;

impl Limiter {
    /// `limit == 0` turns the limit off.
    pub fn new(limit: u32, window_secs: u64) -> Self {
        Self { limit, window_secs: window_secs.max(1), key: Default::default(), windows: Mutex::new(HashMap::new()) }
    }

    /// Counts one event for `key` at `now_secs`; false if over the limit.
    pub fn allow(&self, key: impl std::hash::Hash, now_secs: u64) -> bool {
        if self.limit == 0 {
            return true;
        }
        let window_id = now_secs / self.window_secs;
        let hashed = self.key.hash_one(key);
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() > PRUNE_ABOVE {
            windows.retain(|_, (w, _)| *w == window_id);
        }
        let window = windows.entry(hashed).or_insert((window_id, 0));
        if window.0 != window_id {
            *window = (window_id, 0);
        }
        if window.1 >= self.limit {
            return false;
        }
        window.1 += 1;
        true
    }
}

/// Where the limits are counted.
#[derive(Debug)]
enum Counted {
    /// In this process (one server).
    Memory { ratings: Limiter, sign_ins: Limiter },
    /// In the database every instance shares, with the day's salt kept for its day.
    Shared { ratings: u32, salt: Mutex<Option<(i64, String)>> },
}

/// The abuse limits of one instance.
#[derive(Debug)]
pub struct Limits(Counted);

impl Limits {
    /// The limits for `store`: shared in the database when instances may share it.
    pub fn for_store(store: &Store, ratings_per_minute: u32) -> Self {
        Self(if store.is_shared() {
            Counted::Shared { ratings: ratings_per_minute, salt: Mutex::new(None) }
        } else {
            Counted::Memory {
                ratings: Limiter::new(ratings_per_minute, RATING_WINDOW_SECS),
                sign_ins: Limiter::new(SIGN_IN_ATTEMPTS_PER_WINDOW, SIGN_IN_WINDOW_SECS),
            }
        })
    }
}

impl App {
    /// Counts one open-QR rating from `device` at the point `point_id`; false when the device
    /// has had its ratings at that point this minute.
    pub async fn allow_rating(&self, device: &str, point_id: i64) -> bool {
        match &self.limits.0 {
            Counted::Memory { ratings, .. } => ratings.allow((device, point_id), secs(self.store.clock().now_ms())),
            Counted::Shared { ratings: 0, .. } => true,
            Counted::Shared { ratings, .. } => {
                self.count_shared(&format!("rating\n{device}\n{point_id}"), RATING_WINDOW_SECS, *ratings).await
            }
        }
    }

    /// Counts one sign-in attempt from `device`; false when it has had its attempts this window.
    pub async fn allow_sign_in(&self, device: &str) -> bool {
        match &self.limits.0 {
            Counted::Memory { sign_ins, .. } => sign_ins.allow(device, secs(self.store.clock().now_ms())),
            Counted::Shared { .. } => {
                self.count_shared(&format!("sign-in\n{device}"), SIGN_IN_WINDOW_SECS, SIGN_IN_ATTEMPTS_PER_WINDOW).await
            }
        }
    }

    /// Counts one event of `subject` in the database's window of `window_secs`; true while at
    /// most `limit` were counted in it, and when the database does not answer.
    async fn count_shared(&self, subject: &str, window_secs: u64, limit: u32) -> bool {
        let now = self.store.clock().now_ms();
        let day = clock::day_bucket(now);
        let Counted::Shared { salt, .. } = &self.limits.0 else { return true };
        let known =
            salt.lock().unwrap_or_else(|p| p.into_inner()).as_ref().filter(|(d, _)| *d == day).map(|(_, s)| s.clone());
        let salt_of_day = match known {
            Some(s) => s,
            None => match self.store.day_salt(day).await {
                Ok(s) => {
                    *salt.lock().unwrap_or_else(|p| p.into_inner()) = Some((day, s.clone()));
                    s
                }
                Err(error) => {
                    tracing::warn!(%error, "could not read the day's salt: the abuse limit is not counted");
                    return true;
                }
            },
        };
        let window = window_secs.max(1) as i64;
        let start = now / 1000 / window * window;
        match self.store.count_in_window(&flags::keyed_hash(&salt_of_day, subject), start).await {
            Ok(used) => used <= i64::from(limit),
            Err(error) => {
                tracing::warn!(%error, "could not count towards the abuse limit: let through");
                true
            }
        }
    }
}

fn secs(ms: i64) -> u64 {
    u64::try_from(ms / 1000).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_window_counts_per_key() {
        let limiter = Limiter::new(3, 60);
        assert!((0..3).all(|_| limiter.allow(("203.0.113.9", 1), 6000)));
        assert!(!limiter.allow(("203.0.113.9", 1), 6059), "fourth in the same minute");
        assert!(limiter.allow(("203.0.113.9", 2), 6000), "another point is another budget");
        assert!(limiter.allow(("203.0.113.9", 1), 6060), "a new minute starts afresh");
        assert!(Limiter::new(0, 60).allow(("203.0.113.9", 1), 6000));
    }
}
