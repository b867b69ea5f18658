//! The module side: the handle libpam passes to a module's `pam_sm_*`
//! functions, as a safe [`Handle`], and [`module_entry!`](crate::module_entry),
//! which writes such a function around a safe body.
//!
//! Everything a [`Handle`] returns is copied out of libpam (a password into
//! a [`Secret`], wiped on drop), so no borrow of libpam's memory outlives a
//! call that could replace it.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};

use pam_sys::{pam_handle_t, PAM_AUTHTOK, PAM_SERVICE_ERR, PAM_SILENT, PAM_SUCCESS};

/// The `flags` argument of an entry point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags(pub c_int);

impl Flags {
    /// `PAM_SILENT`: the application asks that no messages be shown.
    pub fn silent(self) -> bool {
        self.0 & PAM_SILENT != 0
    }
}

/// The string items a module reads or sets, by their `PAM_*` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Service,
    User,
    Tty,
    Rhost,
    Ruser,
}

impl Item {
    fn code(self) -> c_int {
        match self {
            Item::Service => pam_sys::PAM_SERVICE,
            Item::User => pam_sys::PAM_USER,
            Item::Tty => pam_sys::PAM_TTY,
            Item::Rhost => pam_sys::PAM_RHOST,
            Item::Ruser => pam_sys::PAM_RUSER,
        }
    }
}

/// A password copied out of libpam: its bytes are wiped when dropped, and
/// `Debug` does not show them.
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        for b in self.0.iter_mut() {
            // SAFETY: `b` is a valid, aligned, exclusive reference; volatile
            // so that the wipe of memory about to be freed stays.
            unsafe { ptr::write_volatile(b, 0) };
        }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

/// The handle of one call into a module, valid for that call (`'a`).
pub struct Handle<'a> {
    raw: NonNull<pam_handle_t>,
    _call: PhantomData<&'a pam_handle_t>,
}

