//! `sso_signer`: minting tickets with one secret key.

use std::ffi::c_char;

use sso_core::{Signer, Ticket, Version};

use crate::boundary::{
    free_handle, guard_result, hand_out, not_null, optional_str, required_str, string_array,
    write_out,
};
use crate::result::{key_result, sso_result};

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
        not_null(signer_out)?;
        let path = required_str(secret_key_file)?;
        let signer = Signer::from_file(path).map_err(|e| key_result(&e.kind))?;
        hand_out(signer_out, sso_signer { signer })
    })
}

/// Frees a signer. NULL is ignored.
///
/// # Safety
/// `signer` must come from `sso_signer_new` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn sso_signer_free(signer: *mut sso_signer) {
    free_handle(signer)
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
        not_null(signer)?;
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
