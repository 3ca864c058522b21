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

/// Accepted submissions per (client device, collection point) per minute.
#[derive(Debug)]
pub struct SubmitLimiter {
    per_minute: u32,
    key: std::collections::hash_map::RandomState,
    windows: Mutex<HashMap<u64, (u64, u32)>>,
}

/// Above this many tracked clients, windows of past minutes are dropped.
const PRUNE_ABOVE: usize = 50_000;

impl SubmitLimiter {
    /// `per_minute == 0` turns the limit off.
    pub fn new(per_minute: u32) -> Self {
        Self { per_minute, key: Default::default(), windows: Mutex::new(HashMap::new()) }
    }

    /// Counts one submission at `minute` (minutes since the epoch); false if over the limit.
    pub fn allow(&self, ip: IpAddr, point_id: i64, minute: u64) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let client = self.key.hash_one((device(ip), point_id));
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() > PRUNE_ABOVE {
            windows.retain(|_, (m, _)| *m == minute);
        }
        let window = windows.entry(client).or_insert((minute, 0));
        if window.0 != minute {
            *window = (minute, 0);
        }
        if window.1 >= self.per_minute {
            return false;
        }
        window.1 += 1;
        true
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
        let limiter = SubmitLimiter::new(1);
        assert!(limiter.allow("2001:db8:1:2::1".parse().unwrap(), 1, 7));
        assert!(!limiter.allow("2001:db8:1:2:ffff::9".parse().unwrap(), 1, 7));
        assert!(limiter.allow("2001:db8:1:3::1".parse().unwrap(), 1, 7));
    }

    #[test]
    fn limits_one_client_at_one_point_per_minute() {
        let limiter = SubmitLimiter::new(3);
        let a: IpAddr = "203.0.113.1".parse().unwrap();
        assert!((0..3).all(|_| limiter.allow(a, 1, 100)));
        assert!(!limiter.allow(a, 1, 100), "fourth in the same minute");
        assert!(limiter.allow(a, 2, 100), "another point is another budget");
        assert!(limiter.allow(a, 1, 101), "a new minute starts afresh");
        assert!(SubmitLimiter::new(0).allow(a, 1, 100));
    }
}
