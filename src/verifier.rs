//! `sso_verifier`: verification of tickets for one service and domain.

use std::ffi::c_char;
use std::sync::Arc;

use sso_core::{Check, KeySet, PublicKey, Ticket, Verifier, VerifyCache};

use crate::boundary::{guard, guard_result, optional_str, required_str, string_array};
use crate::result::{key_result, sso_result};
use crate::ticket::sso_ticket;

/// Verifies tickets for one service and domain. Thread-safe: one verifier may
/// be used from many threads at once.
pub struct sso_verifier {
    verifier: Verifier,
    cache: Option<Arc<VerifyCache>>,
}

/// Creates a verifier accepting any of `key_count` public key files (raw
/// 32-byte or PEM), for `service` in `domain`, accepting tickets up to
/// `clock_skew_secs` after their expiry (at most 3600, else
/// `SSO_ERR_INVALID_ARGUMENT`), with a cache of `cache_entries` verified
/// tickets (0: no cache). On success writes `*verifier_out`.
///
/// # Safety
/// `public_key_files` must point to `key_count` C strings; the other strings
/// must be NUL-terminated; `verifier_out` must be valid for a write.
#[no_mangle]
pub unsafe extern "C" fn sso_verifier_new(
    public_key_files: *const *const c_char,
    key_count: usize,
    service: *const c_char,
    domain: *const c_char,
    clock_skew_secs: u64,
    cache_entries: usize,
    verifier_out: *mut *mut sso_verifier,
) -> sso_result {
    guard_result(|| {
        if verifier_out.is_null() || public_key_files.is_null() {
            return Err(sso_result::SSO_ERR_NULL_ARGUMENT);
        }
        if clock_skew_secs > sso_core::MAX_CLOCK_SKEW {
            return Err(sso_result::SSO_ERR_INVALID_ARGUMENT);
        }
        let paths = string_array(public_key_files, key_count)?;
        let service = required_str(service)?;
        let domain = required_str(domain)?;
        let keys = paths
            .iter()
            .map(|p| PublicKey::from_file(p).map_err(|e| key_result(&e.kind)))
            .collect::<Result<Vec<_>, _>>()?;
        let key_set = KeySet::new(&keys).map_err(|_| sso_result::SSO_ERR_CONFIG)?;
        let verifier = Verifier::new(key_set, service, domain)
            .map_err(|_| sso_result::SSO_ERR_CONFIG)?
            .with_clock_skew(clock_skew_secs);
        let cache = (cache_entries > 0).then(|| Arc::new(VerifyCache::new(cache_entries)));
        *verifier_out = Box::into_raw(Box::new(sso_verifier { verifier, cache }));
        Ok(())
    })
}

/// Frees a verifier. NULL is ignored.
///
/// # Safety
/// `verifier` must come from `sso_verifier_new` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn sso_verifier_free(verifier: *mut sso_verifier) {
    guard((), || {
        if !verifier.is_null() {
            drop(Box::from_raw(verifier));
        }
    })
}

/// Verifies the `ticket_len` bytes at `ticket` (the wire form; need not be
/// NUL-terminated) as of Unix time `now` (0: the current time), with an
/// optional expected `nonce` (NULL: none) and optional required groups (at
/// least one of `group_count` names; 0: no requirement). Returns `SSO_OK` or
/// the failed check. On success, if `ticket_out` is not NULL, writes a new
/// `sso_ticket` there that the caller frees with `sso_ticket_free`.
///
/// # Safety
/// Pointers must be valid as described; `groups` must point to `group_count`
/// C strings.
#[no_mangle]
pub unsafe extern "C" fn sso_verifier_verify(
    verifier: *const sso_verifier,
    ticket: *const c_char,
    ticket_len: usize,
    now: u64,
    nonce: *const c_char,
    groups: *const *const c_char,
    group_count: usize,
    ticket_out: *mut *mut sso_ticket,
) -> sso_result {
    guard_result(|| {
        if verifier.is_null() || ticket.is_null() {
            return Err(sso_result::SSO_ERR_NULL_ARGUMENT);
        }
        let v = &*verifier;
        // The size bound first: it is the cheap check, and the answer for a
        // huge input must be "too long" whatever its bytes are.
        if ticket_len > sso_core::MAX_TICKET_LEN {
            return Err(sso_result::SSO_ERR_TOO_LONG);
        }
        let bytes = std::slice::from_raw_parts(ticket as *const u8, ticket_len);
        // A ticket is ASCII base64url; anything else cannot decode.
        let encoded = std::str::from_utf8(bytes).map_err(|_| sso_result::SSO_ERR_BAD_ENCODING)?;
        let nonce = optional_str(nonce)?;
        let groups = string_array(groups, group_count)?;
        let check = Check {
            now: if now == 0 { sso_core::unix_now() } else { now },
            nonce,
            groups: &groups,
        };
        let verified: Arc<Ticket> = match &v.cache {
            Some(cache) => cache.verify(&v.verifier, encoded, &check)?,
            None => Arc::new(v.verifier.verify(encoded, &check)?),
        };
        if !ticket_out.is_null() {
            let out = sso_ticket::from_ticket(&verified)?;
            *ticket_out = Box::into_raw(Box::new(out));
        }
        Ok(())
    })
}
