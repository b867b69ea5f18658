//! `sso_result`, the one result enum of the C ABI, and its messages.
//!
//! Codes 1..=19 are sso-core's ticket checks: the conversion from
//! `sso_core::Error` is generated from sso-core's table of checks
//! (`for_each_ticket_check!`), which also asserts at compile time that every
//! check has the variant and number written below. The enum itself stays
//! written out because cbindgen reads source, not macro expansions.

use std::ffi::c_char;
use std::ptr;

use sso_core::spec::{Field, Problem, SpecErrors};
use sso_core::{Error, KeyErrorKind};

use crate::panic_guard::guard;

/// Result of every fallible call. 0 is success; 1..=19 are the ticket checks
/// of sso-core (same numbers as its `Error`); 100 and up are ABI errors.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sso_result {
    SSO_OK = 0,
    SSO_ERR_BAD_ENCODING = 1,
    SSO_ERR_TOO_SHORT = 2,
    SSO_ERR_TOO_LONG = 3,
    SSO_ERR_NOT_UTF8 = 4,
    SSO_ERR_BAD_VERSION = 5,
    SSO_ERR_BAD_FIELD_COUNT = 6,
    SSO_ERR_EMPTY_USER = 7,
    SSO_ERR_EMPTY_SERVICE = 8,
    SSO_ERR_EMPTY_DOMAIN = 9,
    SSO_ERR_BAD_EXPIRY = 10,
    SSO_ERR_BAD_GROUPS = 11,
    SSO_ERR_BAD_SIGNATURE = 12,
    SSO_ERR_EXPIRED = 13,
    SSO_ERR_WRONG_SERVICE = 14,
    SSO_ERR_WRONG_DOMAIN = 15,
    SSO_ERR_NONCE_MISMATCH = 16,
    SSO_ERR_MISSING_GROUP = 17,
    SSO_ERR_INVALID_FIELD = 18,
    SSO_ERR_NUL_BYTE = 19,
    /// A required pointer argument was NULL.
    SSO_ERR_NULL_ARGUMENT = 100,
    /// A string argument is not UTF-8, or a number is out of range.
    SSO_ERR_INVALID_ARGUMENT = 101,
    /// A key file does not exist.
    SSO_ERR_KEY_NOT_FOUND = 102,
    /// A key file cannot be read.
    SSO_ERR_KEY_UNREADABLE = 103,
    /// A key file is not a key of the expected kind.
    SSO_ERR_KEY_MALFORMED = 104,
    /// A secret key file is accessible to group or others.
    SSO_ERR_KEY_INSECURE = 105,
    /// The output buffer is too small; nothing was written.
    SSO_ERR_BUFFER_TOO_SMALL = 106,
    /// A bug: Rust code panicked. The call failed closed.
    SSO_ERR_PANIC = 107,
    /// Inconsistent settings (no keys, empty service or domain).
    SSO_ERR_CONFIG = 108,
    /// A public key file, or a directory above it, that someone besides
    /// root or the process's user could write (or owns): refused, as
    /// mod_sso and pam_sso refuse it.
    SSO_ERR_KEY_UNTRUSTED = 109,
}

/// Generates `From<Error>` from sso-core's table of checks and makes the
/// build fail when a check's variant or number below disagrees with it.
macro_rules! core_error_codes {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $code:literal, $c_name:ident, $check:literal, $detail:literal;
    )*) => {
        impl From<Error> for sso_result {
            fn from(e: Error) -> sso_result {
                match e {
                    $( Error::$variant => sso_result::$c_name, )*
                }
            }
        }

        $(
            const _: () = assert!(
                sso_result::$c_name as u32 == $code,
                concat!(stringify!($c_name), " must equal sso-core's code ", stringify!($code)),
            );
        )*

        /// Each ticket check's `sso_result` name and code, as the table says.
        #[cfg(test)]
        pub(crate) const CORE_CODES: [(&str, u32); Error::ALL.len()] =
            [$( (stringify!($c_name), $code) ),*];
    };
}

sso_core::for_each_ticket_check!(core_error_codes);

pub(crate) fn key_result(kind: &KeyErrorKind) -> sso_result {
    match kind {
        KeyErrorKind::NotFound => sso_result::SSO_ERR_KEY_NOT_FOUND,
        KeyErrorKind::Unreadable(_) => sso_result::SSO_ERR_KEY_UNREADABLE,
        KeyErrorKind::InsecurePermissions { .. } => sso_result::SSO_ERR_KEY_INSECURE,
        _ => sso_result::SSO_ERR_KEY_MALFORMED,
    }
}

