//! The C ABI of sso-core, declared in `include/sso.h`.
//!
//! Conventions (after rustls-ffi): one result enum, opaque handles created by
//! `_new` and released by `_free`, out-parameters written only on success,
//! and a panic boundary in every exported function so that no unwinding ever
//! reaches C: a caught panic becomes `SSO_ERR_PANIC` (or NULL / 0 from the
//! accessors), never success. Every pointer argument is checked for NULL.
//!
//! The committed header is generated from this file by cbindgen; the test
//! `header_is_current` fails when they drift apart (regenerate with
//! `SSO_UPDATE_HEADER=1 cargo test -p libsso header_is_current`).

#![allow(non_camel_case_types)]

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;

use sso_core::{
    Check, Error, KeyErrorKind, KeySet, PublicKey, Signer, Ticket, Verifier, VerifyCache, Version,
};

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
}

impl From<Error> for sso_result {
    fn from(e: Error) -> sso_result {
        use sso_result::*;
        match e {
            Error::BadEncoding => SSO_ERR_BAD_ENCODING,
            Error::TooShort => SSO_ERR_TOO_SHORT,
            Error::TooLong => SSO_ERR_TOO_LONG,
            Error::NotUtf8 => SSO_ERR_NOT_UTF8,
            Error::BadVersion => SSO_ERR_BAD_VERSION,
            Error::BadFieldCount => SSO_ERR_BAD_FIELD_COUNT,
            Error::EmptyUser => SSO_ERR_EMPTY_USER,
            Error::EmptyService => SSO_ERR_EMPTY_SERVICE,
            Error::EmptyDomain => SSO_ERR_EMPTY_DOMAIN,
            Error::BadExpiry => SSO_ERR_BAD_EXPIRY,
            Error::BadGroups => SSO_ERR_BAD_GROUPS,
            Error::BadSignature => SSO_ERR_BAD_SIGNATURE,
            Error::Expired => SSO_ERR_EXPIRED,
            Error::WrongService => SSO_ERR_WRONG_SERVICE,
            Error::WrongDomain => SSO_ERR_WRONG_DOMAIN,
            Error::NonceMismatch => SSO_ERR_NONCE_MISMATCH,
            Error::MissingGroup => SSO_ERR_MISSING_GROUP,
            Error::InvalidField => SSO_ERR_INVALID_FIELD,
            Error::NulByte => SSO_ERR_NUL_BYTE,
        }
    }
}

fn key_result(kind: &KeyErrorKind) -> sso_result {
    match kind {
        KeyErrorKind::NotFound => sso_result::SSO_ERR_KEY_NOT_FOUND,
        KeyErrorKind::Unreadable(_) => sso_result::SSO_ERR_KEY_UNREADABLE,
        KeyErrorKind::InsecurePermissions { .. } => sso_result::SSO_ERR_KEY_INSECURE,
        _ => sso_result::SSO_ERR_KEY_MALFORMED,
    }
}

fn message(result: sso_result) -> &'static str {
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
        other => Error::from_code(other as u32)
            .map(Error::check)
            .unwrap_or("unknown result code"),
    }
}

/// Runs `f` behind a panic boundary; a panic yields `on_panic`.
fn guard<T>(on_panic: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(on_panic)
}

/// Like `guard` for functions returning a result code.
fn guard_result(f: impl FnOnce() -> Result<(), sso_result>) -> sso_result {
    guard(sso_result::SSO_ERR_PANIC, || match f() {
        Ok(()) => sso_result::SSO_OK,
        Err(e) => e,
    })
}

/// A required C string argument as UTF-8.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string valid for `'a`.
unsafe fn required_str<'a>(p: *const c_char) -> Result<&'a str, sso_result> {
    if p.is_null() {
        return Err(sso_result::SSO_ERR_NULL_ARGUMENT);
    }
    CStr::from_ptr(p)
        .to_str()
        .map_err(|_| sso_result::SSO_ERR_INVALID_ARGUMENT)
}

/// An optional C string argument (NULL means absent).
///
/// # Safety
/// As for `required_str`.
unsafe fn optional_str<'a>(p: *const c_char) -> Result<Option<&'a str>, sso_result> {
    if p.is_null() {
        Ok(None)
    } else {
        required_str(p).map(Some)
    }
}

/// An array of `count` C strings (NULL allowed only when `count` is 0).
///
/// # Safety
/// `arr` must point to `count` valid C string pointers.
unsafe fn string_array(arr: *const *const c_char, count: usize) -> Result<Vec<String>, sso_result> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if arr.is_null() {
        return Err(sso_result::SSO_ERR_NULL_ARGUMENT);
    }
    std::slice::from_raw_parts(arr, count)
        .iter()
        .map(|&p| required_str(p).map(str::to_owned))
        .collect()
}

