//! `sso_ticket`: a verified ticket's fields, readable from C.

use std::ffi::{c_char, CString};
use std::ptr;

use sso_core::Ticket;

use crate::boundary::{access, guard};
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
}

/// Frees a ticket. NULL is ignored.
///
/// # Safety
/// `ticket` must come from `sso_verifier_verify` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn sso_ticket_free(ticket: *mut sso_ticket) {
    guard((), || {
        if !ticket.is_null() {
            drop(Box::from_raw(ticket));
        }
    })
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
    access(ticket, ptr::null(), |t| {
        t.nonce.as_ref().map_or(ptr::null(), |n| n.as_ptr())
    })
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
    access(ticket, ptr::null(), |t| {
        t.groups.get(index).map_or(ptr::null(), |g| g.as_ptr())
    })
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