/// The code of the first refused field of a configuration: the key file's
/// own problem, `SSO_ERR_INVALID_ARGUMENT` for a value out of range (clock
/// skew, cookie prefix), `SSO_ERR_CONFIG` for the rest.
pub(crate) fn spec_result(errors: &SpecErrors) -> sso_result {
    let Some(first) = errors.0.first() else {
        return sso_result::SSO_ERR_CONFIG;
    };
    match (&first.problem, first.field) {
        (Problem::Key(e), _) => key_result(&e.kind),
        (Problem::Untrusted(_), _) => sso_result::SSO_ERR_KEY_UNTRUSTED,
        (Problem::Invalid(_), Field::KeyBytes) => sso_result::SSO_ERR_KEY_MALFORMED,
        (Problem::Invalid(_), Field::ClockSkew | Field::CookiePrefix) => {
            sso_result::SSO_ERR_INVALID_ARGUMENT
        }
        _ => sso_result::SSO_ERR_CONFIG,
    }
}

pub(crate) fn message(result: sso_result) -> &'static str {
    use sso_result::*;
    match result {
        SSO_OK => "ok",
        SSO_ERR_NULL_ARGUMENT => "a required argument was NULL",
        SSO_ERR_INVALID_ARGUMENT => "an argument is not UTF-8 or out of range",
        SSO_ERR_KEY_NOT_FOUND => "key file does not exist",
        SSO_ERR_KEY_UNREADABLE => "key file cannot be read",
        SSO_ERR_KEY_MALFORMED => "key file is malformed",
        SSO_ERR_KEY_INSECURE => {
            "secret key file is accessible to group or others (fix with chmod 600)"
        }
        SSO_ERR_BUFFER_TOO_SMALL => "output buffer too small",
        SSO_ERR_PANIC => "internal error (panic caught at the C boundary)",
        SSO_ERR_CONFIG => "invalid settings: need a key, a service and a domain",
        SSO_ERR_KEY_UNTRUSTED => {
            "key file or a directory above it is writable by someone besides root \
             or the process's user (fix with chmod go-w)"
        }
        other => Error::from_code(other as u32)
            .map(Error::check)
            .unwrap_or("unknown result code"),
    }
}

/// Writes the message for the result code `result` into `buf`
/// (NUL-terminated, truncated to fit) and its length without the NUL into
/// `*out_n` (if not NULL). With `len` 0 or a NULL `buf` nothing is written.
/// Takes a plain integer, not `sso_result`, so any value C passes is defined.
///
/// # Safety
/// `buf` must be valid for `len` bytes; `out_n` valid or NULL.
#[no_mangle]
pub unsafe extern "C" fn sso_result_message(
    result: u32,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) {
    guard((), || {
        if buf.is_null() || len == 0 {
            return;
        }
        let text = result_from_code(result).map_or("unknown result code", message);
        let n = text.len().min(len - 1);
        ptr::copy_nonoverlapping(text.as_ptr(), buf as *mut u8, n);
        *buf.add(n) = 0;
        if !out_n.is_null() {
            *out_n = n;
        }
    })
}

pub(crate) fn result_from_code(code: u32) -> Option<sso_result> {
    use sso_result::*;
    const ABI: [sso_result; 10] = [
        SSO_ERR_NULL_ARGUMENT,
        SSO_ERR_INVALID_ARGUMENT,
        SSO_ERR_KEY_NOT_FOUND,
        SSO_ERR_KEY_UNREADABLE,
        SSO_ERR_KEY_MALFORMED,
        SSO_ERR_KEY_INSECURE,
        SSO_ERR_BUFFER_TOO_SMALL,
        SSO_ERR_PANIC,
        SSO_ERR_CONFIG,
        SSO_ERR_KEY_UNTRUSTED,
    ];
    if code == 0 {
        return Some(SSO_OK);
    }
    Error::from_code(code)
        .map(sso_result::from)
        .or_else(|| ABI.iter().copied().find(|r| *r as u32 == code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_error_maps_to_the_same_number() {
        for e in Error::ALL {
            assert_eq!(sso_result::from(e) as u32, e.code());
            assert_eq!(message(e.into()), e.check());
        }
    }

    #[test]
    fn every_code_has_a_distinct_message() {
        let mut seen = std::collections::HashSet::new();
        for code in 0..200u32 {
            if let Some(r) = result_from_code(code) {
                assert_eq!(r as u32, code);
                assert!(seen.insert(message(r)), "duplicate message for {code}");
            }
        }
        assert_eq!(seen.len(), 1 + Error::ALL.len() + 10);
    }
}
