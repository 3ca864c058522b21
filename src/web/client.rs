//! Who is submitting, as far as abuse limits need to know, and those limits.
//!
//! The client address comes from the socket, or from `X-Forwarded-For` only when the socket peer
//! is a configured trusted proxy. It is never stored: the limiter keeps a keyed hash of
//! (address, collection point) per minute in memory, with a key drawn at start-up.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use axum::http::HeaderMap;

/// The address of the client that sent a request. IPv4 peers of a dual-stack socket
/// (`::ffff:a.b.c.d`) are seen as the IPv4 addresses they are.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> IpAddr {
    let mut ip = peer.ip().to_canonical();
    if !trusted_proxies.contains(&ip) {
        return ip;
    }
    // Walk the chain from the nearest hop; the first address that is not one of our proxies is
    // the client. Anything further left could have been written by the client itself.
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>().map(|a| a.to_canonical()) {
            Ok(addr) if trusted_proxies.contains(&addr) => ip = addr,
            Ok(addr) => return addr,
            Err(_) => return ip,
        }
    }
    ip
}

/// What counts as one device: an IPv4 address, or an IPv6 /64 (a phone may pick any address in
/// its /64, so a whole /64 is one budget).
fn device(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// A device as the stuffing flags see it (hashed by the writer, never stored as it is).
pub fn device_of(ip: IpAddr) -> String {
    device(ip).to_string()
}

/// A fixed-window counter per key: at most `limit` events per window of `window_secs`.
/// Used for accepted ratings per (device, collection point) per minute, and sign-in attempts
/// per device. Keys are kept as keyed hashes (key drawn at start-up), in memory only.
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

    /// One rating from `ip` at a collection point.
    pub fn allow_rating(&self, ip: IpAddr, point_id: i64, now_secs: u64) -> bool {
        self.allow((device(ip), point_id), now_secs)
    }

    /// One sign-in attempt from `ip`.
    pub fn allow_sign_in(&self, ip: IpAddr, now_secs: u64) -> bool {
        self.allow(device(ip), now_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let peer = SocketAddr::new(proxy, 4000);
        let spoof = headers("6.6.6.6, 203.0.113.9");
        assert_eq!(client_ip(peer, &spoof, &[]), proxy);
        assert_eq!(client_ip(peer, &spoof, &[proxy]), "203.0.113.9".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(peer, &HeaderMap::new(), &[proxy]), proxy);
        assert_eq!(client_ip(peer, &headers("garbage"), &[proxy]), proxy);
        let mapped = SocketAddr::new("::ffff:10.0.0.2".parse().unwrap(), 4000);
        assert_eq!(client_ip(mapped, &spoof, &[proxy]), "203.0.113.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn an_ipv6_slash_64_is_one_device() {
        let limiter = Limiter::new(1, 60);
        assert!(limiter.allow_rating("2001:db8:1:2::1".parse().unwrap(), 1, 7));
        assert!(!limiter.allow_rating("2001:db8:1:2:ffff::9".parse().unwrap(), 1, 7));
        assert!(limiter.allow_rating("2001:db8:1:3::1".parse().unwrap(), 1, 7));
    }

    #[test]
    fn limits_one_client_at_one_point_per_minute() {
        let limiter = Limiter::new(3, 60);
        let a: IpAddr = "203.0.113.1".parse().unwrap();
        assert!((0..3).all(|_| limiter.allow_rating(a, 1, 6000)));
        assert!(!limiter.allow_rating(a, 1, 6059), "fourth in the same minute");
        assert!(limiter.allow_rating(a, 2, 6000), "another point is another budget");
        assert!(limiter.allow_rating(a, 1, 6060), "a new minute starts afresh");
        assert!(Limiter::new(0, 60).allow_rating(a, 1, 6000));
    }
}
