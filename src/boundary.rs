//! The panic boundary and the argument conversions every exported function
//! shares: C strings in, results and buffers out.

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use crate::result::sso_result;

pub(crate) use crate::panic_guard::guard;

/// Like `guard` for functions returning a result code.
pub(crate) fn guard_result(f: impl FnOnce() -> Result<(), sso_result>) -> sso_result {
    guard(sso_result::SSO_ERR_PANIC, || match f() {
        Ok(()) => sso_result::SSO_OK,
        Err(e) => e,
    })
}

/// A required C string argument as UTF-8.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn required_str<'a>(p: *const c_char) -> Result<&'a str, sso_result> {
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
pub(crate) unsafe fn optional_str<'a>(p: *const c_char) -> Result<Option<&'a str>, sso_result> {
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
pub(crate) unsafe fn string_array(
    arr: *const *const c_char,
    count: usize,
) -> Result<Vec<String>, sso_result> {
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
pub(crate) unsafe fn write_out(
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

/// Runs an accessor of a handle behind the panic boundary; a NULL handle or
/// a panic gives `none`.
///
/// # Safety
/// `handle` must be NULL or point to a live `H`.
pub(crate) unsafe fn access<H, T>(handle: *const H, none: T, f: impl FnOnce(&H) -> T) -> T {
    if handle.is_null() {
        return none;
    }
    let h = &*handle;
    catch_unwind(AssertUnwindSafe(|| f(h))).unwrap_or(none)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_fail_closed() {
        let r = guard_result(|| panic!("boom"));
        assert_eq!(r, sso_result::SSO_ERR_PANIC);
        assert_eq!(guard(7, || panic!("boom")), 7);
    }
}
