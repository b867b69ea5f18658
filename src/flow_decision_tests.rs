//! `sso_flow_decide_summary` through the C ABI: the summary says what the
//! decision says, log lines are kept by level, and nothing is written on
//! failure.

use std::ffi::{c_char, CStr, CString};
use std::ptr;

use super::*;
use crate::flow_config::{
    sso_flow_config_free, sso_flow_config_new, sso_flow_settings, sso_key_bytes,
};
use crate::ticket::sso_ticket_user;

const SERVICE: &CStr = c"www.example.org/app/";
const EXPIRES: u64 = 4_000_000_000;

/// A config trusting the key of seed 7, binding off (a cookie ticket
/// needs no binding cookie), and a cookie holding a ticket for alice.
fn config_and_cookie() -> (*mut sso_flow_config, CString) {
    let secret = sso_core::SecretKey::from_seed(&[7; 32]);
    let key = secret.public_key().to_raw();
    let bytes = [sso_key_bytes {
        data: key.as_ptr(),
        len: key.len(),
    }];
    let settings = sso_flow_settings {
        public_key_files: ptr::null(),
        public_key_file_count: 0,
        public_keys: bytes.as_ptr(),
        public_key_count: 1,
        service: SERVICE.as_ptr(),
        domain: c"example.org".as_ptr(),
        login_server: c"https://login.example.org/".as_ptr(),
        groups: ptr::null(),
        group_count: 0,
        cookie_secure: 0,
        cookie_prefix: ptr::null(),
        mode: 0,
        binding: 1,
        clock_skew_secs: 0,
        cache_entries: 0,
        binding_entries: 0,
    };
    let mut config: *mut sso_flow_config = ptr::null_mut();
    // SAFETY: every pointer in `settings` is valid for the call.
    let result = unsafe { sso_flow_config_new(&settings, &mut config) };
    assert_eq!(result, sso_result::SSO_OK);
    let ticket = sso_core::Ticket::new("alice", "www.example.org/app/", "example.org", EXPIRES);
    let encoded = sso_core::Signer::new(secret).sign(&ticket).unwrap();
    (
        config,
        CString::new(format!("SSO_ticket={encoded}")).unwrap(),
    )
}

/// A summary no call writes: every field set to something else.
fn untouched() -> sso_flow_summary {
    sso_flow_summary {
        kind: sso_flow_kind::SSO_FLOW_DECLINE,
        log_count: 99,
        ticket: ptr::dangling(),
        fingerprint: ptr::dangling(),
        user: ptr::dangling(),
        expires: 42,
    }
}

fn same(a: &sso_flow_summary, b: &sso_flow_summary) -> bool {
    (
        a.kind,
        a.log_count,
        a.ticket,
        a.fingerprint,
        a.user,
        a.expires,
    ) == (
        b.kind,
        b.log_count,
        b.ticket,
        b.fingerprint,
        b.user,
        b.expires,
    )
}

/// `sso_flow_decide_summary` on a request of `/app/page` with `cookies`
/// and no `Authorization`, at `now` 1, the out-parameters as given.
///
/// # Safety
/// `method` NULL or NUL-terminated; `cookies` C strings; each
/// out-parameter NULL or valid for a write.
unsafe fn summarize(
    config: *const sso_flow_config,
    method: *const c_char,
    cookies: &[*const c_char],
    max_log_level: u32,
    summary_out: *mut sso_flow_summary,
    decision_out: *mut *mut sso_flow_decision,
) -> sso_result {
    sso_flow_decide_summary(
        config,
        method,
        c"/app/page".as_ptr(),
        c"".as_ptr(),
        c"/app/page".as_ptr(),
        cookies.as_ptr(),
        cookies.len(),
        ptr::null(),
        false,
        1,
        max_log_level,
        summary_out,
        decision_out,
    )
}

/// [`summarize`] a `method` request: (result, summary, decision).
fn decide(
    config: *const sso_flow_config,
    method: &CStr,
    cookies: &[*const c_char],
    max_log_level: u32,
) -> (sso_result, sso_flow_summary, *mut sso_flow_decision) {
    let mut summary = untouched();
    let mut decision: *mut sso_flow_decision = ptr::null_mut();
    // SAFETY: every string is NUL-terminated, `cookies` holds C strings,
    // the out-parameters are valid for a write.
    let result = unsafe {
        summarize(
            config,
            method.as_ptr(),
            cookies,
            max_log_level,
            &mut summary,
            &mut decision,
        )
    };
    (result, summary, decision)
}