/// Copies `s` plus a NUL into `buf` if it fits; reports the length without
/// the NUL in `out_n`. Nothing is written when it does not fit.
///
/// # Safety
/// `buf` must be valid for `len` bytes; `out_n` valid or NULL.
unsafe fn write_out(
    s: &[u8],
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> Result<(), sso_result> {
    if buf.is_null() || out_n.is_null() {
        return Err(sso_result::SSO_ERR_NULL_ARGUMENT);
    }
    if s.len() >= len {
        return Err(sso_result::SSO_ERR_BUFFER_TOO_SMALL);
    }
    ptr::copy_nonoverlapping(s.as_ptr(), buf as *mut u8, s.len());
    *buf.add(s.len()) = 0;
    *out_n = s.len();
    Ok(())
}

/// The library version, a static NUL-terminated string.
#[no_mangle]
pub extern "C" fn sso_version() -> *const c_char {
    concat!("libsso ", env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
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

fn result_from_code(code: u32) -> Option<sso_result> {
    use sso_result::*;
    const ABI: [sso_result; 9] = [
        SSO_ERR_NULL_ARGUMENT,
        SSO_ERR_INVALID_ARGUMENT,
        SSO_ERR_KEY_NOT_FOUND,
        SSO_ERR_KEY_UNREADABLE,
        SSO_ERR_KEY_MALFORMED,
        SSO_ERR_KEY_INSECURE,
        SSO_ERR_BUFFER_TOO_SMALL,
        SSO_ERR_PANIC,
        SSO_ERR_CONFIG,
    ];
    if code == 0 {
        return Some(SSO_OK);
    }
    Error::from_code(code)
        .map(sso_result::from)
        .or_else(|| ABI.iter().copied().find(|r| *r as u32 == code))
}

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
    fn from_ticket(t: &Ticket) -> Result<sso_ticket, sso_result> {
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

/// Runs an accessor behind the panic boundary; NULL ticket gives `none`.
unsafe fn access<T>(ticket: *const sso_ticket, none: T, f: impl FnOnce(&sso_ticket) -> T) -> T {
    if ticket.is_null() {
        return none;
    }
    let t = &*ticket;
    catch_unwind(AssertUnwindSafe(|| f(t))).unwrap_or(none)
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

/// Mints tickets with one secret key. Thread-safe.
pub struct sso_signer {
    signer: Signer,
}

/// Reads a secret key file (raw 64-byte or PKCS#8 PEM; refused when group or
/// others can access it) and writes a new signer to `*signer_out`.
///
/// # Safety
/// `secret_key_file` must be a C string; `signer_out` valid for a write.
#[no_mangle]
pub unsafe extern "C" fn sso_signer_new(
    secret_key_file: *const c_char,
    signer_out: *mut *mut sso_signer,
) -> sso_result {
    guard_result(|| {
        if signer_out.is_null() {
            return Err(sso_result::SSO_ERR_NULL_ARGUMENT);
        }
        let path = required_str(secret_key_file)?;
        let signer = Signer::from_file(path).map_err(|e| key_result(&e.kind))?;
        *signer_out = Box::into_raw(Box::new(sso_signer { signer }));
        Ok(())
    })
}

/// Frees a signer. NULL is ignored.
///
/// # Safety
/// `signer` must come from `sso_signer_new` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn sso_signer_free(signer: *mut sso_signer) {
    guard((), || {
        if !signer.is_null() {
            drop(Box::from_raw(signer));
        }
    })
}

/// Signs a ticket of `version` (3 or 4) and writes its wire form plus a NUL
/// into `buf` (`buf_len` bytes), its length into `*out_n`. `nonce` may be
/// NULL (and must be for version 3). Fails with `SSO_ERR_INVALID_FIELD` for
/// values the format cannot carry and `SSO_ERR_BUFFER_TOO_SMALL` when the
/// ticket does not fit (nothing is written then).
///
/// # Safety
/// Pointers must be valid as described; `groups` must point to `group_count`
/// C strings.
#[no_mangle]
pub unsafe extern "C" fn sso_signer_sign(
    signer: *const sso_signer,
    version: u32,
    user: *const c_char,
    service: *const c_char,
    domain: *const c_char,
    expires: u64,
    nonce: *const c_char,
    groups: *const *const c_char,
    group_count: usize,
    buf: *mut c_char,
    buf_len: usize,
    out_n: *mut usize,
) -> sso_result {
    guard_result(|| {
        if signer.is_null() {
            return Err(sso_result::SSO_ERR_NULL_ARGUMENT);
        }
        let version = Version::from_number(version).ok_or(sso_result::SSO_ERR_INVALID_ARGUMENT)?;
        let ticket = Ticket {
            version,
            user: required_str(user)?.to_owned(),
            service: required_str(service)?.to_owned(),
            domain: required_str(domain)?.to_owned(),
            expires,
            nonce: optional_str(nonce)?.map(str::to_owned),
            groups: string_array(groups, group_count)?,
        };
        let encoded = (*signer).signer.sign(&ticket)?;
        write_out(encoded.as_bytes(), buf, buf_len, out_n)
    })
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
        assert_eq!(seen.len(), 1 + 19 + 9);
    }

    #[test]
    fn panics_fail_closed() {
        let r = guard_result(|| panic!("boom"));
        assert_eq!(r, sso_result::SSO_ERR_PANIC);
        assert_eq!(guard(7, || panic!("boom")), 7);
    }

    #[test]
    fn header_is_current() {
        let crate_dir = env!("CARGO_MANIFEST_DIR");
        let header = std::path::Path::new(crate_dir).join("include/sso.h");
        let config = cbindgen::Config::from_file(format!("{crate_dir}/cbindgen.toml"))
            .expect("cbindgen.toml");
        let mut generated = Vec::new();
        cbindgen::Builder::new()
            .with_crate(crate_dir)
            .with_config(config)
            .generate()
            .expect("cbindgen generates the header")
            .write(&mut generated);
        if std::env::var_os("SSO_UPDATE_HEADER").is_some() {
            std::fs::write(&header, &generated).expect("write header");
        }
        let committed = std::fs::read(&header).unwrap_or_default();
        assert!(
            committed == generated,
            "include/sso.h differs from the Rust exports; regenerate with \
             SSO_UPDATE_HEADER=1 cargo test -p libsso header_is_current and review the diff"
        );
    }
}