impl Handle<'_> {
    /// A string item, if set. Copied: the item may change later.
    pub fn item(&self, item: Item) -> Option<Vec<u8>> {
        // SAFETY: `item.code()` names a string item.
        unsafe { self.string_item(item.code()) }.map(|s| s.to_bytes().to_vec())
    }

    /// `PAM_AUTHTOK` if a module earlier in the stack set it.
    pub fn authtok(&self) -> Option<Secret> {
        // SAFETY: PAM_AUTHTOK is a string item.
        unsafe { self.string_item(PAM_AUTHTOK) }.map(|s| Secret(s.to_bytes().to_vec()))
    }

    /// Reads a string item.
    ///
    /// # Safety
    /// `code` names an item that libpam stores as a C string. The returned
    /// reference is valid until the item is set again: copy it at once.
    unsafe fn string_item(&self, code: c_int) -> Option<&CStr> {
        let mut item: *const c_void = ptr::null();
        // SAFETY: a live handle; `item` is an out-parameter.
        let rc = unsafe { pam_sys::pam_get_item(self.raw.as_ptr(), code, &mut item) };
        if rc != PAM_SUCCESS || item.is_null() {
            return None;
        }
        // SAFETY: a C string item owned by libpam (caller's contract).
        Some(unsafe { CStr::from_ptr(item.cast::<c_char>()) })
    }

    /// Sets a string item (libpam copies the value).
    pub fn set_item(&self, item: Item, value: &[u8]) -> c_int {
        let Ok(value) = CString::new(value) else {
            return pam_sys::PAM_BAD_ITEM;
        };
        // SAFETY: a live handle; libpam copies the C string, which outlives
        // the call.
        unsafe { pam_sys::pam_set_item(self.raw.as_ptr(), item.code(), value.as_ptr().cast()) }
    }

    /// Unsets `PAM_AUTHTOK` (libpam wipes and frees the old value), so that
    /// the next [`Handle::get_authtok`] asks.
    pub fn clear_authtok(&self) -> c_int {
        // SAFETY: a live handle; NULL unsets the item. No reference to the
        // old value exists outside libpam: `authtok` returns copies.
        unsafe { pam_sys::pam_set_item(self.raw.as_ptr(), PAM_AUTHTOK, ptr::null()) }
    }

    /// `pam_get_user`: the user, asked through the conversation if the
    /// application did not name one. The error is libpam's code.
    pub fn user(&self) -> Result<Vec<u8>, c_int> {
        let mut user: *const c_char = ptr::null();
        // SAFETY: a live handle; `user` is an out-parameter; NULL prompt
        // means libpam's default.
        let rc = unsafe { pam_sys::pam_get_user(self.raw.as_ptr(), &mut user, ptr::null()) };
        if rc != PAM_SUCCESS {
            return Err(rc);
        }
        if user.is_null() {
            return Ok(Vec::new());
        }
        // SAFETY: PAM_USER, a C string owned by libpam, copied at once.
        Ok(unsafe { CStr::from_ptr(user) }.to_bytes().to_vec())
    }

    /// `pam_get_authtok(PAM_AUTHTOK)`: the password an earlier module
    /// stored, else (unless `use_first_pass` is on the module line) the
    /// answer to `prompt`, which libpam then stores as `PAM_AUTHTOK` for the
    /// modules after this one. The error is libpam's code
    /// (`PAM_AUTHTOK_ERR` when the conversation failed or gave no answer).
    pub fn get_authtok(&self, prompt: &CStr) -> Result<Secret, c_int> {
        let mut token: *const c_char = ptr::null();
        // SAFETY: a live handle; `token` is an out-parameter; the prompt is
        // a C string that outlives the call.
        let rc = unsafe {
            pam_sys::pam_get_authtok(self.raw.as_ptr(), PAM_AUTHTOK, &mut token, prompt.as_ptr())
        };
        if rc != PAM_SUCCESS {
            return Err(rc);
        }
        if token.is_null() {
            return Err(pam_sys::PAM_AUTHTOK_ERR);
        }
        // SAFETY: the PAM_AUTHTOK item, a C string owned by libpam, copied
        // at once.
        Ok(Secret(unsafe { CStr::from_ptr(token) }.to_bytes().to_vec()))
    }

    /// Writes one line to the system log through `pam_syslog`, which
    /// prefixes it with `MODULE(SERVICE:GROUP):`.
    pub fn syslog(&self, priority: c_int, line: &str) {
        syslog(self.raw.as_ptr(), priority, line);
    }

    /// Shows `text` to the user as an error message (`PAM_ERROR_MSG`)
    /// through the application's conversation, unless the application
    /// passed `PAM_SILENT`. A conversation that fails to show it changes
    /// nothing: the result is the module's decision, not the message's.
    pub fn error_message(&self, flags: Flags, text: &str) {
        if flags.silent() {
            return;
        }
        let text = c_text(text);
        // SAFETY: what the pam_error macro expands to: a live handle, no
        // answer wanted (NULL), the constant format "%s" with one C string
        // argument that outlives the call.
        unsafe {
            pam_sys::pam_prompt(
                self.raw.as_ptr(),
                pam_sys::PAM_ERROR_MSG,
                ptr::null_mut(),
                c"%s".as_ptr(),
                text.as_ptr(),
            )
        };
    }
}

/// A C string of `text`, cut at its first NUL rather than dropped.
fn c_text(text: &str) -> CString {
    let bytes: Vec<u8> = text.bytes().take_while(|&b| b != 0).collect();
    CString::new(bytes).unwrap_or_default()
}

fn syslog(pamh: *mut pam_handle_t, priority: c_int, line: &str) {
    let line = c_text(line);
    // SAFETY: pamh is libpam's handle or NULL (pam_syslog accepts both); the
    // format is the constant "%s" and its one argument a C string that
    // outlives the call.
    unsafe { pam_sys::pam_syslog(pamh, priority, c"%s".as_ptr(), line.as_ptr()) };
}

/// The module arguments as byte strings; `None` if libpam's `argv` is
/// malformed (it never is).
///
/// # Safety
/// `argv` holds `argc` C strings valid for `'a` (libpam guarantees it).
unsafe fn arguments<'a>(argc: c_int, argv: *const *const c_char) -> Option<Vec<&'a [u8]>> {
    let n = usize::try_from(argc).ok()?;
    if n == 0 {
        return Some(Vec::new());
    }
    if argv.is_null() {
        return None;
    }
    let mut args = Vec::with_capacity(n);
    for i in 0..n {
        // SAFETY: i < argc entries (caller's contract).
        let p = unsafe { *argv.add(i) };
        if p.is_null() {
            return None;
        }
        // SAFETY: a C string valid for 'a (caller's contract).
        args.push(unsafe { CStr::from_ptr(p) }.to_bytes());
    }
    Some(args)
}

/// The line logged when a panic was caught in an entry point.
pub fn internal_error(entry_point: &str) -> String {
    format!("internal error in {entry_point}: refusing")
}

