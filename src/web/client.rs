//! Who is submitting, as far as abuse limits need to know, and those limits.
//!
//! The client address comes from the socket, or from `X-Forwarded-For` only when the socket peer
//! is a configured trusted proxy. It is never stored: the limits (`app::limits`) and the
//! stuffing flags keep keyed hashes of the device it makes.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

use crate::config::ProxyNet;

/// The address of the client that sent a request. IPv4 peers of a dual-stack socket
/// (`::ffff:a.b.c.d`) are seen as the IPv4 addresses they are.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted_proxies: &[ProxyNet]) -> IpAddr {
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    let mut ip = peer.ip().to_canonical();
    if !trusted(&ip) {
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
            Ok(addr) if trusted(&addr) => ip = addr,
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

/// A device as the abuse limits see it: its address (hashed, never stored as it is).
pub fn device_of(ip: IpAddr) -> String {
    device(ip).to_string()
}

/// The cookie that tells a citizen's phone from others on the same network: 16 random bytes
/// the form page gives a browser that has none (`Path=/s`, a year, `HttpOnly`, `SameSite=Lax`),
/// read back only by the stuffing flags, hashed with the address under the day's salt.
pub const DEVICE_COOKIE: &str = "hl_d";

/// The device cookie of the request, if it has one of the form the service gives.
pub fn device_cookie(headers: &HeaderMap) -> Option<String> {
    super::auth::cookie(headers, DEVICE_COOKIE)
        .filter(|v| v.len() == 22 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// A `Set-Cookie` value giving a browser a new device cookie; `Secure` when served over TLS.
pub fn new_device_cookie(secure: bool) -> String {
    use base64::Engine;
    let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
    let secure = if secure { "; Secure" } else { "" };
    format!("{DEVICE_COOKIE}={id}; Path=/s; Max-Age=31536000; HttpOnly; SameSite=Lax{secure}")
}

/// A device as the stuffing flags see it: its address and its device cookie, so that the
/// phones of citizens behind one shared network are told apart; a browser that keeps no
/// cookie, by its address and its browser (`User-Agent`). Hashed by the writer under the day's
/// salt, never stored as it is.
pub fn flag_device_of(ip: IpAddr, headers: &HeaderMap) -> String {
    if let Some(id) = device_cookie(headers) {
        return format!("{} c:{id}", device(ip));
    }
    let browser =
        headers.get(axum::http::header::USER_AGENT).map(|v| String::from_utf8_lossy(v.as_bytes())).unwrap_or_default();
    let browser: String = browser.chars().take(512).collect();
    format!("{} ua:{browser}", device(ip))
}

/// Whether a request was sent from a page of another site: its `Origin` names another origin
/// than the service's own (the public address, or the `Host` the request was sent to), or, with
/// no `Origin`, the browser says `Sec-Fetch-Site: cross-site`. A request with neither (an old
/// browser) is taken as the service's own.
pub fn from_another_site(headers: &HeaderMap, public_base_url: Option<&str>) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    match text("origin") {
        // A sandboxed frame sends `Origin: null`; so does a page of ours served before its
        // policy became `same-origin` (under `no-referrer`): only fetch metadata saying the
        // send is same-origin lets it in.
        Some(origin) if origin.eq_ignore_ascii_case("null") => {
            !text("sec-fetch-site").is_some_and(|site| site.eq_ignore_ascii_case("same-origin"))
        }
        Some(origin) => {
            let origin = origin.trim_end_matches('/');
            let own_public =
                public_base_url.is_some_and(|base| base.trim_end_matches('/').eq_ignore_ascii_case(origin));
            let own_host = text("host").is_some_and(|host| {
                origin.split_once("://").is_some_and(|(scheme, authority)| {
                    matches!(scheme, "http" | "https") && authority.eq_ignore_ascii_case(host)
                })
            });
            !(own_public || own_host)
        }
        None => text("sec-fetch-site").is_some_and(|site| site.eq_ignore_ascii_case("cross-site")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_from_another_site_is_told_apart() {
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(*name, value.parse().unwrap());
            }
            headers
        };
        let public = Some("https://danhgia.tinh.gov.vn");
        let own = with(&[("origin", "https://danhgia.tinh.gov.vn"), ("host", "10.0.0.5:8080")]);
        assert!(!from_another_site(&own, public), "the public address");
        let behind = with(&[("origin", "http://127.0.0.1:8080"), ("host", "127.0.0.1:8080")]);
        assert!(!from_another_site(&behind, None), "the host it was sent to");
        assert!(!from_another_site(&with(&[]), public), "an old browser says neither");
        assert!(!from_another_site(&with(&[("sec-fetch-site", "same-origin")]), public));
        for evil in [
            with(&[("origin", "http://evil.example"), ("sec-fetch-site", "cross-site"), ("host", "127.0.0.1:8080")]),
            with(&[("origin", "http://evil.example"), ("host", "127.0.0.1:8080")]),
            with(&[("origin", "null"), ("host", "127.0.0.1:8080")]),
            with(&[("origin", "https://danhgia.tinh.gov.vn.evil.example"), ("host", "127.0.0.1")]),
            with(&[("sec-fetch-site", "cross-site"), ("host", "127.0.0.1:8080")]),
        ] {
            assert!(from_another_site(&evil, public), "{evil:?}");
        }
        // A page of ours under the former `Referrer-Policy: no-referrer`: Origin null, same-origin metadata.
        assert!(!from_another_site(&with(&[("origin", "null"), ("sec-fetch-site", "same-origin")]), None));
        assert!(from_another_site(&with(&[("origin", "null"), ("sec-fetch-site", "cross-site")]), None));
    }

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    fn nets(list: &[&str]) -> Vec<ProxyNet> {
        list.iter().map(|n| ProxyNet::try_from((*n).to_owned()).unwrap()).collect()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let peer = SocketAddr::new(proxy, 4000);
        let spoof = headers("6.6.6.6, 203.0.113.9");
        let trusted = nets(&["10.0.0.2"]);
        assert_eq!(client_ip(peer, &spoof, &[]), proxy);
        assert_eq!(client_ip(peer, &spoof, &trusted), "203.0.113.9".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(peer, &HeaderMap::new(), &trusted), proxy);
        assert_eq!(client_ip(peer, &headers("garbage"), &trusted), proxy);
        let mapped = SocketAddr::new("::ffff:10.0.0.2".parse().unwrap(), 4000);
        assert_eq!(client_ip(mapped, &spoof, &trusted), "203.0.113.9".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(peer, &spoof, &nets(&["10.0.0.3"])), proxy, "another address is not trusted");
    }

    #[test]
    fn a_trusted_network_covers_every_proxy_in_it() {
        // An ingress controller on a pod network: its pods' addresses change.
        let trusted = nets(&["10.244.0.0/16", "fd00::/8"]);
        let chain = headers("203.0.113.9, 10.244.7.1");
        for pod in ["10.244.3.17", "10.244.200.4"] {
            let peer = SocketAddr::new(pod.parse().unwrap(), 4000);
            assert_eq!(client_ip(peer, &chain, &trusted), "203.0.113.9".parse::<IpAddr>().unwrap(), "{pod}");
        }
        let outside = SocketAddr::new("10.245.0.1".parse().unwrap(), 4000);
        assert_eq!(client_ip(outside, &chain, &trusted), outside.ip());
        let v6 = SocketAddr::new("fd12::7".parse().unwrap(), 4000);
        assert_eq!(client_ip(v6, &chain, &trusted), "203.0.113.9".parse::<IpAddr>().unwrap());
        assert!(ProxyNet::try_from("10.0.0.0/33".to_owned()).is_err());
        assert!(ProxyNet::try_from("proxy.local".to_owned()).unwrap_err().contains("neither an address"));
        assert_eq!(String::from(nets(&["10.1.2.3/8"])[0]), "10.0.0.0/8");
        assert_eq!(String::from(nets(&["10.1.2.3"])[0]), "10.1.2.3");
    }

    #[test]
    fn an_ipv6_slash_64_is_one_device() {
        let device = |ip: &str| device_of(ip.parse().unwrap());
        assert_eq!(device("2001:db8:1:2::1"), device("2001:db8:1:2:ffff::9"));
        assert_ne!(device("2001:db8:1:2::1"), device("2001:db8:1:3::1"));
        assert_eq!(device("203.0.113.1"), "203.0.113.1");
    }
}
