//! Requests that reach a service through a TLS-terminating proxy: which
//! proxies are believed, and what they are believed about. One rule for
//! every web adapter (mod_sso's `SSOTrustedProxies`, the Python
//! middleware's `trusted_proxies`): a request counts as https when it
//! arrived over TLS itself, or when its TCP peer is a trusted proxy that
//! says `X-Forwarded-Proto: https`. Anyone else's `X-Forwarded-Proto` is a
//! header like any other, and never believed.
//!
//! `cookie_secure = "auto"` follows this answer: behind a TLS proxy the
//! cookies get their `__Host-` names and `Secure` (docs/protocol.md,
//! "Cookies"), which a sibling host cannot plant.

use std::net::IpAddr;

/// A trusted proxy: one address, or a network in CIDR notation
/// (`10.0.0.0/8`, `fd00::/8`). IPv4-mapped IPv6 forms (`::ffff:10.0.0.1`)
/// are taken as the IPv4 address they map, on both sides of a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrustedProxy {
    network: IpAddr,
    prefix: u8,
}

impl TrustedProxy {
    /// Parses `ADDRESS` or `ADDRESS/PREFIX`; the error says what is wrong.
    pub fn parse(text: &str) -> Result<TrustedProxy, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = addr
            .parse::<IpAddr>()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR network"))?
            .to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max && !p.starts_with('+') => n,
                _ => return Err(format!("{text:?}: the prefix length must be 0 to {max}")),
            },
        };
        Ok(TrustedProxy { network, prefix })
    }

    /// Whether `peer` is this proxy (or lies in this network).
    pub fn contains(&self, peer: IpAddr) -> bool {
        match (self.network, peer.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Parses a list of trusted proxies, naming the first bad entry.
pub fn parse_trusted(list: &[&str]) -> Result<Vec<TrustedProxy>, String> {
    list.iter().map(|t| TrustedProxy::parse(t)).collect()
}

/// Whether a request is an https request: it came over TLS itself
/// (`own_https`), or its TCP `peer` is one of `trusted` and the last value
/// of its `X-Forwarded-Proto` (the one the nearest proxy set) is `https`.
pub fn request_is_https(
    own_https: bool,
    peer: Option<IpAddr>,
    trusted: &[TrustedProxy],
    forwarded_proto: Option<&str>,
) -> bool {
    if own_https {
        return true;
    }
    let Some(peer) = peer else {
        return false;
    };
    if !trusted.iter().any(|t| t.contains(peer)) {
        return false;
    }
    forwarded_proto
        .and_then(|v| v.rsplit(',').next())
        .is_some_and(|last| last.trim().eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_and_networks() {
        let one = TrustedProxy::parse("127.0.0.1").unwrap();
        assert!(one.contains(ip("127.0.0.1")));
        assert!(one.contains(ip("::ffff:127.0.0.1")), "IPv4-mapped peer");
        assert!(!one.contains(ip("127.0.0.2")));
        let net = TrustedProxy::parse("10.1.0.0/16").unwrap();
        assert!(net.contains(ip("10.1.200.3")) && !net.contains(ip("10.2.0.1")));
        let v6 = TrustedProxy::parse("fd00::/8").unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!(!v6.contains(ip("10.1.0.1")));
        let mapped = TrustedProxy::parse("::ffff:10.0.0.1").unwrap();
        assert!(mapped.contains(ip("10.0.0.1")));
        assert!(TrustedProxy::parse("0.0.0.0/0")
            .unwrap()
            .contains(ip("8.8.8.8")));
        for bad in [
            "",
            "x",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "1.2.3.4/a",
        ] {
            assert!(TrustedProxy::parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse_trusted(&["127.0.0.1", "nope"])
            .unwrap_err()
            .contains("nope"));
    }

    #[test]
    fn only_a_trusted_peer_is_believed() {
        let trusted = parse_trusted(&["127.0.0.1"]).unwrap();
        let local = Some(ip("127.0.0.1"));
        let other = Some(ip("192.0.2.1"));
        assert!(request_is_https(true, None, &[], None));
        assert!(request_is_https(false, local, &trusted, Some("https")));
        assert!(request_is_https(false, local, &trusted, Some("HTTPS")));
        assert!(request_is_https(
            false,
            Some(ip("::ffff:127.0.0.1")),
            &trusted,
            Some("https")
        ));
        assert!(!request_is_https(false, other, &trusted, Some("https")));
        assert!(!request_is_https(false, local, &[], Some("https")));
        assert!(!request_is_https(false, local, &trusted, Some("http")));
        assert!(!request_is_https(false, local, &trusted, None));
        assert!(!request_is_https(false, None, &trusted, Some("https")));
        // The nearest proxy's value counts, not one a client put first.
        assert!(!request_is_https(
            false,
            local,
            &trusted,
            Some("https, http")
        ));
        assert!(request_is_https(false, local, &trusted, Some("http,https")));
    }
}