/// Runs an entry point's body, turning a panic into a logged
/// `PAM_SERVICE_ERR`: no panic unwinds into libpam.
fn guarded(pamh: *mut pam_handle_t, entry_point: &str, body: impl FnOnce() -> c_int) -> c_int {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(code) => code,
        Err(_) => {
            let _ = catch_unwind(AssertUnwindSafe(|| {
                syslog(pamh, pam_sys::LOG_ERR, &internal_error(entry_point))
            }));
            PAM_SERVICE_ERR
        }
    }
}

/// What [`module_entry!`](crate::module_entry) calls: converts libpam's
/// arguments once and runs `body` inside the panic boundary. The body gets
/// the handle, the flags and the module arguments (`None` if unreadable).
/// A NULL handle, which libpam never passes, fails closed.
///
/// # Safety
/// The arguments are those libpam passed to a `pam_sm_*` function: a live
/// handle and `argc` C strings, valid for the call.
#[doc(hidden)]
pub unsafe fn dispatch(
    entry_point: &str,
    pamh: *mut pam_handle_t,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
    body: impl for<'h> FnOnce(&Handle<'h>, Flags, Option<Vec<&'h [u8]>>) -> c_int,
) -> c_int {
    guarded(pamh, entry_point, || {
        let Some(raw) = NonNull::new(pamh) else {
            return PAM_SERVICE_ERR;
        };
        let handle = Handle {
            raw,
            _call: PhantomData,
        };
        // SAFETY: argv holds argc C strings for this call (caller's contract).
        let args = unsafe { arguments(argc, argv) };
        body(&handle, Flags(flags), args)
    })
}

/// Defines the `pam_sm_*` function `$name` (exported, `extern "C"`) around
/// a safe body `fn(&Handle, Flags, Option<Vec<&[u8]>>) -> c_int`: the one
/// place of a module where libpam's pointers become safe values, and the
/// panic boundary (a panic is logged and answered with `PAM_SERVICE_ERR`).
#[macro_export]
macro_rules! module_entry {
    ($(#[$attr:meta])* $name:ident => $body:expr) => {
        $(#[$attr])*
        ///
        /// # Safety
        /// Called by libpam with its live handle, the flags and `argc`
        /// module arguments.
        #[no_mangle]
        #[allow(unsafe_code)]
        pub unsafe extern "C" fn $name(
            pamh: *mut $crate::sys::pam_handle_t,
            flags: ::std::ffi::c_int,
            argc: ::std::ffi::c_int,
            argv: *const *const ::std::ffi::c_char,
        ) -> ::std::ffi::c_int {
            // SAFETY: the arguments come unchanged from libpam, which calls
            // a module's entry points with its live handle and argc strings.
            unsafe {
                $crate::module::dispatch(stringify!($name), pamh, flags, argc, argv, $body)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_service_err() {
        // pam_syslog accepts a NULL handle (no module prefix), so the
        // guarded path runs for real here, logging included.
        let code = guarded(ptr::null_mut(), "test", || panic!("boom"));
        assert_eq!(code, PAM_SERVICE_ERR);
        assert_eq!(
            guarded(ptr::null_mut(), "test", || pam_sys::PAM_AUTH_ERR),
            pam_sys::PAM_AUTH_ERR
        );
        // SAFETY: a NULL handle and no arguments: fails closed before use.
        let code = unsafe { dispatch("test", ptr::null_mut(), 0, 0, ptr::null(), |_, _, _| 0) };
        assert_eq!(code, PAM_SERVICE_ERR);
    }

    #[test]
    fn arguments_are_read_or_refused() {
        let argv = [c"key=/k".as_ptr(), c"debug".as_ptr()];
        // SAFETY: two valid C strings.
        let args = unsafe { arguments(2, argv.as_ptr()) }.unwrap();
        assert_eq!(args, vec![&b"key=/k"[..], &b"debug"[..]]);
        // SAFETY: none is read for 0, -1 or a NULL argv.
        unsafe {
            assert_eq!(arguments(0, ptr::null()), Some(vec![]));
            assert_eq!(arguments(-1, argv.as_ptr()), None);
            assert_eq!(arguments(1, ptr::null()), None);
        }
    }

    #[test]
    fn silent_flag_and_text() {
        assert!(Flags(PAM_SILENT).silent());
        assert!(Flags(PAM_SILENT | pam_sys::PAM_DISALLOW_NULL_AUTHTOK).silent());
        assert!(!Flags(0).silent());
        assert_eq!(c_text("a\0b").as_bytes(), b"a");
        let s = Secret(b"pw".to_vec());
        assert_eq!(format!("{s:?}"), "Secret(2 bytes)");
    }
}
