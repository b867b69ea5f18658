//! The web flow through the C ABI (`sso_flow_decide`) on arbitrary requests.
//!
//! The input is the request's fields separated by NUL bytes (what a C
//! string cannot hold): method, path, query, unparsed URI, two `Cookie`
//! values, `Authorization`; the length's parity says https. `TICKET` in a
//! cookie or in `Authorization` becomes a valid program ticket, so the
//! accepting paths are reached too. The call never panics (a caught panic
//! would be `SSO_ERR_PANIC`), the status always matches the kind, and no
//! header the flow sets holds a CR or LF (no header injection from a
//! request).
#![no_main]

use std::ffi::{c_char, CStr, CString};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sso::*;
use sso_core::{SecretKey, Signer, Ticket};

const NOW: u64 = 1_700_000_000;

struct Fixture {
    config: *mut sso_flow_config,
    ticket: String,
}

// The config is thread-safe and lives for the whole run.
unsafe impl Send for Fixture {}
unsafe impl Sync for Fixture {}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        // A fixed seed keeps runs reproducible.
        let signer = Signer::new(SecretKey::from_seed(&[7u8; 32]));
        let key = signer.public_key().to_raw();
        let mut t = Ticket::new("alice", "www.example.org/app/", "example.org", NOW + 600);
        t.groups = vec!["staff".into()];
        let ticket = signer.sign(&t).expect("sign the fixture ticket");
        let key_bytes = sso_key_bytes {
            data: key.as_ptr(),
            len: key.len(),
        };
        let group = c"staff";
        let groups = [group.as_ptr()];
        let settings = sso_flow_settings {
            public_key_files: std::ptr::null(),
            public_key_file_count: 0,
            public_keys: &key_bytes,
            public_key_count: 1,
            service: c"www.example.org/app/".as_ptr(),
            domain: c"example.org".as_ptr(),
            login_server: c"https://login.example.org/".as_ptr(),
            groups: groups.as_ptr(),
            group_count: 1,
            cookie_secure: 0,
            cookie_prefix: std::ptr::null(),
            mode: 0,
            binding: 0,
            clock_skew_secs: 0,
            cache_entries: 64,
            binding_entries: 64,
        };
        let mut config = std::ptr::null_mut();
        // SAFETY: `settings` points at live C strings for the call; the
        // config is written only on success.
        let r = unsafe { sso_flow_config_new(&settings, &mut config) };
        assert_eq!(r, sso_result::SSO_OK);
        Fixture { config, ticket }
    })
}

fn status_of(kind: sso_flow_kind) -> u16 {
    use sso_flow_kind::*;
    match kind {
        SSO_FLOW_DECLINE | SSO_FLOW_ACCEPT => 0,
        SSO_FLOW_REDIRECT | SSO_FLOW_LOGIN_DONE | SSO_FLOW_LOGIN_REFUSED => 302,
        SSO_FLOW_LOGOUT => 200,
        SSO_FLOW_UNAUTHORIZED => 401,
        SSO_FLOW_FORBIDDEN => 403,
        SSO_FLOW_BAD_REQUEST => 400,
        SSO_FLOW_UNAVAILABLE => 503,
    }
}

/// `field` with every `TICKET` replaced by `ticket`.
fn with_ticket(field: &[u8], ticket: &[u8]) -> Vec<u8> {
    const PLACEHOLDER: &[u8] = b"TICKET";
    let mut out = Vec::with_capacity(field.len());
    let mut rest = field;
    while !rest.is_empty() {
        if rest.starts_with(PLACEHOLDER) {
            out.extend_from_slice(ticket);
            rest = &rest[PLACEHOLDER.len()..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let ticket = f.ticket.as_bytes();
    let mut fields = data
        .split(|b| *b == 0)
        .map(|field| CString::new(with_ticket(field, ticket)).expect("split at NUL"));
    let mut next = || fields.next().unwrap_or_default();
    let (method, path, query, uri) = (next(), next(), next(), next());
    let cookies = [next(), next()];
    let authorization = next();
    let cookie_ptrs: Vec<*const c_char> = cookies.iter().map(|c| c.as_ptr()).collect();
    let mut decision = std::ptr::null_mut();
    // SAFETY: every pointer is a live NUL-terminated string or null where
    // the ABI allows it (include/sso.h), the config outlives the call.
    let r = unsafe {
        sso_flow_decide(
            f.config,
            method.as_ptr(),
            path.as_ptr(),
            query.as_ptr(),
            uri.as_ptr(),
            cookie_ptrs.as_ptr(),
            cookie_ptrs.len(),
            if authorization.is_empty() {
                std::ptr::null()
            } else {
                authorization.as_ptr()
            },
            data.len() % 2 == 1,
            NOW,
            &mut decision,
        )
    };
    assert_ne!(r, sso_result::SSO_ERR_PANIC);
    if r != sso_result::SSO_OK {
        assert!(decision.is_null(), "no decision written on failure");
        return;
    }
    // SAFETY: `decision` is the non-null handle the call just wrote; it is
    // read here and freed once below.
    unsafe {
        let kind = sso_flow_decision_kind(decision);
        assert_ne!(kind, sso_flow_kind::SSO_FLOW_DECLINE);
        assert_eq!(sso_flow_decision_status(decision), status_of(kind));
        assert_eq!(
            kind == sso_flow_kind::SSO_FLOW_ACCEPT,
            !sso_flow_decision_ticket(decision).is_null()
        );
        for i in 0..sso_flow_decision_header_count(decision) {
            let value = CStr::from_ptr(sso_flow_decision_header_value(decision, i));
            assert!(
                !value.to_bytes().iter().any(|b| *b == b'\r' || *b == b'\n'),
                "header {i} holds a line break: {value:?}"
            );
        }
        sso_flow_decision_free(decision);
    }
});
