//! `SSOTrustedProxies` / `trusted_proxies` entries and the https decision
//! over arbitrary input: the parser never panics, a parsed entry always
//! contains its own network address, and `X-Forwarded-Proto` is believed
//! only from a peer that a parsed entry contains.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use sso_core::proxy::{request_is_https, TrustedProxy};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Lines: an entry, a peer address, an X-Forwarded-Proto value.
    let mut lines = text.split('\n');
    let (entry, peer, proto) = (
        lines.next().unwrap_or(""),
        lines.next().unwrap_or(""),
        lines.next(),
    );
    let trusted: Vec<TrustedProxy> = TrustedProxy::parse(entry).into_iter().collect();
    if let Some(t) = trusted.first() {
        let own = entry.split('/').next().unwrap_or("");
        if let Ok(ip) = own.parse::<IpAddr>() {
            assert!(t.contains(ip), "{entry:?} does not contain its own address");
        }
    }
    let peer: Option<IpAddr> = peer.parse().ok();
    let https = request_is_https(false, peer, &trusted, proto);
    if https {
        let p = peer.expect("believed without a peer");
        assert!(trusted.iter().any(|t| t.contains(p)), "believed an untrusted peer");
    }
    assert!(!request_is_https(false, peer, &[], proto), "believed with no proxy trusted");
});
