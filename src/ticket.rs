//! `sso_ticket`: a verified ticket's fields, readable from C.

use std::ffi::{c_char, CString};
use std::ptr;

use sso_core::Ticket;

use crate::boundary::{
    access, access_ptr, free_handle, guard_result, hand_out, not_null, ticket_text,
};
use crate::result::sso_result;

/// A verified ticket's fields, owned by the caller until `sso_ticket_free`.
pub struct sso_ticket {
    version: u32,
    user: CString,
    service: CString,
    domain: CString,
    nonce: Option<CString>,
    groups_joined: CString,
    groups: Vec<CString>,
    expires: u64,
}

impl sso_ticket {
    pub(crate) fn from_ticket(t: &Ticket) -> Result<sso_ticket, sso_result> {
        // sso-core refuses NUL bytes in tickets, so these cannot fail; map
        // the impossible case to an error rather than trusting it.
        let c = |s: &str| CString::new(s).map_err(|_| sso_result::SSO_ERR_NUL_BYTE);
        Ok(sso_ticket {
            version: t.version.number(),
            user: c(&t.user)?,
            service: c(&t.service)?,
            domain: c(&t.domain)?,
            nonce: t.nonce.as_deref().map(c).transpose()?,
            groups_joined: c(&t.groups.join(","))?,
            groups: t.groups.iter().map(|g| c(g)).collect::<Result<_, _>>()?,
            expires: t.expires,
        })
    }

    /// The user, as `sso_ticket_user` gives it.
    pub(crate) fn user_ptr(&self) -> *const c_char {
        self.user.as_ptr()
    }

    /// The expiry, as `sso_ticket_expires` gives it.
    pub(crate) fn expires(&self) -> u64 {
        self.expires
    }
}

/// Decodes the `ticket_len` bytes at `ticket` (the wire form) WITHOUT
/// checking the signature, expiry, service or domain, and writes the
/// claims to `*ticket_out` (freed with `sso_ticket_free`). For clients
/// that hold a ticket for someone else to verify: a ticket cache reading
/// an expiry, a tool checking which service a ticket names. Never an
/// authentication: only `sso_verifier_verify` says a ticket is good.
/// Fails with the failed decoding check (`SSO_ERR_BAD_ENCODING`, ...).
///
/// # Safety
/// `ticket` must be valid for `ticket_len` bytes; `ticket_out` valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn sso_ticket_decode_unverified(
    ticket: *const c_char,
    ticket_len: usize,
    ticket_out: *mut *mut sso_ticket,
) -> sso_result {
    guard_result(|| {
        not_null(ticket_out)?;
        let decoded = sso_core::decode_unverified(ticket_text(ticket, ticket_len)?)?;
        hand_out(ticket_out, sso_ticket::from_ticket(&decoded)?)
    })
}

/// Frees a ticket. NULL is ignored.
///
/// # Safety
/// `ticket` must come from `sso_verifier_verify` or
/// `sso_ticket_decode_unverified` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn sso_ticket_free(ticket: *mut sso_ticket) {
    free_handle(ticket)
}

/// The ticket's user (valid until `sso_ticket_free`); NULL for a NULL ticket.
///
/// # Safety
/// `ticket` must be NULL or a live `sso_ticket`.
#[no_mangle]
pub unsafe extern "C" fn sso_ticket_user(ticket: *const sso_ticket) -> *const c_char {
    access(ticket, ptr::null(), |t| t.user.as_ptr())
}

/// The ticket's service.
///
/// # Safety
/// `ticket` must be NULL or a live `sso_ticket`.
#[no_mangle]
pub unsafe extern "C" fn sso_ticket_service(ticket: *const sso_ticket) -> *const c_char {
    access(ticket, ptr::null(), |t| t.service.as_ptr())
}

/// The ticket's domain.
///
/// # Safety
/// `ticket` must be NULL or a live `sso_ticket`.
#[no_mangle]
pub unsafe extern "C" fn sso_ticket_domain(ticket: *const sso_ticket) -> *const c_char {
    access(ticket, ptr::null(), |t| t.domain.as_ptr())
}

