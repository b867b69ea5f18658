//! The `Authorization: SSO <ticket>` header: never panics; a credential is
//! found only under the SSO scheme, non-empty, without surrounding spaces,
//! and inside the header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sso_core::web::authorization_ticket;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(ticket) = authorization_ticket(header) {
        assert!(!ticket.is_empty());
        assert_eq!(ticket, ticket.trim());
        assert!(header.contains(ticket));
        let scheme = header.trim().split([' ', '\t']).next().unwrap_or("");
        assert!(scheme.eq_ignore_ascii_case("SSO"), "{header:?}");
    }
});
