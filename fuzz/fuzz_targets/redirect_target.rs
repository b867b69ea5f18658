//! The redirect guard of `sso_login`: whatever `d` is, the target stays on
//! the service's https origin under its path, with no control characters,
//! spaces, backslashes, or dot segments after percent-decoding.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sso_core::web::{percent_decode, safe_redirect_target, ServiceName};

fn service() -> &'static ServiceName {
    static S: OnceLock<ServiceName> = OnceLock::new();
    S.get_or_init(|| ServiceName::parse("www.example.org:8443/app/").unwrap())
}

fuzz_target!(|data: &[u8]| {
    let Ok(d) = std::str::from_utf8(data) else {
        return;
    };
    let s = service();
    let target = safe_redirect_target(d, s);
    let origin = format!("https://{}", s.host_port());
    let rest = target.strip_prefix(&origin).expect("same origin");
    assert!(rest.starts_with(s.path()), "{target}");
    assert!(target.bytes().all(|b| b > 0x20 && b < 0x7f && b != b'\\'), "{target:?}");
    let path = rest.split(['?', '#']).next().unwrap_or("");
    let decoded = String::from_utf8(percent_decode(path).expect("decodable")).expect("UTF-8");
    assert!(decoded.starts_with(s.path()));
    assert!(!decoded.split('/').any(|seg| seg == "." || seg == ".."), "{target}");
    assert!(!decoded.contains("//"), "{target}");
});
