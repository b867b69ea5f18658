//! sso-gate's translation of a forward-auth subrequest into the flow's
//! request (sso_gate::original) and its configuration parser. The lines of
//! the input are X-Forwarded-Method, -Proto, -Host, -Uri and
//! X-Original-URL (an empty line: the header is absent). Never panics;
//! what is accepted holds the rules the route matching relies on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sso_gate::original::{from_forwarded, Forwarded, MAX_URI};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.split('\n');
    let mut next = || lines.next().filter(|l| !l.is_empty());
    let (method, proto, host, uri, original_url) = (next(), next(), next(), next(), next());
    let f = Forwarded {
        method,
        proto,
        host,
        uri,
        original_url,
        own_method: "GET",
        own_host: Some("gate.example.org"),
    };
    if let Ok(o) = from_forwarded(&f) {
        assert!(o.path.starts_with('/'), "{o:?}");
        assert!(!o.path.contains("//"), "{o:?}");
        assert!(!o.path.split('/').any(|s| s == "." || s == ".."), "{o:?}");
        assert!(!o.path.chars().any(char::is_control), "{o:?}");
        assert!(o.uri.len() <= MAX_URI && o.uri.starts_with('/'), "{o:?}");
        assert!(!o.host.is_empty() && !o.host.contains(['/', ' ']), "{o:?}");
        let _ = sso_gate::routes::host_only(&o.host);
    }
    let _ = sso_gate::config::Config::parse(text, std::path::Path::new("/fuzz/sso-gate.toml"));
});
