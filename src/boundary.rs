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

/// A required pointer argument: NULL is `SSO_ERR_NULL_ARGUMENT`.
pub(crate) fn not_null<T>(p: *const T) -> Result<(), sso_result> {
    if p.is_null() {
        return Err(sso_result::SSO_ERR_NULL_ARGUMENT);
    }
    Ok(())
}

/// A required C string argument as UTF-8.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn required_str<'a>(p: *const c_char) -> Result<&'a str, sso_result> {
    not_null(p)?;
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
    array(arr, count)?
        .iter()
        .map(|&p| required_str(p).map(str::to_owned))
        .collect()
}

/// `count` elements at `arr` as a slice (NULL allowed only when `count` is
/// 0, which gives an empty slice).
///
/// # Safety
/// `arr` must point to `count` valid elements.
pub(crate) unsafe fn array<'a, T>(arr: *const T, count: usize) -> Result<&'a [T], sso_result> {
    if count == 0 {
        return Ok(&[]);
    }
    not_null(arr)?;
    Ok(std::slice::from_raw_parts(arr, count))
}

/// The `len` bytes at `ticket` as a ticket's wire form, for the calls that
/// take a ticket by pointer and length. The size bound first: it is the
/// cheap check, and the answer for a huge input must be "too long" whatever
/// its bytes are. A ticket is ASCII base64url; anything else cannot decode.
///
/// # Safety
/// `ticket` must be NULL or valid for `len` bytes.
pub(crate) unsafe fn ticket_text<'a>(
    ticket: *const c_char,
    len: usize,
) -> Result<&'a str, sso_result> {
    not_null(ticket)?;
    if len > sso_core::MAX_TICKET_LEN {
        return Err(sso_result::SSO_ERR_TOO_LONG);
    }
    let bytes = std::slice::from_raw_parts(ticket as *const u8, len);
    std::str::from_utf8(bytes).map_err(|_| sso_result::SSO_ERR_BAD_ENCODING)
}

/// Hands `value` to C as a new handle written to `*out`, which the
/// matching `_free` call takes back.
///
/// # Safety
/// `out` must be valid for a write.
pub(crate) unsafe fn hand_out<H>(out: *mut *mut H, value: H) -> Result<(), sso_result> {
    not_null(out)?;
    *out = Box::into_raw(Box::new(value));
    Ok(())
}

/// Takes back and frees a handle from `hand_out`, behind the panic
/// boundary. NULL is ignored.
///
/// # Safety
/// `handle` must be NULL or come from `hand_out`, and not be used
/// afterwards.
pub(crate) unsafe fn free_handle<H>(handle: *mut H) {
    guard((), || {
        if !handle.is_null() {
            drop(Box::from_raw(handle));
        }
    })
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
    not_null(buf)?;
    not_null(out_n)?;
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

/// `access` for the accessors that hand out a pointer into the handle: a
/// NULL handle, a panic or nothing to point at gives NULL.
///
/// # Safety
/// As for `access`.
pub(crate) unsafe fn access_ptr<H, T>(
    handle: *const H,
    f: impl FnOnce(&H) -> Option<*const T>,
) -> *const T {
    access(handle, ptr::null(), |h| f(h).unwrap_or(ptr::null()))
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
