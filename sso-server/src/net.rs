//! The client's address behind `trusted_proxies`, and what the listening
//! socket means for that list.
//!
//! A socket bound to `[::]` (dual-stack) sees IPv4 peers as IPv4-mapped
//! IPv6 addresses: a proxy at 127.0.0.1 connects as `::ffff:127.0.0.1`.
//! Every address is canonicalised ([`IpAddr::to_canonical`]) before it is
//! compared, so such a proxy is still the `127.0.0.1` of the list: were it
//! not recognised, its own address would be every client's (one throttle
//! count for everyone, and `/metrics` served to remote clients it relays).

use std::net::{IpAddr, SocketAddr};

/// True when `addr` is one of `trusted`, both canonicalised.
pub fn is_trusted(trusted: &[IpAddr], addr: IpAddr) -> bool {
    let addr = addr.to_canonical();
    trusted.iter().any(|t| t.to_canonical() == addr)
}

/// The client's address: the peer, or, when the peer is a trusted proxy,
/// the right-most `X-Forwarded-For` entry that is not one. `headers` are
/// the values of the `X-Forwarded-For` headers in the order received,
/// `None` for one that is not text. The answer is canonical (an
/// IPv4-mapped address is returned as IPv4).
///
/// Only the entries that trusted proxies appended (the right end) mean
/// anything: the walk goes from the right, and at the first entry that
/// does not parse it stops at the last hop it could trust. A client that
/// sends `X-Forwarded-For: junk` through the proxy is still itself, never
/// the proxy (which would throttle everyone behind it).
pub fn client_addr<'a, I>(peer: IpAddr, headers: I, trusted: &[IpAddr]) -> IpAddr
where
    I: DoubleEndedIterator<Item = Option<&'a str>>,
{
    let peer = peer.to_canonical();
    if !is_trusted(trusted, peer) {
        return peer;
    }
    let mut hop = peer;
    for v in headers.rev() {
        let Some(s) = v else { return hop };
        for part in s.rsplit(',') {
            match part.trim().parse::<IpAddr>().map(|a| a.to_canonical()) {
                Ok(a) if is_trusted(trusted, a) => hop = a,
                Ok(a) => return a,
                Err(_) => return hop,
            }
        }
    }
    hop
}

/// A warning for a dual-stack listening socket (an IPv6 address, `[::]`
/// above all) whose `trusted_proxies` are IPv4 addresses only: IPv4
/// proxies are matched (their mapped addresses are canonicalised), but a
/// proxy that connects over IPv6 (`::1` for `localhost`) is not trusted,
/// and every client it relays would share its address.
pub fn dual_stack_warning(listen: SocketAddr, trusted: &[IpAddr]) -> Option<String> {
    let ipv4_only = !trusted.is_empty() && trusted.iter().all(|t| t.to_canonical().is_ipv4());
    (listen.is_ipv6() && ipv4_only).then(|| {
        format!(
            "{listen} accepts IPv6 connections too, but `trusted_proxies` lists IPv4 addresses \
             only: a proxy connecting over IPv6 (e.g. ::1 for localhost) is not trusted and all \
             its clients would share one address; list its IPv6 address as well, or listen on \
             an IPv4 address"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn client(peer: &str, xff: &[&str], trusted: &[&str]) -> IpAddr {
        let trusted: Vec<IpAddr> = trusted.iter().map(|t| ip(t)).collect();
        client_addr(ip(peer), xff.iter().map(|v| Some(*v)), &trusted)
    }

    #[test]
    fn a_mapped_peer_is_the_ipv4_proxy_of_the_list() {
        let t = ["127.0.0.1"];
        assert_eq!(
            client("::ffff:127.0.0.1", &["203.0.113.7"], &t),
            ip("203.0.113.7")
        );
        assert_eq!(client("127.0.0.1", &["203.0.113.7"], &t), ip("203.0.113.7"));
        // A mapped entry in the list matches the plain peer, too.
        assert_eq!(
            client("10.0.0.1", &["203.0.113.7"], &["::ffff:10.0.0.1"]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn mapped_entries_are_canonical_and_trusted_hops_are_skipped() {
        let t = ["127.0.0.1", "10.0.0.2"];
        assert_eq!(
            client(
                "::ffff:127.0.0.1",
                &["198.51.100.1, ::ffff:203.0.113.9, ::ffff:10.0.0.2"],
                &t
            ),
            ip("203.0.113.9")
        );
        // Every entry trusted: the left-most hop.
        assert_eq!(
            client("::ffff:127.0.0.1", &["::ffff:10.0.0.2"], &t),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn an_untrusted_peer_is_the_client_and_is_canonical() {
        assert_eq!(
            client("::ffff:192.0.2.1", &["203.0.113.7"], &["127.0.0.1"]),
            ip("192.0.2.1")
        );
        assert_eq!(client("::1", &["203.0.113.7"], &["127.0.0.1"]), ip("::1"));
    }

    #[test]
    fn junk_ends_the_walk_at_the_last_trusted_hop() {
        let t = ["127.0.0.1"];
        assert_eq!(client("::ffff:127.0.0.1", &["junk"], &t), ip("127.0.0.1"));
        assert_eq!(
            client("127.0.0.1", &["203.0.113.7", "junk, 127.0.0.1"], &t),
            ip("127.0.0.1")
        );
        let trusted = [ip("127.0.0.1")];
        assert_eq!(
            client_addr(ip("127.0.0.1"), [None].into_iter(), &trusted),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn a_dual_stack_socket_with_ipv4_only_proxies_is_warned_about() {
        let sock = |s: &str| s.parse::<SocketAddr>().unwrap();
        let v4 = [ip("127.0.0.1")];
        assert!(dual_stack_warning(sock("[::]:8080"), &v4).is_some());
        assert!(dual_stack_warning(sock("[::1]:8080"), &v4).is_some());
        assert!(dual_stack_warning(sock("[::]:8080"), &[ip("::ffff:127.0.0.1")]).is_some());
        assert!(dual_stack_warning(sock("[::]:8080"), &[ip("127.0.0.1"), ip("::1")]).is_none());
        assert!(dual_stack_warning(sock("[::]:8080"), &[]).is_none());
        assert!(dual_stack_warning(sock("0.0.0.0:8080"), &v4).is_none());
    }
}
