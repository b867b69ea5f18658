//! Thin, safe-ish helpers over the httpd/APR C API: strings and tables in
//! pools, Rust values owned by pools, per-module config slots, logging, and
//! the panic guard every `extern "C"` entry point goes through.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::ffi;

/// Runs `f`, turning a panic into `fallback` so that no unwind ever crosses
/// into httpd (fail closed: callers pass a refusing fallback).
pub fn guard<R>(fallback: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// A NUL-terminated static string for C.
macro_rules! cstr {
    ($s:expr) => {
        concat!($s, "\0").as_ptr() as *const std::ffi::c_char
    };
}
pub(crate) use cstr;

/// Borrows a C string as UTF-8; `None` for NULL or invalid UTF-8.
///
/// # Safety
/// `p` is NULL or a valid NUL-terminated string outliving `'a`.
pub unsafe fn str_of<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        None
    } else {
        CStr::from_ptr(p).to_str().ok()
    }
}

/// Copies `s` into `pool` as a C string. A NUL inside `s` would cut the
/// C view of it, so callers only pass values that were checked to hold none.
///
/// # Safety
/// `pool` is a live APR pool.
pub unsafe fn pstr(pool: *mut ffi::apr_pool_t, s: &str) -> *mut c_char {
    ffi::apr_pstrmemdup(pool, s.as_ptr() as *const c_char, s.len())
}

/// Allocates an error message for a directive handler in the config pool.
///
/// # Safety
/// `cmd` is the live `cmd_parms` of the directive being processed.
pub unsafe fn cmd_error(cmd: *mut ffi::cmd_parms, msg: &str) -> *const c_char {
    pstr((*cmd).pool, &msg.replace('\0', " "))
}

unsafe extern "C" fn drop_box<T>(data: *mut c_void) -> ffi::apr_status_t {
    guard((), || drop(Box::from_raw(data as *mut T)));
    0
}

/// Moves `value` into memory owned by `pool`: it is dropped when the pool is
/// cleared or destroyed (config pool for configurations, request pool for
/// per-request state).
///
/// # Safety
/// `pool` is a live APR pool; the returned pointer must not be used after
/// the pool is cleared.
pub unsafe fn pool_box<T>(pool: *mut ffi::apr_pool_t, value: T) -> *mut T {
    let raw = Box::into_raw(Box::new(value));
    ffi::apr_pool_cleanup_register(
        pool,
        raw as *const c_void,
        Some(drop_box::<T>),
        Some(ffi::apr_pool_cleanup_null),
    );
    raw
}

/// The slot of module `index` in a config vector (`ap_get_module_config`).
///
/// # Safety
/// `vector` is a live config vector of httpd.
pub unsafe fn module_config(vector: *mut ffi::ap_conf_vector_t, index: usize) -> *mut c_void {
    *(vector as *mut *mut c_void).add(index)
}

/// Sets the slot of module `index` in a config vector (`ap_set_module_config`).
///
/// # Safety
/// `vector` is a live config vector of httpd.
pub unsafe fn set_module_config(vector: *mut ffi::ap_conf_vector_t, index: usize, v: *mut c_void) {
    *(vector as *mut *mut c_void).add(index) = v;
}

/// Sets `key` to a pool copy of `value` in `table` (replacing earlier values).
///
/// # Safety
/// `pool` outlives `table`'s use; both are live.
pub unsafe fn table_set(
    pool: *mut ffi::apr_pool_t,
    table: *mut ffi::apr_table_t,
    key: *const c_char,
    value: &str,
) {
    ffi::apr_table_setn(table, key, pstr(pool, value));
}

/// Adds another `key` entry (for headers that repeat, such as Set-Cookie).
///
/// # Safety
/// As [`table_set`].
pub unsafe fn table_add(
    pool: *mut ffi::apr_pool_t,
    table: *mut ffi::apr_table_t,
    key: *const c_char,
    value: &str,
) {
    ffi::apr_table_addn(table, key, pstr(pool, value));
}

/// Every value of `key` (case-insensitive) in `table`, in order.
///
/// # Safety
/// `table` is live for `'a`.
///
/// Values are read lossily: one cookie of another application that is not
/// UTF-8 must not hide the whole `Cookie` header (and with it our ASCII
/// ticket and nonce, which no replacement character can touch).
pub unsafe fn table_get_all<'a>(
    table: *const ffi::apr_table_t,
    key: &str,
) -> Vec<std::borrow::Cow<'a, str>> {
    let mut out = Vec::new();
    let arr = ffi::apr_table_elts(table);
    if arr.is_null() {
        return out;
    }
    let n = (*arr).nelts.max(0) as usize;
    let elts = (*arr).elts as *const ffi::apr_table_entry_t;
    for i in 0..n {
        let e = &*elts.add(i);
        if e.val.is_null() {
            continue;
        }
        if str_of(e.key).is_some_and(|k| k.eq_ignore_ascii_case(key)) {
            out.push(CStr::from_ptr(e.val).to_string_lossy());
        }
    }
    out
}

/// The first value of `key` in `table`.
///
/// # Safety
/// `table` is live for `'a`.
pub unsafe fn table_get<'a>(table: *const ffi::apr_table_t, key: *const c_char) -> Option<&'a str> {
    str_of(ffi::apr_table_get(table, key))
}

pub const LOG_ERR: c_int = ffi::APLOG_ERR as c_int;
pub const LOG_WARNING: c_int = ffi::APLOG_WARNING as c_int;
pub const LOG_INFO: c_int = ffi::APLOG_INFO as c_int;
pub const LOG_DEBUG: c_int = ffi::APLOG_DEBUG as c_int;

/// True when this module logs `level` for request `r` (`LogLevel sso:LEVEL`).
///
/// # Safety
/// `r` is a live request.
pub unsafe fn log_enabled(r: *const ffi::request_rec, level: c_int) -> bool {
    ffi::sso_log_r_enabled(r, level) != 0
}

/// Logs `msg` for request `r` at `level` under this module's name.
///
/// # Safety
/// `r` is a live request.
pub unsafe fn log_r(r: *const ffi::request_rec, level: c_int, msg: &str) {
    if let Ok(c) = std::ffi::CString::new(msg.replace('\0', " ")) {
        ffi::sso_log_r(r, level, c.as_ptr());
    }
}

/// Logs `msg` for server `s` at `level`.
///
/// # Safety
/// `s` is a live server record.
pub unsafe fn log_s(s: *const ffi::server_rec, level: c_int, msg: &str) {
    if let Ok(c) = std::ffi::CString::new(msg.replace('\0', " ")) {
        ffi::sso_log_s(s, level, c.as_ptr());
    }
}

/// `rlog!(r, LEVEL, "fmt", args...)`: formats only when the level is on.
macro_rules! rlog {
    ($r:expr, $level:expr, $($arg:tt)*) => {{
        let r = $r;
        if $crate::apr::log_enabled(r, $level) {
            $crate::apr::log_r(r, $level, &format!($($arg)*));
        }
    }};
}
pub(crate) use rlog;