/// The ticket's nonce; NULL for a v3 ticket (which has none).
///
/// # Safety
/// `ticket` must be NULL or a live `sso_ticket`.
#[no_mangle]
pub unsafe extern "C" fn sso_ticket_nonce(ticket: *const sso_ticket) -> *const c_char {
    access_ptr(ticket, |t| t.nonce.as_ref().map(|n| n.as_ptr()))
}

/// The ticket's groups joined by `,` ("" when none).
///
/// # Safety
/// `ticket` must be NULL or a live `sso_ticket`.
#[no_mangle]
pub unsafe extern "C" fn sso_ticket_groups(ticket: *const sso_ticket) -> *const c_char {
    access(ticket, ptr::null(), |t| t.groups_joined.as_ptr())
}

/// How many groups the ticket holds.
///
/// # Safety
/// `ticket` must be NULL or a live `sso_ticket`.
#[no_mangle]
pub unsafe extern "C" fn sso_ticket_group_count(ticket: *const sso_ticket) -> usize {
    access(ticket, 0, |t| t.groups.len())
}

/// Group number `index`; NULL when out of range.
///
/// # Safety
/// `ticket` must be NULL or a live `sso_ticket`.
#[no_mangle]
pub unsafe extern "C" fn sso_ticket_group(
    ticket: *const sso_ticket,
    index: usize,
) -> *const c_char {
    access_ptr(ticket, |t| t.groups.get(index).map(|g| g.as_ptr()))
}

/// The ticket's expiry, Unix seconds; 0 for a NULL ticket.
///
/// # Safety
/// `ticket` must be NULL or a live `sso_ticket`.
#[no_mangle]
pub unsafe extern "C" fn sso_ticket_expires(ticket: *const sso_ticket) -> u64 {
    access(ticket, 0, |t| t.expires)
}

/// The ticket's format version (3 or 4); 0 for a NULL ticket.
///
/// # Safety
/// `ticket` must be NULL or a live `sso_ticket`.
#[no_mangle]
pub unsafe extern "C" fn sso_ticket_version(ticket: *const sso_ticket) -> u32 {
    access(ticket, 0, |t| t.version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn decode(ticket: &[u8]) -> Result<*mut sso_ticket, sso_result> {
        let mut out: *mut sso_ticket = ptr::null_mut();
        // SAFETY: `ticket` is valid for its length; `out` for a write.
        let r = unsafe {
            sso_ticket_decode_unverified(ticket.as_ptr() as *const c_char, ticket.len(), &mut out)
        };
        if r == sso_result::SSO_OK {
            Ok(out)
        } else {
            assert!(out.is_null(), "out-parameter written on failure");
            Err(r)
        }
    }

    #[test]
    fn decodes_claims_without_any_check() {
        // Signed by a key nobody trusts, expired long ago: still decodes.
        let signer = sso_core::Signer::new(sso_core::SecretKey::from_seed(&[9; 32]));
        let mut t = Ticket::new("alice", "api.example.org/", "example.org", 1);
        t.groups = vec!["ops".into()];
        let encoded = signer.sign(&t).unwrap();
        let out = decode(encoded.as_bytes()).expect("decodes");
        // SAFETY: `out` is a live ticket until freed below.
        unsafe {
            assert_eq!(CStr::from_ptr(sso_ticket_user(out)).to_str(), Ok("alice"));
            assert_eq!(
                CStr::from_ptr(sso_ticket_service(out)).to_str(),
                Ok("api.example.org/")
            );
            assert_eq!(sso_ticket_expires(out), 1);
            assert_eq!(sso_ticket_group_count(out), 1);
            sso_ticket_free(out);
        }
    }

    #[test]
    fn refuses_what_does_not_decode_with_the_check() {
        assert_eq!(
            decode(b"not*a*ticket!"),
            Err(sso_result::SSO_ERR_BAD_ENCODING)
        );
        assert_eq!(decode(&[b'A'; 5000]), Err(sso_result::SSO_ERR_TOO_LONG));
        assert_eq!(decode(&[0xff, 0xfe]), Err(sso_result::SSO_ERR_BAD_ENCODING));
        let mut out: *mut sso_ticket = ptr::null_mut();
        // SAFETY: NULL ticket pointer is the case under test.
        let r = unsafe { sso_ticket_decode_unverified(ptr::null(), 0, &mut out) };
        assert_eq!(r, sso_result::SSO_ERR_NULL_ARGUMENT);
    }
}