#[test]
fn an_acceptance_is_summarized_as_its_readers_give_it() {
    let (config, cookie) = config_and_cookie();
    let cookies = [cookie.as_ptr()];
    let info = sso_log_level::SSO_LOG_INFO as u32;
    let (result, s, d) = decide(config, c"GET", &cookies, info);
    assert_eq!(result, sso_result::SSO_OK);
    // SAFETY: `d` is a live decision until freed below; the summary's
    // pointers point into it.
    unsafe {
        assert_eq!(s.kind, sso_flow_kind::SSO_FLOW_ACCEPT);
        assert_eq!(s.kind, sso_flow_decision_kind(d));
        assert_eq!(s.ticket, sso_flow_decision_ticket(d));
        assert_eq!(s.fingerprint, sso_flow_decision_fingerprint(d));
        assert_eq!(s.user, sso_ticket_user(s.ticket));
        assert_eq!(CStr::from_ptr(s.user), c"alice");
        assert_eq!(CStr::from_ptr(s.fingerprint).to_bytes().len(), 16);
        assert_eq!(s.expires, EXPIRES);
        // The acceptance's debug line is left out below debug level.
        assert_eq!(s.log_count, 0);
        assert_eq!(sso_flow_decision_log_count(d), 0);
        sso_flow_decision_free(d);
    }
    // At debug level it is there, as sso_flow_decide gives it.
    let debug = sso_log_level::SSO_LOG_DEBUG as u32;
    let (result, s, d) = decide(config, c"GET", &cookies, debug);
    assert_eq!(result, sso_result::SSO_OK);
    let mut full: *mut sso_flow_decision = ptr::null_mut();
    // SAFETY: as in `decide`; both decisions are live until freed.
    unsafe {
        let r = sso_flow_decide(
            config,
            c"GET".as_ptr(),
            c"/app/page".as_ptr(),
            c"".as_ptr(),
            c"/app/page".as_ptr(),
            cookies.as_ptr(),
            1,
            ptr::null(),
            false,
            1,
            &mut full,
        );
        assert_eq!(r, sso_result::SSO_OK);
        assert_eq!(s.log_count, 1);
        assert_eq!(sso_flow_decision_log_count(full), 1);
        assert_eq!(
            CStr::from_ptr(sso_flow_decision_log_message(d, 0)),
            CStr::from_ptr(sso_flow_decision_log_message(full, 0))
        );
        assert_eq!(
            sso_flow_decision_log_level(d, 0),
            sso_log_level::SSO_LOG_DEBUG
        );
        sso_flow_decision_free(d);
        sso_flow_decision_free(full);
        sso_flow_config_free(config);
    }
}

#[test]
fn a_refusal_has_no_ticket_in_its_summary() {
    let (config, _) = config_and_cookie();
    let (result, s, d) = decide(config, c"GET", &[], sso_log_level::SSO_LOG_DEBUG as u32);
    assert_eq!(result, sso_result::SSO_OK);
    // SAFETY: `d` is a live decision until freed below.
    unsafe {
        assert_eq!(s.kind, sso_flow_kind::SSO_FLOW_REDIRECT);
        assert_eq!(s.kind, sso_flow_decision_kind(d));
        assert!(s.ticket.is_null() && s.fingerprint.is_null() && s.user.is_null());
        assert_eq!(s.expires, 0);
        assert_eq!(s.log_count, sso_flow_decision_log_count(d));
        assert_eq!(sso_flow_decision_status(d), 302);
        sso_flow_decision_free(d);
    }
    // With no level kept, no line is.
    let (result, s, d) = decide(config, c"GET", &[], 0);
    assert_eq!(result, sso_result::SSO_OK);
    // SAFETY: as above.
    unsafe {
        assert_eq!(s.log_count, 0);
        assert_eq!(sso_flow_decision_log_count(d), 0);
        sso_flow_decision_free(d);
        sso_flow_config_free(config);
    }
}

#[test]
fn nothing_is_written_on_failure() {
    let (config, cookie) = config_and_cookie();
    let cookies = [cookie.as_ptr()];
    // Not UTF-8: refused, out-parameters as they were.
    let (result, s, d) = decide(config, c"G\xffT", &cookies, 7);
    assert_eq!(result, sso_result::SSO_ERR_INVALID_ARGUMENT);
    assert!(same(&s, &untouched()) && d.is_null());
    // A NULL config.
    let (result, s, d) = decide(ptr::null(), c"GET", &cookies, 7);
    assert_eq!(result, sso_result::SSO_ERR_NULL_ARGUMENT);
    assert!(same(&s, &untouched()) && d.is_null());
    // A NULL out-parameter: the other one is not written either.
    let mut summary = untouched();
    let mut decision: *mut sso_flow_decision = ptr::null_mut();
    // SAFETY: the strings are NUL-terminated; NULL out-parameters are
    // what is tested.
    unsafe {
        let call = |summary_out, decision_out| {
            summarize(
                config,
                c"GET".as_ptr(),
                &cookies,
                7,
                summary_out,
                decision_out,
            )
        };
        assert_eq!(
            call(ptr::null_mut(), &mut decision),
            sso_result::SSO_ERR_NULL_ARGUMENT
        );
        assert!(decision.is_null());
        assert_eq!(
            call(&mut summary, ptr::null_mut()),
            sso_result::SSO_ERR_NULL_ARGUMENT
        );
        assert!(same(&summary, &untouched()));
        // A NULL method (a required string).
        let r = summarize(
            config,
            ptr::null(),
            &cookies,
            7,
            &mut summary,
            &mut decision,
        );
        assert_eq!(r, sso_result::SSO_ERR_NULL_ARGUMENT);
        assert!(same(&summary, &untouched()) && decision.is_null());
        sso_flow_config_free(config);
    }
}
