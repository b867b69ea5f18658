//! `sso_verifier`: verification of tickets for one service and domain.

use std::ffi::c_char;
use std::sync::Arc;

use sso_core::spec::{KeySource, KeySpec, VerifierSpec};
use sso_core::{Check, Ticket, Verifier, VerifyCache};

use crate::boundary::{
    free_handle, guard_result, hand_out, not_null, optional_str, required_str, string_array,
    ticket_text,
};
use crate::result::{spec_result, sso_result};
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
/// A key file that someone besides root or the process's user could write
/// (the file, or a directory above it) is refused with
/// `SSO_ERR_KEY_UNTRUSTED`, as mod_sso and pam_sso refuse it.
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
    sso_verifier_new_pinned(
        public_key_files,
        std::ptr::null(),
        key_count,
        service,
        domain,
        clock_skew_secs,
        cache_entries,
        verifier_out,
    )
}

/// As `sso_verifier_new`, with each key file pinned to the services its
/// entry of `public_key_file_services` matches (a regular expression over
/// the whole service name, as `SSOPublicKeyFile PATH services=REGEX`); a
/// NULL entry, or a NULL array, leaves a key unpinned. A key pinned to
/// other services never verifies a ticket here; when every key is,
/// `SSO_ERR_CONFIG`. A pattern that does not compile: `SSO_ERR_CONFIG`.
///
/// # Safety
/// `public_key_files` must point to `key_count` C strings and
/// `public_key_file_services` be NULL or point to `key_count` pointers,
/// each NULL or a C string; the other strings must be NUL-terminated;
/// `verifier_out` must be valid for a write.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sso_verifier_new_pinned(
    public_key_files: *const *const c_char,
    public_key_file_services: *const *const c_char,
    key_count: usize,
    service: *const c_char,
    domain: *const c_char,
    clock_skew_secs: u64,
    cache_entries: usize,
    verifier_out: *mut *mut sso_verifier,
) -> sso_result {
    guard_result(|| {
        not_null(verifier_out)?;
        not_null(public_key_files)?;
        let spec = VerifierSpec {
            keys: key_files(public_key_files, public_key_file_services, key_count)?,
            service: Some(required_str(service)?.to_owned()),
            domain: Some(required_str(domain)?.to_owned()),
            clock_skew: clock_skew_secs,
            ..VerifierSpec::default()
        };
        let verifier = spec.verifier().map_err(|e| spec_result(&e))?;
        let cache = (cache_entries > 0).then(|| Arc::new(VerifyCache::new(cache_entries)));
        hand_out(verifier_out, sso_verifier { verifier, cache })
    })
}

/// `count` key files, each pinned to its entry of `services` (NULL array or
/// entry: unpinned).
///
/// # Safety
/// `files` must point to `count` C strings; `services` be NULL or point to
/// `count` pointers, each NULL or a C string.
pub(crate) unsafe fn key_files(
    files: *const *const c_char,
    services: *const *const c_char,
    count: usize,
) -> Result<Vec<KeySpec>, sso_result> {
    let paths = string_array(files, count)?;
    let mut keys = Vec::with_capacity(paths.len());
    for (i, path) in paths.into_iter().enumerate() {
        let services = if services.is_null() {
            None
        } else {
            optional_str(*services.add(i))?.map(str::to_owned)
        };
        keys.push(KeySpec {
            source: KeySource::File(path.into()),
            services,
        });
    }
    Ok(keys)
}

/// Frees a verifier. NULL is ignored.
///
/// # Safety
/// `verifier` must come from `sso_verifier_new` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn sso_verifier_free(verifier: *mut sso_verifier) {
    free_handle(verifier)
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
        not_null(verifier)?;
        let v = &*verifier;
        let encoded = ticket_text(ticket, ticket_len)?;
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
